// PromQL that alerts and dashboards share, so a panel shows exactly what an alert judges.

/** The metrics of an HTTP service instrumented with prometheus_flask_exporter (MLflow, Flask APIs). */
export interface HttpServiceMetrics {
  /** Human name, e.g. `MLflow`; alert names start with it. */
  readonly name: string;
  /** Metric prefix: `<prefix>_http_request_total`, `<prefix>_http_request_duration_seconds`. */
  readonly prefix: string;
  /**
   * The `job` label (the app name) of its pods.
   *
   * @default - every job that exports the prefix's metrics (each judged on its own)
   */
  readonly job?: string;
}

/** Request rate, error share and a latency quantile of an HTTP service, as PromQL. */
export function httpQueries(m: HttpServiceMetrics, window: string, by: string[] = ['namespace', 'job']) {
  const sel = m.job === undefined ? '' : `job="${m.job}"`;
  const byClause = by.length ? ` by (${by.join(', ')})` : '';
  const rate = (filter: string) => `sum${byClause} (rate(${m.prefix}_http_request_total{${sel}${filter}}[${window}]))`;
  return {
    requestRate: rate(''),
    errorShare: `${rate(`${sel ? ',' : ''}status=~"5.."`)}\n/\n${rate('')}`,
    latency: (quantile: number) => `histogram_quantile(${quantile}, sum by (${[...by, 'le'].join(', ')}) (rate(${m.prefix}_http_request_duration_seconds_bucket{${sel}}[${window}])))`,
  };
}

/** MLflow's request metrics (prometheus_flask_exporter with the `mlflow` prefix). */
export const MLFLOW_HTTP = { name: 'MLflow', prefix: 'mlflow', job: 'mlflow' } as const;

/**
 * MinIO reports cluster metrics from every pod (each with the `server` they describe), so a
 * distributed cluster is scraped once per pod: take one copy per server before aggregating.
 */
export const minioOnce = (metric: string, labels = 'namespace, server') => `max by (${labels}) (${metric})`;

/** The sign-in proxies' Deployments and scrape jobs: `<ui>-oauth2-proxy` (libs/access). */
export const SIGN_IN_PROXIES = '.+-oauth2-proxy';

/** Share of requests through each sign-in proxy that end in 5xx (oauth2-proxy's `oauth2_proxy_requests_total{code}`). */
export const SIGN_IN_ERRORS = `sum by (namespace, job) (rate(oauth2_proxy_requests_total{code=~"5.."}[5m]))\n/ sum by (namespace, job) (rate(oauth2_proxy_requests_total[5m]))`;

/** The namespaces of JupyterHub (libs/jupyterhub): the hub and proxy, and the notebook servers. */
export const JUPYTERHUB = { namespace: 'jupyterhub', users: 'jupyterhub-users', spark: 'jupyterhub-spark' } as const;

/** Spawns that ended in `status` over `window` (JupyterHub's server_spawn_duration_seconds histogram). */
export const hubSpawns = (window: string, status?: string) =>
  `sum by (namespace) (increase(jupyterhub_server_spawn_duration_seconds_count{${status ? `status="${status}"` : ''}}[${window}]))`;

/** Free share of each notebook server's home volume (kubelet reports it while the server runs). */
export const HOME_VOLUME_FREE = `kubelet_volume_stats_available_bytes{namespace="${JUPYTERHUB.users}"}\n/ kubelet_volume_stats_capacity_bytes{namespace="${JUPYTERHUB.users}"}`;

/** TensorBoard (libs/tensorboard): its namespace and the restarts of its sync sidecar. */
export const TENSORBOARD = { namespace: 'tensorboard', deployment: 'tensorboard', sync: 'sync' } as const;
export const syncRestarts = (window: string) =>
  `increase(kube_pod_container_status_restarts_total{namespace="${TENSORBOARD.namespace}", container="${TENSORBOARD.sync}"}[${window}])`;

/** A Deployment with no ready replica (kube-state-metrics): the service it runs is down. */
export const noReadyReplica = (namespace: string, deployment: string) =>
  `kube_deployment_status_replicas_available{namespace="${namespace}", deployment="${deployment}"} == 0`;

/** Airflow and Spark as the platform renders them (libs/airflow, libs/spark). */
export const PIPELINES = { airflow: 'airflow', tasks: 'airflow-tasks', spark: 'spark', sparkHistory: 'spark-history', statsdJob: 'airflow-statsd' } as const;

/** Superset and the Dash apps as the platform renders them (libs/superset, libs/dash). */
export const BI = { superset: 'superset', dash: 'dash' } as const;

/** Central logging as the platform renders it (libs/logging): Elasticsearch, its exporter, the shipper on every node. */
export const LOGGING = { namespace: 'logging', shipperNamespace: 'log-shipper', statefulset: 'elasticsearch', shipper: 'log-shipper' } as const;

/** Share of each Elasticsearch node's data disk in use (elasticsearch_exporter's filesystem stats). */
export const ES_DISK_USED = '1 - max by (namespace, cluster, name) (elasticsearch_filesystem_data_available_bytes)\n/ max by (namespace, cluster, name) (elasticsearch_filesystem_data_size_bytes)';

/** Share of each Elasticsearch node's JVM heap in use. */
export const ES_HEAP_USED = 'max by (namespace, cluster, name) (elasticsearch_jvm_memory_used_bytes{area="heap"})\n/ max by (namespace, cluster, name) (elasticsearch_jvm_memory_max_bytes{area="heap"})';

/** Share of each shipper's disk queue in use (the collector's exporterhelper metrics). */
export const SHIPPER_QUEUE_USED = `max by (namespace, pod, node) (otelcol_exporter_queue_size{job="${LOGGING.shipper}", exporter="elasticsearch"})\n/ max by (namespace, pod, node) (otelcol_exporter_queue_capacity{job="${LOGGING.shipper}", exporter="elasticsearch"})`;
