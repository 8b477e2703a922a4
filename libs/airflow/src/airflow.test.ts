import { Testing } from 'cdk8s';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import { ImageCatalog, Layer, PlatformChart, PlatformContext, PodSelection, SecretKeyRef, ServiceEndpoint } from '@ml-platform/core';
import { AirflowChart, AirflowChartProps } from './airflow';
import { AIRFLOW_IMAGE } from './images';
import { AIRFLOW_CALLBACK, AIRFLOW_CFG, WEBSERVER_CONFIG } from './settings';
import { SPARK_SUBMIT_TEMPLATE_FILE, TASK_TEMPLATE_FILE } from './tasks';

const contextOf = (extra: Partial<ConstructorParameters<typeof PlatformContext>[0]> = {}) =>
  new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog(), apiServer: { cidrs: ['10.0.0.1/32'], port: 6443 }, ...extra });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function airflowOf(extra: Partial<AirflowChartProps> = {}, context = contextOf()) {
  const app = Testing.app();
  const endpoint = (ns: string, name: string, port: number) => {
    const chart = (app.node.tryFindChild(ns) as PlatformChart | undefined) ?? new PlatformChart(app, ns, { context, layer: Layer.DATA });
    return new ServiceEndpoint(name, `${name}.${ns}.svc.cluster.local`, port, port, new PodSelection(chart, ns, { name, instance: ns, component: 'server', version: '1' }));
  };
  const bucket = (name: string, consumer = 'airflow') => ({
    endpoint: endpoint('minio', 'minio', 9000),
    bucket: name,
    region: 'us-east-1',
    pathStyle: true,
    accessKeyId: SecretKeyRef.of(`minio-user-${consumer}`, 'accessKey', 'key'),
    secretAccessKey: SecretKeyRef.of(`minio-user-${consumer}`, 'secretKey', 'secret'),
  });
  const airflow = new AirflowChart(app, 'airflow', {
    context,
    database: { endpoint: endpoint('postgres', 'postgres', 5432), database: 'airflow', user: 'airflow', password: SecretKeyRef.of('postgres-role-airflow', 'password', 'password') },
    logs: bucket('airflow-logs'),
    datasets: bucket('datasets'),
    mlflow: { endpoint: endpoint('mlflow', 'mlflow', 5000) },
    dags: { url: 'https://gitlab.t.internal/ml/pipelines.git', branch: 'main', subPath: 'pipelines/dags', credentialsSecret: 'dags-token', syncIntervalSeconds: 60, cidrs: ['10.0.0.5/32'] },
    signIn: { gitlabUrl: 'https://gitlab.t.internal', gitlabCidrs: ['10.0.0.5/32'], clientId: 'a'.repeat(64), clientSecret: SecretKeyRef.of('sso-gitlab', 'client-secret', 'GitLab application secret'), users: ['ml/ds'], admins: ['ml/platform'] },
    externalHost: 'airflow.ml.t.internal',
    ...extra,
  });
  const objects: Json[] = [airflow, airflow.tasks].flatMap((c) => Testing.synth(c));
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const config = find('ConfigMap', 'airflow-config').data;
  return { airflow, objects, find, config, template: parse(config[TASK_TEMPLATE_FILE]) };
}

const envOf = (container: Json) => Object.fromEntries((container.env ?? []).map((e: Json) => [e.name, e.value ?? e.valueFrom]));
const image = `${AIRFLOW_IMAGE.registry}/${AIRFLOW_IMAGE.repository}:${AIRFLOW_IMAGE.tag}`;

test('runs the api-server, execution API, scheduler, dag-processor and triggerer from the image, each after the migrations', () => {
  const { find } = airflowOf();
  for (const [name, args] of [
    ['airflow-api-server', ['airflow', 'api-server', '--port', '8080', '--apps', 'core']],
    ['airflow-execution-api', ['airflow', 'api-server', '--apps', 'execution', '--port', '8443']],
    ['airflow-scheduler', ['airflow', 'scheduler']],
    ['airflow-dag-processor', ['airflow', 'dag-processor']],
    ['airflow-triggerer', ['airflow', 'triggerer']],
  ] as const) {
    const pod = find('Deployment', name).spec.template.spec;
    expect(pod.containers[0]).toMatchObject({ image, args });
    expect(pod.securityContext).toMatchObject({ runAsUser: 50000, runAsNonRoot: true });
    expect(pod.initContainers.map((c: Json) => c.args)).toEqual([['airflow', 'db', 'check-migrations', '--migration-wait-timeout=600']]);
    // The database from libpq's environment, the password by reference.
    expect(envOf(pod.containers[0]).PGPASSWORD).toEqual({ secretKeyRef: { name: 'postgres-role-airflow', key: 'password' } });
  }
  const migrate = Object.values(airflowOf().objects).find((o: Json) => o.kind === 'Job');
  expect(migrate.metadata.name).toMatch(/^airflow-migrate-[0-9a-f]{10}$/);
  expect(migrate.spec.template.spec.containers[0].args).toEqual(['airflow', 'db', 'migrate']);
});

test('with the internal CA, the execution API serves HTTPS that task pods verify, and renews through gunicorn worker refreshes', () => {
  const { find, config, objects } = airflowOf({}, contextOf({ internalCa: 'platform-ca' }));
  const pod = find('Deployment', 'airflow-execution-api').spec.template.spec;
  const [container] = pod.containers;
  expect(container.args).toEqual(['airflow', 'api-server', '--apps', 'execution', '--port', '8443', '--ssl-cert', '/opt/airflow/tls/tls.crt', '--ssl-key', '/opt/airflow/tls/tls.key']);
  expect(envOf(container)).toMatchObject({ AIRFLOW__API__SERVER_TYPE: 'gunicorn', AIRFLOW__API__WORKER_REFRESH_INTERVAL: '86400' });
  expect(container.readinessProbe.httpGet).toMatchObject({ path: '/execution/health', scheme: 'HTTPS' });
  expect(objects.find((o) => o.kind === 'Certificate' && o.metadata.name === 'airflow-execution-api-tls').spec.dnsNames).toContain('airflow-execution-api.airflow.svc.cluster.local');
  const cfg: string = config[AIRFLOW_CFG];
  expect(cfg).toContain('execution_api_server_url = https://airflow-execution-api.airflow.svc.cluster.local:8443/execution/');
  expect(cfg).toContain('ssl_ca_file = /etc/platform/internal-ca/ca.crt');
  expect(cfg).toContain('client_use_public_certs = False');
  // Task pods mount the CA the Task SDK reads, and may reach the execution API, not the UI's api-server.
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name);
  expect(policies).toContain('allow-airflow-execution-api-from-airflow-task.airflow-tasks-8443');
  expect(policies.filter((n: string) => n.startsWith('allow-airflow-api-server-from-airflow-task'))).toEqual([]);
});

test('where the gateway verifies backends, the UI api-server serves HTTPS like the execution API', () => {
  const { find, objects } = airflowOf({}, contextOf({ internalCa: 'platform-ca', uiTls: true }));
  const [container] = find('Deployment', 'airflow-api-server').spec.template.spec.containers;
  expect(container.args).toEqual(['airflow', 'api-server', '--port', '8080', '--apps', 'core', '--ssl-cert', '/opt/airflow/tls/tls.crt', '--ssl-key', '/opt/airflow/tls/tls.key']);
  expect(envOf(container)).toMatchObject({ AIRFLOW__API__SERVER_TYPE: 'gunicorn', AIRFLOW__API__WORKER_REFRESH_INTERVAL: '86400' });
  expect(container.livenessProbe.httpGet).toMatchObject({ path: '/api/v2/monitor/health', scheme: 'HTTPS' });
  expect(find('Service', 'airflow-api-server').spec.ports[0].name).toBe('https');
  expect(objects.find((o) => o.kind === 'Certificate' && o.metadata.name === 'airflow-api-server-tls').spec.dnsNames).toContain('airflow-api-server.airflow.svc.cluster.local');
  // Without uiTls (dev behind an Ingress) it stays on HTTP.
  expect(airflowOf({}, contextOf({ internalCa: 'platform-ca' })).find('Deployment', 'airflow-api-server').spec.template.spec.containers[0].args).not.toContain('--ssl-cert');
});

test('airflow.cfg holds no secret; Airflow reads its keys from the mounted Secret with _CMD, the same on every component', () => {
  const { config, find } = airflowOf();
  expect(config[AIRFLOW_CFG]).not.toMatch(/fernet_key|secret_key|jwt_secret|password/);
  const api = find('Deployment', 'airflow-api-server').spec.template.spec;
  const env = envOf(api.containers[0]);
  expect(env.AIRFLOW__CORE__FERNET_KEY_CMD).toBe('cat /run/secrets/airflow/fernet-key');
  expect(env.AIRFLOW__API__SECRET_KEY_CMD).toBe('cat /run/secrets/airflow/api-secret-key');
  expect(env.AIRFLOW__API_AUTH__JWT_SECRET_CMD).toBe('cat /run/secrets/airflow/jwt-secret');
  expect(JSON.stringify(api.containers[0].env)).not.toContain('airflow-secrets');
  expect(api.volumes).toContainEqual({ name: 'secret-airflow-secrets', secret: { secretName: 'airflow-secrets', items: ['fernet-key', 'api-secret-key', 'jwt-secret'].map((k) => ({ key: k, path: k })), defaultMode: 0o440 } });
  // The scheduler signs task tokens with the key the api-server checks them with; only the api-server gets the session key.
  const scheduler = envOf(find('Deployment', 'airflow-scheduler').spec.template.spec.containers[0]);
  expect(scheduler.AIRFLOW__API_AUTH__JWT_SECRET_CMD).toBe(env.AIRFLOW__API_AUTH__JWT_SECRET_CMD);
  expect(scheduler.AIRFLOW__API__SECRET_KEY_CMD).toBeUndefined();
  expect(config[AIRFLOW_CFG]).toContain('execution_api_server_url = http://airflow-execution-api.airflow.svc.cluster.local:8443/execution/');
  // The execution API checks task tokens with the same key, and needs no other.
  const execution = envOf(find('Deployment', 'airflow-execution-api').spec.template.spec.containers[0]);
  expect(execution.AIRFLOW__API_AUTH__JWT_SECRET_CMD).toBe(env.AIRFLOW__API_AUTH__JWT_SECRET_CMD);
  expect(execution.AIRFLOW__API__SECRET_KEY_CMD).toBeUndefined();
  expect(config[AIRFLOW_CFG]).toContain('remote_base_log_folder = s3://airflow-logs/');
});

test('people sign in with GitLab: users groups get User, admins Admin, at every sign-in', () => {
  const { airflow, config } = airflowOf();
  const file: string = config[WEBSERVER_CONFIG];
  expect(file).toContain('AUTH_TYPE = AUTH_OAUTH');
  expect(file).toContain('"client_secret": os.environ["OAUTH_CLIENT_SECRET"]');
  expect(file).toMatch(/"ml\/ds": \[\s*"User",\s*\]/);
  expect(file).toMatch(/"ml\/platform": \[\s*"Admin",\s*\]/);
  expect(file).toContain('AUTH_ROLES_SYNC_AT_LOGIN = True');
  expect(airflow.webUi.callbackPath).toBe(AIRFLOW_CALLBACK);
});

test('task pods: the executor container first, restricted, with the DAGs cloned once and no database credentials', () => {
  const { template } = airflowOf();
  expect(template.metadata.namespace).toBe('airflow-tasks');
  const [base] = template.spec.containers;
  expect(base.name).toBe('base');
  expect(base.image).toBe(image);
  expect(base.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  expect(template.spec.initContainers.map((c: Json) => [c.name, envOf(c).GITSYNC_ONE_TIME])).toEqual([['git-sync-init', 'true']]);
  // The deploy token is a file git-sync reads before every fetch, never a variable.
  const [gitSync] = template.spec.initContainers;
  expect(envOf(gitSync).GITSYNC_PASSWORD_FILE).toMatch(/^\/run\/secrets\/[a-z0-9-]+\/password$/);
  expect(envOf(gitSync).GITSYNC_PASSWORD).toBeUndefined();
  expect(gitSync.volumeMounts.map((m: Json) => m.mountPath)).toContain(envOf(gitSync).GITSYNC_PASSWORD_FILE.replace(/\/password$/, ''));
  const env = envOf(base);
  expect(Object.keys(env).filter((k) => k.startsWith('PG') || k.includes('FERNET') || k.includes('JWT'))).toEqual([]);
  expect(env.MLFLOW_TRACKING_URI).toBe('http://mlflow.mlflow.svc.cluster.local:5000');
  expect(JSON.parse(env.AIRFLOW_CONN_MINIO_LOGS)).toMatchObject({ conn_type: 'aws', extra: { endpoint_url: 'http://minio.minio.svc.cluster.local:9000' } });
  // No Spark: no token.
  expect(template.spec.automountServiceAccountToken).toBe(false);
});

test('with Spark, task pods get a token, the submitter template and the variables the pod operator reads', () => {
  const { objects, template } = airflowOf({ spark: { namespace: 'spark', image: new ImageCatalog().image(AIRFLOW_IMAGE), podTemplate: 'apiVersion: v1\nkind: Pod\n' } });
  expect(template.spec.automountServiceAccountToken).toBe(true);
  const env = envOf(template.spec.containers[0]);
  expect(env.AIRFLOW_VAR_SPARK_NAMESPACE).toBe('spark');
  expect(env.AIRFLOW_VAR_SPARK_SUBMIT_POD_TEMPLATE).toBe(`/opt/airflow/pod_templates/${SPARK_SUBMIT_TEMPLATE_FILE}`);
  const taskConfig = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'airflow-task-config');
  expect(Object.keys(taskConfig.data).sort()).toEqual([AIRFLOW_CFG, SPARK_SUBMIT_TEMPLATE_FILE]);
  expect(objects.some((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'allow-airflow-task-to-kube-apiserver-6443')).toBe(true);
});

test('the scheduler may manage task pods in their namespace only; the api-server only read their logs', () => {
  const { find } = airflowOf();
  const executor = find('Role', 'airflow-executor');
  expect(executor.metadata.namespace).toBe('airflow-tasks');
  expect(find('RoleBinding', 'airflow-executor').subjects).toEqual([{ kind: 'ServiceAccount', name: 'airflow-scheduler', namespace: 'airflow' }]);
  expect(executor.rules[0].verbs).not.toContain('*');
  expect(find('Role', 'airflow-log-reader').rules).toContainEqual({ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] });
});

test('replicated api-servers, schedulers and triggerers get disruption budgets; the dag-processor stays one', () => {
  const { objects } = airflowOf({ apiServer: { replicas: 2 }, scheduler: { replicas: 2 }, triggerer: { replicas: 2 } });
  expect(objects.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.metadata.name).sort()).toEqual(['airflow-api-server', 'airflow-scheduler', 'airflow-triggerer']);
  expect(objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'airflow-dag-processor').spec.strategy.type).toBe('Recreate');
});

test('refuses the Vault backend: the executor creates task pods from a template', () => {
  const vault = contextOf();
  vault.deliverSecretsWithVault({ kvMount: 'secret', pathPrefix: 'x', allowAgents: () => undefined });
  expect(() => airflowOf({}, vault)).toThrowError(/cannot receive secrets from Vault yet/);
});
