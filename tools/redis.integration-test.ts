// Starts a real redis-server (Debian's, from redis-tools) exactly as the rendered StatefulSet
// starts it: its start script, its environment and the rendered redis.conf, with only the port,
// the data folder and the certificate folder replaced (the certificate from a CA made here by
// openssl, as cert-manager's comes from the internal CA). It must speak TLS only, refuse
// unauthenticated commands, accept the password, keep an append-only file, reload a renewed
// certificate when the rendered sidecar tells it to, serve Superset's three Redis clients as
// superset_config.py builds them (run from Superset's locked packages), and refuse to start on a
// misspelt directive.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse } from 'yaml';
import { certificateSerial, testCa, testCertificate } from './testing/certificates';
import { freePort } from './testing/free-port';

const root = join(__dirname, '..');
const prod = (path: string) => parse(readFileSync(join(root, 'dist-manifests/prod', path), 'utf8'));
const statefulSet = prod('20-data/redis/statefulset-redis.yaml');
const containers = Object.fromEntries(statefulSet.spec.template.spec.containers.map((c: { name: string }) => [c.name, c]));
const container = containers.redis;
const renderedConf: string = prod('20-data/redis/configmap-redis-config.yaml').data['redis.conf'];
const supersetFolder = join(root, 'dist-manifests/prod/30-apps/superset');
const supersetConfig: string = Object.values(parse(readFileSync(join(supersetFolder, readdirSync(supersetFolder).find((f) => f.startsWith('configmap-superset-config')) as string), 'utf8')).data as Record<string, string>)[0];
const password = 'test-only-redis/password@';
const TLS_DIR = '/etc/redis/tls';
let dir: string;

/** A server certificate for localhost and 127.0.0.1 from the CA `ca`, as `<name>.crt` and `<name>.key`. */
const issue = (ca: string, name: string) => testCertificate(dir, ca, name, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], commonName: 'redis' });

/** The rendered text with the certificate folder where this test keeps it. */
const local = (text: string, port: number) => text.replaceAll(TLS_DIR, join(dir, 'tls')).replaceAll('-p 6379', `-p ${port}`).replaceAll('/run/heartbeat', join(dir, 'heartbeat'));

/** Runs the rendered start script with `conf`; resolves with the server's port once it answers, or its output if it exits. */
async function start(conf: string): Promise<{ port: number; stop: () => void } | { exited: string }> {
  const port = await freePort();
  const data = mkdtempSync(join(dir, 'data-'));
  const confFile = join(data, 'redis.conf');
  writeFileSync(confFile, local(conf, port).replace(/^tls-port .*$/m, `tls-port ${port}`).replace(/^dir .*$/m, `dir ${data}`).replace(/^bind .*$/m, 'bind 127.0.0.1'));
  const env: Record<string, string> = { PATH: `${dir}:${process.env.PATH}` };
  for (const e of container.env) env[e.name] = e.value ?? password;
  Object.assign(env, { REDIS_CONF: confFile, REDIS_AUTH_FILE: join(data, 'auth.conf') });
  const server = spawn(container.command[0], container.command.slice(1), { env });
  let output = '';
  server.stdout.on('data', (b) => (output += b));
  server.stderr.on('data', (b) => (output += b));
  for (let i = 0; i < 100; i++) {
    if (server.exitCode !== null) return { exited: output };
    if (tls(port, false, 'ping') !== '') return { port, stop: () => server.kill('SIGTERM') };
    await new Promise((r) => setTimeout(r, 100));
  }
  server.kill('SIGKILL');
  throw new Error(`redis-server did not answer:\n${output}`);
}

/** Runs `body` against a server started from the rendered configuration, and stops it after. */
async function withServer(body: (server: { port: number }) => Promise<void> | void): Promise<void> {
  const server = await start(renderedConf);
  if (!('port' in server)) throw new Error(server.exited);
  try {
    await body(server);
  } finally {
    server.stop();
  }
}

const redisCli = (args: string[], auth: boolean) =>
  spawnSync('redis-cli', args, { encoding: 'utf8', env: { ...process.env, ...(auth ? { REDISCLI_AUTH: password } : {}) }, timeout: 10_000 });
/** redis-cli over TLS, verifying the server against the test's CA. */
const tls = (port: number, auth: boolean, ...args: string[]) => redisCli(['--tls', '--cacert', join(dir, 'tls', 'ca.crt'), '-p', String(port), ...args], auth).stdout.trim();
const serial = (port: number) => execFileSync('sh', ['-c', `openssl s_client -connect 127.0.0.1:${port} </dev/null 2>/dev/null | openssl x509 -noout -serial`], { encoding: 'utf8' }).trim();

beforeAll(() => {
  if (!existsSync('/usr/bin/redis-check-rdb')) throw new Error("redis-server not found (Debian's redis-tools); run 'bash tools/install-integration.sh'");
  dir = mkdtempSync(join(tmpdir(), 'ml-platform-redis-'));
  // The Redis binary runs as the server when called redis-server (Debian links it so).
  symlinkSync('/usr/bin/redis-check-rdb', join(dir, 'redis-server'));
  for (const sub of ['tls', 'heartbeat']) mkdirSync(join(dir, sub));
  for (const ca of ['platform-ca', 'other-ca']) testCa(dir, ca);
  issue('platform-ca', 'server');
  for (const [from, to] of [['server.crt', 'tls.crt'], ['server.key', 'tls.key'], ['platform-ca.crt', 'ca.crt']]) writeFileSync(join(dir, 'tls', to), readFileSync(join(dir, from)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the rendered server speaks TLS only, refuses commands without the password and serves them with it', async () => {
  await withServer(async (server) => {
    // A plain-text client gets no answer; a client trusting another CA refuses the server.
    expect(redisCli(['-p', String(server.port), 'ping'], true).stdout.trim()).not.toBe('PONG');
    const foreign = redisCli(['--tls', '--cacert', join(dir, 'other-ca.crt'), '-p', String(server.port), 'ping'], true);
    expect(foreign.stdout.trim() + foreign.stderr).toMatch(/certificate verify failed/);
    expect(tls(server.port, false, 'ping')).toContain('NOAUTH Authentication required');
    expect(tls(server.port, false, 'set', 'k', 'v')).toContain('NOAUTH');
    expect(tls(server.port, true, 'ping')).toBe('PONG');
    expect(tls(server.port, true, 'set', 'k', 'v')).toBe('OK');
    // The settings the render chose are the server's.
    expect(tls(server.port, true, 'config', 'get', 'appendonly').split('\n')).toEqual(['appendonly', 'yes']);
    expect(tls(server.port, true, 'config', 'get', 'maxmemory-policy').split('\n')).toEqual(['maxmemory-policy', 'volatile-lru']);
    expect(tls(server.port, true, 'config', 'get', 'port').split('\n')).toEqual(['port', '0']);
    // The readiness probe, as rendered, passes.
    const probe = container.readinessProbe.exec.command as string[];
    const ran = spawnSync(probe[0], [probe[1], local(probe[2], server.port)], { env: { ...process.env, REDISCLI_AUTH: password } });
    expect(ran.status).toBe(0);
  });
});

test("Superset's cache, results backend and Celery broker, as superset_config.py builds them, verify the server and use it", async () => {
  await withServer(async (server) => {
    // The rendered config, pointed at this server (a certificate for localhost), the test's CA, and
    // StatsD on this machine (the client resolves its host at start).
    const config = supersetConfig.replaceAll('superset-statsd.superset.svc.cluster.local', 'localhost').replaceAll('/etc/platform/internal-ca/ca.crt', join(dir, 'tls', 'ca.crt')).replaceAll('redis.redis.svc.cluster.local:6379', `localhost:${server.port}`).replaceAll('redis.redis.svc.cluster.local', 'localhost').replaceAll('port=6379', `port=${server.port}`).replaceAll('"CACHE_REDIS_PORT": 6379', `"CACHE_REDIS_PORT": ${server.port}`);
    const script = [
      'import runpy, redis, kombu',
      `c = runpy.run_path(${JSON.stringify(join(dir, 'superset_config.py'))})`,
      'cache = c["CACHE_CONFIG"]',
      'client = redis.Redis(host=cache["CACHE_REDIS_HOST"], port=cache["CACHE_REDIS_PORT"], db=cache["CACHE_REDIS_DB"], password=cache["CACHE_REDIS_PASSWORD"], **cache["CACHE_OPTIONS"])',
      'assert client.ping()',
      'results = c["RESULTS_BACKEND"]',
      'assert results.set("query", "rows") and results.get("query") == "rows"',
      'celery = c["CeleryConfig"]',
      'with kombu.Connection(celery.broker_url, ssl=celery.broker_use_ssl) as conn:',
      '    conn.ensure_connection(max_retries=1)',
      '    assert conn.default_channel.client.ping()',
      'print("verified")',
    ].join('\n');
    /** Runs the clients with `configText` as superset_config.py, from Superset's locked packages. */
    const clients = (configText: string) => {
      writeFileSync(join(dir, 'superset_config.py'), configText);
      const project = join(root, 'images/superset');
      return spawnSync('bash', [join(root, 'tools/uv.sh'), 'run', '--locked', '--project', project, 'python', '-c', script], { cwd: root, encoding: 'utf8', env: { ...process.env, REDIS_PASSWORD: password, SUPERSET_SECRET_KEY: 'test-only' }, timeout: 300_000 });
    };
    const run = clients(config);
    expect(run.stdout.trim().split('\n').pop(), run.stderr).toBe('verified');
    // The same clients with another CA refuse the server.
    const foreign = clients(config.replaceAll(join(dir, 'tls', 'ca.crt'), join(dir, 'other-ca.crt')));
    expect(foreign.status).not.toBe(0);
    expect(foreign.stderr).toMatch(/CERTIFICATE_VERIFY_FAILED|certificate verify failed/);
  });
});

test('the rendered sidecar reloads a renewed certificate without a restart', async () => {
  await withServer(async (server) => {
    issue('platform-ca', 'renewed');
    const before = serial(server.port);
    // The loop as rendered; its first sleep is cert-manager writing the renewed Secret, its second ends the run.
    const shims = join(dir, 'shims');
    mkdirSync(shims, { recursive: true });
    const swap = (from: string, to: string) => `cp ${dir}/${from} ${dir}/tls/.${to} && mv -f ${dir}/tls/.${to} ${dir}/tls/${to}`;
    writeFileSync(join(shims, 'sleep'), `#!/bin/sh\nset -e\nif [ -e ${dir}/heartbeat/slept ]; then exit 3; fi\ntouch ${dir}/heartbeat/slept\n${swap('renewed.crt', 'tls.crt')}\n${swap('renewed.key', 'tls.key')}\n`);
    chmodSync(join(shims, 'sleep'), 0o755);
    const sidecar = containers['reload-on-renewal'];
    expect(sidecar.env.find((e: { name: string }) => e.name === 'REDISCLI_AUTH')).toBeDefined();
    const reload = spawnSync('/bin/sh', ['-c', local(sidecar.command[2], server.port)], { encoding: 'utf8', env: { PATH: `${shims}:/usr/bin:/bin`, REDISCLI_AUTH: password }, timeout: 30_000 });
    expect(reload.status, reload.stderr).toBe(3);
    expect(reload.stdout).toContain('certificate renewed: configuration reloaded');
    const after = serial(server.port);
    expect(after).not.toBe(before);
    expect(after).toBe(certificateSerial(join(dir, 'renewed.crt')));
  });
});

test('a misspelt directive keeps the server from starting', async () => {
  const result = await start(renderedConf.replace('appendonly yes', 'appendonlyy yes'));
  expect('exited' in result && result.exited).toMatch(/Bad directive or wrong number of arguments/);
});
