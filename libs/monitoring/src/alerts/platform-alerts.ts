import { BACKUP_ALERTS } from './backup-rules';
import { HOME_VOLUME_FREE, hubSpawns, JUPYTERHUB, MLFLOW_HTTP, minioOnce, noReadyReplica, SIGN_IN_ERRORS, SIGN_IN_PROXIES, syncRestarts, TENSORBOARD } from '../queries';
import { MODEL_RULE_GROUPS } from './model-rules';
import { AIRFLOW_ALERTS } from './pipeline-alerts';
import { REDIS_ALERTS } from './redis-alerts';
import { DASH_ALERTS, SUPERSET_ALERTS } from './bi-alerts';
import { LOGGING_ALERTS } from './logging-alerts';
import { AlertRule, httpServiceAlerts, RuleGroup } from './rule';

const kubernetes: AlertRule[] = [
  {
    alert: 'TargetDown',
    expr: 'up == 0',
    for: '5m',
    severity: 'warning',
    summary: '{{ $labels.job }} target {{ $labels.instance }} is down',
    description: 'Prometheus could not scrape {{ $labels.job }} at {{ $labels.instance }} ({{ $labels.namespace }}/{{ $labels.pod }}) for 5 minutes: the process is down or its NetworkPolicy blocks Prometheus.',
  },
  {
    alert: 'PodCrashLooping',
    expr: 'max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m]) >= 1',
    for: '15m',
    severity: 'warning',
    summary: 'Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} is crash looping',
    description: 'The container keeps exiting and Kubernetes keeps backing off its restarts. Read the logs of the previous run (kubectl logs --previous).',
  },
  {
    alert: 'PodNotReady',
    // Pods of finished Jobs are never ready and need no one.
    expr: 'kube_pod_status_ready{condition="false"} == 1\nunless on (namespace, pod)\nkube_pod_status_phase{phase=~"Succeeded|Failed"} == 1',
    for: '15m',
    severity: 'warning',
    summary: '{{ $labels.namespace }}/{{ $labels.pod }} has not been ready for 15 minutes',
    description: 'The pod runs but its readiness probe fails, or it cannot be scheduled or pulled. kubectl describe pod shows which.',
  },
  {
    alert: 'JobFailed',
    expr: 'kube_job_status_failed > 0',
    for: '5m',
    severity: 'warning',
    summary: 'Job {{ $labels.namespace }}/{{ $labels.job_name }} failed',
    description: 'A Job (a bootstrap step: database roles, buckets) ran out of retries. Its pods\' logs say why; fix the cause and let the GitOps agent create the next revision.',
  },
  {
    alert: 'PersistentVolumeNearlyFull',
    // People's home volumes have their own alert (NotebookHomeVolumeNearlyFull), with its own advice.
    expr: `kubelet_volume_stats_available_bytes{namespace!="${JUPYTERHUB.users}"} / kubelet_volume_stats_capacity_bytes{namespace!="${JUPYTERHUB.users}"} < 0.15`,
    for: '10m',
    severity: 'warning',
    summary: 'Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free',
    description: 'Less than 15% of the volume is free. Grow the claim (storage size in cluster.yaml, if its StorageClass allows expansion) or reduce retention.',
  },
  {
    alert: 'PersistentVolumeFull',
    expr: `kubelet_volume_stats_available_bytes{namespace!="${JUPYTERHUB.users}"} / kubelet_volume_stats_capacity_bytes{namespace!="${JUPYTERHUB.users}"} < 0.05`,
    for: '5m',
    severity: 'critical',
    summary: 'Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is almost full ({{ $value | humanizePercentage }} free)',
    description: 'Less than 5% of the volume is free; the workload will fail writes soon.',
  },
  {
    alert: 'NodeNotReady',
    expr: 'kube_node_status_condition{condition="Ready",status="true"} == 0',
    for: '5m',
    severity: 'critical',
    summary: 'Node {{ $labels.node }} is not ready',
    description: 'The kubelet stopped reporting ready; its pods will be evicted. Check the node, its kubelet and container runtime.',
  },
  {
    alert: 'NodePressure',
    expr: 'kube_node_status_condition{condition=~"MemoryPressure|DiskPressure|PIDPressure",status="true"} == 1',
    for: '5m',
    severity: 'warning',
    summary: 'Node {{ $labels.node }} reports {{ $labels.condition }}',
    description: 'The kubelet is short of memory, disk or process IDs and will start evicting pods.',
  },
  {
    alert: 'NodeFilesystemNearlyFull',
    expr: 'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs"} / node_filesystem_size_bytes < 0.10\nand node_filesystem_readonly == 0',
    for: '15m',
    severity: 'warning',
    summary: 'Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} has {{ $value | humanizePercentage }} free',
    description: 'Less than 10% of a node filesystem is free; images, logs and emptyDirs live there.',
  },
  {
    alert: 'NodeMemoryNearlyExhausted',
    expr: 'node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.10',
    for: '15m',
    severity: 'warning',
    summary: 'Node {{ $labels.instance }} has {{ $value | humanizePercentage }} of its memory available',
    description: 'Pods on this node risk the OOM killer. Check which pods exceed their requests.',
  },
  {
    alert: 'NodeCpuSaturated',
    expr: '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) > 0.90',
    for: '30m',
    severity: 'warning',
    summary: 'Node {{ $labels.instance }} CPU is {{ $value | humanizePercentage }} busy',
    description: 'The node has been more than 90% busy for 30 minutes; latency of everything on it suffers.',
  },
  {
    // Batch namespaces (Spark jobs, notebook executors) run under a quota; a full one makes new
    // pods wait, which looks like a hung job from outside.
    alert: 'ResourceQuotaNearlyFull',
    expr: 'kube_resourcequota{type="used"}\n/ ignoring (type) (kube_resourcequota{type="hard"} > 0)\n> 0.9',
    for: '15m',
    severity: 'warning',
    summary: 'Quota {{ $labels.namespace }}/{{ $labels.resourcequota }} has {{ $value | humanizePercentage }} of its {{ $labels.resource }} in use',
    description: 'New pods in the namespace will be refused (exceeded quota) and wait. See what holds it (kubectl -n {{ $labels.namespace }} get pods) and raise the quota in cluster.yaml or spread the work.',
  },
];

const monitoring: AlertRule[] = [
  {
    alert: 'PrometheusConfigReloadFailed',
    expr: 'prometheus_config_last_reload_successful == 0',
    for: '10m',
    severity: 'warning',
    summary: 'Prometheus {{ $labels.pod }} could not load its new configuration',
    description: 'It keeps running the previous one. The reloader sidecar log and promtool check config show the error (CI runs the same check).',
  },
  {
    alert: 'PrometheusAlertmanagerUnreachable',
    expr: 'prometheus_notifications_alertmanagers_discovered < 1\nor rate(prometheus_notifications_errors_total[5m]) > 0',
    for: '10m',
    severity: 'critical',
    summary: 'Prometheus {{ $labels.pod }} cannot deliver alerts to Alertmanager',
    description: 'Alerts fire but nobody is told. Check the Alertmanager pods and the NetworkPolicy between them.',
  },
  {
    alert: 'AlertmanagerNotificationsFailing',
    expr: 'rate(alertmanager_notifications_failed_total[5m]) > 0',
    for: '10m',
    severity: 'critical',
    summary: 'Alertmanager fails to notify through {{ $labels.integration }}',
    description: 'A receiver rejects or cannot be reached: check its Secret, its address in cluster.yaml (egress) and the Alertmanager log.',
  },
];

const postgres: AlertRule[] = [
  {
    alert: 'PostgresDown',
    expr: 'pg_up == 0',
    for: '1m',
    severity: 'critical',
    summary: 'PostgreSQL in {{ $labels.namespace }} does not accept connections',
    description: 'The exporter beside the server cannot connect. MLflow and every other database user are failing.',
  },
  {
    alert: 'PostgresConnectionsNearlyExhausted',
    expr: 'sum by (namespace, pod) (pg_stat_activity_count)\n/ on (namespace, pod)\nmax by (namespace, pod) (pg_settings_max_connections) > 0.8',
    for: '5m',
    severity: 'warning',
    summary: 'PostgreSQL in {{ $labels.namespace }} uses {{ $value | humanizePercentage }} of max_connections',
    description: 'New connections will be refused soon. Look for clients that leak connections, or raise max_connections with the memory it needs.',
  },
  {
    alert: 'PostgresDeadlocks',
    expr: 'increase(pg_stat_database_deadlocks[10m]) > 5',
    for: '0m',
    severity: 'warning',
    summary: 'Deadlocks in database {{ $labels.datname }}',
    description: 'More than 5 deadlocks in 10 minutes: an application takes locks in inconsistent order.',
  },
];

const minio: AlertRule[] = [
  {
    alert: 'MinioNodesOffline',
    expr: `max by (namespace) (minio_cluster_nodes_offline_total) > 0`,
    for: '5m',
    severity: 'warning',
    summary: '{{ $value }} MinIO server(s) in {{ $labels.namespace }} are offline',
    description: 'The cluster serves from the remaining servers while erasure coding allows; another loss may cost write quorum.',
  },
  {
    alert: 'MinioDrivesOffline',
    expr: `max by (namespace) (minio_cluster_drive_offline_total) > 0`,
    for: '5m',
    severity: 'warning',
    summary: '{{ $value }} MinIO drive(s) in {{ $labels.namespace }} are offline',
    description: 'Replace or reattach the drive (its PVC); MinIO heals the data once it is back.',
  },
  {
    alert: 'MinioWriteQuorumLost',
    expr: 'min by (namespace, pool, set) (minio_cluster_health_erasure_set_online_drives)\n< max by (namespace, pool, set) (minio_cluster_health_erasure_set_write_quorum)',
    for: '1m',
    severity: 'critical',
    summary: 'MinIO erasure set {{ $labels.pool }}/{{ $labels.set }} has lost write quorum',
    description: 'Fewer drives are online than a write needs: uploads to MinIO (MLflow artifacts) fail. Bring the offline servers or drives back.',
  },
  {
    alert: 'MinioCapacityLow',
    expr: 'max by (namespace) (minio_cluster_capacity_usable_free_bytes)\n/ max by (namespace) (minio_cluster_capacity_usable_total_bytes) < 0.10',
    for: '15m',
    severity: 'warning',
    summary: 'MinIO in {{ $labels.namespace }} has {{ $value | humanizePercentage }} usable capacity left',
    description: 'Delete old artifacts (lifecycle rules) or add a server pool.',
  },
  {
    alert: 'MinioServerErrors',
    expr: `sum by (namespace) (${minioOnce('rate(minio_s3_requests_5xx_errors_total[5m])', 'namespace, server, api')})\n/ sum by (namespace) (${minioOnce('rate(minio_s3_requests_total[5m])', 'namespace, server, api')}) > 0.05`,
    for: '10m',
    severity: 'warning',
    summary: 'MinIO in {{ $labels.namespace }} answers {{ $value | humanizePercentage }} of S3 requests with a server error',
    description: 'More than 5% of S3 requests fail on the server side: check drives, quorum and the MinIO logs.',
  },
];

/** The sign-in proxies in front of the UIs (libs/access): oauth2-proxy's own metrics and its Deployments. */
const signIn: AlertRule[] = [
  {
    alert: 'SignInUnavailable',
    expr: `kube_deployment_status_replicas_available{deployment=~"${SIGN_IN_PROXIES}"} == 0`,
    for: '5m',
    severity: 'critical',
    summary: 'Nobody can sign in to the UI behind {{ $labels.namespace }}/{{ $labels.deployment }}',
    description: 'The sign-in proxy has no ready replica, so the gateway has nowhere to send people. kubectl -n {{ $labels.namespace }} describe deployment {{ $labels.deployment }} shows why (image, config, the cookie or GitLab secret).',
  },
  {
    alert: 'SignInServerErrors',
    expr: `(\n${SIGN_IN_ERRORS}\n) > 0.05\nand on (namespace, job)\nsum by (namespace, job) (rate(oauth2_proxy_requests_total[5m])) > 1/30`,
    for: '10m',
    severity: 'warning',
    summary: '{{ $labels.job }} answers {{ $value | humanizePercentage }} of requests with a server error',
    description: 'More than 5% of requests through the sign-in proxy in {{ $labels.namespace }} end in 5xx for 10 minutes: GitLab is unreachable from the proxy (its NetworkPolicy, sso.gitlab.cidrs, the CA) or the UI behind it fails (502).',
  },
];

/** JupyterHub (libs/jupyterhub): the hub and its proxy, spawning, and people's home volumes. */
const jupyterhub: AlertRule[] = [
  {
    alert: 'JupyterHubDown',
    expr: noReadyReplica(JUPYTERHUB.namespace, 'hub'),
    for: '5m',
    severity: 'critical',
    summary: 'JupyterHub has no ready hub',
    description: 'Nobody can sign in or start a notebook server; running servers keep working but lose the hub API (activity, culling). kubectl -n jupyterhub logs deploy/hub shows why: usually PostgreSQL unreachable, a failed database upgrade or a config error.',
  },
  {
    alert: 'JupyterHubProxyDown',
    expr: noReadyReplica(JUPYTERHUB.namespace, 'proxy'),
    for: '5m',
    severity: 'critical',
    summary: 'JupyterHub\'s proxy has no ready replica',
    description: 'Every request to JupyterHub, the hub and all notebook servers, fails at the gateway. kubectl -n jupyterhub describe deploy/proxy; once it is back the hub restores its routes within a few minutes.',
  },
  {
    alert: 'JupyterHubSpawnsFailing',
    // The value is the failing share; the count keeps one unlucky spawn on a quiet day from paging.
    expr: `${hubSpawns('30m', 'failure')} / ${hubSpawns('30m')} > 0.2\nand\n${hubSpawns('30m', 'failure')} >= 3`,
    for: '5m',
    severity: 'warning',
    summary: 'JupyterHub fails to start notebook servers ({{ $value | humanizePercentage }} of recent spawns)',
    description: 'At least 3 spawns in 30 minutes, more than 20% of them, failed. kubectl -n jupyterhub-users get events shows why: the image cannot be pulled, no node fits the profile (GPUs, memory), a home volume cannot be bound, or the pod breaks Pod Security.',
  },
  {
    alert: 'NotebookHomeVolumeNearlyFull',
    expr: `${HOME_VOLUME_FREE} < 0.10`,
    for: '15m',
    severity: 'warning',
    summary: 'Home volume {{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free',
    description: 'A person\'s notebook home is almost full; their notebooks will fail to save. They can free space (data belongs in the datasets bucket), or the claim can grow where its StorageClass allows expansion (kubectl -n jupyterhub-users edit pvc).',
  },
];

/** TensorBoard (libs/tensorboard): no metrics of its own; its Deployment and its sync sidecar's restarts tell. */
const tensorboard: AlertRule[] = [
  {
    alert: 'TensorBoardDown',
    expr: noReadyReplica(TENSORBOARD.namespace, TENSORBOARD.deployment),
    for: '10m',
    severity: 'warning',
    summary: 'TensorBoard has no ready pod',
    description: 'People cannot see training curves; training itself is not affected. The pod is ready once its sidecar has copied the bucket once: kubectl -n tensorboard logs deploy/tensorboard -c sync shows why it has not (MinIO, the minio-user-tensorboard key), -c tensorboard the rest.',
  },
  {
    alert: 'TensorBoardSyncFailing',
    expr: `${syncRestarts('1h')} >= 2`,
    for: '0m',
    severity: 'warning',
    summary: 'TensorBoard\'s copy of the training logs is stale',
    description: 'The sync sidecar was restarted {{ $value | humanize }} times in an hour: no copy from s3://tensorboard succeeded for 10 minutes each time, so TensorBoard shows old curves. kubectl -n tensorboard logs deploy/tensorboard -c sync --previous (JSON lines) names the error: MinIO down, the minio-user-tensorboard key rotated in MinIO but not in the Secret, or the bucket outgrowing cacheSize.',
  },
];

/** Every alerting rule group of the platform. */
export const PLATFORM_RULE_GROUPS: RuleGroup[] = [
  { name: 'kubernetes', rules: kubernetes },
  { name: 'monitoring', rules: monitoring },
  { name: 'postgres', rules: postgres },
  { name: 'backups', rules: BACKUP_ALERTS },
  { name: 'minio', rules: minio },
  { name: 'mlflow', rules: httpServiceAlerts(MLFLOW_HTTP, { errorShare: 0.05, p95Seconds: 3 }) },
  { name: 'sign-in', rules: signIn },
  { name: 'jupyterhub', rules: jupyterhub },
  { name: 'tensorboard', rules: tensorboard },
  { name: 'airflow', rules: AIRFLOW_ALERTS },
  { name: 'redis', rules: REDIS_ALERTS },
  { name: 'superset', rules: SUPERSET_ALERTS },
  { name: 'dash', rules: DASH_ALERTS },
  { name: 'logging', rules: LOGGING_ALERTS },
  ...MODEL_RULE_GROUPS,
];
