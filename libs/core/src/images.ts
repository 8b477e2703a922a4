/**
 * The image catalog: every container image the platform runs, declared once.
 *
 * A cluster may pin another tag or digest per image (staged rollout: dev first, then stage,
 * then prod) and rewrite registries to an internal mirror (air-gapped sites). Components ask
 * the catalog for an `ImageRef` by key and never spell an image themselves.
 */
export interface CatalogEntry {
  /** Registry host, e.g. `quay.io`. */
  readonly registry: string;
  /** Repository path within the registry, e.g. `minio/minio`. */
  readonly repository: string;
  /** The tag we run. Never `latest`. */
  readonly tag: string;
  /** `sha256:<64 hex>` when we know the manifest digest of `tag`. */
  readonly digest?: string;
  /** Where the pin comes from and anything a reviewer should know about it. */
  readonly note: string;
}

export const IMAGE_CATALOG = {
  postgres: {
    registry: 'docker.io',
    repository: 'library/postgres',
    tag: '18.3-trixie',
    note: 'Official image (docker-library/postgres versions.json: 18.3). Debian variant: postgres is UID/GID 999. Digest not pinned: not verifiable offline.',
  },
  minio: {
    registry: 'quay.io',
    repository: 'minio/minio',
    tag: 'RELEASE.2025-09-07T16-13-09Z',
    digest: 'sha256:14cea493d9a34af32f524e538b8346cf79f3321eff8e708c1e2960462bd8936e',
    note: 'Last pre-built community image; the community edition is unmaintained and Docker Hub images are gone. Digest as pinned by several public projects; replaceable by any S3 server.',
  },
  mc: {
    registry: 'quay.io',
    repository: 'minio/mc',
    tag: 'RELEASE.2025-08-13T08-35-41Z',
    digest: 'sha256:a7fe349ef4bd8521fb8497f55c6042871b2ae640607cf99d9bede5e9bdf11727',
    note: 'MinIO client for the bucket bootstrap Job; last pre-built community image.',
  },
  mlflow: {
    registry: 'ghcr.io',
    repository: 'mlflow/mlflow',
    tag: 'v3.16.1-full',
    note: 'Official image, -full variant (PostgreSQL drivers and boto3 for S3). Digest not pinned: not verifiable offline.',
  },
  agentk: {
    registry: 'registry.gitlab.com',
    repository: 'gitlab-org/cluster-integration/gitlab-agent/agentk',
    tag: 'v19.4.1',
    note: 'GitLab agent for Kubernetes. Must match the GitLab instance major.minor (one minor of skew is supported): pin it per cluster. Digest not pinned: not verifiable offline.',
  },
  vault: {
    registry: 'docker.io',
    repository: 'hashicorp/vault',
    tag: '2.0.4',
    note: 'Vault server and the injected agent (vault-helm 0.34.1 default, tested by HashiCorp). Digest not pinned: not verifiable offline.',
  },
  'vault-k8s': {
    registry: 'docker.io',
    repository: 'hashicorp/vault-k8s',
    tag: '1.7.6',
    note: 'Vault agent injector (mutating webhook), vault-helm 0.34.1 default. Digest not pinned: not verifiable offline.',
  },
  prometheus: {
    registry: 'quay.io',
    repository: 'prometheus/prometheus',
    tag: 'v3.14.0',
    note: 'Prometheus server (prometheus-community chart 29.27.0 appVersion). Runs as nobody (65534). promtool is built from the same version (tools/promtool). Digest not pinned: not verifiable offline.',
  },
  alertmanager: {
    registry: 'quay.io',
    repository: 'prometheus/alertmanager',
    tag: 'v0.34.0',
    note: 'Alertmanager (chart 1.42.0 appVersion); amtool in tools/tool-versions.env is the same version. Digest not pinned: not verifiable offline.',
  },
  'config-reloader': {
    registry: 'quay.io',
    repository: 'prometheus-operator/prometheus-config-reloader',
    tag: 'v0.93.1',
    note: 'Watches the mounted ConfigMap and calls /-/reload (the prometheus chart default sidecar). Digest not pinned: not verifiable offline.',
  },
  'node-exporter': {
    registry: 'quay.io',
    repository: 'prometheus/node-exporter',
    tag: 'v1.12.1',
    note: 'Host metrics (chart prometheus-node-exporter 4.56.1 appVersion). Digest not pinned: not verifiable offline.',
  },
  'kube-state-metrics': {
    registry: 'registry.k8s.io',
    repository: 'kube-state-metrics/kube-state-metrics',
    tag: 'v2.20.0',
    note: 'Object state metrics (chart kube-state-metrics 8.4.0 appVersion). Digest not pinned: not verifiable offline.',
  },
  'postgres-exporter': {
    registry: 'quay.io',
    repository: 'prometheuscommunity/postgres-exporter',
    tag: 'v0.20.1',
    note: 'PostgreSQL metrics, a sidecar of the server (latest release, 2026-07-07). Digest not pinned: not verifiable offline.',
  },
  grafana: {
    registry: 'docker.io',
    repository: 'grafana/grafana',
    tag: '13.2.0',
    note: 'Grafana OSS (grafana-community chart 12.11.1 appVersion); UID 472. Digest not pinned: not verifiable offline.',
  },
} as const satisfies Record<string, CatalogEntry>;

/** The key of an image in the catalog. */
export type ImageKey = keyof typeof IMAGE_CATALOG;

/** The keys of every catalogued image, in catalog order. */
export const IMAGE_KEYS = Object.keys(IMAGE_CATALOG) as ImageKey[];

/** A cluster's override of one image. */
export interface ImagePin {
  readonly tag?: string;
  readonly digest?: string;
}

/** Properties for `ImageCatalog`. */
export interface ImageCatalogProps {
  /**
   * Registry host to mirror prefix, e.g. `{ 'quay.io': 'harbor.internal/quay' }`. When any
   * mirror is set, every registry an image uses must have one: an air-gapped site cannot pull
   * from the rest.
   *
   * @default - images are pulled from their upstream registries.
   */
  readonly registryMirrors?: Readonly<Record<string, string>>;
  /**
   * Per-image version pins that override the catalog.
   *
   * @default - the catalog's tag and digest.
   */
  readonly pins?: Readonly<Partial<Record<ImageKey, ImagePin>>>;
}

/** A resolved image: what goes into `image:` and what the inventory reports. */
export class ImageRef {
  constructor(
    /** Catalog key. */
    public readonly key: ImageKey,
    /** Registry host (after mirror rewrite) and repository. */
    public readonly repository: string,
    /** Tag. */
    public readonly tag: string,
    /** Digest, if pinned. */
    public readonly digest: string | undefined,
  ) {}

  /** The `image:` reference: `repo:tag@sha256:...` or `repo:tag`. */
  public get reference(): string {
    return this.digest ? `${this.repository}:${this.tag}@${this.digest}` : `${this.repository}:${this.tag}`;
  }

  /** The version a person reads: the tag. */
  public get version(): string {
    return this.tag;
  }
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Resolves catalog entries with a cluster's mirrors and pins. */
export class ImageCatalog {
  private readonly mirrors: Readonly<Record<string, string>>;
  private readonly pins: Readonly<Partial<Record<ImageKey, ImagePin>>>;
  private readonly used = new Map<ImageKey, ImageRef>();

  constructor(props: ImageCatalogProps = {}) {
    this.mirrors = props.registryMirrors ?? {};
    this.pins = props.pins ?? {};
    for (const [key, pin] of Object.entries(this.pins) as [string, ImagePin][]) {
      if (!(key in IMAGE_CATALOG)) {
        throw new Error(`image pin '${key}' names no catalogued image; known images: ${IMAGE_KEYS.join(', ')}`);
      }
      if (pin.tag === 'latest') {
        throw new Error(`image pin '${key}' uses tag 'latest'; pin a released version`);
      }
      if (pin.digest !== undefined && !DIGEST.test(pin.digest)) {
        throw new Error(`image pin '${key}' has digest '${pin.digest}'; expected sha256:<64 lower-case hex>`);
      }
    }
  }

  /** The image for `key`, with this cluster's pin and mirror applied. */
  public image(key: ImageKey): ImageRef {
    const known = this.used.get(key);
    if (known) return known;
    const entry: CatalogEntry = IMAGE_CATALOG[key];
    const pin = this.pins[key];
    // A pinned tag without a digest must not inherit the catalog's digest of another tag.
    const tag = pin?.tag ?? entry.tag;
    const digest = pin?.digest ?? (pin?.tag ? undefined : entry.digest);
    const ref = new ImageRef(key, `${this.registryFor(entry.registry, key)}/${entry.repository}`, tag, digest);
    this.used.set(key, ref);
    return ref;
  }

  /** Every image this cluster's render asked for, in catalog order. */
  public get usedImages(): ImageRef[] {
    return IMAGE_KEYS.filter((k) => this.used.has(k)).map((k) => this.used.get(k) as ImageRef);
  }

  private registryFor(registry: string, key: ImageKey): string {
    if (Object.keys(this.mirrors).length === 0) return registry;
    const mirror = this.mirrors[registry];
    if (!mirror) {
      throw new Error(
        `image '${key}' comes from registry '${registry}', which has no entry in registryMirrors; add '${registry}: <mirror host/prefix>' so the air-gapped cluster can pull it`,
      );
    }
    return mirror.replace(/\/+$/, '');
  }
}
