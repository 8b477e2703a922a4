import { SecretKeyRef } from './secrets';
import { ImageCatalog } from './images';
import type { PodSelection } from './network';

/**
 * Delivery of secrets by HashiCorp Vault's agent injector instead of Kubernetes Secrets: pods
 * that read secrets get the injector's annotations and source the rendered file, and may reach Vault.
 */
export interface VaultDelivery {
  /** KV version 2 mount, e.g. `secret`. */
  readonly kvMount: string;
  /** Path under the mount where the platform keeps its secrets, e.g. `ml-platform`. */
  readonly pathPrefix: string;
  /** Allows the agents injected into `pods` to reach Vault. */
  allowAgents(pods: PodSelection): void;
  /**
   * Vault serves TLS from the internal CA: the agents verify it with the CA of their namespace.
   *
   * @default false
   */
  readonly tls?: boolean;
}

/** Where the cluster's DNS server runs; every namespace's pods may query it. */
export interface DnsServer {
  readonly namespace: string;
  readonly podLabels: Readonly<Record<string, string>>;
}

/** Where the Kubernetes API server's endpoints are, for NetworkPolicies of API clients. */
export interface ApiServerEndpoints {
  readonly cidrs: readonly string[];
  readonly port: number;
}

/** Where the cluster's nodes are, for NetworkPolicies of clients of the kubelets and host-network agents. */
export interface NodeAddresses {
  readonly cidrs: readonly string[];
}

/** Where a cluster's GPUs are (cluster.yaml `gpuNodes`). */
export interface GpuNodes {
  /** The extended resource GPU pods request, e.g. `nvidia.com/gpu`. */
  readonly resource: string;
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly tolerations: readonly { readonly key?: string; readonly operator: 'Exists' | 'Equal'; readonly value?: string; readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }[];
}

/** Properties for `PlatformContext`. */
export interface PlatformContextProps {
  /** The cluster's name, e.g. `prod`. */
  readonly cluster: string;
  /** `major.minor` of the cluster's Kubernetes, e.g. `1.28`; used for Pod Security versions. */
  readonly kubernetesVersion: string;
  /** The base DNS domain for hosts people use, e.g. `ml.prod.example.internal`. */
  readonly baseDomain: string;
  /**
   * The cluster's internal DNS domain.
   *
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;
  /** The StorageClass used when a component does not name one. */
  readonly defaultStorageClass: string;
  /** The image catalog with this cluster's pins and mirrors. */
  readonly images: ImageCatalog;
  /**
   * The cluster DNS server.
   *
   * @default - CoreDNS as deployed by kubeadm: namespace kube-system, label k8s-app=kube-dns.
   */
  readonly dns?: DnsServer;
  /**
   * The API server endpoints.
   *
   * @default - none known: workloads cannot be allowed to reach the API server
   */
  readonly apiServer?: ApiServerEndpoints;
  /**
   * The nodes' addresses.
   *
   * @default - none known: nothing may be allowed to reach the nodes
   */
  readonly nodes?: NodeAddresses;
  /**
   * A version of each encrypted Secret (`<namespace>/<name>` to its SOPS MAC), so that work
   * which copies a secret somewhere (a bootstrap Job setting a password) runs again when the
   * secret is rotated.
   *
   * @default - none known
   */
  readonly secretVersions?: Readonly<Record<string, string>>;
  /**
   * Secrets provided outside the render, by hand (cluster.yaml `external.secrets`): they stay
   * Kubernetes Secrets even when Vault delivers the others.
   *
   * @default - none
   */
  readonly externalSecrets?: readonly string[];
  /**
   * The cluster's GPU nodes.
   *
   * @default - none: the cluster has no GPUs
   */
  readonly gpuNodes?: GpuNodes;
  /**
   * The cluster's nodes and zones, for spreading quorum members.
   *
   * @default - undeclared: quorum members are spread where possible (soft)
   */
  readonly topology?: ClusterTopology;
  /**
   * The cert-manager ClusterIssuer of the cluster's internal CA when traffic inside the cluster is
   * encrypted (cluster.yaml `inClusterTls`): servers get certificates from it, clients trust it.
   *
   * @default - plain text inside the cluster (allowed in tier dev only)
   */
  readonly internalCa?: string;
  /**
   * The gateway reaches the UIs over TLS, verified against the internal CA (Gateway API's
   * BackendTLSPolicy): every Service a route sends people to serves a certificate from it.
   * Needs `internalCa`.
   *
   * @default false
   */
  readonly uiTls?: boolean;
  /**
   * The review environment this render is, when it is one: every namespace the platform creates
   * is then `<slug>-<name>` and carries the `REVIEW_LABEL` with the slug, so a review shares a
   * cluster with its base and is deleted by that label.
   *
   * @default - not a review: namespaces are named as the charts name them
   */
  readonly review?: ReviewEnvironment;
}

/** A review environment: the render of a merge request beside its base cluster's own. */
export interface ReviewEnvironment {
  /** The review's name: a DNS label that prefixes its namespaces and hosts. */
  readonly slug: string;
  /**
   * Who applies the review: each of its namespaces binds `clusterRole` to this ServiceAccount,
   * applied with the namespace itself.
   *
   * @default - nobody is granted anything in the review's namespaces
   */
  readonly deployer?: { readonly serviceAccount: string; readonly namespace: string; readonly clusterRole: string };
}

/** The label on every namespace of a review environment, with its slug as the value. */
export const REVIEW_LABEL = 'ml-platform.example/review';

/** How many nodes (and zones) a cluster schedules on, and how quorum members are spread over them (cluster.yaml `topology`). */
export interface ClusterTopology {
  /** Schedulable nodes. */
  readonly nodes: number;
  /** Zones the nodes are in (their `topology.kubernetes.io/zone` label), when the cluster declares them. */
  readonly zones?: number;
  /**
   * `hard`: members of a quorum never share a node (or, with zones, crowd one zone); a member
   * that cannot be placed waits. `soft`: spread where possible.
   */
  readonly quorumSpread: 'hard' | 'soft';
}

/** Facts about the cluster being rendered that every chart needs. */
export class PlatformContext {
  public readonly cluster: string;
  public readonly kubernetesVersion: string;
  public readonly baseDomain: string;
  public readonly clusterDomain: string;
  public readonly defaultStorageClass: string;
  public readonly images: ImageCatalog;
  public readonly dns: DnsServer;
  public readonly apiServer?: ApiServerEndpoints;
  public readonly nodes?: NodeAddresses;
  public readonly gpuNodes?: GpuNodes;
  public readonly topology?: ClusterTopology;
  public readonly internalCa?: string;
  public readonly uiTls: boolean;
  public readonly review?: ReviewEnvironment;
  private readonly secretVersions: Readonly<Record<string, string>>;
  private readonly externalSecrets: ReadonlySet<string>;
  private vaultDelivery?: VaultDelivery;

  constructor(props: PlatformContextProps) {
    this.cluster = props.cluster;
    this.kubernetesVersion = props.kubernetesVersion;
    this.baseDomain = props.baseDomain;
    this.clusterDomain = props.clusterDomain ?? 'cluster.local';
    this.defaultStorageClass = props.defaultStorageClass;
    this.images = props.images;
    this.dns = props.dns ?? { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };
    this.apiServer = props.apiServer;
    this.nodes = props.nodes;
    this.gpuNodes = props.gpuNodes;
    this.topology = props.topology;
    this.internalCa = props.internalCa;
    if (props.uiTls && !props.internalCa) throw new Error('uiTls: the gateway verifies the UIs against the internal CA; the cluster has none (inClusterTls off)');
    this.uiTls = props.uiTls ?? false;
    this.review = props.review;
    this.secretVersions = props.secretVersions ?? {};
    this.externalSecrets = new Set(props.externalSecrets ?? []);
  }

  /** From now on, workloads receive their secrets from Vault (set once, before the workloads exist). */
  public deliverSecretsWithVault(delivery: VaultDelivery): void {
    if (this.vaultDelivery) throw new Error('secrets are already delivered by Vault');
    this.vaultDelivery = delivery;
  }

  /** How workloads receive secrets: Vault, or Kubernetes Secrets when undefined. */
  public get vault(): VaultDelivery | undefined {
    return this.vaultDelivery;
  }

  /** Whether a workload reads `ref` from Vault: Vault delivers it, and it is not provided by hand. */
  public readsFromVault(ref: SecretKeyRef): boolean {
    return this.vaultDelivery !== undefined && !this.externalSecrets.has(ref.secretName);
  }

  /** The version of an encrypted Secret, or '' when it is not kept in Git. */
  public secretVersion(namespace: string, name: string): string {
    return this.secretVersions[`${namespace}/${name}`] ?? '';
  }

  /**
   * The namespace the platform creates for `name` (a chart id): `name` itself, or `<slug>-<name>`
   * in a review environment. Every namespace a chart owns goes through here.
   */
  public namespaceOf(name: string): string {
    return this.review ? `${this.review.slug}-${name}` : name;
  }

  /** Whether the cluster runs Kubernetes `minor` (`'1.30'`) or newer. */
  public runsAtLeast(minor: string): boolean {
    const parts = (v: string) => v.split('.').map(Number);
    const [major, min] = parts(this.kubernetesVersion);
    const [wantMajor, wantMin] = parts(minor);
    return major > wantMajor || (major === wantMajor && min >= wantMin);
  }

  /** The fully qualified in-cluster host of a Service. */
  public serviceHost(service: string, namespace: string): string {
    return `${service}.${namespace}.svc.${this.clusterDomain}`;
  }
}
