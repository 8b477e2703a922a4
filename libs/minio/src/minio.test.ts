import { Testing } from 'cdk8s';
import { expect, test } from 'vitest';
import { BackupObjectives, ImageCatalog, PlatformContext } from '@ml-platform/core';
import { MinioChart, MinioMode, OFFSITE_READER } from './minio';
import { offsiteConfigSchema } from './offsite';

const context = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog() });

test('hands out a generic S3 bucket with consumer-specific credentials', () => {
  const chart = new MinioChart(Testing.app(), 'minio', { context, storageSize: '1Gi', buckets: [{ name: 'mlflow', consumer: 'mlflow' }] });
  expect(chart.bucket('mlflow')).toMatchObject({
    bucket: 'mlflow',
    region: 'us-east-1',
    pathStyle: true,
    accessKeyId: { secretName: 'minio-user-mlflow', key: 'accessKey' },
    secretAccessKey: { secretName: 'minio-user-mlflow', key: 'secretKey' },
  });
  expect(chart.bucket('mlflow').endpoint.url()).toBe('http://minio.minio.svc.cluster.local:9000');
  const script: string = Testing.synth(chart).find((o) => o.kind === 'Job').spec.template.spec.containers[0].command[2];
  expect(script).toContain('mc mb --ignore-existing platform/mlflow');
  expect(script).toContain('"Resource":["arn:aws:s3:::mlflow/*"]');
  expect(script).toContain('mc admin policy attach platform bucket-mlflow-rw --user "$MLFLOW_ACCESS_KEY"');
});

test('distributed mode lists every peer and spreads the budget', () => {
  const chart = new MinioChart(Testing.app(), 'minio', { context, storageSize: '1Gi', mode: MinioMode.DISTRIBUTED, replicas: 6 });
  const objects = Testing.synth(chart);
  const sts = objects.find((o) => o.kind === 'StatefulSet');
  expect(sts.spec.template.spec.containers[0].args[1]).toBe('http://minio-{0...5}.minio-headless.minio.svc.cluster.local/export');
  expect(objects.find((o) => o.kind === 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
  // Peers may reach each other on the API port, nothing else.
  const peerIngress = objects.find((o) => o.metadata.name === 'allow-minio-from-minio-9000');
  expect(peerIngress.spec.ingress[0].ports).toEqual([{ port: 9000, protocol: 'TCP' }]);
});

test('fails on replica counts the mode cannot run', () => {
  expect(() => new MinioChart(Testing.app(), 'minio', { context, storageSize: '1Gi', replicas: 2 })).toThrowError(
    'minio: standalone mode runs exactly 1 replica, got 2; use MinioMode.DISTRIBUTED for more',
  );
  expect(() => new MinioChart(Testing.app(), 'minio', { context, storageSize: '1Gi', mode: MinioMode.DISTRIBUTED, replicas: 3 })).toThrowError(
    'minio: distributed mode needs at least 4 replicas, got 3',
  );
});

test('fails on invalid bucket names and unknown buckets', () => {
  expect(() => new MinioChart(Testing.app(), 'minio', { context, storageSize: '1Gi', buckets: [{ name: 'ML_Flow', consumer: 'mlflow' }] })).toThrowError(
    "minio: bucket name 'ML_Flow' breaks S3 naming rules; use 3-63 lower-case letters, digits, '-' and '.'",
  );
  const chart = new MinioChart(Testing.app(), 'minio', { context, storageSize: '1Gi' });
  expect(() => chart.bucket('mlflow')).toThrowError("minio has no bucket 'mlflow'; add it to the chart's 'buckets' (known: none)");
});

test('a reader gets its own credentials and a read-only policy on the bucket, the owner keeps read-write', () => {
  const chart = new MinioChart(Testing.app(), 'minio', { context, storageSize: '1Gi', buckets: [{ name: 'tensorboard', consumer: 'jupyterhub', readers: ['tensorboard'] }] });
  expect(chart.bucket('tensorboard').accessKeyId.secretName).toBe('minio-user-jupyterhub');
  expect(chart.bucket('tensorboard', 'tensorboard').accessKeyId.secretName).toBe('minio-user-tensorboard');
  const script: string = Testing.synth(chart).find((o) => o.kind === 'Job').spec.template.spec.containers[0].command[2];
  expect(script).toContain('mc admin policy attach platform bucket-tensorboard-rw --user "$JUPYTERHUB_ACCESS_KEY"');
  expect(script).toContain('mc admin policy attach platform bucket-tensorboard-ro --user "$TENSORBOARD_ACCESS_KEY"');
  // The read-only policy lists and reads, and writes nothing.
  const readOnly = /'(\{[^']*\})' > \/tmp\/bucket-tensorboard-ro\.json/.exec(script)?.[1] ?? '{}';
  expect(JSON.parse(readOnly).Statement.flatMap((s: { Action: string[] }) => s.Action)).toEqual(['s3:GetBucketLocation', 's3:ListBucket', 's3:GetObject']);
  expect(() => chart.bucket('tensorboard', 'mlflow')).toThrowError("minio bucket 'tensorboard' has no consumer 'mlflow'; add it to the bucket's 'writers' or 'readers'");
  expect(() => new MinioChart(Testing.app(), 'minio', { context, storageSize: '1Gi', buckets: [{ name: 'data', consumer: 'a', readers: ['a'] }] })).toThrowError(
    "minio: bucket 'data' names a consumer twice (owner 'a', writers none, readers a); give each component one access",
  );
});

test('a writer gets its own credentials and the read-write policy, beside the owner', () => {
  const chart = new MinioChart(Testing.app(), 'minio', { context, storageSize: '1Gi', buckets: [{ name: 'datasets', consumer: 'jupyterhub', writers: ['airflow'] }] });
  expect(chart.bucket('datasets', 'airflow').accessKeyId.secretName).toBe('minio-user-airflow');
  const script: string = Testing.synth(chart).find((o) => o.kind === 'Job').spec.template.spec.containers[0].command[2];
  expect(script).toContain('mc admin policy attach platform bucket-datasets-rw --user "$JUPYTERHUB_ACCESS_KEY"');
  expect(script).toContain('mc admin policy attach platform bucket-datasets-rw --user "$AIRFLOW_ACCESS_KEY"');
  expect(() => new MinioChart(Testing.app(), 'minio', { context, storageSize: '1Gi', buckets: [{ name: 'data', consumer: 'a', writers: ['b'], readers: ['b'] }] })).toThrowError(/names a consumer twice/);
});

test('with the internal CA, the API, the console and the peers speak HTTPS, and clients verify MinIO', () => {
  const tlsContext = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog(), internalCa: 'platform-ca' });
  const chart = new MinioChart(Testing.app(), 'minio', { context: tlsContext, storageSize: '1Gi', mode: MinioMode.DISTRIBUTED, replicas: 4, buckets: [{ name: 'mlflow', consumer: 'mlflow' }] });
  const objects = Testing.synth(chart);
  const cert = objects.find((o) => o.kind === 'Certificate' && o.metadata.name === 'minio-tls');
  expect(cert.spec.dnsNames).toEqual(expect.arrayContaining(['minio.minio.svc.cluster.local', 'minio-console.minio.svc.cluster.local', '*.minio-headless.minio.svc.cluster.local']));
  const pod = objects.find((o) => o.kind === 'StatefulSet').spec.template.spec;
  const minio = pod.containers[0];
  expect(minio.args[1]).toBe('https://minio-{0...3}.minio-headless.minio.svc.cluster.local/export');
  expect(minio.args.slice(-2)).toEqual(['--certs-dir', '/etc/minio/certs']);
  // MinIO's file names: its certificate and key, and the CA it verifies its peers with.
  expect(pod.volumes.find((v: { name: string }) => v.name === 'certs').secret.items.map((i: { path: string }) => i.path)).toEqual(['public.crt', 'private.key', 'CAs/ca.crt']);
  expect(minio.readinessProbe.httpGet.scheme).toBe('HTTPS');
  expect(pod.containers.map((c: { name: string }) => c.name)).toEqual(['minio']);
  // Prometheus scrapes each pod by the name its certificate holds.
  expect(objects.find((o) => o.kind === 'StatefulSet').spec.template.metadata.annotations).toMatchObject({ 'ml-platform.io/scrape-tls-subdomain': 'minio-headless' });

  const bucket = chart.bucket('mlflow');
  expect(bucket.tls).toBe(true);
  expect(chart.webUi.tls).toBe(true);
  // The bootstrap Job's mc verifies MinIO with the internal CA.
  const job = objects.find((o) => o.kind === 'Job').spec.template.spec;
  const env = Object.fromEntries(job.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]));
  expect(env).toMatchObject({ MINIO_URL: 'https://minio.minio.svc.cluster.local:9000', SSL_CERT_FILE: '/etc/platform/internal-ca/ca.crt' });
  expect(job.containers[0].volumeMounts).toContainEqual(expect.objectContaining({ mountPath: '/etc/platform/internal-ca' }));
});

test('keeps old versions and expires objects where a bucket says so, idempotently, and refuses rules that cannot hold', () => {
  const chart = new MinioChart(Testing.app(), 'minio', {
    context,
    storageSize: '1Gi',
    buckets: [
      { name: 'mlflow', consumer: 'mlflow', versioning: true, expireNoncurrentDays: 30 },
      { name: 'vault-snapshots', consumer: 'vault', expireDays: 14 },
      { name: 'plain', consumer: 'other' },
    ],
  });
  const script: string = Testing.synth(chart).find((o) => o.kind === 'Job').spec.template.spec.containers[0].command[2];
  expect(script).toContain('mc version enable platform/mlflow');
  expect(script).not.toContain('mc version enable platform/vault-snapshots');
  // import replaces the whole configuration, so a second run leaves one rule, not two.
  expect(script).toContain(`'{"Rules":[{"ID":"expire-noncurrent-after-30d","Status":"Enabled","Filter":{"Prefix":""},"NoncurrentVersionExpiration":{"NoncurrentDays":30}}]}' > /tmp/lifecycle-mlflow.json`);
  expect(script).toContain('mc ilm import platform/mlflow < /tmp/lifecycle-mlflow.json');
  expect(script).toContain('"Expiration":{"Days":14}');
  expect(script).not.toContain('platform/plain <');
  expect(() => new MinioChart(Testing.app(), 'minio', { context, storageSize: '1Gi', buckets: [{ name: 'data', consumer: 'x', expireNoncurrentDays: 7 }] })).toThrowError(
    "minio: bucket 'data' expires noncurrent versions but keeps none; set versioning: true or drop expireNoncurrentDays",
  );
  expect(() => new MinioChart(Testing.app(), 'minio', { context, storageSize: '1Gi', buckets: [{ name: 'data', consumer: 'x', expireDays: 0 }] })).toThrowError(
    "minio: bucket 'data' expireDays must be a whole number of days, at least 1; got 0",
  );
});

test('the off-site mirror copies each bucket that lists it as reader, with its own read-only key, to its endpoint alone', () => {
  const app = Testing.app();
  const chart = new MinioChart(app, 'minio', {
    context,
    storageSize: '1Gi',
    buckets: [
      { name: 'mlflow', consumer: 'mlflow', readers: [OFFSITE_READER] },
      { name: 'postgres-backups', consumer: 'postgres', readers: [OFFSITE_READER] },
      { name: 'spark-uploads', consumer: 'spark' },
    ],
  });
  chart.addOffsiteMirror(offsiteConfigSchema.parse({ endpoint: 'https://s3.dr.example.internal:9443', bucket: 'ml-offsite', credentialsSecret: 'offsite-s3', cidrs: ['10.60.0.10/32'] }));
  const objects = Testing.synth(chart);
  const script: string = objects.find((o) => o.kind === 'CronJob').spec.jobTemplate.spec.template.spec.containers[0].command[2];
  expect(script.split('\n').filter((l) => l.includes(' mirror '))).toEqual([
    'mc --config-dir /tmp/mc mirror --overwrite platform/mlflow offsite/ml-offsite/t/mlflow',
    'mc --config-dir /tmp/mc mirror --overwrite platform/postgres-backups offsite/ml-offsite/t/postgres-backups',
  ]);
  expect(script).toContain(`"$(cat '/run/secrets/minio-user-offsite/accessKey')"`);
  // Read-only on what it copies: a leaked mirror key cannot change the buckets.
  const bootstrap: string = objects.find((o) => o.kind === 'Job').spec.template.spec.containers[0].command[2];
  expect(bootstrap).toContain('mc admin policy attach platform bucket-postgres-backups-ro --user "$OFFSITE_ACCESS_KEY"');
  const egress = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'allow-minio-offsite-mirror-to-offsite-s3-9443');
  expect(egress.spec.egress).toEqual([{ to: [{ ipBlock: { cidr: '10.60.0.10/32' } }], ports: [{ port: 9443, protocol: 'TCP' }] }]);
  expect(BackupObjectives.of(app).backups).toEqual([{ namespace: 'minio', cronJob: 'minio-offsite-mirror', maxAgeSeconds: 86400 + 6 * 3600 }]);
  expect(offsiteConfigSchema.safeParse({ endpoint: 'http://s3.dr.example.internal', bucket: 'b', credentialsSecret: 'x', cidrs: ['10.0.0.1/32'] }).error?.issues[0]).toMatchObject({ path: ['endpoint'] });
});
