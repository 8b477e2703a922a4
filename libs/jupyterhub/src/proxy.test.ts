// The proxy's rendered command, run by configurable-http-proxy 5.2.0 itself (the image's release,
// from npm): it starts, answers its probes, routes to the hub, guards its API with the token and
// serves metrics; an option it does not know stops it.
import { ChildProcess, spawn } from 'node:child_process';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { hubOf } from './testing';

const chp = join(__dirname, '../../../node_modules/configurable-http-proxy/bin/configurable-http-proxy');
const running: (ChildProcess | Server)[] = [];
afterEach(() => {
  for (const r of running.splice(0)) {
    if (r instanceof Server) r.close();
    else r.kill();
  }
});

/** The proxy container as the chart renders it. */
const renderedProxy = () => hubOf().find('Deployment', 'proxy').spec.template.spec.containers[0];

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
const freePort = async () => {
  const s = createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
};

/** Starts the rendered command with its ports moved to free ones and the hub at `hubUrl`. */
async function startProxy(args: string[], hubUrl: string) {
  const ports = { port: await freePort(), 'api-port': await freePort(), 'metrics-port': await freePort() };
  const local = args.map((a) => {
    const [flag] = a.split('=');
    const name = flag.replace(/^--/, '') as keyof typeof ports;
    if (name in ports) return `${flag}=${ports[name]}`;
    if (flag === '--default-target') return `${flag}=${hubUrl}`;
    if (flag === '--error-target') return `${flag}=${hubUrl}/hub/error`;
    return a;
  });
  const process_ = spawn(process.execPath, [chp, ...local], { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: 'test-only-token' }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(process_);
  let output = '';
  process_.stdout?.on('data', (d) => (output += d));
  process_.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<number>((resolve) => process_.on('exit', (code) => resolve(code ?? -1)));
  return { ports, exited, output: () => output };
}

async function until<T>(probe: () => Promise<T | undefined>, seconds = 20): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('the rendered proxy starts, passes its probes, routes to the hub, guards its API and serves metrics', async () => {
  const container = renderedProxy();
  const hubServer = createServer((req, res) => res.end(`hub saw ${req.url}`));
  running.push(hubServer);
  const hubUrl = `http://127.0.0.1:${await listen(hubServer)}`;
  const proxy = await startProxy(container.args, hubUrl);
  const base = `http://127.0.0.1:${proxy.ports.port}`;
  // The readiness and liveness probes' path, on the public port.
  const probe = container.readinessProbe.httpGet;
  expect(probe.port).toBe(8000);
  expect(container.livenessProbe.httpGet.path).toBe(probe.path);
  await until(async () => ((await fetch(`${base}${probe.path}`)).ok ? true : undefined));
  // Everything without a route of its own goes to the hub.
  expect(await (await fetch(`${base}/hub/login`)).text()).toBe('hub saw /hub/login');
  // The API needs the token the hub shares with it.
  const api = `http://127.0.0.1:${proxy.ports['api-port']}/api/routes`;
  expect((await fetch(api)).status).toBe(403);
  expect((await fetch(api, { headers: { Authorization: 'token test-only-token' } })).status).toBe(200);
  // Prometheus reads the metrics port the pod declares.
  const metrics = await (await fetch(`http://127.0.0.1:${proxy.ports['metrics-port']}/metrics`)).text();
  expect(metrics).toContain('api_route_get');
  expect(container.ports.map((p: { name: string; containerPort: number }) => `${p.name}:${p.containerPort}`)).toEqual(['http:8000', 'api:8001', 'metrics:8002']);
}, 30_000);

test('an option the proxy does not know stops it', async () => {
  const container = renderedProxy();
  const proxy = await startProxy([...container.args, '--metrics-prot=9'], 'http://127.0.0.1:9');
  expect(await proxy.exited).not.toBe(0);
  expect(proxy.output()).toContain("unknown option '--metrics-prot=9'");
});
