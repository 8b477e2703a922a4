import { Testing } from 'cdk8s';
import { expect, test } from 'vitest';
import { ImageCatalog, PlatformContext } from '@ml-platform/core';
import { RedisChart, RedisChartProps, REDIS_CONF_FILE } from './redis';

const context = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog() });
const redisOf = (extra: Partial<RedisChartProps> = {}) => new RedisChart(Testing.app(), 'redis', { context, storageSize: '1Gi', databases: ['superset-cache', 'superset-celery'], ...extra });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const synth = (chart: RedisChart): any[] => Testing.synth(chart);

test('one server with its append-only file on a volume, the password never in a file the render writes', () => {
  const objects = synth(redisOf());
  const sts = objects.find((o) => o.kind === 'StatefulSet');
  expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('1Gi');
  const [redis, exporter] = sts.spec.template.spec.containers;
  expect(redis.command.slice(0, 2)).toEqual(['sh', '-c']);
  expect(redis.env.find((e: { name: string }) => e.name === 'REDIS_PASSWORD').valueFrom).toEqual({ secretKeyRef: { name: 'redis-auth', key: 'password' } });
  expect(sts.spec.template.spec.securityContext).toMatchObject({ runAsUser: 999, runAsNonRoot: true });
  expect(exporter.ports).toEqual([{ name: 'metrics', containerPort: 9121, protocol: 'TCP' }]);
  const conf: string = objects.find((o) => o.kind === 'ConfigMap').data[REDIS_CONF_FILE];
  expect(conf).toContain('appendonly yes');
  expect(conf).toContain(`maxmemory ${384 * 2 ** 20}`);
  expect(conf).not.toMatch(/requirepass/);
});

test('each consumer gets a database index of its own on the one server', () => {
  const redis = redisOf();
  expect(redis.database('superset-celery')).toMatchObject({ database: 1, endpoint: { host: 'redis.redis.svc.cluster.local', port: 6379 } });
  expect(() => redis.database('airflow')).toThrowError("redis has no database for 'airflow'; add it to the chart's 'databases' (known: superset-cache, superset-celery)");
});

test('refuses a maxMemory that leaves Redis no room under its memory limit', () => {
  expect(() => redisOf({ maxMemory: '500Mi' })).toThrowError(/maxMemory 500Mi is more than 3\/4 of the memory limit 512Mi/);
});

test('with the internal CA the server speaks TLS only, its probes, exporter and sidecar verify it, and databases say so', () => {
  const tlsContext = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog(), internalCa: 'platform-ca' });
  const redis = new RedisChart(Testing.app(), 'redis', { context: tlsContext, storageSize: '1Gi', databases: ['superset-cache'] });
  const objects = synth(redis);
  const conf: string = objects.find((o) => o.kind === 'ConfigMap').data[REDIS_CONF_FILE];
  expect(conf).toMatch(/^port 0$/m);
  expect(conf).toMatch(/^tls-port 6379$/m);
  expect(conf).toContain('tls-cert-file /etc/redis/tls/tls.crt');
  const cert = objects.find((o) => o.kind === 'Certificate');
  expect(cert.spec.dnsNames).toEqual(expect.arrayContaining(['redis.redis.svc.cluster.local', 'localhost']));
  const [server, exporter, reloader] = objects.find((o) => o.kind === 'StatefulSet').spec.template.spec.containers;
  expect(server.readinessProbe.exec.command[2]).toContain('redis-cli --tls --cacert /etc/redis/tls/ca.crt -h 127.0.0.1 -p 6379 ping');
  expect(exporter.env).toEqual(expect.arrayContaining([{ name: 'REDIS_ADDR', value: 'rediss://127.0.0.1:6379' }, { name: 'REDIS_EXPORTER_TLS_CA_CERT_FILE', value: '/etc/redis/tls/ca.crt' }]));
  expect(reloader.name).toBe('reload-on-renewal');
  expect(reloader.command[2]).toContain('CONFIG SET tls-cert-file /etc/redis/tls/tls.crt tls-key-file /etc/redis/tls/tls.key');
  expect(redis.database('superset-cache').tls).toBe(true);
});
