import { Testing } from 'cdk8s';
import { expect, test } from 'vitest';
import { ImageCatalog, PlatformContext } from '@ml-platform/core';
import { loggingConfigSchema } from './config';
import { LoggingChart, LoggingChartProps } from './logging';
import { LogShipperChart } from './shipper';

const context = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog(), apiServer: { cidrs: ['10.0.0.1/32'], port: 6443 } });
const loggingOf = (es: Partial<LoggingChartProps['elasticsearch']> = {}) =>
  new LoggingChart(Testing.app(), 'logging', {
    context,
    retentionDays: 7,
    elasticsearch: { replicas: 1, heap: '1Gi', storageSize: '10Gi', mmap: false, ...es },
    kibana: { externalHost: 'kibana.ml.t.internal' },
    clusterIssuer: 'platform-ca',
  });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;
const synth = (chart: LoggingChart | LogShipperChart): Obj[] => Testing.synth(chart);
/** The one object of `kind` (and `name`), or a failed test. */
const one = (objects: Obj[], kind: string, name?: string): Obj => {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!found) throw new Error(`no ${kind} ${name ?? ''}`);
  return found;
};

test('one node is a single-node cluster with TLS on both layers and mmap off; three form a cluster with a budget', () => {
  const single = synth(loggingOf());
  const yml: string = one(single, 'ConfigMap', 'elasticsearch-config').data['elasticsearch.yml'];
  expect(yml).toContain('discovery.type: single-node');
  expect(yml).toContain('node.store.allow_mmap: false');
  expect(yml).toContain('xpack.security.transport.ssl.enabled: true');
  expect(yml).toContain('xpack.security.http.ssl.enabled: true');
  expect(one(single, 'ConfigMap', 'elasticsearch-config').data['heap.options']).toBe('-Xms1024m\n-Xmx1024m\n');
  expect(single.find((o) => o.kind === 'PodDisruptionBudget')).toBeUndefined();
  const cert = one(single, 'Certificate');
  expect(cert.spec.issuerRef).toEqual({ group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'platform-ca' });
  expect(cert.spec.dnsNames).toContain('*.elasticsearch-headless.logging.svc.cluster.local');

  const three = synth(loggingOf({ replicas: 3, mmap: true }));
  const yml3: string = one(three, 'ConfigMap', 'elasticsearch-config').data['elasticsearch.yml'];
  expect(yml3).toContain('discovery.seed_hosts:\n  - elasticsearch-headless');
  expect(yml3).toMatch(/cluster.initial_master_nodes:\n {2}- elasticsearch-0\n {2}- elasticsearch-1\n {2}- elasticsearch-2/);
  expect(yml3).toContain('node.store.allow_mmap: true');
  expect(one(three, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
  const sts = one(three, 'StatefulSet');
  expect(sts.spec).toMatchObject({ replicas: 3, podManagementPolicy: 'Parallel', serviceName: 'elasticsearch-headless' });
  // The index template keeps one replica shard per index on three nodes.
  const template = JSON.parse(one(three, 'ConfigMap', 'logging-setup').data['index-template.json']);
  expect(template.template.settings['index.number_of_replicas']).toBe(1);
});

test('the elastic password reaches Elasticsearch as a file, never as a value in the environment', () => {
  const sts = one(synth(loggingOf()), 'StatefulSet');
  const es = sts.spec.template.spec.containers[0];
  expect(es.env.find((e: Obj) => e.name === 'ELASTIC_PASSWORD_FILE').value).toBe('/run/secrets/elasticsearch-elastic/password');
  expect(es.env.some((e: Obj) => e.valueFrom?.secretKeyRef)).toBe(false);
  expect(sts.spec.template.spec.securityContext).toMatchObject({ runAsUser: 1000, runAsNonRoot: true });
  expect(es.securityContext.readOnlyRootFilesystem).toBe(true);
});

test('the setup Job creates the lifecycle policy with the retention, the template, users and the data view', () => {
  const objects = synth(loggingOf());
  const files = one(objects, 'ConfigMap', 'logging-setup').data;
  expect(JSON.parse(files['lifecycle-policy.json']).policy.phases.delete.min_age).toBe('7d');
  expect(JSON.parse(files['index-template.json'])).toMatchObject({ index_patterns: ['logs-platform-*'], data_stream: {}, template: { settings: { 'index.lifecycle.name': 'platform-logs', 'index.number_of_replicas': 0 } } });
  const script: string = one(objects, 'Job').spec.template.spec.containers[0].command[2];
  expect(script).toContain('_security/user/log-shipper');
  expect(script).toContain('_security/user/kibana_system/_password');
  expect(script).toContain('/api/data_views/data_view');
  expect(script).not.toMatch(/-u |--user /);
});

test('refuses a replica shard count one node cannot hold and two nodes', () => {
  expect(() => loggingOf({ indexReplicas: 1 })).toThrowError('logging: 1 replica shard(s) per index need at least 2 Elasticsearch nodes, there are 1; the indices would stay yellow');
  expect(() => loggingOf({ replicas: 2, indexReplicas: 0 })).toThrowError(/replicas must be 1, or 3 or more/);
});

test("cluster.yaml's logging section refuses retention under a day, one node with replica shards, and a buffer larger than its volume", () => {
  const issues = (section: unknown) => {
    const result = loggingConfigSchema.safeParse(section);
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  const base = { enabled: true, elasticsearch: { storage: { size: '10Gi' } } };
  expect(issues(base)).toEqual([]);
  expect(issues({ ...base, retention: 0 })).toEqual(['retention: expected at least 1 day, found 0: log retention is counted in whole days']);
  expect(issues({ ...base, elasticsearch: { ...base.elasticsearch, indexReplicas: 1 } })).toEqual([
    "elasticsearch.indexReplicas: expected at most 0 with 1 node, found 1: a replica shard is never placed on its primary's node, so the indices would stay yellow",
  ]);
  expect(issues({ ...base, shipper: { buffer: { size: '3Gi', volume: '4Gi' } } })).toEqual([
    'shipper.buffer.size: expected at most half of shipper.buffer.volume (4Gi), found 3Gi: compacting the queue writes a copy of it beside the original',
  ]);
  expect(issues({ ...base, elasticsearch: { ...base.elasticsearch, heap: '1536Mi' } })).toEqual(['elasticsearch.heap: expected at most half the memory limit (2Gi), found 1536Mi: Lucene needs the rest as page cache']);
});

test('the shipper runs as root without capabilities, reads the pod logs read-only and keeps its queue on the node', () => {
  const app = Testing.app();
  const logging = new LoggingChart(app, 'logging', { context, retentionDays: 7, elasticsearch: { replicas: 1, heap: '1Gi', storageSize: '10Gi', mmap: false }, kibana: { externalHost: 'k' }, clusterIssuer: 'platform-ca' });
  const shipper = new LogShipperChart(app, 'log-shipper', { context, elasticsearch: logging.endpoint, clusterIssuer: 'platform-ca', bufferSize: '1Gi' });
  const ds = one(synth(shipper), 'DaemonSet');
  const c = ds.spec.template.spec.containers[0];
  expect(c.securityContext).toMatchObject({ runAsUser: 0, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  expect(c.volumeMounts).toEqual(expect.arrayContaining([
    { name: 'pod-logs', mountPath: '/var/log/pods', readOnly: true },
    { name: 'state', mountPath: '/var/lib/ml-platform/log-shipper', readOnly: false },
  ]));
  expect(shipper.config).toContain('queue_size: 1073741824');
  // The Go runtime's soft limit follows the container's memory limit (80% of 512Mi).
  expect(c.env).toContainEqual({ name: 'GOMEMLIMIT', value: '409MiB' });
  const bigger = new LogShipperChart(Testing.app(), 'log-shipper', { context, elasticsearch: logging.endpoint, clusterIssuer: 'platform-ca', bufferSize: '1Gi', resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } } });
  expect(one(synth(bigger), 'DaemonSet').spec.template.spec.containers[0].env).toContainEqual({ name: 'GOMEMLIMIT', value: '819MiB' });
  expect(shipper.config).toContain('/var/log/pods/log-shipper_*/*/*.log');
  // Root is for the exception namespace only.
  expect(() => new LogShipperChart(Testing.app(), 'logging', { context, elasticsearch: logging.endpoint, clusterIssuer: 'platform-ca', bufferSize: '1Gi' })).toThrowError(/would run as root/);
});

test('with the internal CA Kibana serves HTTPS, reloads its certificate on SIGHUP, and its clients verify it', () => {
  const tlsContext = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog(), internalCa: 'platform-ca' });
  const logging = new LoggingChart(Testing.app(), 'logging', { context: tlsContext, retentionDays: 7, elasticsearch: { replicas: 1, heap: '1Gi', storageSize: '10Gi', mmap: false }, kibana: { externalHost: 'k' }, clusterIssuer: 'platform-ca' });
  const objects = synth(logging);
  const yml: string = one(objects, 'ConfigMap', 'kibana-config').data['kibana.yml'];
  expect(yml).toContain('server.ssl.enabled: true');
  expect(yml).toContain('server.ssl.certificate: /usr/share/kibana/config/tls/tls.crt');
  const cert = one(objects, 'Certificate', 'kibana-tls');
  expect(cert.spec.dnsNames).toContain('kibana.logging.svc.cluster.local');
  expect(cert.spec.issuerRef.name).toBe('platform-ca');
  const pod = one(objects, 'Deployment', 'kibana').spec.template.spec;
  expect(pod.shareProcessNamespace).toBe(true);
  expect(pod.containers[0].readinessProbe.httpGet.scheme).toBe('HTTPS');
  const reloader = pod.containers.find((c: Obj) => c.name === 'reload-on-renewal');
  expect(reloader.command[2]).toContain('= node ]; then kill -HUP');
  expect(logging.webUi).toMatchObject({ tls: true });
  // The setup Job sends elastic's password to Kibana over HTTPS, verified against the CA.
  const script: string = one(objects, 'Job').spec.template.spec.containers[0].command[2];
  expect(script).toContain('KB=https://kibana.logging.svc.cluster.local:5601');
  expect(script).toMatch(/kb\(\) \{ curl [^}]*--cacert /);

  // Without the internal CA (a dev cluster without inClusterTls), plain HTTP and no sidecar.
  const plain = synth(loggingOf());
  expect(one(plain, 'ConfigMap', 'kibana-config').data['kibana.yml']).not.toContain('server.ssl');
  expect(one(plain, 'Deployment', 'kibana').spec.template.spec.containers.map((c: Obj) => c.name)).toEqual(['kibana']);
});
