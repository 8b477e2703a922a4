import { Testing } from 'cdk8s';
import { expect, test } from 'vitest';
import { GitLabSignIn, ImageCatalog, Layer, PlatformChart, PlatformContext, PodSelection, RedisDatabase, SecretKeyRef, ServiceEndpoint } from '@ml-platform/core';
import { rolesMapping } from './settings';
import { SupersetChart, SupersetChartProps } from './superset';

const context = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog() });
/** A Service in a chart of its own, as the data charts hand them out. */
function endpoint(app: ReturnType<typeof Testing.app>, ns: string, port: number): ServiceEndpoint {
  const chart = (app.node.tryFindChild(ns) as PlatformChart | undefined) ?? new PlatformChart(app, ns, { context, layer: Layer.DATA });
  return new ServiceEndpoint(ns, `${ns}.${ns}.svc.cluster.local`, port, port, new PodSelection(chart, ns, { name: ns, instance: ns, component: 'server', version: '1' }));
}
const signIn: GitLabSignIn = {
  gitlabUrl: 'https://gitlab.t.internal',
  gitlabCidrs: ['10.9.0.0/24'],
  clientId: 'app-id',
  clientSecret: SecretKeyRef.of('sso-gitlab', 'client-secret', 'GitLab'),
  users: ['ml/analysts', 'ml/data-scientists'],
  admins: ['ml/platform'],
};
function synthOf(extra: (db: (index: number) => RedisDatabase) => Partial<SupersetChartProps> = () => ({})) {
  const app = Testing.app();
  const postgres = endpoint(app, 'postgres', 5432);
  const redis = endpoint(app, 'redis', 6379);
  const redisDb = (database: number): RedisDatabase => ({ endpoint: redis, database, password: SecretKeyRef.of('redis-auth', 'password', 'Redis') });
  const chart = new SupersetChart(app, 'superset', {
    context,
    database: { endpoint: postgres, database: 'superset', user: 'superset', password: SecretKeyRef.of('postgres-role-superset', 'password', 'metadata') },
    analytics: { endpoint: postgres, database: 'analytics', user: 'analytics_reader', password: SecretKeyRef.of('postgres-role-analytics-reader', 'password', 'reader') },
    cache: redisDb(0),
    queue: redisDb(1),
    signIn,
    editors: ['ml/data-scientists'],
    ...extra(redisDb),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return Testing.synth(chart) as any[];
}
const synth = (extra: Partial<SupersetChartProps> = {}) => synthOf(() => extra);

test('people get the roles of their groups: users Gamma, editors Alpha, admins Admin; all who read query the data sources', () => {
  expect(rolesMapping(signIn, ['ml/data-scientists'], ['Analytics reader'])).toEqual({
    'ml/analysts': ['Gamma', 'sql_lab', 'Analytics reader'],
    'ml/data-scientists': ['Gamma', 'sql_lab', 'Analytics reader', 'Alpha'],
    'ml/platform': ['Admin'],
  });
});

test('the start-up Job migrates, initialises and registers the data sources; every other pod waits for its schema', () => {
  const objects = synth();
  const job = objects.find((o) => o.kind === 'Job');
  expect(job.metadata.name).toMatch(/^superset-init-[0-9a-f]{10}$/);
  expect(job.spec.template.spec.containers[0].command).toEqual(['sh', '-c', 'set -e; superset db upgrade; superset init; exec python -m superset_platform.init']);
  for (const name of ['superset-web', 'superset-worker', 'superset-beat']) {
    const pod = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name).spec.template.spec;
    expect(pod.initContainers.map((c: { command: string[] }) => c.command)).toEqual([['python', '-m', 'superset_platform.schema', '--timeout', '600']]);
    expect(pod.securityContext).toMatchObject({ runAsUser: 1000, runAsNonRoot: true });
    expect(pod.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
  }
  const web = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'superset-web').spec.template.spec.containers[0];
  expect(web.command).toEqual(['/usr/bin/run-server.sh']);
  expect(web.readinessProbe.httpGet).toMatchObject({ path: '/health', port: 8088 });
});

test('a config change gives the Job a new name and rolls the pods', () => {
  const name = (objects: { kind: string; metadata: { name: string } }[]) => objects.find((o) => o.kind === 'Job')?.metadata.name;
  const revision = (objects: { kind: string; metadata: { name: string }; spec: { template: { metadata: { annotations: Record<string, string> } } } }[]) =>
    objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'superset-web')?.spec.template.metadata.annotations['ml-platform.io/config-revision'];
  const before = synth();
  const after = synth({ queryLogRetentionDays: 30 });
  expect(name(after)).not.toBe(name(before));
  expect(revision(after)).not.toBe(revision(before));
});

test('refuses a cache and a queue in one Redis database', () => {
  expect(() => synthOf((redisDb) => ({ queue: redisDb(0) }))).toThrowError('superset: expected the cache and the queue in two databases of the same Redis (one password, flushed apart)');
});

test('where the gateway verifies backends, gunicorn binds loopback and a TLS sidecar serves the Service with its certificate', () => {
  const tlsContext = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog(), internalCa: 'platform-ca', uiTls: true });
  const objects = synth({ context: tlsContext });
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const pod = find('Deployment', 'superset-web').spec.template.spec;
  expect(pod.containers.map((c: { name: string }) => c.name)).toEqual(['web', 'tls']);
  const env = Object.fromEntries(pod.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]));
  expect(env).toMatchObject({ SUPERSET_BIND_ADDRESS: '127.0.0.1', SUPERSET_PORT: '8088' });
  expect(pod.containers[0].ports).toBeUndefined();
  expect(pod.containers[0].readinessProbe.httpGet).toMatchObject({ path: '/health', port: 8443, scheme: 'HTTPS' });
  expect(find('Service', 'superset-web').spec.ports).toEqual([{ name: 'https', port: 8443, targetPort: 8443, protocol: 'TCP' }]);
  expect(find('Certificate', 'superset-web-tls').spec.dnsNames).toContain('superset-web.superset.svc.cluster.local');
  expect(find('ConfigMap', 'superset-web-tls-sidecar').data['nginx.conf']).toContain('proxy_pass 127.0.0.1:8088;');
});
