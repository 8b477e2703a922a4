/**
 * Images: every container image the platform runs is declared once, by the component that runs
 * it (`containerImage`), and reaches the cluster through its `ImageCatalog`.
 *
 * A cluster may pin another tag or digest per image (staged rollout: dev first, then stage,
 * then prod) and rewrite registries to an internal mirror (air-gapped sites). Components ask
 * the catalog for an `ImageRef` with their typed image and never spell an image themselves.
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

/** An image a component runs: the key clusters pin it by (`images.<key>` in cluster.yaml) and its entry. */
export interface ContainerImage extends CatalogEntry {
  readonly key: string;
  /** For an image this repository builds: where its build context is and what it holds. */
  readonly build?: ImageBuild;
}

/** The build of an image this repository makes (GitLab CI builds and pushes it; docs/images.md). */
export interface ImageBuild {
  /** The build context, relative to the repository root, e.g. `images/notebook`; it holds a `Containerfile`. */
  readonly context: string;
  /**
   * SHA-256 over the context's files (paths and contents, tools/images.ts): a changed context with
   * an unchanged tag fails the tests, so a tag always names one build.
   */
  readonly contextDigest: string;
}

/**
 * Where GitLab CI pushes the images this repository builds: the project's container registry
 * (`$CI_REGISTRY_IMAGE`, which the build job checks against this). Change it with the project.
 */
export const BUILT_IMAGE_REGISTRY = { registry: 'registry.gitlab.example.internal', path: 'platform/ml-platform' } as const;

const IMAGE_KEY = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Declares an image; throws when the key, tag or digest cannot be what a cluster pulls. */
export function containerImage(key: string, entry: CatalogEntry): ContainerImage {
  if (!IMAGE_KEY.test(key)) throw new Error(`image key '${key}' must be lower-case letters, digits and '-'`);
  if (entry.tag === 'latest' || entry.tag === '') throw new Error(`image '${key}' must pin a released tag, not '${entry.tag}'`);
  if (entry.digest !== undefined && !DIGEST.test(entry.digest)) throw new Error(`image '${key}' has digest '${entry.digest}'; expected sha256:<64 lower-case hex>`);
  return { key, ...entry };
}

/** Declares an image this repository builds from `build.context` and pushes to `BUILT_IMAGE_REGISTRY`. */
export function builtImage(key: string, entry: { readonly tag: string; readonly note: string; readonly build: ImageBuild }): ContainerImage {
  if (!DIGEST.test(entry.build.contextDigest)) throw new Error(`image '${key}' has context digest '${entry.build.contextDigest}'; expected sha256:<64 lower-case hex>`);
  return { ...containerImage(key, { registry: BUILT_IMAGE_REGISTRY.registry, repository: `${BUILT_IMAGE_REGISTRY.path}/${key}`, tag: entry.tag, note: entry.note }), build: entry.build };
}

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
   * Every image the platform may run, so that a pin naming none of them fails.
   *
   * @default - pins are not checked against a list
   */
  readonly known?: readonly ContainerImage[];
  /**
   * Per-image version pins that override the catalog.
   *
   * @default - the catalog's tag and digest.
   */
  readonly pins?: Readonly<Record<string, ImagePin>>;
}

/** A resolved image: what goes into `image:` and what the inventory reports. */
export class ImageRef {
  constructor(
    /** Catalog key. */
    public readonly key: string,
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

/** Resolves catalog entries with a cluster's mirrors and pins. */
export class ImageCatalog {
  private readonly mirrors: Readonly<Record<string, string>>;
  private readonly pins: Readonly<Record<string, ImagePin>>;
  private readonly used = new Map<string, ImageRef>();

  constructor(props: ImageCatalogProps = {}) {
    this.mirrors = props.registryMirrors ?? {};
    this.pins = props.pins ?? {};
    for (const [key, pin] of Object.entries(this.pins) as [string, ImagePin][]) {
      if (props.known && !props.known.some((i) => i.key === key)) {
        throw new Error(`image pin '${key}' names no catalogued image; known images: ${props.known.map((i) => i.key).join(', ')}`);
      }
      if (pin.tag === 'latest') {
        throw new Error(`image pin '${key}' uses tag 'latest'; pin a released version`);
      }
      if (pin.digest !== undefined && !DIGEST.test(pin.digest)) {
        throw new Error(`image pin '${key}' has digest '${pin.digest}'; expected sha256:<64 lower-case hex>`);
      }
    }
  }

  /** The image to run for `entry`, with this cluster's pin and mirror applied. */
  public image(entry: ContainerImage): ImageRef {
    const key = entry.key;
    const known = this.used.get(key);
    if (known) return known;
    const pin = this.pins[key];
    // A pinned tag without a digest must not inherit the catalog's digest of another tag.
    const tag = pin?.tag ?? entry.tag;
    const digest = pin?.digest ?? (pin?.tag ? undefined : entry.digest);
    const ref = new ImageRef(key, `${this.registryFor(entry.registry, key)}/${entry.repository}`, tag, digest);
    this.used.set(key, ref);
    return ref;
  }

  /** Every image this cluster's render asked for, by key. */
  public get usedImages(): ImageRef[] {
    return [...this.used.keys()].sort().map((k) => this.used.get(k) as ImageRef);
  }

  private registryFor(registry: string, key: string): string {
    return mirroredRegistry(this.mirrors, registry, `image '${key}'`);
  }
}

/**
 * Where a cluster pulls from `registry`: itself when the cluster has no mirrors, else its mirror.
 * Throws, naming `what`, when an air-gapped cluster (one with mirrors) has none for it.
 */
export function mirroredRegistry(mirrors: Readonly<Record<string, string>>, registry: string, what: string): string {
  if (Object.keys(mirrors).length === 0) return registry;
  const mirror = mirrors[registry];
  if (!mirror) {
    throw new Error(`${what} comes from registry '${registry}', which has no entry in registryMirrors; add '${registry}: <mirror host/prefix>' so the air-gapped cluster can pull it`);
  }
  return mirror.replace(/\/+$/, '');
}
