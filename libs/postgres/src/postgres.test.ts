import { Testing } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import { backupSchedule, ImageCatalog, Layer, PlatformChart, PlatformContext, PodSelection, S3Bucket, SecretKeyRef, ServiceEndpoint } from '@ml-platform/core';
import { backupConfigSchema } from './backup';
import { PostgresChart } from './postgres';

const contextWith = (images = new ImageCatalog()) =>
  new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images });

test('creates one database and role per consumer, with the password by reference', () => {
  const chart = new PostgresChart(Testing.app(), 'postgres', { context: contextWith(), storageSize: '1Gi', databases: ['mlflow', 'airflow'] });
  const db = chart.database('airflow');
  expect(db).toMatchObject({ database: 'airflow', user: 'airflow', password: { secretName: 'postgres-role-airflow', key: 'password' } });
  expect(db.endpoint.authority).toBe('postgres.postgres.svc.cluster.local:5432');
  const job = Testing.synth(chart).find((o) => o.kind === 'Job');
  const script: string = job.spec.template.spec.containers[0].command[2];
  expect(script).toContain(`ALTER ROLE "airflow" WITH LOGIN PASSWORD :'password_airflow';`);
  // Each password from its Secret's file, read by psql itself: in no variable, no argument list.
  expect(script).toContain("\\set password_mlflow `cat '/run/secrets/postgres-role-mlflow/password'`");
  expect(JSON.stringify(job.spec.template.spec.containers[0].env)).not.toContain('postgres-role-');
  expect(job.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'secret-postgres-role-mlflow', mountPath: '/run/secrets/postgres-role-mlflow', readOnly: true });
  expect(script).not.toMatch(/PASSWORD '[^:]/);
});

test('without consumers the bootstrap Job only keeps the exporter role, a member of pg_monitor', () => {
  const chart = new PostgresChart(Testing.app(), 'postgres', { context: contextWith(), storageSize: '1Gi' });
  const job = Testing.synth(chart).find((o) => o.kind === 'Job');
  const script: string = job.spec.template.spec.containers[0].command[2];
  expect(script).toContain(`ALTER ROLE "postgres_exporter" WITH LOGIN PASSWORD :'password_postgres_exporter';`);
  expect(script).toContain('GRANT pg_monitor TO "postgres_exporter";');
  expect(script).not.toContain('CREATE DATABASE');
  expect(script).toContain("\\set password_postgres_exporter `cat '/run/secrets/postgres-monitoring/password'`");
});

test('postgres_exporter runs beside the server over loopback, and declares its metrics', () => {
  const sts = Testing.synth(new PostgresChart(Testing.app(), 'postgres', { context: contextWith(), storageSize: '1Gi' })).find((o) => o.kind === 'StatefulSet');
  const exporter = sts.spec.template.spec.containers.find((c: { name: string }) => c.name === 'postgres-exporter');
  expect(exporter.env).toEqual([
    { name: 'DATA_SOURCE_URI', value: '127.0.0.1:5432/postgres?sslmode=disable' },
    { name: 'DATA_SOURCE_USER', value: 'postgres_exporter' },
    { name: 'DATA_SOURCE_PASS_FILE', value: '/run/secrets/postgres-monitoring/password' },
  ]);
  expect(exporter.volumeMounts).toEqual([{ name: 'secret-postgres-monitoring', mountPath: '/run/secrets/postgres-monitoring', readOnly: true }]);
  expect(exporter.image).toMatch(/^quay\.io\/prometheuscommunity\/postgres-exporter:v0\.\d+\.\d+$/);
  expect(sts.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9187', 'prometheus.io/path': '/metrics' });
});

test('the bootstrap Job is renamed when its work changes', () => {
  const name = (databases: string[]) =>
    Testing.synth(new PostgresChart(Testing.app(), 'postgres', { context: contextWith(), storageSize: '1Gi', databases })).find((o) => o.kind === 'Job')
      .metadata.name;
  expect(name(['mlflow'])).toBe(name(['mlflow']));
  expect(name(['mlflow'])).not.toBe(name(['mlflow', 'airflow']));
});

test('fails on a PostgreSQL older than the 18 data layout', () => {
  const images = new ImageCatalog({ pins: { postgres: { tag: '17.9-trixie' } } });
  expect(() => new PostgresChart(Testing.app(), 'postgres', { context: contextWith(images), storageSize: '1Gi' })).toThrowError(
    "postgres image tag '17.9-trixie' is not PostgreSQL 18 or newer; this chart mounts data at /var/lib/postgresql (the 18+ layout). Pin a 18.x tag",
  );
});

test('fails on database names that are not plain identifiers, and on unknown consumers', () => {
  expect(() => new PostgresChart(Testing.app(), 'postgres', { context: contextWith(), storageSize: '1Gi', databases: ['ml-flow'] })).toThrowError(
    "database 'ml-flow' is not a plain SQL identifier; use lower-case letters, digits and '_', starting with a letter",
  );
  const chart = new PostgresChart(Testing.app(), 'postgres', { context: contextWith(), storageSize: '1Gi', databases: ['mlflow'] });
  expect(() => chart.database('superset')).toThrowError("postgres has no database for 'superset'; add it to the chart's 'databases' (known: mlflow)");
});

test('the analytics database: owned by its writer, read by a read-only reader; no component may take its name', () => {
  const chart = new PostgresChart(Testing.app(), 'postgres', { context: contextWith(), storageSize: '1Gi', databases: ['airflow'], analytics: true });
  expect(chart.analytics('write')).toMatchObject({ database: 'analytics', user: 'analytics_writer' });
  expect(chart.analytics('read')).toMatchObject({ database: 'analytics', user: 'analytics_reader', password: { secretName: 'postgres-role-analytics-reader' } });
  const script: string = Testing.synth(chart).find((o) => o.kind === 'Job').spec.template.spec.containers[0].command[2];
  expect(script).toContain(`CREATE DATABASE %I OWNER %I', 'analytics', 'analytics_writer'`);
  expect(script).toContain('ALTER ROLE "analytics_reader" SET default_transaction_read_only = on;');
  expect(script).toContain('ALTER DEFAULT PRIVILEGES FOR ROLE "analytics_writer" IN SCHEMA public GRANT SELECT ON TABLES TO "analytics_reader";');
  expect(() => new PostgresChart(Testing.app(), 'postgres', { context: contextWith(), storageSize: '1Gi', databases: ['analytics'], analytics: true })).toThrowError(/is the analytics database/);
  expect(() => new PostgresChart(Testing.app(), 'postgres', { context: contextWith(), storageSize: '1Gi' }).analytics('read')).toThrowError(/renders no analytics database/);
});

test('with the internal CA: a certificate, TLS only over TCP, clients that verify the server, and a reload on renewal', () => {
  const context = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog(), internalCa: 'platform-ca' });
  const chart = new PostgresChart(Testing.app(), 'postgres', { context, storageSize: '1Gi', databases: ['mlflow'] });
  expect(chart.database('mlflow').tls).toBe(true);
  const objects = Testing.synth(chart);
  const certificate = objects.find((o) => o.kind === 'Certificate' && o.metadata.name === 'postgres-tls');
  expect(certificate.spec).toMatchObject({ secretName: 'postgres-tls', issuerRef: { kind: 'ClusterIssuer', name: 'platform-ca' }, ipAddresses: ['127.0.0.1'] });
  expect(certificate.spec.dnsNames).toEqual(['postgres', 'postgres.postgres', 'postgres.postgres.svc', 'postgres.postgres.svc.cluster.local', 'localhost']);
  // pg_hba: no plain-text TCP line at all.
  const hba: string = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'postgres-hba').data['pg_hba.conf'];
  expect(hba.split('\n').filter((l) => /^host/.test(l)).every((l) => l.startsWith('hostssl'))).toBe(true);
  const sts = objects.find((o) => o.kind === 'StatefulSet');
  const [server, exporter, reload] = ['postgres', 'postgres-exporter', 'reload-on-renewal'].map((n) => sts.spec.template.spec.containers.find((c: { name: string }) => c.name === n));
  expect(server.args).toEqual(['postgres', '-c', 'ssl=on', '-c', 'ssl_cert_file=/etc/postgresql/tls/tls.crt', '-c', 'ssl_key_file=/etc/postgresql/tls/tls.key', '-c', 'ssl_min_protocol_version=TLSv1.2', '-c', 'hba_file=/etc/postgresql/hba/pg_hba.conf']);
  // The key is readable by the postgres group alone, as PostgreSQL demands of a root-owned key.
  expect(sts.spec.template.spec.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'postgres-tls', defaultMode: 0o440 } });
  expect(sts.spec.template.spec.securityContext.fsGroup).toBe(999);
  expect(exporter.env[0]).toEqual({ name: 'DATA_SOURCE_URI', value: 'localhost:5432/postgres?sslmode=verify-full&sslrootcert=/etc/postgresql/tls/ca.crt' });
  expect(reload.command[2]).toContain('SELECT pg_reload_conf()');
  expect(reload.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toEqual(expect.arrayContaining(['/etc/postgresql/tls', '/var/run/postgresql']));
  // The bootstrap Job is a client like any other.
  const job = objects.find((o) => o.kind === 'Job');
  expect(job.spec.template.spec.containers[0].env).toEqual(expect.arrayContaining([{ name: 'PGSSLMODE', value: 'verify-full' }, { name: 'PGSSLROOTCERT', value: '/etc/platform/internal-ca/ca.crt' }]));
  expect(job.spec.template.spec.volumes).toContainEqual({ name: 'internal-ca', secret: { secretName: 'internal-ca-trust', items: [{ key: 'ca.crt', path: 'ca.crt' }, { key: 'truststore.p12', path: 'truststore.p12' }], defaultMode: 0o444 } });
  expect(objects.find((o) => o.kind === 'Certificate' && o.metadata.name === 'internal-ca-trust').spec.issuerRef.name).toBe('platform-ca');
});

describe('backups', () => {
  const minio = (chart: PlatformChart) => new PodSelection(chart, 'minio', { name: 'minio', instance: 'minio', component: 'server', version: '1' });
  const withBackup = (internalCa?: string) => {
    const app = Testing.app();
    const context = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog(), internalCa });
    const other = new PlatformChart(app, 'minio', { context, layer: Layer.DATA });
    const bucket: S3Bucket = {
      endpoint: new ServiceEndpoint('minio', 'minio.minio.svc.cluster.local', 9000, 9000, minio(other)),
      bucket: 'postgres-backups',
      region: 'us-east-1',
      pathStyle: true,
      accessKeyId: SecretKeyRef.of('minio-user-postgres', 'accessKey', 'key'),
      secretAccessKey: SecretKeyRef.of('minio-user-postgres', 'secretKey', 'secret'),
      tls: true,
    };
    const chart = new PostgresChart(app, 'postgres', { context, storageSize: '1Gi', backup: { bucket, schedule: backupSchedule('1d'), retentionDays: 14, archiveTimeoutSeconds: 300 } });
    return Testing.synth(chart);
  };

  test('the server archives every WAL segment, a TLS server beside it serves the nightly CronJob, and no credential is in an environment', () => {
    const objects = withBackup('internal-ca');
    const sts = objects.find((o) => o.kind === 'StatefulSet').spec.template.spec;
    const server = sts.containers.find((c: { name: string }) => c.name === 'postgres');
    expect(server.args).toEqual(expect.arrayContaining(['archive_mode=on', 'archive_command=pgbackrest --stanza=main archive-push %p', 'archive_timeout=300']));
    expect(server.command[2]).toMatch(/credentials\.conf\nexec docker-entrypoint\.sh "\$@"$/);
    const sidecar = sts.containers.find((c: { name: string }) => c.name === 'backup-server');
    expect(sidecar.ports).toEqual([{ name: 'pgbackrest', containerPort: 8432, protocol: 'TCP' }]);
    // A renewed certificate restarts the TLS server, not the database.
    expect(sidecar.livenessProbe.exec.command[2]).toBe('sha256sum < /etc/postgresql/tls/tls.crt | cmp -s - /tmp/served-certificate');
    const cron = objects.find((o) => o.kind === 'CronJob');
    expect(cron.spec).toMatchObject({ schedule: '15 2 * * *', timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid' });
    const env = JSON.stringify([server.env, sidecar.env, cron.spec.jobTemplate.spec.template.spec.containers[0].env]);
    expect(env).not.toContain('secretKeyRef');
    const certs = objects.filter((o) => o.kind === 'Certificate');
    expect(certs.find((c) => c.metadata.name === 'postgres-backup-client').spec).toMatchObject({ commonName: 'pgbackrest-backup', usages: ['client auth', 'digital signature', 'key encipherment'] });
    expect(certs.find((c) => c.metadata.name === 'postgres-tls').spec.dnsNames).toContain('*.postgres-headless.postgres.svc.cluster.local');
    const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'pgbackrest').data;
    expect(config['backup.conf']).toContain('pg1-host=postgres-0.postgres-headless.postgres.svc.cluster.local\npg1-host-type=tls');
    expect(config['server.conf']).toContain('tls-server-auth=pgbackrest-backup=main');
    expect(config['server.conf']).toContain('repo1-retention-full=14');
  });

  test('are refused without the internal CA, and cluster.yaml is checked: retention at least the interval', () => {
    expect(() => withBackup()).toThrowError(/postgres backups need the internal CA/);
    expect(backupConfigSchema.safeParse({ every: '7d', retention: '3d' }).error?.issues).toEqual([
      expect.objectContaining({ path: ['retention'], message: 'expected at least the full backup interval (every: 7d), found 3d: the only full backup would expire before the next one' }),
    ]);
    expect(backupConfigSchema.safeParse({ every: '5h' }).error?.issues[0].message).toBe('expected one of 1h, 2h, 3h, 4h, 6h, 8h, 12h, 1d, 7d');
    expect(backupSchedule('6h')).toEqual({ cron: '15 */6 * * *', everySeconds: 21600 });
    expect(backupSchedule('7d')).toEqual({ cron: '15 2 * * 0', everySeconds: 604800 });
  });
});
