/**
 * Apply order of the rendered tree. Each layer is a folder under `dist-manifests/<cluster>/`;
 * the GitOps agent applies a layer only after the one before it is ready.
 */
export class Layer {
  /** Namespaces and cluster-scoped prerequisites. Every chart's Namespace goes here. */
  public static readonly CLUSTER = new Layer('00-cluster', 0);
  /** SOPS-encrypted Secrets, decrypted by the GitOps agent, before anything that reads them. */
  public static readonly SECRETS = new Layer('05-secrets', 5);
  /** Platform services every other layer may use (monitoring, secrets, delivery). */
  public static readonly PLATFORM = new Layer('10-platform', 10);
  /** Stateful data services: databases, object storage. */
  public static readonly DATA = new Layer('20-data', 20);
  /** ML applications that use the data services. */
  public static readonly APPS = new Layer('30-apps', 30);

  /**
   * The GitOps entry points (Flux Kustomizations or Argo CD Applications) that apply the other
   * layers. Applied once at bootstrap, then they manage themselves; not part of the chain.
   */
  public static readonly ENTRYPOINTS = new Layer('gitops', -1);

  /** Every applied layer in apply order. */
  public static readonly ALL: readonly Layer[] = [Layer.CLUSTER, Layer.SECRETS, Layer.PLATFORM, Layer.DATA, Layer.APPS];

  private constructor(
    /** The folder name, which sorts in apply order. */
    public readonly directory: string,
    /** Position in apply order. */
    public readonly order: number,
  ) {}
}
