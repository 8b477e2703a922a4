// A copy of the buckets that matter off the cluster: a CronJob mirrors them with MinIO's client to
// an S3 endpoint the cluster declares (another site's MinIO, or any S3 service), so losing the
// cluster's MinIO does not lose the backups stored on it. docs/backup-restore.md.
import { Duration } from 'cdk8s';
import { z } from 'zod';
import {
  allowEgressToAddresses,
  allowFlow,
  BackupObjectives,
  backupInterval,
  BackupSchedule,
  cidr,
  dnsLabel,
  EnvValue,
  ImageRef,
  INTERNAL_CA_FILE,
  PlatformChart,
  PlatformCronJob,
  S3Bucket,
  s3Url,
  SecretKeyRef,
  secretFilePath,
  trustFor,
} from '@ml-platform/core';

/** The `components.minio.offsite` section of cluster.yaml. */
export const offsiteConfigSchema = z
  .strictObject({
    endpoint: z
      .string()
      .regex(/^https:\/\/[a-z0-9.-]+(:[0-9]{1,5})?$/, { error: 'expected an https:// URL with a host and an optional port, such as https://s3.dr.example.internal' })
      .describe('The off-site S3 endpoint; over HTTPS only.'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'expected an S3 bucket name' }).describe('The bucket there; each copy goes under <cluster>/<bucket>/.'),
    region: z.string().min(1).default('us-east-1'),
    credentialsSecret: dnsLabel.describe("Secret with the off-site key (keys accessKey, secretKey), made by hand from the off-site provider's key and listed under external.secrets."),
    caConfigMap: dnsLabel.optional().describe("ConfigMap with the CA (key ca.crt) of a private off-site endpoint, listed under external.configMaps; public CAs are trusted anyway."),
    cidrs: z.array(cidr).min(1).describe('Addresses of the endpoint: the mirror may reach them and nothing else outside the cluster.'),
    every: backupInterval.default('1d').describe('How often the buckets are mirrored.'),
  })
  .describe('A scheduled copy of the artifact, data and backup buckets to an S3 endpoint off the cluster.');

export type OffsiteConfig = z.output<typeof offsiteConfigSchema>;

/** Properties for `OffsiteMirror`. */
export interface OffsiteMirrorProps {
  readonly config: OffsiteConfig;
  readonly schedule: BackupSchedule;
  /** The buckets to copy, each read with the mirror's own read-only key. */
  readonly buckets: readonly S3Bucket[];
  /** MinIO's client. */
  readonly image: ImageRef;
  readonly user: number;
  readonly instance: string;
}

/** How long one mirror run may take. */
const DEADLINE_SECONDS = 6 * 3600;
const MC = 'mc --config-dir /tmp/mc';

/**
 * The mirror CronJob: `mc mirror --overwrite` of each bucket to `<bucket>/<cluster>/<name>` off
 * site. Deletions are not carried over, so a mistake or an intruder here cannot empty the copy;
 * the off-site bucket's own lifecycle expires what it no longer needs.
 */
export class OffsiteMirror extends PlatformCronJob {
  constructor(scope: PlatformChart, id: string, props: OffsiteMirrorProps) {
    const { config, buckets } = props;
    const [first] = buckets;
    if (!first) throw new Error('minio: an off-site mirror needs at least one bucket to copy');
    const readers = new Set(buckets.map((b) => b.accessKeyId.secretName));
    if (readers.size !== 1) throw new Error(`minio: the off-site mirror reads every bucket with one key, got ${[...readers].join(', ')}`);
    const readerDir = `/run/secrets/${first.accessKeyId.secretName}`;
    const offsiteKey = SecretKeyRef.of(config.credentialsSecret, 'accessKey', "access key of the off-site S3 endpoint (made by hand from the off-site provider's key)");
    const offsiteSecret = SecretKeyRef.of(config.credentialsSecret, 'secretKey', 'secret key of the off-site S3 endpoint');
    const offsiteDir = `/run/secrets/${config.credentialsSecret}`;
    const trust = trustFor(scope, ...buckets);
    const caDir = '/etc/platform/offsite-ca';
    const cluster = scope.context.cluster;
    const script = [
      'set -eu',
      // mc trusts the files in <config-dir>/certs/CAs besides the system's CAs.
      'mkdir -p /tmp/mc/certs/CAs',
      ...(first.tls ? [`cp ${INTERNAL_CA_FILE} /tmp/mc/certs/CAs/internal-ca.crt`] : []),
      ...(config.caConfigMap ? [`cp ${caDir}/ca.crt /tmp/mc/certs/CAs/offsite-ca.crt`] : []),
      `${MC} alias set platform "${s3Url(first)}" "$(cat '${secretFilePath(scope, readerDir, first.accessKeyId)}')" "$(cat '${secretFilePath(scope, readerDir, first.secretAccessKey)}')" >/dev/null`,
      `${MC} alias set offsite "${config.endpoint}" "$(cat '${secretFilePath(scope, offsiteDir, offsiteKey)}')" "$(cat '${secretFilePath(scope, offsiteDir, offsiteSecret)}')" >/dev/null`,
      ...buckets.map((b) => `${MC} mirror --overwrite platform/${b.bucket} offsite/${config.bucket}/${cluster}/${b.bucket}`),
      `echo "copied off site: ${buckets.map((b) => b.bucket).join(', ')}"`,
    ].join('\n');
    super(scope, id, {
      identity: { name: 'minio-offsite-mirror', instance: props.instance, component: 'backup', version: props.image.version },
      schedule: props.schedule.cron,
      activeDeadline: Duration.seconds(DEADLINE_SECONDS),
      pod: {
        user: props.user,
        group: props.user,
        volumes: [...trust.volumes, ...(config.caConfigMap ? [{ name: 'offsite-ca', configMap: { name: config.caConfigMap, items: [{ key: 'ca.crt', path: 'ca.crt' }] } }] : [])],
        containers: [
          {
            name: 'mirror',
            image: props.image,
            command: ['/bin/sh', '-c', script],
            env: { HOME: EnvValue.fromValue('/tmp') },
            resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
            writablePaths: [{ path: '/tmp', sizeLimit: '64Mi' }],
            mounts: [...trust.mounts, ...(config.caConfigMap ? [{ volume: 'offsite-ca', path: caDir }] : [])],
            secretFiles: [
              { directory: readerDir, keys: [first.accessKeyId, first.secretAccessKey] },
              { directory: offsiteDir, keys: [offsiteKey, offsiteSecret] },
            ],
          },
        ],
      },
    });
    BackupObjectives.of(scope).declare({ namespace: scope.namespace, cronJob: this.name, maxAgeSeconds: props.schedule.everySeconds + DEADLINE_SECONDS });
    allowFlow(this.pods, first.endpoint);
    const port = Number(/:([0-9]+)$/.exec(config.endpoint)?.[1] ?? 443);
    allowEgressToAddresses(this.pods, 'offsite-s3', config.cidrs, port);
  }
}
