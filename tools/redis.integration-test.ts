// Starts a real redis-server (Debian's, from redis-tools) exactly as the dev cluster's rendered
// StatefulSet starts it: its start script, its environment and the rendered redis.conf, with only
// the port and data folder replaced. It must refuse unauthenticated commands, accept the
// password, keep an append-only file, and refuse to start on a misspelt directive.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse } from 'yaml';
import { freePort } from './testing/free-port';

const root = join(__dirname, '..');
const dev = (path: string) => parse(readFileSync(join(root, 'dist-manifests/dev', path), 'utf8'));
const statefulSet = dev('20-data/redis/statefulset-redis.yaml');
const container = statefulSet.spec.template.spec.containers.find((c: { name: string }) => c.name === 'redis');
const renderedConf: string = dev('20-data/redis/configmap-redis-config.yaml').data['redis.conf'];
const password = 'test-only-redis-password';
let dir: string;

/** Runs the rendered start script with `conf`; resolves with the server's port once it answers, or its output if it exits. */
async function start(conf: string): Promise<{ port: number; stop: () => void } | { exited: string }> {
  const port = await freePort();
  const data = mkdtempSync(join(dir, 'data-'));
  const confFile = join(data, 'redis.conf');
  writeFileSync(confFile, conf.replace(/^port .*$/m, `port ${port}`).replace(/^dir .*$/m, `dir ${data}`).replace(/^bind .*$/m, 'bind 127.0.0.1'));
  const env: Record<string, string> = { PATH: `${dir}:${process.env.PATH}` };
  for (const e of container.env) env[e.name] = e.value ?? password;
  Object.assign(env, { REDIS_CONF: confFile, REDIS_AUTH_FILE: join(data, 'auth.conf') });
  const server = spawn(container.command[0], container.command.slice(1), { env });
  let output = '';
  server.stdout.on('data', (b) => (output += b));
  server.stderr.on('data', (b) => (output += b));
  for (let i = 0; i < 100; i++) {
    if (server.exitCode !== null) return { exited: output };
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() !== '') return { port, stop: () => server.kill('SIGTERM') };
    await new Promise((r) => setTimeout(r, 100));
  }
  server.kill('SIGKILL');
  throw new Error(`redis-server did not answer:\n${output}`);
}

const cli = (port: number, auth: boolean, ...args: string[]) =>
  spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', env: { ...process.env, ...(auth ? { REDISCLI_AUTH: password } : {}) } }).stdout.trim();

beforeAll(() => {
  if (!existsSync('/usr/bin/redis-check-rdb')) throw new Error("redis-server not found (Debian's redis-tools); run 'bash tools/install-integration.sh'");
  dir = mkdtempSync(join(tmpdir(), 'ml-platform-redis-'));
  // The Redis binary runs as the server when called redis-server (Debian links it so).
  symlinkSync('/usr/bin/redis-check-rdb', join(dir, 'redis-server'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the rendered server refuses commands without the password and serves them with it', async () => {
  const server = await start(renderedConf);
  if (!('port' in server)) throw new Error(server.exited);
  try {
    expect(cli(server.port, false, 'ping')).toContain('NOAUTH Authentication required');
    expect(cli(server.port, false, 'set', 'k', 'v')).toContain('NOAUTH');
    expect(cli(server.port, true, 'ping')).toBe('PONG');
    expect(cli(server.port, true, 'set', 'k', 'v')).toBe('OK');
    // The settings the render chose are the server's.
    expect(cli(server.port, true, 'config', 'get', 'appendonly').split('\n')).toEqual(['appendonly', 'yes']);
    expect(cli(server.port, true, 'config', 'get', 'maxmemory-policy').split('\n')).toEqual(['maxmemory-policy', 'volatile-lru']);
    expect(Number(cli(server.port, true, 'config', 'get', 'maxmemory').split('\n')[1])).toBe(384 * 2 ** 20);
    // The readiness probe, as rendered, passes.
    const probe = statefulSet.spec.template.spec.containers[0].readinessProbe.exec.command as string[];
    const ran = spawnSync(probe[0], [probe[1], probe[2].replace('-p 6379', `-p ${server.port}`)], { env: { ...process.env, REDISCLI_AUTH: password } });
    expect(ran.status).toBe(0);
  } finally {
    server.stop();
  }
});

test('a misspelt directive keeps the server from starting', async () => {
  const result = await start(renderedConf.replace('appendonly yes', 'appendonlyy yes'));
  expect('exited' in result && result.exited).toMatch(/Bad directive or wrong number of arguments/);
});
