// The home page as prod renders it, served by the rendered nginx.conf with a real nginx (Debian's;
// the image runs nginx.org's 1.28, the same configuration language): the page and its
// stylesheet with the rendered headers, the probe path, nothing but GET. And every tool the page
// links to is a host the cluster routes.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { freePort } from './testing/free-port';

const root = join(__dirname, '..');
const rendered = join(root, 'dist-manifests/prod');
const read = (file: string) => parse(readFileSync(join(rendered, file), 'utf8'));
const site: Record<string, string> = read('30-apps/home/configmap-home-site.yaml').data;
const serverConf: string = read('30-apps/home/configmap-home-server.yaml').data['nginx.conf'];
const container = read('30-apps/home/deployment-home.yaml').spec.template.spec.containers[0];

let dir: string;
let port: number;
let nginx: ChildProcess;

const get = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${port}${path}`, { ...init, signal: AbortSignal.timeout(5000) });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ml-platform-home-'));
  chmodSync(dir, 0o755);
  port = await freePort();
  const siteDir = join(dir, 'site');
  const runDir = join(dir, 'run');
  mkdirSync(siteDir);
  mkdirSync(runDir);
  for (const [name, text] of Object.entries(site)) writeFileSync(join(siteDir, name), text);
  // The mount paths and the port as the pod has them, moved into the test.
  const [, configDir] = /-c (\S+)\/nginx\.conf$/.exec(container.args.join(' ')) ?? [];
  expect(configDir).toBe('/etc/platform/home-server');
  let conf = serverConf;
  for (const [from, to] of [
    ['listen 8080;', `listen 127.0.0.1:${port};`],
    ['root /srv/home;', `root ${siteDir};`],
    // The pid file and nginx's temporary paths, in the pod's writable /tmp.
    ['pid /tmp/nginx.pid;', `pid ${runDir}/nginx.pid;`],
  ]) {
    if (!conf.includes(from)) throw new Error(`the rendered nginx.conf has no '${from}'`);
    conf = conf.replace(from, to);
  }
  conf = conf.replace(/_temp_path \/tmp\//g, `_temp_path ${runDir}/`);
  // Nothing is left pointing at the machine's own /tmp.
  expect(conf.replaceAll(dir, '<test>').split('\n').filter((l) => l.includes(' /tmp/'))).toEqual([]);
  writeFileSync(join(dir, 'nginx.conf'), conf);
  // nginx opens /dev/stdout for its access log, which a socket (Node's pipes) cannot be reopened as.
  const check = spawnSync('nginx', ['-t', '-e', 'stderr', '-c', join(dir, 'nginx.conf')], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  expect(check.status, check.stderr).toBe(0);
  const log = openSync(join(dir, 'nginx.log'), 'w');
  nginx = spawn('nginx', ['-e', 'stderr', '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', log, log] });
  closeSync(log);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await get('/healthz').then((r) => r.ok).catch(() => false);
    if (up) break;
    if (Date.now() > deadline) throw new Error(`nginx did not start:\n${readFileSync(join(dir, 'nginx.log'), 'utf8')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(() => {
  nginx?.kill();
  if (dir && !process.env.KEEP_TEST_FILES) rmSync(dir, { recursive: true, force: true });
});

test('serves the rendered page and stylesheet with headers that allow no script and no framing', async () => {
  const page = await get('/');
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(await page.text()).toBe(site['index.html']);
  expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
  expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  expect(page.headers.get('cache-control')).toBe('no-cache');
  expect(page.headers.get('server')).toBe('nginx');
  const style = await get('/home.css');
  expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
  expect(await style.text()).toBe(site['home.css']);
});

test('answers the probes, and nothing but reading the two files', async () => {
  const health = await get(container.readinessProbe.httpGet.path);
  expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
  expect((await get('/', { method: 'POST', body: 'x' })).status).toBe(403);
  expect((await get('/nginx.conf')).status).toBe(404);
  expect((await get('/../run/nginx.pid')).status).toBe(404);
});

test('nginx refuses the rendered config with a directive it does not know', () => {
  // The check the server config passes is nginx's own: a misspelt directive fails it.
  const broken = readFileSync(join(dir, 'nginx.conf'), 'utf8').replace('server_tokens off;', 'server_token off;');
  writeFileSync(join(dir, 'broken.conf'), broken);
  const check = spawnSync('nginx', ['-t', '-e', 'stderr', '-c', join(dir, 'broken.conf')], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  expect(check.status).not.toBe(0);
  expect(check.stderr).toContain('unknown directive "server_token"');
});

test('every tool the page links to is a host the cluster routes, with the version its workload runs', () => {
  const html = site['index.html'];
  const toolHosts = [...html.matchAll(/<th scope="row"><a href="https:\/\/([^/"]+)\/">([^<]+)<\/a><\/th>/g)].map((m) => [m[1], m[2]]);
  const routed = new Map<string, string>();
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.yaml') ? [join(d, e.name)] : []));
  for (const file of walk(rendered)) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const obj = doc.toJS();
      if (obj?.kind === 'HTTPRoute' && obj.metadata.name !== 'https-redirect') routed.set(obj.spec.hostnames[0], obj.metadata.annotations['ml-platform.io/ui']);
    }
  }
  expect(toolHosts.length).toBeGreaterThan(10);
  for (const [host, name] of toolHosts) expect(routed.get(host), host).toBe(name);
  // Every routed UI but the page itself is on the page.
  expect([...routed.values()].filter((n) => n !== 'home').sort()).toEqual(toolHosts.map(([, n]) => n).sort());
  // The MLflow row shows the version its Deployment runs.
  const mlflow = read('30-apps/mlflow/deployment-mlflow.yaml').metadata.labels['app.kubernetes.io/version'];
  expect(html).toMatch(new RegExp(`>mlflow</a></th>\\s*<td>[^<]*</td>\\s*<td><code>${mlflow}</code>`));
});
