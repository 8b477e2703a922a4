// PostgreSQL's backups as stage renders them, run for real: Debian's PostgreSQL and pgBackRest,
// an S3 server over HTTPS (tools/s3-server, gofakes3) in MinIO's place, certificates from a CA
// made by openssl for the run. The server archives its WAL with the rendered archive_command and
// server.conf; the pgBackRest TLS server and the backup CronJob's script and backup.conf take a
// full backup; rows written after it come back by point-in-time recovery exactly up to the
// target, and a hole in the archive makes the recovery fail rather than stop short unnoticed.
import { ChildProcess, execFileSync, spawn, spawnSync, SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse } from 'yaml';
import { testCa, testCertificate } from './testing/certificates';
import { freePort } from './testing/free-port';

const root = join(__dirname, '..');
const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort() : [];
const bin = join('/usr/lib/postgresql', versions[versions.length - 1] ?? 'missing', 'bin');
const s3Server = join(root, '.tools/bin/s3-server');
const rendered = join(root, 'dist-manifests/stage/20-data/postgres');
const read = (file: string) => parse(readFileSync(join(rendered, file), 'utf8'));
const configs: Record<string, string> = read('configmap-pgbackrest.yaml').data;
const statefulSet = read('statefulset-postgres.yaml');
const cronJob = read('cronjob-postgres-backup.yaml');
const serverContainer = statefulSet.spec.template.spec.containers.find((c: { name: string }) => c.name === 'postgres');
const backupScript: string = cronJob.spec.jobTemplate.spec.template.spec.containers[0].command[2];
const restoreScript: string = read('cronjob-postgres-restore.yaml').spec.jobTemplate.spec.template.spec.containers[0].command[2];
const BUCKET = 'postgres-backups';

let dir: string;
const ports: Record<string, number> = {};
let postgresIds: { uid: number; gid: number } | undefined;
const running: ChildProcess[] = [];

/** Runs as the postgres OS user when the test runs as root (PostgreSQL refuses root). */
const asPostgres = (cmd: string, args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> =>
  postgresIds
    ? spawnSync('runuser', ['-u', 'postgres', '--', 'env', ...Object.entries({ PATH: process.env.PATH ?? '', ...env }).map(([k, v]) => `${k}=${v}`), cmd, ...args], { encoding: 'utf8' })
    : spawnSync(cmd, args, { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
const own = (path: string) => postgresIds && chownSync(path, postgresIds.uid, postgresIds.gid);

/** A certificate `name` from the test's CA: a server's for localhost, or a client's with `cn`. */
function issue(name: string, usage: 'serverAuth' | 'clientAuth', cn = 'localhost') {
  testCertificate(dir, 'ca', name, { usage, commonName: cn, ...(usage === 'serverAuth' ? { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] } : {}) });
}

/** A certificate's files as the pod mounts its Secret: tls.crt, tls.key, ca.crt in `folder`, the postgres user's. */
function install(name: string, folder: string) {
  mkdirSync(join(dir, folder), { recursive: true });
  for (const [from, to] of [[`${name}.crt`, 'tls.crt'], [`${name}.key`, 'tls.key'], ['ca.crt', 'ca.crt']]) {
    copyFileSync(join(dir, from), join(dir, folder, to));
    chmodSync(join(dir, folder, to), to === 'tls.key' ? 0o600 : 0o644);
    own(join(dir, folder, to));
  }
  own(join(dir, folder));
}

/** A rendered pgBackRest file, its pod paths and addresses moved into the test. */
function localConfig(file: string, lockDir: string): string {
  let text = configs[file];
  for (const [from, to] of [
    ['minio.minio.svc.cluster.local', 'localhost'],
    ['repo1-storage-port=9000', `repo1-storage-port=${ports.s3}`],
    ['/etc/platform/internal-ca/ca.crt', join(dir, 'ca.crt')],
    ['/etc/postgresql/tls', join(dir, 'server-tls')],
    ['/etc/platform/pgbackrest-client', join(dir, 'client-tls')],
    ['/var/lib/postgresql/18/docker', join(dir, 'data')],
    ['/var/run/postgresql', join(dir, 'socket')],
    ['pg1-port=5432', `pg1-port=${ports.postgres}`],
    ['tls-server-port=8432', `tls-server-port=${ports.pgbackrest}`],
    ['pg1-host-port=8432', `pg1-host-port=${ports.pgbackrest}`],
    ['postgres-0.postgres-headless.postgres.svc.cluster.local', 'localhost'],
    ['lock-path=/tmp/pgbackrest', `lock-path=${join(dir, lockDir)}`],
  ] as const) {
    if (text.includes(from)) text = text.replaceAll(from, to);
  }
  const path = join(dir, file);
  writeFileSync(path, text);
  own(path);
  return path;
}

/** pgBackRest's environment in a pod: the rendered config and the folder of the credentials file. */
const envOf = (config: string, includes: string) => ({ PGBACKREST_CONFIG: config, PGBACKREST_CONFIG_INCLUDE_PATH: includes });

/** The restore CronJob's script, as a person runs it with the server stopped, to `target` (unset: none given). */
const restore = (target?: string) =>
  asPostgres('/bin/sh', ['-c', restoreScript.replaceAll('/run/secrets/', `${join(dir, 'secrets')}/`).replaceAll('/run/pgbackrest', join(dir, 'include-server'))], { ...serverEnv, ...(target ? { RESTORE_TARGET: target } : {}) });

/** Starts the restored server, which replays the archive to the target and promotes itself; the rows it has. */
function recoveredRows(): string {
  const started = pgCtl('data', ports.postgres, 'start', serverEnv);
  expect(started.status, readFileSync(join(dir, 'data.log'), 'utf8')).toBe(0);
  for (let i = 0; i < 100 && psql(ports.postgres, 'SELECT pg_is_in_recovery()') === 't'; i++) spawnSync('sleep', ['0.2']);
  return psql(ports.postgres, "SELECT string_agg(id::text, ',' ORDER BY id) FROM runs");
}

/** The rendered script that writes the credentials file, run with the Secrets' files moved here. */
function writeCredentials(includes: string) {
  const lines = backupScript.split('\n').filter((l) => l.startsWith('umask') || l.includes('credentials.conf'));
  expect(lines).toHaveLength(2);
  const script = lines.join('\n').replaceAll('/run/secrets/', `${join(dir, 'secrets')}/`).replaceAll('/run/pgbackrest', join(dir, includes));
  mkdirSync(join(dir, includes), { recursive: true });
  own(join(dir, includes));
  const r = asPostgres('/bin/sh', ['-c', script]);
  expect(r.status, r.stderr).toBe(0);
}

function start(name: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const log = openSync(join(dir, `${name}.log`), 'w');
  const command = postgresIds ? 'runuser' : args[0];
  const full = postgresIds ? ['-u', 'postgres', '--', 'env', ...Object.entries({ PATH: process.env.PATH ?? '', ...env }).map(([k, v]) => `${k}=${v}`), ...args] : args.slice(1);
  const child = spawn(command, full, { stdio: ['ignore', log, log], env: { ...process.env, ...env } });
  closeSync(log);
  running.push(child);
  return child;
}

function psql(port: number, sql: string): string {
  const r = asPostgres(join(bin, 'psql'), ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-h', join(dir, 'socket'), '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-c', sql]);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim();
}

function pgCtl(data: string, port: number, action: 'start' | 'stop', env: Record<string, string> = {}) {
  const options = `-p ${port} -k ${join(dir, 'socket')} -c listen_addresses=''`;
  return asPostgres(join(bin, 'pg_ctl'), ['-D', join(dir, data), '-w', '-t', '120', '-l', join(dir, `${data}.log`), ...(action === 'start' ? ['-o', options] : ['-m', 'fast']), action], env);
}

/** The archive's objects in the S3 server (the test's CA verifies it). */
function s3(method: 'GET' | 'DELETE', path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: 'localhost', port: ports.s3, method, path, ca: readFileSync(join(dir, 'ca.crt')) }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => ((res.statusCode ?? 500) < 300 ? resolve(body) : reject(new Error(`${method} ${path}: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

let serverEnv: Record<string, string>;
/** The recovery target of the first test, which the second aims at again. */
let target = '';
let backupEnv: Record<string, string>;

beforeAll(async () => {
  if (!existsSync(join(bin, 'initdb'))) throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql; run 'bash tools/install-integration.sh'");
  if (spawnSync('pgbackrest', ['version']).status !== 0) throw new Error("pgbackrest not found; run 'bash tools/install-integration.sh'");
  if (!existsSync(s3Server)) throw new Error(`${s3Server} not found; run 'bash tools/install-integration.sh'`);
  if (process.getuid?.() === 0) postgresIds = { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) };
  for (const name of ['s3', 'postgres', 'pgbackrest']) ports[name] = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'ml-platform-pg-backup-'));
  chmodSync(dir, 0o755);
  own(dir);
  mkdirSync(join(dir, 'socket'));
  own(join(dir, 'socket'));
  testCa(dir, 'ca');
  chmodSync(join(dir, 'ca.crt'), 0o644);
  issue('server', 'serverAuth');
  // The client certificate's name, the one the rendered server admits.
  const client = /^tls-server-auth=([^=]+)=main$/m.exec(configs['server.conf'])?.[1];
  expect(client).toBe('pgbackrest-backup');
  issue('client', 'clientAuth', client);
  install('server', 'server-tls');
  install('client', 'client-tls');
  // The Secrets' files: the MinIO user's keys (the test server checks no signature) and the key.
  for (const [secret, key, value] of [['minio-user-postgres', 'accessKey', 'test-only-access'], ['minio-user-postgres', 'secretKey', 'test-only-secret'], ['postgres-backup-cipher', 'passphrase', 'test-only-passphrase-0123456789abcdef']]) {
    mkdirSync(join(dir, 'secrets', secret), { recursive: true });
    writeFileSync(join(dir, 'secrets', secret, key), value);
    own(join(dir, 'secrets', secret, key));
  }
  chmodSync(join(dir, 'server.key'), 0o644);
  start('s3', [s3Server, '-listen', `127.0.0.1:${ports.s3}`, '-cert', join(dir, 'server.crt'), '-key', join(dir, 'server.key'), '-buckets', BUCKET]);

  writeCredentials('include-server');
  writeCredentials('include-backup');
  serverEnv = envOf(localConfig('server.conf', 'lock-server'), join(dir, 'include-server'));
  backupEnv = envOf(localConfig('backup.conf', 'lock-backup'), join(dir, 'include-backup'));

  const init = asPostgres(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=peer', '--no-sync']);
  expect(init.status, init.stderr).toBe(0);
  // The rendered archiving settings, as the server's arguments carry them.
  const archive: string[] = [];
  serverContainer.args.forEach((a: string, i: number) => {
    if (serverContainer.args[i - 1] === '-c' && /^archive_/.test(a)) archive.push(a);
  });
  expect(archive.map((a) => a.split('=')[0])).toEqual(['archive_mode', 'archive_command', 'archive_timeout']);
  writeFileSync(join(dir, 'data', 'postgresql.auto.conf'), archive.map((a) => `${a.slice(0, a.indexOf('='))} = '${a.slice(a.indexOf('=') + 1)}'`).join('\n') + '\n');
  own(join(dir, 'data', 'postgresql.auto.conf'));
  const started = pgCtl('data', ports.postgres, 'start', serverEnv);
  expect(started.status, `${started.stderr}${existsSync(join(dir, 'data.log')) ? readFileSync(join(dir, 'data.log'), 'utf8') : ''}`).toBe(0);

  // The sidecar's work: the stanza, then the TLS server.
  const stanza = asPostgres('pgbackrest', ['--stanza=main', 'stanza-create'], serverEnv);
  expect(stanza.status, stanza.stdout + stanza.stderr).toBe(0);
  start('pgbackrest-server', ['pgbackrest', 'server'], serverEnv);
  for (let i = 0; i < 50 && asPostgres('pgbackrest', ['server-ping', `--tls-server-address=localhost`, `--tls-server-port=${ports.pgbackrest}`], serverEnv).status !== 0; i++) await new Promise((r) => setTimeout(r, 200));
}, 180_000);

afterAll(() => {
  if (dir && existsSync(join(dir, 'data', 'postmaster.pid'))) asPostgres(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
  for (const child of running) child.kill();
  if (dir && !process.env.KEEP_TEST_FILES) rmSync(dir, { recursive: true, force: true });
});

test('the backup CronJob takes a full backup through the TLS server, and point-in-time recovery brings back exactly the rows up to the target', () => {
  psql(ports.postgres, 'CREATE TABLE runs (id int PRIMARY KEY)');
  // The CronJob's script: credentials file, full backup, info.
  const backup = asPostgres('/bin/sh', ['-c', backupScript.replaceAll('/run/secrets/', `${join(dir, 'secrets')}/`).replaceAll('/run/pgbackrest', join(dir, 'include-backup'))], backupEnv);
  expect(backup.status, backup.stdout + backup.stderr).toBe(0);
  expect(backup.stdout).toMatch(/full backup: \d{8}-\d{6}F/);
  // After the backup (pgBackRest records its stop time in whole seconds): rows 1-3, the target
  // time, rows 4-6; every segment archived.
  psql(ports.postgres, 'SELECT pg_sleep(1.1)');
  psql(ports.postgres, 'INSERT INTO runs SELECT generate_series(1, 3)');
  target = psql(ports.postgres, "SELECT to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI:SS.USOF')");
  psql(ports.postgres, 'SELECT pg_sleep(1.1)');
  psql(ports.postgres, 'INSERT INTO runs SELECT generate_series(4, 6)');
  psql(ports.postgres, 'SELECT pg_switch_wal()');
  const archived = asPostgres('pgbackrest', ['--stanza=main', 'check'], serverEnv);
  expect(archived.status, archived.stdout + archived.stderr).toBe(0);
  // The restore as docs/backup-restore.md has a person run it: server stopped, target given.
  expect(pgCtl('data', ports.postgres, 'stop').status).toBe(0);
  const untargeted = restore();
  expect(untargeted.status).not.toBe(0);
  expect(untargeted.stderr).toContain('no target: create ConfigMap postgres-restore-target with key target');
  const restored = restore(target);
  expect(restored.status, restored.stdout + restored.stderr).toBe(0);
  expect(recoveredRows()).toBe('1,2,3');
  // The promoted server archives again, on its new timeline.
  psql(ports.postgres, 'INSERT INTO runs VALUES (7)');
  psql(ports.postgres, 'SELECT pg_switch_wal()');
  const check = asPostgres('pgbackrest', ['--stanza=main', 'check'], serverEnv);
  expect(check.status, check.stdout + check.stderr).toBe(0);
  expect(pgCtl('data', ports.postgres, 'stop').status).toBe(0);
}, 180_000);

test('the repository holds only ciphertext, and a hole in the archive fails the recovery rather than stop short', async () => {
  const info = asPostgres('pgbackrest', ['--stanza=main', 'info', '--output=json'], backupEnv);
  expect(info.status, info.stderr).toBe(0);
  const [stanza] = JSON.parse(info.stdout);
  expect(stanza.cipher).toBe('aes-256-cbc');
  // The segment after the backup's last one holds rows 1-3 (its 8 first digits are the timeline,
  // the rest its place in the WAL): take it out of the bucket.
  const stop: string = stanza.backup[0].archive.stop;
  const listing = await s3('GET', `/${BUCKET}?list-type=2&prefix=postgres/archive/main/`);
  const segments = [...listing.matchAll(/<Key>([^<]*\/([0-9A-F]{24})-[0-9a-f]{40}[^<]*)<\/Key>/g)].map((m) => ({ key: m[1], name: m[2] })).sort((a, b) => a.name.localeCompare(b.name));
  const next = segments.find((s) => s.name > stop);
  expect(next, listing).toBeDefined();
  // On every timeline: the restored server's own, after its promotion, holds a copy of it.
  const hole = segments.filter((s) => s.name.slice(8) === next?.name.slice(8));
  expect(hole.length).toBe(2);
  for (const segment of hole) await s3('DELETE', `/${BUCKET}/${segment.key}`);
  // The same restore as before, to the same target.
  const restored = restore(target);
  expect(restored.status, restored.stdout + restored.stderr).toBe(0);
  // PostgreSQL stops rather than open a database without the rows of the lost segment (it may
  // accept read-only connections first, until the replay meets the hole).
  pgCtl('data', ports.postgres, 'start', serverEnv);
  for (let i = 0; i < 150 && existsSync(join(dir, 'data', 'postmaster.pid')); i++) spawnSync('sleep', ['0.2']);
  expect(existsSync(join(dir, 'data', 'postmaster.pid'))).toBe(false);
  expect(readFileSync(join(dir, 'data.log'), 'utf8')).toMatch(/FATAL: {2}recovery ended before configured recovery target was reached/);
}, 180_000);
