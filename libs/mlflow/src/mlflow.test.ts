import { Testing } from 'cdk8s';
import { expect, test } from 'vitest';
import { containerImage, ImageCatalog, Layer, PlatformChart, PlatformContext, PlatformDeployment, PlatformService, SecretKeyRef } from '@ml-platform/core';
import { MlflowChart, MlflowChartProps } from './mlflow';

const context = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog() });

/** Stand-ins for the producers: any chart can hand out the handles. */
function handles(app = Testing.app()): Pick<MlflowChartProps, 'database' | 'artifacts'> & { app: ReturnType<typeof Testing.app> } {
  const data = new PlatformChart(app, 'data', { context, layer: Layer.DATA });
  const probe = { tcpSocket: { port: { value: 1 } as never } };
  const server = new PlatformDeployment(data, 'Db', {
    identity: { name: 'db', instance: 'data', component: 'database', version: '1' },
    pod: { user: 1, group: 1, containers: [{ name: 'db', image: context.images.image(containerImage('db', { registry: 'docker.io', repository: 'library/postgres', tag: '18.3-trixie', note: 'stand-in' })), resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } }, livenessProbe: probe, readinessProbe: probe }] },
  });
  const endpoint = new PlatformService(data, 'Svc', { name: 'db', pods: server.pods, ports: [{ name: 'sql', port: 5432 }, { name: 's3', port: 9000 }] });
  return {
    app,
    database: { endpoint: endpoint.endpoint('sql'), database: 'tracking', user: 'tracker', password: SecretKeyRef.of('db-tracker', 'password', 'pw') },
    artifacts: {
      endpoint: endpoint.endpoint('s3'),
      bucket: 'runs',
      region: 'us-east-1',
      pathStyle: true,
      accessKeyId: SecretKeyRef.of('s3-tracker', 'accessKey', 'ak'),
      secretAccessKey: SecretKeyRef.of('s3-tracker', 'secretKey', 'sk'),
    },
  };
}

test('takes any PostgreSQL database and S3 bucket through typed handles', () => {
  const { app, ...wiring } = handles();
  const chart = new MlflowChart(app, 'mlflow', { context, ...wiring });
  const container = Testing.synth(chart).find((o) => o.kind === 'Deployment').spec.template.spec.containers[0];
  expect(container.args).toContain('--artifacts-destination=s3://runs/');
  expect(container.env).toEqual(expect.arrayContaining([{ name: 'PGDATABASE', value: 'tracking' }, { name: 'MLFLOW_S3_ENDPOINT_URL', value: 'http://db.data.svc.cluster.local:9000' }]));
  expect(chart.endpoint.url()).toBe('http://mlflow.mlflow.svc.cluster.local:5000');
});

test('allows its Service names, the external host, localhost and private addresses (pod IPs, as Prometheus scrapes them), nothing else', () => {
  const { app, ...wiring } = handles();
  const chart = new MlflowChart(app, 'mlflow', { context, ...wiring, externalHost: 'tracking.example.internal' });
  expect(chart.allowedHosts).toEqual([
    'mlflow', 'mlflow:5000', 'mlflow.mlflow', 'mlflow.mlflow:5000', 'mlflow.mlflow.svc', 'mlflow.mlflow.svc:5000',
    'mlflow.mlflow.svc.cluster.local', 'mlflow.mlflow.svc.cluster.local:5000', 'tracking.example.internal', 'localhost', 'localhost:5000',
    '10.*', '192.168.*', ...Array.from({ length: 16 }, (_, i) => `172.${16 + i}.*`),
  ]);
  expect(chart.allowedHosts).not.toContain('*');
});

test('a PodDisruptionBudget only when replicated', () => {
  const single = handles();
  const one = Testing.synth(new MlflowChart(single.app, 'mlflow', { context, database: single.database, artifacts: single.artifacts }));
  expect(one.some((o) => o.kind === 'PodDisruptionBudget')).toBe(false);
  const pair = handles();
  const two = Testing.synth(new MlflowChart(pair.app, 'mlflow', { context, database: pair.database, artifacts: pair.artifacts, replicas: 2 }));
  expect(two.find((o) => o.kind === 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
});

test('with the internal CA, MLflow serves HTTPS, is scraped by address under its headless Service, and hands clients a TLS tracking server', () => {
  const tlsContext = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog(), internalCa: 'platform-ca' });
  const { app, ...stores } = handles();
  const mlflow = new MlflowChart(app, 'mlflow', { context: tlsContext, ...stores });
  const objects = Testing.synth(mlflow);
  const deployment = objects.find((o) => o.kind === 'Deployment');
  const pod = deployment.spec.template.spec;
  expect(pod.shareProcessNamespace).toBe(true);
  expect(pod.containers[0].readinessProbe.httpGet.scheme).toBe('HTTPS');
  expect(pod.containers[1].command[2]).toContain('*"-m uvicorn"*) kill -HUP');
  expect(deployment.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scheme': 'https', 'ml-platform.io/scrape-tls-subdomain': 'mlflow-headless', 'ml-platform.io/scrape-tls-name': 'address' });
  expect(objects.find((o) => o.kind === 'Service' && o.metadata.name === 'mlflow-headless').spec.clusterIP).toBe('None');
  expect(objects.find((o) => o.kind === 'Certificate' && o.metadata.name === 'mlflow-tls').spec.dnsNames).toContain('*.mlflow-headless.mlflow.svc.cluster.local');
  // Prometheus sends the by-address name as Host; no pod IP needs allowing any more.
  expect(mlflow.allowedHosts).toContain('*.mlflow-headless.mlflow.svc:5000');
  expect(mlflow.allowedHosts).not.toContain('10.*');
  expect(mlflow.tracking.tls).toBe(true);
  expect(mlflow.webUi.tls).toBe(true);
});
