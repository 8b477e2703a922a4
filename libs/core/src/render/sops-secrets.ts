import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CORE_SCHEMA, load } from 'js-yaml';
import { Layer } from '../layers';
import { compare, SecretRequirement } from '../secrets';
import { RenderedObject } from './collect';

/** A value SOPS encrypted (AES-GCM): never a plaintext secret. */
export const SOPS_ENCRYPTED_VALUE = /^ENC\[AES256_GCM,data:[^,]*,iv:[^,]+,tag:[^,]+,type:[a-z]+\]$/;

/** An encrypted Secret manifest from clusters/<cluster>/secrets/, rendered as is. */
export interface SopsSecretFile extends RenderedObject {
  /** The file's exact bytes: re-serializing could break the SOPS MAC. */
  readonly verbatim: string;
  readonly source: string;
  readonly keys: string[];
}

/**
 * Reads the SOPS-encrypted Secrets of a cluster (`<dir>/<namespace>/<name>.yaml`) and checks
 * them without a key: one Secret per file, named like its path, every data/stringData value
 * encrypted, encrypted to exactly the cluster's age recipients. Returns the files and problems.
 */
export function readSopsSecrets(dir: string, displayDir: string, recipients: readonly string[]): { secrets: SopsSecretFile[]; problems: string[] } {
  const secrets: SopsSecretFile[] = [];
  const problems: string[] = [];
  if (!existsSync(dir)) return { secrets, problems };
  for (const namespace of readdirSync(dir).sort(compare)) {
    const nsDir = join(dir, namespace);
    if (!statSync(nsDir).isDirectory()) {
      problems.push(`${displayDir}/${namespace}: expected folders named after namespaces, found a file`);
      continue;
    }
    for (const file of readdirSync(nsDir).sort(compare)) {
      const shown = `${displayDir}/${namespace}/${file}`;
      if (!file.endsWith('.yaml')) {
        problems.push(`${shown}: expected <secret name>.yaml`);
        continue;
      }
      const text = readFileSync(join(nsDir, file), 'utf8');
      let obj: RenderedObject['manifest'];
      try {
        // js-yaml: read for the checks only (the file is written as is), and a few times faster
        // than a document parser, for every Secret of every cluster at each render.
        obj = load(text, { schema: CORE_SCHEMA });
      } catch (err) {
        problems.push(`${shown}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
        continue;
      }
      const name = file.slice(0, -'.yaml'.length);
      if (obj?.kind !== 'Secret' || obj?.apiVersion !== 'v1') {
        problems.push(`${shown}: expected a v1 Secret, found ${obj?.apiVersion}/${obj?.kind}`);
        continue;
      }
      if (obj.metadata?.name !== name || obj.metadata?.namespace !== namespace) {
        problems.push(`${shown}: metadata must be name '${name}', namespace '${namespace}' (from the path), found '${obj.metadata?.name}' in '${obj.metadata?.namespace}'`);
      }
      const values = [...Object.entries(obj.data ?? {}), ...Object.entries(obj.stringData ?? {})];
      if (!obj.sops) problems.push(`${shown}: not SOPS-encrypted (no sops metadata); encrypt it with 'npm run secrets -- create' or sops`);
      for (const [key, value] of values) {
        if (typeof value !== 'string' || !SOPS_ENCRYPTED_VALUE.test(value)) problems.push(`${shown}: value of '${key}' is not encrypted`);
      }
      const to = (obj.sops?.age ?? []).map((a: { recipient: string }) => a.recipient).sort(compare);
      const want = [...recipients].sort(compare);
      if (obj.sops && to.join(',') !== want.join(',')) {
        problems.push(`${shown}: encrypted to ${to.join(', ') || 'no age recipient'}, expected this cluster's recipients ${want.join(', ')}; run 'npm run secrets -- rotate <cluster> ${name}' to re-encrypt`);
      }
      secrets.push({
        path: `${Layer.SECRETS.directory}/${namespace}/secret-${name}.yaml`,
        layer: Layer.SECRETS,
        component: namespace,
        kind: 'Secret',
        name,
        namespace,
        manifest: obj,
        verbatim: text,
        source: shown,
        keys: values.map(([k]) => k).sort(compare),
      });
    }
  }
  return { secrets, problems };
}

/** Problems between what the render needs and the encrypted files: missing keys, extra files. */
export function matchSecrets(required: readonly SecretRequirement[], files: readonly SopsSecretFile[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const need = required.find((r) => r.name === file.name && r.namespaces.includes(file.namespace as string));
    if (!need) {
      problems.push(`${file.source}: nothing in the cluster reads Secret ${file.namespace}/${file.name}; remove the file`);
      continue;
    }
    const missing = need.keys.map((k) => k.key).filter((k) => !file.keys.includes(k));
    if (missing.length) problems.push(`${file.source}: lacks key(s) ${missing.join(', ')}; run 'npm run secrets -- rotate <cluster> ${file.name}'`);
  }
  return problems;
}
