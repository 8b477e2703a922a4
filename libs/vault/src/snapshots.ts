// Vault's scheduled Raft snapshots: a CronJob logs in with its ServiceAccount through Vault's
// Kubernetes auth, under a policy that may read the snapshot endpoint and nothing else, saves a
// snapshot, revokes its token, and uploads the file to a MinIO bucket. No root token anywhere:
// docs/backup-restore.md has the one-time policy and role, and the restore.
import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  allowFlow,
  BackupObjectives,
  BackupSchedule,
  EnvValue,
  ImageRef,
  INTERNAL_CA_FILE,
  LabelKeys,
  PlatformChart,
  PlatformCronJob,
  S3Bucket,
  s3Url,
  secretFilePath,
  ServiceEndpoint,
  trustFor,
  WorkloadIdentity,
} from '@ml-platform/core';

/** The Kubernetes auth role and the policy the snapshot CronJob logs in with. */
export const SNAPSHOT_ROLE = 'vault-snapshot';
/**
 * The policy: the Raft snapshot endpoint, read-only; and, where the cluster keeps its secrets in
 * Vault, the KV path of the upload key, which the job then reads with the same token (an agent
 * would log in as another ServiceAccount).
 */
export function snapshotPolicy(uploadKeyPath?: string): string {
  return [
    '# Raft snapshots (GET sys/storage/raft/snapshot), and nothing else but the upload key.',
    'path "sys/storage/raft/snapshot" {',
    '  capabilities = ["read"]',
    '}',
    ...(uploadKeyPath ? [`path "${uploadKeyPath}" {`, '  capabilities = ["read"]', '}'] : []),
    '',
  ].join('\n');
}
const SNAPSHOT_DIR = '/snapshots';
/** How long a snapshot and its upload may take. */
const DEADLINE_SECONDS = 3600;

/** Properties for `VaultSnapshots`. */
export interface VaultSnapshotsProps {
  /** Where the snapshots go; its lifecycle rules expire them (MinioChart). */
  readonly bucket: S3Bucket;
  readonly schedule: BackupSchedule;
  /** Vault's API, which the CronJob reaches over TLS when `tls`. */
  readonly api: ServiceEndpoint;
  readonly tls: boolean;
  readonly vaultImage: ImageRef;
  /** An image with MinIO's client, `mc`, which uploads the file. */
  readonly uploader: ImageRef;
  readonly identity: WorkloadIdentity;
  /** UID and GID of the pod: Vault's, whose CLI and mc both run as any user. */
  readonly user: number;
  readonly group: number;
}

/** The snapshot CronJob of a Vault chart, its ServiceAccount and the policy as a ConfigMap. */
export class VaultSnapshots extends Construct {
  constructor(scope: PlatformChart, id: string, props: VaultSnapshotsProps) {
    super(scope, id);
    const ns = scope.namespace;
    const labels = { [LabelKeys.NAME]: SNAPSHOT_ROLE, [LabelKeys.COMPONENT]: 'backup' };
    // Its token is what Vault's Kubernetes auth checks (TokenReview): mounted by this pod alone.
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: SNAPSHOT_ROLE, namespace: ns, labels }, automountServiceAccountToken: false });
    // Where the cluster keeps its secrets in Vault, the upload key is there too: the job reads it
    // with its own token and hands it to the uploader in a file of the pod's.
    const vault = scope.context.vault;
    const { accessKeyId, secretAccessKey } = props.bucket;
    const kv = vault && scope.context.readsFromVault(accessKeyId) ? { mount: vault.kvMount, path: `${vault.pathPrefix}/${accessKeyId.secretName}` } : undefined;
    // The policy as the setup writes it (`vault policy write vault-snapshot -`), kept beside the job.
    new k8s.KubeConfigMap(this, 'Policy', {
      metadata: { name: `${SNAPSHOT_ROLE}-policy`, namespace: ns, labels },
      data: { 'policy.hcl': snapshotPolicy(kv ? `${kv.mount}/data/${kv.path}` : undefined) },
    });
    const trust = trustFor(scope, { tls: props.tls }, props.bucket);
    const s3Dir = kv ? `${SNAPSHOT_DIR}/key` : `/run/secrets/${accessKeyId.secretName}`;
    const keyFile = kv ? `${s3Dir}/${accessKeyId.key}` : secretFilePath(scope, s3Dir, accessKeyId);
    const secretFile = kv ? `${s3Dir}/${secretAccessKey.key}` : secretFilePath(scope, s3Dir, secretAccessKey);
    const readKey = kv
      ? [
          `(umask 077; mkdir -p ${s3Dir}`,
          ...[accessKeyId, secretAccessKey].map((ref) => ` vault kv get -mount=${kv.mount} -field=${ref.key} ${kv.path} > ${s3Dir}/${ref.key}`),
          ')',
        ]
      : [];
    const shared = { path: SNAPSHOT_DIR, sizeLimit: '4Gi' };
    const cron = new PlatformCronJob(scope, `${id}CronJob`, {
      identity: props.identity,
      schedule: props.schedule.cron,
      activeDeadline: Duration.seconds(DEADLINE_SECONDS),
      pod: {
        user: props.user,
        group: props.group,
        serviceAccountName: SNAPSHOT_ROLE,
        mountServiceAccountToken: true,
        volumes: trust.volumes,
        initContainers: [
          {
            name: 'snapshot',
            image: props.vaultImage,
            command: [
              '/bin/sh',
              '-c',
              [
                'set -eu',
                `VAULT_TOKEN=$(vault write -field=token auth/kubernetes/login role=${SNAPSHOT_ROLE} jwt=@/var/run/secrets/kubernetes.io/serviceaccount/token)`,
                'export VAULT_TOKEN',
                // Standby servers forward the request to the active one.
                `vault operator raft snapshot save ${SNAPSHOT_DIR}/vault.snap`,
                ...(readKey.length > 0 ? [readKey.join('\n')] : []),
                'vault token revoke -self',
                `test -s ${SNAPSHOT_DIR}/vault.snap`,
              ].join('\n'),
            ],
            env: {
              VAULT_ADDR: EnvValue.fromValue(props.api.url(props.tls ? 'https' : 'http')),
              ...(props.tls ? { VAULT_CACERT: EnvValue.fromValue(INTERNAL_CA_FILE) } : {}),
              HOME: EnvValue.fromValue('/tmp'),
            },
            resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
            writablePaths: [shared, { path: '/tmp', sizeLimit: '16Mi' }],
            mounts: trust.mounts,
          },
        ],
        containers: [
          {
            name: 'upload',
            image: props.uploader,
            command: [
              '/bin/sh',
              '-c',
              [
                'set -eu',
                `mc --config-dir /tmp/mc alias set platform "$S3_URL" "$(cat '${keyFile}')" "$(cat '${secretFile}')" >/dev/null`,
                'name="vault-$(date -u +%Y%m%dT%H%M%SZ).snap"',
                `mc --config-dir /tmp/mc cp ${SNAPSHOT_DIR}/vault.snap "platform/${props.bucket.bucket}/$name"`,
                `mc --config-dir /tmp/mc stat "platform/${props.bucket.bucket}/$name"`,
              ].join('\n'),
            ],
            env: {
              S3_URL: EnvValue.fromValue(s3Url(props.bucket)),
              ...(props.bucket.tls ? { SSL_CERT_FILE: EnvValue.fromValue(INTERNAL_CA_FILE) } : {}),
              HOME: EnvValue.fromValue('/tmp'),
            },
            resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
            writablePaths: [shared, { path: '/tmp', sizeLimit: '16Mi' }],
            mounts: trust.mounts,
            ...(kv ? {} : { secretFiles: [{ directory: s3Dir, keys: [accessKeyId, secretAccessKey] }] }),
          },
        ],
      },
    });
    BackupObjectives.of(scope).declare({ namespace: ns, cronJob: cron.name, maxAgeSeconds: props.schedule.everySeconds + DEADLINE_SECONDS });
    allowFlow(cron.pods, props.api);
    allowFlow(cron.pods, props.bucket.endpoint);
  }
}
