// What `npm run secrets` does, as functions the tests call directly.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { LabelKeys, loadClusterConfig, matchSecrets, PART_OF, readSopsSecrets, requiredSecrets, SecretRequirement, SecretValueFormat } from '@ml-platform/core';
import { ClusterConfig, platformRenderSpec } from '@ml-platform/platform';
import { decryptFile, encryptSecret, ENCRYPTED_KEYS, heldRecipients } from './sops';

export interface SecretsContext {
  readonly root: string;
  /** Folder with the sops binary. */
  readonly bin: string;
}

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * A strong random value: in the format the key declares (hex for JupyterHub's cookie secret), or
 * alphanumeric, where names (users, access keys) are shorter, and cookie secrets are 32 characters
 * because oauth2-proxy takes them as AES keys (16, 24 or 32 bytes).
 */
export function generateValue(key: string, format?: SecretValueFormat): string {
  if (format?.encoding === 'hex') return randomBytes(format.bytes).toString('hex');
  // Node's base64url drops the padding; Python's urlsafe_b64decode (Fernet) requires it.
  if (format?.encoding === 'base64url') return randomBytes(format.bytes).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  const isName = /user|name|accesskey/i.test(key);
  const length = /cookie-secret/i.test(key) ? 32 : isName ? 20 : 40;
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; out.length < length; i++) {
    // Rejection sampling keeps every character equally likely.
    if (bytes[i] < 248) out += ALPHANUMERIC[bytes[i] % 62];
    if (i === bytes.length - 1) return generateValue(key);
  }
  return out;
}

export function clusterNames(root: string): string[] {
  return readdirSync(join(root, 'clusters'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, 'clusters', d.name, 'cluster.yaml')))
    .map((d) => d.name)
    .sort();
}

function loadConfig(ctx: SecretsContext, cluster: string): { spec: ReturnType<typeof platformRenderSpec>; config: ClusterConfig } {
  const spec = platformRenderSpec(cluster);
  return { spec, config: loadClusterConfig(spec, join(ctx.root, 'clusters', cluster, 'cluster.yaml'), `clusters/${cluster}/cluster.yaml`) };
}

/** A cluster's config, the Secrets it needs from Git and the encrypted files it has. */
function load(ctx: SecretsContext, cluster: string) {
  const { spec, config } = loadConfig(ctx, cluster);
  const dir = join(ctx.root, 'clusters', cluster, 'secrets');
  const required = requiredSecrets(spec, config).filter((s) => !config.external.secrets.includes(s.name));
  const files = readSopsSecrets(dir, `clusters/${cluster}/secrets`, config.secrets.ageRecipients);
  return { config, dir, required, files };
}

/** One line per secret and namespace: needed keys and whether the encrypted file exists. */
export function listSecrets(ctx: SecretsContext, cluster: string): string[] {
  const { config, required, files } = load(ctx, cluster);
  const lines = required.flatMap((s) =>
    s.namespaces.map((ns) => {
      const file = files.secrets.find((f) => f.name === s.name && f.namespace === ns);
      return `${file ? 'present' : 'MISSING'}  ${ns}/${s.name}  keys: ${s.keys.map((k) => k.key).join(', ')}`;
    }),
  );
  for (const name of config.external.secrets) lines.push(`external  ${name}  (provided outside Git; see docs/bootstrap.md)`);
  return lines;
}

function writeEncrypted(ctx: SecretsContext, cluster: string, namespace: string, name: string, values: Record<string, string>): string {
  const labels = {
    [LabelKeys.NAME]: name,
    [LabelKeys.INSTANCE]: namespace,
    [LabelKeys.COMPONENT]: 'secret',
    [LabelKeys.PART_OF]: PART_OF,
    [LabelKeys.MANAGED_BY]: 'sops',
  };
  const manifest = { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels }, type: 'Opaque', stringData: values };
  const path = `clusters/${cluster}/secrets/${namespace}/${name}.yaml`;
  const encrypted = encryptSecret(ctx.bin, ctx.root, path, manifest);
  mkdirSync(join(ctx.root, 'clusters', cluster, 'secrets', namespace), { recursive: true });
  writeFileSync(join(ctx.root, path), encrypted);
  return path;
}

/** .sops.yaml decides the recipients of new files; keep it in step with cluster.yaml first. */
function syncSopsConfig(ctx: SecretsContext): void {
  writeFileSync(join(ctx.root, '.sops.yaml'), sopsConfig(ctx));
}

/** Values of an existing copy of a secret (needs the key), so new copies match it. */
function existingValues(ctx: SecretsContext, file: string): Record<string, string> {
  const r = decryptFile(ctx.bin, file);
  if (!r.ok) throw new Error(`${file} exists but could not be decrypted (${r.error}); set SOPS_AGE_KEY_FILE to the cluster's key, or rotate the secret`);
  const obj = parse(r.text);
  const decoded = Object.fromEntries(Object.entries(obj.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]));
  return { ...decoded, ...(obj.stringData ?? {}) };
}

/** Creates every missing Secret with fresh random values, encrypted; prints no value. */
export function createSecrets(ctx: SecretsContext, cluster: string): string[] {
  const { dir, required, files } = load(ctx, cluster);
  syncSopsConfig(ctx);
  const written: string[] = [];
  for (const s of required) {
    const present = s.namespaces.filter((ns) => files.secrets.some((f) => f.name === s.name && f.namespace === ns));
    const missing = s.namespaces.filter((ns) => !present.includes(ns));
    if (missing.length === 0) continue;
    // A secret read in several namespaces holds the same values in each.
    const values = present.length ? existingValues(ctx, join(dir, present[0], `${s.name}.yaml`)) : fresh(s);
    for (const ns of missing) written.push(writeEncrypted(ctx, cluster, ns, s.name, values));
  }
  return written;
}

function fresh(s: SecretRequirement): Record<string, string> {
  return Object.fromEntries(s.keys.map((k) => [k.key, generateValue(k.key, k.format)]));
}

/** Replaces every copy of secret `name` with new random values, encrypted to the current recipients. */
export function rotateSecret(ctx: SecretsContext, cluster: string, name: string): string[] {
  const { required } = load(ctx, cluster);
  const s = required.find((r) => r.name === name);
  if (!s) throw new Error(`cluster '${cluster}' needs no Secret '${name}' from Git; known: ${required.map((r) => r.name).join(', ')}`);
  syncSopsConfig(ctx);
  const values = fresh(s);
  return s.namespaces.map((ns) => writeEncrypted(ctx, cluster, ns, name, values));
}

/**
 * The values `set` reads from standard input, never from the command line (shell history, ps):
 * the whole input for a Secret with one key, else one `key=value` line per key.
 */
export function valuesFromInput(input: string, keys: readonly string[]): Record<string, string> {
  const text = input.replace(/\r?\n$/, '');
  if (keys.length === 1 && !text.startsWith(`${keys[0]}=`)) return { [keys[0]]: text };
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/).filter((l) => l.trim() !== '')) {
    const at = line.indexOf('=');
    if (at <= 0) throw new Error(`expected one key=value line per key (${keys.join(', ')}) on standard input, found a line without '='`);
    values[line.slice(0, at)] = line.slice(at + 1);
  }
  return values;
}

/** The keys of Secret `name` of a cluster, as the render requires them. */
export function listSecretKeys(ctx: SecretsContext, cluster: string, name: string): string[] {
  const { spec, config } = loadConfig(ctx, cluster);
  const s = requiredSecrets(spec, config).find((r) => r.name === name);
  if (!s) throw new Error(`cluster '${cluster}' needs no Secret '${name}'; 'npm run secrets -- list ${cluster}' shows the ones it needs`);
  return s.keys.map((k) => k.key);
}

/**
 * Stores values someone else issued (a GitLab application's secret) encrypted, in every
 * namespace that reads the Secret. Every key of the Secret must be given, and no other.
 */
export function setSecret(ctx: SecretsContext, cluster: string, name: string, values: Record<string, string>): string[] {
  const { spec, config } = loadConfig(ctx, cluster);
  const s = requiredSecrets(spec, config).find((r) => r.name === name);
  if (!s) throw new Error(`cluster '${cluster}' needs no Secret '${name}'; 'npm run secrets -- list ${cluster}' shows the ones it needs`);
  if (config.external.secrets.includes(name)) {
    throw new Error(`clusters/${cluster}/cluster.yaml lists '${name}' under external.secrets (provided outside Git); remove it there first to keep it encrypted in Git instead`);
  }
  const expected = s.keys.map((k) => k.key);
  const missing = expected.filter((k) => !(k in values));
  const unknown = Object.keys(values).filter((k) => !expected.includes(k));
  if (missing.length || unknown.length) {
    throw new Error(`Secret '${name}' holds exactly the keys ${expected.join(', ')}${missing.length ? `; missing: ${missing.join(', ')}` : ''}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`);
  }
  const empty = expected.filter((k) => values[k] === '');
  if (empty.length) throw new Error(`Secret '${name}': empty value for ${empty.join(', ')}`);
  syncSopsConfig(ctx);
  return s.namespaces.map((ns) => writeEncrypted(ctx, cluster, ns, name, values));
}

/**
 * The .sops.yaml creation rules: one per cluster, its own recipients, only data and stringData.
 * Only each cluster's config is read: composing every cluster to list its Secrets made adding
 * the hundredth cluster cost seconds.
 */
export function sopsConfig(ctx: SecretsContext): string {
  const rules = clusterNames(ctx.root).map((cluster) => {
    const { config } = loadConfig(ctx, cluster);
    return { path_regex: `clusters/${cluster}/secrets/.*\\.yaml$`, encrypted_regex: ENCRYPTED_KEYS, age: config.secrets.ageRecipients.join(',') };
  });
  return `# Generated by 'npm run secrets -- config' from each cluster's secrets.ageRecipients; do not edit.\n${stringify({ creation_rules: rules }, { lineWidth: 0 })}`;
}

/**
 * Checks every cluster: missing, extra, unencrypted or wrongly addressed Secrets, a stale
 * .sops.yaml, and, when a key is available, that each file decrypts (its MAC verifies).
 */
export function checkSecrets(ctx: SecretsContext, clusters = clusterNames(ctx.root)): { problems: string[]; verified: number; unverifiedClusters: string[] } {
  const problems: string[] = [];
  let verified = 0;
  const held = heldRecipients(ctx.bin);
  const unverifiedClusters: string[] = [];
  const sopsYaml = join(ctx.root, '.sops.yaml');
  if (!existsSync(sopsYaml) || readFileSync(sopsYaml, 'utf8') !== sopsConfig(ctx)) problems.push(".sops.yaml is missing or stale; run 'npm run secrets -- config'");
  for (const cluster of clusters) {
    let loaded;
    try {
      loaded = load(ctx, cluster);
    } catch (err) {
      problems.push(`${cluster}: ${(err as Error).message}`);
      continue;
    }
    const { config, dir, required, files } = loaded;
    problems.push(...files.problems, ...matchSecrets(required, files.secrets));
    for (const s of required) {
      for (const ns of s.namespaces) {
        if (!files.secrets.some((f) => f.name === s.name && f.namespace === ns)) problems.push(`clusters/${cluster}/secrets/${ns}/${s.name}.yaml: missing; run 'npm run secrets -- create ${cluster}'`);
      }
    }
    // Only a key of this cluster can verify its files: a dev key cannot read prod.
    if (!config.secrets.ageRecipients.some((r) => held.includes(r))) unverifiedClusters.push(cluster);
    else {
      for (const f of files.secrets) {
        const r = decryptFile(ctx.bin, join(dir, f.namespace as string, `${f.name}.yaml`));
        if (r.ok) verified++;
        else problems.push(`${f.source}: does not decrypt with the key given (${r.error}); it was tampered with or encrypted to other recipients`);
      }
    }
  }
  return { problems, verified, unverifiedClusters };
}
