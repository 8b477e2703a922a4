// Superset and the Dash apps. Superset (libs/superset): are the web server and the workers up, what waits in the queue, how
// the API and SQL Lab's queries do, and the pods.
import { CELERY_QUEUE_KEY, SUPERSET_METRICS as M } from '@ml-platform/core';
import { BI } from '../queries';
import { dashboard, stat, timeseries } from './builder';
import { podResources } from './panels';

const W = '$__rate_interval';
const ready = (deployment: string) => `max(kube_deployment_status_replicas_available{namespace="${BI.superset}", deployment="${deployment}"}) or vector(0)`;

export const SUPERSET_DASHBOARD = dashboard({
  uid: 'superset',
  title: 'Superset',
  tags: ['platform', 'bi'],
  description: "Superset (docs/superset.md): ready web servers and Celery workers, the Celery queue, API calls and their latency, SQL Lab's query phases, and the pods.",
  panels: [
    stat('Web servers ready', { expr: ready('superset-web') }),
    stat('Workers ready', { expr: ready('superset-worker') }),
    stat('Tasks queued', { expr: `max(redis_key_size{key="${CELERY_QUEUE_KEY}"}) or vector(0)` }, { redAt: 20 }),
    stat('API errors (1h)', { expr: `sum(increase(${M.API_CALLS}{outcome="error"}[1h])) or vector(0)` }, { redAt: 1 }),
    timeseries('API calls per second by outcome', [{ expr: `sum by (outcome) (rate(${M.API_CALLS}[${W}]))`, legend: '{{outcome}}' }], { unit: 'reqps' }),
    timeseries('API latency p95 by API', [{ expr: `histogram_quantile(0.95, sum by (api, le) (rate(${M.API_DURATION}_bucket[${W}])))`, legend: '{{api}}' }], { unit: 's' }),
    timeseries('SQL Lab query phases p95', [{ expr: `histogram_quantile(0.95, sum by (phase, le) (rate(${M.SQLLAB_QUERY}_bucket[${W}])))`, legend: '{{phase}}' }], { unit: 's' }),
    timeseries('Celery queue length', [{ expr: `max(redis_key_size{key="${CELERY_QUEUE_KEY}"})`, legend: 'queued' }]),
    ...podResources(BI.superset),
  ],
});

// The Dash apps (libs/dash): ready pods, requests by app and status, latency, and the pods.
export const DASH_DASHBOARD = dashboard({
  uid: 'dash-apps',
  title: 'Dash apps',
  tags: ['platform', 'bi'],
  description: 'The Dash apps (docs/dash.md): ready pods, requests per app and status, callback latency, and the pods.',
  panels: [
    stat('Apps with no ready pod', { expr: `count(kube_deployment_status_replicas_available{namespace="${BI.dash}"} == 0) or vector(0)` }, { redAt: 1 }),
    stat('Failed requests (1h)', { expr: `sum(increase(dash_http_requests_total{status=~"5.."}[1h])) or vector(0)` }, { redAt: 1 }),
    timeseries('Requests per second by app and status', [{ expr: `sum by (job, status) (rate(dash_http_requests_total[${W}]))`, legend: '{{job}} {{status}}' }], { unit: 'reqps' }),
    timeseries('Callback latency p95 by app', [{ expr: `histogram_quantile(0.95, sum by (job, le) (rate(dash_http_request_duration_seconds_bucket{route="/_dash-update-component"}[${W}])))`, legend: '{{job}}' }], { unit: 's' }),
    ...podResources(BI.dash),
  ],
});
