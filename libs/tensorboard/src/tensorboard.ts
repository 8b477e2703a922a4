import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { z } from 'zod';
import {
  allowFlow,
  EnvValue,
  httpProbe,
  INTERNAL_CA_FILE,
  Layer,
  PlatformChart,
  PlatformContext,
  PlatformDeployment,
  PlatformService,
  PodSelection,
  quantity,
  resources as resourcesSchema,
  ResourceSpec,
  S3Bucket,
  s3Url,
  ServiceEndpoint,
  SignIn,
  trustFor,
  WebUi,
} from '@ml-platform/core';
import { RCLONE_IMAGE, TENSORBOARD_IMAGE } from './images';

/** The `components.tensorboard` section of cluster.yaml. */
export const tensorboardConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe('Render TensorBoard over the training logs bucket (needs minio and jupyterhub, whose notebooks write the logs).'),
    resources: resourcesSchema.optional().describe('TensorBoard itself; default 100m/512Mi requested, 1 CPU/2Gi limit. Memory grows with the number of runs.'),
    sync: z
      .strictObject({
        interval: z.int().min(10).max(3600).default(30).describe('Seconds between two copies from the bucket.'),
        resources: resourcesSchema.optional().describe('The rclone sidecar; default 10m/32Mi requested, 500m/256Mi limit.'),
      })
      .prefault({}),
    cacheSize: quantity.default('10Gi').describe('Upper bound of the local copy of the event files (an emptyDir): the bucket must fit.'),
  })
  .describe('TensorBoard: training curves of every run under s3://tensorboard/<user>/.');

/** Properties for `TensorBoardChart`. */
export interface TensorBoardChartProps {
  readonly context: PlatformContext;
  /** The bucket of event files, with read-only credentials. */
  readonly logs: S3Bucket;
  /** @default - 100m/512Mi requested, 1 CPU/2Gi limit */
  readonly resources?: ResourceSpec;
  /** @default - 10m/32Mi requested, 500m/256Mi limit */
  readonly syncResources?: ResourceSpec;
  /** @default 30 */
  readonly syncIntervalSeconds?: number;
  /** @default '10Gi' */
  readonly cacheSize?: string;
}

const PORT = 6006;
/** Any non-root UID: neither image needs a user of its own (images/tensorboard sets 65532). */
const UID = 65532;
/** The local copy TensorBoard reads and the sidecar fills. */
const LOGS = '/logs';
/** Touched after every complete copy: the sidecar's probes read its age. */
const HEARTBEAT = '/tmp/synced';
/** The rclone remote the sidecar's environment defines (RCLONE_CONFIG_<NAME>_*). */
const REMOTE = 'platform';

const DEFAULT_RESOURCES: ResourceSpec = { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '1', memory: '2Gi' } };
const DEFAULT_SYNC_RESOURCES: ResourceSpec = { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '500m', memory: '256Mi' } };

/**
 * The sidecar's loop: mirror the bucket into the local copy, note the time of every complete
 * copy, wait, again. Everything it needs comes from its environment, so a test can run the
 * rendered script against another S3 server and folder (images/tensorboard/tests).
 */
export const SYNC_SCRIPT = [
  'set -u',
  'while true; do',
  '  if rclone sync "$SYNC_SOURCE" "$SYNC_TARGET" --fast-list --use-json-log; then touch "$HEARTBEAT"; fi',
  '  sleep "$SYNC_INTERVAL"',
  'done',
].join('\n');

/**
 * TensorBoard over the training logs on S3. TensorBoard's own S3 support without TensorFlow
 * creates a client per call and its fast loader reads no S3 at all, so an rclone sidecar mirrors
 * the bucket into a local folder and TensorBoard reads that folder with its fast (Rust) loader.
 * Only the sidecar holds S3 credentials, read-only ones; people reach TensorBoard through the
 * access layer's sign-in.
 */
export class TensorBoardChart extends PlatformChart {
  public readonly server: PodSelection;
  public readonly endpoint: ServiceEndpoint;
  /** The UI, behind the sign-in proxy: TensorBoard has no sign-in of its own. */
  public readonly webUi: WebUi;

  constructor(scope: Construct, id: string, props: TensorBoardChartProps) {
    super(scope, id, { context: props.context, layer: Layer.APPS });
    const images = props.context.images;
    const image = images.image(TENSORBOARD_IMAGE);
    const rclone = images.image(RCLONE_IMAGE);
    const logs = props.logs;
    const trust = trustFor(this, logs);
    const ready = () => httpProbe(PORT, '/data/logdir');
    const heartbeat = (maxAgeMinutes?: number): k8s.Probe => ({
      exec: { command: ['/bin/sh', '-c', maxAgeMinutes ? `test -n "$(find ${HEARTBEAT} -mmin -${maxAgeMinutes})"` : `test -f ${HEARTBEAT}`] },
    });
    const deployment = new PlatformDeployment(this, 'Server', {
      identity: { name: 'tensorboard', instance: id, component: 'ui', version: image.version },
      pod: {
        user: UID,
        group: UID,
        containers: [
          {
            name: 'tensorboard',
            image,
            command: ['tensorboard'],
            args: [`--logdir=${LOGS}`, '--host=0.0.0.0', `--port=${PORT}`, '--reload_interval=30', '--window_title=TensorBoard'],
            env: { HOME: EnvValue.fromValue('/tmp') },
            ports: [{ name: 'http', number: PORT }],
            resources: props.resources ?? DEFAULT_RESOURCES,
            livenessProbe: { ...ready(), periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 5 },
            readinessProbe: { ...ready(), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
            // .tensorboard-info and the data server's files.
            writablePaths: [{ path: '/tmp', sizeLimit: '256Mi' }],
            mounts: [{ volume: 'logs', path: LOGS }],
          },
          {
            name: 'sync',
            image: rclone,
            command: ['/bin/sh', '-c', SYNC_SCRIPT],
            env: {
              [`RCLONE_CONFIG_${REMOTE.toUpperCase()}_TYPE`]: EnvValue.fromValue('s3'),
              [`RCLONE_CONFIG_${REMOTE.toUpperCase()}_PROVIDER`]: EnvValue.fromValue('Minio'),
              [`RCLONE_CONFIG_${REMOTE.toUpperCase()}_ENDPOINT`]: EnvValue.fromValue(s3Url(logs)),
              // rclone's --ca-cert: over TLS it verifies the S3 server against the internal CA.
              ...(logs.tls ? { RCLONE_CA_CERT: EnvValue.fromValue(INTERNAL_CA_FILE) } : {}),
              [`RCLONE_CONFIG_${REMOTE.toUpperCase()}_REGION`]: EnvValue.fromValue(logs.region),
              [`RCLONE_CONFIG_${REMOTE.toUpperCase()}_FORCE_PATH_STYLE`]: EnvValue.fromValue(String(logs.pathStyle)),
              [`RCLONE_CONFIG_${REMOTE.toUpperCase()}_ACCESS_KEY_ID`]: EnvValue.fromSecret(logs.accessKeyId),
              [`RCLONE_CONFIG_${REMOTE.toUpperCase()}_SECRET_ACCESS_KEY`]: EnvValue.fromSecret(logs.secretAccessKey),
              RCLONE_USE_JSON_LOG: EnvValue.fromValue('true'),
              SYNC_SOURCE: EnvValue.fromValue(`${REMOTE}:${logs.bucket}`),
              SYNC_TARGET: EnvValue.fromValue(LOGS),
              SYNC_INTERVAL: EnvValue.fromValue(String(props.syncIntervalSeconds ?? 30)),
              HEARTBEAT: EnvValue.fromValue(HEARTBEAT),
              HOME: EnvValue.fromValue('/tmp'),
            },
            resources: props.syncResources ?? DEFAULT_SYNC_RESOURCES,
            // Ready after the first complete copy; restarted when no copy succeeded for 10 minutes.
            startupProbe: { ...heartbeat(), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 60 },
            readinessProbe: { ...heartbeat(), periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 1 },
            livenessProbe: { ...heartbeat(10), periodSeconds: 60, timeoutSeconds: 5, failureThreshold: 1 },
            writablePaths: [{ path: '/tmp', sizeLimit: '64Mi' }],
            mounts: [{ volume: 'logs', path: LOGS, readOnly: false }, ...trust.mounts],
          },
        ],
        volumes: [{ name: 'logs', emptyDir: { sizeLimit: k8s.Quantity.fromString(props.cacheSize ?? '10Gi') } }, ...trust.volumes],
      },
    });
    this.server = deployment.pods;
    this.endpoint = new PlatformService(this, 'Service', { name: 'tensorboard', pods: this.server, ports: [{ name: 'http', port: PORT }] }).endpoint('http');
    this.webUi = { name: 'tensorboard', purpose: 'Training curves of the runs under s3://tensorboard/<user>/', endpoint: this.endpoint, signIn: SignIn.PROXY, docs: 'tensorboard.md' };
    allowFlow(this.server, logs.endpoint);
  }
}
