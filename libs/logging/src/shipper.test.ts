// The shipper's rendered pipeline run by the real collector (built by tools/install-tools.sh
// from tools/otelcol/builder.yaml, the image's release): container log lines in, the bulk
// requests a stand-in Elasticsearch receives out. Only k8sattributes is left out (it needs an
// API server); the file path gives namespace, pod and container.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:https';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { LOG_MAPPINGS } from './index-setup';
import { shipperConfig, ShipperConfigProps } from './shipper-config';

const COLLECTOR = join(__dirname, '..', '..', '..', '.tools', 'bin', 'otelcol-logs');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

let scratch: string;
let es: Server;
let esUp = true;
const received: Doc[] = [];

/** A CA and a certificate for 127.0.0.1 it signed, made for this run only. */
function testCertificates(dir: string) {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', 'ca.key', '-out', 'ca.crt');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'es.key', '-out', 'es.csr');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl('x509', '-req', '-in', 'es.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'es.crt');
}

beforeAll(async () => {
  if (!existsSync(COLLECTOR)) throw new Error(`${COLLECTOR} is missing; run 'bash tools/install-tools.sh'`);
  scratch = mkdtempSync(join(tmpdir(), 'shipper-test-'));
  testCertificates(scratch);
  // As a Kubernetes Secret's file holds it: the value, no newline (the collector keeps one).
  writeFileSync(join(scratch, 'password'), 'test-password');
  // Elasticsearch as the exporter sees it: the product header, and _bulk answering per item.
  es = createServer({ key: readFileSync(join(scratch, 'es.key')), cert: readFileSync(join(scratch, 'es.crt')) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!esUp) {
        res.writeHead(503, { 'X-Elastic-Product': 'Elasticsearch' }).end();
        return;
      }
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(Buffer.concat(chunks)) : Buffer.concat(chunks);
      const lines = body.toString('utf8').split('\n').filter(Boolean);
      const items = [];
      for (let i = 0; i + 1 < lines.length; i += 2) {
        received.push({ action: JSON.parse(lines[i]), doc: JSON.parse(lines[i + 1]), auth: req.headers.authorization });
        items.push({ create: { status: 201 } });
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Elastic-Product': 'Elasticsearch' }).end(JSON.stringify(req.url?.startsWith('/_bulk') ? { errors: false, items } : { version: { number: '8.19.24' } }));
    });
  });
  await new Promise<void>((resolve) => es.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => es.close(resolve));
  rmSync(scratch, { recursive: true, force: true });
});

beforeEach(() => {
  received.length = 0;
  esUp = true;
});

interface Run {
  readonly logs: string;
  readonly state: string;
  readonly config: string;
}

/** A node's folders and the rendered pipeline pointed at them. */
function node(name: string, override: (c: Doc) => void = () => undefined): Run {
  const root = join(scratch, name);
  const logs = join(root, 'pods');
  const state = join(root, 'state');
  mkdirSync(logs, { recursive: true });
  mkdirSync(state, { recursive: true });
  const props: ShipperConfigProps = {
    cluster: 'test',
    endpoint: `https://127.0.0.1:${(es.address() as AddressInfo).port}`,
    dataStream: 'logs-platform-default',
    user: 'log-shipper',
    passwordFile: join(scratch, 'password'),
    caFile: join(scratch, 'ca.crt'),
    include: `${logs}/*/*/*.log`,
    exclude: [`${logs}/log-shipper_*/*/*.log`],
    storageDirectory: state,
    bufferSize: '64Mi',
    healthEndpoint: '127.0.0.1:0',
    metrics: { host: '127.0.0.1', port: 0 },
    kubernetesMetadata: false,
  };
  const config = shipperConfig(props) as Doc;
  // Port 0 is refused by the telemetry reader; the test needs no metrics.
  config.service.telemetry.metrics = { level: 'none' };
  override(config);
  const file = join(root, 'config.yaml');
  writeFileSync(file, stringify(config));
  return { logs, state, config: file };
}

/** Appends CRI-format lines to a container's log. */
function write(run: Run, pod: string, container: string, lines: string[], stream = 'stdout'): void {
  const dir = join(run.logs, pod, container);
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, '0.log'), lines.map((l, i) => `2026-12-02T10:00:0${i % 10}.${String(i).padStart(9, '0')}Z ${stream} ${l}\n`).join(''));
}

function start(run: Run): ChildProcess {
  return spawn(COLLECTOR, [`--config=${run.config}`], { env: { PATH: process.env.PATH, GOMAXPROCS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
}

async function stop(collector: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (collector.exitCode !== null) return;
  const exited = new Promise((resolve) => collector.once('exit', resolve));
  collector.kill(signal);
  await exited;
}

async function until(what: string, condition: () => boolean, seconds = 30): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}; received ${received.length} records`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const bodies = () => received.map((r) => r.doc.body?.text);

test('JSON lines become fields, plain lines stay text, a Python traceback and a Java stack trace are one record each', async () => {
  const run = node('parsing');
  write(run, 'serving_predict-churn-7d9f_0f1e2d3c', 'api', [
    'F {"time":"2026-12-02T10:00:00Z","level":"warning","message":"slow prediction","path":"/predict","duration_ms":812.5,"model":{"name":"churn","version":"3"}}',
    'F plain text from a program that does not log JSON',
    'F ERROR:root:prediction failed',
    'F Traceback (most recent call last):',
    'F   File "/app/api.py", line 10, in predict',
    'F     raise ValueError("bad input")',
    'F ValueError: bad input',
    'P a line the runtime split',
    'F  in two',
    'F the line after',
  ]);
  write(run, 'spark_etl-driver_aa11bb22', 'spark-kubernetes-driver', [
    'F 26/12/02 10:00:00 ERROR Executor: Exception in task 0.0',
    'F java.lang.IllegalStateException: boom',
    'F \tat com.example.Job.run(Job.java:42)',
    'F Caused by: java.io.IOException: disk',
    'F \t... 5 more',
    'F 26/12/02 10:00:01 INFO Executor: next task',
  ], 'stderr');
  const collector = start(run);
  try {
    await until('seven records', () => received.length >= 7);
    await new Promise((r) => setTimeout(r, 2500));
  } finally {
    await stop(collector);
  }
  expect(received).toHaveLength(7);
  expect(new Set(received.map((r) => r.action.create?._index))).toEqual(new Set(['logs-platform-default']));
  expect(received[0].auth).toBe(`Basic ${Buffer.from('log-shipper:test-password').toString('base64')}`);

  const json = received.find((r) => r.doc.body?.text === 'slow prediction')?.doc as Doc;
  expect(json.severity_number).toBe(13);
  expect(json.attributes).toMatchObject({ path: '/predict', duration_ms: 812.5, model: { name: 'churn', version: '3' }, 'log.iostream': 'stdout' });
  expect(json.attributes.message).toBeUndefined();
  expect(json.resource.attributes).toMatchObject({ 'k8s.namespace.name': 'serving', 'k8s.pod.name': 'predict-churn-7d9f', 'k8s.container.name': 'api', 'k8s.cluster.name': 'test' });

  expect(bodies()).toContain('plain text from a program that does not log JSON');
  expect(bodies()).toContain('ERROR:root:prediction failed\nTraceback (most recent call last):\n  File "/app/api.py", line 10, in predict\n    raise ValueError("bad input")\nValueError: bad input');
  expect(bodies()).toContain('a line the runtime split in two');
  expect(bodies()).toContain('the line after');
  expect(bodies()).toContain('26/12/02 10:00:00 ERROR Executor: Exception in task 0.0\njava.lang.IllegalStateException: boom\n\tat com.example.Job.run(Job.java:42)\nCaused by: java.io.IOException: disk\n\t... 5 more');
  expect(bodies()).toContain('26/12/02 10:00:01 INFO Executor: next task');
  const spark = received.find((r) => r.doc.body.text.startsWith('26/12/02 10:00:01'))?.doc as Doc;
  expect(spark.resource.attributes['k8s.namespace.name']).toBe('spark');
  expect(spark.attributes['log.iostream']).toBe('stderr');
}, 60_000);

test('every field the shipper emits has a mapping of a fitting type in the index template', async () => {
  const run = node('fields');
  write(run, 'ns_pod-a_uid1', 'c', ['F {"message":"m","level":"error","count":3,"ratio":0.5,"ok":true,"tags":["a","b"],"http":{"status":500}}', 'F plain']);
  const collector = start(run);
  try {
    await until('two records', () => received.length >= 2);
  } finally {
    await stop(collector);
  }
  const props = LOG_MAPPINGS.properties as Record<string, Doc>;
  const dynamicPaths = LOG_MAPPINGS.dynamic_templates.flatMap((t) => Object.values(t).flatMap((d) => d.path_match));
  const covered = (path: string[]): string | undefined => {
    // A leaf under an attributes object (subobjects false) takes the dynamic templates or Elasticsearch's dynamic numbers/booleans.
    if (['attributes', 'resource.attributes', 'scope.attributes'].some((p) => path.join('.').startsWith(`${p}.`))) {
      return dynamicPaths.some((p) => new RegExp(`^${p.replace(/\./g, '\\.').replace('*', '.*')}$`).test(path.join('.'))) ? 'dynamic' : undefined;
    }
    let level: Doc | undefined = props;
    let type: string | undefined;
    for (const part of path) {
      const field: Doc | undefined = level?.[part];
      if (!field) return undefined;
      type = field.type ?? 'object';
      level = field.properties;
    }
    return type;
  };
  const leaves = (value: unknown, path: string[]): [string[], unknown][] =>
    value && typeof value === 'object' && !Array.isArray(value) && !(path.length && ['attributes'].includes(path[path.length - 1]))
      ? Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]))
      : [[path, value]];
  const fits: Record<string, (v: unknown) => boolean> = {
    date_nanos: (v) => typeof v === 'string' && /^\d+(\.\d+)?$/.test(v),
    keyword: (v) => typeof v === 'string',
    match_only_text: (v) => typeof v === 'string',
    byte: (v) => Number.isInteger(v) && (v as number) >= -128 && (v as number) < 128,
    long: (v) => Number.isInteger(v),
    object: (v) => typeof v === 'object',
    flattened: (v) => typeof v === 'object',
    dynamic: () => true,
  };
  for (const { doc } of received) {
    for (const [path, value] of leaves(doc, [])) {
      const unwrapped = path[path.length - 1] === 'attributes' ? Object.entries(value as Doc).map(([k, v]) => [[...path, k], v] as [string[], unknown]) : [[path, value] as [string[], unknown]];
      for (const [p, v] of unwrapped) {
        if (p[0] === 'scope' && p.length === 1) continue;
        const type = covered(p);
        expect(type, `field ${p.join('.')} (${JSON.stringify(v)}) has no mapping`).toBeDefined();
        expect(fits[type as string]?.(v), `field ${p.join('.')} = ${JSON.stringify(v)} does not fit type ${type}`).toBe(true);
      }
    }
  }
}, 60_000);

test('an Elasticsearch outage and a killed shipper lose no line: the queue on disk sends them when it is back', async () => {
  const run = node('outage');
  esUp = false;
  const lines = Array.from({ length: 40 }, (_, i) => `F outage line ${i}`);
  write(run, 'ns_pod-b_uid2', 'c', lines);
  let collector = start(run);
  // Long enough to read everything and fail to send it a few times; then the pod is killed.
  await new Promise((r) => setTimeout(r, 6000));
  await stop(collector, 'SIGKILL');
  expect(received).toHaveLength(0);
  esUp = true;
  write(run, 'ns_pod-b_uid2', 'c', ['F after the restart']);
  collector = start(run);
  try {
    await until('every line', () => new Set(bodies()).size >= 41, 45);
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    await stop(collector);
  }
  expect(new Set(bodies())).toEqual(new Set([...lines.map((l) => l.slice(2)), 'after the restart']));
}, 90_000);

test('a broken operator expression makes the collector refuse the configuration', () => {
  const run = node('broken', (c) => {
    c.receivers.filelog.operators[1].is_first_entry = 'body matchez "^x"';
  });
  const result = (() => {
    try {
      execFileSync(COLLECTOR, ['validate', `--config=${run.config}`], { env: { PATH: process.env.PATH }, stdio: 'pipe' });
      return '';
    } catch (err) {
      return String((err as { stderr: Buffer }).stderr);
    }
  })();
  expect(result).toMatch(/failed to compile is_first_entry/);
  const good = node('good');
  expect(() => execFileSync(COLLECTOR, ['validate', `--config=${good.config}`], { env: { PATH: process.env.PATH }, stdio: 'pipe' })).not.toThrow();
});
