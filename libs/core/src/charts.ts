/**
 * Helm charts: what the bootstrap layer installs before the first sync (the GitOps engine, the
 * certificate issuer, the gateway or ingress controller). Like images, each chart is declared
 * once with its pinned version, reaches a cluster through its `ChartCatalog`, and may be pinned
 * per cluster for a staged rollout; an air-gapped site pulls every chart from its own mirror.
 */
export interface HelmChart {
  /** The key clusters pin it by (`bootstrap.charts.<key>` in cluster.yaml). */
  readonly key: string;
  /** Upstream repository: an `https://` Helm repository or an `oci://` registry path. */
  readonly repository: string;
  /** Chart name in that repository. */
  readonly chart: string;
  /** The exact chart version we install. Never a range. */
  readonly version: string;
  /** The version of the program the chart ships (its `appVersion`), for the inventory. */
  readonly appVersion: string;
  /** Where the pin comes from and anything a reviewer should know about it. */
  readonly note: string;
}

/**
 * An exact chart version: SemVer 2 with an optional leading `v` (cert-manager and Envoy Gateway
 * publish `v1.19.2`). Ranges (`^1.2`, `1.x`, `>=1`) and `latest` would let a mirror decide what
 * runs.
 */
export const EXACT_CHART_VERSION = /^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

const CHART_KEY = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const REPOSITORY = /^(https:\/\/|oci:\/\/)[^\s]+[^/\s]$/;

/** Declares a chart; throws when the key, repository or version cannot be what a cluster installs. */
export function helmChart(key: string, entry: Omit<HelmChart, 'key'>): HelmChart {
  if (!CHART_KEY.test(key)) throw new Error(`chart key '${key}' must be lower-case letters, digits and '-'`);
  if (!REPOSITORY.test(entry.repository)) throw new Error(`chart '${key}' has repository '${entry.repository}'; expected an https:// Helm repository or an oci:// registry path, without a trailing '/'`);
  if (!EXACT_CHART_VERSION.test(entry.version)) throw new Error(`chart '${key}' has version '${entry.version}'; expected an exact version such as 1.19.2, not a range`);
  return { key, ...entry };
}

/** A cluster's override of one chart's version. */
export interface ChartPin {
  readonly version?: string;
}

/** A chart as one cluster installs it: where from and which version. */
export interface ChartRef {
  readonly key: string;
  /** The repository the cluster pulls from: the site's mirror when it has one. */
  readonly repository: string;
  readonly chart: string;
  readonly version: string;
  /** The catalog's `appVersion`; unknown when the cluster pins another chart version. */
  readonly appVersion?: string;
}

/** Properties for `ChartCatalog`. */
export interface ChartCatalogProps {
  /** Every chart the platform may install, so that a pin naming none of them fails. */
  readonly known: readonly HelmChart[];
  /**
   * The site's chart mirror (`oci://registry.internal/charts` or an `https://` Helm repository)
   * that holds every chart under its upstream name.
   *
   * @default - charts come from their upstream repositories.
   */
  readonly mirror?: string;
  /**
   * Per-chart version pins that override the catalog.
   *
   * @default - the catalog's versions.
   */
  readonly pins?: Readonly<Record<string, ChartPin | undefined>>;
}

/** Resolves catalog charts with a cluster's mirror and pins. */
export class ChartCatalog {
  private readonly known: ReadonlyMap<string, HelmChart>;
  private readonly mirror?: string;
  private readonly pins: Readonly<Record<string, ChartPin | undefined>>;

  constructor(props: ChartCatalogProps) {
    this.known = new Map(props.known.map((c) => [c.key, c]));
    this.mirror = props.mirror?.replace(/\/+$/, '');
    this.pins = props.pins ?? {};
    for (const [key, pin] of Object.entries(this.pins)) {
      if (!this.known.has(key)) throw new Error(`chart pin '${key}' names no catalogued chart; known charts: ${[...this.known.keys()].join(', ')}`);
      if (pin?.version !== undefined && !EXACT_CHART_VERSION.test(pin.version)) throw new Error(`chart pin '${key}' has version '${pin.version}'; expected an exact version, not a range`);
    }
  }

  /** The chart `key` as this cluster installs it. */
  public chart(key: string): ChartRef {
    const entry = this.known.get(key);
    if (!entry) throw new Error(`chart '${key}' is not in the chart catalog; known charts: ${[...this.known.keys()].join(', ')}`);
    const pinned = this.pins[key]?.version;
    const version = pinned ?? entry.version;
    return { key, repository: this.mirror ?? entry.repository, chart: entry.chart, version, appVersion: pinned && pinned !== entry.version ? undefined : entry.appVersion };
  }
}
