// Model services as the clusters declare them: rendered with their drift rules, scaled and
// reachable as cluster.yaml says, and refused, naming file and key, when declared wrong.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { loadClusterConfig, renderInMemory } from '@ml-platform/core';
import { platformRenderSpec } from './platform';
import { configErrorsAfter } from './testing';

const root = join(__dirname, '../../..');
const render = (cluster: string) => {
  const spec = platformRenderSpec(cluster);
  return renderInMemory(spec, loadClusterConfig(spec, join(root, 'clusters', cluster, 'cluster.yaml'), `clusters/${cluster}/cluster.yaml`)).objects;
};
const rendered = { dev: render('dev'), stage: render('stage'), prod: render('prod') };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const find = (cluster: keyof typeof rendered, kind: string, name: string): any => rendered[cluster].find((o) => o.kind === kind && o.name === name)?.manifest;

describe('the churn reference service', () => {
  test('dev: one pod loading models:/churn@champion from MLflow, watched against its baseline', () => {
    const deployment = find('dev', 'Deployment', 'predict-churn');
    expect(deployment.metadata.namespace).toBe('serving');
    expect(deployment.spec.replicas).toBe(1);
    expect(find('dev', 'HorizontalPodAutoscaler', 'predict-churn')).toBeUndefined();
    expect(find('dev', 'PodDisruptionBudget', 'predict-churn')).toBeUndefined();
    const env = Object.fromEntries(deployment.spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env).toMatchObject({
      // MLflow serves HTTPS from the internal CA; the MLflow client verifies it with this file.
      MLFLOW_TRACKING_URI: 'https://mlflow.mlflow.svc.cluster.local:5000',
      MLFLOW_TRACKING_SERVER_CERT_PATH: '/etc/platform/internal-ca/ca.crt',
      MODEL_NAME: 'churn',
      MODEL_ALIAS: 'champion',
      MODEL_FEATURES: '["tenure_months","monthly_charges","support_calls","age"]',
      PROMETHEUS_MULTIPROC_DIR: '/run/prometheus',
    });
    const prometheus = find('dev', 'ConfigMap', 'prometheus-config').data;
    expect(parse(prometheus['prometheus.yml']).rule_files).toContain('/etc/prometheus/model-baselines.yml');
    const rules = parse(prometheus['model-baselines.yml']).groups[0].rules;
    expect(rules).toContainEqual({ record: 'model:baseline_feature_mean', expr: 'vector(70.05093)', labels: { namespace: 'serving', job: 'predict-churn', feature: 'monthly_charges' } });
    expect(rules).toContainEqual({ record: 'model:baseline_positive_share', expr: 'vector(0.1995)', labels: { namespace: 'serving', job: 'predict-churn' } });
    expect(Object.keys(find('dev', 'ConfigMap', 'grafana-dashboards').data)).toContain('model-serving-predict-churn.json');
  });

  test('dev registers the reference model once with a Job; stage and prod expect it registered', () => {
    const jobs = (cluster: keyof typeof rendered) => rendered[cluster].filter((o) => o.kind === 'Job' && o.namespace === 'serving');
    const [job] = jobs('dev');
    expect(job.manifest.spec.template.spec.containers[0].command).toEqual(['python', '-m', 'prediction_api.reference_model', '--if-absent', '--name', 'churn', '--alias', 'champion']);
    expect(find('dev', 'NetworkPolicy', 'allow-predict-churn-register-to-mlflow-5000').spec.egress[0].ports).toEqual([{ port: 5000, protocol: 'TCP' }]);
    expect(jobs('stage')).toEqual([]);
    expect(jobs('prod')).toEqual([]);
  });

  test('stage and prod: autoscaled between their bounds, with a disruption budget', () => {
    for (const [cluster, max] of [['stage', 4], ['prod', 8]] as const) {
      expect(find(cluster, 'Deployment', 'predict-churn').spec.replicas, cluster).toBeUndefined();
      expect(find(cluster, 'HorizontalPodAutoscaler', 'predict-churn').spec, cluster).toMatchObject({ minReplicas: 2, maxReplicas: max, scaleTargetRef: { kind: 'Deployment', name: 'predict-churn' } });
      expect(find(cluster, 'PodDisruptionBudget', 'predict-churn').spec.maxUnavailable, cluster).toBe(1);
    }
  });

  test('reaches MLflow and nothing else; is reached by notebooks, its sign-in proxy and Prometheus', () => {
    const policies = rendered.dev.filter((o) => o.kind === 'NetworkPolicy' && o.namespace === 'serving' && o.manifest.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === 'predict-churn');
    expect(policies.map((o) => o.name).sort()).toEqual([
      'allow-predict-churn-from-notebook.jupyterhub-users-8080',
      'allow-predict-churn-from-predict-churn-oauth2-proxy-8080',
      'allow-predict-churn-from-prometheus.monitoring-8080',
      'allow-predict-churn-to-mlflow-5000',
    ]);
    // The notebooks' side of the flow: their namespace denies egress by default.
    expect(find('dev', 'NetworkPolicy', 'allow-notebook-to-predict-churn-8080').spec.egress[0].ports).toEqual([{ port: 8080, protocol: 'TCP' }]);
    // People: a host behind GitLab sign-in, for the groups access.predict-churn names.
    const ingress = find('dev', 'Ingress', 'predict-churn');
    expect(ingress.spec.rules[0].host).toBe('predict-churn.ml.dev.example.internal');
    expect(ingress.metadata.annotations['ml-platform.io/users']).toBe('ml/data-scientists,ml/engineers');
  });
});

describe('model services in cluster.yaml', () => {
  const errorsAfter = configErrorsAfter('serving');

  test('drift alerts without a baseline are refused, saying where the baseline comes from', () => {
    expect(errorsAfter('dev', (raw) => delete raw.components.serving.models[0].drift.baseline)).toBe(
      'clusters/dev/cluster.yaml: invalid cluster configuration\n  - components.serving.models.0.drift.baseline: expected the training baseline while drift.enabled is true: `python -m prediction_api.baseline models:/churn@champion` prints it (or set drift.enabled: false), found nothing (the key is missing)',
    );
  });

  test('a baseline feature the model does not take is refused', () => {
    expect(errorsAfter('stage', (raw) => (raw.components.serving.models[0].drift.baseline.features.income = { mean: 5e4, std: 1e4 }))).toContain(
      "components.serving.models.0.drift.baseline.features.income: expected one of the service's features (tenure_months, monthly_charges, support_calls, age): the model has no feature income",
    );
  });

  test('an autoscaling minimum above the maximum is refused', () => {
    expect(errorsAfter('prod', (raw) => (raw.components.serving.models[0].replicas = { min: 9, max: 8 }))).toContain('components.serving.models.0.replicas.min: expected at most replicas.max (8), found 9');
  });

  test('two services with one name, a share without its class, and a UI without its groups are refused', () => {
    const message = errorsAfter('dev', (raw) => {
      const [churn] = raw.components.serving.models;
      delete churn.drift.baseline.positiveClass;
      raw.components.serving.models.push({ ...churn, drift: { enabled: false } });
      delete raw.access['predict-churn'];
    });
    expect(message).toContain('components.serving.models.0.drift.baseline.positiveClass: expected positiveClass and positiveShare together: the share is of that class');
    expect(message).toContain('components.serving.models.1.name: expected a name of its own: churn is used by an earlier model service');
    expect(message).toContain('access.predict-churn: expected the GitLab groups that may use predict-churn');
  });

  test('services without MLflow, or open to notebooks without JupyterHub, are refused', () => {
    expect(
      errorsAfter('dev', (raw) => {
        raw.components.jupyterhub.enabled = false;
        raw.components.tensorboard.enabled = false;
      }),
    ).toContain('components.serving.models.0.consumers.notebooks: expected false while components.jupyterhub is not enabled (there are no notebook servers)');
    expect(errorsAfter('dev', (raw) => (raw.components.mlflow.enabled = false))).toContain(
      'components.serving.enabled: expected false while components.mlflow.enabled is false (model services load their models from its registry)',
    );
  });
});
