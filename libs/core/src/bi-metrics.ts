/**
 * The Prometheus names of Superset's metrics, as the platform's StatsD mapping makes them
 * (libs/superset) and the alerts and dashboard read them (libs/monitoring). images/superset/tests
 * sends Superset's own StatsD lines through the rendered mapping and checks these names come out.
 */
export const SUPERSET_METRICS = {
  /** Counter, labels api, endpoint, outcome (success, warning = 4xx, error = 5xx or exception). */
  API_CALLS: 'superset_api_calls_total',
  /** Histogram in seconds, labels api, endpoint. */
  API_DURATION: 'superset_api_duration_seconds',
  /** Histogram in seconds, label phase (time_pending, time_executing_query, results_backend_write, ...). */
  SQLLAB_QUERY: 'superset_sqllab_query_seconds',
} as const;

/**
 * The Redis list Celery queues Superset's tasks in (Celery's default queue); redis_exporter
 * reports its length as `redis_key_size{key="celery"}`.
 */
export const CELERY_QUEUE_KEY = 'celery';
