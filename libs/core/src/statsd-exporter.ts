// StatsD in, Prometheus out: the exporter beside a program that only speaks StatsD (Airflow,
// Superset). One Deployment per program, its mapping in a ConfigMap, a Service for the UDP port.
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { containerImage } from './images';
import { workloadLabels } from './labels';
import { PodSelection, Protocol, ServiceEndpoint } from './network';
import { PlatformChart } from './platform-chart';
import { contentRevision } from './revision';
import { PlatformService } from './service';
import { httpProbe, PlatformDeployment } from './workload';

/** Turns StatsD metrics into Prometheus metrics. */
export const STATSD_EXPORTER_IMAGE = containerImage('statsd-exporter', {
  registry: 'quay.io',
  repository: 'prometheus/statsd-exporter',
  tag: 'v0.31.0',
  note: 'statsd_exporter v0.31.0, the newest release on the Go module proxy; the mappings are checked by the same version (tools/tool-versions.env). Digest not pinned: not verifiable offline.',
});

/** Properties for `StatsdExporter`. */
export interface StatsdExporterProps {
  /** The Deployment, ConfigMap (`<name>-mapping`) and Service name, e.g. `airflow-statsd`. */
  readonly name: string;
  /** The mapping file (statsd_exporter's mapping YAML). */
  readonly mapping: string;
}

/** The StatsD port programs send to (UDP), and the port Prometheus scrapes. */
export const STATSD_PORT = 9125;
const METRICS_PORT = 9102;
/** The image's user (nobody). */
const STATSD_UID = 65534;
const RESOURCES = { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } };

/**
 * statsd_exporter for one program: UDP in on 9125, metrics out on 9102 (scraped through the
 * monitoring contract), JSON logs. Senders get their flow with `allowSenders`.
 */
export class StatsdExporter extends Construct {
  public readonly pods: PodSelection;
  /** Where programs send StatsD lines (UDP). */
  public readonly endpoint: ServiceEndpoint;

  constructor(scope: Construct, id: string, props: StatsdExporterProps) {
    super(scope, id);
    const chart = PlatformChart.of(this);
    const image = chart.context.images.image(STATSD_EXPORTER_IMAGE);
    const identity = { name: props.name, instance: chart.component, component: 'metrics', version: image.version };
    const configMap = `${props.name}-mapping`;
    new k8s.KubeConfigMap(this, 'Mapping', { metadata: { name: configMap, namespace: chart.namespace, labels: workloadLabels(identity) }, data: { 'mappings.yml': props.mapping } });
    const deployment = new PlatformDeployment(this, 'Deployment', {
      identity,
      podAnnotations: { 'ml-platform.io/config-revision': contentRevision(props.mapping) },
      metrics: { port: METRICS_PORT, path: '/metrics' },
      pod: {
        user: STATSD_UID,
        group: STATSD_UID,
        volumes: [{ name: 'mapping', configMap: { name: configMap } }],
        containers: [
          {
            name: 'statsd-exporter',
            image,
            args: ['--statsd.mapping-config=/etc/statsd/mappings.yml', `--statsd.listen-udp=:${STATSD_PORT}`, '--statsd.listen-tcp=', `--web.listen-address=:${METRICS_PORT}`, '--log.format=json'],
            ports: [
              { name: 'statsd', number: STATSD_PORT, protocol: Protocol.UDP },
              { name: 'metrics', number: METRICS_PORT },
            ],
            resources: RESOURCES,
            livenessProbe: { ...httpProbe(METRICS_PORT, '/-/healthy'), periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
            readinessProbe: { ...httpProbe(METRICS_PORT, '/-/ready'), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
            mounts: [{ volume: 'mapping', path: '/etc/statsd' }],
          },
        ],
      },
    });
    this.pods = deployment.pods;
    this.endpoint = new PlatformService(this, 'Service', { name: props.name, pods: deployment.pods, ports: [{ name: 'statsd', port: STATSD_PORT, protocol: Protocol.UDP }] }).endpoint('statsd');
  }
}
