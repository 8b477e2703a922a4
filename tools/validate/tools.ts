// The schema layers: kubeconform (strict JSON schemas) and kubectl-validate (the API server's
// own validation code and OpenAPI). Both run on staged copies of the documents: one JSON file
// per object, with SOPS metadata set aside so encrypted Secrets validate like any other.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeObject, Failure, ManifestDoc } from './model';

/** Where the installed tools and generated schemas live. */
export interface ToolPaths {
  readonly bin: string;
  readonly schemas: string;
  /** Upstream CRD manifests of the bootstrap operators (kubectl-validate reads them as is). */
  readonly crds: string;
}

export function toolPaths(root: string): ToolPaths {
  return { bin: join(root, '.tools', 'bin'), schemas: join(root, '.tools', 'schemas'), crds: join(root, '.tools', 'crd-manifests') };
}

/** Checks the tools and schemas for `versions` (and promtool, amtool) are installed; returns what is missing. */
export function missingTools(paths: ToolPaths, versions: string[], monitoring = false): string[] {
  const tools = ['kubeconform', 'kubectl-validate', ...(monitoring ? ['promtool', 'amtool'] : [])];
  const missing = tools.filter((t) => !existsSync(join(paths.bin, t))).map((t) => join(paths.bin, t));
  if (!existsSync(join(paths.schemas, 'crds'))) missing.push(join(paths.schemas, 'crds'));
  for (const v of versions) {
    const dir = join(paths.schemas, `v${v}.0-local-strict`);
    if (!existsSync(join(dir, '_definitions.json'))) missing.push(dir);
  }
  return missing;
}

interface Staged {
  readonly dir: string;
  readonly byFile: Map<string, ManifestDoc>;
}

function stage(docs: ManifestDoc[]): Staged {
  const dir = mkdtempSync(join(tmpdir(), 'ml-platform-validate-'));
  const byFile = new Map<string, ManifestDoc>();
  docs.forEach((doc, i) => {
    // SOPS keeps its metadata beside the object; the API server never sees it.
    const obj = { ...doc.obj };
    delete obj.sops;
    const file = join(dir, `${String(i).padStart(5, '0')}.json`);
    writeFileSync(file, JSON.stringify(obj));
    byFile.set(file, doc);
  });
  return { dir, byFile };
}

const leafErrors = (msg: string): { field: string; message: string }[] => {
  const out: { field: string; message: string }[] = [];
  const re = /- at '([^']*)': (.*?)(?=\s+- at '|$)/g;
  for (let m = re.exec(msg); m; m = re.exec(msg)) {
    if (/^'(allOf|anyOf|oneOf)' failed$|^validation failed$/.test(m[2].trim())) continue;
    out.push({ field: m[1].replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.') || '(root)', message: m[2].trim() });
  }
  return out;
};

/** Validates against strict JSON schemas with kubeconform. A kind without a schema is an error. */
export function runKubeconform(paths: ToolPaths, docs: ManifestDoc[], kubernetesVersion: string): Failure[] {
  if (docs.length === 0) return [];
  const staged = stage(docs);
  try {
    const result = spawnSync(join(paths.bin, 'kubeconform'), [
      '-strict', '-output', 'json', '-n', '4',
      '-kubernetes-version', `${kubernetesVersion}.0`,
      '-schema-location', join(paths.schemas, '{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}', '{{ .ResourceKind }}{{ .KindSuffix }}.json'),
      '-schema-location', join(paths.schemas, 'crds', '{{ .ResourceKind }}{{ .KindSuffix }}.json'),
      staged.dir,
    ], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (result.error) throw result.error;
    const report = JSON.parse(result.stdout || '{"resources":[]}');
    const failures: Failure[] = [];
    for (const r of report.resources ?? []) {
      if (r.status === 'statusValid' || r.status === 'statusSkipped') continue;
      const doc = staged.byFile.get(r.filename);
      const base = { layer: 'schema' as const, cluster: doc?.cluster, file: doc?.file ?? r.filename, object: doc ? describeObject(doc.obj) : '-' };
      const missing = /could not find schema/.test(r.msg ?? '');
      const leaves = leafErrors(r.msg ?? '');
      if (missing) {
        failures.push({ ...base, rule: 'schema/missing', field: 'apiVersion/kind', message: `no schema for ${doc?.obj.apiVersion}/${doc?.obj.kind}`, hint: 'a typo in apiVersion or kind, or a custom resource whose CRD schema is not installed (tools/install-tools.sh)' });
      } else if (leaves.length === 0) {
        failures.push({ ...base, rule: 'schema/invalid', field: '-', message: (r.msg ?? r.status).slice(0, 500), hint: 'fix the object to match its Kubernetes schema' });
      } else {
        for (const l of leaves) {
          const unknown = /additional properties? (.*) not allowed/.exec(l.message);
          failures.push({
            ...base,
            rule: unknown ? 'schema/unknown-field' : 'schema/invalid',
            field: unknown ? `${l.field === '(root)' ? '' : `${l.field}.`}${unknown[1].replace(/'/g, '')}` : l.field,
            message: l.message,
            hint: unknown ? 'remove the field or fix its spelling (strict schema)' : 'use the type and values the Kubernetes schema expects',
          });
        }
      }
    }
    if (result.status !== 0 && failures.length === 0) {
      failures.push({ layer: 'schema', rule: 'schema/tool', file: '-', object: '-', field: '-', message: `kubeconform exited ${result.status}: ${result.stderr.slice(0, 300)}`, hint: 'run tools/install-tools.sh' });
    }
    return failures;
  } finally {
    rmSync(staged.dir, { recursive: true, force: true });
  }
}

/** Validates with kubectl-validate, which uses the API server's decoding and validation code. */
export function runKubectlValidate(paths: ToolPaths, docs: ManifestDoc[], kubernetesVersion: string): Failure[] {
  if (docs.length === 0) return [];
  const staged = stage(docs);
  try {
    mkdirSync(paths.crds, { recursive: true });
    const result = spawnSync(join(paths.bin, 'kubectl-validate'), ['--version', kubernetesVersion, '--output', 'json', '--local-crds', paths.crds, staged.dir], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      // Never ask a live cluster: validate against the pinned built-in schemas only.
      env: { ...process.env, KUBECONFIG: join(staged.dir, 'no-kubeconfig') },
    });
    if (result.error) throw result.error;
    return parseKubectlValidate(result.stdout, result.stderr, result.status, staged);
  } finally {
    rmSync(staged.dir, { recursive: true, force: true });
  }
}

function parseKubectlValidate(stdout: string, stderr: string, status: number | null, staged: Staged): Failure[] {
  const failures: Failure[] = [];
  let report: Record<string, { metadata?: unknown; details?: { causes?: { field?: string; message?: string; reason?: string }[] }; message?: string; status?: string }[]>;
  try {
    report = JSON.parse(stdout);
  } catch {
    return [{ layer: 'api-schema', rule: 'api-schema/tool', file: '-', object: '-', field: '-', message: `kubectl-validate exited ${status}: ${(stderr || stdout).slice(0, 300)}`, hint: 'run tools/install-tools.sh' }];
  }
  for (const [file, results] of Object.entries(report)) {
    const doc = staged.byFile.get(file);
    const base = { layer: 'api-schema' as const, cluster: doc?.cluster, file: doc?.file ?? file, object: doc ? describeObject(doc.obj) : '-' };
    for (const r of results) {
      if (r.status === 'Success') continue;
      const causes = r.details?.causes ?? [];
      if (causes.length === 0) failures.push({ ...base, rule: 'api-schema/invalid', field: '-', message: r.message ?? 'invalid', hint: 'fix the object as the API server would require' });
      for (const c of causes) {
        const unknown = /unknown field/.test(c.message ?? '');
        failures.push({
          ...base,
          rule: unknown ? 'api-schema/unknown-field' : 'api-schema/invalid',
          field: c.field ?? '-',
          message: c.message ?? c.reason ?? 'invalid',
          hint: unknown ? 'remove the field or fix its spelling' : 'fix the value as the API server would require',
        });
      }
    }
  }
  return failures;
}
