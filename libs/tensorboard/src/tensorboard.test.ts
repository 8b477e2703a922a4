import { Testing } from 'cdk8s';
import { expect, test } from 'vitest';
import { ImageCatalog, Layer, PlatformChart, PlatformContext, PodSelection, SecretKeyRef, SecretRequirements, ServiceEndpoint } from '@ml-platform/core';
import { SYNC_SCRIPT, TensorBoardChart } from './tensorboard';

const context = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog() });

function boardOf(extra: object = {}) {
  const app = Testing.app();
  const minio = new PlatformChart(app, 'minio', { context, layer: Layer.DATA });
  const endpoint = new ServiceEndpoint('minio', 'minio.minio.svc.cluster.local', 9000, 9000, new PodSelection(minio, 'minio', { name: 'minio', instance: 'minio', component: 'object-storage', version: '1' }));
  const logs = {
    endpoint,
    bucket: 'tensorboard',
    region: 'us-east-1',
    pathStyle: true,
    accessKeyId: SecretKeyRef.of('minio-user-tensorboard', 'accessKey', 'MinIO access key of tensorboard, limited to its buckets'),
    secretAccessKey: SecretKeyRef.of('minio-user-tensorboard', 'secretKey', 'MinIO secret key of tensorboard'),
  };
  const chart = new TensorBoardChart(app, 'tensorboard', { context, logs, ...extra });
  const objects = Testing.synth(chart);
  const pod = objects.find((o) => o.kind === 'Deployment').spec.template.spec;
  const container = (name: string) => pod.containers.find((c: { name: string }) => c.name === name);
  return { app, chart, objects, pod, container };
}

test('TensorBoard reads a local copy that only its sidecar fills from S3, with the read-only key', () => {
  const { pod, container, app } = boardOf();
  expect(container('tensorboard').args).toEqual(['--logdir=/logs', '--host=0.0.0.0', '--port=6006', '--reload_interval=30', '--window_title=TensorBoard']);
  expect(container('tensorboard').volumeMounts).toContainEqual({ name: 'logs', mountPath: '/logs', readOnly: true });
  expect(container('sync').volumeMounts).toContainEqual({ name: 'logs', mountPath: '/logs', readOnly: false });
  expect(pod.volumes).toContainEqual({ name: 'logs', emptyDir: { sizeLimit: '10Gi' } });
  // Credentials only in the sidecar.
  expect(JSON.stringify(container('tensorboard'))).not.toContain('secretKeyRef');
  const env = Object.fromEntries(container('sync').env.map((e: { name: string; value?: string; valueFrom?: object }) => [e.name, e.value ?? e.valueFrom]));
  expect(env).toMatchObject({
    RCLONE_CONFIG_PLATFORM_TYPE: 's3',
    RCLONE_CONFIG_PLATFORM_PROVIDER: 'Minio',
    RCLONE_CONFIG_PLATFORM_ENDPOINT: 'http://minio.minio.svc.cluster.local:9000',
    RCLONE_CONFIG_PLATFORM_ACCESS_KEY_ID: { secretKeyRef: { name: 'minio-user-tensorboard', key: 'accessKey' } },
    SYNC_SOURCE: 'platform:tensorboard',
    SYNC_TARGET: '/logs',
    SYNC_INTERVAL: '30',
  });
  expect(container('sync').command).toEqual(['/bin/sh', '-c', SYNC_SCRIPT]);
  expect(SecretRequirements.of(app).list().map((s) => `${s.name} ${s.namespaces.join(',')}`)).toEqual(['minio-user-tensorboard tensorboard']);
});

test('the sidecar is ready after its first complete copy and restarted when none succeeded for 10 minutes', () => {
  const { container } = boardOf({ syncIntervalSeconds: 60, cacheSize: '50Gi' });
  expect(container('sync').startupProbe.exec.command).toEqual(['/bin/sh', '-c', 'test -f /tmp/synced']);
  expect(container('sync').livenessProbe.exec.command).toEqual(['/bin/sh', '-c', 'test -n "$(find /tmp/synced -mmin -10)"']);
  expect(container('sync').env.find((e: { name: string }) => e.name === 'SYNC_INTERVAL').value).toBe('60');
  expect(boardOf({ cacheSize: '50Gi' }).pod.volumes).toContainEqual({ name: 'logs', emptyDir: { sizeLimit: '50Gi' } });
});

test('only the sidecar reaches MinIO, and people reach TensorBoard through the sign-in proxy', () => {
  const { objects, chart } = boardOf();
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name).sort();
  expect(policies).toEqual(['allow-dns-egress', 'allow-tensorboard-to-minio-9000', 'default-deny']);
  expect(chart.webUi).toMatchObject({ name: 'tensorboard', signIn: 'proxy' });
});
