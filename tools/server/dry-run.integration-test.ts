// What only a real API server catches, proven on planted defects: each is rejected by the
// server-side dry-run, and the first two pass the schema layer, which cannot see them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse } from 'yaml';
import { checkHubConfigs, hubChecker } from '../validate/jupyterhub';
import { Json, ManifestDoc } from '../validate/model';
import { runKubeconform, toolPaths } from '../validate/tools';
import { apiServerBuilds, ControlPlane } from './control-plane';
import { bootstrapCrds, BOOTSTRAP_NAMESPACES, dryRun, installBootstrap } from './dry-run';

const root = join(__dirname, '../..');
// The newest supported API server: npm run test:server dry-runs the clusters on the oldest too.
const newest = apiServerBuilds(root).at(-1)?.binary as string;
let cp: ControlPlane;

const walk = (dir: string): string[] => readdirSync(dir).flatMap((e) => (statSync(join(dir, e)).isDirectory() ? walk(join(dir, e)) : e.endsWith('.yaml') ? [join(dir, e)] : []));
const clusterDocs = (cluster: string): ManifestDoc[] =>
  walk(join(root, 'dist-manifests', cluster)).map((f) => ({ file: relative(root, f), absPath: f, index: 0, cluster, obj: parse(readFileSync(f, 'utf8')) }));
const doc = (obj: Json): ManifestDoc => ({ file: 'planted.yaml', absPath: 'planted.yaml', index: 0, cluster: 'test', obj });
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

const namespace = clusterDocs('dev').find((d) => d.obj.kind === 'Namespace' && d.obj.metadata.name === 'mlflow') as ManifestDoc;
const deployment = clusterDocs('dev').find((d) => d.obj.kind === 'Deployment') as ManifestDoc;

beforeAll(async () => {
  const etcd = execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim();
  cp = await ControlPlane.start({ kubeApiserver: newest, etcd });
  expect(await installBootstrap(cp, bootstrapCrds(root), BOOTSTRAP_NAMESPACES)).toEqual([]);
  expect(await dryRun(cp, [namespace])).toEqual([]);
});
afterAll(async () => {
  await cp?.stop();
});

test('every committed cluster passes the server-side dry-run', async () => {
  for (const cluster of ['dev', 'stage', 'prod']) expect(await dryRun(cp, clusterDocs(cluster)), cluster).toEqual([]);
});

test('a selector that does not match its pod template is rejected, though its schema is valid', async () => {
  const obj = clone(deployment.obj);
  obj.spec.selector.matchLabels['app.kubernetes.io/name'] = 'mlflow-server';
  expect(await runKubeconform(toolPaths(root), [doc(obj)], '1.28')).toEqual([]);
  expect(await dryRun(cp, [doc(obj)])).toEqual([
    expect.objectContaining({ layer: 'api-server', rule: 'api-server/rejected', field: 'spec.template.metadata.labels', message: expect.stringContaining('`selector` does not match template `labels`') }),
  ]);
});

test('an invalid label value is rejected, though its schema is valid', async () => {
  const obj = clone(deployment.obj);
  obj.metadata.labels['app.kubernetes.io/version'] = 'v3.16.1 full!';
  expect(await runKubeconform(toolPaths(root), [doc(obj)], '1.28')).toEqual([]);
  expect(await dryRun(cp, [doc(obj)])).toEqual([
    expect.objectContaining({ rule: 'api-server/rejected', field: 'metadata.labels', message: expect.stringContaining('Invalid value: "v3.16.1 full!"') }),
  ]);
});

test('a pod that violates restricted in a namespace that enforces it is refused', async () => {
  const obj = clone(deployment.obj);
  obj.spec.template.spec.containers[0].securityContext.privileged = true;
  obj.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
  // Workloads get the warning (enforce applies to pods); every warning fails the check.
  expect(await dryRun(cp, [doc(obj)])).toEqual([
    expect.objectContaining({ rule: 'api-server/pod-security', message: expect.stringMatching(/would violate PodSecurity "restricted:v1\.\d+": privileged .*allowPrivilegeEscalation != false/) }),
  ]);
  // A pod itself is refused outright.
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'planted', namespace: 'mlflow', labels: obj.spec.template.metadata.labels }, spec: obj.spec.template.spec };
  expect(await dryRun(cp, [doc(pod)])).toEqual([
    expect.objectContaining({ rule: 'api-server/rejected', message: expect.stringMatching(/forbidden: violates PodSecurity "restricted:v1\.\d+": privileged/) }),
  ]);
});

test("the notebook server KubeSpawner would create is admitted by restricted, and refused once it may escalate", async () => {
  const dev = clusterDocs('dev');
  const users = dev.find((d) => d.obj.kind === 'Namespace' && d.obj.metadata.name === 'jupyterhub-users') as ManifestDoc;
  const { failures, spawned } = await checkHubConfigs(dev, await hubChecker(root), undefined);
  expect(failures).toEqual([]);
  const pod = spawned.find((d) => d.obj.kind === 'Pod') as ManifestDoc;
  expect(await dryRun(cp, [users, pod])).toEqual([]);
  const escalating = clone(pod.obj);
  escalating.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
  expect(await dryRun(cp, [doc(escalating)])).toEqual([
    expect.objectContaining({ rule: 'api-server/rejected', message: expect.stringMatching(/violates PodSecurity "restricted:v1\.\d+": allowPrivilegeEscalation != false/) }),
  ]);
});

test('a custom resource with a field its CRD does not define is rejected', async () => {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com', scope: 'Namespaced', names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } }],
    },
  };
  const widget = (spec: object) => doc({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'mlflow' }, spec });
  expect(await dryRun(cp, [doc(crd), widget({ size: 2 })])).toEqual([]);
  expect(await dryRun(cp, [widget({ size: 2, colour: 'red' })])).toEqual([
    expect.objectContaining({ rule: 'api-server/rejected', field: '-', message: expect.stringContaining('.spec.colour: field not declared in schema') }),
  ]);
});

test('stop() leaves no process and no file behind', async () => {
  const probe = await ControlPlane.start({ kubeApiserver: newest, etcd: execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim() });
  const pids = probe.pids;
  expect(pids).toHaveLength(2);
  await probe.stop();
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
});

test('an interrupted check stops etcd and kube-apiserver', async () => {
  const { spawn } = await import('node:child_process');
  const leftovers = () => {
    try {
      return execFileSync('pgrep', ['-f', 'ml-platform-apiserver-'], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  // Other tests' control planes are running in this process; count only new ones.
  const before = leftovers().split('\n').filter(Boolean).length;
  // One cluster is enough to be interrupted; all of them (and the review and chart renders before
  // the control plane starts) took longer than the wait on a busy CI machine.
  const child = spawn('node', [join(root, 'dist/tools/server-check.js'), join(root, 'dist-manifests/prod')], { cwd: root, stdio: 'ignore' });
  const deadline = Date.now() + 90_000;
  while (leftovers().split('\n').filter(Boolean).length < before + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(leftovers().split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(before + 2);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', (c, signal) => r(c ?? (signal ? 130 : null))));
  expect(code).toBe(130);
  expect(leftovers().split('\n').filter(Boolean).length).toBe(before);
});
