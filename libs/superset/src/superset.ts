import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  allowEgressToAddresses,
  allowFlow,
  contentRevision,
  EnvValue,
  gitlabCa,
  GitLabSignIn,
  HardenedContainerProps,
  httpProbe,
  INTERNAL_CA_FILE,
  Layer,
  libpqTlsEnv,
  PlatformChart,
  PlatformContext,
  PlatformDeployment,
  PlatformDisruptionBudget,
  PlatformJob,
  PlatformService,
  PodSelection,
  PostgresDatabase,
  RedisDatabase,
  ResourceSpec,
  SecretKeyRef,
  ServerCertificate,
  ServiceEndpoint,
  SignIn,
  STATSD_PORT,
  StatsdExporter,
  TlsSidecar,
  trustFor,
  WebUi,
  workloadLabels,
} from '@ml-platform/core';
import { SUPERSET_IMAGE } from './images';
import { CONFIG_DIR, renderSupersetConfig, SUPERSET_CALLBACK, SUPERSET_CONFIG, SupersetEnv } from './settings';
import { supersetStatsdMapping } from './statsd-mapping';

/** Properties for `SupersetChart`. */
export interface SupersetChartProps {
  readonly context: PlatformContext;
  /** The metadata database (dashboards, charts, users, query history). */
  readonly database: PostgresDatabase;
  /** The analytics database, through its read-only role: the data source people query. */
  readonly analytics: PostgresDatabase;
  /** Caches and SQL Lab's results. */
  readonly cache: RedisDatabase;
  /** Celery's broker and results. */
  readonly queue: RedisDatabase;
  /** GitLab sign-in: `users` get Gamma, `admins` Admin. */
  readonly signIn: GitLabSignIn;
  /**
   * GitLab groups that build datasets, charts and dashboards (Alpha).
   *
   * @default - none
   */
  readonly editors?: readonly string[];
  /** @default - 1 pod, 2 gunicorn workers of 8 threads, 250m/1Gi requested, 1 CPU/2Gi limit */
  readonly web?: { readonly replicas?: number; readonly workers?: number; readonly threads?: number; readonly resources?: ResourceSpec };
  /** @default - 1 pod running 2 queries at once, 250m/1Gi requested, 1 CPU/2Gi limit */
  readonly worker?: { readonly replicas?: number; readonly concurrency?: number; readonly resources?: ResourceSpec };
  /** @default - 50m/256Mi requested, 250m/512Mi limit */
  readonly beat?: { readonly resources?: ResourceSpec };
  /** @default 90 */
  readonly queryLogRetentionDays?: number;
}

const PORT = 8088;
/** Where the web pod's TLS sidecar serves Superset to the gateway. */
const HTTPS_PORT = 8443;
/**
 * The lean image's user `superset`, made by `useradd --user-group` without a UID: the first user
 * of its Debian base, 1000 (inferred from the Dockerfile; the chart suggests 1000 too).
 */
const SUPERSET_UID = 1000;
/** The image's SUPERSET_HOME: Superset writes uploads and its key-value files there. */
const SUPERSET_HOME = '/app/superset_home';
const CELERY_APP = 'superset.tasks.celery_app:app';
/** The role the start-up Job creates for the analytics data source. */
export const ANALYTICS_READER_ROLE = 'Analytics reader';
const ANALYTICS_PASSWORD_ENV = 'ANALYTICS_PASSWORD';

const DEFAULTS = {
  web: { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } },
  worker: { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } },
  beat: { requests: { cpu: '50m', memory: '256Mi' }, limits: { cpu: '250m', memory: '512Mi' } },
  // "fab command consumes a lot of ram" (the chart's note on its init Job).
  init: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '1', memory: '1536Mi' } },
} satisfies Record<string, ResourceSpec>;

/**
 * Superset 6.1 without Helm, in namespace `superset`: the web server (gunicorn), the Celery
 * worker that runs SQL Lab's queries, beat for the nightly pruning, a StatsD exporter, and the
 * start-up Job (`superset db upgrade`, `superset init`, the analytics data source and its role)
 * every other pod waits for. Metadata in PostgreSQL, caches and the queue in Redis, people signed
 * in with GitLab.
 */
export class SupersetChart extends PlatformChart {
  public readonly web: PodSelection;
  public readonly worker: PodSelection;
  public readonly beat: PodSelection;
  public readonly endpoint: ServiceEndpoint;
  public readonly webUi: WebUi;

  constructor(scope: Construct, id: string, props: SupersetChartProps) {
    if (props.cache.endpoint !== props.queue.endpoint || props.cache.database === props.queue.database) {
      throw new Error('superset: expected the cache and the queue in two databases of the same Redis (one password, flushed apart)');
    }
    super(scope, id, { context: props.context, layer: Layer.APPS });
    const image = props.context.images.image(SUPERSET_IMAGE);
    const identity = (name: string, component: string) => ({ name, instance: id, component, version: image.version });
    const statsdService = `${id}-statsd`;

    const config = renderSupersetConfig(
      {
        metadata: { host: props.database.endpoint.host, port: props.database.endpoint.port, database: props.database.database, username: props.database.user },
        cache: { host: props.cache.endpoint.host, port: props.cache.endpoint.port, database: props.cache.database, caFile: props.cache.tls ? INTERNAL_CA_FILE : undefined },
        queue: { host: props.queue.endpoint.host, port: props.queue.endpoint.port, database: props.queue.database, caFile: props.queue.tls ? INTERNAL_CA_FILE : undefined },
        statsd: { host: props.context.serviceHost(statsdService, this.namespace), port: STATSD_PORT },
        signIn: props.signIn,
        editors: props.editors ?? [],
        dataSources: [
          {
            name: 'analytics',
            host: props.analytics.endpoint.host,
            port: props.analytics.endpoint.port,
            database: props.analytics.database,
            username: props.analytics.user,
            passwordEnv: ANALYTICS_PASSWORD_ENV,
            readerRole: ANALYTICS_READER_ROLE,
          },
        ],
        queryLogRetentionDays: props.queryLogRetentionDays ?? 90,
      },
      'Generated by the platform render (libs/superset); do not edit. Secrets come from the environment.',
    );
    const configMap = 'superset-config';
    new k8s.KubeConfigMap(this, 'Config', { metadata: { name: configMap, namespace: this.namespace, labels: workloadLabels(identity('superset', 'config')) }, data: { [SUPERSET_CONFIG]: config } });
    const revision = { 'ml-platform.io/config-revision': contentRevision(config) };

    const secretKey = SecretKeyRef.of('superset-secrets', 'secret-key', "Superset's SECRET_KEY: signs sessions and encrypts credentials saved in the metadata database; the same on every pod");
    const common: Record<string, EnvValue> = {
      SUPERSET_CONFIG_PATH: EnvValue.fromValue(`${CONFIG_DIR}/${SUPERSET_CONFIG}`),
      SUPERSET_HOME: EnvValue.fromValue(SUPERSET_HOME),
      PYTHONDONTWRITEBYTECODE: EnvValue.fromValue('1'),
      [SupersetEnv.SECRET_KEY]: EnvValue.fromSecret(secretKey),
      [SupersetEnv.METADATA_PASSWORD]: EnvValue.fromSecret(props.database.password),
      [SupersetEnv.REDIS_PASSWORD]: EnvValue.fromSecret(props.cache.password),
      // psycopg2 reads the TLS settings from libpq's environment, for the metadata and the analytics database.
      ...libpqTlsEnv(props.database),
    };
    if (props.analytics.tls !== props.database.tls) throw new Error('superset: expected the metadata and the analytics database on one server (one TLS setting for every connection)');
    const trust = trustFor(this, props.database, props.cache);
    const querying = { [ANALYTICS_PASSWORD_ENV]: EnvValue.fromSecret(props.analytics.password) };
    const volumes: k8s.Volume[] = [{ name: 'config', configMap: { name: configMap, items: [{ key: SUPERSET_CONFIG, path: SUPERSET_CONFIG }] } }, ...trust.volumes];
    const container = (name: string, command: string[], resources: ResourceSpec, extra: Partial<HardenedContainerProps> = {}): HardenedContainerProps => ({
      name,
      image,
      command,
      resources,
      writablePaths: [
        { path: '/tmp', sizeLimit: '1Gi' },
        { path: SUPERSET_HOME, sizeLimit: '1Gi' },
      ],
      ...extra,
      env: { ...common, ...extra.env },
      mounts: [{ volume: 'config', path: CONFIG_DIR }, ...trust.mounts, ...(extra.mounts ?? [])],
    });
    // Every long-running pod starts once the schema is the image's (the start-up Job below).
    const waitForSchema = container('wait-for-schema', ['python', '-m', 'superset_platform.schema', '--timeout', '600'], DEFAULTS.beat);

    const init = new PlatformJob(this, 'Init', {
      identity: identity('superset-init', 'init'),
      revisionOf: [config],
      backoffLimit: 6,
      pod: {
        user: SUPERSET_UID,
        group: SUPERSET_UID,
        volumes,
        containers: [container('init', ['sh', '-c', 'set -e; superset db upgrade; superset init; exec python -m superset_platform.init'], DEFAULTS.init)],
      },
    });

    const budget = (scopeId: string, pods: PodSelection, replicas: number) => {
      if (replicas > 1) new PlatformDisruptionBudget(this, scopeId, { pods, maxUnavailable: 1 });
    };
    const ca = gitlabCa(props.signIn.caConfigMap);

    // The web server: the image's run-server.sh (gunicorn, gthread workers) on 8088. When the
    // gateway reaches it over TLS, gunicorn binds loopback and a TLS sidecar serves it: gunicorn
    // would read a certificate only at start.
    const webService = `${id}-web`;
    const webIdentity = identity('superset-web', 'web');
    const sidecar = props.context.uiTls
      ? new TlsSidecar(this, 'WebTls', {
          identity: webIdentity,
          certificate: new ServerCertificate(this, 'WebCertificate', { secretName: `${webService}-tls`, services: [webService] }),
          listeners: [{ name: 'https', port: HTTPS_PORT, to: PORT }],
        })
      : undefined;
    const health = () => (sidecar ? httpProbe(HTTPS_PORT, '/health', { scheme: 'HTTPS' }) : httpProbe(PORT, '/health'));
    const webReplicas = props.web?.replicas ?? 1;
    const web = new PlatformDeployment(this, 'Web', {
      identity: webIdentity,
      replicas: webReplicas,
      podAnnotations: sidecar ? { 'ml-platform.io/config-revision': contentRevision(config + sidecar.config) } : revision,
      pod: {
        user: SUPERSET_UID,
        group: SUPERSET_UID,
        initContainers: [waitForSchema],
        volumes: [...volumes, ...(ca?.volumes ?? []), ...(sidecar?.volumes ?? [])],
        containers: [
          container('web', ['/usr/bin/run-server.sh'], props.web?.resources ?? DEFAULTS.web, {
            env: {
              ...querying,
              [SupersetEnv.OAUTH_SECRET]: EnvValue.fromSecret(props.signIn.clientSecret),
              SUPERSET_PORT: EnvValue.fromValue(String(PORT)),
              ...(sidecar ? { SUPERSET_BIND_ADDRESS: EnvValue.fromValue('127.0.0.1') } : {}),
              SERVER_WORKER_AMOUNT: EnvValue.fromValue(String(props.web?.workers ?? 2)),
              SERVER_THREADS_AMOUNT: EnvValue.fromValue(String(props.web?.threads ?? 8)),
              GUNICORN_TIMEOUT: EnvValue.fromValue('120'),
              ...ca?.pythonEnv,
            },
            ports: sidecar ? undefined : [{ name: 'http', number: PORT }],
            startupProbe: { ...health(), periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 60 },
            livenessProbe: { ...health(), periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 3 },
            readinessProbe: { ...health(), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
            mounts: ca?.mounts ?? [],
          }),
          ...(sidecar ? [sidecar.container] : []),
        ],
      },
    });
    this.web = web.pods;
    budget('WebBudget', web.pods, webReplicas);
    const scheme = sidecar ? 'https' : 'http';
    this.endpoint = new PlatformService(this, 'WebService', { name: webService, pods: web.pods, ports: [{ name: scheme, port: sidecar ? HTTPS_PORT : PORT }] }).endpoint(scheme);

    // The worker runs SQL Lab's asynchronous queries. Its liveness asks Celery itself, as the chart does.
    const ping: k8s.Probe = {
      exec: { command: ['sh', '-c', `exec celery --app=${CELERY_APP} inspect ping --destination "celery@$HOSTNAME" --timeout 10`] },
      initialDelaySeconds: 60,
      periodSeconds: 60,
      timeoutSeconds: 60,
      failureThreshold: 3,
    };
    const workerReplicas = props.worker?.replicas ?? 1;
    const worker = new PlatformDeployment(this, 'Worker', {
      identity: identity('superset-worker', 'worker'),
      replicas: workerReplicas,
      podAnnotations: revision,
      pod: {
        user: SUPERSET_UID,
        group: SUPERSET_UID,
        terminationGracePeriod: Duration.seconds(60),
        initContainers: [waitForSchema],
        volumes,
        containers: [
          container('worker', ['celery', `--app=${CELERY_APP}`, 'worker', '--pool=prefork', '--optimization=fair', `--concurrency=${props.worker?.concurrency ?? 2}`, '--loglevel=INFO'], props.worker?.resources ?? DEFAULTS.worker, {
            env: querying,
            livenessProbe: ping,
            readinessProbe: ping,
          }),
        ],
      },
    });
    this.worker = worker.pods;
    budget('WorkerBudget', worker.pods, workerReplicas);

    // Beat: one scheduler of periodic tasks; two would run each task twice.
    const beatAlive: k8s.Probe = { exec: { command: ['sh', '-c', 'kill -0 "$(cat /tmp/celerybeat.pid)"'] }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 };
    const beat = new PlatformDeployment(this, 'Beat', {
      identity: identity('superset-beat', 'beat'),
      strategy: 'Recreate',
      podAnnotations: revision,
      pod: {
        user: SUPERSET_UID,
        group: SUPERSET_UID,
        initContainers: [waitForSchema],
        volumes,
        containers: [
          container('beat', ['celery', `--app=${CELERY_APP}`, 'beat', '--pidfile', '/tmp/celerybeat.pid', '--schedule', '/tmp/celerybeat-schedule', '--loglevel=INFO'], props.beat?.resources ?? DEFAULTS.beat, {
            livenessProbe: { ...beatAlive, initialDelaySeconds: 30 },
            readinessProbe: beatAlive,
          }),
        ],
      },
    });
    this.beat = beat.pods;

    const statsd = new StatsdExporter(this, 'Statsd', { name: statsdService, mapping: supersetStatsdMapping() });

    this.webUi = { name: 'superset', purpose: 'SQL dashboards and SQL Lab over the analytics database (Superset)', endpoint: this.endpoint, signIn: SignIn.OIDC, callbackPath: SUPERSET_CALLBACK, tls: sidecar !== undefined, docs: 'superset.md' };

    // The flows, and only these.
    const running = [web.pods, worker.pods, beat.pods];
    for (const pods of [...running, init.pods]) allowFlow(pods, props.database.endpoint);
    for (const pods of running) {
      allowFlow(pods, props.cache.endpoint);
      allowFlow(pods, statsd.endpoint);
    }
    // People's queries: the web server runs the quick ones, the worker SQL Lab's.
    for (const pods of [web.pods, worker.pods]) allowFlow(pods, props.analytics.endpoint);
    allowEgressToAddresses(web.pods, 'gitlab', props.signIn.gitlabCidrs, 443);
  }
}
