// Airflow's alerts, from its StatsD metrics as the platform's mapping names them (AIRFLOW_METRICS).
// Spark jobs are batch: their failures fail the Airflow task that submitted them, and the jobs
// namespace's quota has the generic ResourceQuotaNearlyFull; the history server has no metrics
// of its own, so kube-state-metrics watches it.
import { AIRFLOW_METRICS as M } from '@ml-platform/core';
import { noReadyReplica, PIPELINES } from '../queries';
import { AlertRule } from './rule';

const failed = `${M.TASK_FINISHED}{state="failed"}`;

export const AIRFLOW_ALERTS: AlertRule[] = [
  {
    alert: 'AirflowSchedulerHeartbeatMissing',
    // The exporter keeps the counter; a scheduler that stops beating leaves it flat.
    expr: `sum by (namespace) (rate(${M.SCHEDULER_HEARTBEAT}[5m])) == 0`,
    for: '5m',
    severity: 'critical',
    summary: 'No Airflow scheduler in {{ $labels.namespace }} has sent a heartbeat for 10 minutes',
    description:
      'Nothing is scheduled: no DAG run starts and queued tasks stay queued. kubectl -n airflow get pods -l app.kubernetes.io/name=airflow-scheduler; its log (JSON lines) says why: the database (PostgreSQL), the API server (task pods), or a crash loop.',
  },
  {
    alert: 'AirflowDagProcessorHeartbeatMissing',
    expr: `sum by (namespace) (rate(${M.DAG_PROCESSOR_HEARTBEAT}[5m])) == 0`,
    for: '10m',
    severity: 'warning',
    summary: 'The Airflow dag-processor in {{ $labels.namespace }} has not sent a heartbeat for 15 minutes',
    description: 'DAG changes merged to the repository do not reach Airflow; runs of known DAGs go on. kubectl -n airflow logs deploy/airflow-dag-processor -c dag-processor, and -c git-sync for the repository.',
  },
  {
    alert: 'AirflowDagImportErrors',
    expr: `max by (namespace) (${M.IMPORT_ERRORS}) > 0`,
    for: '5m',
    severity: 'warning',
    summary: '{{ $value }} DAG file(s) in {{ $labels.namespace }} do not import',
    description: 'Those DAGs are not scheduled (the others are). The Airflow UI lists the files and their tracebacks under DAG import errors; the fix goes through a merge request to the DAG repository, whose tests (pipelines/tests) import every DAG.',
  },
  {
    alert: 'AirflowTaskFailed',
    // A task that failed for the first time creates its series at 1: increase() cannot see
    // that, so a series that did not exist 15 minutes ago counts too.
    expr: `sum by (namespace, dag_id, task_id) (increase(${failed}[15m])) > 0\nor\nsum by (namespace, dag_id, task_id) (${failed} unless ${failed} offset 15m)`,
    for: '0m',
    severity: 'warning',
    summary: 'Task {{ $labels.dag_id }}.{{ $labels.task_id }} failed after its retries',
    description: 'The task ran out of retries; its DAG run failed. Its log is in the Airflow UI (kept on s3://airflow-logs). A Spark task\'s log shows the driver\'s state; the job itself is in the Spark history server.',
  },
  {
    alert: 'AirflowTaskQueueGrowing',
    expr: `sum by (namespace) (${M.EXECUTOR_QUEUED}) > 0\nand\nsum by (namespace) (deriv(${M.EXECUTOR_QUEUED}[15m])) > 0`,
    for: '15m',
    severity: 'warning',
    summary: '{{ $value }} Airflow tasks wait in {{ $labels.namespace }}, and more every minute',
    description:
      'Task pods are not starting as fast as tasks are queued: parallelism (components.airflow.tasks.parallelism) is reached, or pods stay Pending (kubectl -n airflow-tasks get pods: no room on the nodes, a quota, an image pull). The scheduler log says which.',
  },
  {
    alert: 'AirflowApiServerDown',
    expr: noReadyReplica(PIPELINES.airflow, 'airflow-api-server'),
    for: '5m',
    severity: 'critical',
    summary: 'The Airflow api-server has no ready pod',
    description: 'People cannot reach the UI or the REST API; tasks keep running. kubectl -n airflow logs deploy/airflow-api-server; it waits for the database migrations first (init container wait-for-migrations).',
  },
  {
    alert: 'AirflowExecutionApiDown',
    expr: noReadyReplica(PIPELINES.airflow, 'airflow-execution-api'),
    for: '5m',
    severity: 'critical',
    summary: 'The Airflow execution API has no ready pod',
    description: 'Running tasks cannot report their state, so they fail, and new ones cannot start. kubectl -n airflow logs deploy/airflow-execution-api: it waits for the database migrations first; with TLS, check its certificate (kubectl -n airflow get certificate airflow-execution-api-tls).',
  },
];
