// statsd_exporter's mapping of Airflow 3.3's StatsD metrics (names from Airflow's
// metrics_template.yaml, seen on the wire from a running scheduler, dag-processor and
// triggerer). Plain StatsD carries no tags, so Airflow sends each per-DAG, per-task, per-pool
// and per-executor metric twice: without a name and with the names dotted in (its legacy
// names). The dotted ones become labels; their nameless twins are dropped, or the two would
// collide in one Prometheus metric with different labels. Unmapped metrics keep their name with
// dots as underscores (airflow_scheduler_heartbeat).
import { stringify } from 'yaml';
import { AIRFLOW_METRICS } from '@ml-platform/core';

/** The prefix Airflow sends ([metrics] statsd_prefix). */
export const STATSD_PREFIX = 'airflow';

interface Mapping {
  readonly match: string;
  readonly name?: string;
  readonly labels?: Record<string, string>;
  readonly action?: 'drop';
}

/** The Prometheus names the alerts and the dashboard read (core, shared with libs/monitoring). */
export const AirflowMetrics = AIRFLOW_METRICS;

const p = (metric: string) => `${STATSD_PREFIX}.${metric}`;
// statsd_exporter refuses a mapping without a name, even one that drops (seen with --check-config).
const dropped = (metric: string): Mapping => ({ match: p(metric), name: 'dropped', action: 'drop' });

// The nameless twins. They come first: statsd_exporter's glob matcher misses an exact pattern
// listed after a longer one that shares its prefix (airflow.ti.finish after
// airflow.ti.finish.*.*.*), which pipelines/tests catch by sending Airflow's own lines through it.
const NAMELESS_TWINS = [
  'ti.finish',
  'ti.start',
  'ti.running',
  'dag_processing.last_run.seconds_ago',
  'dag_processing.last_duration',
  'dagrun.dependency-check',
  'triggers.running',
  'triggerer.capacity_left',
  ...['open_slots', 'queued_slots', 'running_slots', 'deferred_slots', 'scheduled_slots', 'starving_tasks'].map((m) => `pool.${m}`),
  ...['open_slots', 'queued_tasks', 'running_tasks'].map((m) => `executor.${m}`),
];

const LABELLED: Mapping[] = [
  { match: p('ti.finish.*.*.*'), name: AirflowMetrics.TASK_FINISHED, labels: { dag_id: '$1', task_id: '$2', state: '$3' } },
  { match: p('ti.start.*.*'), name: 'airflow_ti_start', labels: { dag_id: '$1', task_id: '$2' } },
  { match: p('ti.running.*.*.*'), name: 'airflow_ti_running', labels: { queue: '$1', dag_id: '$2', task_id: '$3' } },
  { match: p('dagrun.duration.*.*'), name: AirflowMetrics.DAG_RUN_DURATION, labels: { state: '$1', dag_id: '$2' } },
  { match: p('dag.*.*.duration'), name: 'airflow_task_duration', labels: { dag_id: '$1', task_id: '$2' } },
  { match: p('dag.*.*.scheduled_duration'), name: 'airflow_task_scheduled_duration', labels: { dag_id: '$1', task_id: '$2' } },
  { match: p('dag_processing.last_run.seconds_ago.*'), name: AirflowMetrics.DAG_FILE_PARSED_SECONDS_AGO, labels: { dag_file: '$1' } },
  { match: p('dag_processing.last_duration.*.*'), name: 'airflow_dag_processing_last_duration', labels: { bundle: '$1', dag_file: '$2' } },
  { match: p('dagrun.dependency-check.*'), name: 'airflow_dagrun_dependency_check', labels: { dag_id: '$1' } },
  { match: p('pool.*.*'), name: 'airflow_pool_$1', labels: { pool: '$2' } },
  { match: p('executor.*.*'), name: 'airflow_executor_$1', labels: { executor: '$2' } },
  { match: p('triggers.running.*'), name: 'airflow_triggers_running', labels: { hostname: '$1' } },
  { match: p('triggerer.capacity_left.*'), name: 'airflow_triggerer_capacity_left', labels: { hostname: '$1' } },
];

// dagrun.duration.<state> (without the DAG) is a twin too, of a pattern one level deeper.
const MAPPINGS: Mapping[] = [...NAMELESS_TWINS.map(dropped), dropped('dagrun.duration.*'), ...LABELLED];

/** The mapping file statsd_exporter reads (--statsd.mapping-config). */
export function statsdMapping(): string {
  return stringify({ defaults: { match_type: 'glob', observer_type: 'histogram', ttl: '0s' }, mappings: MAPPINGS }, { lineWidth: 0 });
}
