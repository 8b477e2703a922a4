import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  allowEgressToAddresses,
  allowFlow,
  assertOneS3Key,
  contentRevision,
  EnvValue,
  gitlabCa,
  GitLabSignIn,
  HardenedContainerProps,
  HardenedPodProps,
  httpProbe,
  INTERNAL_CA_FILE,
  Layer,
  libpqEnv,
  libpqTlsEnv,
  PlatformChart,
  PlatformContext,
  PlatformDeployment,
  PlatformDisruptionBudget,
  PlatformJob,
  PlatformService,
  PodSelection,
  PostgresDatabase,
  requireApiServer,
  requireSecretsInKubernetes,
  ResourceSpec,
  S3Bucket,
  s3Env,
  s3Url,
  secretFilePath,
  SecretKeyRef,
  ServerCertificate,
  ServiceEndpoint,
  SignIn,
  STATSD_PORT,
  StatsdExporter,
  trackingEnv,
  TrackingServer,
  trustFor,
  WebUi,
  workloadLabels,
} from '@ml-platform/core';
import { DagRepository, dagsFolder, dagSync, GIT_SYNC_HTTP_PORT } from './dags';
import { AIRFLOW_IMAGE, GIT_SYNC_IMAGE } from './images';
import { AIRFLOW_CALLBACK, AIRFLOW_CFG, CONFIG_DIR, OAUTH_SECRET_ENV, renderAirflowCfg, renderWebserverConfig, WEBSERVER_CONFIG } from './settings';
import { STATSD_PREFIX, statsdMapping } from './statsd-mapping';
import { AIRFLOW_UID, AirflowTasksChart, SparkSubmitTarget, TASK_TEMPLATE_FILE } from './tasks';

/** Replicas and resources of one Airflow component. */
export interface AirflowComponentSize {
  /** @default 1 */
  readonly replicas?: number;
  /** @default - per component */
  readonly resources?: ResourceSpec;
}

/** Properties for `AirflowChart`. */
export interface AirflowChartProps {
  readonly context: PlatformContext;
  /** The metadata database. */
  readonly database: PostgresDatabase;
  /** Where task logs are kept once a task ends (and where the api-server reads them). */
  readonly logs: S3Bucket;
  /**
   * The data tasks read and write (same credentials as `logs`: a task has one S3 key).
   *
   * @default - tasks get no datasets bucket
   */
  readonly datasets?: S3Bucket;
  /**
   * The MLflow tracking server tasks log runs to.
   *
   * @default - none
   */
  readonly mlflow?: TrackingServer;
  /**
   * Where tasks submit Spark jobs.
   *
   * @default - tasks submit none
   */
  readonly spark?: SparkSubmitTarget;
  /**
   * The analytics database, as the connection `analytics` in every task (PostgresHook).
   *
   * @default - none
   */
  readonly analytics?: PostgresDatabase;
  readonly dags: DagRepository;
  /** GitLab sign-in: `users` get the User role, `admins` Admin. */
  readonly signIn: GitLabSignIn;
  /** The host people reach the UI at. */
  readonly externalHost: string;
  readonly apiServer?: AirflowComponentSize;
  /** The execution API task pods report to, apart from the UI's api-server. */
  readonly executionApi?: AirflowComponentSize;
  readonly scheduler?: AirflowComponentSize;
  /** One dag-processor: two would parse the same folder twice. */
  readonly dagProcessor?: { readonly resources?: ResourceSpec };
  readonly triggerer?: AirflowComponentSize;
  /** @default - 250m/512Mi requested, 1 CPU/2Gi limit per task; 16 at once */
  readonly tasks?: { readonly resources?: ResourceSpec; readonly parallelism?: number };
}

const API_PORT = 8080;
const EXECUTION_API_PORT = 8443;
/** Where the execution API's certificate (and the UI api-server's) is mounted. */
const TLS_DIR = '/opt/airflow/tls';
/**
 * Seconds between two rolling refreshes of a TLS api-server's gunicorn workers: a new worker
 * reads the certificate files afresh, so a renewal (30 days before expiry) is in use within a day.
 */
const WORKER_REFRESH = 86400;
/** An api-server on HTTPS with gunicorn's rolling worker refresh, which picks up a renewed certificate. */
const tlsServerEnv = () => ({ AIRFLOW__API__SERVER_TYPE: EnvValue.fromValue('gunicorn'), AIRFLOW__API__WORKER_REFRESH_INTERVAL: EnvValue.fromValue(String(WORKER_REFRESH)) });
const tlsServerArgs = () => ['--ssl-cert', `${TLS_DIR}/tls.crt`, '--ssl-key', `${TLS_DIR}/tls.key`];
/** The scheduler's health server ([scheduler] enable_health_check). */
const SCHEDULER_HEALTH_PORT = 8974;
/** The connection Airflow keeps task logs with (AIRFLOW_CONN_<ID> from the environment). */
const LOGS_CONNECTION = 'minio_logs';

/** Where Airflow's own keys (Fernet, session, JWT) are mounted. */
const SECRETS_DIR = '/run/secrets/airflow';
const DEFAULTS = {
  apiServer: { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } },
  executionApi: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
  scheduler: { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } },
  dagProcessor: { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } },
  triggerer: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '500m', memory: '1Gi' } },
  migrate: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
} satisfies Record<string, ResourceSpec>;

/** `airflow jobs check` for a job type on this pod: the liveness test of a component without an HTTP health endpoint. */
function jobCheck(jobType: string): k8s.Probe {
  return {
    exec: { command: ['sh', '-c', `CONNECTION_CHECK_MAX_COUNT=0 AIRFLOW__LOGGING__LOGGING_LEVEL=ERROR exec airflow jobs check --job-type ${jobType} --local`] },
    periodSeconds: 60,
    timeoutSeconds: 30,
    failureThreshold: 5,
  };
}

/**
 * Airflow 3.3 without Helm, in namespace `airflow`: the api-server (UI, REST and the execution
 * API task pods report to), the scheduler with the KubernetesExecutor, the dag-processor and the
 * triggerer (both beside a git-sync sidecar), a StatsD exporter for their metrics, and the
 * `airflow db migrate` Job every component waits for. Task pods run in `airflow-tasks` (a sibling
 * chart). The metadata database is the platform PostgreSQL, task logs go to S3, people sign in
 * with GitLab.
 */
export class AirflowChart extends PlatformChart {
  public readonly apiServer: PodSelection;
  public readonly scheduler: PodSelection;
  public readonly dagProcessor: PodSelection;
  public readonly triggerer: PodSelection;
  public readonly endpoint: ServiceEndpoint;
  public readonly tasks: AirflowTasksChart;
  public readonly webUi: WebUi;

  constructor(scope: Construct, id: string, props: AirflowChartProps) {
    super(scope, id, { context: props.context, layer: Layer.APPS });
    requireSecretsInKubernetes(this, 'task pods are created by the KubernetesExecutor from a template');
    assertOneS3Key('airflow', 'a task', { logs: props.logs, datasets: props.datasets });
    const images = props.context.images;
    const image = images.image(AIRFLOW_IMAGE);
    const gitSync = images.image(GIT_SYNC_IMAGE);
    const apiServer = requireApiServer(this);
    const identity = (name: string, component: string, version = image.version) => ({ name, instance: id, component, version });

    const apiService = `${id}-api-server`;
    const executionService = `${id}-execution-api`;
    const statsdService = `${id}-statsd`;
    const tasksNamespace = `${id}-tasks`;
    // Task pods send their task token to the execution API: its own server, on HTTPS from the
    // internal CA, apart from the UI's api-server (on HTTPS too where the gateway verifies it).
    const executionCertificate = props.context.internalCa ? new ServerCertificate(this, 'ExecutionApiCertificate', { secretName: `${executionService}-tls`, services: [executionService] }) : undefined;
    const executionTls = executionCertificate !== undefined;
    const executionScheme = executionTls ? 'https' : 'http';
    const executionUrl = `${executionScheme}://${props.context.serviceHost(executionService, this.namespace)}:${EXECUTION_API_PORT}`;
    const s3 = s3Env(props.logs);

    // Every option here is one Airflow 3.3 knows: pipelines/tests load this file with Airflow.
    const airflowCfg = renderAirflowCfg(
      {
        core: {
          executor: 'KubernetesExecutor',
          dags_folder: dagsFolder(props.dags),
          load_examples: false,
          auth_manager: 'airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager',
          execution_api_server_url: `${executionUrl}/execution/`,
          parallelism: props.tasks?.parallelism ?? 16,
        },
        // libpq and asyncpg take host, database, user and password from PG* in the environment.
        database: { sql_alchemy_conn: 'postgresql+psycopg2://', sql_alchemy_conn_async: 'postgresql+asyncpg://' },
        logging: {
          remote_logging: true,
          remote_base_log_folder: `s3://${props.logs.bucket}/`,
          remote_log_conn_id: LOGS_CONNECTION,
          delete_local_logs: true,
          json_logs: true,
        },
        metrics: { statsd_on: true, statsd_host: props.context.serviceHost(statsdService, this.namespace), statsd_port: STATSD_PORT, statsd_prefix: STATSD_PREFIX },
        scheduler: { enable_health_check: true, scheduler_health_check_server_port: SCHEDULER_HEALTH_PORT },
        dag_processor: { refresh_interval: props.dags.syncIntervalSeconds },
        kubernetes_executor: {
          namespace: tasksNamespace,
          pod_template_file: `${CONFIG_DIR}/${TASK_TEMPLATE_FILE}`,
          in_cluster: true,
          delete_worker_pods: true,
          // The log is on S3 once the task ends; a failed pod would only take quota.
          delete_worker_pods_on_failure: true,
        },
        api: {
          base_url: `https://${props.externalHost}/`,
          expose_config: false,
          // The Task SDK verifies the execution API against the internal CA, and nothing else.
          ...(executionTls ? { ssl_ca_file: INTERNAL_CA_FILE, client_use_public_certs: false } : {}),
        },
        fab: { config_file: `${CONFIG_DIR}/${WEBSERVER_CONFIG}`, enable_proxy_fix: true },
      },
      'Generated by the platform render (libs/airflow); do not edit. Secrets come from AIRFLOW__* environment variables.',
    );
    const webserverConfig = renderWebserverConfig(props.signIn, 'Generated by the platform render (libs/airflow); do not edit.');

    // What task pods get: the logs (and datasets) key, MLflow, and the connection the logs go through.
    const logsConnection = JSON.stringify({
      conn_type: 'aws',
      extra: { endpoint_url: s3Url(props.logs), region_name: props.logs.region, config_kwargs: { s3: { addressing_style: props.logs.pathStyle ? 'path' : 'auto' } } },
    });
    const connections = {
      [`AIRFLOW_CONN_${LOGS_CONNECTION.toUpperCase()}`]: EnvValue.fromValue(logsConnection),
    };
    this.tasks = new AirflowTasksChart(scope, tasksNamespace, {
      context: props.context,
      image,
      gitSyncImage: gitSync,
      dags: props.dags,
      airflowCfg,
      resources: props.tasks?.resources,
      spark: props.spark,
      servers: [props.analytics, props.logs, props.datasets, props.mlflow, { tls: executionTls }],
      env: {
        ...s3,
        ...connections,
        ...(props.datasets
          ? { DATASETS_BUCKET: EnvValue.fromValue(`s3://${props.datasets.bucket}`), AIRFLOW_VAR_DATASETS_BUCKET: EnvValue.fromValue(props.datasets.bucket) }
          : {}),
        ...(props.mlflow ? trackingEnv(props.mlflow) : {}),
        // The analytics database as connection `analytics`; Kubernetes puts the password into it.
        ...(props.analytics
          ? {
              ANALYTICS_PASSWORD: EnvValue.fromSecret(props.analytics.password),
              // PostgresHook connects with psycopg2, which reads the TLS settings from libpq's environment.
              ...libpqTlsEnv(props.analytics),
              AIRFLOW_CONN_ANALYTICS: EnvValue.fromValue(
                JSON.stringify({ conn_type: 'postgres', host: props.analytics.endpoint.host, port: props.analytics.endpoint.port, schema: props.analytics.database, login: props.analytics.user, password: '$(ANALYTICS_PASSWORD)' }),
              ),
            }
          : {}),
        // The pod operator (Spark jobs) talks to the API server with the pod's own token.
        ...(props.spark ? { AIRFLOW_CONN_KUBERNETES_DEFAULT: EnvValue.fromValue(JSON.stringify({ conn_type: 'kubernetes', extra: { in_cluster: true } })) } : {}),
      },
    });

    const configMap = 'airflow-config';
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: configMap, namespace: this.namespace, labels: workloadLabels(identity('airflow', 'config')) },
      data: { [AIRFLOW_CFG]: airflowCfg, [WEBSERVER_CONFIG]: webserverConfig, [TASK_TEMPLATE_FILE]: this.tasks.podTemplate },
    });
    const revision = { 'ml-platform.io/config-revision': contentRevision(airflowCfg, webserverConfig, this.tasks.podTemplate) };

    const secret = (key: string, what: string, format?: { encoding: 'base64url'; bytes: number }) => SecretKeyRef.of('airflow-secrets', key, what, format);
    const fernetKey = secret('fernet-key', "Airflow's Fernet key, which encrypts connections and variables in the database: 32 random bytes, URL-safe base64", { encoding: 'base64url', bytes: 32 });
    const apiSecretKey = secret('api-secret-key', "Airflow api-server's session signing key, the same on every replica");
    const jwtSecret = secret('jwt-secret', 'Key the scheduler signs task tokens with and the api-server checks them with');
    // Airflow reads a sensitive option from the output of AIRFLOW__<SECTION>__<KEY>_CMD: each
    // key is a mounted file, read with cat, never an environment variable.
    const optionOf = new Map([
      [fernetKey, 'AIRFLOW__CORE__FERNET_KEY'],
      [apiSecretKey, 'AIRFLOW__API__SECRET_KEY'],
      [jwtSecret, 'AIRFLOW__API_AUTH__JWT_SECRET'],
    ]);
    const secretsFrom = (keys: SecretKeyRef[]): Partial<HardenedContainerProps> => ({
      env: Object.fromEntries(keys.map((key) => [`${optionOf.get(key)}_CMD`, EnvValue.fromValue(`cat ${secretFilePath(this, SECRETS_DIR, key)}`)])),
      secretFiles: [{ directory: SECRETS_DIR, keys }],
    });
    const common: Record<string, EnvValue> = {
      AIRFLOW_CONFIG: EnvValue.fromValue(`${CONFIG_DIR}/${AIRFLOW_CFG}`),
      PYTHONDONTWRITEBYTECODE: EnvValue.fromValue('1'),
      // The image's entrypoint would wait for the database itself; the init container does.
      CONNECTION_CHECK_MAX_COUNT: EnvValue.fromValue('0'),
      ...libpqEnv(props.database),
    };
    // Every Airflow container reads airflow.cfg, reaches the metadata database, and reads or writes task logs on S3.
    const trust = trustFor(this, props.database, props.logs);
    const configMounts = [{ volume: 'config', path: CONFIG_DIR }, ...trust.mounts];
    const configVolumes: k8s.Volume[] = [{ name: 'config', configMap: { name: configMap, items: [AIRFLOW_CFG, WEBSERVER_CONFIG, TASK_TEMPLATE_FILE].map((key) => ({ key, path: key })) } }, ...trust.volumes];
    const writable = [
      { path: '/opt/airflow/logs', sizeLimit: '1Gi' },
      { path: '/tmp', sizeLimit: '1Gi' },
      { path: '/home/airflow/.cache', sizeLimit: '256Mi' },
    ];
    /** An Airflow container; every one decrypts connections with the Fernet key, some need `secrets` too. */
    const airflowContainer = (name: string, args: string[], resources: ResourceSpec, extra: Partial<HardenedContainerProps>, secrets: SecretKeyRef[] = []): HardenedContainerProps => {
      const files = secretsFrom([fernetKey, ...secrets]);
      return {
        name,
        image,
        args,
        resources,
        writablePaths: writable,
        ...extra,
        env: { ...common, ...files.env, ...extra.env },
        mounts: [...configMounts, ...(extra.mounts ?? [])],
        secretFiles: files.secretFiles,
      };
    };
    // Every component starts once the schema is the image's (the migration Job below).
    const waitForMigrations = airflowContainer('wait-for-migrations', ['airflow', 'db', 'check-migrations', '--migration-wait-timeout=600'], DEFAULTS.migrate, {});

    const migrate = new PlatformJob(this, 'Migrate', {
      identity: identity('airflow-migrate', 'migrate'),
      revisionOf: [airflowCfg],
      backoffLimit: 6,
      pod: { user: AIRFLOW_UID, group: AIRFLOW_UID, volumes: configVolumes, containers: [airflowContainer('migrate', ['airflow', 'db', 'migrate'], DEFAULTS.migrate, {})] },
    });

    const accounts = (name: string) => {
      new k8s.KubeServiceAccount(this, `${name}Account`, { metadata: { name, namespace: this.namespace, labels: workloadLabels(identity(name, 'rbac')) }, automountServiceAccountToken: false });
      return { serviceAccount: name, namespace: this.namespace };
    };
    const schedulerAccount = accounts('airflow-scheduler');
    const apiAccount = accounts('airflow-api-server');
    this.tasks.allowExecutor(schedulerAccount, apiAccount);

    const size = (given: AirflowComponentSize | undefined) => given?.replicas ?? 1;
    const budget = (scopeId: string, pods: PodSelection, replicas: number) => {
      if (replicas > 1) new PlatformDisruptionBudget(this, scopeId, { pods, maxUnavailable: 1 });
    };
    const ca = gitlabCa(props.signIn.caConfigMap);

    // The api-server: the UI, the REST API and FAB's sign-in under /auth.
    const apiCertificate = props.context.uiTls ? new ServerCertificate(this, 'ApiServerCertificate', { secretName: `${apiService}-tls`, services: [apiService] }) : undefined;
    const apiScheme = apiCertificate ? 'https' : 'http';
    const health = () => httpProbe(API_PORT, '/api/v2/monitor/health', { scheme: apiCertificate ? 'HTTPS' : 'HTTP' });
    const api = new PlatformDeployment(this, 'ApiServer', {
      identity: identity('airflow-api-server', 'api-server'),
      replicas: size(props.apiServer),
      podAnnotations: revision,
      pod: {
        user: AIRFLOW_UID,
        group: AIRFLOW_UID,
        serviceAccountName: apiAccount.serviceAccount,
        mountServiceAccountToken: true,
        initContainers: [waitForMigrations],
        volumes: [...configVolumes, ...(ca?.volumes ?? []), ...(apiCertificate ? [apiCertificate.volume('tls')] : [])],
        containers: [
          airflowContainer('api-server', ['airflow', 'api-server', '--port', String(API_PORT), '--apps', 'core', ...(apiCertificate ? tlsServerArgs() : [])], props.apiServer?.resources ?? DEFAULTS.apiServer, {
            env: {
              ...s3,
              ...connections,
              [OAUTH_SECRET_ENV]: EnvValue.fromSecret(props.signIn.clientSecret),
              ...ca?.pythonEnv,
              ...(apiCertificate ? tlsServerEnv() : {}),
            },
            ports: [{ name: apiScheme, number: API_PORT }],
            startupProbe: { ...health(), periodSeconds: 10, timeoutSeconds: 20, failureThreshold: 12 },
            livenessProbe: { ...health(), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 5 },
            readinessProbe: { ...health(), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 5 },
            mounts: [...(ca?.mounts ?? []), ...(apiCertificate ? [{ volume: 'tls', path: TLS_DIR }] : [])],
          }, [apiSecretKey, jwtSecret]),
        ],
      },
    });
    this.apiServer = api.pods;
    budget('ApiServerBudget', api.pods, size(props.apiServer));
    const apiEndpoint = new PlatformService(this, 'ApiService', { name: apiService, pods: api.pods, ports: [{ name: apiScheme, port: API_PORT }] }).endpoint(apiScheme);
    this.endpoint = apiEndpoint;

    // The execution API: task pods report their state and read connections and variables here,
    // with the short-lived token the scheduler signs (checked with the JWT key). gunicorn, so that
    // rolling worker refreshes pick up a renewed certificate without a restart.
    const executionHealth = () => httpProbe(EXECUTION_API_PORT, '/execution/health', { scheme: executionTls ? 'HTTPS' : 'HTTP' });
    const execution = new PlatformDeployment(this, 'ExecutionApi', {
      identity: identity('airflow-execution-api', 'execution-api'),
      replicas: size(props.executionApi),
      podAnnotations: revision,
      pod: {
        user: AIRFLOW_UID,
        group: AIRFLOW_UID,
        initContainers: [waitForMigrations],
        volumes: [...configVolumes, ...(executionCertificate ? [executionCertificate.volume('tls')] : [])],
        containers: [
          airflowContainer(
            'execution-api',
            [
              'airflow', 'api-server', '--apps', 'execution', '--port', String(EXECUTION_API_PORT),
              ...(executionTls ? tlsServerArgs() : []),
            ],
            props.executionApi?.resources ?? DEFAULTS.executionApi,
            {
              env: tlsServerEnv(),
              ports: [{ name: executionScheme, number: EXECUTION_API_PORT }],
              startupProbe: { ...executionHealth(), periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 12 },
              livenessProbe: { ...executionHealth(), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 5 },
              readinessProbe: { ...executionHealth(), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
              mounts: executionCertificate ? [{ volume: 'tls', path: TLS_DIR }] : [],
            },
            [jwtSecret],
          ),
        ],
      },
    });
    budget('ExecutionApiBudget', execution.pods, size(props.executionApi));
    const executionEndpoint = new PlatformService(this, 'ExecutionApiService', { name: executionService, pods: execution.pods, ports: [{ name: executionScheme, port: EXECUTION_API_PORT }] }).endpoint(executionScheme);

    // Schedulers: two or more run active-active on PostgreSQL's row locks (Airflow's HA scheduler).
    const schedulerHealth = () => httpProbe(SCHEDULER_HEALTH_PORT, '/health');
    const scheduler = new PlatformDeployment(this, 'Scheduler', {
      identity: identity('airflow-scheduler', 'scheduler'),
      replicas: size(props.scheduler),
      podAnnotations: revision,
      pod: {
        user: AIRFLOW_UID,
        group: AIRFLOW_UID,
        serviceAccountName: schedulerAccount.serviceAccount,
        mountServiceAccountToken: true,
        terminationGracePeriod: Duration.seconds(10),
        initContainers: [waitForMigrations],
        volumes: configVolumes,
        containers: [
          airflowContainer('scheduler', ['airflow', 'scheduler'], props.scheduler?.resources ?? DEFAULTS.scheduler, {
            ports: [{ name: 'health', number: SCHEDULER_HEALTH_PORT }],
            startupProbe: { ...schedulerHealth(), periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 12 },
            livenessProbe: { ...schedulerHealth(), periodSeconds: 30, timeoutSeconds: 10, failureThreshold: 5 },
            readinessProbe: { ...schedulerHealth(), periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 3 },
          }, [jwtSecret]),
        ],
      },
    });
    this.scheduler = scheduler.pods;
    budget('SchedulerBudget', scheduler.pods, size(props.scheduler));

    // The dag-processor parses the checkout git-sync keeps current, and stores the DAGs serialised.
    const sidecar = dagSync(this, props.dags, gitSync, false);
    // The dag-processor's and the triggerer's pods: the component beside git-sync, after the migrations.
    const beside = (component: HardenedContainerProps): HardenedPodProps => ({
      user: AIRFLOW_UID,
      group: AIRFLOW_UID,
      terminationGracePeriod: Duration.seconds(60),
      initContainers: [waitForMigrations],
      volumes: [...configVolumes, ...sidecar.volumes],
      containers: [{ ...component, mounts: [...(component.mounts ?? []), sidecar.mount] }, sidecar.container],
    });
    const jobChecked = (jobType: string) => ({ livenessProbe: jobCheck(jobType), readinessProbe: jobCheck(jobType) });
    const processor = new PlatformDeployment(this, 'DagProcessor', {
      identity: identity('airflow-dag-processor', 'dag-processor'),
      // Two processors would parse every file twice.
      strategy: 'Recreate',
      podAnnotations: revision,
      metrics: { port: GIT_SYNC_HTTP_PORT, path: '/metrics' },
      pod: beside(airflowContainer('dag-processor', ['airflow', 'dag-processor'], props.dagProcessor?.resources ?? DEFAULTS.dagProcessor, jobChecked('DagProcessorJob'))),
    });
    this.dagProcessor = processor.pods;

    const triggerer = new PlatformDeployment(this, 'Triggerer', {
      identity: identity('airflow-triggerer', 'triggerer'),
      replicas: size(props.triggerer),
      podAnnotations: revision,
      pod: beside(
        airflowContainer('triggerer', ['airflow', 'triggerer'], props.triggerer?.resources ?? DEFAULTS.triggerer, {
          ...jobChecked('TriggererJob'),
          env: { ...s3, ...connections },
        }, [jwtSecret]),
      ),
    });
    this.triggerer = triggerer.pods;
    budget('TriggererBudget', triggerer.pods, size(props.triggerer));

    // StatsD in, Prometheus out.
    const statsd = new StatsdExporter(this, 'Statsd', { name: statsdService, mapping: statsdMapping() });

    this.webUi = { name: 'airflow', purpose: 'Pipelines: DAGs, their runs and task logs (Airflow)', endpoint: apiEndpoint, signIn: SignIn.OIDC, callbackPath: AIRFLOW_CALLBACK, tls: apiCertificate !== undefined, docs: 'airflow.md' };

    // The flows, and only these.
    const components = [api.pods, execution.pods, scheduler.pods, processor.pods, triggerer.pods];
    for (const pods of [...components, migrate.pods]) allowFlow(pods, props.database.endpoint);
    for (const pods of [...components, this.tasks.tasks]) allowFlow(pods, statsd.endpoint);
    // Logs: tasks and triggers upload theirs, the api-server reads them.
    for (const pods of [api.pods, triggerer.pods, this.tasks.tasks]) allowFlow(pods, props.logs.endpoint);
    // The scheduler starts task pods; the api-server reads running tasks' logs from them.
    for (const pods of [scheduler.pods, api.pods]) allowEgressToAddresses(pods, 'kube-apiserver', apiServer.cidrs, apiServer.port);
    // Task pods report to the execution API.
    allowFlow(this.tasks.tasks, executionEndpoint);
    // git-sync fetches from the Git server; the api-server signs people in with GitLab.
    for (const pods of [processor.pods, triggerer.pods, this.tasks.tasks]) allowEgressToAddresses(pods, 'git', props.dags.cidrs, 443);
    allowEgressToAddresses(api.pods, 'gitlab', props.signIn.gitlabCidrs, 443);
    if (props.mlflow) allowFlow(this.tasks.tasks, props.mlflow.endpoint);
    if (props.analytics) allowFlow(this.tasks.tasks, props.analytics.endpoint);
    if (props.spark) allowEgressToAddresses(this.tasks.tasks, 'kube-apiserver', apiServer.cidrs, apiServer.port);
  }
}
