import { Testing } from 'cdk8s';
import { expect, test } from 'vitest';
import { ImageCatalog, Layer, PlatformChart, PlatformContext, PodSelection, PostgresDatabase, SecretKeyRef, ServiceEndpoint } from '@ml-platform/core';
import { dashAppSchema } from './config';
import { DashChart } from './dash-app';

const context = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog() });

function synth(apps: unknown[], withAnalytics = true) {
  const app = Testing.app();
  const postgres = new PlatformChart(app, 'postgres', { context, layer: Layer.DATA });
  const endpoint = new ServiceEndpoint('postgres', 'postgres.postgres.svc.cluster.local', 5432, 5432, new PodSelection(postgres, 'postgres', { name: 'postgres', instance: 'postgres', component: 'database', version: '1' }));
  const analytics: PostgresDatabase = { endpoint, database: 'analytics', user: 'analytics_reader', password: SecretKeyRef.of('postgres-role-analytics-reader', 'password', 'reader') };
  const chart = new DashChart(app, 'dash', { context, apps: apps.map((a) => dashAppSchema.parse(a)), analytics: withAnalytics ? analytics : undefined });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return Testing.synth(chart) as any[];
}

test("a team's image runs under gunicorn with the platform's settings, its own module, and no database unless it reads one", () => {
  const objects = synth([{ name: 'sales', image: { registry: 'registry.t.internal', repository: 'bi/sales', tag: '2.3.0' }, wsgi: 'sales.app:server', workers: 3, analytics: false }]);
  const deployment = objects.find((o) => o.kind === 'Deployment');
  const container = deployment.spec.template.spec.containers[0];
  expect(container.image).toBe('registry.t.internal/bi/sales:2.3.0');
  expect(container.command).toEqual(['gunicorn', 'sales.app:server']);
  const env = Object.fromEntries(container.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
  expect(env.GUNICORN_CMD_ARGS.split(' ')).toEqual(expect.arrayContaining(['--bind=0.0.0.0:8050', '--workers=3', '--worker-tmp-dir=/dev/shm']));
  expect(env.PGHOST).toBeUndefined();
  expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true, allowPrivilegeEscalation: false });
  expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe('8050');
  expect(objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name)).not.toContain('allow-dash-sales-to-postgres-5432');
});

test('an app that reads the analytics database gets the read-only role, and is refused where there is none', () => {
  const container = synth([{ name: 'churn', reference: true }]).find((o) => o.kind === 'Deployment').spec.template.spec.containers[0];
  expect(container.env).toContainEqual({ name: 'PGUSER', value: 'analytics_reader' });
  expect(() => synth([{ name: 'churn', reference: true }], false)).toThrowError('dash app churn reads the analytics database, which this cluster does not give it; add dash to components.postgres.analytics.readers or set analytics: false');
});

test('an image with its reference twin, or a wsgi that is not module:attribute, is refused', () => {
  expect(dashAppSchema.safeParse({ name: 'x', reference: true, image: { registry: 'r', repository: 'x', tag: '1' } }).error?.issues[0]).toMatchObject({ path: ['image'] });
  expect(dashAppSchema.safeParse({ name: 'x', image: { registry: 'r', repository: 'x', tag: '1' }, wsgi: 'app' }).error?.issues[0]).toMatchObject({ path: ['wsgi'], message: 'expected module:attribute, e.g. app:server' });
});
