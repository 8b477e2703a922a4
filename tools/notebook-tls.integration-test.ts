// The hop to the notebook servers, run with the real programs as stage renders it:
// configurable-http-proxy 5.2.0 (npm) with its rendered arguments, a notebook pod's rendered TLS
// sidecar config run by nginx (Debian's, with its stream module), and the hub's check of a new
// server: JupyterHub 5.5's own wait_for_http_server, with pycurl as in the hub image and with
// Python's client, in the trust store the hub's rendered init container writes. The server's
// URL comes from the rendered get_pod_url hook, run by KubeSpawner (checks/jupyterhub); its name
// resolves to loopback through an /etc/hosts of the test's, bound in a mount namespace of each
// client (unshare, as root), as cluster DNS resolves it; the trust store is bound over
// /etc/ssl/certs the same way, as the hub's volume is mounted. The certificate holds the names
// of the rendered Certificate, from a CA made here. A stand-in on loopback plays the server.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse } from 'yaml';
import { testCa, testCertificate } from './testing/certificates';
import { freePort } from './testing/free-port';
import { requireStreamModule, TestPrograms } from './testing/sidecar-run';
import { hubChecker } from './validate/jupyterhub';

const root = join(__dirname, '..');
const stage = join(root, 'dist-manifests/stage/30-apps');
const read = (file: string) => parse(readFileSync(join(stage, file), 'utf8'));
const sidecarConf: string = read('jupyterhub-users/configmap-notebook-tls-sidecar.yaml').data['nginx.conf'];
const certificateNames: string[] = read('jupyterhub-users/certificate-notebook-tls.yaml').spec.dnsNames;
const hubConfig: string = read('jupyterhub/configmap-hub-config.yaml').data['jupyterhub_config.py'];
const hubPod = read('jupyterhub/deployment-hub.yaml').spec.template.spec;
const chpArgs: string[] = read('jupyterhub/deployment-proxy.yaml').spec.template.spec.containers.find((c: { name: string }) => c.name === 'chp').args;
const chp = join(root, 'node_modules/configurable-http-proxy/bin/configurable-http-proxy');
const INTERNAL_CA = '/etc/platform/internal-ca/ca.crt';
const TOKEN = 'test-only-proxy-token';
const USER_PATH = '/user/jane.doe/';

let dir: string;
let python: string;
/** The server's URL as KubeSpawner gives it, its port moved to the test sidecar's. */
let serverUrl: URL;
const ports: Record<string, number> = {};
let programs: TestPrograms;
let standIn: Server;

/** `command` in a mount namespace of its own where each `[file or directory, over]` is bound. */
function inNamespace(binds: [string, string][], command: string[]): string[] {
  const mounts = binds.map(([from, over]) => `mount --bind '${from}' '${over}'`).join(' && ');
  return ['unshare', '--mount', 'sh', '-c', `${mounts} && exec "$@"`, 'in-namespace', ...command];
}

/** The sidecar (re)started with certificate `name` from `ca`, for the rendered Certificate's names. */
async function startSidecar(ca: string, name: string) {
  testCertificate(dir, ca, name, { dnsNames: certificateNames });
  programs.installCertificate(name, 'notebook');
  await programs.startSidecar('notebook');
}

/** A person's request for their server, as it reaches the proxy's port. */
async function throughProxy(): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${ports.chpPublic}${USER_PATH}api`, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, body: await r.text() };
}

/**
 * The hub's check of a new server (User._wait_up: wait_for_http_server on the server's URL plus
 * `api`), after JupyterHub's own start-up choice of HTTP client; `simple` then swaps in Python's.
 */
function hubWaitsForServer(client: 'curl' | 'simple', trustStore: boolean) {
  const script = [
    'import asyncio, logging, sys',
    // libcurl's own account of each attempt (tornado turns it on for a debug logger): the reason a check fails.
    'logging.basicConfig(format="%(name)s: %(message)s")',
    'logging.getLogger("tornado.curl_httpclient").setLevel(logging.DEBUG)',
    'from jupyterhub.app import JupyterHub',
    'from jupyterhub.utils import wait_for_http_server',
    'from tornado.httpclient import AsyncHTTPClient',
    'JupyterHub().init_pycurl()',
    'if sys.argv[2] == "simple":',
    '    AsyncHTTPClient.configure(None)',
    'print(AsyncHTTPClient.configured_class().__name__, flush=True)',
    'asyncio.run(wait_for_http_server(sys.argv[1], timeout=4))',
    'print("up", flush=True)',
  ].join('\n');
  const binds: [string, string][] = [[join(dir, 'hosts'), '/etc/hosts'], ...(trustStore ? [[join(dir, 'system-trust'), '/etc/ssl/certs'] as [string, string]] : [])];
  const [command, ...args] = inNamespace(binds, [python, '-c', script, `${serverUrl.origin}${USER_PATH}api`, client]);
  // Asynchronous: the stand-in server answers from this process's event loop.
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

beforeAll(async () => {
  requireStreamModule();
  const probe = spawnSync('unshare', ['--mount', 'true'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`this test binds files in a mount namespace and needs root (unshare --mount): ${probe.stderr.trim()}`);
  python = (await hubChecker(root)).python;
  dir = mkdtempSync(join(tmpdir(), 'ml-platform-notebook-tls-'));
  chmodSync(dir, 0o755);
  programs = new TestPrograms(dir, ['notebook-sidecar', 'chp']);
  for (const name of ['server', 'sidecar', 'chpPublic', 'chpApi']) ports[name] = await freePort();

  // The server's URL from the rendered hook, as KubeSpawner computes it for a person's pod.
  writeFileSync(join(dir, 'jupyterhub_config.py'), hubConfig);
  const checked = spawnSync(python, ['-m', 'jupyterhub_check', 'jupyterhub_config.py'], { cwd: dir, encoding: 'utf8' });
  const spawned: { url: string }[] = JSON.parse(checked.stdout.split('\n').find((l) => l.startsWith('{"problems":')) ?? '{}').spawned ?? [];
  expect(spawned.length, checked.stderr).toBeGreaterThan(0);
  serverUrl = new URL(spawned[0].url);
  expect(serverUrl.protocol).toBe('https:');
  expect(serverUrl.port).toBe('8443');
  serverUrl.port = String(ports.sidecar);
  writeFileSync(join(dir, 'hosts'), `${readFileSync('/etc/hosts', 'utf8')}\n127.0.0.1 ${serverUrl.hostname}\n`);

  // The hub's trust store, written by the rendered init container's command (its paths moved).
  mkdirSync(join(dir, 'system-trust'));
  const [initContainer] = hubPod.initContainers;
  const init: string = initContainer.command[2];
  expect(init).toContain(INTERNAL_CA);
  expect(hubPod.containers[0].volumeMounts).toContainEqual({ name: 'system-trust', mountPath: '/etc/ssl/certs', readOnly: true });
  testCa(dir, 'internal-ca');
  const written = spawnSync('sh', ['-c', init.replace(INTERNAL_CA, join(dir, 'internal-ca.crt')).replace('/run/system-trust', join(dir, 'system-trust'))], { encoding: 'utf8' });
  expect(written.status, written.stderr).toBe(0);

  standIn = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ server: 'stand-in', path: req.url })));
  await new Promise<void>((r) => standIn.listen(ports.server, '127.0.0.1', r));
  programs.writeSidecarConfig('notebook', sidecarConf, [
    ['listen 8443 ssl', `listen 127.0.0.1:${ports.sidecar} ssl`],
    ['proxy_pass 127.0.0.1:8888;', `proxy_pass 127.0.0.1:${ports.server};`],
  ]);
  await startSidecar('internal-ca', 'notebook');

  // The proxy with its rendered arguments, ports moved; it resolves the server's name as cluster DNS would.
  const moved: Record<string, string> = { '--ip': '127.0.0.1', '--port': String(ports.chpPublic), '--api-ip': '127.0.0.1', '--api-port': String(ports.chpApi), '--metrics-port': String(await freePort()), '--client-ssl-ca': join(dir, 'internal-ca.crt') };
  expect(chpArgs).toContain(`--client-ssl-ca=${INTERNAL_CA}`);
  const args = chpArgs.map((a) => {
    const flag = a.slice(0, a.indexOf('='));
    return flag in moved ? `${flag}=${moved[flag]}` : a;
  });
  const [command, ...rest] = inNamespace([[join(dir, 'hosts'), '/etc/hosts']], [process.execPath, chp, ...args]);
  programs.start('chp', command, rest, { CONFIGPROXY_AUTH_TOKEN: TOKEN });
  // The route the hub adds once the server is up: the user's path to the URL KubeSpawner gave.
  await programs.until('the proxy to take the server route', async () => {
    const r = await fetch(`http://127.0.0.1:${ports.chpApi}/api/routes${USER_PATH.slice(0, -1)}`, {
      method: 'POST',
      headers: { Authorization: `token ${TOKEN}` },
      body: JSON.stringify({ target: serverUrl.origin, user: 'jane.doe' }),
    });
    return r.status === 201 ? true : undefined;
  });
}, 180_000);

afterAll(() => {
  programs?.stopAll();
  standIn?.close();
  if (dir && !process.env.KEEP_TEST_FILES) rmSync(dir, { recursive: true, force: true });
});

test('the proxy reaches a person\'s server over TLS, verified by the name of its pod', async () => {
  const r = await throughProxy();
  expect(r.status, programs.logOf('chp')).toBe(200);
  expect(JSON.parse(r.body)).toEqual({ server: 'stand-in', path: `${USER_PATH}api` });
  // What the proxy verified: the sidecar's certificate, for the pod's name, from the internal CA.
  const served = await new Promise<{ authorized: boolean; names: string | undefined }>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: ports.sidecar, servername: serverUrl.hostname, ca: readFileSync(join(dir, 'internal-ca.crt')) }, () => {
      resolve({ authorized: socket.authorized, names: socket.getPeerCertificate().subjectaltname });
      socket.end();
    });
    socket.on('error', reject);
  });
  expect(served).toEqual({ authorized: true, names: certificateNames.map((n) => `DNS:${n}`).join(', ') });
}, 60_000);

test('the hub\'s check of a new server trusts the internal CA through its trust store, with pycurl and with Python\'s client', async () => {
  for (const [client, expected] of [['curl', 'CurlAsyncHTTPClient'], ['simple', 'SimpleAsyncHTTPClient']] as const) {
    const up = await hubWaitsForServer(client, true);
    expect(up.stdout, up.stderr).toBe(`${expected}\nup\n`);
  }
  // The store is what makes it trust the server: without it, the check never sees the server up.
  const untrusted = await hubWaitsForServer('curl', false);
  expect(untrusted.status).not.toBe(0);
  expect(untrusted.stdout).toBe('CurlAsyncHTTPClient\n');
  expect(untrusted.stderr).toMatch(/SSL certificate OpenSSL verify result: unable to get local issuer certificate/);
}, 120_000);

test('a server whose certificate is not from the internal CA is refused by the proxy and by the hub\'s check', async () => {
  await startSidecar('rogue-ca', 'rogue');
  const refused = await throughProxy();
  expect(refused.status).toBeGreaterThanOrEqual(500);
  expect(refused.body).not.toContain('stand-in');
  expect(programs.logOf('chp')).toMatch(/unable to verify the first certificate/);
  const check = await hubWaitsForServer('curl', true);
  expect(check.status).not.toBe(0);
  expect(check.stderr).toMatch(/SSL certificate OpenSSL verify result: unable to get local issuer certificate/);
  await startSidecar('internal-ca', 'notebook');
  expect((await throughProxy()).status).toBe(200);
}, 120_000);
