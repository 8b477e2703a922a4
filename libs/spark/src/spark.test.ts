import { Testing } from 'cdk8s';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import { ImageCatalog, Layer, PlatformChart, PlatformContext, PodSelection, SecretKeyRef, ServiceEndpoint } from '@ml-platform/core';
import { SparkHistoryChart } from './history';
import { SPARK_IMAGE } from './images';
import { jobPods } from './sizing';
import { SparkJobsChart } from './spark';
import { DRIVER_TEMPLATE_FILE, EXECUTOR_TEMPLATE_FILE, SPARK_DEFAULTS_FILE } from './submit-config';

const context = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog(), apiServer: { cidrs: ['10.0.0.1/32'], port: 6443 } });
const size = { driver: { cores: 1, memory: '1Gi' }, executors: { instances: 2, cores: 2, memory: '2Gi' } };

function bucket(app: ReturnType<typeof Testing.app>, name: string, consumer = 'spark') {
  const minio = (app.node.tryFindChild('minio') as PlatformChart | undefined) ?? new PlatformChart(app, 'minio', { context, layer: Layer.DATA });
  const pods = new PodSelection(minio, 'minio', { name: 'minio', instance: 'minio', component: 'object-storage', version: '1' });
  return {
    endpoint: new ServiceEndpoint('minio', 'minio.minio.svc.cluster.local', 9000, 9000, pods),
    bucket: name,
    region: 'us-east-1',
    pathStyle: true,
    accessKeyId: SecretKeyRef.of(`minio-user-${consumer}`, 'accessKey', 'key'),
    secretAccessKey: SecretKeyRef.of(`minio-user-${consumer}`, 'secretKey', 'secret'),
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function jobs(): { chart: SparkJobsChart; objects: any[]; conf: Record<string, string> } {
  const app = Testing.app();
  const chart = new SparkJobsChart(app, 'spark', { context, size, quota: { cpu: '16', memory: '32Gi', pods: 10 }, eventLogs: bucket(app, 'spark-events'), uploads: bucket(app, 'spark-uploads') });
  const objects = Testing.synth(chart);
  return { chart, objects, conf: objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'spark-conf').data };
}

const properties = (file: string) => new Map(file.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));

test('spark-submit runs in cluster mode in the jobs namespace, with the pod templates and fixed ports', () => {
  const conf = properties(jobs().conf[SPARK_DEFAULTS_FILE]);
  expect(conf.get('spark.master')).toBe('k8s://https://kubernetes.default.svc:443');
  expect(conf.get('spark.submit.deployMode')).toBe('cluster');
  expect(conf.get('spark.kubernetes.namespace')).toBe('spark');
  expect(conf.get('spark.kubernetes.container.image')).toBe(`${SPARK_IMAGE.registry}/${SPARK_IMAGE.repository}:${SPARK_IMAGE.tag}`);
  expect(conf.get('spark.kubernetes.authenticate.driver.serviceAccountName')).toBe('spark');
  expect(conf.get('spark.kubernetes.driver.podTemplateFile')).toBe(`/opt/spark/conf/${DRIVER_TEMPLATE_FILE}`);
  expect(conf.get('spark.kubernetes.executor.podTemplateFile')).toBe(`/opt/spark/conf/${EXECUTOR_TEMPLATE_FILE}`);
  expect(conf.get('spark.eventLog.dir')).toBe('s3a://spark-events/');
  expect(conf.get('spark.kubernetes.file.upload.path')).toBe('s3a://spark-uploads/');
  expect([conf.get('spark.driver.port'), conf.get('spark.blockManager.port')]).toEqual(['7078', '7079']);
  // No credential is written to a file Spark copies into ConfigMaps.
  expect([...conf.keys()].filter((k) => /secret|access\.key|password/i.test(k))).toEqual([]);
});

test('the pods Spark sizes from the configuration are the pods the quota check counts', () => {
  const { conf, objects } = jobs();
  const props = properties(conf[SPARK_DEFAULTS_FILE]);
  const [, driver, executor] = jobPods(size);
  const mi = (v: string | undefined) => Number.parseInt(v ?? '0', 10);
  expect(`${mi(props.get('spark.driver.memory')) + mi(props.get('spark.driver.memoryOverhead'))}Mi`).toBe(driver.memory);
  expect(`${mi(props.get('spark.executor.memory')) + mi(props.get('spark.executor.memoryOverhead'))}Mi`).toBe(executor.memory);
  expect(executor).toEqual({ cpu: '2', memory: `${2048 + 820}Mi` });
  const quota = objects.find((o) => o.kind === 'ResourceQuota');
  expect(quota.spec.hard).toMatchObject({ pods: 10, 'limits.cpu': '16', 'limits.memory': '32Gi' });
});

test('driver, executor and submitter templates pass restricted; only the submitter and driver get a token', () => {
  const { chart, conf } = jobs();
  const driver = parse(conf[DRIVER_TEMPLATE_FILE]);
  const executor = parse(conf[EXECUTOR_TEMPLATE_FILE]);
  const submitter = parse(chart.submission.podTemplate);
  for (const pod of [driver, executor, submitter]) {
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 185, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.spec.containers[0].securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.spec.restartPolicy).toBe('Never');
  }
  expect(driver.spec.containers[0].name).toBe('spark-kubernetes-driver');
  expect(executor.spec.containers[0].name).toBe('spark-kubernetes-executor');
  expect(submitter.spec.containers[0].name).toBe('base');
  expect([driver, submitter].map((p) => [p.spec.serviceAccountName, p.spec.automountServiceAccountToken])).toEqual([['spark', true], ['spark', true]]);
  expect(executor.spec.automountServiceAccountToken).toBe(false);
  // S3 credentials reach every pod from the Secret, by reference.
  for (const pod of [driver, executor, submitter]) {
    expect(pod.spec.containers[0].env).toContainEqual({ name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'minio-user-spark', key: 'accessKey' } } });
  }
});

test('the jobs ServiceAccount manages pods, Services and ConfigMaps in its namespace only; a submitter may only start pods there', () => {
  const { chart, objects } = jobs();
  chart.allowSubmitter({ serviceAccount: 'airflow-worker', namespace: 'airflow-tasks' }, 'airflow');
  const all = Testing.synth(chart);
  const role = objects.find((o) => o.kind === 'Role' && o.metadata.name === 'spark');
  expect(role.metadata.namespace).toBe('spark');
  expect(role.rules.flatMap((r: { resources: string[] }) => r.resources).sort()).toEqual(['configmaps', 'pods', 'services']);
  expect(JSON.stringify(role.rules)).not.toContain('*');
  const submitter = all.find((o) => o.kind === 'Role' && o.metadata.name === 'airflow-spark-submitter');
  expect(submitter.rules.flatMap((r: { resources: string[] }) => r.resources)).toEqual(['pods', 'pods/log', 'events']);
  const binding = all.find((o) => o.kind === 'RoleBinding' && o.metadata.name === 'airflow-spark-submitter');
  expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'airflow-worker', namespace: 'airflow-tasks' }]);
});

test('executors reach their driver and each other on the fixed ports; executors never reach the API server', () => {
  const { chart } = jobs();
  chart.allowSubmitter({ serviceAccount: 'airflow-worker', namespace: 'airflow-tasks' }, 'airflow');
  const names = Testing.synth(chart).filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name);
  expect(names).toEqual(expect.arrayContaining(['allow-spark-executor-to-spark-driver-7078', 'allow-spark-executor-to-spark-driver-7079', 'allow-spark-driver-to-spark-executor-7079', 'allow-spark-driver-to-kube-apiserver-6443', 'allow-spark-submit-to-kube-apiserver-6443']));
  expect(names.filter((n) => n.startsWith('allow-spark-executor-to-kube-apiserver'))).toEqual([]);
});

test('the uploads bucket must share the event logs credentials', () => {
  const app = Testing.app();
  expect(() => new SparkJobsChart(app, 'spark', { context, size, quota: { cpu: '16', memory: '32Gi', pods: 10 }, eventLogs: bucket(app, 'spark-events'), uploads: bucket(app, 'spark-uploads', 'other') })).toThrowError(
    /uploads bucket must use the event logs bucket's credentials/,
  );
});

test('the history server reads and expires the event logs, in the foreground, probed on its REST API', () => {
  const app = Testing.app();
  const objects = Testing.synth(new SparkHistoryChart(app, 'spark-history', { context, eventLogs: bucket(app, 'spark-events', 'spark-history'), retentionDays: 30, cacheSize: '10Gi' }));
  const deployment = objects.find((o) => o.kind === 'Deployment');
  const [container] = deployment.spec.template.spec.containers;
  expect(container.command).toEqual(['/opt/spark/bin/spark-class', 'org.apache.spark.deploy.history.HistoryServer']);
  expect(container.readinessProbe.httpGet).toMatchObject({ path: '/api/v1/version', port: 18080 });
  const conf = properties(objects.find((o) => o.kind === 'ConfigMap').data[SPARK_DEFAULTS_FILE]);
  expect(conf.get('spark.history.fs.logDirectory')).toBe('s3a://spark-events/');
  expect(conf.get('spark.history.fs.cleaner.maxAge')).toBe('30d');
  expect(conf.get('spark.history.store.maxDiskUsage')).toBe(`${Math.floor(10 * 1024 * 0.9)}m`);
  expect(container.env.find((e: { name: string }) => e.name === 'SPARK_DAEMON_MEMORY').value).toBe('1536m');
});
