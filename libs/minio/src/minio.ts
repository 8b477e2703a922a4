import { Construct } from 'constructs';
import { z } from 'zod';
import {
  allowFlow,
  backupSchedule,
  EnvValue,
  httpProbe,
  INTERNAL_CA_FILE,
  Layer,
  PlatformChart,
  PlatformContext,
  PlatformDisruptionBudget,
  PlatformService,
  PlatformStatefulSet,
  PodSelection,
  replicas,
  resources as resourcesSchema,
  ResourceSpec,
  S3Bucket,
  ScriptJob,
  SecretKeyRef,
  secretFilePath,
  ServerCertificate,
  ServiceEndpoint,
  storage,
  volumeClaimTemplate,
  SignIn,
  trustFor,
  WebUi,
} from '@ml-platform/core';
import { MC_IMAGE, MINIO_IMAGE } from './images';
import { OffsiteConfig, offsiteConfigSchema, OffsiteMirror } from './offsite';

/** The reader the off-site mirror copies a bucket as: list it among a bucket's readers. */
export const OFFSITE_READER = 'offsite';

/** Smallest distributed deployment: erasure coding needs at least 4 drives for useful redundancy. */
export const MIN_DISTRIBUTED_REPLICAS = 4;

/** The `components.minio` section of cluster.yaml. */
export const minioConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe('Render MinIO.'),
    mode: z
      .enum(['standalone', 'distributed'])
      .describe('standalone: one pod, one drive (dev). distributed: erasure-coded across 4 or more pods (prod).'),
    replicas: replicas.describe('Pods: 1 for standalone, 4 to 32 for distributed.'),
    storage,
    resources: resourcesSchema.optional(),
    keepOldVersions: z
      .int()
      .min(1)
      .max(3650)
      .optional()
      .describe('Days to keep the versions an overwrite or a delete leaves in the buckets of artifacts and data (mlflow, datasets): versioning on, older versions expired. Off when left out.'),
    offsite: offsiteConfigSchema.optional(),
  })
  .superRefine((value, ctx) => {
    if (value.mode === 'standalone' && value.replicas !== 1) {
      ctx.addIssue({ code: 'custom', path: ['replicas'], message: 'expected 1 for mode standalone' });
    }
    if (value.mode === 'distributed' && value.replicas < MIN_DISTRIBUTED_REPLICAS) {
      ctx.addIssue({ code: 'custom', path: ['replicas'], message: `expected at least ${MIN_DISTRIBUTED_REPLICAS} for mode distributed` });
    }
  })
  .describe('MinIO object storage (S3 API).');

/** How MinIO spreads data. */
export enum MinioMode {
  /** One pod, one drive, no redundancy: for development. */
  STANDALONE = 'standalone',
  /** Erasure-coded across pods, tolerates the loss of pods and drives. */
  DISTRIBUTED = 'distributed',
}

/** A bucket, the component that owns it and those that may only read it. */
export interface MinioBucketSpec {
  /** Bucket name (S3 rules: 3-63 lower-case letters, digits, '-' and '.'). */
  readonly name: string;
  /** Component that reads and writes it; gets its own MinIO user limited to its buckets. */
  readonly consumer: string;
  /**
   * Components that read it and write nothing (TensorBoard reading the training logs notebooks
   * write); each gets its own MinIO user with a read-only policy on the bucket.
   *
   * @default - none
   */
  readonly readers?: string[];
  /**
   * Other components that also read and write it (pipelines writing the datasets notebooks
   * read); each gets its own MinIO user with the owner's rights on the bucket.
   *
   * @default - none
   */
  readonly writers?: string[];
  /**
   * Keep every version of every object: an overwrite or a delete leaves the old version, so a
   * mistake (or an intruder with the consumer's key) cannot destroy what was there. Old versions
   * expire with `expireNoncurrentDays`.
   *
   * @default false
   */
  readonly versioning?: boolean;
  /**
   * Days after which MinIO deletes an object (its current version); backups that expire by age.
   *
   * @default - never
   */
  readonly expireDays?: number;
  /**
   * Days after which MinIO deletes an object version that is no longer current (versioned buckets).
   *
   * @default - never
   */
  readonly expireNoncurrentDays?: number;
}

/** The S3 lifecycle configuration of a bucket, or undefined when it has no rule. */
export function lifecycleOf(spec: MinioBucketSpec): object | undefined {
  if (spec.expireNoncurrentDays !== undefined && !spec.versioning) {
    throw new Error(`minio: bucket '${spec.name}' expires noncurrent versions but keeps none; set versioning: true or drop expireNoncurrentDays`);
  }
  for (const [key, days] of [['expireDays', spec.expireDays], ['expireNoncurrentDays', spec.expireNoncurrentDays]] as const) {
    if (days !== undefined && !(Number.isInteger(days) && days >= 1)) throw new Error(`minio: bucket '${spec.name}' ${key} must be a whole number of days, at least 1; got ${days}`);
  }
  const rules = [
    ...(spec.expireDays !== undefined ? [{ ID: `expire-after-${spec.expireDays}d`, Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: spec.expireDays } }] : []),
    ...(spec.expireNoncurrentDays !== undefined ? [{ ID: `expire-noncurrent-after-${spec.expireNoncurrentDays}d`, Status: 'Enabled', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: spec.expireNoncurrentDays } }] : []),
  ];
  return rules.length > 0 ? { Rules: rules } : undefined;
}

/** What one consumer may do in one bucket. */
enum BucketAccess {
  READ_WRITE = 'rw',
  READ_ONLY = 'ro',
}

interface BucketGrant extends S3Bucket {
  readonly consumer: string;
  readonly access: BucketAccess;
}

/** The S3 actions of each access level. */
const ACTIONS: Record<BucketAccess, { bucket: string[]; objects: string[] }> = {
  [BucketAccess.READ_WRITE]: {
    bucket: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
    objects: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
  },
  [BucketAccess.READ_ONLY]: { bucket: ['s3:GetBucketLocation', 's3:ListBucket'], objects: ['s3:GetObject'] },
};

/** Properties for `MinioChart`. */
export interface MinioChartProps {
  readonly context: PlatformContext;
  /** @default MinioMode.STANDALONE */
  readonly mode?: MinioMode;
  /** @default - 1 standalone, 4 distributed */
  readonly replicas?: number;
  /** Size of each pod's drive, e.g. `50Gi`. */
  readonly storageSize: string;
  /** @default - the cluster's default StorageClass */
  readonly storageClass?: string;
  /** @default - none */
  readonly buckets?: MinioBucketSpec[];
  /** @default - 250m/512Mi requested, 1 CPU/2Gi limit */
  readonly resources?: ResourceSpec;
  /**
   * The host people reach the console at, where it redirects browsers after its own login.
   *
   * @default - `minio-console.<baseDomain>`
   */
  readonly consoleHost?: string;
}

/** Where the server finds its root credentials. */
const ROOT_SECRET_DIR = '/run/secrets/minio-root';
/** MinIO's certificate folder: public.crt, private.key, and the CAs it trusts (its peers') in CAs/. */
const CERTS_DIR = '/etc/minio/certs';
const API_PORT = 9000;
const CONSOLE_PORT = 9001;
/** The upstream chart runs MinIO as 1000:1000; the image itself has no USER. */
const MINIO_UID = 1000;
const DATA_MOUNT = '/export';
const REGION = 'us-east-1';
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const DEFAULT_RESOURCES: ResourceSpec = {
  requests: { cpu: '250m', memory: '512Mi' },
  limits: { cpu: '1', memory: '2Gi' },
};

/**
 * MinIO, the S3 server of the platform: a StatefulSet (standalone or distributed with a
 * headless Service and parallel pod management), API and console Services, and a bucket
 * bootstrap Job that creates each bucket with a user and policy limited to it.
 *
 * The community edition is unmaintained (last image 2025-09); consumers only see `S3Bucket`,
 * so another S3 server can replace this chart without touching them.
 */
export class MinioChart extends PlatformChart {
  public readonly mode: MinioMode;
  public readonly replicas: number;
  /** The S3 API. */
  public readonly api: ServiceEndpoint;
  /** The web console; people reach it through the access layer (`webUi`). */
  public readonly console: ServiceEndpoint;
  /** The console, behind the sign-in proxy; MinIO's own login (root or its users) follows. */
  public readonly webUi: WebUi;
  public readonly server: PodSelection;
  public readonly rootUser: SecretKeyRef;
  public readonly rootPassword: SecretKeyRef;
  /** Whether the API and the console speak HTTPS (with a certificate from the internal CA). */
  public readonly tls: boolean;
  /** Per bucket: its owner's grant first, then its readers'. */
  private readonly buckets = new Map<string, BucketGrant[]>();
  /** Each bucket's versioning and lifecycle, which the bootstrap Job applies. */
  private readonly settings = new Map<string, { readonly versioning: boolean; readonly lifecycle?: object }>();

  constructor(scope: Construct, id: string, props: MinioChartProps) {
    super(scope, id, { context: props.context, layer: Layer.DATA });
    this.mode = props.mode ?? MinioMode.STANDALONE;
    this.replicas = props.replicas ?? (this.mode === MinioMode.DISTRIBUTED ? MIN_DISTRIBUTED_REPLICAS : 1);
    if (this.mode === MinioMode.STANDALONE && this.replicas !== 1) {
      throw new Error(`minio: standalone mode runs exactly 1 replica, got ${this.replicas}; use MinioMode.DISTRIBUTED for more`);
    }
    if (this.mode === MinioMode.DISTRIBUTED && this.replicas < MIN_DISTRIBUTED_REPLICAS) {
      throw new Error(`minio: distributed mode needs at least ${MIN_DISTRIBUTED_REPLICAS} replicas, got ${this.replicas}`);
    }
    const image = props.context.images.image(MINIO_IMAGE);
    this.rootUser = SecretKeyRef.of('minio-root', 'rootUser', 'MinIO root user name');
    this.rootPassword = SecretKeyRef.of('minio-root', 'rootPassword', 'MinIO root password (at least 8 characters)');

    const headlessName = 'minio-headless';
    // With the internal CA, the API, the console and the peers' traffic are HTTPS. MinIO rereads
    // its certificate files every 10 seconds by itself (cmd/common-main.go, getTLSConfig), so a
    // renewal needs no restart; the console reaches the API over 127.0.0.1, which MinIO exempts
    // from the name check.
    const certificate = props.context.internalCa
      ? new ServerCertificate(this, 'Certificate', { secretName: 'minio-tls', services: ['minio', 'minio-console'], headless: headlessName })
      : undefined;
    this.tls = certificate !== undefined;
    const scheme = this.tls ? 'https' : 'http';
    const server = this.mode === MinioMode.DISTRIBUTED
      ? `${scheme}://minio-{0...${this.replicas - 1}}.${props.context.serviceHost(headlessName, this.namespace)}${DATA_MOUNT}`
      : DATA_MOUNT;
    const probe = (path: string) => httpProbe(API_PORT, path, { scheme: this.tls ? 'HTTPS' : 'HTTP' });
    const statefulSet = new PlatformStatefulSet(this, 'Server', {
      identity: { name: 'minio', instance: id, component: 'object-storage', version: image.version },
      replicas: this.replicas,
      // Erasure coding: two drives of a set on one node fail together.
      quorum: true,
      serviceName: headlessName,
      // Distributed peers must all start before any becomes ready.
      podManagementPolicy: 'Parallel',
      // Cluster-wide metrics (drives, quorum, capacity, S3 traffic per server) from every pod:
      // any single pod can answer while others are down; queries take one copy per server.
      metrics: { port: API_PORT, path: '/minio/v2/metrics/cluster', ...(this.tls ? { tls: { subdomain: headlessName } } : {}) },
      pod: {
        user: MINIO_UID,
        group: MINIO_UID,
        volumes: certificate
          ? [
              {
                name: 'certs',
                secret: {
                  secretName: certificate.secretName,
                  items: [
                    { key: 'tls.crt', path: 'public.crt' },
                    { key: 'tls.key', path: 'private.key' },
                    { key: 'ca.crt', path: 'CAs/ca.crt' },
                  ],
                  defaultMode: 0o440,
                },
              },
            ]
          : [],
        containers: [
          {
            name: 'minio',
            image,
            command: ['minio'],
            // --json: the server's log as JSON lines, for the log shipper.
            args: ['server', server, '--address', `:${API_PORT}`, '--console-address', `:${CONSOLE_PORT}`, '--json', ...(this.tls ? ['--certs-dir', CERTS_DIR] : [])],
            env: {
              // MinIO reads the root credentials from these files (cmd/common-main.go,
              // loadEnvVarsFromFiles: a path, or a name under /run/secrets). It ignores a missing
              // file, so the paths come from the same place as the mount below.
              MINIO_ROOT_USER_FILE: EnvValue.fromValue(secretFilePath(this, ROOT_SECRET_DIR, this.rootUser)),
              MINIO_ROOT_PASSWORD_FILE: EnvValue.fromValue(secretFilePath(this, ROOT_SECRET_DIR, this.rootPassword)),
              // Prometheus scrapes without a bearer token; NetworkPolicy limits who may.
              MINIO_PROMETHEUS_AUTH_TYPE: EnvValue.fromValue('public'),
              // MinIO's default certs dir is under $HOME; the root filesystem is read-only.
              HOME: EnvValue.fromValue('/tmp'),
              // Behind the gateway the console must know its public address for redirects.
              MINIO_BROWSER_REDIRECT_URL: EnvValue.fromValue(`https://${props.consoleHost ?? `minio-console.${props.context.baseDomain}`}`),
            },
            ports: [
              { name: scheme, number: API_PORT },
              { name: `${scheme}-console`, number: CONSOLE_PORT },
            ],
            secretFiles: [{ directory: ROOT_SECRET_DIR, keys: [this.rootUser, this.rootPassword] }],
            resources: props.resources ?? DEFAULT_RESOURCES,
            startupProbe: { ...probe('/minio/health/live'), periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 60 },
            livenessProbe: { ...probe('/minio/health/live'), periodSeconds: 30, timeoutSeconds: 10, failureThreshold: 3 },
            readinessProbe: { ...probe('/minio/health/ready'), periodSeconds: 15, timeoutSeconds: 10, failureThreshold: 3 },
            writablePaths: [{ path: '/tmp', sizeLimit: '1Gi' }],
            mounts: [{ volume: 'export', path: DATA_MOUNT, readOnly: false }, ...(certificate ? [{ volume: 'certs', path: CERTS_DIR }] : [])],
          },
        ],
      },
      volumeClaimTemplates: [volumeClaimTemplate(this, 'export', props.storageSize, props.storageClass)],
    });
    this.server = statefulSet.pods;

    const headless = new PlatformService(this, 'Headless', {
      name: headlessName,
      pods: this.server,
      headless: true,
      publishNotReadyAddresses: true,
      ports: [{ name: scheme, port: API_PORT }],
    });
    this.api = new PlatformService(this, 'Api', {
      name: 'minio',
      pods: this.server,
      ports: [{ name: scheme, port: API_PORT }],
    }).endpoint(scheme);
    this.console = new PlatformService(this, 'Console', {
      name: 'minio-console',
      pods: this.server,
      ports: [{ name: `${scheme}-console`, port: CONSOLE_PORT }],
    }).endpoint(`${scheme}-console`);
    this.webUi = { name: 'minio-console', purpose: 'Buckets and objects (MinIO console; its own login follows)', endpoint: this.console, signIn: SignIn.PROXY, tls: this.tls };

    if (this.mode === MinioMode.DISTRIBUTED) {
      // Peers replicate erasure-coded shards to each other over the API port.
      allowFlow(this.server, headless.endpoint(scheme));
      new PlatformDisruptionBudget(this, 'Budget', { pods: this.server, maxUnavailable: 1 });
    }

    for (const spec of props.buckets ?? []) {
      if (!BUCKET_NAME.test(spec.name) || spec.name.includes('..')) {
        throw new Error(`minio: bucket name '${spec.name}' breaks S3 naming rules; use 3-63 lower-case letters, digits, '-' and '.'`);
      }
      if (this.buckets.has(spec.name)) throw new Error(`minio: bucket '${spec.name}' is listed twice`);
      const readers = spec.readers ?? [];
      const writers = spec.writers ?? [];
      const named = [spec.consumer, ...writers, ...readers];
      if (new Set(named).size !== named.length) {
        throw new Error(`minio: bucket '${spec.name}' names a consumer twice (owner '${spec.consumer}', writers ${writers.join(', ') || 'none'}, readers ${readers.join(', ') || 'none'}); give each component one access`);
      }
      const grant = (consumer: string, access: BucketAccess): BucketGrant => {
        const secretName = `minio-user-${consumer}`;
        return {
          consumer,
          access,
          endpoint: this.api,
          bucket: spec.name,
          region: REGION,
          pathStyle: true,
          accessKeyId: SecretKeyRef.of(secretName, 'accessKey', `MinIO access key of ${consumer}, limited to its buckets`),
          secretAccessKey: SecretKeyRef.of(secretName, 'secretKey', `MinIO secret key of ${consumer}`),
          tls: this.tls,
        };
      };
      this.settings.set(spec.name, { versioning: spec.versioning ?? false, lifecycle: lifecycleOf(spec) });
      this.buckets.set(spec.name, [
        grant(spec.consumer, BucketAccess.READ_WRITE),
        ...writers.map((w) => grant(w, BucketAccess.READ_WRITE)),
        ...readers.map((r) => grant(r, BucketAccess.READ_ONLY)),
      ]);
    }
    if (this.buckets.size > 0) this.addBootstrapJob(id);
  }

  /**
   * Mirrors, on `config.every`, every bucket that lists `OFFSITE_READER` among its readers to the
   * off-site endpoint (OffsiteMirror).
   */
  public addOffsiteMirror(config: OffsiteConfig): void {
    const buckets = [...this.buckets.values()].flat().filter((g) => g.consumer === OFFSITE_READER);
    new OffsiteMirror(this, 'OffsiteMirror', { config, schedule: backupSchedule(config.every), buckets, image: this.context.images.image(MC_IMAGE), user: MINIO_UID, instance: this.node.id });
  }

  /**
   * The bucket `name`, which must be listed in `buckets`, with the credentials of its owner or,
   * given `consumer`, of that writer or reader (read-only).
   */
  public bucket(name: string, consumer?: string): S3Bucket {
    const grants = this.buckets.get(name);
    if (!grants) {
      throw new Error(`minio has no bucket '${name}'; add it to the chart's 'buckets' (known: ${[...this.buckets.keys()].join(', ') || 'none'})`);
    }
    if (consumer === undefined) return grants[0];
    const grant = grants.find((g) => g.consumer === consumer);
    if (!grant) throw new Error(`minio bucket '${name}' has no consumer '${consumer}'; add it to the bucket's 'writers' or 'readers'`);
    return grant;
  }

  private addBootstrapJob(instance: string): void {
    const image = this.context.images.image(MC_IMAGE);
    const grants = [...this.buckets.values()].flat();
    const consumers = [...new Map(grants.map((g) => [g.consumer, g])).values()];
    const envPrefix = (consumer: string) => consumer.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    const lines = ['set -eu', 'until mc alias set platform "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null && mc ready platform; do', '  echo "waiting for $MINIO_URL"; sleep 3', 'done'];
    for (const [bucket, { versioning, lifecycle }] of this.settings) {
      lines.push(`mc mb --ignore-existing platform/${bucket}`);
      if (versioning) lines.push(`mc version enable platform/${bucket}`);
      // import replaces the bucket's whole lifecycle configuration: running it again changes nothing.
      if (lifecycle) lines.push(`printf '%s' '${JSON.stringify(lifecycle)}' > /tmp/lifecycle-${bucket}.json`, `mc ilm import platform/${bucket} < /tmp/lifecycle-${bucket}.json`);
    }
    for (const b of grants) {
      const policy = `bucket-${b.bucket}-${b.access}`;
      const user = `"$${envPrefix(b.consumer)}_ACCESS_KEY"`;
      const actions = ACTIONS[b.access];
      const document = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: actions.bucket, Resource: [`arn:aws:s3:::${b.bucket}`] },
          { Effect: 'Allow', Action: actions.objects, Resource: [`arn:aws:s3:::${b.bucket}/*`] },
        ],
      });
      lines.push(
        `printf '%s' '${document}' > /tmp/${policy}.json`,
        `mc admin policy create platform ${policy} /tmp/${policy}.json`,
        `mc admin user add platform ${user} "$${envPrefix(b.consumer)}_SECRET_KEY"`,
        // attach fails when the policy is already attached; that is the state we want.
        `mc admin policy attach platform ${policy} --user ${user} || mc admin user info platform ${user} | grep -q '${policy}'`,
      );
    }
    lines.push(`echo "buckets ready: ${[...this.buckets.keys()].join(', ')}"`);
    const script = lines.join('\n');
    const job = new ScriptJob(this, 'Bootstrap', {
      identity: { name: 'minio-bootstrap', instance, component: 'bootstrap', version: image.version },
      image,
      user: MINIO_UID,
      group: MINIO_UID,
      script,
      volumes: trustFor(this, { tls: this.tls }),
      env: {
        MC_CONFIG_DIR: EnvValue.fromValue('/tmp/.mc'),
        MINIO_URL: EnvValue.fromValue(this.api.url(this.tls ? 'https' : 'http')),
        // mc is Go: over TLS it verifies MinIO against the internal CA, the one file it trusts.
        ...(this.tls ? { SSL_CERT_FILE: EnvValue.fromValue(INTERNAL_CA_FILE) } : {}),
        MINIO_ROOT_USER: EnvValue.fromSecret(this.rootUser),
        MINIO_ROOT_PASSWORD: EnvValue.fromSecret(this.rootPassword),
        ...Object.fromEntries(
          consumers.flatMap((b) => [
            [`${envPrefix(b.consumer)}_ACCESS_KEY`, EnvValue.fromSecret(b.accessKeyId)],
            [`${envPrefix(b.consumer)}_SECRET_KEY`, EnvValue.fromSecret(b.secretAccessKey)],
          ]),
        ),
      },
    });
    allowFlow(job.pods, this.api);
  }
}
