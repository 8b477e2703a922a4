// The rendered PostgreSQL TLS setup on a real server (Debian's package): prod's server options and
// pg_hba.conf, a certificate from a CA made here by openssl for the run, the bootstrap Job's script
// with its rendered libpq environment, and the sidecar that reloads the server on renewal.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse } from 'yaml';
import { certificateSerial, testCertificate } from './testing/certificates';
import { freePort } from './testing/free-port';

const root = join(__dirname, '..');
const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort() : [];
const bin = join('/usr/lib/postgresql', versions[versions.length - 1] ?? 'missing', 'bin');
const rendered = join(root, 'dist-manifests/prod/20-data/postgres');
const read = (prefix: string) => parse(readFileSync(join(rendered, readdirSync(rendered).find((f) => f.startsWith(prefix)) as string), 'utf8'));
const sts = read('statefulset-postgres');
const containers = Object.fromEntries(sts.spec.template.spec.containers.map((c: { name: string }) => [c.name, c]));
const job = read('job-postgres-bootstrap-');
const hba: string = read('configmap-postgres-hba').data['pg_hba.conf'];
const superuserPassword = 'test-only-superuser-password';
let dir: string;
let port: number;
let postgresIds: { uid: number; gid: number } | undefined;

const asPostgres = (cmd: string, args: string[], env?: NodeJS.ProcessEnv) =>
  postgresIds ? spawnSync('runuser', ['-u', 'postgres', '--', 'env', ...Object.entries(env ?? {}).map(([k, v]) => `${k}=${v}`), cmd, ...args], { encoding: 'utf8' }) : spawnSync(cmd, args, { encoding: 'utf8', env });
const own = (path: string) => postgresIds && chownSync(path, postgresIds.uid, postgresIds.gid);
/** The rendered paths, moved into the test's folder. */
const local = (text: string) => text.replaceAll('/etc/postgresql/tls', join(dir, 'tls')).replaceAll('/etc/postgresql/hba', join(dir, 'hba')).replaceAll('/var/run/postgresql', join(dir, 'socket')).replaceAll('/run/heartbeat', join(dir, 'heartbeat'));

/** A CA (made once) and a server certificate `server` from it, for localhost and 127.0.0.1. */
const issue = (ca: string, server: string) => testCertificate(dir, ca, server, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], commonName: 'postgres' });

/**
 * Installs `server`'s certificate as the pod's Secret volume has it: tls.crt, tls.key and ca.crt,
 * owned by root and readable by the postgres group (fsGroup) alone, mode 0440. Without root: the
 * postgres user's own files, the key 0600.
 */
function install(server: string, ca: string) {
  for (const [from, to] of [[`${server}.crt`, 'tls.crt'], [`${server}.key`, 'tls.key'], [`${ca}.crt`, 'ca.crt']]) {
    const target = join(dir, 'tls', to);
    copyFileSync(join(dir, from), target);
    if (postgresIds) {
      chownSync(target, 0, postgresIds.gid);
      chmodSync(target, 0o440);
    } else chmodSync(target, to === 'tls.key' ? 0o600 : 0o644);
  }
}

/** A TCP connection from a client with `env` (libpq's environment) to the server. */
function connect(env: Record<string, string>, sql = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()') {
  return spawnSync(join(bin, 'psql'), ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, PGHOST: 'localhost', PGPORT: String(port), PGUSER: 'postgres', PGPASSWORD: superuserPassword, PGDATABASE: 'postgres', ...env },
  });
}

/** The libpq environment the bootstrap Job renders, with the CA where this test keeps it. */
const renderedTls = () => {
  const env = Object.fromEntries(job.spec.template.spec.containers[0].env.filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]));
  return { PGSSLMODE: env.PGSSLMODE, PGSSLROOTCERT: env.PGSSLROOTCERT.replace('/etc/platform/internal-ca', join(dir, 'tls')) };
};

beforeAll(async () => {
  if (!existsSync(join(bin, 'initdb'))) throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql; run 'bash tools/install-integration.sh'");
  port = await freePort();
  if (process.getuid?.() === 0) postgresIds = { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) };
  dir = mkdtempSync(join(tmpdir(), 'ml-platform-pg-tls-'));
  chmodSync(dir, 0o755);
  for (const sub of ['tls', 'hba', 'socket', 'heartbeat']) {
    mkdirSync(join(dir, sub));
    own(join(dir, sub));
  }
  own(dir);
  writeFileSync(join(dir, 'hba', 'pg_hba.conf'), hba);
  writeFileSync(join(dir, 'pw'), superuserPassword);
  own(join(dir, 'pw'));
  issue('platform-ca', 'server');
  install('server', 'platform-ca');
  const init = asPostgres(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${join(dir, 'pw')}`, '--no-sync']);
  expect(init.status, init.stderr).toBe(0);
  // The server's options exactly as rendered (after `postgres`), on this test's port and socket;
  // but the WAL archiving, which tools/postgres-backup.integration-test.ts runs with pgBackRest.
  const args: string[] = containers.postgres.args.slice(1);
  const options = args.filter((a, i) => !a.startsWith('archive_') && !(a === '-c' && args[i + 1]?.startsWith('archive_'))).map(local);
  const started = asPostgres(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-w', '-l', join(dir, 'log'), '-o', [...options, '-p', String(port), '-k', join(dir, 'socket'), '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'].join(' '), 'start']);
  expect(started.status, `${started.stderr}\n${existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : ''}`).toBe(0);
});

afterAll(() => {
  if (dir && existsSync(join(dir, 'data', 'postmaster.pid'))) asPostgres(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a client with the rendered libpq environment connects over TLS, verifying the server and its name', () => {
  const env = renderedTls();
  expect(env.PGSSLMODE).toBe('verify-full');
  const r = connect(env);
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('t');
});

test('the bootstrap Job, as rendered, runs over TLS', () => {
  const script: string = job.spec.template.spec.containers[0].command[2];
  // Each role's password where the Job mounts its Secret, moved under the test's folder.
  for (const m of script.matchAll(/'\/run\/secrets\/([a-z0-9-]+)\/password'/g)) {
    mkdirSync(join(dir, 'secrets', m[1]), { recursive: true });
    writeFileSync(join(dir, 'secrets', m[1], 'password'), `test-only-${m[1]}`);
  }
  const r = spawnSync('/bin/sh', ['-c', script.replaceAll("'/run/secrets/", `'${join(dir, 'secrets')}/`)], {
    encoding: 'utf8',
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, PGHOST: 'localhost', PGPORT: String(port), PGUSER: 'postgres', PGDATABASE: 'postgres', PGPASSWORD: superuserPassword, ...renderedTls() },
  });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain('roles ready:');
});

test('pg_hba refuses a plain-text connection, even over loopback', () => {
  const r = connect({ PGSSLMODE: 'disable', PGHOST: '127.0.0.1' });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/no pg_hba\.conf entry for host "127\.0\.0\.1", user "postgres", database "postgres", no encryption/);
});

test('a client refuses a server whose certificate another CA signed, or that answers for another name', () => {
  issue('other-ca', 'other');
  const otherCa = connect({ ...renderedTls(), PGSSLROOTCERT: join(dir, 'other-ca.crt') });
  expect(otherCa.status).not.toBe(0);
  expect(otherCa.stderr).toMatch(/certificate verify failed/);
  const otherName = connect({ ...renderedTls(), PGHOST: 'postgres.elsewhere.svc', PGHOSTADDR: '127.0.0.1' });
  expect(otherName.status).not.toBe(0);
  expect(otherName.stderr).toMatch(/server certificate for "localhost" \(and \d+ other names?\) does not match host name "postgres\.elsewhere\.svc"/);
});

test('the sidecar reloads the server when the certificate is renewed, and the server then presents the new one', () => {
  issue('platform-ca', 'renewed');
  const serial = () => execFileSync('sh', ['-c', `openssl s_client -starttls postgres -connect 127.0.0.1:${port} </dev/null 2>/dev/null | openssl x509 -noout -serial`], { encoding: 'utf8' }).trim();
  const before = serial();
  expect(before).toBe(certificateSerial(join(dir, 'server.crt')));
  // The loop as rendered; its first sleep is cert-manager writing the renewed Secret, its second ends the run.
  const shims = join(dir, 'shims');
  mkdirSync(shims, { recursive: true });
  // Replaced by rename, as the kubelet swaps a Secret volume's files; the key stays private to the server.
  const swap = (from: string, to: string, mode: string) => `install -m ${mode} ${dir}/${from} ${dir}/tls/.${to} && mv -f ${dir}/tls/.${to} ${dir}/tls/${to}`;
  writeFileSync(join(shims, 'sleep'), `#!/bin/sh\nset -e\nif [ -e ${dir}/heartbeat/slept ]; then exit 3; fi\ntouch ${dir}/heartbeat/slept\n${swap('renewed.crt', 'tls.crt', '0644')}\n${swap('renewed.key', 'tls.key', '0600')}\n`);
  chmodSync(join(shims, 'sleep'), 0o755);
  chmodSync(join(dir, 'renewed.key'), 0o444);
  const reload = asPostgres('/bin/sh', ['-c', local(containers['reload-on-renewal'].command[2])], { PATH: `${shims}:${bin}:/usr/bin:/bin`, PGCONNECT_TIMEOUT: '10', PGPORT: String(port) });
  expect(reload.status, reload.stderr).toBe(3);
  expect(reload.stdout, reload.stderr).toContain('certificate renewed: configuration reloaded');
  expect(existsSync(join(dir, 'heartbeat', 'alive'))).toBe(true);
  const after = serial();
  expect(after).not.toBe(before);
  expect(after).toBe(certificateSerial(join(dir, 'renewed.crt')));
});
