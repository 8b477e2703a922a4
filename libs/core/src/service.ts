import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { workloadLabels } from './labels';
import { PodSelection, Protocol, ServiceEndpoint } from './network';
import { PlatformChart } from './platform-chart';
import { ComputeQuota } from './wiring';

/** A Service port and the container port behind it. */
export interface ServicePortSpec {
  readonly name: string;
  readonly port: number;
  /** @default - same as `port` */
  readonly targetPort?: number;
  /** @default Protocol.TCP */
  readonly protocol?: Protocol;
}

/** Properties for `PlatformService`. */
export interface PlatformServiceProps {
  /** The Service name; a DNS label that clients will use. */
  readonly name: string;
  /** The pods behind the Service. */
  readonly pods: PodSelection;
  readonly ports: ServicePortSpec[];
  /**
   * Headless (`clusterIP: None`), for StatefulSet pod DNS names.
   *
   * @default false
   */
  readonly headless?: boolean;
  /**
   * Publish pods before they are ready (peers of a clustered StatefulSet must find each other
   * to become ready).
   *
   * @default false
   */
  readonly publishNotReadyAddresses?: boolean;
}

/** A Service that selects its pods by name and instance labels and hands out typed endpoints. */
export class PlatformService extends Construct {
  public readonly name: string;
  private readonly chart: PlatformChart;
  private readonly props: PlatformServiceProps;

  constructor(scope: Construct, id: string, props: PlatformServiceProps) {
    super(scope, id);
    this.chart = PlatformChart.of(this);
    this.props = props;
    this.name = props.name;
    new k8s.KubeService(this, 'Resource', {
      metadata: { name: props.name, namespace: this.chart.namespace, labels: workloadLabels(props.pods.identity) },
      spec: {
        type: 'ClusterIP',
        clusterIp: props.headless ? 'None' : undefined,
        publishNotReadyAddresses: props.publishNotReadyAddresses,
        selector: props.pods.matchLabels,
        ports: props.ports.map((p) => ({
          name: p.name,
          port: p.port,
          targetPort: k8s.IntOrString.fromNumber(p.targetPort ?? p.port),
          protocol: p.protocol ?? Protocol.TCP,
        })),
      },
    });
  }

  /** The endpoint of the port named `portName`. */
  public endpoint(portName: string): ServiceEndpoint {
    const port = this.props.ports.find((p) => p.name === portName);
    if (!port) {
      throw new Error(`service '${this.chart.namespace}/${this.name}' has no port '${portName}'; ports: ${this.props.ports.map((p) => p.name).join(', ')}`);
    }
    return new ServiceEndpoint(
      this.name,
      this.chart.context.serviceHost(this.name, this.chart.namespace),
      port.port,
      port.targetPort ?? port.port,
      this.props.pods,
      port.protocol ?? Protocol.TCP,
    );
  }
}

/** Properties for `PlatformDisruptionBudget`. */
export interface PlatformDisruptionBudgetProps {
  readonly pods: PodSelection;
  /** @default 1 */
  readonly maxUnavailable?: number;
}

/** A PodDisruptionBudget named after its workload: voluntary evictions take at most one pod at a time. */
export class PlatformDisruptionBudget extends Construct {
  constructor(scope: Construct, id: string, props: PlatformDisruptionBudgetProps) {
    super(scope, id);
    new k8s.KubePodDisruptionBudget(this, 'Resource', {
      metadata: { name: props.pods.identity.name, namespace: props.pods.namespace, labels: workloadLabels(props.pods.identity) },
      spec: {
        maxUnavailable: k8s.IntOrString.fromNumber(props.maxUnavailable ?? 1),
        selector: { matchLabels: props.pods.matchLabels },
      },
    });
  }
}


/** Properties for `PlatformResourceQuota`. */
export interface PlatformResourceQuotaProps {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** What all pods of the namespace together may hold. */
  readonly quota: ComputeQuota;
}

/**
 * The ResourceQuota of a namespace of batch pods (Spark executors, jobs): requests and limits of
 * CPU and memory, and pods. Every pod there must then declare its resources, which the platform's
 * pod templates do.
 */
export class PlatformResourceQuota extends Construct {
  constructor(scope: Construct, id: string, props: PlatformResourceQuotaProps) {
    super(scope, id);
    const { cpu, memory, pods } = props.quota;
    new k8s.KubeResourceQuota(this, 'Resource', {
      metadata: { name: props.name, namespace: PlatformChart.of(this).namespace, labels: { ...props.labels } },
      spec: {
        hard: {
          pods: k8s.Quantity.fromNumber(pods),
          'requests.cpu': k8s.Quantity.fromString(cpu),
          'limits.cpu': k8s.Quantity.fromString(cpu),
          'requests.memory': k8s.Quantity.fromString(memory),
          'limits.memory': k8s.Quantity.fromString(memory),
        },
      },
    });
  }
}
