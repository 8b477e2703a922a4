// Spark (and later Airflow) as the clusters declare them: sized per cluster, wired to MinIO, and
// refused, naming file and key, when declared wrong.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
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
const find = (cluster: keyof typeof rendered, kind: string, name: string, namespace?: string): any =>
  rendered[cluster].find((o) => o.kind === kind && o.name === name && (!namespace || o.namespace === namespace))?.manifest;
const conf = (file: string) => new Map(file.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));

describe('Spark jobs', () => {
  test('are sized per cluster, and the quota holds at least one job of that size', () => {
    const dev = conf(find('dev', 'ConfigMap', 'spark-conf', 'spark').data['spark-defaults.conf']);
    const prod = conf(find('prod', 'ConfigMap', 'spark-conf', 'spark').data['spark-defaults.conf']);
    expect([dev.get('spark.executor.instances'), dev.get('spark.executor.memory')]).toEqual(['1', '1024m']);
    expect([prod.get('spark.executor.instances'), prod.get('spark.executor.cores'), prod.get('spark.executor.memory')]).toEqual(['4', '2', '8192m']);
    expect(find('prod', 'ResourceQuota', 'spark-jobs').spec.hard).toMatchObject({ 'limits.cpu': '48', 'limits.memory': '192Gi', pods: 32 });
  });

  test('keep event logs and uploads in their own buckets with their own key; the history server reads and expires the logs', () => {
    const bootstrap = rendered.dev.find((o) => o.kind === 'Job' && o.name.startsWith('minio-bootstrap'))?.manifest;
    const script: string = bootstrap.spec.template.spec.containers[0].command[2];
    for (const line of [
      'mc admin policy attach platform bucket-spark-events-rw --user "$SPARK_ACCESS_KEY"',
      'mc admin policy attach platform bucket-spark-uploads-rw --user "$SPARK_ACCESS_KEY"',
      'mc admin policy attach platform bucket-datasets-rw --user "$SPARK_ACCESS_KEY"',
      'mc admin policy attach platform bucket-spark-events-rw --user "$SPARK_HISTORY_ACCESS_KEY"',
    ]) {
      expect(script).toContain(line);
    }
    const history = conf(find('prod', 'ConfigMap', 'spark-history-conf').data['spark-defaults.conf']);
    expect(history.get('spark.history.fs.cleaner.maxAge')).toBe('30d');
    expect(find('prod', 'HTTPRoute', 'spark-history') ?? find('prod', 'Ingress', 'spark-history')).toBeDefined();
  });

  test('the executor template Spark fills in runs restricted in the jobs namespace', () => {
    const template = parse(find('dev', 'ConfigMap', 'spark-conf', 'spark').data['executor-pod-template.yaml']);
    expect(template.metadata.namespace).toBe('spark');
    expect(template.spec.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
  });
});

describe('a broken spark section', () => {
  const errorsAfter = configErrorsAfter('spark');

  test('executors above the namespace quota are refused, naming file and key', () => {
    const message = errorsAfter('dev', (raw) => void (raw.components.spark.executors.instances = 12));
    expect(message).toContain('clusters/dev/cluster.yaml');
    expect(message).toMatch(/components\.spark\.executors: expected one job of the default size to fit the quota \(cpu 6, memory 12Gi, pods 8\), found .* 12 executor\(s\)/);
  });

  test('Spark without MinIO, or under the Vault backend, is refused', () => {
    expect(errorsAfter('dev', (raw) => void (raw.components.minio.enabled = false))).toContain('components.spark.enabled: expected false while components.minio.enabled is false');
    expect(errorsAfter('stage', (raw) => void (raw.secrets.backend = 'vault'))).toContain('secrets.backend: expected sops while components.spark is enabled');
  });
});

describe('a broken airflow section', () => {
  const errorsAfter = configErrorsAfter('airflow');

  test('an unknown executor is refused, naming file and key', () => {
    const message = errorsAfter('dev', (raw) => void (raw.components.airflow.executor = 'CeleryExecutor'));
    expect(message).toContain('clusters/dev/cluster.yaml');
    expect(message).toContain('components.airflow.executor: expected one of "KubernetesExecutor", found the string "CeleryExecutor"');
  });

  test('a DAG repository without credentials, or with credentials nobody provides, is refused', () => {
    expect(errorsAfter('dev', (raw) => void delete raw.components.airflow.dags.repository.credentialsSecret)).toContain('components.airflow.dags.repository.credentialsSecret');
    expect(errorsAfter('dev', (raw) => void (raw.components.airflow.dags.repository.credentialsSecret = 'dags-token'))).toContain(
      "components.airflow.dags.repository.credentialsSecret: expected 'dags-token' under external.secrets too",
    );
  });

  test('Airflow without PostgreSQL, or under the Vault backend, is refused', () => {
    expect(errorsAfter('dev', (raw) => void (raw.components.postgres.enabled = false))).toContain('components.airflow.enabled: expected false while components.postgres.enabled is false');
    expect(errorsAfter('stage', (raw) => void (raw.secrets.backend = 'vault'))).toContain('secrets.backend: expected sops while components.airflow is enabled');
  });
});

describe('Airflow', () => {
  test('prod runs two api-servers, two schedulers and two triggerers; dev one of each', () => {
    for (const name of ['airflow-api-server', 'airflow-scheduler', 'airflow-triggerer']) {
      expect(find('prod', 'Deployment', name).spec.replicas).toBe(2);
      expect(find('prod', 'PodDisruptionBudget', name)).toBeDefined();
      expect(find('dev', 'Deployment', name).spec.replicas).toBe(1);
    }
  });

  test("tasks submit Spark jobs in Spark's namespace with the submitter template, and may start pods only there", () => {
    const template = parse(find('dev', 'ConfigMap', 'airflow-task-config').data['spark-submit-pod-template.yaml']);
    expect(template.metadata.namespace).toBe('spark');
    expect(template.spec.containers[0]).toMatchObject({ name: 'base', command: ['/opt/spark/bin/spark-submit'] });
    expect(find('dev', 'RoleBinding', 'airflow-spark-submitter').subjects).toEqual([{ kind: 'ServiceAccount', name: 'airflow-task', namespace: 'airflow-tasks' }]);
  });
});

describe('the analytics database', () => {
  const errorsAfter = configErrorsAfter('analytics');

  test("Airflow's tasks get it as the connection analytics, as its writer, with the password from the Secret", () => {
    const template = parse(find('dev', 'ConfigMap', 'airflow-config').data['pod-template.yaml']);
    const env = template.spec.containers[0].env as { name: string; value?: string; valueFrom?: unknown }[];
    const names = env.map((e) => e.name);
    // Kubernetes expands $(ANALYTICS_PASSWORD) only from a variable defined before it.
    expect(names.indexOf('ANALYTICS_PASSWORD')).toBeLessThan(names.indexOf('AIRFLOW_CONN_ANALYTICS'));
    expect(env.find((e) => e.name === 'ANALYTICS_PASSWORD')?.valueFrom).toEqual({ secretKeyRef: { name: 'postgres-role-analytics-writer', key: 'password' } });
    expect(JSON.parse(env.find((e) => e.name === 'AIRFLOW_CONN_ANALYTICS')?.value ?? '{}')).toEqual({
      conn_type: 'postgres',
      host: 'postgres.postgres.svc.cluster.local',
      port: 5432,
      schema: 'analytics',
      login: 'analytics_writer',
      password: '$(ANALYTICS_PASSWORD)',
    });
  });

  test('a consumer that does not use it, or is not enabled, is refused naming file and key', () => {
    expect(errorsAfter('dev', (raw) => void (raw.components.postgres.analytics.readers = ['grafana']))).toContain(
      'components.postgres.analytics.readers.0: expected a component that uses the analytics database (airflow, superset, dash), found the string "grafana"',
    );
    const disabled = errorsAfter('dev', (raw) => void (raw.components.airflow.enabled = false));
    expect(disabled).toContain('components.postgres.analytics.writers.0: expected components.airflow to be enabled');
  });
});
