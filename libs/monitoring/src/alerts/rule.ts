import { httpQueries, HttpServiceMetrics } from '../queries';

/** How urgently someone must act. */
export type Severity = 'warning' | 'critical';

/** One alerting rule. */
export interface AlertRule {
  /** CamelCase name, e.g. `PostgresDown`. */
  readonly alert: string;
  /** PromQL; every series it returns is a firing alert. */
  readonly expr: string;
  /** How long the condition must hold, e.g. `5m`. */
  readonly for: string;
  readonly severity: Severity;
  /** One line, with `{{ $labels.x }}` templates. */
  readonly summary: string;
  /** What it means and what to look at first. */
  readonly description: string;
}

/** One recording rule: a query evaluated ahead, under its own name. */
export interface RecordingRule {
  /** `level:metric:operations`, e.g. `model:feature_mean:1h`. */
  readonly record: string;
  readonly expr: string;
  /**
   * Labels added to every series the rule records.
   *
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A named group of rules, evaluated together. */
export interface RuleGroup {
  readonly name: string;
  readonly rules: (AlertRule | RecordingRule)[];
}

/** The Prometheus rule-file document for `groups`. */
export function ruleFile(groups: RuleGroup[]): object {
  return {
    groups: groups.map((g) => ({
      name: g.name,
      rules: g.rules.map((r) =>
        'record' in r
          ? { record: r.record, expr: r.expr, ...(r.labels ? { labels: { ...r.labels } } : {}) }
          : {
              alert: r.alert,
              expr: r.expr,
              for: r.for,
              labels: { severity: r.severity },
              annotations: { summary: r.summary, description: r.description },
            },
      ),
    })),
  };
}

/** Error and latency alerts every HTTP service gets. */
export function httpServiceAlerts(m: HttpServiceMetrics, thresholds: { readonly errorShare: number; readonly p95Seconds: number }): AlertRule[] {
  const q = httpQueries(m, '5m');
  // Below one request every 30 s a single failure is not a trend.
  const busy = `${q.requestRate} > 1/30`;
  return [
    {
      alert: `${m.name}HighErrorRate`,
      expr: `(\n${q.errorShare}\n) > ${thresholds.errorShare}\nand on (namespace, job)\n${busy}`,
      for: '10m',
      severity: 'warning',
      summary: `${m.name} answers {{ $value | humanizePercentage }} of requests with a server error`,
      description: `More than ${thresholds.errorShare * 100}% of requests to ${m.name} in {{ $labels.namespace }} end in 5xx for 10 minutes. Check the pods' logs and their dependencies (database, object storage).`,
    },
    {
      alert: `${m.name}HighLatency`,
      expr: `${q.latency(0.95)} > ${thresholds.p95Seconds}\nand on (namespace, job)\n${busy}`,
      for: '15m',
      severity: 'warning',
      summary: `${m.name} p95 latency is {{ $value | humanizeDuration }}`,
      description: `The 95th percentile of ${m.name} request durations in {{ $labels.namespace }} is above ${thresholds.p95Seconds}s for 15 minutes. Check CPU throttling, the database and object storage latency.`,
    },
  ];
}
