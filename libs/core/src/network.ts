import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { LabelKeys, NAMESPACE_NAME_LABEL, selectorLabels, WorkloadIdentity } from './labels';

/**
 * A typed handle on a set of pods: which namespace, which selector labels, and the chart
 * that owns them (where policies for their side of a flow are written).
 */
export class PodSelection {
  constructor(
    /** The chart the pods are defined in. */
    public readonly chart: Construct,
    /** The pods' namespace. */
    public readonly namespace: string,
    /** Who the pods are. */
    public readonly identity: WorkloadIdentity,
  ) {}

  /** The `app.kubernetes.io/name` + `instance` selector. */
  public get matchLabels(): Record<string, string> {
    return selectorLabels(this.identity);
  }

  /** A NetworkPolicy peer selecting exactly these pods, in their namespace. */
  public toPeer(): k8s.NetworkPolicyPeer {
    return {
      namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: this.namespace } },
      podSelector: { matchLabels: this.matchLabels },
    };
  }
}

/** Transport protocol of a port. */
export enum Protocol {
  TCP = 'TCP',
  UDP = 'UDP',
}

/**
 * A typed handle on something reachable through a Service: its DNS name, the Service port
 * clients use, and the container port the traffic lands on (what NetworkPolicies match).
 */
export class ServiceEndpoint {
  constructor(
    /** The Service name. */
    public readonly service: string,
    /** Fully qualified in-cluster host of the Service. */
    public readonly host: string,
    /** The Service port clients connect to. */
    public readonly port: number,
    /** The container port behind it. */
    public readonly targetPort: number,
    /** The pods behind the Service. */
    public readonly pods: PodSelection,
    /** Protocol. */
    public readonly protocol: Protocol = Protocol.TCP,
  ) {}

  /** `host:port`. */
  public get authority(): string {
    return `${this.host}:${this.port}`;
  }

  /** A URL for this endpoint, `http://host:port` by default. */
  public url(scheme: 'http' | 'https' = 'http'): string {
    return `${scheme}://${this.authority}`;
  }
}

function flowLabels(side: PodSelection): Record<string, string> {
  return { [LabelKeys.NAME]: side.identity.name, [LabelKeys.COMPONENT]: 'network-policy' };
}

/**
 * Writes one single-direction NetworkPolicy for `side`'s pods in `side`'s chart, allowing
 * `peers` on `port`; a policy of the same name written before is kept (declaring twice is harmless).
 */
function writePolicy(side: PodSelection, name: string, direction: 'Ingress' | 'Egress', peers: k8s.NetworkPolicyPeer[], port: k8s.NetworkPolicyPort): void {
  const id = `NetworkPolicy-${name}`;
  if (side.chart.node.tryFindChild(id)) return;
  const rule = direction === 'Ingress' ? { ingress: [{ from: peers, ports: [port] }] } : { egress: [{ to: peers, ports: [port] }] };
  new k8s.KubeNetworkPolicy(side.chart, id, {
    metadata: { name, namespace: side.namespace, labels: flowLabels(side) },
    spec: { podSelector: { matchLabels: side.matchLabels }, policyTypes: [direction], ...rule },
  });
}

const tcp = (port: number): k8s.NetworkPolicyPort => ({ port: k8s.IntOrString.fromNumber(port), protocol: 'TCP' });

/**
 * Declares that `from` talks to `to`, and writes the two NetworkPolicies that allow exactly
 * that flow on top of each namespace's default deny: egress from the client pods (in the
 * client's chart) and ingress to the server pods (in the server's chart). Declaring the same
 * flow twice is harmless.
 */
export function allowFlow(from: PodSelection, to: ServiceEndpoint): void {
  allowPodFlow(from, to.pods, to.targetPort, to.protocol);
}

/**
 * Like `allowFlow`, for traffic that goes to the pods themselves rather than through a Service
 * (Prometheus scraping each pod, clustered peers gossiping): `port` is the container port.
 */
export function allowPodFlow(from: PodSelection, target: PodSelection, port: number, protocol: Protocol = Protocol.TCP): void {
  const policyPort: k8s.NetworkPolicyPort = { port: k8s.IntOrString.fromNumber(port), protocol };
  // UDP flows get their own name: the same port number often carries both (gossip).
  const suffix = protocol === Protocol.UDP ? `${port}-udp` : `${port}`;
  writePolicy(from, `allow-${from.identity.name}-to-${target.identity.name}-${suffix}`, 'Egress', [target.toPeer()], policyPort);
  // Keep the client's namespace in the name when it lives elsewhere, so readers see where it comes from.
  const client = from.namespace === target.namespace ? from.identity.name : `${from.identity.name}.${from.namespace}`;
  writePolicy(target, `allow-${target.identity.name}-from-${client}-${suffix}`, 'Ingress', [from.toPeer()], policyPort);
}

/**
 * Allows `from` to open connections to addresses outside the cluster's pod network (the API
 * server's endpoints, an external service), on one TCP port. Written in the client's chart.
 */
export function allowEgressToAddresses(from: PodSelection, target: string, cidrs: readonly string[], port: number): void {
  const name = `allow-${from.identity.name}-to-${target}-${port}`;
  if (cidrs.length === 0) throw new Error(`${name}: no addresses for '${target}'; declare them in cluster.yaml`);
  writePolicy(from, name, 'Egress', cidrs.map((cidr) => ({ ipBlock: { cidr } })), tcp(port));
}

/**
 * Allows `from` to reach pods of a namespace the platform does not render (an operator's,
 * installed at bootstrap), selected by their labels, on one TCP port. Egress only: the other
 * side's policies are not ours.
 */
export function allowEgressToExternalPods(from: PodSelection, namespace: string, podLabels: Readonly<Record<string, string>>, port: number, target: string): void {
  const peer = { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } }, podSelector: { matchLabels: { ...podLabels } } };
  writePolicy(from, `allow-${from.identity.name}-to-${target}-${port}`, 'Egress', [peer], tcp(port));
}

/**
 * Allows connections into `to` from addresses outside the pod network (the API server calling
 * a webhook), on one TCP port. Written in the server's chart.
 */
export function allowIngressFromAddresses(to: PodSelection, source: string, cidrs: readonly string[], port: number): void {
  const name = `allow-${to.identity.name}-from-${source}-${port}`;
  if (cidrs.length === 0) throw new Error(`${name}: no addresses for '${source}'; declare them in cluster.yaml`);
  writePolicy(to, name, 'Ingress', cidrs.map((cidr) => ({ ipBlock: { cidr } })), tcp(port));
}

/**
 * Allows pods of a namespace the platform does not render (the gateway or ingress controller,
 * installed at bootstrap), selected by their labels, into `to` on one container port. Ingress
 * only, written in `to`'s chart.
 */
export function allowIngressFromExternalPods(to: PodSelection, namespace: string, podLabels: Readonly<Record<string, string>>, port: number, source: string): void {
  const peer = { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } }, podSelector: { matchLabels: { ...podLabels } } };
  writePolicy(to, `allow-${to.identity.name}-from-${source}-${port}`, 'Ingress', [peer], tcp(port));
}
