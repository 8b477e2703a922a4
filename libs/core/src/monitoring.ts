import { IConstruct } from 'constructs';
import { allowEgressToAddresses, allowPodFlow, PodSelection } from './network';
import { PlatformChart } from './platform-chart';
import { registryOf } from './app-registry';

const REGISTRIES = new WeakMap<IConstruct, MetricsScraping>();

/**
 * Where a workload serves Prometheus metrics, declared once on the workload
 * (`PlatformStatefulSet`, `PlatformDeployment`, `PlatformDaemonSet` `metrics` prop).
 */
export interface MetricsEndpoint {
  /** The container port that serves the metrics; one of the pod's declared ports. */
  readonly port: number;
  /** @default '/metrics' */
  readonly path?: string;
  /**
   * URL query parameters of the scrape, e.g. `{ format: 'prometheus' }`.
   *
   * @default - none
   */
  readonly params?: Readonly<Record<string, string>>;
  /**
   * The port serves TLS with a certificate from the internal CA for its pods' DNS names
   * (`*.<subdomain>.<namespace>.svc`, a headless Service): Prometheus scrapes
   * `https://<name>.<subdomain>.<namespace>.svc:<port>` and verifies the certificate. The name is
   * the pod's (a StatefulSet's pods, named by the headless Service) or, with `byAddress`, its IPv4
   * address with dashes, the record cluster DNS keeps for any pod behind a headless Service
   * (a Deployment's pods).
   *
   * @default - plain HTTP on the pod's IP
   */
  readonly tls?: { readonly subdomain: string; readonly byAddress?: boolean };
}

/**
 * The `prometheus.io/*` pod annotations of the platform's scrape convention. Prometheus's
 * `kubernetes-pods` job keeps pods with `scrape: "true"` and scrapes `<pod IP>:<port><path>`.
 */
export const ScrapeAnnotations = {
  SCRAPE: 'prometheus.io/scrape',
  PORT: 'prometheus.io/port',
  PATH: 'prometheus.io/path',
  SCHEME: 'prometheus.io/scheme',
  /** Prefix of one annotation per URL parameter: `prometheus.io/param_<name>`. */
  PARAM_PREFIX: 'prometheus.io/param_',
  /** The headless Service a TLS target's pods are named under (MetricsEndpoint.tls). */
  TLS_SUBDOMAIN: 'ml-platform.io/scrape-tls-subdomain',
  /** `address`: the pod is named by its address under the headless Service, not by its name. */
  TLS_NAME: 'ml-platform.io/scrape-tls-name',
} as const;

/** The pod annotations that make Prometheus scrape `endpoint`. */
export function scrapeAnnotations(endpoint: MetricsEndpoint): Record<string, string> {
  const params = Object.entries(endpoint.params ?? {});
  for (const [name] of params) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new Error(`metrics parameter '${name}' cannot be carried in an annotation; use letters, digits and '_'`);
  }
  return {
    [ScrapeAnnotations.SCRAPE]: 'true',
    [ScrapeAnnotations.PORT]: String(endpoint.port),
    [ScrapeAnnotations.PATH]: endpoint.path ?? '/metrics',
    [ScrapeAnnotations.SCHEME]: endpoint.tls ? 'https' : 'http',
    ...(endpoint.tls ? { [ScrapeAnnotations.TLS_SUBDOMAIN]: endpoint.tls.subdomain } : {}),
    ...(endpoint.tls?.byAddress ? { [ScrapeAnnotations.TLS_NAME]: 'address' } : {}),
    ...Object.fromEntries(params.map(([name, value]) => [`${ScrapeAnnotations.PARAM_PREFIX}${name}`, value])),
  };
}

/** A set of pods that serves metrics on one port. */
export interface MetricsTarget {
  readonly pods: PodSelection;
  readonly endpoint: MetricsEndpoint;
  /**
   * The pods use the node's network: NetworkPolicies cannot select them, so the scraper is
   * allowed to the nodes' addresses on the port instead.
   */
  readonly onHostNetwork: boolean;
}

/**
 * The cluster's scrape wiring, one per app: every workload that declares metrics is recorded
 * here, and once the scraper (Prometheus) is known, each target gets the NetworkPolicies that
 * let the scraper, and nothing else, reach its metrics port. Order does not matter: targets
 * declared before the scraper are wired when it registers.
 */
export class MetricsScraping {
  /** The registry of the app `scope` belongs to. */
  public static of(scope: IConstruct): MetricsScraping {
    return registryOf(REGISTRIES, scope, () => new MetricsScraping());
  }

  private readonly declared: MetricsTarget[] = [];
  private scraperPods?: PodSelection;

  private constructor() {
    // One per app: MetricsScraping.of(scope).
  }

  /** Every target declared so far. */
  public get targets(): readonly MetricsTarget[] {
    return this.declared;
  }

  /** The pods that scrape, once registered. */
  public get scraper(): PodSelection | undefined {
    return this.scraperPods;
  }

  /** Records a target; called by the workload constructs. */
  public declare(target: MetricsTarget): void {
    this.declared.push(target);
    if (this.scraperPods) this.allow(this.scraperPods, target);
  }

  /** Registers the scraper; set once per cluster. */
  public scrapeWith(scraper: PodSelection): void {
    if (this.scraperPods) throw new Error(`metrics are already scraped by ${this.scraperPods.namespace}/${this.scraperPods.identity.name}`);
    this.scraperPods = scraper;
    for (const t of this.declared) this.allow(scraper, t);
  }

  private allow(scraper: PodSelection, target: MetricsTarget): void {
    if (target.onHostNetwork) {
      const nodes = PlatformChart.of(scraper.chart).context.nodes;
      allowEgressToAddresses(scraper, `${target.pods.identity.name}-on-nodes`, nodes?.cidrs ?? [], target.endpoint.port);
    }
    else allowPodFlow(scraper, target.pods, target.endpoint.port);
  }
}
