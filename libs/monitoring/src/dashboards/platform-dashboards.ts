import { BACKUP_DASHBOARD } from './backup-dashboard';
import { HOME_VOLUME_FREE, hubSpawns, httpQueries, HttpServiceMetrics, JUPYTERHUB, MLFLOW_HTTP, minioOnce, SIGN_IN_ERRORS, SIGN_IN_PROXIES, syncRestarts, TENSORBOARD } from '../queries';
import { dashboard, PanelSpec, stat, timeseries } from './builder';
import { podResources } from './panels';
import { AIRFLOW_DASHBOARD, SPARK_DASHBOARD } from './pipeline-dashboards';
import { REDIS_DASHBOARD } from './redis-dashboard';
import { LOGGING_DASHBOARD } from './logging-dashboard';
import { DASH_DASHBOARD, SUPERSET_DASHBOARD } from './bi-dashboard';

const W = '$__rate_interval';


function volumeUsage(namespace: string): PanelSpec {
  return timeseries(
    'Volume usage',
    [{ expr: `kubelet_volume_stats_used_bytes{namespace="${namespace}"} / kubelet_volume_stats_capacity_bytes{namespace="${namespace}"}`, legend: '{{persistentvolumeclaim}}' }],
    { unit: 'percentunit', width: 24 },
  );
}

/** Request rate, error share and latency percentiles: the panels every HTTP service gets. */
export function httpPanels(m: HttpServiceMetrics): PanelSpec[] {
  const q = httpQueries(m, W, []);
  const byStatus = `sum by (status) (rate(${m.prefix}_http_request_total{job="${m.job}"}[${W}]))`;
  return [
    stat('Requests per second', { expr: q.requestRate }, { unit: 'reqps' }),
    stat('Server error share', { expr: `(${q.errorShare}) or vector(0)` }, { unit: 'percentunit', redAt: 0.05 }),
    stat('p95 latency', { expr: q.latency(0.95) }, { unit: 's' }),
    stat('p99 latency', { expr: q.latency(0.99) }, { unit: 's' }),
    timeseries('Requests by status', [{ expr: byStatus, legend: '{{status}}' }], { unit: 'reqps' }),
    timeseries('Latency percentiles', [0.5, 0.9, 0.99].map((p) => ({ expr: q.latency(p), legend: `p${p * 100}` })), { unit: 's' }),
    timeseries('Server error share', [{ expr: q.errorShare, legend: 'share of 5xx' }], { unit: 'percentunit', width: 24 }),
  ];
}

/** The uid of the platform overview dashboard, which the home page links to. */
export const OVERVIEW_DASHBOARD_UID = 'platform-overview';

/** The platform at a glance: what is down, what fires, how full the nodes and volumes are. */
const overview = dashboard({
  uid: OVERVIEW_DASHBOARD_UID,
  title: 'Platform overview',
  tags: ['platform'],
  description: 'Health of the whole cluster: targets, alerts, pods, nodes and volumes.',
  panels: [
    stat('Targets down', { expr: 'count(up == 0) or vector(0)' }, { redAt: 1 }),
    stat('Alerts firing', { expr: 'count(ALERTS{alertstate="firing"}) or vector(0)' }, { redAt: 1 }),
    stat('Pods not ready', { expr: 'count(kube_pod_status_ready{condition="false"} == 1) or vector(0)' }, { redAt: 1 }),
    stat('Nodes not ready', { expr: 'count(kube_node_status_condition{condition="Ready",status="true"} == 0) or vector(0)' }, { redAt: 1 }),
    timeseries('Scrape targets up by job', [{ expr: 'sum by (job) (up)', legend: '{{job}}' }]),
    timeseries('Firing alerts', [{ expr: 'sum by (alertname, severity) (ALERTS{alertstate="firing"})', legend: '{{alertname}} ({{severity}})' }]),
    timeseries('CPU by namespace', [{ expr: `sum by (namespace) (rate(container_cpu_usage_seconds_total{container!=""}[${W}]))`, legend: '{{namespace}}' }]),
    timeseries('Memory by namespace (working set)', [{ expr: 'sum by (namespace) (container_memory_working_set_bytes{container!=""})', legend: '{{namespace}}' }], { unit: 'bytes' }),
    timeseries('Node CPU busy', [{ expr: `1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[${W}]))`, legend: '{{instance}}' }], { unit: 'percentunit' }),
    timeseries('Node memory used', [{ expr: '1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes', legend: '{{instance}}' }], { unit: 'percentunit' }),
    timeseries('Volume usage', [{ expr: 'kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes', legend: '{{namespace}}/{{persistentvolumeclaim}}' }], { unit: 'percentunit' }),
    timeseries('Container restarts (1h)', [{ expr: 'sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total[1h])) > 0', legend: '{{namespace}}/{{pod}}' }]),
  ],
});

const postgres = dashboard({
  uid: 'postgres',
  title: 'PostgreSQL',
  tags: ['platform', 'data'],
  description: 'The platform PostgreSQL server, from postgres_exporter beside it.',
  panels: [
    stat('Up', { expr: 'min(pg_up)' }),
    stat('Connections used', { expr: 'sum(pg_stat_activity_count) / max(pg_settings_max_connections)' }, { unit: 'percentunit', redAt: 0.8 }),
    stat('Database size', { expr: 'sum(pg_database_size_bytes)' }, { unit: 'bytes' }),
    stat('Deadlocks (1h)', { expr: 'sum(increase(pg_stat_database_deadlocks[1h]))' }, { redAt: 1 }),
    timeseries('Connections by state', [{ expr: 'sum by (state) (pg_stat_activity_count)', legend: '{{state}}' }]),
    timeseries('Transactions per second', [
      { expr: `sum by (datname) (rate(pg_stat_database_xact_commit[${W}]))`, legend: '{{datname}} commits' },
      { expr: `sum by (datname) (rate(pg_stat_database_xact_rollback[${W}]))`, legend: '{{datname}} rollbacks' },
    ], { unit: 'ops' }),
    timeseries('Database size', [{ expr: 'pg_database_size_bytes', legend: '{{datname}}' }], { unit: 'bytes', width: 24 }),
    ...podResources('postgres'),
    volumeUsage('postgres'),
  ],
});

const once = (metric: string) => minioOnce(metric, 'server, api');
const minio = dashboard({
  uid: 'minio',
  title: 'MinIO',
  tags: ['platform', 'data'],
  description: 'MinIO object storage: servers, drives, capacity and S3 traffic (cluster metrics, one copy per server).',
  panels: [
    stat('Servers offline', { expr: 'max(minio_cluster_nodes_offline_total)' }, { redAt: 1 }),
    stat('Drives offline', { expr: 'max(minio_cluster_drive_offline_total)' }, { redAt: 1 }),
    stat('Usable capacity free', { expr: 'max(minio_cluster_capacity_usable_free_bytes) / max(minio_cluster_capacity_usable_total_bytes)' }, { unit: 'percentunit' }),
    stat('Usable capacity', { expr: 'max(minio_cluster_capacity_usable_total_bytes)' }, { unit: 'bytes' }),
    timeseries('S3 requests by API', [{ expr: `sum by (api) (${once(`rate(minio_s3_requests_total[${W}])`)})`, legend: '{{api}}' }], { unit: 'reqps' }),
    timeseries('S3 errors', [
      { expr: `sum(${once(`rate(minio_s3_requests_4xx_errors_total[${W}])`)})`, legend: '4xx' },
      { expr: `sum(${once(`rate(minio_s3_requests_5xx_errors_total[${W}])`)})`, legend: '5xx' },
    ], { unit: 'reqps' }),
    timeseries('Time to first byte', [0.5, 0.95, 0.99].map((p) => ({ expr: `histogram_quantile(${p}, sum by (le) (${minioOnce(`rate(minio_s3_requests_ttfb_seconds_distribution[${W}])`, 'server, api, le')}))`, legend: `p${p * 100}` })), { unit: 's' }),
    timeseries('Online drives per erasure set vs. write quorum', [
      { expr: 'min by (pool, set) (minio_cluster_health_erasure_set_online_drives)', legend: 'online {{pool}}/{{set}}' },
      { expr: 'max by (pool, set) (minio_cluster_health_erasure_set_write_quorum)', legend: 'quorum {{pool}}/{{set}}' },
    ]),
    ...podResources('minio'),
    volumeUsage('minio'),
  ],
});

const mlflow = dashboard({
  uid: 'mlflow',
  title: 'MLflow',
  tags: ['platform', 'ml'],
  description: 'The MLflow tracking server: its HTTP traffic and its pods.',
  panels: [...httpPanels(MLFLOW_HTTP), ...podResources('mlflow')],
});

/** JupyterHub: who uses it, how many servers run, how fast and how reliably they start. */
const jupyterhub = dashboard({
  uid: 'jupyterhub',
  title: 'JupyterHub',
  tags: ['platform', 'ml'],
  description: 'JupyterHub and the notebook servers it spawns (docs/jupyterhub.md): users, running servers, spawn latency and failures, home volumes, Spark executors.',
  panels: [
    stat('Active users (24h)', { expr: 'max(jupyterhub_active_users{period="24h"})' }),
    stat('Running servers', { expr: 'max(jupyterhub_running_servers)' }),
    stat('Spawn failures (1h)', { expr: `${hubSpawns('1h', 'failure')} or vector(0)` }, { redAt: 1 }),
    stat('Spark executors running', { expr: `count(kube_pod_status_phase{namespace="${JUPYTERHUB.spark}", phase="Running"} == 1) or vector(0)` }),
    timeseries('Active users', [{ expr: 'max by (period) (jupyterhub_active_users)', legend: '{{period}}' }]),
    timeseries('Running servers', [{ expr: 'max(jupyterhub_running_servers)', legend: 'servers' }]),
    timeseries('Spawn latency (successful spawns)', [0.5, 0.9, 0.99].map((p) => ({
      expr: `histogram_quantile(${p}, sum by (le) (rate(jupyterhub_server_spawn_duration_seconds_bucket{status="success"}[${W}])))`,
      legend: `p${p * 100}`,
    })), { unit: 's' }),
    timeseries('Spawns by outcome', [{ expr: `sum by (status) (increase(jupyterhub_server_spawn_duration_seconds_count[${W}]))`, legend: '{{status}}' }]),
    timeseries('Hub request latency p95', [{ expr: `histogram_quantile(0.95, sum by (le) (rate(jupyterhub_request_duration_seconds_bucket[${W}])))`, legend: 'p95' }], { unit: 's' }),
    timeseries('Proxy responses by status', [{ expr: `sum by (status) (rate(requests_proxy{namespace="${JUPYTERHUB.namespace}"}[${W}]))`, legend: '{{status}}' }], { unit: 'reqps' }),
    timeseries('Home volumes: free share', [{ expr: HOME_VOLUME_FREE, legend: '{{persistentvolumeclaim}}' }], { unit: 'percentunit', width: 24 }),
    timeseries('Notebook servers: CPU', [{ expr: `sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="${JUPYTERHUB.users}",container!=""}[${W}]))`, legend: '{{pod}}' }]),
    timeseries('Notebook servers: memory (working set)', [{ expr: `sum by (pod) (container_memory_working_set_bytes{namespace="${JUPYTERHUB.users}",container!=""})`, legend: '{{pod}}' }], { unit: 'bytes' }),
    ...podResources(JUPYTERHUB.namespace),
  ],
});

/** TensorBoard: up or not, its copy of the logs, and its traffic through the sign-in proxy (it has no metrics of its own). */
const proxyJob = `${TENSORBOARD.deployment}-oauth2-proxy`;
const tensorboard = dashboard({
  uid: 'tensorboard',
  title: 'TensorBoard',
  tags: ['platform', 'ml'],
  description: 'TensorBoard over s3://tensorboard (docs/tensorboard.md): readiness, sync sidecar restarts, requests through its sign-in proxy, CPU and memory.',
  panels: [
    stat('Ready', { expr: `max(kube_deployment_status_replicas_available{namespace="${TENSORBOARD.namespace}", deployment="${TENSORBOARD.deployment}"})` }),
    stat('Sync restarts (1h)', { expr: `sum(${syncRestarts('1h')}) or vector(0)` }, { redAt: 2 }),
    stat('Requests per second', { expr: `sum(rate(oauth2_proxy_requests_total{job="${proxyJob}"}[${W}])) or vector(0)` }, { unit: 'reqps' }),
    stat('p95 latency', { expr: `histogram_quantile(0.95, sum by (le) (rate(oauth2_proxy_response_duration_seconds_bucket{job="${proxyJob}"}[${W}])))` }, { unit: 's' }),
    timeseries('Requests by status (through sign-in)', [{ expr: `sum by (code) (rate(oauth2_proxy_requests_total{job="${proxyJob}"}[${W}]))`, legend: '{{code}}' }], { unit: 'reqps' }),
    timeseries('Sync sidecar restarts', [{ expr: `sum(${syncRestarts('1h')})`, legend: 'restarts in the last hour' }]),
    ...podResources(TENSORBOARD.namespace),
  ],
});

/** The sign-in proxies in front of the UIs: who is reachable, traffic, errors and latency per UI. */
const signIn = dashboard({
  uid: 'sign-in',
  title: 'Sign-in (oauth2-proxy)',
  tags: ['platform', 'access'],
  description: 'The oauth2-proxy in front of each UI (docs/access.md): ready replicas, requests by status, server errors and latency.',
  panels: [
    timeseries('Ready replicas by UI', [{ expr: `kube_deployment_status_replicas_available{deployment=~"${SIGN_IN_PROXIES}"}`, legend: '{{namespace}}/{{deployment}}' }], { width: 12 }),
    timeseries('Requests by status', [{ expr: `sum by (job, code) (rate(oauth2_proxy_requests_total{job=~"${SIGN_IN_PROXIES}"}[${W}]))`, legend: '{{job}} {{code}}' }], { unit: 'reqps', width: 12 }),
    timeseries('Server error share', [{ expr: SIGN_IN_ERRORS.replace(/\[5m\]/g, `[${W}]`), legend: '{{job}}' }], { unit: 'percentunit', width: 12 }),
    timeseries('p95 latency', [{ expr: `histogram_quantile(0.95, sum by (job, le) (rate(oauth2_proxy_response_duration_seconds_bucket{job=~"${SIGN_IN_PROXIES}"}[${W}])))`, legend: '{{job}}' }], { unit: 's', width: 12 }),
  ],
});

/**
 * The dashboard every HTTP service reuses: pick the metric prefix (any
 * `<prefix>_http_request_duration_seconds` in Prometheus) and the job.
 */
const httpService = dashboard({
  uid: 'http-service',
  title: 'HTTP service',
  tags: ['platform', 'http'],
  description: 'Request rate, server error share and latency percentiles of any service instrumented with prometheus_flask_exporter (MLflow, Flask prediction APIs).',
  variables: [
    { name: 'prefix', label: 'Metric prefix', query: 'metrics(.+_http_request_duration_seconds_count)', regex: '/^(.+)_http_request_duration_seconds_count$/' },
    { name: 'job', label: 'Service', query: 'label_values(${prefix}_http_request_total, job)' },
  ],
  panels: httpPanels({ name: 'Service', prefix: '${prefix}', job: '$job' }),
});

/** Dashboard file name (in the provisioned folder) to JSON document. */
export const PLATFORM_DASHBOARDS: Readonly<Record<string, object>> = {
  'platform-overview.json': overview,
  'postgres.json': postgres,
  'backups.json': BACKUP_DASHBOARD,
  'minio.json': minio,
  'mlflow.json': mlflow,
  'http-service.json': httpService,
  'sign-in.json': signIn,
  'jupyterhub.json': jupyterhub,
  'tensorboard.json': tensorboard,
  'airflow.json': AIRFLOW_DASHBOARD,
  'spark.json': SPARK_DASHBOARD,
  'redis.json': REDIS_DASHBOARD,
  'superset.json': SUPERSET_DASHBOARD,
  'dash-apps.json': DASH_DASHBOARD,
  'logging.json': LOGGING_DASHBOARD,
};
