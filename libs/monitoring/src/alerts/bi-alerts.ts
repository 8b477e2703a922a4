// Superset's and the Dash apps' alerts. Superset (libs/superset): from kube-state-metrics (is a web server and a worker
// ready), redis_exporter (the Celery queue's length) and Superset's StatsD metrics as the
// platform's mapping names them (SUPERSET_METRICS). Redis's own memory alert covers the caches.
import { CELERY_QUEUE_KEY, SUPERSET_METRICS as M } from '@ml-platform/core';
import { BI, noReadyReplica } from '../queries';
import { AlertRule } from './rule';

const queue = `redis_key_size{key="${CELERY_QUEUE_KEY}"}`;

export const SUPERSET_ALERTS: AlertRule[] = [
  {
    alert: 'SupersetWebDown',
    expr: noReadyReplica(BI.superset, 'superset-web'),
    for: '5m',
    severity: 'critical',
    summary: 'Superset has no ready web server',
    description: 'Nobody can open dashboards or SQL Lab. kubectl -n superset logs deploy/superset-web; it waits for the metadata database schema first (init container wait-for-schema: has the superset-init Job run?), then needs PostgreSQL and Redis.',
  },
  {
    alert: 'SupersetWorkersDown',
    expr: noReadyReplica(BI.superset, 'superset-worker'),
    for: '10m',
    severity: 'warning',
    summary: 'Superset has no ready Celery worker',
    description: "SQL Lab's queries wait in the queue and never run; dashboards still load from the web server. kubectl -n superset logs deploy/superset-worker: Redis (the broker), PostgreSQL, or memory (a large query result).",
  },
  {
    alert: 'SupersetQueueBacklog',
    expr: `max by (namespace) (${queue}) > 20\nand\nmax by (namespace) (deriv(${queue}[15m])) > 0`,
    for: '15m',
    severity: 'warning',
    summary: '{{ $value }} Superset tasks wait in the Celery queue, and more every minute',
    description: "Workers are not keeping up: raise components.superset.worker.replicas or concurrency, or look for a long query holding them (SQL Lab's query history, or the analytics database's pg_stat_activity as analytics_reader).",
  },
  {
    alert: 'SupersetApiErrors',
    expr: `sum by (namespace) (rate(${M.API_CALLS}{outcome="error"}[10m]))\n/ sum by (namespace) (rate(${M.API_CALLS}[10m])) > 0.05`,
    for: '10m',
    severity: 'warning',
    summary: '{{ $value | humanizePercentage }} of Superset API calls fail in {{ $labels.namespace }}',
    description: "People see errors on charts and dashboards. The web server's log names the endpoint and the exception; a data source error (the analytics database down or a dropped table) shows on the charts that use it.",
  },
];

// Dash apps (libs/dash): every app serves dash_http_requests_total{route, status} (the contract in
// docs/dash.md); kube-state-metrics says whether a pod is ready, which an app is not while it
// cannot read its data (/readyz).
export const DASH_ALERTS: AlertRule[] = [
  {
    alert: 'DashAppDown',
    expr: `kube_deployment_status_replicas_available{namespace="${BI.dash}"} == 0`,
    for: '5m',
    severity: 'warning',
    summary: 'Dash app {{ $labels.deployment }} has no ready pod',
    description: 'People get an error page. kubectl -n dash describe deploy/{{ $labels.deployment }}: a pod that starts but is not ready cannot read its database (GET /readyz answers 503; the analytics database or its analytics_reader password); one that does not start, see its log.',
  },
  {
    alert: 'DashAppErrors',
    expr: `sum by (namespace, job) (rate(dash_http_requests_total{status=~"5.."}[10m]))\n/ sum by (namespace, job) (rate(dash_http_requests_total[10m])) > 0.05`,
    for: '10m',
    severity: 'warning',
    summary: '{{ $value | humanizePercentage }} of the requests to Dash app {{ $labels.job }} fail',
    description: "A callback raises: the app's log (JSON lines) has the traceback. A query on a table the pipeline changed is the usual cause; the fix goes to the app's repository, whose tests call its callbacks.",
  },
];
