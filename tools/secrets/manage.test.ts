// Secrets end to end with throwaway age keys made at run time: create, decrypt, share across
// namespaces, rotate, detect tampering, and fail the render when one is missing.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse } from 'yaml';
import { loadClusterConfig, renderInMemory } from '@ml-platform/core';
import { platformRenderSpec } from '@ml-platform/platform';
import { toolPaths } from '../validate/tools';
import { gitleaksFindings, plaintextSecrets } from '../scan-secrets';
import { checkSecrets, createSecrets, generateValue, listSecrets, rotateSecret, setSecret, valuesFromInput } from './manage';
import { decryptFile } from './sops';

const root = join(__dirname, '../..');
const bin = toolPaths(root).bin;
let ws: string;
let ctx: { root: string; bin: string };
let recipient: string;

const decrypt = (path: string) => {
  const r = decryptFile(bin, join(ws, path));
  if (!r.ok) throw new Error(r.error);
  return parse(r.text).stringData as Record<string, string>;
};

beforeAll(() => {
  ws = mkdtempSync(join(tmpdir(), 'ml-platform-secrets-'));
  writeFileSync(join(ws, 'nx.json'), '{}');
  cpSync(join(root, 'clusters/dev/cluster.yaml'), join(ws, 'clusters/dev/cluster.yaml'));
  execFileSync(join(bin, 'age-keygen'), ['-o', join(ws, 'test-key.txt')], { stdio: 'ignore' });
  recipient = /public key: (age1\w+)/.exec(readFileSync(join(ws, 'test-key.txt'), 'utf8'))?.[1] as string;
  const config = readFileSync(join(ws, 'clusters/dev/cluster.yaml'), 'utf8').replace(/^ {4}- age1\w+$/m, `    - ${recipient}`);
  writeFileSync(join(ws, 'clusters/dev/cluster.yaml'), config);
  process.env.SOPS_AGE_KEY_FILE = join(ws, 'test-key.txt');
  ctx = { root: ws, bin };
});
afterAll(() => {
  delete process.env.SOPS_AGE_KEY_FILE;
  rmSync(ws, { recursive: true, force: true });
});

const render = () => {
  const spec = platformRenderSpec('dev');
  return renderInMemory(spec, loadClusterConfig(spec, join(ws, 'clusters/dev/cluster.yaml'), 'clusters/dev/cluster.yaml'), 'clusters/dev/cluster.yaml', join(ws, 'clusters/dev/secrets'));
};

test('a missing secret fails the render with its name', () => {
  expect(render).toThrowError(/external\.secrets: secret 'minio-root' \(keys rootPassword, rootUser; namespaces minio\) is needed but neither rendered nor listed here/);
  expect(listSecrets(ctx, 'dev')).toContain('MISSING  postgres/postgres-superuser  keys: password');
});

test('create encrypts every missing secret to the cluster, with the same values wherever it is read', () => {
  const written = createSecrets(ctx, 'dev');
  expect(written).toContain('clusters/dev/secrets/mlflow/postgres-role-mlflow.yaml');
  expect(written).toContain('clusters/dev/secrets/postgres/postgres-role-mlflow.yaml');
  const onDisk = readFileSync(join(ws, 'clusters/dev/secrets/postgres/postgres-superuser.yaml'), 'utf8');
  expect(onDisk).toMatch(/password: ENC\[AES256_GCM,data:/);
  expect(parse(onDisk).sops.age.map((a: { recipient: string }) => a.recipient)).toEqual([recipient]);
  const inMlflow = decrypt('clusters/dev/secrets/mlflow/postgres-role-mlflow.yaml');
  expect(inMlflow.password).toMatch(/^[A-Za-z0-9]{40}$/);
  expect(decrypt('clusters/dev/secrets/postgres/postgres-role-mlflow.yaml')).toEqual(inMlflow);
  expect(createSecrets(ctx, 'dev')).toEqual([]);
  // The render now has them, still encrypted, byte for byte.
  const { files } = render();
  expect(files.find((f) => f.path === '05-secrets/postgres/secret-postgres-superuser.yaml')?.content).toBe(onDisk);
  // Four of them are the sign-in proxies' cookie secrets: 32 characters, an AES key's length.
  expect(decrypt('clusters/dev/secrets/mlflow/mlflow-oauth2-proxy.yaml')['cookie-secret']).toMatch(/^[A-Za-z0-9]{32}$/);
  // JupyterHub reads its cookie secret as 32 hex-encoded bytes: the key says so, and gets that.
  expect(decrypt('clusters/dev/secrets/jupyterhub/jupyterhub-cookie-secret.yaml')['cookie-secret']).toMatch(/^[0-9a-f]{64}$/);
  expect(checkSecrets(ctx, ['dev'])).toEqual({ problems: [], verified: 54, unverifiedClusters: [] });
});

test('rotate replaces the values everywhere and re-runs the Job that sets them', () => {
  const jobName = () => render().objects.find((o) => o.kind === 'Job' && o.namespace === 'postgres')?.name;
  const before = decrypt('clusters/dev/secrets/postgres/postgres-role-mlflow.yaml').password;
  const job = jobName();
  rotateSecret(ctx, 'dev', 'postgres-role-mlflow');
  const after = decrypt('clusters/dev/secrets/postgres/postgres-role-mlflow.yaml').password;
  expect(after).not.toBe(before);
  expect(decrypt('clusters/dev/secrets/mlflow/postgres-role-mlflow.yaml').password).toBe(after);
  expect(jobName()).not.toBe(job);
});

test('a tampered file fails the check when the key is present', () => {
  const path = join(ws, 'clusters/dev/secrets/minio/minio-root.yaml');
  const original = readFileSync(path, 'utf8');
  writeFileSync(path, original.replace(/(rootPassword: ENC\[AES256_GCM,data:)(.)/, (_m, head, c) => `${head}${c === 'A' ? 'B' : 'A'}`));
  const { problems } = checkSecrets(ctx, ['dev']);
  expect(problems).toEqual([expect.stringMatching(/^clusters\/dev\/secrets\/minio\/minio-root\.yaml: does not decrypt with the key given/)]);
  writeFileSync(path, original);
});

test('plaintext, wrongly addressed and extra files fail the check and the render', () => {
  const plain = join(ws, 'clusters/dev/secrets/minio/minio-root.yaml');
  const original = readFileSync(plain, 'utf8');
  writeFileSync(plain, 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: minio-root\n  namespace: minio\nstringData:\n  rootUser: admin\n  rootPassword: hunter2hunter2\n');
  const extra = join(ws, 'clusters/dev/secrets/mlflow/unused.yaml');
  writeFileSync(extra, original.replace('name: minio-root', 'name: unused').replace('namespace: minio', 'namespace: mlflow'));
  const { problems } = checkSecrets(ctx, ['dev']);
  expect(problems).toEqual(
    expect.arrayContaining([
      'clusters/dev/secrets/minio/minio-root.yaml: not SOPS-encrypted (no sops metadata); encrypt it with \'npm run secrets -- create\' or sops',
      "clusters/dev/secrets/minio/minio-root.yaml: value of 'rootUser' is not encrypted",
      'clusters/dev/secrets/mlflow/unused.yaml: nothing in the cluster reads Secret mlflow/unused; remove the file',
    ]),
  );
  expect(render).toThrowError(/clusters\/dev\/secrets\/minio\/minio-root\.yaml: value of 'rootPassword' is not encrypted/);
  writeFileSync(plain, original);
  unlinkSync(extra);
});

test('a private key or a plaintext Secret anywhere in the repository is found', () => {
  const repo = mkdtempSync(join(tmpdir(), 'ml-platform-leak-'));
  try {
    execFileSync('git', ['init', '-q'], { cwd: repo });
    execFileSync(join(bin, 'age-keygen'), ['-o', join(repo, 'keys.txt')], { stdio: 'ignore' });
    writeFileSync(join(repo, 'db.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: plain\n');
    expect(gitleaksFindings(repo, bin, ['keys.txt', 'db.yaml'])).toContainEqual(expect.stringMatching(/^working tree: keys\.txt:\d+: age-secret-key$/));
    expect(plaintextSecrets(repo, ['keys.txt', 'db.yaml'])).toEqual(['db.yaml: Secret -/db has values that are not SOPS-encrypted']);
    execFileSync('git', ['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'add', '-A'], { cwd: repo });
    execFileSync('git', ['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'commit', '-qm', 'leak'], { cwd: repo });
    rmSync(join(repo, 'keys.txt'));
    // Deleting the file does not remove it from history.
    expect(gitleaksFindings(repo, bin, ['db.yaml'])).toContainEqual(expect.stringMatching(/^history: keys\.txt:\d+ \(commit \w{8}\): age-secret-key$/));
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
});

test('generated values are strong and shaped for their key', () => {
  expect(generateValue('rootUser')).toMatch(/^[A-Za-z0-9]{20}$/);
  expect(generateValue('secretKey')).toMatch(/^[A-Za-z0-9]{40}$/);
  // oauth2-proxy takes the cookie secret as an AES key: 16, 24 or 32 bytes.
  expect(generateValue('cookie-secret')).toMatch(/^[A-Za-z0-9]{32}$/);
  expect(new Set(Array.from({ length: 50 }, () => generateValue('password'))).size).toBe(50);
  // A key that declares a format gets it, whatever its name: JupyterHub reads its cookie secret as hex.
  expect(generateValue('cookie-secret', { encoding: 'hex', bytes: 32 })).toMatch(/^[0-9a-f]{64}$/);
  // Airflow's Fernet key: 32 bytes, URL-safe base64 with its padding, as cryptography's Fernet.generate_key() makes.
  const fernet = generateValue('fernet-key', { encoding: 'base64url', bytes: 32 });
  expect(fernet).toMatch(/^[A-Za-z0-9_-]{43}=$/);
  expect(Buffer.from(fernet, 'base64url')).toHaveLength(32);
});

test('set stores an issued value encrypted in every namespace that reads it, and only with all its keys', () => {
  const file = join(ws, 'clusters/dev/cluster.yaml');
  const original = readFileSync(file, 'utf8');
  try {
    expect(() => setSecret(ctx, 'dev', 'sso-gitlab', { 'client-secret': 'issued-by-gitlab' })).toThrow(/lists 'sso-gitlab' under external\.secrets .* remove it there first/);
    // Kept in Git instead of made by hand: the render now needs the encrypted copies.
    writeFileSync(file, original.replace('    - sso-gitlab\n', ''));
    expect(render).toThrowError(/secret 'sso-gitlab' \(keys client-secret; namespaces airflow, dash, home, jupyterhub, logging, minio, mlflow, monitoring, serving, spark-history, superset, tensorboard\) is needed/);
    expect(() => setSecret(ctx, 'dev', 'sso-gitlab', { secret: 'x' })).toThrow(/holds exactly the keys client-secret; missing: client-secret; unknown: secret/);
    expect(() => setSecret(ctx, 'dev', 'sso-gitlab', { 'client-secret': '' })).toThrow(/empty value for client-secret/);
    expect(() => setSecret(ctx, 'dev', 'no-such', { a: 'b' })).toThrow(/needs no Secret 'no-such'/);
    const written = setSecret(ctx, 'dev', 'sso-gitlab', valuesFromInput('issued-by-gitlab\n', ['client-secret']));
    expect(written).toEqual(['clusters/dev/secrets/airflow/sso-gitlab.yaml', 'clusters/dev/secrets/dash/sso-gitlab.yaml', 'clusters/dev/secrets/home/sso-gitlab.yaml', 'clusters/dev/secrets/jupyterhub/sso-gitlab.yaml', 'clusters/dev/secrets/logging/sso-gitlab.yaml', 'clusters/dev/secrets/minio/sso-gitlab.yaml', 'clusters/dev/secrets/mlflow/sso-gitlab.yaml', 'clusters/dev/secrets/monitoring/sso-gitlab.yaml', 'clusters/dev/secrets/serving/sso-gitlab.yaml', 'clusters/dev/secrets/spark-history/sso-gitlab.yaml', 'clusters/dev/secrets/superset/sso-gitlab.yaml', 'clusters/dev/secrets/tensorboard/sso-gitlab.yaml']);
    for (const path of written) expect(decrypt(path)).toEqual({ 'client-secret': 'issued-by-gitlab' });
    expect(readFileSync(join(ws, written[0]), 'utf8')).not.toContain('issued-by-gitlab');
    expect(render).not.toThrow();
  } finally {
    writeFileSync(file, original);
    for (const ns of ['airflow', 'dash', 'home', 'jupyterhub', 'logging', 'minio', 'mlflow', 'monitoring', 'serving', 'spark-history', 'superset', 'tensorboard']) rmSync(join(ws, `clusters/dev/secrets/${ns}/sso-gitlab.yaml`), { force: true });
  }
});

test('set reads one value, or one key=value line per key, from standard input', () => {
  expect(valuesFromInput('s3cr=t\n', ['client-secret'])).toEqual({ 'client-secret': 's3cr=t' });
  expect(valuesFromInput('username=ci\npassword=a=b\n', ['password', 'username'])).toEqual({ username: 'ci', password: 'a=b' });
  expect(() => valuesFromInput('just a value', ['password', 'username'])).toThrow(/one key=value line per key \(password, username\)/);
});
