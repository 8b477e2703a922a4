import { Testing } from 'cdk8s';
import { expect, test } from 'vitest';
import { PlatformContext } from './context';
import { ImageCatalog } from './images';
import { PodSelection, ServiceEndpoint } from './network';
import { PlatformChart } from './platform-chart';
import { SecretKeyRef } from './secrets';
import { jvmTrustEnv, S3Bucket, s3aSettings, s3Env, trustFor } from './wiring';
import { Layer } from './layers';

const context = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog(), internalCa: 'platform-ca' });

function bucketOn(chart: PlatformChart, tls: boolean): S3Bucket {
  const pods = new PodSelection(chart, 'minio', { name: 'minio', instance: 'minio', component: 'object-storage', version: '1' });
  return {
    endpoint: new ServiceEndpoint('minio', 'minio.minio.svc.cluster.local', 9000, 9000, pods),
    bucket: 'data',
    region: 'us-east-1',
    pathStyle: true,
    accessKeyId: SecretKeyRef.of('minio-user-x', 'accessKey', 'key'),
    secretAccessKey: SecretKeyRef.of('minio-user-x', 'secretKey', 'secret'),
    tls,
  };
}

const valueOf = (env: ReturnType<typeof s3Env>, name: string) => env[name]?._toKube(name).value;

test('a TLS bucket gives Python clients an https endpoint and the CA, JVMs the truststore, and S3A TLS', () => {
  const chart = new PlatformChart(Testing.app(), 'client', { context, layer: Layer.APPS });
  const tls = bucketOn(chart, true);
  const env = s3Env(tls);
  expect(valueOf(env, 'AWS_ENDPOINT_URL_S3')).toBe('https://minio.minio.svc.cluster.local:9000');
  expect(valueOf(env, 'AWS_CA_BUNDLE')).toBe('/etc/platform/internal-ca/ca.crt');
  expect(Object.fromEntries(s3aSettings(tls))).toMatchObject({ 'spark.hadoop.fs.s3a.endpoint': 'https://minio.minio.svc.cluster.local:9000', 'spark.hadoop.fs.s3a.connection.ssl.enabled': 'true' });
  expect(valueOf(jvmTrustEnv(tls), 'JAVA_TOOL_OPTIONS')).toBe('-Djavax.net.ssl.trustStore=/etc/platform/internal-ca/truststore.p12 -Djavax.net.ssl.trustStoreType=PKCS12 -Djavax.net.ssl.trustStorePassword=internal-ca-public');
  const trust = trustFor(chart, tls);
  expect(trust.mounts).toEqual([{ volume: 'internal-ca', path: '/etc/platform/internal-ca' }]);
  expect(trust.volumes[0].secret?.items?.map((i) => i.path)).toEqual(['ca.crt', 'truststore.p12']);
  // The namespace's trust certificate has cert-manager write the truststore too.
  const cert = Testing.synth(chart).find((o) => o.kind === 'Certificate');
  expect(cert.spec.keystores).toEqual({ pkcs12: { create: true, profile: 'Modern2023', password: 'internal-ca-public' } });
});

test('a plain-text bucket (a dev cluster without inClusterTls) adds nothing', () => {
  const chart = new PlatformChart(Testing.app(), 'client', { context, layer: Layer.APPS });
  const plain = bucketOn(chart, false);
  expect(valueOf(s3Env(plain), 'AWS_ENDPOINT_URL_S3')).toBe('http://minio.minio.svc.cluster.local:9000');
  expect(s3Env(plain).AWS_CA_BUNDLE).toBeUndefined();
  expect(jvmTrustEnv(plain)).toEqual({});
  expect(trustFor(chart, plain)).toEqual({ mounts: [], volumes: [] });
  expect(Object.fromEntries(s3aSettings(plain))['spark.hadoop.fs.s3a.connection.ssl.enabled']).toBe('false');
});
