// JupyterHub's in-cluster TLS, run with the real programs: the hub (JupyterHub of the hub image,
// from checks/jupyterhub) and configurable-http-proxy 5.2.0 (npm) bound to loopback as rendered,
// each behind its rendered TLS sidecar config run by nginx (Debian's, with its stream module),
// certificates from a CA made here by openssl. People's requests arrive as the gateway sends
// them: on the proxy sidecar's public port, verified by the name the rendered BackendTLSPolicy
// gives. The hub drives the proxy's API through both
// sidecars, the proxy reaches the hub with the rendered --client-ssl-ca, a notebook server's
// HubAuth reaches the hub API with the rendered JUPYTERHUB_SSL_CLIENT_CA; a certificate from
// another CA is refused on each hop, and a renewed certificate is served without a reload.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse } from 'yaml';
import { testCertificate } from './testing/certificates';
import { freePort } from './testing/free-port';
import { requireStreamModule, TestPrograms } from './testing/sidecar-run';
import { hubChecker } from './validate/jupyterhub';

const root = join(__dirname, '..');
const rendered = join(root, 'dist-manifests/stage/30-apps/jupyterhub');
const read = (file: string) => parse(readFileSync(join(rendered, file), 'utf8'));
const hubSidecarConf: string = read('configmap-hub-tls-sidecar.yaml').data['nginx.conf'];
const proxySidecarConf: string = read('configmap-proxy-tls-sidecar.yaml').data['nginx.conf'];
const hubConfig: string = read('configmap-hub-config.yaml').data['jupyterhub_config.py'];
const chpArgs: string[] = read('deployment-proxy.yaml').spec.template.spec.containers.find((c: { name: string }) => c.name === 'chp').args;
const chp = join(root, 'node_modules/configurable-http-proxy/bin/configurable-http-proxy');
const TOKEN = 'test-only-proxy-token';
const SERVICE_TOKEN = 'test-only-service-token';
const HUB_NAME = 'hub.jupyterhub.svc.cluster.local';
const PROXY_API_NAME = 'proxy-api.jupyterhub.svc.cluster.local';
/** The name the gateway verifies the proxy's public port by, and the names its certificate holds. */
const PROXY_PUBLIC_NAME: string = read('backendtlspolicy-proxy-public.yaml').spec.validation.hostname;
const proxyCertificateNames: string[] = read('certificate-proxy-api-tls.yaml').spec.dnsNames;

let dir: string;
let python: string;
const ports: Record<string, number> = {};
let programs: TestPrograms;

/** A rendered setting of jupyterhub_config.py, as its literal. */
const setting = (key: string) => {
  const m = new RegExp(`^c\\.${key.replace('.', '\\.')} = (.*)$`, 'm').exec(hubConfig);
  if (!m) throw new Error(`jupyterhub_config.py sets no c.${key}`);
  return JSON.parse(m[1]);
};

/** A CA named `ca` (made once) and a certificate `name` from it for `dnsNames`. */
const issue = (ca: string, name: string, dnsNames: string[]) => testCertificate(dir, ca, name, { dnsNames });

const logOf = (name: string) => programs.logOf(name);

/** A sidecar's rendered nginx.conf, run here with its paths and ports moved into the test. */
async function startSidecar(name: string, conf: string, replacements: [string, string][]) {
  programs.writeSidecarConfig(name, conf, replacements);
  await programs.startSidecar(name);
}

/** Another server on a sidecar's address with `certificate`, as with an impostor. */
async function impostor(name: string, certificate: string) {
  programs.installCertificate(certificate, name);
  await programs.startSidecar(name);
}

/** The serial of the certificate served on `port`, verified against the internal CA for `name`. */
function servedSerial(port: number, name: string, ca = 'internal-ca'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: name, ca: readFileSync(join(dir, `${ca}.crt`)) }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.on('error', reject);
  });
}

/** The proxy's routes, read on its loopback API through the hub pod's sidecar (TLS on the way). */
async function routesThroughHubSidecar(): Promise<Record<string, { target: string }>> {
  const r = await fetch(`http://127.0.0.1:${ports.hubToProxyApi}/api/routes`, { headers: { Authorization: `token ${TOKEN}` }, signal: AbortSignal.timeout(5000) });
  if (!r.ok) throw new Error(`proxy API: ${r.status}`);
  return (await r.json()) as Record<string, { target: string }>;
}

/**
 * A person's request for the hub API as the gateway passes it on: TLS to the proxy sidecar's
 * public port, verified against the internal CA for the rendered BackendTLSPolicy's hostname.
 */
function hubApiThroughProxy(): Promise<{ status: number; json: () => unknown }> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port: ports.proxyPublicTls, path: '/hub/api/', servername: PROXY_PUBLIC_NAME, ca: readFileSync(join(dir, 'internal-ca.crt')), timeout: 10_000, agent: false };
    const req = request(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: () => JSON.parse(body) }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** A notebook server's call: HubAuth, as jupyterhub-singleuser makes it, with `env`. */
function hubAuthWhoami(env: Record<string, string>) {
  const script = [
    'import asyncio, json, os',
    'from jupyterhub.services.auth import HubAuth',
    'auth = HubAuth(api_token=os.environ["JUPYTERHUB_API_TOKEN"])',
    'print(json.dumps(asyncio.run(auth.user_for_token(os.environ["JUPYTERHUB_API_TOKEN"], sync=False))))',
  ].join('\n');
  return spawnSync(python, ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH, JUPYTERHUB_API_TOKEN: SERVICE_TOKEN, ...env } });
}

beforeAll(async () => {
  requireStreamModule();
  python = (await hubChecker(root)).python;
  dir = mkdtempSync(join(tmpdir(), 'ml-platform-hub-tls-'));
  chmodSync(dir, 0o755);
  programs = new TestPrograms(dir, ['hub-sidecar', 'proxy-sidecar', 'chp', 'hub']);
  for (const name of ['hubPlain', 'hubTls', 'hubToProxyApi', 'proxyApiTls', 'proxyPublic', 'proxyPublicTls', 'proxyApiPlain', 'proxyMetrics', 'service']) ports[name] = await freePort();
  // The hub's certificate also names localhost: the proxy reaches it here by that name.
  issue('internal-ca', 'hub', [HUB_NAME, 'localhost']);
  // The proxy's, the names its rendered Certificate holds: the API's and the public port's.
  expect(proxyCertificateNames).toEqual(expect.arrayContaining([PROXY_API_NAME, PROXY_PUBLIC_NAME]));
  issue('internal-ca', 'proxy-api', [PROXY_API_NAME, PROXY_PUBLIC_NAME]);
  programs.installCertificate('hub', 'hub');
  programs.installCertificate('proxy-api', 'proxy');

  // As rendered: the hub on loopback 8081, the proxy API it drives on its sidecar's loopback 8001.
  expect(setting('JupyterHub.hub_bind_url')).toBe('http://127.0.0.1:8081');
  expect(setting('ConfigurableHTTPProxy.api_url')).toBe('http://127.0.0.1:8001');
  expect(setting('JupyterHub.hub_connect_url')).toBe(`https://${HUB_NAME}:8081`);
  await startSidecar('hub', hubSidecarConf, [
    ['/etc/platform/internal-ca/ca.crt', join(dir, 'internal-ca.crt')],
    ['listen 8443 ssl', `listen 127.0.0.1:${ports.hubTls} ssl`],
    ['proxy_pass 127.0.0.1:8081;', `proxy_pass 127.0.0.1:${ports.hubPlain};`],
    ['listen 127.0.0.1:8001;', `listen 127.0.0.1:${ports.hubToProxyApi};`],
    // The Service's address; the name nginx verifies (proxy_ssl_name) stays the rendered one.
    [`proxy_pass ${PROXY_API_NAME}:8001;`, `proxy_pass 127.0.0.1:${ports.proxyApiTls};`],
  ]);
  await startSidecar('proxy', proxySidecarConf, [
    ['listen 8443 ssl', `listen 127.0.0.1:${ports.proxyApiTls} ssl`],
    ['proxy_pass 127.0.0.1:8001;', `proxy_pass 127.0.0.1:${ports.proxyApiPlain};`],
    ['listen 8444 ssl', `listen 127.0.0.1:${ports.proxyPublicTls} ssl`],
    ['proxy_pass 127.0.0.1:8000;', `proxy_pass 127.0.0.1:${ports.proxyPublic};`],
  ]);

  // configurable-http-proxy with the rendered arguments; ports moved, the hub reached as localhost.
  const chpLocal = chpArgs.map((a) => {
    const [flag, value] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
    const moved: Record<string, string> = {
      '--ip': '127.0.0.1',
      '--port': String(ports.proxyPublic),
      '--api-port': String(ports.proxyApiPlain),
      '--metrics-ip': '127.0.0.1',
      '--metrics-port': String(ports.proxyMetrics),
      '--default-target': value.replace(`${HUB_NAME}:8081`, `localhost:${ports.hubTls}`),
      '--error-target': value.replace(`${HUB_NAME}:8081`, `localhost:${ports.hubTls}`),
      '--client-ssl-ca': value.replace('/etc/platform/internal-ca/ca.crt', join(dir, 'internal-ca.crt')),
    };
    return flag in moved ? `${flag}=${moved[flag]}` : a;
  });
  // Both of the proxy's ports for people and the hub are on loopback, behind the sidecar.
  expect(chpArgs).toEqual(expect.arrayContaining(['--ip=127.0.0.1', '--api-ip=127.0.0.1']));
  programs.start('chp', process.execPath, [chp, ...chpLocal], { CONFIGPROXY_AUTH_TOKEN: TOKEN });

  // The hub: the rendered addresses on this test's ports; sign-in, spawner and database are
  // the test's own (the rendered ones need GitLab, Kubernetes and PostgreSQL).
  writeFileSync(
    join(dir, 'jupyterhub_config.py'),
    [
      'c = get_config()  # noqa: F821',
      `c.JupyterHub.hub_bind_url = "http://127.0.0.1:${ports.hubPlain}"`,
      `c.JupyterHub.hub_connect_url = "https://localhost:${ports.hubTls}"`,
      'c.ConfigurableHTTPProxy.should_start = False',
      `c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:${ports.hubToProxyApi}"`,
      `c.JupyterHub.db_url = "sqlite:///${join(dir, 'hub.sqlite')}"`,
      `c.JupyterHub.cookie_secret_file = "${join(dir, 'cookie-secret')}"`,
      'c.JupyterHub.authenticator_class = "dummy"',
      // A service with an address: the hub adds its route to the proxy at start, over the API.
      `c.JupyterHub.services = [{"name": "probe", "api_token": "${SERVICE_TOKEN}", "url": "http://127.0.0.1:${ports.service}"}]`,
    ].join('\n'),
  );
  programs.start('hub', join(python, '..', 'jupyterhub'), ['-f', join(dir, 'jupyterhub_config.py')], { CONFIGPROXY_AUTH_TOKEN: TOKEN });
  await programs.until('the hub to add its service route to the proxy', async () => ((await routesThroughHubSidecar())['/services/probe'] ? true : undefined));
}, 180_000);

afterAll(() => {
  programs?.stopAll();
  if (dir && !process.env.KEEP_TEST_FILES) rmSync(dir, { recursive: true, force: true });
});

test('the hub drives the proxy API over TLS, and the proxy routes people to the hub over TLS', async () => {
  // The hub added its service's route through its sidecar, TLS, the proxy's sidecar, the loopback API.
  const routes = await routesThroughHubSidecar();
  expect(routes['/services/probe']).toMatchObject({ target: `http://127.0.0.1:${ports.service}`, service: 'probe' });
  expect(routes['/'].target).toBe(`https://localhost:${ports.hubTls}`);
  // A person's request: TLS to the proxy's public port as the gateway sends it, then the hub
  // over TLS verified against the CA.
  const r = await hubApiThroughProxy();
  expect(r.status).toBe(200);
  expect(((await r.json()) as { version: string }).version).toBe('5.5.0');
  // The hub's port serves the certificate for its Service name.
  expect(await servedSerial(ports.hubTls, HUB_NAME)).toMatch(/^[0-9A-F]+$/);
}, 60_000);

test('a notebook server reaches the hub API over TLS with the rendered CA setting, and not without the right CA', () => {
  const caVariable = /"JUPYTERHUB_SSL_CLIENT_CA": "([^"]+)"/.exec(hubConfig)?.[1];
  expect(caVariable).toBe('/etc/platform/internal-ca/ca.crt');
  const api = { JUPYTERHUB_API_URL: `https://localhost:${ports.hubTls}/hub/api` };
  const ok = hubAuthWhoami({ ...api, JUPYTERHUB_SSL_CLIENT_CA: join(dir, 'internal-ca.crt') });
  expect(ok.status, ok.stderr).toBe(0);
  expect(JSON.parse(ok.stdout)).toMatchObject({ kind: 'service', name: 'probe' });
  issue('other-ca', 'unused', ['localhost']);
  const refused = hubAuthWhoami({ ...api, JUPYTERHUB_SSL_CLIENT_CA: join(dir, 'other-ca.crt') });
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toMatch(/CERTIFICATE_VERIFY_FAILED/);
}, 60_000);

test('a renewed certificate is served at the next connection, without a reload', async () => {
  const before = await servedSerial(ports.hubTls, HUB_NAME);
  issue('internal-ca', 'hub-renewed', [HUB_NAME, 'localhost']);
  programs.installCertificate('hub-renewed', 'hub');
  const after = await servedSerial(ports.hubTls, HUB_NAME);
  expect(after).not.toBe(before);
  expect(logOf('hub-sidecar')).not.toMatch(/reconfiguring/);
  // The proxy still reaches the hub, with the new certificate.
  expect((await hubApiThroughProxy()).status).toBe(200);
}, 60_000);

test('each hop refuses a server whose certificate is not from the internal CA', async () => {
  issue('rogue-ca', 'rogue', [HUB_NAME, PROXY_API_NAME, 'localhost']);
  // An impostor of the proxy API: the hub's sidecar drops the connection, and says why.
  await impostor('proxy', 'rogue');
  await expect(routesThroughHubSidecar()).rejects.toThrow();
  expect(logOf('hub-sidecar')).toMatch(/upstream SSL certificate verify error/);
  await impostor('proxy', 'proxy-api');
  expect(Object.keys(await routesThroughHubSidecar())).toContain('/services/probe');
  // An impostor of the hub: the proxy answers with an error, not with the impostor's page.
  await impostor('hub', 'rogue');
  const refused = await hubApiThroughProxy();
  expect(refused.status).toBeGreaterThanOrEqual(500);
  expect(logOf('chp')).toMatch(/unable to verify the first certificate/);
  await impostor('hub', 'hub');
  expect((await hubApiThroughProxy()).status).toBe(200);
}, 60_000);
