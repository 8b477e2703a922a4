// Backups of the platform PostgreSQL with pgBackRest: the server archives every WAL segment to a
// MinIO bucket (archive_command), and a CronJob takes full backups through pgBackRest's TLS
// server beside it, so point-in-time recovery reaches any moment since the oldest kept backup.
// The repository is encrypted (aes-256-cbc) with a key from the platform's Secrets; MinIO sees
// only ciphertext. docs/backup-restore.md says how to restore.
import { z } from 'zod';
import { BACKUP_INTERVALS, BackupSchedule, DURATION, durationSeconds, EnvValue, S3Bucket, SecretKeyRef } from '@ml-platform/core';

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

/** The `components.postgres.backup` section of cluster.yaml. */
export const backupConfigSchema = z
  .strictObject({
    every: z.enum(BACKUP_INTERVALS, { error: `expected one of ${BACKUP_INTERVALS.join(', ')}` }).default('1d').describe('How often a full backup runs (at 02:15 UTC for 1d and 7d, Sundays for 7d; at minute 15 otherwise).'),
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
