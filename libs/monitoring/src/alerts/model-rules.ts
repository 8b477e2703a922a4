// Model drift, the same rules for every model service: recording rules turn the model-monitoring
// counters (core MODEL_METRICS) into windowed means, variances and shares per service and feature;
// alerts compare them with each service's baseline. The baselines and thresholds are data, rendered
// per model as recording rules of their own (`modelBaselineRules`), so these rules and their
// promtool tests never change with a model.
import { DriftThresholds, MODEL_METRICS, MODEL_SERVICE_PREFIX, WatchedModel } from '@ml-platform/core';
import { SIGN_IN_PROXIES } from '../queries';
import { httpServiceAlerts, AlertRule, RecordingRule, RuleGroup } from './rule';

/** The window drift is measured over. */
export const DRIFT_WINDOW = '1h';
/** Fewer values than this in the window say nothing about drift. */
export const DRIFT_MIN_VALUES = 100;

/** Names of the recorded series; dashboards read them too. */
export const MODEL_SERIES = {
  values: `model:feature_values:increase${DRIFT_WINDOW}`,
  mean: `model:feature_mean:${DRIFT_WINDOW}`,
  variance: `model:feature_variance:${DRIFT_WINDOW}`,
  missingShare: `model:feature_missing_share:${DRIFT_WINDOW}`,
  predictions: `model:predictions:increase${DRIFT_WINDOW}`,
  positiveShare: `model:positive_share:${DRIFT_WINDOW}`,
  baselineMean: 'model:baseline_feature_mean',
  baselineStd: 'model:baseline_feature_std',
  baselineShare: 'model:baseline_positive_share',
  /** 1 for the positive class of a service (label `class`). */
  positiveClass: 'model:baseline_positive_class',
  threshold: (name: keyof DriftThresholds) => `model:drift_threshold_${name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`,
} as const;

const BY_FEATURE = 'namespace, job, feature';
const BY_SERVICE = 'namespace, job';
const increase = (metric: string, by = BY_FEATURE) => `sum by (${by}) (increase(${metric}[${DRIFT_WINDOW}]))`;
/**
 * A service's threshold (or its inverse) as the right-hand side of a comparison with per-feature
 * series. The empty `group_left ()` keeps a parenthesised operand from being read as a label list.
 */
const threshold = (name: keyof DriftThresholds, inverse = false) =>
  `on (${BY_SERVICE}) group_left () ${inverse ? `(1 / ${MODEL_SERIES.threshold(name)})` : MODEL_SERIES.threshold(name)}`;
/** Only where the window holds enough values to judge. */
const enough = `and on (${BY_FEATURE}) ${MODEL_SERIES.values} >= ${DRIFT_MIN_VALUES}`;

const recording: RecordingRule[] = [
  { record: MODEL_SERIES.values, expr: increase(MODEL_METRICS.values) },
  { record: MODEL_SERIES.mean, expr: `(${increase(MODEL_METRICS.sumPositive)} - ${increase(MODEL_METRICS.sumNegative)})\n/ ${MODEL_SERIES.values}` },
  // E[x²] - E[x]², never below 0 (rounding).
  { record: MODEL_SERIES.variance, expr: `clamp_min(${increase(MODEL_METRICS.sumSquares)} / ${MODEL_SERIES.values} - ${MODEL_SERIES.mean} ^ 2, 0)` },
  { record: MODEL_SERIES.missingShare, expr: `${increase(MODEL_METRICS.missing)}\n/ (${increase(MODEL_METRICS.missing)} + ${MODEL_SERIES.values})` },
  { record: MODEL_SERIES.predictions, expr: increase(MODEL_METRICS.predictions, `${BY_SERVICE}, class`) },
  {
    record: MODEL_SERIES.positiveShare,
    expr: `sum by (${BY_SERVICE}) (${MODEL_SERIES.predictions} * on (${BY_SERVICE}, class) ${MODEL_SERIES.positiveClass})\n/ sum by (${BY_SERVICE}) (${MODEL_SERIES.predictions})`,
  },
];

const alerts: AlertRule[] = [
  {
    alert: 'ModelFeatureMeanShift',
    expr: `abs(${MODEL_SERIES.mean} - on (${BY_FEATURE}) ${MODEL_SERIES.baselineMean}) / on (${BY_FEATURE}) ${MODEL_SERIES.baselineStd}\n> ${threshold('meanShiftSigma')}\n${enough}`,
    for: '30m',
    severity: 'warning',
    summary: '{{ $labels.job }}: the mean of {{ $labels.feature }} moved {{ $value | printf "%.1f" }} baseline standard deviations',
    description: 'Over the last hour the mean of feature {{ $labels.feature }} sent to {{ $labels.namespace }}/{{ $labels.job }} is far from its training mean: the inputs drifted, or an upstream change altered the feature. Compare with the baseline on the model dashboard; if the world changed, retrain (docs/serving.md).',
  },
  {
    alert: 'ModelFeatureVarianceChanged',
    expr: `(\n  ${MODEL_SERIES.variance} / on (${BY_FEATURE}) ${MODEL_SERIES.baselineStd} ^ 2 > ${threshold('varianceRatio')}\n  or\n  ${MODEL_SERIES.variance} / on (${BY_FEATURE}) ${MODEL_SERIES.baselineStd} ^ 2 < ${threshold('varianceRatio', true)}\n)\n${enough}`,
    for: '30m',
    severity: 'warning',
    summary: '{{ $labels.job }}: the variance of {{ $labels.feature }} is {{ $value | printf "%.2f" }} times its baseline',
    description: 'Over the last hour feature {{ $labels.feature }} of {{ $labels.namespace }}/{{ $labels.job }} spreads much more or much less than in training: a new population, a unit change, or a source stuck on one value. Check the feature upstream; retrain if the data really changed (docs/serving.md).',
  },
  {
    alert: 'ModelPositiveShareMoved',
    expr: `abs(${MODEL_SERIES.positiveShare} - on (${BY_SERVICE}) ${MODEL_SERIES.baselineShare})\n> ${threshold('positiveShareDelta')}\nand on (${BY_SERVICE}) sum by (${BY_SERVICE}) (${MODEL_SERIES.predictions}) >= ${DRIFT_MIN_VALUES}`,
    for: '30m',
    severity: 'warning',
    summary: '{{ $labels.job }}: the positive share moved {{ $value | humanizePercentage }} from its baseline',
    description: 'Over the last hour {{ $labels.namespace }}/{{ $labels.job }} predicts the positive class much more or less often than in training: concept or input drift. Look at the class shares and the features on the model dashboard; retrain when the shift is real (docs/serving.md).',
  },
  {
    alert: 'ModelFeatureMissingValues',
    expr: `${MODEL_SERIES.missingShare} > ${threshold('missingShare')}\nand on (${BY_FEATURE}) (${increase(MODEL_METRICS.missing)} + ${MODEL_SERIES.values}) >= ${DRIFT_MIN_VALUES}`,
    for: '15m',
    severity: 'warning',
    summary: '{{ $labels.job }}: {{ $value | humanizePercentage }} of the values of {{ $labels.feature }} are missing',
    description: 'Callers of {{ $labels.namespace }}/{{ $labels.job }} send requests without feature {{ $labels.feature }}: those requests are refused (400) or predicted without it. Find the caller (the service logs name the field) and fix what feeds it.',
  },
];

/** The drift rules and the HTTP alerts of every model service, whatever the model. */
export const MODEL_RULE_GROUPS: RuleGroup[] = [
  { name: 'model-drift', rules: [...recording, ...alerts] },
  {
    name: 'model-serving',
    rules: [
      {
        alert: 'PredictionApiDown',
        // The services' sign-in proxies share the prefix; their own alerts watch them.
        expr: `kube_deployment_status_replicas_available{deployment=~"${MODEL_SERVICE_PREFIX}.+", deployment!~"${SIGN_IN_PROXIES}"} == 0`,
        // A pod loads its model before it is ready, retrying the registry for a few minutes.
        for: '10m',
        severity: 'critical',
        summary: '{{ $labels.deployment }} has no ready pod',
        description: 'Nobody can get predictions from {{ $labels.namespace }}/{{ $labels.deployment }}. Its pods cannot load their model: the alias names no version, MLflow is unreachable, the model\'s signature does not have the features cluster.yaml lists, or the model needs a library the image lacks. kubectl -n {{ $labels.namespace }} logs deploy/{{ $labels.deployment }} (JSON lines) says which (docs/serving.md).',
      },
      ...httpServiceAlerts({ name: 'PredictionApi', prefix: MODEL_METRICS.httpPrefix }, { errorShare: 0.02, p95Seconds: 1 }),
    ],
  },
];

/** The baseline and thresholds of each watched model, as constant series the drift rules join with. */
export function modelBaselineRules(models: readonly WatchedModel[]): RuleGroup[] {
  return models.map((m) => {
    const service = { namespace: m.namespace, job: m.job };
    const constant = (record: string, value: number, labels: Record<string, string> = {}): RecordingRule => ({ record, expr: `vector(${value})`, labels: { ...service, ...labels } });
    return {
      name: `baseline-${m.namespace}-${m.job}`,
      rules: [
        ...Object.entries(m.baseline.features).flatMap(([feature, { mean, std }]) => [
          constant(MODEL_SERIES.baselineMean, mean, { feature }),
          constant(MODEL_SERIES.baselineStd, std, { feature }),
        ]),
        ...(m.baseline.positiveClass !== undefined && m.baseline.positiveShare !== undefined
          ? [constant(MODEL_SERIES.positiveClass, 1, { class: m.baseline.positiveClass }), constant(MODEL_SERIES.baselineShare, m.baseline.positiveShare)]
          : []),
        ...(Object.keys(m.thresholds) as (keyof DriftThresholds)[]).map((name) => constant(MODEL_SERIES.threshold(name), m.thresholds[name])),
      ],
    };
  });
}
