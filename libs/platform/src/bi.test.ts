// Superset, the Dash apps and their data services as the clusters declare them: who gets which credential, what
// each pod may reach, how it is sized, and the refusals, naming file and key, of a wrong declaration.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadClusterConfig, renderInMemory } from '@ml-platform/core';
import { platformRenderSpec } from './platform';
import { configErrorsAfter } from './testing';

const root = join(__dirname, '../../..');
const render = (cluster: string) => {
  const spec = platformRenderSpec(cluster);
  return renderInMemory(spec, loadClusterConfig(spec, join(root, 'clusters', cluster, 'cluster.yaml'), `clusters/${cluster}/cluster.yaml`)).objects;
};
const rendered = { dev: render('dev'), prod: render('prod') };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const find = (cluster: keyof typeof rendered, kind: string, name: string, namespace = 'superset'): any =>
  rendered[cluster].find((o) => o.kind === kind && o.name === name && o.namespace === namespace)?.manifest;
type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
const envOf = (manifest: { spec: { template: { spec: { containers: { env?: EnvVar[] }[] } } } }) => manifest.spec.template.spec.containers[0].env ?? [];
const secretsOf = (manifest: Parameters<typeof envOf>[0]) =>
  Object.fromEntries(envOf(manifest).flatMap((e) => (e.valueFrom?.secretKeyRef ? [[e.name, e.valueFrom.secretKeyRef.name]] : [])));

describe('Superset', () => {
  test('each pod gets only the credentials it uses', () => {
    const job = rendered.dev.find((o) => o.kind === 'Job' && o.name.startsWith('superset-init-'))?.manifest;
    const common = { SUPERSET_SECRET_KEY: 'superset-secrets', PGPASSWORD: 'postgres-role-superset', REDIS_PASSWORD: 'redis-auth' };
    const reads = { ANALYTICS_PASSWORD: 'postgres-role-analytics-reader' };
    expect(secretsOf(find('dev', 'Deployment', 'superset-web'))).toEqual({ ...common, ...reads, OAUTH_CLIENT_SECRET: 'sso-gitlab' });
    expect(secretsOf(find('dev', 'Deployment', 'superset-worker'))).toEqual({ ...common, ...reads });
    expect(secretsOf(find('dev', 'Deployment', 'superset-beat'))).toEqual(common);
    expect(secretsOf(job)).toEqual(common);
  });

  test('reaches the metadata and analytics databases, Redis and GitLab, and nothing else', () => {
    const egress = rendered.dev
      .filter((o) => o.kind === 'NetworkPolicy' && o.namespace === 'superset' && o.name.includes('-to-'))
      .map((o) => o.name)
      .sort();
    expect(egress).toEqual([
      'allow-superset-beat-to-postgres-5432',
      'allow-superset-beat-to-redis-6379',
      'allow-superset-beat-to-superset-statsd-9125-udp',
      'allow-superset-init-to-postgres-5432',
      'allow-superset-web-to-gitlab-443',
      'allow-superset-web-to-postgres-5432',
      'allow-superset-web-to-redis-6379',
      'allow-superset-web-to-superset-statsd-9125-udp',
      'allow-superset-worker-to-postgres-5432',
      'allow-superset-worker-to-redis-6379',
      'allow-superset-worker-to-superset-statsd-9125-udp',
    ]);
  });

  test('keeps its cache and queue in two Redis databases, and the exporter watches the queue', () => {
    const config: string = find('dev', 'ConfigMap', 'superset-config').data['superset_config.py'];
    expect(config).toContain('"CACHE_REDIS_DB": 0,');
    expect(config).toContain('@redis.redis.svc.cluster.local:6379/1"');
    const exporter = find('dev', 'StatefulSet', 'redis', 'redis').spec.template.spec.containers.find((c: { name: string }) => c.name === 'exporter');
    expect(exporter.env).toContainEqual({ name: 'REDIS_EXPORTER_CHECK_SINGLE_KEYS', value: 'db1=celery' });
  });

  test('is sized per cluster: two web servers and two workers in prod, each with a budget; beat alone', () => {
    expect(find('prod', 'Deployment', 'superset-web').spec.replicas).toBe(2);
    expect(envOf(find('prod', 'Deployment', 'superset-web'))).toContainEqual({ name: 'SERVER_WORKER_AMOUNT', value: '4' });
    expect(find('prod', 'Deployment', 'superset-worker').spec.template.spec.containers[0].command).toContain('--concurrency=4');
    for (const name of ['superset-web', 'superset-worker']) expect(find('prod', 'PodDisruptionBudget', name)).toBeDefined();
    expect(find('prod', 'Deployment', 'superset-beat').spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
    expect(find('dev', 'PodDisruptionBudget', 'superset-web')).toBeUndefined();
  });
});

describe('Superset refuses', () => {
  const errorsAfter = configErrorsAfter('superset');

  test('to run without Redis', () => {
    expect(errorsAfter('dev', (raw) => void (raw.components.redis.enabled = false))).toContain(
      'components.superset.enabled: expected false while components.redis.enabled is not true (Superset caches and queues SQL Lab queries in Redis)',
    );
    expect(errorsAfter('dev', (raw) => void delete raw.components.redis)).toContain('components.superset.enabled: expected false while components.redis.enabled is not true');
  });

  test('to be given the analytics database to write, or not be given it at all', () => {
    expect(
      errorsAfter('dev', (raw) => {
        raw.components.postgres.analytics.readers = [];
        raw.components.postgres.analytics.writers.push('superset');
      }),
    ).toContain("components.postgres.analytics.writers.1: expected 'superset' under readers: it only reads the analytics database, and its role may not write");
    expect(errorsAfter('dev', (raw) => void (raw.components.postgres.analytics.readers = []))).toContain(
      "components.postgres.analytics.readers: expected 'superset' here while components.superset is enabled",
    );
  });

  test('editors on a UI without an editor role, and a Superset nobody administers', () => {
    expect(errorsAfter('dev', (raw) => void (raw.access.mlflow.editors = ['ml/data-scientists']))).toContain('access.mlflow.editors: expected no editors: mlflow has no editor role (only superset has)');
    expect(errorsAfter('dev', (raw) => void (raw.access.superset.admins = []))).toContain('access.superset.admins: expected at least one GitLab group');
  });

});

describe('Dash apps', () => {
  test('the reference app reads the analytics database as the read-only role, and nothing else', () => {
    const app = find('dev', 'Deployment', 'dash-churn', 'dash');
    expect(secretsOf(app)).toEqual({ PGPASSWORD: 'postgres-role-analytics-reader' });
    expect(app.spec.template.spec.containers[0].command).toEqual(['gunicorn', 'churn_dashboard.wsgi:server']);
    const egress = rendered.dev.filter((o) => o.kind === 'NetworkPolicy' && o.namespace === 'dash' && o.name.startsWith('allow-dash-churn-to-')).map((o) => o.name);
    expect(egress).toEqual(['allow-dash-churn-to-postgres-5432']);
  });

  test('scale with load in prod, with a budget', () => {
    expect(find('prod', 'HorizontalPodAutoscaler', 'dash-churn', 'dash').spec).toMatchObject({ minReplicas: 2, maxReplicas: 4 });
    expect(find('prod', 'PodDisruptionBudget', 'dash-churn', 'dash')).toBeDefined();
  });
});

describe('Dash apps refuse', () => {
  const errorsAfter = configErrorsAfter('dash');

  test('an app without an image', () => {
    expect(errorsAfter('dev', (raw) => void raw.components.dash.apps.push({ name: 'sales' }))).toContain(
      "components.dash.apps.1.image: expected the app's image (registry, repository, tag), or reference: true for the platform's reference app",
    );
  });

  test('to read the analytics database they are not given, or to write it', () => {
    expect(errorsAfter('dev', (raw) => void (raw.components.postgres.analytics.readers = ['superset']))).toContain("components.postgres.analytics.readers: expected 'dash' here: a Dash app reads the analytics database");
    expect(
      errorsAfter('dev', (raw) => {
        raw.components.postgres.analytics.readers = ['superset'];
        raw.components.postgres.analytics.writers.push('dash');
      }),
    ).toContain("components.postgres.analytics.writers.1: expected 'dash' under readers: it only reads the analytics database, and its role may not write");
  });
});
