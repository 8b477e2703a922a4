// A JupyterHubChart with the handles the platform would give it, for the library's tests.
import { App, Testing } from 'cdk8s';
import { ImageCatalog, Layer, PlatformChart, PlatformContext, PodSelection, SecretKeyRef, ServiceEndpoint } from '@ml-platform/core';
import { HUB_CONFIG_FILE } from './hub-config';
import { JupyterHubChart, JupyterHubChartProps, NotebookProfile } from './jupyterhub';

export const gpuNodes = { resource: 'nvidia.com/gpu', nodeSelector: { 'nvidia.com/gpu.present': 'true' }, tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' as const, effect: 'NoSchedule' as const }] };
export const contextOf = (extra: Partial<ConstructorParameters<typeof PlatformContext>[0]> = {}) =>
  new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog(), apiServer: { cidrs: ['10.0.0.1/32'], port: 6443 }, ...extra });

/** Producers the hub uses, as the platform would hand them over. */
export function handles(app: App) {
  const charts = new Map<string, PlatformChart>();
  const chart = (ns: string) => charts.get(ns) ?? charts.set(ns, new PlatformChart(app, ns, { context: contextOf(), layer: Layer.DATA })).get(ns) as PlatformChart;
  const endpoint = (ns: string, name: string, port: number) => new ServiceEndpoint(name, `${name}.${ns}.svc.cluster.local`, port, port, new PodSelection(chart(ns), ns, { name, instance: ns, component: 'server', version: '1' }));
  const s3 = (bucket: string) => ({
    endpoint: endpoint('minio', 'minio', 9000),
    bucket,
    region: 'us-east-1',
    pathStyle: true,
    accessKeyId: SecretKeyRef.of('minio-user-jupyterhub', 'accessKey', 'MinIO access key of jupyterhub, limited to its buckets'),
    secretAccessKey: SecretKeyRef.of('minio-user-jupyterhub', 'secretKey', 'MinIO secret key of jupyterhub'),
  });
  return {
    database: { endpoint: endpoint('postgres', 'postgres', 5432), database: 'jupyterhub', user: 'jupyterhub', password: SecretKeyRef.of('postgres-role-jupyterhub', 'password', 'password of PostgreSQL role jupyterhub') },
    datasets: s3('datasets'),
    trainingLogs: s3('tensorboard'),
    mlflow: { endpoint: endpoint('mlflow', 'mlflow', 5000) },
  };
}

export const small: NotebookProfile = { slug: 'small', displayName: 'Small', default: true, resources: { requests: { cpu: '500m', memory: '2Gi' }, limits: { cpu: '1', memory: '4Gi' } } };

export function hubOf(extra: Partial<JupyterHubChartProps> = {}, context = contextOf()) {
  const app = Testing.app();
  const hub = new JupyterHubChart(app, 'jupyterhub', {
    context,
    ...handles(app),
    signIn: { gitlabUrl: 'https://gitlab.t.internal', gitlabCidrs: ['10.0.0.5/32'], clientId: 'a'.repeat(64), clientSecret: SecretKeyRef.of('sso-gitlab', 'client-secret', 'GitLab application secret'), users: ['ml/ds'], admins: ['ml/platform'] },
    externalHost: 'jupyterhub.ml.t.internal',
    home: { size: '10Gi' },
    profiles: [small],
    spark: { executor: { instances: 2, cores: 1, memory: '2Gi' }, quota: { cpu: '8', memory: '32Gi', pods: 8 } },
    ...extra,
  });
  const objects = [hub, hub.notebooks, hub.spark].flatMap((c) => Testing.synth(c));
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const config: string = find('ConfigMap', 'hub-config').data[HUB_CONFIG_FILE];
  return { app, hub, objects, find, config };
}
