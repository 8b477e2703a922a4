import { z } from 'zod';
import { dnsLabel, imageReference, MODEL_SERVICE_PREFIX, podScaling, resources } from '@ml-platform/core';

/** A feature's name: a column of the model's signature, a Prometheus label value and a JSON key. */
const featureName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected a column name of letters, digits and _ (not starting with a digit)' });

const baselineSchema = z
  .strictObject({
    features: z
      .record(featureName, z.strictObject({ mean: z.number(), std: z.number().positive({ error: 'expected a standard deviation above 0 (shifts are measured in it)' }) }))
      .describe('Per feature, the mean and standard deviation of the training data.'),
    positiveClass: z.string().min(1).optional().describe("A classifier's positive class, as the service reports it (its string form: \"1\", \"true\", \"churn\")."),
    positiveShare: z.number().min(0).max(1).optional().describe('The share of the positive class in the training labels.'),
  })
  .describe('What the inputs and outputs looked like in training: `python -m prediction_api.baseline models:/<name>@<alias>` prints this block from the run (docs/serving.md).');

const thresholdsSchema = z
  .strictObject({
    meanShiftSigma: z.number().positive().default(3).describe("Alert when a feature's 1h mean is this many baseline standard deviations from the training mean."),
    varianceRatio: z.number().gt(1).default(2).describe("Alert when a feature's 1h variance is this many times the baseline's, or this many times less."),
    positiveShareDelta: z.number().gt(0).lt(1).default(0.1).describe('Alert when the 1h positive share is this far (absolute) from the baseline.'),
    missingShare: z.number().gt(0).lt(1).default(0.05).describe("Alert when this share of a feature's values is missing."),
  })
  .describe('How far a model may drift before someone is told.');

const externalConsumer = z.strictObject({
  namespace: dnsLabel.describe("The client pods' namespace."),
  podLabels: z.record(z.string(), z.string()).refine((l) => Object.keys(l).length > 0, { error: 'expected at least one label: an empty selector would let every pod of the namespace in' }).describe('Labels that select the client pods.'),
});

/** The columns of the reference model (services/prediction-api, reference_model.py FEATURES). */
export const REFERENCE_MODEL_FEATURES = ['tenure_months', 'monthly_charges', 'support_calls', 'age'] as const;

/** One model service in cluster.yaml. */
export const modelServiceSchema = z
  .strictObject({
    name: dnsLabel.max(40).describe('The service: Deployment, Service and Prometheus job predict-<name>, host predict-<name>.<baseDomain>, UI key predict-<name> under access.'),
    model: z
      .strictObject({
        name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { error: 'expected a registered model name of letters, digits, _ . and -' }).describe('The registered model in MLflow.'),
        alias: z.string().regex(/^[A-Za-z0-9_-]+$/, { error: 'expected an alias of letters, digits, _ and -' }).describe('The alias naming the version to serve (models:/<name>@<alias>); moving it in MLflow and restarting the pods ships a new version.'),
      })
      .describe('What to serve, from the MLflow registry.'),
    features: z
      .array(featureName)
      .min(1)
      .refine((f) => new Set(f).size === f.length, { error: 'expected each feature once' })
      .describe("The model's input columns; the service refuses to start when the model's signature names others."),
    image: imageReference
      .optional()
      .describe("Another image implementing the service's contract (docs/serving.md), e.g. one with the model's own libraries; default the reference service built from services/prediction-api."),
    workers: z.int().min(1).max(16).default(2).describe('gunicorn workers per pod; each serves one request at a time.'),
    replicas: podScaling,
    resources: resources.optional().describe('Each pod; default 250m/512Mi requested, 2 CPU/2Gi limit. Memory holds the model once (the workers share it).'),
    maxRows: z.int().min(1).max(100_000).default(1000).describe('Rows one request may carry; more are refused with 413.'),
    consumers: z
      .strictObject({
        notebooks: z.boolean().default(false).describe("JupyterHub's notebook servers may call the service."),
        pods: z.array(externalConsumer).default([]).describe('Workloads outside the platform that may call the service.'),
      })
      .prefault({})
      .describe('Machine clients, in the cluster only: NetworkPolicies let these pods in and no one else. People use the host, behind GitLab sign-in.'),
    registerReferenceModel: z
      .boolean()
      .default(false)
      .describe("Train and register the platform's reference churn model as model.name@model.alias when nothing is registered there yet (a Job; for a dev cluster's first start). The features must be the reference model's."),
    drift: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Watch the inputs and predictions against the baseline (alerts and dashboard).'),
        baseline: baselineSchema.optional(),
        thresholds: thresholdsSchema.prefault({}),
      })
      .prefault({})
      .describe('Model monitoring: drift alerts and a dashboard from the training baseline.'),
  })
  .superRefine((service, ctx) => {
    if (service.registerReferenceModel && service.features.join() !== REFERENCE_MODEL_FEATURES.join()) {
      ctx.addIssue({ code: 'custom', path: ['features'], message: `expected the reference model's features (${REFERENCE_MODEL_FEATURES.join(', ')}) while registerReferenceModel is true` });
    }
    const { enabled, baseline } = service.drift;
    if (enabled && !baseline) {
      ctx.addIssue({
        code: 'custom',
        path: ['drift', 'baseline'],
        message: `expected the training baseline while drift.enabled is true: \`python -m prediction_api.baseline models:/${service.model.name}@${service.model.alias}\` prints it (or set drift.enabled: false)`,
      });
    }
    if (!baseline) return;
    for (const feature of Object.keys(baseline.features).filter((f) => !service.features.includes(f))) {
      ctx.addIssue({ code: 'custom', path: ['drift', 'baseline', 'features', feature], message: `expected one of the service's features (${service.features.join(', ')}): the model has no feature ${feature}` });
    }
    if ((baseline.positiveClass === undefined) !== (baseline.positiveShare === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['drift', 'baseline', baseline.positiveClass === undefined ? 'positiveClass' : 'positiveShare'], message: 'expected positiveClass and positiveShare together: the share is of that class' });
    }
  });

/** The `components.serving` section of cluster.yaml. */
export const servingConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe('Render the model services (needs mlflow: they load their models from its registry).'),
    models: z.array(modelServiceSchema).default([]).describe('One prediction service per model.'),
  })
  .superRefine((serving, ctx) => {
    const seen = new Set<string>();
    serving.models.forEach((m, i) => {
      if (seen.has(m.name)) ctx.addIssue({ code: 'custom', path: ['models', i, 'name'], message: `expected a name of its own: ${m.name} is used by an earlier model service` });
      seen.add(m.name);
    });
  })
  .describe('Prediction services: models from the MLflow registry behind an HTTP API, watched for drift.');

export type ServingConfig = z.output<typeof servingConfigSchema>;
export type ModelServiceConfig = z.output<typeof modelServiceSchema>;

/** The UI key, host prefix, workload name and Prometheus job of a model service. */
export function serviceName(name: string): string {
  return `${MODEL_SERVICE_PREFIX}${name}`;
}
