import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  allowEgressToAddresses,
  allowFlow,
  allowPodFlow,
  assertOneS3Key,
  ComputeQuota,
  contentRevision,
  EnvValue,
  gitlabCa,
  GitLabSignIn,
  HardenedContainerProps,
  httpProbe,
  ImageRef,
  INTERNAL_CA_FILE,
  internalCaTrust,
  jvmTrustEnv,
  kubeEnv,
  Layer,
  libpqEnv,
  MountSpec,
  PlatformChart,
  PlatformContext,
  PlatformDeployment,
  PlatformDisruptionBudget,
  PlatformService,
  PodSelection,
  PostgresDatabase,
  requireApiServer,
  requireSecretsInKubernetes,
  ResourceSpec,
  S3Bucket,
  s3Env,
  secretFilePath,
  SecretKeyRef,
  ServerCertificate,
  ServiceEndpoint,
  SignIn,
  trackingEnv,
  TLS_SIDECAR_IMAGE,
  TlsSidecar,
  TrackingServer,
  trustFor,
  WebUi,
  workloadLabels,
} from '@ml-platform/core';
import { HUB_CONFIG_FILE, HUB_PORT, hubSettings, JUPYTERHUB_CALLBACK, notebookTlsHooks, renderHubConfig } from './hub-config';
import { JUPYTERHUB_HUB_IMAGE, JUPYTERHUB_PROXY_IMAGE, NOTEBOOK_IMAGE } from './images';
import { EXECUTOR_BLOCK_MANAGER_PORT, ExecutorSize, NOTEBOOK_PORT, NOTEBOOK_SERVICE_ACCOUNT, NotebookServersChart, SPARK_CONF_DIR, SparkExecutorsChart, spawnedLabels } from './notebooks';
import { DRIVER_BLOCK_MANAGER_PORT, DRIVER_PORT, EXECUTOR_TEMPLATE_FILE, SPARK_DEFAULTS_FILE, sparkDefaults } from './spark';

/** A server size people choose when they start their notebook server. */
export interface NotebookProfile {
  readonly slug: string;
  readonly displayName: string;
  /** @default - none */
  readonly description?: string;
  /** @default false */
  readonly default?: boolean;
  readonly resources: ResourceSpec;
  /**
   * GPUs per server; the cluster's `gpuNodes` says which resource, nodes and tolerations.
   *
   * @default - none
   */
  readonly gpus?: number;
}

/** Spark from notebooks. */
export interface NotebookSparkProps {
  readonly executor: ExecutorSize & { readonly instances: number };
  readonly quota: ComputeQuota;
}

/** Properties for `JupyterHubChart`. */
export interface JupyterHubChartProps {
  readonly context: PlatformContext;
  /** Where the hub keeps users, servers and tokens. */
  readonly database: PostgresDatabase;
  /** The shared datasets bucket every notebook reads and writes (pandas, Spark). */
  readonly datasets: S3Bucket;
  /**
   * Where notebooks write training logs for TensorBoard (`s3://<bucket>/<user>/...`); same
   * credentials as `datasets`.
   *
   * @default - no training log bucket
   */
  readonly trainingLogs?: S3Bucket;
  /** The MLflow tracking server notebooks log runs to. */
  readonly mlflow: TrackingServer;
  /** GitLab sign-in: `users` may sign in, `admins` become JupyterHub admins. */
  readonly signIn: GitLabSignIn;
  /** The host people reach JupyterHub at. */
  readonly externalHost: string;
  /** @default - 100m/512Mi requested, 1 CPU/1Gi limit */
  readonly hubResources?: ResourceSpec;
  /** @default - 50m/128Mi requested, 500m/256Mi limit */
  readonly proxyResources?: ResourceSpec;
  /** @default - stop servers idle for 1 hour, look every 10 minutes */
  readonly culler?: { readonly timeoutSeconds: number; readonly everySeconds: number };
  /** Each user's home volume. */
  readonly home: { readonly size: string; readonly storageClass?: string };
  readonly profiles: readonly NotebookProfile[];
  readonly spark: NotebookSparkProps;
}

const PROXY_PORT = 8000;
const PROXY_API_PORT = 8001;
const PROXY_METRICS_PORT = 8002;
/** Where the TLS sidecars serve the hub and the proxy API, each in its own pod. */
const TLS_PORT = 8443;
/** Where the proxy's sidecar serves the public port to the gateway (the cluster's `uiTls`). */
const PUBLIC_TLS_PORT = 8444;
const HUB_HEADLESS = 'hub-headless';
/** The k8s-hub image's user (jovyan, images/hub/Dockerfile of zero-to-jupyterhub 4.4.0). */
const HUB_UID = 1000;
/** The configurable-http-proxy image's user (nobody, its Dockerfile). */
const PROXY_UID = 65534;
/** Where the hub reads its cookie signing key (JupyterHub.cookie_secret_file). */
const COOKIE_SECRET_DIR = '/run/secrets/jupyterhub-cookie';
const HUB_CONFIG_DIR = '/usr/local/etc/jupyterhub';

const DEFAULT_HUB_RESOURCES: ResourceSpec = { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } };
const DEFAULT_PROXY_RESOURCES: ResourceSpec = { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } };

/**
 * JupyterHub, as zero-to-jupyterhub 4.4.0 would run it, without Helm: the hub (KubeSpawner,
 * GitLab sign-in with groups, the idle culler as a hub service, its state in PostgreSQL) and
 * configurable-http-proxy in namespace `jupyterhub`; the notebook servers it spawns in
 * `jupyterhub-users` and their Spark executors in `jupyterhub-spark` (sibling charts). Every
 * notebook server knows MLflow, the datasets bucket and Spark from its environment.
 */
export class JupyterHubChart extends PlatformChart {
  public readonly hub: PodSelection;
  public readonly proxy: PodSelection;
  /** The hub's REST API and pages (the proxy's default target). */
  public readonly hubEndpoint: ServiceEndpoint;
  public readonly notebooks: NotebookServersChart;
  public readonly spark: SparkExecutorsChart;
  /** What people use: the proxy's public side; the hub signs them in with GitLab itself. */
  public readonly webUi: WebUi;

  constructor(scope: Construct, id: string, props: JupyterHubChartProps) {
    super(scope, id, { context: props.context, layer: Layer.APPS });
    requireSecretsInKubernetes(this, 'notebook servers and Spark executors are created by KubeSpawner and Spark');
    assertOneS3Key('jupyterhub', 'a notebook', { datasets: props.datasets, 'training log': props.trainingLogs });
    const images = props.context.images;
    const hubImage = images.image(JUPYTERHUB_HUB_IMAGE);
    const proxyImage = images.image(JUPYTERHUB_PROXY_IMAGE);
    const notebookImage = images.image(NOTEBOOK_IMAGE);
    const apiServer = requireApiServer(this);
    // With the internal CA, the hub and the proxy's API listen on loopback only, and a TLS sidecar
    // in each pod serves them (tls-sidecar.ts): neither program can serve a certificate from the
    // internal CA that renews (the hub only with internal_ssl's own CA, which zero-to-jupyterhub
    // does not support with a separate proxy; configurable-http-proxy reads it once at start).
    // The hub reaches the proxy API through its sidecar (JupyterHub has no setting for the CA it
    // verifies the proxy with), the proxy the hub with --client-ssl-ca, notebook servers the hub
    // with JUPYTERHUB_SSL_CLIENT_CA. Notebook servers listen on loopback too, behind a sidecar
    // of their own (NotebookServersChart): the proxy verifies them with --client-ssl-ca, the hub
    // with the system trust store its init container extends (hubTrustStore).
    const tls = props.context.internalCa !== undefined;
    const scheme = tls ? 'https' : 'http';

    // Siblings, not children: each chart owns one namespace.
    const usersChart = `${id}-users`;
    // The notebook servers' chart comes after the executors', which bind its ServiceAccount.
    const drivers = { serviceAccount: NOTEBOOK_SERVICE_ACCOUNT, namespace: props.context.namespaceOf(usersChart) };
    const s3 = s3Env(props.datasets);
    this.spark = new SparkExecutorsChart(scope, `${id}-spark`, { context: props.context, image: notebookImage, executor: props.spark.executor, quota: props.spark.quota, drivers, datasets: props.datasets });
    const hubAccount = { serviceAccount: 'hub', namespace: this.namespace };
    this.notebooks = new NotebookServersChart(scope, usersChart, {
      context: props.context,
      image: notebookImage,
      spawner: hubAccount,
      sparkConf: {
        [SPARK_DEFAULTS_FILE]: sparkDefaults({
          apiServer: 'https://kubernetes.default.svc:443',
          namespace: this.spark.namespace,
          image: notebookImage.reference,
          executor: props.spark.executor,
          s3: props.datasets,
        }),
        [EXECUTOR_TEMPLATE_FILE]: this.spark.podTemplate,
      },
    });
    const servers = this.notebooks.servers;

    const proxyToken = SecretKeyRef.of(`${id}-proxy-token`, 'token', 'token the hub and configurable-http-proxy share for the proxy API');
    const cookieSecret = SecretKeyRef.of(`${id}-cookie-secret`, 'cookie-secret', "JupyterHub's cookie signing key: 32 random bytes, hex-encoded", { encoding: 'hex', bytes: 32 });

    const hubIdentity = { name: 'hub', instance: id, component: 'hub', version: hubImage.version };
    const proxyIdentity = { name: 'proxy', instance: id, component: 'proxy', version: proxyImage.version };
    this.hub = new PodSelection(this, this.namespace, hubIdentity);
    this.proxy = new PodSelection(this, this.namespace, proxyIdentity);
    this.hubEndpoint = new PlatformService(this, 'HubService', { name: 'hub', pods: this.hub, ports: [{ name: scheme, port: HUB_PORT, targetPort: tls ? TLS_PORT : HUB_PORT }] }).endpoint(scheme);
    const proxyApi = new PlatformService(this, 'ProxyApiService', { name: 'proxy-api', pods: this.proxy, ports: [{ name: 'api', port: PROXY_API_PORT, targetPort: tls ? TLS_PORT : PROXY_API_PORT }] }).endpoint('api');
    const hubUrl = this.hubEndpoint.url(scheme);
    // Prometheus scrapes the hub's pod by address, named under the headless Service.
    if (tls) new PlatformService(this, 'HubHeadless', { name: HUB_HEADLESS, pods: this.hub, headless: true, ports: [{ name: 'https', port: TLS_PORT }] });
    const hubSidecar = tls
      ? new TlsSidecar(this, 'HubTls', {
          identity: hubIdentity,
          certificate: new ServerCertificate(this, 'HubCertificate', { secretName: 'hub-tls', services: ['hub'], headless: HUB_HEADLESS }),
          listeners: [{ name: 'https', port: TLS_PORT, to: HUB_PORT }],
          upstreams: [{ port: PROXY_API_PORT, endpoint: proxyApi }],
        })
      : undefined;
    // The gateway reaches the public port over TLS too where the cluster verifies that hop.
    const publicTls = props.context.uiTls;
    const proxySidecar = tls
      ? new TlsSidecar(this, 'ProxyTls', {
          identity: proxyIdentity,
          // One certificate for both names: the proxy's key is one pod's either way.
          certificate: new ServerCertificate(this, 'ProxyApiCertificate', { secretName: 'proxy-api-tls', services: ['proxy-api', ...(publicTls ? ['proxy-public'] : [])] }),
          listeners: [{ name: 'api-tls', port: TLS_PORT, to: PROXY_API_PORT }, ...(publicTls ? [{ name: 'https', port: PUBLIC_TLS_PORT, to: PROXY_PORT }] : [])],
        })
      : undefined;
    const loopback = '127.0.0.1';
    const proxyPublic = new PlatformService(this, 'ProxyPublicService', {
      name: 'proxy-public',
      pods: this.proxy,
      ports: [publicTls ? { name: 'https', port: 443, targetPort: PUBLIC_TLS_PORT } : { name: 'http', port: 80, targetPort: PROXY_PORT }],
    }).endpoint(publicTls ? 'https' : 'http');

    // What every notebook server finds in its environment: the platform's services, and Spark.
    const notebookEnv: Record<string, EnvValue> = {
      ...trackingEnv(props.mlflow),
      ...s3,
      // PySpark's driver JVM reaches S3 through S3A, which trusts what the JVM trusts.
      ...jvmTrustEnv(props.datasets, props.trainingLogs),
      DATASETS_BUCKET: EnvValue.fromValue(`s3://${props.datasets.bucket}`),
      ...(props.trainingLogs ? { TENSORBOARD_LOGDIR: EnvValue.fromValue(`s3://${props.trainingLogs.bucket}/{unescaped_username}`) } : {}),
      SPARK_CONF_DIR: EnvValue.fromValue(SPARK_CONF_DIR),
      // Executors connect back to the driver by the notebook pod's address.
      SPARK_DRIVER_HOST: EnvValue.fromField('status.podIP'),
      // The singleuser server verifies the hub API with this CA (HubAuth.client_ca).
      ...(tls ? { JUPYTERHUB_SSL_CLIENT_CA: EnvValue.fromValue(INTERNAL_CA_FILE) } : {}),
    };
    const hubConfig = renderHubConfig(
      hubSettings({
        props,
        hubBindUrl: `http://${tls ? loopback : ''}:${HUB_PORT}`,
        hubUrl,
        proxyApiUrl: tls ? `http://${loopback}:${PROXY_API_PORT}` : proxyApi.url(),
        notebookImage: notebookImage.reference,
        notebookLabels: spawnedLabels(servers.identity, 'kubespawner'),
        notebookEnv: kubeEnv(this.notebooks, this.notebooks.namespace, notebookEnv),
        usersNamespace: this.notebooks.namespace,
        serviceAccount: drivers.serviceAccount,
        sparkConfMap: this.notebooks.sparkConfMap,
        trust: trustFor(this.notebooks, props.datasets, props.trainingLogs, props.mlflow, { tls }),
        cookieSecretFile: secretFilePath(this, COOKIE_SECRET_DIR, cookieSecret),
        notebookTls: this.notebooks.tls,
      }),
      'Generated by the platform render (libs/jupyterhub/src/jupyterhub.ts); do not edit.',
      this.notebooks.tls ? notebookTlsHooks(this.notebooks.tls) : [],
    );
    const configMap = 'hub-config';
    new k8s.KubeConfigMap(this, 'HubConfig', { metadata: { name: configMap, namespace: this.namespace, labels: workloadLabels(hubIdentity) }, data: { [HUB_CONFIG_FILE]: hubConfig } });

    new k8s.KubeServiceAccount(this, 'HubServiceAccount', {
      metadata: { name: hubAccount.serviceAccount, namespace: this.namespace, labels: workloadLabels(hubIdentity) },
      automountServiceAccountToken: false,
    });
    // Through the sidecar with TLS: the path the proxy and the notebook servers take.
    const health = () => (tls ? httpProbe(TLS_PORT, '/hub/health', { scheme: 'HTTPS' }) : httpProbe(HUB_PORT, '/hub/health'));
    const ca = gitlabCa(props.signIn.caConfigMap);
    const dbTrust = trustFor(this, props.database);
    const trustStore = tls ? hubTrustStore(this, hubImage) : undefined;
    new PlatformDeployment(this, 'Hub', {
      identity: hubIdentity,
      // One hub owns the proxy's routes and the spawner state: never two at once.
      strategy: 'Recreate',
      metrics: tls ? { port: TLS_PORT, path: '/hub/metrics', tls: { subdomain: HUB_HEADLESS, byAddress: true } } : { port: HUB_PORT, path: '/hub/metrics' },
      // Notebook servers (and their Spark executors) run the notebook image.
      spawnsImages: [notebookImage, ...(tls ? [images.image(TLS_SIDECAR_IMAGE)] : [])],
      podAnnotations: { 'ml-platform.io/config-revision': contentRevision(hubConfig + (hubSidecar?.config ?? '')) },
      pod: {
        user: HUB_UID,
        group: HUB_UID,
        serviceAccountName: hubAccount.serviceAccount,
        mountServiceAccountToken: true,
        initContainers: trustStore ? [trustStore.initContainer] : undefined,
        containers: [
          {
            name: 'hub',
            image: hubImage,
            command: ['jupyterhub'],
            args: [`--config=${HUB_CONFIG_DIR}/${HUB_CONFIG_FILE}`],
            workingDir: '/srv/jupyterhub',
            env: {
              PYTHONUNBUFFERED: EnvValue.fromValue('1'),
              ...libpqEnv(props.database),
              CONFIGPROXY_AUTH_TOKEN: EnvValue.fromSecret(proxyToken),
              OAUTH_CLIENT_SECRET: EnvValue.fromSecret(props.signIn.clientSecret),
            },
            // With TLS the hub's port is on loopback: the sidecar's is the pod's.
            ...(tls ? {} : { ports: [{ name: 'http', number: HUB_PORT }] }),
            resources: props.hubResources ?? DEFAULT_HUB_RESOURCES,
            // The first start creates the schema in PostgreSQL, a version bump migrates it.
            startupProbe: { ...health(), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 60 },
            livenessProbe: { ...health(), periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 30 },
            readinessProbe: { ...health(), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
            writablePaths: [
              { path: '/srv/jupyterhub', sizeLimit: '64Mi' },
              { path: '/tmp', sizeLimit: '256Mi' },
            ],
            mounts: [{ volume: 'config', path: HUB_CONFIG_DIR }, ...(ca?.mounts ?? []), ...dbTrust.mounts, ...(trustStore ? [trustStore.mount] : [])],
            secretFiles: [{ directory: COOKIE_SECRET_DIR, keys: [cookieSecret] }],
          },
          ...(hubSidecar ? [hubSidecar.container] : []),
        ],
        volumes: byName([{ name: 'config', configMap: { name: configMap } }, ...(ca?.volumes ?? []), ...dbTrust.volumes, ...(hubSidecar?.volumes ?? []), ...(trustStore?.volumes ?? [])]),
      },
    });

    const chpHealth = () => (publicTls ? httpProbe(PUBLIC_TLS_PORT, '/_chp_healthz', { scheme: 'HTTPS' }) : httpProbe(PROXY_PORT, '/_chp_healthz'));
    const proxyTrust = tls ? internalCaTrust(this) : undefined;
    new PlatformDeployment(this, 'Proxy', {
      identity: proxyIdentity,
      // The routing table lives in the proxy's memory, filled by the one hub: one proxy.
      strategy: 'Recreate',
      metrics: { port: PROXY_METRICS_PORT, path: '/metrics' },
      ...(proxySidecar ? { podAnnotations: { 'ml-platform.io/config-revision': contentRevision(proxySidecar.config) } } : {}),
      pod: {
        user: PROXY_UID,
        group: PROXY_UID,
        terminationGracePeriod: Duration.seconds(60),
        containers: [
          {
            name: 'chp',
            image: proxyImage,
            command: ['configurable-http-proxy'],
            args: [
              // Empty addresses listen on every interface.
              `--ip=${publicTls ? loopback : ''}`,
              `--port=${PROXY_PORT}`,
              `--api-ip=${tls ? loopback : ''}`,
              `--api-port=${PROXY_API_PORT}`,
              `--default-target=${hubUrl}`,
              `--error-target=${hubUrl}/hub/error`,
              // https targets (the hub) are verified against this CA alone.
              ...(tls ? [`--client-ssl-ca=${INTERNAL_CA_FILE}`] : []),
              '--metrics-ip=',
              `--metrics-port=${PROXY_METRICS_PORT}`,
              '--log-level=info',
            ],
            env: { CONFIGPROXY_AUTH_TOKEN: EnvValue.fromSecret(proxyToken) },
            ports: [...(publicTls ? [] : [{ name: 'http', number: PROXY_PORT }]), ...(tls ? [] : [{ name: 'api', number: PROXY_API_PORT }]), { name: 'metrics', number: PROXY_METRICS_PORT }],
            resources: props.proxyResources ?? DEFAULT_PROXY_RESOURCES,
            livenessProbe: { ...chpHealth(), periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 30 },
            readinessProbe: { ...chpHealth(), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
            writablePaths: [{ path: '/tmp', sizeLimit: '64Mi' }],
            mounts: proxyTrust ? [proxyTrust.mount] : [],
          },
          ...(proxySidecar ? [proxySidecar.container] : []),
        ],
        volumes: byName([...(proxyTrust ? [proxyTrust.volume] : []), ...(proxySidecar?.volumes ?? [])]),
      },
    });
    // A drain waits for running notebooks (the culler stops idle ones) rather than killing a session.
    new PlatformDisruptionBudget(this.notebooks, 'Budget', { pods: servers, maxUnavailable: 0 });

    this.webUi = { name: 'jupyterhub', purpose: 'Notebook servers (JupyterLab) with MLflow, S3 and Spark', endpoint: proxyPublic, signIn: SignIn.OIDC, callbackPath: JUPYTERHUB_CALLBACK, tls: publicTls, docs: 'jupyterhub.md', version: hubImage.version };

    // The flows, and only these: people come in through the proxy, which routes to the hub and
    // to the servers; the hub drives the proxy, the API server, PostgreSQL and GitLab; servers
    // call the hub API, MLflow, MinIO and the API server (Spark), and exchange data with executors.
    allowFlow(this.proxy, this.hubEndpoint);
    const serverPort = this.notebooks.tls?.port ?? NOTEBOOK_PORT;
    allowPodFlow(this.proxy, servers, serverPort);
    allowFlow(this.hub, proxyApi);
    allowPodFlow(this.hub, servers, serverPort);
    allowFlow(this.hub, props.database.endpoint);
    allowEgressToAddresses(this.hub, 'kube-apiserver', apiServer.cidrs, apiServer.port);
    allowEgressToAddresses(this.hub, 'gitlab', props.signIn.gitlabCidrs, 443);
    allowFlow(servers, this.hubEndpoint);
    allowFlow(servers, props.mlflow.endpoint);
    allowFlow(servers, props.datasets.endpoint);
    allowEgressToAddresses(servers, 'kube-apiserver', apiServer.cidrs, apiServer.port);
    const executors = this.spark.executors;
    allowPodFlow(servers, executors, EXECUTOR_BLOCK_MANAGER_PORT);
    allowPodFlow(executors, servers, DRIVER_PORT);
    allowPodFlow(executors, servers, DRIVER_BLOCK_MANAGER_PORT);
    allowPodFlow(executors, executors, EXECUTOR_BLOCK_MANAGER_PORT);
    allowFlow(executors, props.datasets.endpoint);
  }
}

/** Where Debian's OpenSSL and libcurl read the trusted CAs (the hub image is Debian's Python). */
const SYSTEM_TRUST_DIR = '/etc/ssl/certs';
const SYSTEM_TRUST_BUNDLE = 'ca-certificates.crt';

/**
 * The hub checks each new server at its https URL with its default HTTP client: pycurl in the
 * hub image (zero-to-jupyterhub installs it), whose libcurl reads only its built-in bundle path
 * and no environment variable, or else Python's ssl, which reads the same file. JupyterHub sets
 * a CA for that client only under internal_ssl, and a config file cannot (JupyterHub configures
 * pycurl after reading it). So an init container writes the image's bundle plus the internal CA
 * into an emptyDir that the hub mounts over the system directory: public CAs stay trusted (GitLab
 * may have a public certificate). A new internal CA reaches the hub when its pod restarts.
 */
function hubTrustStore(chart: PlatformChart, image: ImageRef): { initContainer: HardenedContainerProps; mount: MountSpec; volumes: k8s.Volume[] } {
  const internalCa = internalCaTrust(chart);
  const volume = 'system-trust';
  const staging = '/run/system-trust';
  return {
    initContainer: {
      name: 'trust-store',
      image,
      command: ['sh', '-c', `cat ${SYSTEM_TRUST_DIR}/${SYSTEM_TRUST_BUNDLE} ${internalCa.file} > ${staging}/${SYSTEM_TRUST_BUNDLE}`],
      resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } },
      mounts: [internalCa.mount, { volume, path: staging, readOnly: false }],
    },
    mount: { volume, path: SYSTEM_TRUST_DIR },
    volumes: [internalCa.volume, { name: volume, emptyDir: { sizeLimit: k8s.Quantity.fromString('1Mi') } }],
  };
}

/** Volumes once each: the sidecar and the server may both mount the internal CA. */
function byName(volumes: k8s.Volume[]): k8s.Volume[] {
  return [...new Map(volumes.map((v) => [v.name, v])).values()];
}
