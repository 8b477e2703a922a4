import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import {
  allowEgressToAddresses,
  grant,
  httpProbe,
  internalCaTrust,
  MetricsScraping,
  PlatformChart,
  PlatformDisruptionBudget,
  PlatformService,
  PlatformStatefulSet,
  PodSelection,
  requireApiServer,
  ResourceSpec,
  ServiceEndpoint,
  volumeClaimTemplate,
  workloadLabels,
} from '@ml-platform/core';
import { prometheusConfig } from './prometheus-config';
import { configReloader } from './reloader';
import { CONFIG_RELOADER_IMAGE, PROMETHEUS_IMAGE } from './images';

export const PROMETHEUS_PORT = 9090;
/** Kubelet's authenticated port, where Prometheus reads node and cAdvisor metrics. */
const KUBELET_PORT = 10250;
/** nobody in the busybox-based image (its Dockerfile: USER nobody). */
const PROMETHEUS_UID = 65534;
const CONFIG_DIR = '/etc/prometheus';
const DATA_DIR = '/prometheus';
/** Part of the volume retention may fill; the rest absorbs compaction and WAL growth. */
const RETENTION_SHARE_OF_VOLUME = 0.8;

const DEFAULT_RESOURCES: ResourceSpec = {
  requests: { cpu: '250m', memory: '1Gi' },
  limits: { cpu: '2', memory: '4Gi' },
};

/** Properties for `Prometheus`. */
export interface PrometheusProps {
  /** @default 1; with 2 both scrape everything and Alertmanager deduplicates their alerts */
  readonly replicas?: number;
  /** Size of each replica's TSDB volume, e.g. `50Gi`. */
  readonly storageSize: string;
  /** @default - the cluster's default StorageClass */
  readonly storageClass?: string;
  /** @default '15d' */
  readonly retentionTime?: string;
  /**
   * Upper bound of the TSDB on disk, in Prometheus units (`40GB`); must stay below the volume.
   *
   * @default - 80% of `storageSize`
   */
  readonly retentionSize?: string;
  /** @default '30s' */
  readonly scrapeInterval?: string;
  /** Rule files by file name (`alerting-rules.yml`) to their YAML text. */
  readonly ruleFiles: Readonly<Record<string, string>>;
  /** `host:port` of each Alertmanager. */
  readonly alertmanagers: string[];
  /**
   * The URL people reach the UI at, for links in alerts and in the UI.
   *
   * @default - none (links point at the pod)
   */
  readonly externalUrl?: string;
  /** @default - 250m/1Gi requested, 2 CPU/4Gi limit */
  readonly resources?: ResourceSpec;
}

const BYTES: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40 };

/** Bytes of a Kubernetes binary quantity (`50Gi`) or a Prometheus size (`40GB`, base 2). */
export function sizeInBytes(size: string, what: string): number {
  const m = /^([0-9]+)(Ki|Mi|Gi|Ti|KB|MB|GB|TB)$/.exec(size);
  if (!m) throw new Error(`${what} '${size}' is not a size such as 50Gi (volume) or 40GB (retention)`);
  return Number(m[1]) * BYTES[m[2]];
}

/**
 * Prometheus without an operator: a StatefulSet with its TSDB on a volume, the config and rules
 * from a ConfigMap that a sidecar hot-reloads, discovery through the API server with read-only
 * cluster-wide access to exactly what discovery and the kubelet metrics need.
 */
export class Prometheus extends Construct {
  public readonly pods: PodSelection;
  /** The query API (Grafana's datasource). */
  public readonly endpoint: ServiceEndpoint;
  public readonly retentionSize: string;

  constructor(scope: Construct, id: string, props: PrometheusProps) {
    super(scope, id);
    const chart = PlatformChart.of(this);
    const { context } = chart;
    const image = context.images.image(PROMETHEUS_IMAGE);
    const replicas = props.replicas ?? 1;
    const volumeBytes = sizeInBytes(props.storageSize, 'prometheus storage size');
    const retentionMb = Math.floor((volumeBytes * RETENTION_SHARE_OF_VOLUME) / 2 ** 20);
    this.retentionSize = props.retentionSize ?? (retentionMb % 1024 === 0 ? `${retentionMb / 1024}GB` : `${retentionMb}MB`);
    if (sizeInBytes(this.retentionSize, 'prometheus retention size') >= volumeBytes) {
      throw new Error(`prometheus: retention size ${this.retentionSize} must be smaller than the volume (${props.storageSize}), or the disk fills before old blocks are deleted`);
    }
    const identity = { name: 'prometheus', instance: chart.component, component: 'metrics-server', version: image.version };
    const labels = workloadLabels(identity);

    // TLS targets are verified against the internal CA, where the cluster has one.
    const trust = context.internalCa ? internalCaTrust(chart) : undefined;
    const config = {
      'prometheus.yml': stringify(
        prometheusConfig({
          cluster: context.cluster,
          scrapeInterval: props.scrapeInterval ?? '30s',
          retentionTime: props.retentionTime ?? '15d',
          retentionSize: this.retentionSize,
          ruleFiles: Object.keys(props.ruleFiles).map((f) => `${CONFIG_DIR}/${f}`),
          alertmanagers: props.alertmanagers,
          internalCaFile: trust?.file,
        }),
        { lineWidth: 0, aliasDuplicateObjects: false },
      ),
      ...props.ruleFiles,
    };
    new k8s.KubeConfigMap(this, 'Config', { metadata: { name: 'prometheus-config', namespace: chart.namespace, labels }, data: config });

    const serviceAccount = 'prometheus';
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: serviceAccount, namespace: chart.namespace, labels }, automountServiceAccountToken: false });
    grant(this, 'Discovery', {
      name: 'prometheus-discovery',
      clusterWide: true,
      subject: { serviceAccount, namespace: chart.namespace },
      labels,
      rules: [
        // Service discovery: pods (the annotation convention), nodes (kubelets), endpoint slices
        // and the services they belong to (the API server).
        { apiGroups: [''], resources: ['pods', 'nodes', 'services'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        // Kubelet and cAdvisor metrics; nodes/proxy would grant the whole kubelet API.
        { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
        { nonResourceUrLs: ['/metrics'], verbs: ['get'] },
      ],
    });

    const statefulSet = new PlatformStatefulSet(this, 'Server', {
      identity,
      replicas,
      serviceName: 'prometheus-headless',
      podManagementPolicy: 'Parallel',
      pod: {
        user: PROMETHEUS_UID,
        group: PROMETHEUS_UID,
        serviceAccountName: serviceAccount,
        mountServiceAccountToken: true,
        // Head block and WAL are flushed on shutdown; large heads take a while.
        terminationGracePeriod: Duration.seconds(300),
        containers: [
          {
            name: 'prometheus',
            image,
            args: [
              `--config.file=${CONFIG_DIR}/prometheus.yml`,
              `--storage.tsdb.path=${DATA_DIR}`,
              '--web.enable-lifecycle',
              // JSON lines, so the log shipper turns them into fields.
              '--log.format=json',
              `--web.listen-address=:${PROMETHEUS_PORT}`,
              ...(props.externalUrl ? [`--web.external-url=${props.externalUrl}`] : []),
            ],
            ports: [{ name: 'http', number: PROMETHEUS_PORT }],
            resources: props.resources ?? DEFAULT_RESOURCES,
            // WAL replay after a restart can take minutes on a busy server.
            startupProbe: { ...httpProbe(PROMETHEUS_PORT, '/-/ready'), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 60 },
            livenessProbe: { ...httpProbe(PROMETHEUS_PORT, '/-/healthy'), periodSeconds: 15, timeoutSeconds: 10, failureThreshold: 3 },
            readinessProbe: { ...httpProbe(PROMETHEUS_PORT, '/-/ready'), periodSeconds: 5, timeoutSeconds: 4, failureThreshold: 3 },
            mounts: [
              { volume: 'config', path: CONFIG_DIR },
              { volume: 'data', path: DATA_DIR, readOnly: false },
              ...(trust ? [trust.mount] : []),
            ],
          },
          configReloader(context.images.image(CONFIG_RELOADER_IMAGE), { watchedDir: CONFIG_DIR, volume: 'config', reloadUrl: `http://127.0.0.1:${PROMETHEUS_PORT}/-/reload` }),
        ],
        volumes: [{ name: 'config', configMap: { name: 'prometheus-config' } }, ...(trust ? [trust.volume] : [])],
      },
      volumeClaimTemplates: [volumeClaimTemplate(this, 'data', props.storageSize, props.storageClass)],
    });
    this.pods = statefulSet.pods;
    if (replicas > 1) new PlatformDisruptionBudget(this, 'Budget', { pods: this.pods });
    new PlatformService(this, 'Headless', { name: 'prometheus-headless', pods: this.pods, headless: true, ports: [{ name: 'http', port: PROMETHEUS_PORT }] });
    this.endpoint = new PlatformService(this, 'Service', { name: 'prometheus', pods: this.pods, ports: [{ name: 'http', port: PROMETHEUS_PORT }] }).endpoint('http');

    // Discovery and the API server's own metrics.
    const apiServer = requireApiServer(chart);
    allowEgressToAddresses(this.pods, 'kube-apiserver', apiServer.cidrs, apiServer.port);
    const nodes = context.nodes;
    if (!nodes) throw new Error('monitoring scrapes the kubelets and node-exporter on the nodes: set network.nodes.cidrs in cluster.yaml');
    allowEgressToAddresses(this.pods, 'kubelet', nodes.cidrs, KUBELET_PORT);
    // Every workload that declares metrics, from now on and before, lets these pods in.
    MetricsScraping.of(this).scrapeWith(this.pods);
  }
}
