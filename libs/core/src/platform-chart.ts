import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { ApiServerEndpoints, PlatformContext, REVIEW_LABEL } from './context';
import { LabelKeys, MANAGED_BY, NAMESPACE_NAME_LABEL, PART_OF } from './labels';
import { Layer } from './layers';
import { assertDnsLabel } from './names';
import { podSecurityLevelFor, PodSecurityLevel, rootAllowedIn } from './pod-security';

const PLATFORM_CHART = Symbol.for('ml-platform.PlatformChart');

/** Properties for `PlatformChart`. */
export interface PlatformChartProps {
  /** The cluster being rendered. */
  readonly context: PlatformContext;
  /** The apply-order layer this component belongs to. */
  readonly layer: Layer;
  /**
   * The namespace the chart creates and puts its objects in, before a review environment's
   * prefix (`PlatformContext.namespaceOf`).
   *
   * @default - the chart id, e.g. `mlflow`.
   */
  readonly namespace?: string;
  /**
   * Create the Namespace with its Pod Security labels and default-deny policies. Off for
   * namespaces an operator installed at bootstrap owns (flux-system, argocd): the chart only
   * adds objects to them.
   *
   * @default true
   */
  readonly manageNamespace?: boolean;
}

/**
 * The base of every component chart: one component, one namespace. It creates the Namespace
 * with Pod Security labels (`restricted` unless `POD_SECURITY_EXCEPTIONS` says otherwise), a
 * default-deny NetworkPolicy for ingress and egress, and the DNS egress every pod needs.
 * Flows beyond that are declared with `allowFlow`.
 */
export class PlatformChart extends Chart {
  /** True when `x` is a PlatformChart (cdk8s's own `instanceof` check types it as a plain Chart). */
  public static isPlatformChart(x: unknown): x is PlatformChart {
    return typeof x === 'object' && x !== null && PLATFORM_CHART in x;
  }

  /** The PlatformChart that `construct` belongs to; throws when it is outside any. */
  public static override of(construct: IConstruct): PlatformChart {
    const chart = [...construct.node.scopes].reverse().find((s): s is PlatformChart => PlatformChart.isPlatformChart(s));
    if (!chart) throw new Error(`'${construct.node.path}' is not inside a PlatformChart; create it in a component chart`);
    return chart;
  }

  /** The component name: the chart id, used as `app.kubernetes.io/instance`. */
  public readonly component: string;
  public readonly context: PlatformContext;
  public readonly layer: Layer;
  /** The namespace this chart owns. */
  public override readonly namespace: string;
  /** Whether the chart creates and secures its namespace. */
  public readonly managesNamespace: boolean;
  /** The Pod Security level its namespace enforces (`POD_SECURITY_EXCEPTIONS`, by unprefixed name). */
  public readonly podSecurityLevel: PodSecurityLevel;
  /** Whether its pods may run as root: only with an exception that says so. */
  public readonly rootAllowed: boolean;
  /** In a review environment, what lets its job apply the rest of the namespace: applied with the Namespace. */
  public readonly reviewDeployerBinding?: k8s.KubeRoleBinding;

  constructor(scope: Construct, id: string, props: PlatformChartProps) {
    const name = props.namespace ?? id;
    // Namespaces an operator owns (flux-system, argocd) are the cluster's, not a review's.
    const namespace = assertDnsLabel(props.manageNamespace === false ? name : props.context.namespaceOf(name), `namespace of chart '${id}'`);
    assertDnsLabel(id, 'chart id');
    super(scope, id, {
      namespace,
      disableResourceNameHashes: true,
      labels: {
        [LabelKeys.INSTANCE]: id,
        [LabelKeys.PART_OF]: PART_OF,
        [LabelKeys.MANAGED_BY]: MANAGED_BY,
      },
    });
    Object.defineProperty(this, PLATFORM_CHART, { value: true });
    this.component = id;
    this.context = props.context;
    this.layer = props.layer;
    this.namespace = namespace;
    // Exceptions are reviewed per component, whatever a review environment prefixes.
    this.podSecurityLevel = podSecurityLevelFor(name);
    this.rootAllowed = rootAllowedIn(name);

    this.managesNamespace = props.manageNamespace ?? true;
    if (!this.managesNamespace) return;

    const level = this.podSecurityLevel;
    const version = `v${props.context.kubernetesVersion}`;
    const review: Record<string, string> = props.context.review ? { [REVIEW_LABEL]: props.context.review.slug } : {};
    new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: namespace,
        labels: {
          [NAMESPACE_NAME_LABEL]: namespace,
          [LabelKeys.NAME]: namespace,
          [LabelKeys.COMPONENT]: 'namespace',
          ...review,
          'pod-security.kubernetes.io/enforce': level,
          'pod-security.kubernetes.io/enforce-version': version,
          'pod-security.kubernetes.io/audit': level,
          'pod-security.kubernetes.io/audit-version': version,
          'pod-security.kubernetes.io/warn': level,
          'pod-security.kubernetes.io/warn-version': version,
        },
      },
    });

    const deployer = props.context.review?.deployer;
    if (deployer) {
      this.reviewDeployerBinding = new k8s.KubeRoleBinding(this, 'ReviewDeployer', {
        metadata: { name: 'review-deployer', namespace, labels: { [LabelKeys.NAME]: 'review-deployer', [LabelKeys.COMPONENT]: 'rbac', ...review } },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: deployer.clusterRole },
        subjects: [{ kind: 'ServiceAccount', name: deployer.serviceAccount, namespace: deployer.namespace }],
      });
    }

    const policyLabels = { [LabelKeys.NAME]: namespace, [LabelKeys.COMPONENT]: 'network-policy' };
    new k8s.KubeNetworkPolicy(this, 'DefaultDeny', {
      metadata: { name: 'default-deny', namespace, labels: policyLabels },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });

    const dns = props.context.dns;
    new k8s.KubeNetworkPolicy(this, 'AllowDns', {
      metadata: { name: 'allow-dns-egress', namespace, labels: policyLabels },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: dns.namespace } },
                podSelector: { matchLabels: { ...dns.podLabels } },
              },
            ],
            ports: [
              { port: k8s.IntOrString.fromNumber(53), protocol: 'UDP' },
              { port: k8s.IntOrString.fromNumber(53), protocol: 'TCP' },
            ],
          },
        ],
      },
    });
  }
}

/** Where this chart's API clients connect; throws, naming the setting, when cluster.yaml lacks it. */
export function requireApiServer(chart: PlatformChart): ApiServerEndpoints {
  if (!chart.context.apiServer) throw new Error(`${chart.component} talks to the Kubernetes API: set network.apiServer in cluster.yaml`);
  return chart.context.apiServer;
}

/** The applied layers that `scope`'s app renders into, in apply order (entry points excluded). */
export function renderedLayers(scope: Construct): Layer[] {
  const charts = scope.node.root.node.children.filter((c): c is PlatformChart => PlatformChart.isPlatformChart(c));
  const used = new Set<Layer>(charts.map((c) => c.layer));
  if (charts.some((c) => c.managesNamespace)) used.add(Layer.CLUSTER);
  return Layer.ALL.filter((l) => used.has(l));
}

/** Namespaces that `scope`'s app puts objects in, sorted. */
export function renderedNamespaces(scope: Construct): string[] {
  const charts = scope.node.root.node.children.filter((c): c is PlatformChart => PlatformChart.isPlatformChart(c));
  return [...new Set(charts.map((c) => c.namespace))].sort();
}

/**
 * Throws when the cluster delivers secrets with Vault: pods another program creates from a
 * template or spec the render writes (KubeSpawner, Spark, Airflow's executor) get no Vault agent.
 * `creator` says who creates them, e.g. 'task pods are created by the KubernetesExecutor'.
 */
export function requireSecretsInKubernetes(chart: PlatformChart, creator: string): void {
  if (chart.context.vault) {
    throw new Error(`${chart.component}: ${creator}, which cannot receive secrets from Vault yet; use secrets.backend sops for this cluster`);
  }
}
