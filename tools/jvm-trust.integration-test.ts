// The JVM side of TLS inside the cluster: S3A (Spark jobs, notebooks, the history server) and
// Elasticsearch's snapshot client trust nothing but the JVM's truststore. This runs a real JVM
// with the JAVA_TOOL_OPTIONS prod renders against an HTTPS server whose certificate comes from a CA
// made here by openssl, the CA written as cert-manager writes truststore.p12 (its encoder, with
// the profile and password of the rendered Certificate).
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse } from 'yaml';
import { freePort } from './testing/free-port';

const root = join(__dirname, '..');
const writer = join(root, '.tools/bin/pkcs12-truststore');
const history = join(root, 'dist-manifests/prod/30-apps/spark-history');
const read = (file: string) => parse(readFileSync(join(history, file), 'utf8'));
const javaToolOptions: string = read('deployment-spark-history.yaml').spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'JAVA_TOOL_OPTIONS').value;
const pkcs12 = read('certificate-internal-ca-trust.yaml').spec.keystores.pkcs12;
let dir: string;
let port: number;
let server: ChildProcess | undefined;

const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

function ca(name: string) {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`]);
}

/** The rendered options, with the truststore where this test keeps it. */
const options = (truststore: string) => javaToolOptions.replace('/etc/platform/internal-ca/truststore.p12', join(dir, truststore));

function get(env: Record<string, string>) {
  return spawnSync('java', [join(root, 'tools/jvm-trust/HttpsGet.java'), `https://localhost:${port}/`], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, timeout: 60_000 });
}

beforeAll(async () => {
  if (!existsSync(writer)) throw new Error("tools/pkcs12-truststore is not built; run 'bash tools/install-integration.sh'");
  dir = mkdtempSync(join(tmpdir(), 'ml-platform-jvm-trust-'));
  ca('internal-ca');
  ca('other-ca');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=minio']);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'internal-ca.crt', '-CAkey', 'internal-ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext']);
  for (const name of ['internal-ca', 'other-ca']) execFileSync(writer, [pkcs12.profile, pkcs12.password, join(dir, `${name}.crt`), join(dir, `${name}.p12`)]);
  port = await freePort();
  server = spawn('openssl', ['s_server', '-quiet', '-accept', String(port), '-cert', 'server.crt', '-key', 'server.key', '-www'], { cwd: dir, stdio: 'ignore' });
  for (let i = 0; i < 50 && spawnSync('openssl', ['s_client', '-connect', `localhost:${port}`], { input: '', timeout: 2000 }).status !== 0; i++) await new Promise((r) => setTimeout(r, 100));
});

afterAll(() => {
  server?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('prod renders a truststore cert-manager writes with a profile Java reads', () => {
  expect(pkcs12).toMatchObject({ create: true, profile: 'Modern2023' });
  expect(javaToolOptions).toContain(`-Djavax.net.ssl.trustStorePassword=${pkcs12.password}`);
});

test("with the rendered JAVA_TOOL_OPTIONS the JVM trusts a server certificate from the internal CA", () => {
  const run = get({ JAVA_TOOL_OPTIONS: options('internal-ca.p12') });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout.trim()).toBe('200');
});

test('without them, or with another CA in the truststore, the JVM refuses the server', () => {
  const plain = get({});
  expect(plain.status, plain.stderr).toBe(2);
  expect(plain.stderr).toMatch(/PKIX path building failed/);
  const other = get({ JAVA_TOOL_OPTIONS: options('other-ca.p12') });
  expect(other.status, other.stderr).toBe(2);
});
