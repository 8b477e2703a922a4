/**
 * The Prometheus names of Airflow's metrics, as the platform's StatsD mapping makes them
 * (libs/airflow) and the alerts and dashboard read them (libs/monitoring): one list, so the two
 * sides cannot drift apart. pipelines/tests sends Airflow's own StatsD lines through the rendered
 * mapping and checks these names come out.
 */
export const AIRFLOW_METRICS = {
  SCHEDULER_HEARTBEAT: 'airflow_scheduler_heartbeat',
  DAG_PROCESSOR_HEARTBEAT: 'airflow_dag_processor_heartbeat',
  TRIGGERER_HEARTBEAT: 'airflow_triggerer_heartbeat',
  /** Gauge: DAG files that failed to import at the last parse. */
  IMPORT_ERRORS: 'airflow_dag_processing_import_errors',
  /** Counter per dag_id, task_id and state (success, failed, ...). */
  TASK_FINISHED: 'airflow_ti_finish',
  /** Gauges per executor. */
  EXECUTOR_QUEUED: 'airflow_executor_queued_tasks',
  EXECUTOR_RUNNING: 'airflow_executor_running_tasks',
  EXECUTOR_OPEN_SLOTS: 'airflow_executor_open_slots',
  /** Gauge per pool. */
  POOL_QUEUED: 'airflow_pool_queued_slots',
  /** Histogram of the milliseconds Airflow sends (statsd_exporter keeps them as seconds), per dag_id and state. */
  DAG_RUN_DURATION: 'airflow_dagrun_duration',
  DAG_FILE_PARSED_SECONDS_AGO: 'airflow_dag_processing_last_run_seconds_ago',
} as const;
