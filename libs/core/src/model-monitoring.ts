import { IConstruct } from 'constructs';
import { registryOf } from './app-registry';

/**
 * The model-monitoring contract: the metrics every model service exports (the reference service,
 * services/prediction-api, implements it in metrics.py), from which the platform's rules compute
 * exact means, variances and shares over any window and any number of pods. All are counters:
 * a sum that can fall is split into its positive and negative parts.
 */
export const MODEL_METRICS = {
  /** Requests by `method` and `status`; with the latency histogram, the HTTP service contract under prefix `prediction`. */
  httpPrefix: 'prediction',
  /** Predictions by `class` (a classifier's labels). */
  predictions: 'prediction_predictions_total',
  /** Per `feature`: how many values, their sum (positive and negative parts) and their sum of squares. */
  values: 'prediction_feature_values_total',
  sumPositive: 'prediction_feature_value_sum_positive_total',
  sumNegative: 'prediction_feature_value_sum_negative_total',
  sumSquares: 'prediction_feature_value_sum_squares_total',
  /** Per `feature`: values that were absent or null. */
  missing: 'prediction_feature_missing_total',
  /** The model `version` served under `alias` (value 1). */
  info: 'prediction_model_info',
} as const;

/** Model services are named `predict-<name>` (Deployment, Service, Prometheus job), so rules can find them all. */
export const MODEL_SERVICE_PREFIX = 'predict-';

/** What a model's inputs and outputs looked like in training: the reference drift is measured against. */
export interface ModelBaseline {
  /** Per feature the training mean and standard deviation (> 0). */
  readonly features: Readonly<Record<string, { readonly mean: number; readonly std: number }>>;
  /** A classifier's positive class and its share of the training labels. */
  readonly positiveClass?: string;
  readonly positiveShare?: number;
}

/** How far from the baseline a model may wander before someone is told. */
export interface DriftThresholds {
  /** A feature's windowed mean this many baseline standard deviations away. */
  readonly meanShiftSigma: number;
  /** A feature's windowed variance this many times the baseline's, or this many times less. */
  readonly varianceRatio: number;
  /** The positive share this far (absolute) from the baseline's. */
  readonly positiveShareDelta: number;
  /** This share of a feature's values missing. */
  readonly missingShare: number;
}

/** A model service whose drift the platform watches. */
export interface WatchedModel {
  /** The service's `job` label (its pods' app.kubernetes.io/name) and namespace: what Prometheus knows it by. */
  readonly job: string;
  readonly namespace: string;
  /** The registered model and the alias it serves, for people. */
  readonly model: string;
  readonly alias: string;
  readonly baseline: ModelBaseline;
  readonly thresholds: DriftThresholds;
}

const REGISTRIES = new WeakMap<IConstruct, ModelMonitoring>();

/**
 * The models a cluster serves with a drift baseline, one registry per app: model services declare
 * themselves; the monitoring stack turns each into baseline rules and a dashboard. Create the
 * model services before the monitoring stack reads the registry.
 */
export class ModelMonitoring {
  public static of(scope: IConstruct): ModelMonitoring {
    return registryOf(REGISTRIES, scope, () => new ModelMonitoring());
  }

  private readonly declared = new Map<string, WatchedModel>();

  private constructor() {
    // One per app: ModelMonitoring.of(scope).
  }

  /** Every model declared so far, by namespace and job. */
  public get models(): readonly WatchedModel[] {
    return [...this.declared.values()].sort((a, b) => (`${a.namespace}/${a.job}` < `${b.namespace}/${b.job}` ? -1 : 1));
  }

  /** Declares a watched model; throws on a second one with the same job in a namespace, or on a baseline the rules cannot use. */
  public declare(model: WatchedModel): void {
    const key = `${model.namespace}/${model.job}`;
    if (this.declared.has(key)) throw new Error(`model service ${key} is declared twice`);
    for (const [feature, { std }] of Object.entries(model.baseline.features)) {
      if (!(std > 0)) throw new Error(`model service ${key}: the baseline standard deviation of ${feature} must be above 0 (a shift is measured in it), got ${std}`);
    }
    if ((model.baseline.positiveClass === undefined) !== (model.baseline.positiveShare === undefined)) {
      throw new Error(`model service ${key}: a baseline names both positiveClass and positiveShare, or neither`);
    }
    this.declared.set(key, model);
  }
}
