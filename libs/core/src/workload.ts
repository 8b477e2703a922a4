import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ImageRef } from './images';
import { INTERNAL_CA_TRUST_SECRET, internalCaTrust } from './tls';
import { LabelKeys, workloadLabels, WorkloadIdentity } from './labels';
import { MetricsEndpoint, MetricsScraping, scrapeAnnotations } from './monitoring';
import { PodSelection, Protocol } from './network';
import { PodSecurityLevel } from './pod-security';
import { PlatformChart } from './platform-chart';
import { SecretKeyRef, SecretRequirements } from './secrets';
import { contentRevision, REVISION_ANNOTATION } from './revision';
import { quantityValue } from './config/fields';

/** A value for an environment variable: literal, secret reference or pod field. */
export class EnvValue {
  /** A literal value. Never a secret: use `fromSecret`. */
  public static fromValue(value: string): EnvValue {
    return new EnvValue({ value });
  }

  /** A key of a Secret; recorded as a requirement of the cluster. */
  public static fromSecret(ref: SecretKeyRef): EnvValue {
    return new EnvValue({ secretKeyRef: { name: ref.secretName, key: ref.key } }, ref);
  }

  /** A field of the pod, e.g. `metadata.name`. */
  public static fromField(fieldPath: string): EnvValue {
    return new EnvValue({ fieldRef: { fieldPath } });
  }

  /**
   * A key of a ConfigMap that people create when they run the pod (a restore's target), not the
   * render: optional, so the variable is unset until it exists, and the program must say so.
   */
  public static fromOptionalConfigMap(name: string, key: string): EnvValue {
    return new EnvValue({ configMapKeyRef: { name, key, optional: true } });
  }

  private constructor(
    private readonly source: { value?: string; secretKeyRef?: k8s.SecretKeySelector; fieldRef?: k8s.ObjectFieldSelector; configMapKeyRef?: k8s.ConfigMapKeySelector },
    /** The secret this value reads, if any. */
    public readonly secret?: SecretKeyRef,
  ) {}

  /** @internal */
  public _toKube(name: string): k8s.EnvVar {
    if (this.source.value !== undefined) return { name, value: this.source.value };
    return { name, valueFrom: { secretKeyRef: this.source.secretKeyRef, fieldRef: this.source.fieldRef, configMapKeyRef: this.source.configMapKeyRef } };
  }
}

/** CPU and memory, each with a request and a limit (Kubernetes quantities). */
export interface ResourceSpec {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

/** A path the image writes to; it gets its own emptyDir because the root filesystem is read-only. */
export interface WritablePath {
  readonly path: string;
  /**
   * `Memory` for tmpfs (e.g. `/dev/shm`); counts against the memory limit.
   *
   * @default - node disk
   */
  readonly medium?: 'Memory';
  /**
   * Upper bound of the emptyDir.
   *
   * @default '1Gi'
   */
  readonly sizeLimit?: string;
}

/** A named container port. */
export interface ContainerPortSpec {
  readonly name: string;
  readonly number: number;
  /** @default Protocol.TCP */
  readonly protocol?: Protocol;
}

/** Options of `httpProbe`. */
export interface HttpProbeOptions {
  /** @default 'HTTP' */
  readonly scheme?: 'HTTP' | 'HTTPS';
  /**
   * Request headers, e.g. `Host` for servers that check it.
   *
   * @default - none
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A probe that GETs `path` on container port `port`; spread it and add the timings. */
export function httpProbe(port: number, path: string, options: HttpProbeOptions = {}): k8s.Probe {
  const httpHeaders = options.headers ? Object.entries(options.headers).map(([name, value]) => ({ name, value })) : undefined;
  return { httpGet: { path, port: k8s.IntOrString.fromNumber(port), scheme: options.scheme ?? 'HTTP', httpHeaders } };
}

/** A mount of a volume declared on the pod. */
export interface MountSpec {
  readonly volume: string;
  readonly path: string;
  /** @default true */
  readonly readOnly?: boolean;
  /**
   * `HostToContainer` for host paths whose later mounts the container must see (node-exporter
   * reading the host's filesystems).
   *
   * @default - none
   */
  readonly propagation?: 'HostToContainer';
}

/** A `MountSpec` as Kubernetes writes it (read-only unless it says otherwise). */
export function volumeMount(mount: MountSpec): k8s.VolumeMount {
  return { name: mount.volume, mountPath: mount.path, readOnly: mount.readOnly ?? true, mountPropagation: mount.propagation };
}

/** Properties of one hardened container. */
export interface HardenedContainerProps {
  readonly name: string;
  readonly image: ImageRef;
  /** @default - the image's entrypoint */
  readonly command?: string[];
  /** @default - the image's command */
  readonly args?: string[];
  /** @default - the image's working directory */
  readonly workingDir?: string;
  /**
   * Environment, in the order given.
   *
   * @default - none
   */
  readonly env?: Readonly<Record<string, EnvValue>>;
  /** @default - none */
  readonly ports?: ContainerPortSpec[];
  /** Requests and limits; required, because cdk8s-plus defaults (1-1.5 CPU, 0.5-2 GiB) fit nothing. */
  readonly resources: ResourceSpec;
  /** @default - none; long-running workloads must set liveness and readiness */
  readonly startupProbe?: k8s.Probe;
  /** @default - none */
  readonly livenessProbe?: k8s.Probe;
  /** @default - none */
  readonly readinessProbe?: k8s.Probe;
  /**
   * Paths the image writes; each gets an emptyDir.
   *
   * @default - none
   */
  readonly writablePaths?: WritablePath[];
  /** @default - none */
  readonly mounts?: MountSpec[];
  /**
   * Secret keys mounted as read-only files `<directory>/<key>`, for programs that read
   * credentials from files. Recorded as requirements of the namespace like env references.
   *
   * @default - none
   */
  readonly secretFiles?: { readonly directory: string; readonly keys: SecretKeyRef[] }[];
}

/** Properties of a hardened pod. */
export interface HardenedPodProps {
  /** UID the containers run as; must not be 0. */
  readonly user: number;
  /** GID the containers run as; must not be 0. */
  readonly group: number;
  /**
   * Group that owns mounted volumes.
   *
   * @default - same as `group`
   */
  readonly fsGroup?: number;
  readonly containers: HardenedContainerProps[];
  /** @default - none */
  readonly initContainers?: HardenedContainerProps[];
  /**
   * Volumes other than the emptyDirs of writable paths (PVCs, ConfigMaps, projected).
   *
   * @default - none
   */
  readonly volumes?: k8s.Volume[];
  /**
   * Mount a ServiceAccount token. Only for workloads that talk to the Kubernetes API, and then
   * with a least-privilege Role.
   *
   * @default false
   */
  readonly mountServiceAccountToken?: boolean;
  /** @default - the namespace's `default` ServiceAccount (no token mounted) */
  readonly serviceAccountName?: string;
  /** @default Duration.seconds(30) */
  readonly terminationGracePeriod?: Duration;
  /** @default - Always (Never/OnFailure for Jobs) */
  readonly restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  /**
   * Share the node's network and process namespaces (agents that observe the node). Allowed only
   * in a namespace with a `privileged` entry in `POD_SECURITY_EXCEPTIONS`, as are hostPath volumes.
   *
   * @default - neither
   */
  readonly host?: { readonly network?: boolean; readonly pid?: boolean };
  /**
   * The containers see each other's processes, so a sidecar can signal the server (a reload
   * on SIGHUP). Pod Security allows it at every level.
   *
   * @default false
   */
  readonly shareProcessNamespace?: boolean;
}

const CONTAINER_SECURITY: k8s.SecurityContext = {
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/**
 * The pod and container security contexts of every platform pod: Pod Security `restricted` and
 * the platform's own rules (explicit non-root IDs, read-only root). Exported for pods another
 * program creates from a template the render writes (notebook servers, Spark executors).
 */
export function restrictedSecurityContexts(user: number, group: number, fsGroup: number = group, rootAllowed = false): { pod: k8s.PodSecurityContext; container: k8s.SecurityContext } {
  if (user === 0 && group === 0 && rootAllowed) {
    // An exception namespace's root pod: the same container hardening, only the identity differs.
    return {
      pod: { runAsUser: 0, runAsGroup: 0, seccompProfile: { type: 'RuntimeDefault' } },
      container: { ...CONTAINER_SECURITY, runAsNonRoot: false, runAsUser: 0, runAsGroup: 0 },
    };
  }
  if (user === 0 || group === 0 || fsGroup === 0) throw new Error(`a pod would run as root (user ${user}, group ${group}, fsGroup ${fsGroup}); set non-zero IDs`);
  return {
    pod: { runAsNonRoot: true, runAsUser: user, runAsGroup: group, fsGroup, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' } },
    container: { ...CONTAINER_SECURITY, runAsUser: user, runAsGroup: group },
  };
}

/**
 * Container environment as Kubernetes EnvVars, recording every Secret it reads as a requirement
 * of `namespace` (the render fails when no cluster provides it). For pods another program
 * creates; the platform's own workloads get theirs from `hardenedPod`.
 */
export function kubeEnv(chart: PlatformChart, namespace: string, env: Readonly<Record<string, EnvValue>>): k8s.EnvVar[] {
  const secrets = SecretRequirements.of(chart);
  return Object.entries(env).map(([name, value]) => {
    if (value.secret) {
      if (chart.context.readsFromVault(value.secret)) throw new Error(`${name} in '${namespace}' reads secret '${value.secret.secretName}', which this cluster delivers with Vault; pods created outside the render cannot receive it yet`);
      secrets.require(value.secret, namespace);
    }
    return value._toKube(name);
  });
}

/** A Vault agent template reading `ref`'s key; `index` because keys such as `admin-user` are no Go identifiers. */
const vaultField = (ref: SecretKeyRef) => `{{ index .Data.data "${ref.key}" }}`;

/** The file the Vault agent renders `ref` into, under /vault/secrets. */
// vault-k8s names the rendered file after the annotation, lower-cased (agent.secrets()): a key
// such as rootUser would otherwise be looked for under a name the agent never writes.
const vaultFileName = (ref: SecretKeyRef) => `${ref.secretName}-${ref.key}`.replace(/[^A-Za-z0-9-]/g, '-').toLowerCase();

/**
 * Where a container finds key `ref` that it mounts with `secretFiles` at `directory`: that
 * directory's file, or, when the cluster delivers secrets with Vault, the file the agent renders.
 */
export function secretFilePath(chart: PlatformChart, directory: string, ref: SecretKeyRef): string {
  return chart.context.readsFromVault(ref) ? `/vault/secrets/${vaultFileName(ref)}` : `${directory}/${ref.key}`;
}

/** The name of the emptyDir volume a container's writable path gets, for another container to share. */
export function writableVolumeName(path: string): string {
  const slug = path.replace(/^\/+/, '').replace(/[^a-z0-9]+/gi, '-').toLowerCase().replace(/-+$/, '');
  return `writable-${slug}`.slice(0, 63).replace(/-+$/, '');
}

/**
 * Builds a pod spec that satisfies Pod Security `restricted` and the platform's own rules:
 * explicit non-root UID/GID, no privilege escalation, all capabilities dropped, seccomp
 * RuntimeDefault, read-only root with emptyDirs only where the image writes, requests and
 * limits, pull policy IfNotPresent and no ServiceAccount token unless asked for.
 * Secrets the containers read are recorded as requirements of the namespace.
 */
export function hardenedPod(chart: PlatformChart, props: HardenedPodProps): { spec: k8s.PodSpec; annotations: Record<string, string>; usesVault: boolean } {
  const root = props.user === 0 && props.group === 0 && props.fsGroup === undefined && chart.rootAllowed;
  if (!root && (props.user === 0 || props.group === 0 || props.fsGroup === 0)) {
    throw new Error(`pod in '${chart.namespace}' would run as root (user ${props.user}, group ${props.group}); set a non-zero UID and GID, or give the namespace an exception with runsAsRoot in POD_SECURITY_EXCEPTIONS (libs/core/src/pod-security.ts)`);
  }
  assertHostAccessAllowed(chart, props);
  const secrets = SecretRequirements.of(chart);
  const writable = new Map<string, WritablePath>();
  const secretVolumes = new Map<string, k8s.Volume>();
  const vault = chart.context.vault;
  const annotations: Record<string, string> = {};
  const toContainer = (c: HardenedContainerProps): k8s.Container => {
    const readsFromVault = (ref: SecretKeyRef | undefined) => ref !== undefined && chart.context.readsFromVault(ref);
    const fromVault = Object.entries(c.env ?? {}).filter(([, v]) => readsFromVault(v.secret));
    let command = c.command;
    let args = c.args;
    if (vault && fromVault.length > 0) {
      if (!c.command) throw new Error(`container '${c.name}' in '${chart.namespace}' reads secrets from Vault and needs an explicit command to wrap`);
      // The agent renders `export NAME='value'` lines; the container sources them, then runs as before.
      const file = `${c.name}-env`;
      const paths = new Map<string, [string, SecretKeyRef][]>();
      for (const [name, value] of fromVault) {
        const ref = value.secret as SecretKeyRef;
        // One path per secret, wherever it is read; the Vault role of each namespace may read it.
        const path = `${vault.kvMount}/data/${vault.pathPrefix}/${ref.secretName}`;
        secrets.requireFromVault(ref, path, chart.namespace);
        paths.set(path, [...(paths.get(path) ?? []), [name, ref]]);
      }
      annotations[`vault.hashicorp.com/agent-inject-secret-${file}`] = [...paths.keys()][0];
      annotations[`vault.hashicorp.com/agent-inject-template-${file}`] = [...paths.entries()]
        .map(([path, vars]) => [`{{- with secret "${path}" }}`, ...vars.map(([name, ref]) => `export ${name}='${vaultField(ref)}'`), '{{- end }}'].join('\n'))
        .join('\n');
      command = ['/bin/sh', '-c', `. /vault/secrets/${file} && exec "$@"`, 'vault-env', ...c.command, ...(c.args ?? [])];
      args = undefined;
    }
    for (const w of c.writablePaths ?? []) {
      // Containers that name the same path share one emptyDir: it gets the largest size asked for
      // (the last declaration used to win, shrinking another container's space unseen).
      const shared = writable.get(w.path);
      if (shared && (shared.medium ?? 'disk') !== (w.medium ?? 'disk')) {
        throw new Error(`pod in '${chart.namespace}': container '${c.name}' declares writable path ${w.path} on ${w.medium ?? 'disk'}, another container of the pod on ${shared.medium ?? 'disk'}; they share one emptyDir, so declare one medium or use different paths`);
      }
      if (!shared || quantityValue(w.sizeLimit ?? '1Gi') > quantityValue(shared.sizeLimit ?? '1Gi')) writable.set(w.path, w);
    }
    const secretMounts = (c.secretFiles ?? []).flatMap((f) => {
      const names = new Set(f.keys.map((k) => k.secretName));
      if (names.size !== 1) throw new Error(`secretFiles at ${f.directory} must come from one Secret, got ${[...names].join(', ')}`);
      if (vault && f.keys.every((k) => readsFromVault(k))) {
        // The agent renders each key into its own file under /vault/secrets (secretFilePath).
        for (const ref of f.keys) {
          const path = `${vault.kvMount}/data/${vault.pathPrefix}/${ref.secretName}`;
          secrets.requireFromVault(ref, path, chart.namespace);
          annotations[`vault.hashicorp.com/agent-inject-secret-${vaultFileName(ref)}`] = path;
          annotations[`vault.hashicorp.com/agent-inject-template-${vaultFileName(ref)}`] = `{{- with secret "${path}" }}${vaultField(ref)}{{- end }}`;
        }
        return [];
      }
      const secretName = f.keys[0].secretName;
      for (const k of f.keys) secrets.require(k, chart.namespace);
      const volume = `secret-${secretName}`.slice(0, 63).replace(/-+$/, '');
      secretVolumes.set(volume, { name: volume, secret: { secretName, items: f.keys.map((k) => ({ key: k.key, path: k.key })), defaultMode: 0o440 } });
      return [{ name: volume, mountPath: f.directory, readOnly: true }];
    });
    const env = kubeEnv(chart, chart.namespace, Object.fromEntries(Object.entries(c.env ?? {}).filter(([, value]) => !readsFromVault(value.secret))));
    const mounts: k8s.VolumeMount[] = [
      ...(c.writablePaths ?? []).map((w) => ({ name: writableVolumeName(w.path), mountPath: w.path })),
      ...(c.mounts ?? []).map(volumeMount),
      ...secretMounts,
    ];
    return {
      name: c.name,
      image: c.image.reference,
      imagePullPolicy: 'IfNotPresent',
      command,
      args,
      workingDir: c.workingDir,
      env: env.length ? env : undefined,
      ports: c.ports?.map((p) => ({ name: p.name, containerPort: p.number, protocol: p.protocol ?? Protocol.TCP })),
      resources: {
        requests: { cpu: k8s.Quantity.fromString(c.resources.requests.cpu), memory: k8s.Quantity.fromString(c.resources.requests.memory) },
        limits: { cpu: k8s.Quantity.fromString(c.resources.limits.cpu), memory: k8s.Quantity.fromString(c.resources.limits.memory) },
      },
      startupProbe: c.startupProbe,
      livenessProbe: c.livenessProbe,
      readinessProbe: c.readinessProbe,
      securityContext: restrictedSecurityContexts(props.user, props.group, props.fsGroup, root).container,
      volumeMounts: mounts.length ? mounts : undefined,
    };
  };
  const initContainers = props.initContainers?.map(toContainer);
  const containers = props.containers.map(toContainer);
  const volumes: k8s.Volume[] = [
    ...[...writable.values()].map((w) => ({
      name: writableVolumeName(w.path),
      emptyDir: { medium: w.medium, sizeLimit: k8s.Quantity.fromString(w.sizeLimit ?? '1Gi') },
    })),
    ...secretVolumes.values(),
    ...(props.volumes ?? []),
  ];
  const usesVault = Object.keys(annotations).length > 0;
  let serviceAccountName = props.serviceAccountName;
  if (usesVault) {
    if (props.serviceAccountName) throw new Error(`pod in '${chart.namespace}' has ServiceAccount '${props.serviceAccountName}' and reads secrets from Vault; Vault logs pods in as vault-auth`);
    Object.assign(annotations, {
      'vault.hashicorp.com/agent-inject': 'true',
      'vault.hashicorp.com/role': chart.namespace,
      // Static secrets: render them once before the containers start, no sidecar.
      'vault.hashicorp.com/agent-pre-populate-only': 'true',
    });
    if (chart.context.vault?.tls) {
      // The injector mounts this Secret into the agent at /vault/tls.
      internalCaTrust(chart);
      Object.assign(annotations, { 'vault.hashicorp.com/tls-secret': INTERNAL_CA_TRUST_SECRET, 'vault.hashicorp.com/ca-cert': '/vault/tls/ca.crt' });
    }
    serviceAccountName = VAULT_AUTH_SERVICE_ACCOUNT;
    if (!chart.node.tryFindChild('VaultAuthServiceAccount')) {
      new k8s.KubeServiceAccount(chart, 'VaultAuthServiceAccount', {
        metadata: { name: VAULT_AUTH_SERVICE_ACCOUNT, namespace: chart.namespace, labels: { [LabelKeys.NAME]: VAULT_AUTH_SERVICE_ACCOUNT, [LabelKeys.COMPONENT]: 'vault-auth' } },
        automountServiceAccountToken: false,
      });
    }
  }
  const spec: k8s.PodSpec = {
    // The injected agent logs in to Vault with the pod's token; it grants nothing in Kubernetes.
    automountServiceAccountToken: usesVault || (props.mountServiceAccountToken ?? false),
    serviceAccountName,
    enableServiceLinks: false,
    hostNetwork: props.host?.network,
    hostPid: props.host?.pid,
    shareProcessNamespace: props.shareProcessNamespace || undefined,
    // A pod on the host network still resolves cluster names through the cluster DNS.
    dnsPolicy: props.host?.network ? 'ClusterFirstWithHostNet' : undefined,
    restartPolicy: props.restartPolicy,
    terminationGracePeriodSeconds: props.terminationGracePeriod?.toSeconds(),
    securityContext: restrictedSecurityContexts(props.user, props.group, props.fsGroup, root).pod,
    initContainers,
    containers,
    volumes: volumes.length ? volumes : undefined,
  };
  return { spec, annotations, usesVault };
}

/** Host namespaces and host paths break every Pod Security level but `privileged`: only with a named exception. */
function assertHostAccessAllowed(chart: PlatformChart, props: HardenedPodProps): void {
  const wanted = [
    ...(props.host?.network ? ['hostNetwork'] : []),
    ...(props.host?.pid ? ['hostPID'] : []),
    ...(props.volumes ?? []).filter((v) => v.hostPath).map((v) => `hostPath volume '${v.name}'`),
  ];
  if (wanted.length > 0 && chart.podSecurityLevel !== PodSecurityLevel.PRIVILEGED) {
    throw new Error(
      `pod in '${chart.namespace}' asks for ${wanted.join(', ')}, which Pod Security allows only in a privileged namespace; add '${chart.namespace}' to POD_SECURITY_EXCEPTIONS (libs/core/src/pod-security.ts) with its reason, or drop the host access`,
    );
  }
}

/** The ServiceAccount pods log in to Vault with; bound to a Vault role named after the namespace. */
export const VAULT_AUTH_SERVICE_ACCOUNT = 'vault-auth';

/**
 * Spreads the replicas of a workload across nodes, so one node failure takes at most its share.
 * Soft (ScheduleAnyway): a small cluster still schedules every replica. Members of a quorum in a
 * cluster whose topology asks for it are spread hard (DoNotSchedule): two on one node would lose
 * the quorum with that node; with zones declared, over the zones too.
 */
function spreadAcrossNodes(chart: PlatformChart, kind: string, pods: PodSelection, replicas: number, quorum: boolean): k8s.TopologySpreadConstraint[] | undefined {
  if (replicas < 2) return undefined;
  const topology = chart.context.topology;
  const hard = quorum && topology?.quorumSpread === 'hard';
  if (hard && replicas > topology.nodes) {
    throw new Error(`${kind} '${chart.namespace}/${pods.identity.name}' is a quorum of ${replicas} members, but topology.nodes in cluster.yaml declares ${topology.nodes} nodes; with hard spreading each member needs a node of its own`);
  }
  const spread = (topologyKey: string, whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway'): k8s.TopologySpreadConstraint => ({ maxSkew: 1, topologyKey, whenUnsatisfiable, labelSelector: { matchLabels: pods.matchLabels } });
  if (!hard) return [spread('kubernetes.io/hostname', 'ScheduleAnyway')];
  return [spread('kubernetes.io/hostname', 'DoNotSchedule'), ...(topology.zones ? [spread('topology.kubernetes.io/zone', 'DoNotSchedule')] : [])];
}

function assertProbed(chart: PlatformChart, kind: string, name: string, pod: HardenedPodProps): void {
  for (const c of pod.containers) {
    if (!c.livenessProbe || !c.readinessProbe) {
      throw new Error(
        `${kind} '${chart.namespace}/${name}' container '${c.name}' needs a livenessProbe and a readinessProbe; long-running containers must tell Kubernetes when they are alive and ready`,
      );
    }
  }
}

function assertReplicas(chart: PlatformChart, kind: string, name: string, replicas: number): void {
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new Error(`${kind} '${chart.namespace}/${name}' replicas must be an integer >= 1, got ${replicas}`);
  }
}

/** Common properties of a platform workload. */
export interface PlatformWorkloadProps {
  /** Who the pods are; the workload is named `identity.name`. */
  readonly identity: WorkloadIdentity;
  readonly pod: HardenedPodProps;
  /**
   * Extra annotations on the pod template (e.g. a checksum that rolls pods on config change).
   *
   * @default - none
   */
  readonly podAnnotations?: Readonly<Record<string, string>>;
  /**
   * Where the pods serve Prometheus metrics. The pods get the scrape annotations, and the
   * cluster's Prometheus, and only it, may reach the port.
   *
   * @default - not scraped
   */
  readonly metrics?: MetricsEndpoint;
  /**
   * Images of the pods this workload creates itself (JupyterHub's notebook servers): named on
   * the workload (`ml-platform.io/spawned-images`), so the inventory lists them too.
   *
   * @default - none
   */
  readonly spawnsImages?: readonly ImageRef[];
}

/** The annotation on a workload that lists the images of the pods it creates (`spawnsImages`). */
export const SPAWNED_IMAGES_ANNOTATION = 'ml-platform.io/spawned-images';

/**
 * What StatefulSets, Deployments and DaemonSets share: checked replicas and probes, the pods' identity
 * and labels, and a hardened pod template spread across nodes.
 */
function longRunning(scope: PlatformChart, kind: string, props: PlatformWorkloadProps & { readonly replicas?: number; readonly quorum?: boolean }) {
  const name = props.identity.name;
  const replicas = props.replicas ?? 1;
  assertReplicas(scope, kind, name, replicas);
  assertProbed(scope, kind, name, props.pod);
  const pods = new PodSelection(scope, scope.namespace, props.identity);
  const labels = workloadLabels(props.identity);
  const pod = hardenedPod(scope, props.pod);
  if (pod.usesVault) scope.context.vault?.allowAgents(pods);
  let scrape: Record<string, string> = {};
  if (props.metrics) {
    const served = props.pod.containers.flatMap((c) => c.ports ?? []).map((p) => p.number);
    if (!served.includes(props.metrics.port)) {
      throw new Error(`${kind} '${scope.namespace}/${name}' declares metrics on port ${props.metrics.port}, which no container exposes (ports: ${served.join(', ') || 'none'}); add it to the container's ports`);
    }
    // A review environment has no Prometheus, and its base cluster's may not reach it (its
    // NetworkPolicies): pods it discovered there would only count as targets down.
    if (!scope.context.review) {
      scrape = scrapeAnnotations(props.metrics);
      MetricsScraping.of(scope).declare({ pods, endpoint: props.metrics, onHostNetwork: props.pod.host?.network ?? false });
    }
  }
  const annotations = { ...props.podAnnotations, ...scrape, ...pod.annotations };
  const spawned = props.spawnsImages?.length ? { [SPAWNED_IMAGES_ANNOTATION]: props.spawnsImages.map((i) => i.reference).join(',') } : undefined;
  return {
    pods,
    replicas,
    metadata: { name, namespace: scope.namespace, labels, annotations: spawned },
    template: {
      metadata: { labels, annotations: Object.keys(annotations).length ? annotations : undefined },
      spec: { ...pod.spec, topologySpreadConstraints: spreadAcrossNodes(scope, kind, pods, replicas, props.quorum ?? false) },
    },
  };
}

/** A ReadWriteOnce volume claim template of `size`, on the cluster's default StorageClass unless one is named. */
export function volumeClaimTemplate(scope: Construct, name: string, size: string, storageClass?: string): k8s.KubePersistentVolumeClaimProps {
  return {
    metadata: { name },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: storageClass ?? PlatformChart.of(scope).context.defaultStorageClass,
      resources: { requests: { storage: k8s.Quantity.fromString(size) } },
    },
  };
}

/** Properties for `PlatformStatefulSet`. */
export interface PlatformStatefulSetProps extends PlatformWorkloadProps {
  /** @default 1 */
  readonly replicas?: number;
  /** The headless Service that gives pods their DNS names. */
  readonly serviceName: string;
  /** @default - none */
  readonly volumeClaimTemplates?: k8s.KubePersistentVolumeClaimProps[];
  /** @default 'OrderedReady' */
  readonly podManagementPolicy?: 'OrderedReady' | 'Parallel';
  /**
   * `OnDelete` for servers whose pods must be restarted by an operator (Vault must be unsealed).
   *
   * @default 'RollingUpdate'
   */
  readonly updateStrategy?: 'RollingUpdate' | 'OnDelete';
  /**
   * The pods are members of a quorum (Raft, erasure sets, a gossip cluster, master election) that
   * breaks when two of them share a node: spread hard across nodes (and zones) where the cluster's
   * `topology` asks for it.
   *
   * @default false
   */
  readonly quorum?: boolean;
}

/** A StatefulSet with a hardened pod, a stable name and label selectors. */
export class PlatformStatefulSet extends Construct {
  public readonly pods: PodSelection;
  public readonly replicas: number;

  constructor(scope: Construct, id: string, props: PlatformStatefulSetProps) {
    super(scope, id);
    const { pods, replicas, metadata, template } = longRunning(PlatformChart.of(this), 'StatefulSet', props);
    this.pods = pods;
    this.replicas = replicas;
    new k8s.KubeStatefulSet(this, 'Resource', {
      metadata,
      spec: {
        replicas,
        serviceName: props.serviceName,
        podManagementPolicy: props.podManagementPolicy,
        selector: { matchLabels: pods.matchLabels },
        updateStrategy: { type: props.updateStrategy ?? 'RollingUpdate' },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template,
        volumeClaimTemplates: props.volumeClaimTemplates,
      },
    });
  }
}

/** Properties for `PlatformDeployment`. */
export interface PlatformDeploymentProps extends PlatformWorkloadProps {
  /** @default 1 */
  readonly replicas?: number;
  /**
   * `Recreate` for a singleton that must never run twice, even for a moment (JupyterHub's hub
   * owns its proxy's routing table and its database rows); it is down while the new pod starts.
   *
   * @default 'RollingUpdate'
   */
  readonly strategy?: 'RollingUpdate' | 'Recreate';
  /**
   * Scale between a minimum and a maximum on CPU with a HorizontalPodAutoscaler (autoscaling/v2).
   * The Deployment then leaves `replicas` out, so the GitOps agent never resets what the
   * autoscaler chose. Needs the cluster's resource metrics API (metrics-server).
   *
   * @default - a fixed `replicas`
   */
  readonly autoscaling?: DeploymentAutoscaling;
}

/** Bounds and target of a Deployment's HorizontalPodAutoscaler. */
export interface DeploymentAutoscaling {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /**
   * Average CPU use, in percent of the pods' requests, the autoscaler keeps the pods at.
   *
   * @default 70
   */
  readonly targetCpuUtilization?: number;
}

/**
 * A Deployment with a hardened pod. Rolls out by surging first and never going below the
 * desired count (maxUnavailable 0), so a bad release never takes the service down; singletons
 * that must not overlap are recreated instead.
 */
export class PlatformDeployment extends Construct {
  public readonly pods: PodSelection;
  /** The pods it runs; under autoscaling, the fewest it runs. */
  public readonly replicas: number;

  constructor(scope: Construct, id: string, props: PlatformDeploymentProps) {
    super(scope, id);
    const chart = PlatformChart.of(this);
    const scaling = props.autoscaling;
    const name = `${chart.namespace}/${props.identity.name}`;
    if (scaling) {
      if (props.replicas !== undefined) throw new Error(`Deployment '${name}' sets both replicas and autoscaling; the autoscaler owns the count, give only its bounds`);
      assertReplicas(chart, 'Deployment', props.identity.name, scaling.minReplicas);
      if (scaling.maxReplicas < scaling.minReplicas) throw new Error(`Deployment '${name}' autoscales between ${scaling.minReplicas} and ${scaling.maxReplicas} replicas; the maximum must not be below the minimum`);
    }
    // Spread for the most pods the autoscaler may run.
    const { pods, replicas, metadata, template } = longRunning(chart, 'Deployment', { ...props, replicas: scaling ? scaling.maxReplicas : props.replicas });
    if (props.strategy === 'Recreate' && replicas > 1) {
      throw new Error(`Deployment '${name}' is recreated on every change, which suits a singleton; run 1 replica or roll it out (strategy RollingUpdate)`);
    }
    this.pods = pods;
    this.replicas = scaling ? scaling.minReplicas : replicas;
    if (scaling) {
      new k8s.KubeHorizontalPodAutoscalerV2(this, 'Autoscaler', {
        metadata: { name: metadata.name, namespace: metadata.namespace, labels: metadata.labels },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: metadata.name },
          minReplicas: scaling.minReplicas,
          maxReplicas: scaling.maxReplicas,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: scaling.targetCpuUtilization ?? 70 } } }],
        },
      });
    }
    new k8s.KubeDeployment(this, 'Resource', {
      metadata,
      spec: {
        replicas: scaling ? undefined : replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: pods.matchLabels },
        strategy:
          props.strategy === 'Recreate'
            ? { type: 'Recreate' }
            : { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
        template,
      },
    });
  }
}

/** Properties for `PlatformDaemonSet`. */
export interface PlatformDaemonSetProps extends PlatformWorkloadProps {
  /**
   * Taints the pods tolerate.
   *
   * @default - every NoSchedule taint: a node agent belongs on every node, control plane included
   */
  readonly tolerations?: k8s.Toleration[];
}

/**
 * A DaemonSet with a hardened pod, one per Linux node. Rolls one node at a time, so a bad
 * release never blinds every node at once.
 */
export class PlatformDaemonSet extends Construct {
  public readonly pods: PodSelection;

  constructor(scope: Construct, id: string, props: PlatformDaemonSetProps) {
    super(scope, id);
    const { pods, metadata, template } = longRunning(PlatformChart.of(this), 'DaemonSet', props);
    this.pods = pods;
    new k8s.KubeDaemonSet(this, 'Resource', {
      metadata,
      spec: {
        revisionHistoryLimit: 5,
        selector: { matchLabels: pods.matchLabels },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1) } },
        template: {
          ...template,
          spec: {
            ...template.spec,
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            tolerations: props.tolerations ?? [{ operator: 'Exists', effect: 'NoSchedule' }],
          },
        },
      },
    });
  }
}

/** Properties for `PlatformJob`. */
export interface PlatformJobProps extends PlatformWorkloadProps {
  /**
   * Everything that defines the Job's work besides its pod (script inputs, targets). Jobs are
   * immutable, so the Job is named `<identity.name>-<revision>`, where the revision hashes the
   * pod spec, these parts and the versions of the Secrets it reads: changed work or a rotated
   * secret gives a new Job, which runs again.
   *
   * @default - none
   */
  readonly revisionOf?: string[];
  /** @default 10 */
  readonly backoffLimit?: number;
  /** @default Duration.minutes(30) */
  readonly activeDeadline?: Duration;
}

/** A run-to-completion Job with a hardened pod. */
export class PlatformJob extends Construct {
  public readonly pods: PodSelection;
  public readonly name: string;

  constructor(scope: PlatformChart, id: string, props: PlatformJobProps) {
    super(scope, id);
    this.pods = new PodSelection(scope, scope.namespace, props.identity);
    const labels = workloadLabels(props.identity);
    const { spec: pod, annotations, usesVault } = hardenedPod(scope, { ...props.pod, restartPolicy: props.pod.restartPolicy ?? 'OnFailure' });
    if (usesVault) scope.context.vault?.allowAgents(this.pods);
    const secretsRead = [...new Set([...JSON.stringify(pod).matchAll(/"secretKeyRef":\{"name":"([^"]+)"|"secretName":"([^"]+)"/g)].map((m) => m[1] ?? m[2]))].sort();
    const revision = contentRevision(JSON.stringify({ pod, annotations }), ...(props.revisionOf ?? []), ...secretsRead.map((s) => `${s}=${scope.context.secretVersion(scope.namespace, s)}`));
    this.name = `${props.identity.name}-${revision}`;
    new k8s.KubeJob(this, 'Resource', {
      metadata: { name: this.name, namespace: scope.namespace, labels },
      spec: {
        backoffLimit: props.backoffLimit ?? 10,
        activeDeadlineSeconds: (props.activeDeadline ?? Duration.minutes(30)).toSeconds(),
        template: {
          metadata: { labels, annotations: { ...props.podAnnotations, ...annotations, [REVISION_ANNOTATION]: revision } },
          spec: pod,
        },
      },
    });
  }
}

/** Properties for `PlatformCronJob`. */
export interface PlatformCronJobProps extends PlatformWorkloadProps {
  /** When, as a cron expression in UTC (e.g. `15 2 * * *`). */
  readonly schedule: string;
  /** @default 2 */
  readonly backoffLimit?: number;
  /** @default Duration.hours(2) */
  readonly activeDeadline?: Duration;
  /**
   * Never on schedule: a template that people run on purpose
   * (`kubectl create job --from=cronjob/<name> <job>`), such as a restore.
   *
   * @default false
   */
  readonly suspend?: boolean;
}

/**
 * A scheduled Job with a hardened pod: one run at a time (a late run is skipped, not stacked),
 * in UTC, the last three successful and failed Jobs kept for their logs. kube-state-metrics
 * reports its last success (`kube_cronjob_status_last_successful_time`).
 */
export class PlatformCronJob extends Construct {
  public readonly pods: PodSelection;
  public readonly name: string;

  constructor(scope: PlatformChart, id: string, props: PlatformCronJobProps) {
    super(scope, id);
    if (props.schedule.trim().split(/\s+/).length !== 5) throw new Error(`CronJob '${scope.namespace}/${props.identity.name}': schedule '${props.schedule}' is not a five-field cron expression`);
    this.pods = new PodSelection(scope, scope.namespace, props.identity);
    this.name = props.identity.name;
    const labels = workloadLabels(props.identity);
    const { spec: pod, annotations, usesVault } = hardenedPod(scope, { ...props.pod, restartPolicy: props.pod.restartPolicy ?? 'Never' });
    if (usesVault) scope.context.vault?.allowAgents(this.pods);
    new k8s.KubeCronJob(this, 'Resource', {
      metadata: { name: this.name, namespace: scope.namespace, labels },
      spec: {
        schedule: props.schedule,
        suspend: props.suspend || undefined,
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        // A run missed by more than an hour (controller down) is skipped; the next one comes.
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: props.backoffLimit ?? 2,
            activeDeadlineSeconds: (props.activeDeadline ?? Duration.hours(2)).toSeconds(),
            template: { metadata: { labels, annotations: { ...props.podAnnotations, ...annotations } }, spec: pod },
          },
        },
      },
    });
  }
}

/** Properties for `ScriptJob`. */
export interface ScriptJobProps {
  readonly identity: WorkloadIdentity;
  readonly image: ImageRef;
  readonly user: number;
  readonly group: number;
  /** A POSIX shell script; it must be idempotent, because a Job may run more than once. */
  readonly script: string;
  /**
   * Environment besides `HOME=/tmp`.
   *
   * @default - none
   */
  readonly env?: Readonly<Record<string, EnvValue>>;
  /**
   * Volumes the script's container mounts (e.g. the internal CA, `trustFor`).
   *
   * @default - none
   */
  readonly volumes?: { readonly mounts: MountSpec[]; readonly volumes: k8s.Volume[] };
  /**
   * Secrets the script reads as files (from Vault where the cluster delivers secrets so).
   *
   * @default - none
   */
  readonly secretFiles?: HardenedContainerProps['secretFiles'];
}

/**
 * A Job that runs one idempotent shell script in a small, hardened container (`bootstrap`) with a
 * writable `/tmp` as its home: the shape of the components' bootstrap work (databases, buckets).
 */
export class ScriptJob extends PlatformJob {
  constructor(scope: PlatformChart, id: string, props: ScriptJobProps) {
    super(scope, id, {
      identity: props.identity,
      pod: {
        user: props.user,
        group: props.group,
        containers: [
          {
            name: 'bootstrap',
            image: props.image,
            command: ['/bin/sh', '-c', props.script],
            env: { HOME: EnvValue.fromValue('/tmp'), ...props.env },
            resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
            writablePaths: [{ path: '/tmp', sizeLimit: '64Mi' }],
            mounts: props.volumes?.mounts,
            secretFiles: props.secretFiles,
          },
        ],
        volumes: props.volumes?.volumes,
      },
    });
  }
}
