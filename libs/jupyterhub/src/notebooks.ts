// The two namespaces JupyterHub's spawner fills: the notebook servers themselves, and the Spark
// executors that a notebook's Spark session starts. Neither holds a workload the render creates:
// their pods are made by KubeSpawner and by Spark from what these charts provide (RBAC, config,
// a pod template, quota, NetworkPolicies).
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  ComputeQuota,
  grant,
  hardenedPod,
  ImageRef,
  jvmTrustEnv,
  LabelKeys,
  Layer,
  PlatformChart,
  PlatformContext,
  PlatformResourceQuota,
  PlatformService,
  PodSelection,
  podTemplateFile,
  quantityValue,
  RbacSubject,
  S3Bucket,
  s3Env,
  ServerCertificate,
  TlsSidecar,
  trustFor,
  WorkloadIdentity,
  workloadLabels,
} from '@ml-platform/core';

/** docker-stacks images run as jovyan, UID 1000, in group users, GID 100 (images/docker-stacks-foundation). */
export const NOTEBOOK_UID = 1000;
export const NOTEBOOK_GID = 100;

/** The ServiceAccount notebook servers run as; Spark's driver in them starts executors with its token. */
export const NOTEBOOK_SERVICE_ACCOUNT = 'notebook';

/** Labels of pods another program creates: ours, but managed by that program. */
export function spawnedLabels(identity: WorkloadIdentity, managedBy: string): Record<string, string> {
  return { ...workloadLabels(identity), [LabelKeys.MANAGED_BY]: managedBy };
}

/** Properties for `NotebookServersChart`. */
export interface NotebookServersChartProps {
  readonly context: PlatformContext;
  readonly image: ImageRef;
  /** The hub's ServiceAccount, which gets what KubeSpawner needs here and nothing more. */
  readonly spawner: RbacSubject;
  /** Files mounted into every notebook server at `SPARK_CONF_DIR` (spark-defaults.conf, the executor pod template). */
  readonly sparkConf: Readonly<Record<string, string>>;
}

/** Where a notebook server finds Spark's configuration (the `spark-conf` ConfigMap). */
export const SPARK_CONF_DIR = '/etc/spark/conf';

/** The notebook server's own port (jupyterhub-singleuser); on loopback when a TLS sidecar fronts it. */
export const NOTEBOOK_PORT = 8888;
/** Where a notebook pod's TLS sidecar serves the server to the proxy and the hub. */
export const NOTEBOOK_TLS_PORT = 8443;
/** The headless Service under which each notebook pod has a name of its own. */
export const NOTEBOOK_SUBDOMAIN = 'notebooks';

/**
 * TLS for the notebook servers, where the cluster encrypts in-cluster traffic: what KubeSpawner
 * adds to every server pod (Kubernetes JSON, as its `extra_containers` and `volumes` take it),
 * and the name each pod is reached by.
 */
export interface NotebookServerTls {
  /** The sidecar that serves the server on `port` with the namespace's wildcard certificate. */
  readonly sidecar: Record<string, unknown>;
  /** The sidecar's volumes: its nginx.conf, the certificate, its writable run directory. */
  readonly volumes: Record<string, unknown>[];
  readonly port: number;
  /** `hostname` and `subdomain` of a pod make `<pod>.<domain>` resolve to it (the headless Service). */
  readonly subdomain: string;
  /** `<subdomain>.<namespace>.svc.<cluster domain>`: a server is `https://<pod>.<domain>:<port>`. */
  readonly domain: string;
}

/**
 * The namespace of the notebook servers (`jupyterhub-users`): Pod Security `restricted`, default
 * deny, the hub's least-privilege Role for spawning, the ServiceAccount notebook servers run as
 * (Spark's driver uses its token to start executors), and Spark's configuration.
 */
export class NotebookServersChart extends PlatformChart {
  /** The notebook servers KubeSpawner creates, by the labels it is configured to give them. */
  public readonly servers: PodSelection;
  /** The ServiceAccount of the notebook servers. */
  public readonly serviceAccount: RbacSubject;
  /** The ConfigMap with Spark's configuration. */
  public readonly sparkConfMap = 'spark-conf';
  /** How servers serve TLS; undefined where the cluster has no internal CA. */
  public readonly tls?: NotebookServerTls;

  constructor(scope: Construct, id: string, props: NotebookServersChartProps) {
    super(scope, id, { context: props.context, layer: Layer.APPS });
    this.servers = new PodSelection(this, this.namespace, { name: 'notebook', instance: 'jupyterhub', component: 'singleuser-server', version: props.image.version });
    this.serviceAccount = { serviceAccount: NOTEBOOK_SERVICE_ACCOUNT, namespace: this.namespace };
    const labels = { [LabelKeys.NAME]: 'notebook', [LabelKeys.COMPONENT]: 'singleuser-server' };
    // The token is mounted by the pod (KubeSpawner), not by default for every pod of the account.
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: this.serviceAccount.serviceAccount, namespace: this.namespace, labels }, automountServiceAccountToken: false });
    new k8s.KubeConfigMap(this, 'SparkConf', { metadata: { name: this.sparkConfMap, namespace: this.namespace, labels: { ...labels, [LabelKeys.COMPONENT]: 'spark-config' } }, data: { ...props.sparkConf } });
    if (props.context.internalCa !== undefined) this.tls = this.serverTls();
    // KubeSpawner 7.0: pods are created, watched (reflector), deleted before a re-create; home
    // volumes are created and read (never deleted: delete_pvc is off); events are watched to show
    // spawn progress. No services or secrets: internal SSL and per-server Services are off.
    grant(this, 'Spawner', {
      name: 'hub-spawner',
      subject: props.spawner,
      labels: { [LabelKeys.NAME]: 'hub-spawner', [LabelKeys.COMPONENT]: 'rbac' },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
        { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'create'] },
        { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'watch'] },
      ],
    });
  }

  /**
   * The proxy and the hub reach a server by a name of its pod (a pod IP cannot be in a
   * certificate): the headless Service `notebooks` and each pod's hostname and subdomain (set by
   * the hub's pod hook) make `<pod>.notebooks.<ns>.svc` resolve. One certificate for
   * `*.notebooks.<ns>.svc`, which cert-manager renews and nginx reads at every handshake, is
   * mounted into the sidecar of every server and never into the notebook container: people's
   * code there cannot read the key (another container's mount, no shared process namespace, and
   * the notebook ServiceAccount may read no Secret). cert-manager's csi-driver would give each pod
   * a key of its own, at the price of a privileged DaemonSet on every node (docs/security.md).
   */
  private serverTls(): NotebookServerTls {
    const headless = new PlatformService(this, 'Subdomain', {
      name: NOTEBOOK_SUBDOMAIN,
      pods: this.servers,
      headless: true,
      // The hub waits for a starting server by this name, before the pod is ready.
      publishNotReadyAddresses: true,
      ports: [{ name: 'https', port: NOTEBOOK_TLS_PORT }],
    });
    const sidecar = new TlsSidecar(this, 'ServerTls', {
      identity: this.servers.identity,
      certificate: new ServerCertificate(this, 'ServerCertificate', { secretName: 'notebook-tls', services: [], headless: NOTEBOOK_SUBDOMAIN }),
      listeners: [{ name: 'https', port: NOTEBOOK_TLS_PORT, to: NOTEBOOK_PORT }],
    });
    // KubeSpawner builds the pod: the sidecar as a hardened pod of the servers' user would run it.
    const pod = k8s.toJson_PodSpec(hardenedPod(this, { user: NOTEBOOK_UID, group: NOTEBOOK_GID, containers: [sidecar.container], volumes: sidecar.volumes }).spec) as { containers: unknown[]; volumes?: unknown[] };
    return {
      sidecar: JSON.parse(JSON.stringify(pod.containers[0])),
      volumes: JSON.parse(JSON.stringify(pod.volumes ?? [])),
      port: NOTEBOOK_TLS_PORT,
      subdomain: headless.name,
      domain: `${headless.name}.${this.namespace}.svc.${this.context.clusterDomain}`,
    };
  }
}

/** How big each executor is. */
export interface ExecutorSize {
  readonly cores: number;
  /** JVM heap, a Kubernetes quantity in Mi or Gi. */
  readonly memory: string;
}

/** Properties for `SparkExecutorsChart`. */
export interface SparkExecutorsChartProps {
  readonly context: PlatformContext;
  /** The image executors run: the notebook image, so Spark, Python and libraries match the driver's. */
  readonly image: ImageRef;
  readonly executor: ExecutorSize;
  /** What all executors together may hold. */
  readonly quota: ComputeQuota;
  /** The drivers' ServiceAccount, which may start and stop executors here. */
  readonly drivers: RbacSubject;
  /** The bucket executors read and write, with the notebooks' credentials. */
  readonly datasets: S3Bucket;
}

/** The block manager port of the executors; Spark declares it on their pods. */
export const EXECUTOR_BLOCK_MANAGER_PORT = 7079;
/** Spark's own entrypoint in the notebook image (images/notebook links it from the distribution). */
const EXECUTOR_ENTRYPOINT = '/opt/spark-executor-entrypoint.sh';
/** The executor container in the pod template; Spark fills in image, resources, env and args. */
export const EXECUTOR_CONTAINER = 'spark-executor';

/**
 * The namespace of notebook Spark executors (`jupyterhub-spark`), apart from the notebook
 * servers: the drivers' ServiceAccount may create and delete pods here, and so cannot touch
 * anyone's notebook server. A ResourceQuota caps what notebooks together take from the cluster;
 * the executor pod template makes every executor pass `restricted` with a read-only root.
 */
export class SparkExecutorsChart extends PlatformChart {
  public readonly executors: PodSelection;
  /** The executor pod template, as Spark reads it (`spark.kubernetes.executor.podTemplateFile`). */
  public readonly podTemplate: string;

  constructor(scope: Construct, id: string, props: SparkExecutorsChartProps) {
    super(scope, id, { context: props.context, layer: Layer.APPS });
    const identity = { name: 'spark-executor', instance: 'jupyterhub', component: 'spark-executor', version: props.image.version };
    this.executors = new PodSelection(this, this.namespace, identity);
    // Spark asks for the heap plus overhead: 40% for PySpark sessions, at least 384 MiB.
    const heapMi = quantityValue(props.executor.memory) / 2 ** 20;
    const podMemory = `${Math.ceil(heapMi + Math.max(384, heapMi * 0.4))}Mi`;
    const trust = trustFor(this, props.datasets);
    const pod = hardenedPod(this, {
      user: NOTEBOOK_UID,
      group: NOTEBOOK_GID,
      volumes: trust.volumes,
      containers: [
        {
          name: EXECUTOR_CONTAINER,
          image: props.image,
          command: [EXECUTOR_ENTRYPOINT],
          env: { ...s3Env(props.datasets), ...jvmTrustEnv(props.datasets) },
          mounts: trust.mounts,
          // Spark replaces these with the session's spark.executor.* settings; they show the defaults.
          resources: {
            requests: { cpu: String(props.executor.cores), memory: podMemory },
            limits: { cpu: String(props.executor.cores), memory: podMemory },
          },
          // The JVM and Python workers write temporary files; Spark mounts its local dirs itself.
          writablePaths: [{ path: '/tmp', sizeLimit: '8Gi' }],
        },
      ],
    });
    // Executors talk to the driver and each other, never to the API server.
    this.podTemplate = podTemplateFile(this.namespace, spawnedLabels(identity, 'spark'), { ...pod.spec, restartPolicy: 'Never', automountServiceAccountToken: false });

    const labels = { [LabelKeys.NAME]: 'spark-executor', [LabelKeys.COMPONENT]: 'quota' };
    new PlatformResourceQuota(this, 'Quota', { name: 'spark-executors', labels, quota: props.quota });
    // Spark 4 in client mode: it creates executor pods and their ConfigMap, watches and lists the
    // pods, and deletes both by label when the session stops (ExecutorPodsAllocator,
    // KubernetesClusterSchedulerBackend). The driver Service is off in client mode.
    grant(this, 'Driver', {
      name: 'spark-driver',
      subject: props.drivers,
      labels: { [LabelKeys.NAME]: 'spark-driver', [LabelKeys.COMPONENT]: 'rbac' },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete', 'deletecollection'] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'delete', 'deletecollection'] },
      ],
    });
  }
}
