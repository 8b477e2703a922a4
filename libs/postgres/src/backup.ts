// Backups of the platform PostgreSQL with pgBackRest: the server archives every WAL segment to a
// MinIO bucket (archive_command), and a CronJob takes full backups through pgBackRest's TLS
// server beside it, so point-in-time recovery reaches any moment since the oldest kept backup.
// The repository is encrypted (aes-256-cbc) with a key from the platform's Secrets; MinIO sees
// only ciphertext. docs/backup-restore.md says how to restore.
import { z } from 'zod';
import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  allowFlow,
  allowPodFlow,
  backupInterval,
  BackupObjectives,
  BackupSchedule,
  ClientCertificate,
  DURATION,
  durationSeconds,
  EnvValue,
  HardenedContainerProps,
  ImageRef,
  INTERNAL_CA_FILE,
  MountSpec,
  PlatformChart,
  PlatformCronJob,
  PodSelection,
  S3Bucket,
  SecretKeyRef,
  secretFilePath,
  trustFor,
  writableVolumeName,
} from '@ml-platform/core';

/** The stanza: pgBackRest's name for this server's backups and archive. */
export const STANZA = 'main';
/** Where the pgBackRest TLS server listens in the server's pod. */
export const BACKUP_SERVER_PORT = 8432;
/** The common name the backup CronJob's client certificate carries; the only client the server admits. */
export const BACKUP_CLIENT = 'pgbackrest-backup';
/** Where pods find the rendered configuration (ConfigMap `pgbackrest`). */
export const PGBACKREST_CONFIG_DIR = '/etc/platform/pgbackrest';
/** Where pods write the include file with the credentials, from the Secrets' files, at start. */
export const PGBACKREST_SECRETS_DIR = '/run/pgbackrest';
/** The database host's file (server, archive_command) and the backup host's (the CronJob). */
export const SERVER_CONFIG = 'server.conf';
export const BACKUP_CONFIG = 'backup.conf';
/** Where the backup CronJob finds its client certificate. */
const CLIENT_TLS_DIR = '/etc/platform/pgbackrest-client';
/** How long a full backup may run. */
const BACKUP_DEADLINE_SECONDS = 2 * 3600;

/** The `components.postgres.backup` section of cluster.yaml. */
export const backupConfigSchema = z
  .strictObject({
    every: backupInterval.default('1d').describe('How often a full backup runs (at 02:15 UTC for 1d and 7d, Sundays for 7d; at minute 15 otherwise).'),
    retention: z
      .string()
      .regex(/^[0-9]+d$/, { error: 'expected a number of days such as 14d' })
      .default('14d')
      .describe('How long full backups are kept, and with them the WAL to recover to any point since the oldest.'),
    archiveTimeout: z
      .string()
      .regex(DURATION, { error: 'expected a duration such as 5m or 1h' })
      .default('5m')
      .describe('A quiet server switches to a new WAL segment at least this often, so archiving loses at most this much (the RPO of the archive).'),
  })
  .superRefine((b, ctx) => {
    if (durationSeconds(b.retention) < durationSeconds(b.every)) {
      ctx.addIssue({ code: 'custom', path: ['retention'], message: `expected at least the full backup interval (every: ${b.every}), found ${b.retention}: the only full backup would expire before the next one` });
    }
    const timeout = durationSeconds(b.archiveTimeout);
    if (timeout < 60 || timeout > 3600) ctx.addIssue({ code: 'custom', path: ['archiveTimeout'], message: `expected 1m to 1h, found ${b.archiveTimeout}: shorter fills the archive with empty segments, longer loses more` });
  })
  .describe('Backups with pgBackRest: WAL archived continuously and full backups to the MinIO bucket postgres-backups, encrypted; point-in-time recovery (needs components.minio and the internal CA).');

export type BackupConfig = z.output<typeof backupConfigSchema>;

/** Properties for the backups of `PostgresChart`. */
export interface PostgresBackupProps {
  /** The repository: a bucket of the platform MinIO, over TLS. */
  readonly bucket: S3Bucket;
  readonly schedule: BackupSchedule;
  /** Full backups older than this many days are expired, with the WAL only they needed. */
  readonly retentionDays: number;
  /** `archive_timeout`: the longest a finished WAL segment waits to be archived. */
  readonly archiveTimeoutSeconds: number;
}

/** Where the pgBackRest options come from in every pod that runs it. */
export const pgbackrestEnv = (config: string): Record<string, EnvValue> => ({
  PGBACKREST_CONFIG: EnvValue.fromValue(`${PGBACKREST_CONFIG_DIR}/${config}`),
  PGBACKREST_CONFIG_INCLUDE_PATH: EnvValue.fromValue(PGBACKREST_SECRETS_DIR),
});

/** The repository's options, the same on both hosts. */
function repositoryOptions(props: PostgresBackupProps, caFile: string): string[] {
  const { bucket } = props;
  return [
    'repo1-type=s3',
    `repo1-s3-endpoint=${bucket.endpoint.host}`,
    `repo1-storage-port=${bucket.endpoint.port}`,
    `repo1-storage-ca-file=${caFile}`,
    `repo1-s3-bucket=${bucket.bucket}`,
    `repo1-s3-region=${bucket.region}`,
    `repo1-s3-uri-style=${bucket.pathStyle ? 'path' : 'host'}`,
    'repo1-path=/postgres',
    // The key is in the include file the pod writes from its Secret.
    'repo1-cipher-type=aes-256-cbc',
    'repo1-retention-full-type=time',
    `repo1-retention-full=${props.retentionDays}`,
    'compress-type=zst',
    'log-level-console=info',
    'log-level-stderr=off',
    'log-level-file=off',
    'lock-path=/tmp/pgbackrest',
  ];
}

/** What the database host needs of the cluster: its data and socket, and the TLS server's files. */
export interface ServerHost {
  readonly dataDirectory: string;
  readonly socketDirectory: string;
  readonly port: number;
  /** The server certificate's folder: `tls.crt`, `tls.key`, and `ca.crt`, which client certificates are checked against. */
  readonly tlsDirectory: string;
}

/** The database host's configuration: archive-push, stanza-create and the TLS server. */
export function serverConfig(props: PostgresBackupProps, host: ServerHost, caFile: string): string {
  return [
    '# Generated by the platform render (libs/postgres/src/backup.ts); do not edit.',
    '# Credentials: repo1-s3-key, repo1-s3-key-secret and repo1-cipher-pass in the include file.',
    '[global]',
    ...repositoryOptions(props, caFile),
    '',
    '[global:server]',
    'tls-server-address=*',
    `tls-server-port=${BACKUP_SERVER_PORT}`,
    `tls-server-cert-file=${host.tlsDirectory}/tls.crt`,
    `tls-server-key-file=${host.tlsDirectory}/tls.key`,
    `tls-server-ca-file=${host.tlsDirectory}/ca.crt`,
    `tls-server-auth=${BACKUP_CLIENT}=${STANZA}`,
    '',
    `[${STANZA}]`,
    `pg1-path=${host.dataDirectory}`,
    `pg1-socket-path=${host.socketDirectory}`,
    `pg1-port=${host.port}`,
    'pg1-user=postgres',
    '',
  ].join('\n');
}

/** The backup host's configuration (the CronJob): the repository, and the server through TLS. */
export function backupConfig(props: PostgresBackupProps, host: ServerHost & { readonly address: string; readonly clientDirectory: string }, caFile: string): string {
  return [
    '# Generated by the platform render (libs/postgres/src/backup.ts); do not edit.',
    '[global]',
    ...repositoryOptions(props, caFile),
    // A checkpoint at once rather than at the next scheduled one.
    'start-fast=y',
    '',
    `[${STANZA}]`,
    `pg1-host=${host.address}`,
    'pg1-host-type=tls',
    `pg1-host-port=${BACKUP_SERVER_PORT}`,
    `pg1-host-ca-file=${caFile}`,
    `pg1-host-cert-file=${host.clientDirectory}/tls.crt`,
    `pg1-host-key-file=${host.clientDirectory}/tls.key`,
    `pg1-path=${host.dataDirectory}`,
    `pg1-socket-path=${host.socketDirectory}`,
    `pg1-port=${host.port}`,
    '',
  ].join('\n');
}

/** The credentials pgBackRest needs, as Secret keys. */
export interface BackupCredentials {
  readonly accessKey: SecretKeyRef;
  readonly secretKey: SecretKeyRef;
  readonly cipherPass: SecretKeyRef;
}

/**
 * Shell lines that write the include file from the Secrets' files: pgBackRest takes options from
 * files or PGBACKREST_* variables only, and a variable would leak into every backend the server
 * starts. The file is the pod's own (emptyDir), mode 0600.
 */
export function writeCredentials(files: { readonly accessKey: string; readonly secretKey: string; readonly cipherPass: string }): string {
  return [
    'umask 077',
    `{ echo '[global]'; printf 'repo1-s3-key=%s\\nrepo1-s3-key-secret=%s\\nrepo1-cipher-pass=%s\\n' "$(cat '${files.accessKey}')" "$(cat '${files.secretKey}')" "$(cat '${files.cipherPass}')"; } > ${PGBACKREST_SECRETS_DIR}/credentials.conf`,
  ].join('\n');
}

/** The ConfigMap a person creates to say which moment a restore goes back to. */
export const RESTORE_TARGET_CONFIGMAP = 'postgres-restore-target';

/**
 * The restore Job's script: the data directory brought back to `$RESTORE_TARGET` (a time such as
 * `2026-12-01 09:30:00+00`, or `latest` for the end of the archive) with `--delta`, which keeps
 * the files that already match. The server replays the archive to the target at its next start
 * (restore_command, written by pgBackRest) and then promotes itself.
 */
export function restoreScript(credentials: string): string {
  return [
    'set -eu',
    `: "\${RESTORE_TARGET:?no target: create ConfigMap ${RESTORE_TARGET_CONFIGMAP} with key target (a time such as 2026-12-01 09:30:00+00, or latest) first, as docs/backup-restore.md says}"`,
    credentials,
    'case "$RESTORE_TARGET" in',
    '  latest) set -- ;;',
    '  *) set -- --type=time "--target=$RESTORE_TARGET" --target-action=promote ;;',
    'esac',
    `pgbackrest --stanza=${STANZA} --delta "$@" restore`,
    'echo "restored; start the server (scale the StatefulSet to 1) and it recovers to: $RESTORE_TARGET"',
  ].join('\n');
}

/** Properties for `PostgresBackups`. */
export interface PostgresBackupsProps extends PostgresBackupProps {
  /** The server's image, which carries pgBackRest. */
  readonly image: ImageRef;
  /** The server's UID and GID (postgres), which owns the data. */
  readonly user: number;
  readonly host: ServerHost;
  /** Where the data volume (`data`) is mounted; PGDATA is below it. */
  readonly dataMount: string;
  /** The server pod's DNS name, which its certificate carries. */
  readonly address: string;
}

/**
 * The backups of one PostgreSQL server: what its pod gets (archiving settings, the TLS server
 * sidecar, the configuration and credentials), and, once the pod exists, the backup CronJob and
 * the restore a person runs.
 */
export class PostgresBackups extends Construct {
  /** The server's extra arguments: WAL archiving with pgBackRest. */
  public readonly serverArgs: string[];
  /** Shell lines that write the credentials file, for every container that runs pgBackRest. */
  public readonly writeCredentials: string;
  public readonly secretFiles: NonNullable<HardenedContainerProps['secretFiles']>;
  public readonly volumes: k8s.Volume[];
  public readonly mounts: MountSpec[];
  /** pgBackRest's TLS server, a sidecar of the server. */
  public readonly serverContainer: HardenedContainerProps;
  private readonly props: PostgresBackupsProps;

  constructor(scope: PlatformChart, id: string, props: PostgresBackupsProps) {
    super(scope, id);
    this.props = props;
    const { bucket, host } = props;
    const trust = trustFor(scope, bucket);
    const cipherPass = SecretKeyRef.of('postgres-backup-cipher', 'passphrase', "pgBackRest's repository key (aes-256-cbc); without it no backup can be read: keep a copy off the cluster", { encoding: 'hex', bytes: 32 });
    const s3Dir = `/run/secrets/${bucket.accessKeyId.secretName}`;
    const cipherDir = '/run/secrets/postgres-backup-cipher';
    this.secretFiles = [
      { directory: s3Dir, keys: [bucket.accessKeyId, bucket.secretAccessKey] },
      { directory: cipherDir, keys: [cipherPass] },
    ];
    this.writeCredentials = writeCredentials({
      accessKey: secretFilePath(scope, s3Dir, bucket.accessKeyId),
      secretKey: secretFilePath(scope, s3Dir, bucket.secretAccessKey),
      cipherPass: secretFilePath(scope, cipherDir, cipherPass),
    });
    const configMap = 'pgbackrest';
    new k8s.KubeConfigMap(scope, 'BackupConfig', {
      metadata: { name: configMap, namespace: scope.namespace, labels: { 'app.kubernetes.io/name': 'pgbackrest', 'app.kubernetes.io/component': 'backup' } },
      data: { [SERVER_CONFIG]: serverConfig(props, host, INTERNAL_CA_FILE), [BACKUP_CONFIG]: backupConfig(props, { ...host, address: props.address, clientDirectory: CLIENT_TLS_DIR }, INTERNAL_CA_FILE) },
    });
    const configMount = { volume: 'pgbackrest', path: PGBACKREST_CONFIG_DIR };
    this.volumes = [{ name: 'pgbackrest', configMap: { name: configMap } }, ...trust.volumes];
    this.mounts = [configMount, ...trust.mounts];
    this.serverArgs = ['-c', 'archive_mode=on', '-c', `archive_command=pgbackrest --stanza=${STANZA} archive-push %p`, '-c', `archive_timeout=${props.archiveTimeoutSeconds}`];
    // The TLS server reads its certificate at start: its liveness fails once the file differs
    // from the one it serves, and the restart brings the renewal in (the database keeps running).
    const served = '/tmp/served-certificate';
    const tcp = { tcpSocket: { port: k8s.IntOrString.fromNumber(BACKUP_SERVER_PORT) }, timeoutSeconds: 3 };
    this.serverContainer = {
      name: 'backup-server',
      image: props.image,
      command: [
        '/bin/sh',
        '-c',
        [
          'set -eu',
          this.writeCredentials,
          `until pg_isready --quiet --host=${host.socketDirectory} --port=${host.port}; do sleep 2; done`,
          // Idempotent: creates the stanza on the first start, checks it on every other.
          `until pgbackrest --stanza=${STANZA} stanza-create; do echo "stanza-create failed; again in 30 s" >&2; sleep 30; done`,
          `sha256sum < ${host.tlsDirectory}/tls.crt > ${served}`,
          'exec pgbackrest server',
        ].join('\n'),
      ],
      env: pgbackrestEnv(SERVER_CONFIG),
      ports: [{ name: 'pgbackrest', number: BACKUP_SERVER_PORT }],
      resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '1', memory: '256Mi' } },
      startupProbe: { ...tcp, periodSeconds: 10, failureThreshold: 90 },
      readinessProbe: { ...tcp, periodSeconds: 10 },
      livenessProbe: { exec: { command: ['/bin/sh', '-c', `sha256sum < ${host.tlsDirectory}/tls.crt | cmp -s - ${served}`] }, periodSeconds: 60, timeoutSeconds: 5, failureThreshold: 1 },
      writablePaths: [{ path: PGBACKREST_SECRETS_DIR, sizeLimit: '1Mi' }, { path: '/tmp', sizeLimit: '64Mi' }],
      mounts: [
        { volume: 'data', path: props.dataMount },
        { volume: 'tls', path: host.tlsDirectory },
        { volume: writableVolumeName(host.socketDirectory), path: host.socketDirectory, readOnly: false },
        ...this.mounts,
      ],
      secretFiles: this.secretFiles,
    };
  }

  /**
   * The full backups, a CronJob on what pgBackRest calls the repository host's side, and the
   * restore, rendered and checked like everything else but run only by a person, with the server
   * stopped (its volume, `dataClaim`, is ReadWriteOnce) and the target in a ConfigMap of their own.
   */
  public addJobs(instance: string, server: PodSelection, dataClaim: string): void {
    const chart = PlatformChart.of(this);
    const { image, user, bucket, schedule } = this.props;
    const client = new ClientCertificate(chart, 'BackupClientCertificate', { secretName: 'postgres-backup-client', commonName: BACKUP_CLIENT });
    const job = (name: string, command: string, env: Record<string, EnvValue>, mounts: MountSpec[]) => ({
      name,
      image,
      command: ['/bin/sh', '-c', command],
      env,
      writablePaths: [{ path: PGBACKREST_SECRETS_DIR, sizeLimit: '1Mi' }, { path: '/tmp', sizeLimit: '256Mi' }],
      mounts: [...this.mounts, ...mounts],
      secretFiles: this.secretFiles,
    });
    const backup = new PlatformCronJob(chart, 'Backup', {
      identity: { name: 'postgres-backup', instance, component: 'backup', version: image.version },
      schedule: schedule.cron,
      activeDeadline: Duration.seconds(BACKUP_DEADLINE_SECONDS),
      pod: {
        user,
        group: user,
        volumes: [...this.volumes, client.volume('client-certificate')],
        containers: [
          {
            ...job('backup', ['set -eu', this.writeCredentials, `pgbackrest --stanza=${STANZA} --type=full backup`, `pgbackrest --stanza=${STANZA} info`].join('\n'), pgbackrestEnv(BACKUP_CONFIG), [{ volume: 'client-certificate', path: CLIENT_TLS_DIR }]),
            resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
          },
        ],
      },
    });
    // A full backup may take its deadline before it counts as late.
    BackupObjectives.of(chart).declare({ namespace: chart.namespace, cronJob: backup.name, maxAgeSeconds: schedule.everySeconds + BACKUP_DEADLINE_SECONDS });
    allowFlow(server, bucket.endpoint);
    allowFlow(backup.pods, bucket.endpoint);
    allowPodFlow(backup.pods, server, BACKUP_SERVER_PORT);

    const restore = new PlatformCronJob(chart, 'Restore', {
      identity: { name: 'postgres-restore', instance, component: 'restore', version: image.version },
      schedule: '0 0 1 1 *',
      suspend: true,
      backoffLimit: 0,
      activeDeadline: Duration.hours(12),
      pod: {
        user,
        group: user,
        volumes: [...this.volumes, { name: 'data', persistentVolumeClaim: { claimName: dataClaim } }],
        containers: [
          {
            ...job('restore', restoreScript(this.writeCredentials), { ...pgbackrestEnv(SERVER_CONFIG), RESTORE_TARGET: EnvValue.fromOptionalConfigMap(RESTORE_TARGET_CONFIGMAP, 'target') }, [
              { volume: 'data', path: this.props.dataMount, readOnly: false },
            ]),
            resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '1Gi' } },
          },
        ],
      },
    });
    allowFlow(restore.pods, bucket.endpoint);
  }
}
