import { z } from 'zod';
import { ContainerImage, ImageCatalog, ImagePin } from '../images';
import { PlatformContext, ReviewEnvironment } from '../context';
import { accessSchema, routingSchema, ssoSchema } from './access';
import { cidr, dnsLabel, dnsSubdomain } from './fields';

const imagePin = z
  .strictObject({
    tag: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, { error: 'expected an image tag' })
      .refine((t) => t !== 'latest', { error: "expected a released version, not 'latest'" })
      .optional()
      .describe('Tag to run instead of the catalog tag.'),
    digest: z
      .string()
      .regex(/^sha256:[a-f0-9]{64}$/, { error: 'expected sha256:<64 lower-case hex digits>' })
      .optional()
      .describe('Manifest digest of the tag.'),
  })
  .describe('Version pin of one image.');

/** What a cluster is for; stage and prod get the strict defaults. */
export const CLUSTER_TIERS = ['dev', 'stage', 'prod'] as const;
export type ClusterTier = (typeof CLUSTER_TIERS)[number];

/** A label key such as `nvidia.com/gpu.present` (optional prefix, then a name). */
const labelKey = z
  .string()
  .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, { error: 'expected a label key such as nvidia.com/gpu.present' });
const labelValue = z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, { error: 'expected a label value: up to 63 letters, digits, - _ .' });

/** The GPU nodes of a cluster: where GPU workloads go and what they ask for. */
export const gpuNodesSchema = z
  .strictObject({
    resource: z
      .string()
      .regex(/^[a-z0-9.-]+\/[a-z0-9.-]+$/, { error: 'expected an extended resource name such as nvidia.com/gpu' })
      .default('nvidia.com/gpu')
      .describe("The extended resource the device plugin advertises, which GPU pods request and limit."),
    nodeSelector: z
      .record(labelKey, labelValue)
      .refine((s) => Object.keys(s).length > 0, { error: 'expected at least one label that only GPU nodes carry' })
      .describe('Labels only GPU nodes carry, e.g. { nvidia.com/gpu.present: "true" } (set by GPU feature discovery).'),
    tolerations: z
      .array(
        z.strictObject({
          key: labelKey.optional(),
          operator: z.enum(['Exists', 'Equal']).default('Equal'),
          value: labelValue.optional(),
          effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
        }),
      )
      .default([])
      .describe('Tolerations for the taints that keep other pods off the GPU nodes.'),
  })
  .describe('Nodes with GPUs. Leave out when the cluster has none: GPU workloads are then refused.');

/** The delivery of the rendered tree into the cluster. */
export const gitopsShape = z
  .strictObject({
    engine: z.enum(['flux', 'argocd']).describe('flux: Flux beside the GitLab agent (default for GitLab). argocd: Argo CD app-of-apps.'),
    repository: z
      .strictObject({
        url: z.string().regex(/^(https:\/\/|ssh:\/\/)[^\s]+$/, { error: 'expected an https:// or ssh:// Git URL' }).describe('URL of this repository as the cluster reaches it.'),
        branch: z.string().min(1).default('main').describe('Branch the cluster follows.'),
        credentialsSecret: dnsSubdomain.optional().describe('Secret with the read-only deploy token (Flux: in flux-system; Argo CD: a repository secret in argocd).'),
      })
      .describe('The Git repository the cluster pulls.'),
    interval: z.string().regex(/^[0-9]+(s|m|h)$/, { error: 'expected a duration such as 1m or 10m' }).default('5m').describe('How often the agent checks for changes.'),
  })
  .describe('How the cluster pulls dist-manifests/<cluster>/.');

/**
 * The Kubernetes minors a cluster may run: every one is validated against its own schemas
 * (tools/install-tools.sh provides them), and the render uses only APIs that all of them serve.
 */
export const SUPPORTED_KUBERNETES_VERSIONS = ['1.28', '1.29', '1.30', '1.31', '1.32', '1.33', '1.34'] as const;

/**
 * What every cluster configures regardless of its components. Component settings live under
 * `components`, whose schema the platform composition supplies.
 */
export const clusterBaseShape = {
  name: dnsLabel.describe('Cluster name; must match its folder under clusters/.'),
  tier: z
    .enum(CLUSTER_TIERS)
    .default('prod')
    .describe('What the cluster is for, which sets the strict defaults: prod requires every image pinned by digest (imageDigests). Leaving it out gives the strictest, prod.'),
  kubernetesVersion: z
    .enum(SUPPORTED_KUBERNETES_VERSIONS)
    .describe('Kubernetes major.minor of the cluster, e.g. "1.34". Quote it in YAML.'),
  baseDomain: dnsSubdomain.describe('DNS domain under which the cluster exposes hosts to people, e.g. ml.prod.example.internal.'),
  clusterDomain: dnsSubdomain.default('cluster.local').describe('Kubernetes cluster DNS domain.'),
  gpuNodes: gpuNodesSchema.optional(),
  topology: z
    .strictObject({
      nodes: z.int().min(1).describe('Schedulable nodes (workers) of the cluster.'),
      zones: z.int().min(2).optional().describe('Zones the nodes span, by their topology.kubernetes.io/zone label; declare only when every node carries it.'),
      quorumSpread: z
        .enum(['hard', 'soft'])
        .default('hard')
        .describe("hard: members of a quorum (Vault Raft, distributed MinIO, Alertmanager's cluster, Elasticsearch) never share a node, and spread evenly over the zones; the render fails when a quorum has more members than the cluster has nodes. soft: spread where possible."),
    })
    .optional()
    .describe("The cluster's nodes and zones. Without it, quorum members are spread where possible, and two may share a node."),
  inClusterTls: z
    .boolean()
    .default(true)
    .describe("Encrypt traffic that carries credentials or data inside the cluster (PostgreSQL, ...), with certificates from routing.tls.clusterIssuer. Only a tier dev cluster may switch it off."),
  storageClasses: z
    .strictObject({
      default: dnsSubdomain.describe('StorageClass for volumes that name none.'),
      additional: z.array(dnsSubdomain).default([]).describe('Other StorageClasses the cluster has, which components may name.'),
    })
    .describe('StorageClasses of the cluster.'),
  secrets: z
    .strictObject({
      backend: z
        .enum(['sops', 'vault'])
        .default('sops')
        .describe('sops: Kubernetes Secrets, SOPS-encrypted in Git. vault: the platform components read their credentials from HashiCorp Vault through its agent injector (needs components.vault).'),
      ageRecipients: z
        .array(z.string().regex(/^age1[02-9ac-hj-np-z]{58}$/, { error: 'expected an age public key (age1 followed by 58 characters)' }))
        .default([])
        .describe("Public age keys that can decrypt this cluster's Secrets: the cluster's own (its private half is the sops-age Secret in flux-system) and its operators'. Each cluster has its own."),
    })
    .superRefine((value, ctx) => {
      if (value.backend === 'sops' && value.ageRecipients.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['ageRecipients'], message: 'expected at least one age recipient when backend is sops' });
      }
    })
    .describe('Where secret values live: SOPS-encrypted in clusters/<cluster>/secrets/<namespace>/<name>.yaml (rendered still encrypted), or Vault.'),
  external: z
    .strictObject({
      secrets: z
        .array(dnsSubdomain)
        .default([])
        .describe('Secrets provided outside the render (by the secrets backend or by hand), by name. The render fails when it needs one that is neither rendered nor listed here.'),
      configMaps: z.array(dnsSubdomain).default([]).describe('ConfigMaps provided outside the render, by name.'),
    })
    .prefault({})
    .describe('Objects the cluster provides that the render refers to but does not create.'),
  registryMirrors: z
    .record(
      dnsSubdomain,
      z.string().regex(/^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)*$/, { error: 'expected host[:port][/path] of a mirror' }),
    )
    .default({})
    .describe('Upstream registry host to internal mirror prefix. When set, every upstream registry needs an entry.'),
  network: z
    .strictObject({
      dnsNamespace: dnsLabel.default('kube-system').describe('Namespace of the cluster DNS server.'),
      dnsPodLabels: z.record(z.string(), z.string()).default({ 'k8s-app': 'kube-dns' }).describe('Labels of the cluster DNS pods.'),
      apiServer: z
        .strictObject({
          cidrs: z.array(cidr).min(1).describe('Addresses of the Kubernetes API server endpoints (control-plane nodes or their load balancer), as CIDRs.'),
          port: z.int().min(1).max(65535).default(6443).describe('Port of the API server endpoints (not the kubernetes Service port).'),
        })
        .describe('Where workloads that talk to the Kubernetes API connect; NetworkPolicies allow exactly this.'),
      nodes: z
        .strictObject({
          cidrs: z.array(cidr).min(1).describe('Addresses of the nodes (their InternalIP), as CIDRs.'),
        })
        .optional()
        .describe('Where the nodes are: Prometheus scrapes each kubelet (10250) and node-exporter (9100, on the host network) there. Needed when monitoring is enabled.'),
    })
    .describe('Cluster network facts the NetworkPolicies need.'),
  routing: routingSchema,
  sso: ssoSchema,
  access: accessSchema,
  gitops: gitopsShape,
};

/** Whether a cluster must run every image by digest, and why not when its tier would. */
const imageDigestsShape = z
  .strictObject({
    required: z.boolean().optional().describe('Fail validation when a rendered image has no digest. Default: true in tier prod, false otherwise.'),
    reason: z.string().min(20, { error: 'expected a sentence a reviewer can check (20 characters or more)' }).optional().describe('Why a prod cluster runs without digests; required when required is false in tier prod.'),
  })
  .prefault({})
  .describe("Images pinned by digest: 'npm run images -- pin <cluster>' resolves each tag and writes it under images (docs/images.md).");

/** Whether the cluster requires digests: its own `imageDigests.required`, else its tier's default. */
export function digestsRequired(config: { readonly tier: ClusterTier; readonly imageDigests: { readonly required?: boolean } }): boolean {
  return config.imageDigests.required ?? config.tier === 'prod';
}

/** The `images` section: version pins, keyed by the images the platform's components declare. */
function imagePinsSchema(images: readonly ContainerImage[]) {
  const keys = images.map((i) => i.key);
  if (keys.length === 0) throw new Error('the platform declares no image; a component lists its images in its definition');
  return z
    .partialRecord(z.enum(keys as [string, ...string[]]), imagePin)
    .default({})
    .describe('Per-image version pins for staged rollout (dev, then stage, then prod).');
}

/**
 * Builds the full cluster schema from the components' schema, the images they run and the
 * sections the platform adds before `components`: the bootstrap module and review environments.
 */
export function defineClusterSchema<C extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(components: C, images: readonly ContainerImage[], bootstrap: B, review: R) {
  // `images` sits where it always stood in the file, after the registry mirrors.
  const { network, routing, sso, access, gitops, ...before } = clusterBaseShape;
  return z
    .strictObject({ ...before, images: imagePinsSchema(images), imageDigests: imageDigestsShape, network, routing, sso, access, gitops, bootstrap, review, components })
    .superRefine((config, ctx) => {
      if (!config.inClusterTls && config.tier !== 'dev') {
        ctx.addIssue({ code: 'custom', path: ['inClusterTls'], message: `expected true in tier ${config.tier}: only a dev cluster may carry credentials in plain text` });
      }
      if (config.inClusterTls && !config.routing.tls.clusterIssuer) {
        ctx.addIssue({ code: 'custom', path: ['routing', 'tls', 'clusterIssuer'], message: 'expected the internal CA as a cert-manager ClusterIssuer while inClusterTls is on: it signs the servers\' certificates, and every client trusts it (or set inClusterTls: false in a dev cluster)' });
      }
      if (config.inClusterTls && config.tier !== 'dev' && config.routing.api === 'ingress') {
        ctx.addIssue({
          code: 'custom',
          path: ['routing', 'api'],
          message: `expected gateway in tier ${config.tier}: the hop from the controller to the UIs carries sessions and sign-in callbacks, and only Gateway API says portably how to verify a backend's certificate (BackendTLSPolicy); an Ingress reaches its backends in plain text`,
        });
      }
      if (config.tier === 'prod' && config.imageDigests.required === false && !config.imageDigests.reason) {
        ctx.addIssue({ code: 'custom', path: ['imageDigests', 'reason'], message: 'expected the reason this prod cluster runs images without digests (or remove required: false)' });
      }
      // A digest names the build of one tag: alone, it would sit beside whatever tag the catalog
      // moves to next, and the cluster would run the old build under the new version.
      for (const [key, pin] of Object.entries(config.images) as [string, ImagePin | undefined][]) {
        if (pin?.digest && !pin.tag) ctx.addIssue({ code: 'custom', path: ['images', key, 'tag'], message: `expected the tag that digest ${pin.digest.slice(0, 19)}… was resolved from ('npm run images -- pin' writes both)` });
      }
    })
    .describe('Configuration of one cluster of the ML platform.');
}

/** The cluster-wide part of a validated configuration. */
export type ClusterBaseConfig = z.output<z.ZodObject<typeof clusterBaseShape>> & {
  readonly images: Readonly<Record<string, z.output<typeof imagePin> | undefined>>;
  readonly imageDigests: z.output<typeof imageDigestsShape>;
};

/** The context every chart receives, built from a validated configuration. */
export function contextFromConfig(config: ClusterBaseConfig, images: readonly ContainerImage[], secretVersions?: Readonly<Record<string, string>>, review?: ReviewEnvironment): PlatformContext {
  return new PlatformContext({
    cluster: config.name,
    kubernetesVersion: config.kubernetesVersion,
    baseDomain: config.baseDomain,
    clusterDomain: config.clusterDomain,
    defaultStorageClass: config.storageClasses.default,
    images: new ImageCatalog({ registryMirrors: config.registryMirrors, pins: config.images as Readonly<Record<string, ImagePin>>, known: images }),
    dns: { namespace: config.network.dnsNamespace, podLabels: config.network.dnsPodLabels },
    apiServer: config.network.apiServer,
    nodes: config.network.nodes,
    secretVersions,
    externalSecrets: config.external.secrets,
    gpuNodes: config.gpuNodes,
    topology: config.topology,
    internalCa: config.inClusterTls ? config.routing.tls.clusterIssuer : undefined,
    // An Ingress has no portable way to verify a backend: its hop stays plain text (tier dev only).
    uiTls: config.inClusterTls && config.routing.api === 'gateway',
    review,
  });
}
