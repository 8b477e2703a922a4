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
