// statsd_exporter's mapping of Superset 6.1's StatsD metrics (StatsdStatsLogger, prefix
// "superset"). The REST API counts every call as <Api>.<endpoint>.<success|warning|error> and
// times it as <Api>.<endpoint>.time (superset/views/base_api.py); SQL Lab times the phases of a
// query as sqllab.query.<phase>. Those become labelled metrics; the rest (event-log actions,
// cache hits, beat's tasks) keep their names with dots as underscores.
import { stringify } from 'yaml';
import { SUPERSET_METRICS } from '@ml-platform/core';

/** The prefix the config gives StatsdStatsLogger. */
export const SUPERSET_STATSD_PREFIX = 'superset';

/** The Prometheus names the alerts and the dashboard read (core, shared with libs/monitoring). */
export const SupersetMetrics = SUPERSET_METRICS;

const p = (metric: string) => `${SUPERSET_STATSD_PREFIX}.${metric}`;

// SQL Lab's three-part names first: they would otherwise match the API patterns.
const MAPPINGS = [
  { match: p('sqllab.query.*'), match_metric_type: 'observer', name: SupersetMetrics.SQLLAB_QUERY, labels: { phase: '$1' } },
  { match: p('sqllab.results_backend.*'), match_metric_type: 'counter', name: 'superset_sqllab_results_backend_total', labels: { outcome: '$1' } },
  { match: p('*.*.time'), match_metric_type: 'observer', name: SupersetMetrics.API_DURATION, labels: { api: '$1', endpoint: '$2' } },
  { match: p('*.*.*'), match_metric_type: 'counter', name: SupersetMetrics.API_CALLS, labels: { api: '$1', endpoint: '$2', outcome: '$3' } },
];

/** The mapping file statsd_exporter reads (--statsd.mapping-config). */
export function supersetStatsdMapping(): string {
  return stringify({ defaults: { match_type: 'glob', observer_type: 'histogram', ttl: '0s' }, mappings: MAPPINGS }, { lineWidth: 0 });
}
