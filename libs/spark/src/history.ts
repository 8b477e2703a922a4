import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  allowFlow,
  contentRevision,
  EnvValue,
  httpProbe,
  jvmTrustEnv,
  Layer,
  PlatformChart,
  PlatformContext,
  PlatformDeployment,
  PlatformService,
  PodSelection,
  quantityValue,
  ResourceSpec,
  S3Bucket,
  s3aSettings,
  s3Env,
  ServiceEndpoint,
  SignIn,
  trustFor,
  WebUi,
  workloadLabels,
} from '@ml-platform/core';
import { SPARK_IMAGE } from './images';
import { SPARK_UID } from './spark';
import { sparkConf, SPARK_DEFAULTS_FILE } from './submit-config';

/** Properties for `SparkHistoryChart`. */
export interface SparkHistoryChartProps {
  readonly context: PlatformContext;
  /** The event logs jobs write; read and cleaned by the history server. */
  readonly eventLogs: S3Bucket;
  /** Delete event logs older than this many days. */
  readonly retentionDays: number;
  /** @default - 100m/1Gi requested, 1 CPU/2Gi limit */
  readonly resources?: ResourceSpec;
  /** @default '5Gi' */
  readonly cacheSize?: string;
}

const PORT = 18080;
const CONF_DIR = '/etc/spark-history';
/** The history server's store of parsed event logs, so that a large log is parsed once. */
const STORE = '/var/lib/spark-history';
const DEFAULT_RESOURCES: ResourceSpec = { requests: { cpu: '100m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } };

/**
 * Spark's history server (namespace `spark-history`): the UI of every finished and running job,
 * from the event logs on S3. One pod: it holds no state of its own (its store is a cache
 * rebuilt from the bucket), and Spark has no way to share the work between two. It also
 * deletes event logs older than the retention, hence its read-write key.
 */
export class SparkHistoryChart extends PlatformChart {
  public readonly server: PodSelection;
  public readonly endpoint: ServiceEndpoint;
  /** The UI, behind the sign-in proxy: the history server has no sign-in of its own. */
  public readonly webUi: WebUi;

  constructor(scope: Construct, id: string, props: SparkHistoryChartProps) {
    super(scope, id, { context: props.context, layer: Layer.APPS });
    const image = props.context.images.image(SPARK_IMAGE);
    const resources = props.resources ?? DEFAULT_RESOURCES;
    const cacheSize = props.cacheSize ?? '5Gi';
    const identity = { name: 'spark-history', instance: id, component: 'history-server', version: image.version };
    const conf = sparkConf(
      [
        ['spark.history.fs.logDirectory', `s3a://${props.eventLogs.bucket}/`],
        ['spark.history.ui.port', String(PORT)],
        ['spark.history.fs.update.interval', '10s'],
        ['spark.history.fs.cleaner.enabled', 'true'],
        ['spark.history.fs.cleaner.interval', '1d'],
        ['spark.history.fs.cleaner.maxAge', `${props.retentionDays}d`],
        ['spark.history.store.path', STORE],
        // Leave a tenth of the emptyDir's limit free, so the kubelet never evicts the pod for it.
        ['spark.history.store.maxDiskUsage', `${Math.floor((quantityValue(cacheSize) * 0.9) / 2 ** 20)}m`],
        ...s3aSettings(props.eventLogs),
      ],
      'libs/spark/src/history.ts',
    );
    const confMap = 'spark-history-conf';
    new k8s.KubeConfigMap(this, 'Conf', { metadata: { name: confMap, namespace: this.namespace, labels: workloadLabels(identity) }, data: { [SPARK_DEFAULTS_FILE]: conf } });
    const heapMi = Math.floor((quantityValue(resources.limits?.memory ?? '2Gi') * 0.75) / 2 ** 20);
    const api = () => httpProbe(PORT, '/api/v1/version');
    const trust = trustFor(this, props.eventLogs);
    const deployment = new PlatformDeployment(this, 'Server', {
      identity,
      // Two servers would both clean the same bucket.
      strategy: 'Recreate',
      podAnnotations: { 'ml-platform.io/config-revision': contentRevision(conf) },
      pod: {
        user: SPARK_UID,
        group: SPARK_UID,
        containers: [
          {
            name: 'history-server',
            image,
            // In the foreground (sbin/start-history-server.sh would daemonise it).
            command: ['/opt/spark/bin/spark-class', 'org.apache.spark.deploy.history.HistoryServer'],
            env: {
              ...s3Env(props.eventLogs),
              ...jvmTrustEnv(props.eventLogs),
              SPARK_CONF_DIR: EnvValue.fromValue(CONF_DIR),
              SPARK_DAEMON_MEMORY: EnvValue.fromValue(`${heapMi}m`),
              SPARK_NO_DAEMONIZE: EnvValue.fromValue('true'),
            },
            ports: [{ name: 'http', number: PORT }],
            resources,
            // Listing a large bucket at start can take a while before the UI answers.
            startupProbe: { ...api(), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 60 },
            livenessProbe: { ...api(), periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 5 },
            readinessProbe: { ...api(), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
            writablePaths: [
              { path: '/tmp', sizeLimit: '256Mi' },
              { path: STORE, sizeLimit: cacheSize },
            ],
            mounts: [{ volume: 'conf', path: CONF_DIR }, ...trust.mounts],
          },
        ],
        volumes: [{ name: 'conf', configMap: { name: confMap } }, ...trust.volumes],
      },
    });
    this.server = deployment.pods;
    this.endpoint = new PlatformService(this, 'Service', { name: 'spark-history', pods: this.server, ports: [{ name: 'http', port: PORT }] }).endpoint('http');
    this.webUi = { name: 'spark-history', purpose: 'Spark jobs: stages, tasks and executors of every run, from the event logs', endpoint: this.endpoint, signIn: SignIn.PROXY, docs: 'spark.md' };
    allowFlow(this.server, props.eventLogs.endpoint);
  }
}
