// Airflow and Spark: is the scheduler beating, do the DAGs import, what runs, fails and waits;
// what Spark jobs hold of their quota, and the history server's pod.
import { AIRFLOW_METRICS as M } from '@ml-platform/core';
import { PIPELINES } from '../queries';
import { dashboard, stat, timeseries } from './builder';
import { podResources } from './panels';

const W = '$__rate_interval';
const quotaUsed = (resource: string) =>
  `sum(kube_resourcequota{namespace="${PIPELINES.spark}", resource="${resource}", type="used"}) / sum(kube_resourcequota{namespace="${PIPELINES.spark}", resource="${resource}", type="hard"})`;

export const AIRFLOW_DASHBOARD = dashboard({
  uid: 'airflow',
  title: 'Airflow',
  tags: ['platform', 'pipelines'],
  description: 'Airflow (docs/airflow.md): scheduler and dag-processor heartbeats, DAG import errors, task outcomes per DAG, the executor queue, DAG run durations, and the pods.',
  panels: [
    stat('Scheduler heartbeats per minute', { expr: `sum(rate(${M.SCHEDULER_HEARTBEAT}[${W}])) * 60 or vector(0)` }),
    stat('DAG import errors', { expr: `max(${M.IMPORT_ERRORS}) or vector(0)` }, { redAt: 1 }),
    stat('Tasks queued', { expr: `sum(${M.EXECUTOR_QUEUED}) or vector(0)` }),
    stat('Tasks failed (24h)', { expr: `sum(increase(${M.TASK_FINISHED}{state="failed"}[24h])) or vector(0)` }, { redAt: 1 }),
    timeseries('Heartbeats per minute', [
      { expr: `sum(rate(${M.SCHEDULER_HEARTBEAT}[${W}])) * 60`, legend: 'scheduler' },
      { expr: `sum(rate(${M.DAG_PROCESSOR_HEARTBEAT}[${W}])) * 60`, legend: 'dag-processor' },
      { expr: `sum(rate(${M.TRIGGERER_HEARTBEAT}[${W}])) * 60`, legend: 'triggerer' },
    ]),
    timeseries('Executor: queued, running, open slots', [
      { expr: `sum(${M.EXECUTOR_QUEUED})`, legend: 'queued' },
      { expr: `sum(${M.EXECUTOR_RUNNING})`, legend: 'running' },
      { expr: `sum(${M.EXECUTOR_OPEN_SLOTS})`, legend: 'open slots' },
    ]),
    timeseries('Task outcomes by DAG (per hour)', [{ expr: `sum by (dag_id, state) (increase(${M.TASK_FINISHED}[1h]))`, legend: '{{dag_id}} {{state}}' }]),
    timeseries('DAG run duration p95', [{ expr: `histogram_quantile(0.95, sum by (dag_id, le) (rate(${M.DAG_RUN_DURATION}_bucket{state="success"}[1h])))`, legend: '{{dag_id}}' }], { unit: 's' }),
    timeseries('Seconds since each DAG file was parsed', [{ expr: M.DAG_FILE_PARSED_SECONDS_AGO, legend: '{{dag_file}}' }], { unit: 's', width: 24 }),
    ...podResources(PIPELINES.airflow),
  ],
});

export const SPARK_DASHBOARD = dashboard({
  uid: 'spark',
  title: 'Spark',
  tags: ['platform', 'pipelines'],
  description: 'Spark on Kubernetes (docs/spark.md): the jobs namespace (pods by role, quota used) and the history server. Job details are in the history server.',
  panels: [
    // Spark names a job's driver pod <app>-<id>-driver.
    stat('Drivers running', { expr: `count(kube_pod_status_phase{namespace="${PIPELINES.spark}", pod=~".+-driver", phase="Running"} == 1) or vector(0)` }),
    stat('CPU quota used', { expr: `${quotaUsed('limits.cpu')} or vector(0)` }, { unit: 'percentunit', redAt: 0.9 }),
    stat('Memory quota used', { expr: `${quotaUsed('limits.memory')} or vector(0)` }, { unit: 'percentunit', redAt: 0.9 }),
    stat('History server ready', { expr: `max(kube_deployment_status_replicas_available{namespace="${PIPELINES.sparkHistory}", deployment="spark-history"}) or vector(0)` }),
    timeseries('Pods by phase', [{ expr: `sum by (phase) (kube_pod_status_phase{namespace="${PIPELINES.spark}"} == 1)`, legend: '{{phase}}' }]),
    timeseries('Quota used', [{ expr: `sum by (resource) (kube_resourcequota{namespace="${PIPELINES.spark}", type="used"}) / sum by (resource) (kube_resourcequota{namespace="${PIPELINES.spark}", type="hard"})`, legend: '{{resource}}' }], { unit: 'percentunit' }),
    ...podResources(PIPELINES.spark),
    ...podResources(PIPELINES.sparkHistory),
  ],
});
