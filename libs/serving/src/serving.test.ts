import { Testing } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import { ImageCatalog, Layer, ModelMonitoring, PlatformChart, PlatformContext, PodSelection, ServiceEndpoint } from '@ml-platform/core';
import { modelServiceSchema, servingConfigSchema } from './config';
import { ServingChart } from './serving';

const context = () =>
  new PlatformContext({ cluster: 'edge', kubernetesVersion: '1.28', baseDomain: 'ml.edge.internal', defaultStorageClass: 'standard', images: new ImageCatalog() });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;
const churn = {
  name: 'churn',
  model: { name: 'churn', alias: 'champion' },
  features: ['tenure_months', 'age'],
  drift: { baseline: { features: { age: { mean: 45, std: 12 } } } },
};

function synth(models: object[], withNotebooks = false) {
  const app = Testing.app();
  const elsewhere = new PlatformChart(app, 'mlflow', { context: context(), layer: Layer.APPS });
  const mlflowPods = new PodSelection(elsewhere, 'mlflow', { name: 'mlflow', instance: 'mlflow', component: 'tracking-server', version: '3.16.1' });
  const mlflow = new ServiceEndpoint('mlflow', 'mlflow.mlflow.svc.cluster.local', 5000, 5000, mlflowPods);
  const notebooks = withNotebooks ? new PodSelection(elsewhere, 'jupyterhub-users', { name: 'notebook', instance: 'jupyterhub', component: 'singleuser-server', version: '1' }) : undefined;
  const config = servingConfigSchema.parse({ enabled: true, models });
  const chart = new ServingChart(app, 'serving', { context: context(), models: config.models, mlflow: { endpoint: mlflow }, notebooks });
  return { app, chart, objects: Testing.synth(chart) as Obj[] };
}

describe('ServingChart', () => {
  test('a service with drift declares its baseline and default thresholds; one without is only served', () => {
    const { app } = synth([churn, { ...churn, name: 'fraud', drift: { enabled: false } }]);
    expect(ModelMonitoring.of(app).models).toEqual([
      {
        job: 'predict-churn',
        namespace: 'serving',
        model: 'churn',
        alias: 'champion',
        baseline: { features: { age: { mean: 45, std: 12 } } },
        thresholds: { meanShiftSigma: 3, varianceRatio: 2, positiveShareDelta: 0.1, missingShare: 0.05 },
      },
    ]);
  });

  test('runs a model image of its own when cluster.yaml names one, under a key of its own', () => {
    const { objects } = synth([{ ...churn, image: { registry: 'registry.example.internal', repository: 'ml/churn-xgboost', tag: '2.1.0' } }]);
    const deployment = objects.find((o) => o.kind === 'Deployment');
    expect(deployment.spec.template.spec.containers[0].image).toBe('registry.example.internal/ml/churn-xgboost:2.1.0');
  });

  test('lets the pods cluster.yaml names in, by namespace and labels, and refuses notebooks that do not exist', () => {
    const { objects } = synth([{ ...churn, consumers: { pods: [{ namespace: 'batch', podLabels: { app: 'scorer' } }] } }]);
    const policy = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'allow-predict-churn-from-batch-0-8080');
    expect(policy.spec.ingress).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'batch' } }, podSelector: { matchLabels: { app: 'scorer' } } }], ports: [{ port: 8080, protocol: 'TCP' }] },
    ]);
    expect(() => synth([{ ...churn, consumers: { notebooks: true } }])).toThrow(/model service churn lets notebooks call it, but the cluster has no notebook servers/);
  });
});

describe('the model service schema', () => {
  const issues = (service: object) => modelServiceSchema.safeParse(service).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

  test('refuses names that cannot be a label, a column or a URI', () => {
    expect(issues({ ...churn, features: ['tenure months', 'age'] })).toEqual(['features.0: expected a column name of letters, digits and _ (not starting with a digit)']);
    expect(issues({ ...churn, features: ['age', 'age'] })).toEqual(['features: expected each feature once']);
    expect(issues({ ...churn, model: { name: 'churn', alias: 'champion@2' } })).toEqual(['model.alias: expected an alias of letters, digits, _ and -']);
    expect(issues({ ...churn, image: { registry: 'r', repository: 'x', tag: 'latest' } })).toEqual(["image.tag: expected a released tag, not 'latest'"]);
  });

  test('refuses a baseline the drift rules cannot use', () => {
    expect(issues({ ...churn, drift: { baseline: { features: { age: { mean: 45, std: 0 } } } } })).toEqual(['drift.baseline.features.age.std: expected a standard deviation above 0 (shifts are measured in it)']);
    expect(issues({ ...churn, consumers: { pods: [{ namespace: 'batch', podLabels: {} }] } })).toEqual([
      'consumers.pods.0.podLabels: expected at least one label: an empty selector would let every pod of the namespace in',
    ]);
  });
});
