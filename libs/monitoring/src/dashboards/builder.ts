/**
 * A small typed builder for Grafana dashboard JSON (schemaVersion 39): panels are laid out
 * left to right in rows of 24 columns, every query goes to the provisioned Prometheus.
 */

/** The uid of the provisioned Prometheus datasource; dashboards refer to nothing else. */
export const PROMETHEUS_DATASOURCE_UID = 'prometheus';
const DATASOURCE = { type: 'prometheus', uid: PROMETHEUS_DATASOURCE_UID } as const;

/** One PromQL query of a panel. */
export interface Query {
  readonly expr: string;
  /** @default - Grafana's default series name */
  readonly legend?: string;
}

/** Units Grafana knows, the ones these dashboards use. */
export type Unit = 'short' | 'percentunit' | 'bytes' | 's' | 'reqps' | 'ops' | 'none';

/** A panel before layout. */
export interface PanelSpec {
  readonly title: string;
  readonly description?: string;
  readonly type: 'timeseries' | 'stat';
  readonly queries: Query[];
  /** @default 'short' */
  readonly unit?: Unit;
  /** Columns out of 24. @default 12 (timeseries), 6 (stat) */
  readonly width?: number;
  /** Value at which a stat turns red. @default - no threshold */
  readonly redAt?: number;
}

/** A time series panel. */
export function timeseries(title: string, queries: Query[], options: Partial<Omit<PanelSpec, 'title' | 'queries' | 'type'>> = {}): PanelSpec {
  return { title, queries, type: 'timeseries', ...options };
}

/** A single-value panel. */
export function stat(title: string, query: Query, options: Partial<Omit<PanelSpec, 'title' | 'queries' | 'type'>> = {}): PanelSpec {
  return { title, queries: [query], type: 'stat', ...options };
}

/** A dashboard variable filled from a Prometheus query. */
export interface Variable {
  readonly name: string;
  readonly label: string;
  /** `label_values(metric, label)` or `metrics(regex)`. */
  readonly query: string;
  /** Extracts the value from each result. @default - the result as is */
  readonly regex?: string;
}

/** Properties of a dashboard. */
export interface DashboardSpec {
  /** Stable id; links and provisioning refer to it. */
  readonly uid: string;
  readonly title: string;
  readonly tags: string[];
  readonly description: string;
  /** @default - none */
  readonly variables?: Variable[];
  readonly panels: PanelSpec[];
}

const HEIGHT = { timeseries: 8, stat: 4 } as const;

/** The dashboard JSON Grafana provisions. */
export function dashboard(spec: DashboardSpec): object {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const panels = spec.panels.map((p, i) => {
    const w = p.width ?? (p.type === 'stat' ? 6 : 12);
    const h = HEIGHT[p.type];
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const gridPos = { x, y, w, h };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    const thresholds = {
      mode: 'absolute',
      steps: [{ color: 'green', value: null }, ...(p.redAt !== undefined ? [{ color: 'red', value: p.redAt }] : [])],
    };
    return {
      id: i + 1,
      type: p.type,
      title: p.title,
      description: p.description,
      datasource: DATASOURCE,
      gridPos,
      fieldConfig: { defaults: { unit: p.unit ?? 'short', thresholds }, overrides: [] },
      options: p.type === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', graphMode: 'none' } : { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi', sort: 'desc' } },
      targets: p.queries.map((q, j) => ({ refId: String.fromCharCode(65 + j), datasource: DATASOURCE, expr: q.expr, legendFormat: q.legend, range: true })),
    };
  });
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: spec.tags,
    editable: false,
    schemaVersion: 39,
    version: 1,
    timezone: 'browser',
    refresh: '1m',
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: (spec.variables ?? []).map((v) => ({
        name: v.name,
        label: v.label,
        type: 'query',
        datasource: DATASOURCE,
        definition: v.query,
        query: { query: v.query, refId: `${v.name}-query` },
        regex: v.regex ?? '',
        refresh: 2,
        sort: 1,
        includeAll: false,
        multi: false,
      })),
    },
    panels,
  };
}
