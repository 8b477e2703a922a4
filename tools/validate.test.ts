// Plants one defect at a time in a copy of a rendered cluster and checks that the right layer
// reports it, with the file, object and field; the unmodified copy must pass every layer.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { POD_TEMPLATE_FILE_SUFFIX, renderInMemory } from '@ml-platform/core';
import { clusterConfigSchema, platformRenderSpec } from '@ml-platform/platform';
import { formatFailure, junitReport } from './validate/report';
import { defaultTargets } from './validate/targets';
import { checkedObjects, LAYERS, validateManifests } from './validate/run';
import { missingTools, toolPaths } from './validate/tools';
import { Failure, Json, podSpecOf } from './validate/model';

const root = join(__dirname, '..');
const tools = toolPaths(root);
let scratch: string;
/** The tests' own verdict cache: shared by these tests, never the workspace's. */
let cacheDir: string;

// Each test runs the real validators over hundreds of objects, some cold: seconds alone, several
// times that while npm test runs the Python projects' tests on the same two cores. How fast the
// validation is, is the benchmark's to judge (npm run bench), not a test timeout's.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

beforeAll(() => {
  const missing = missingTools(tools, ['1.28']);
  if (missing.length) throw new Error(`run 'bash tools/install-tools.sh' first; missing: ${missing.join(', ')}`);
  scratch = mkdtempSync(join(tmpdir(), 'ml-platform-validate-test-'));
  cacheDir = join(scratch, 'cache');
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A fresh copy of the committed prod render, with `edit` applied to one file, validated by `layers`. */
async function plant(file: string, edit: (obj: Json) => Json | void, extraFiles: Record<string, string> = {}, layers?: (typeof LAYERS)[number][], configRoot?: string) {
  const dir = mkdtempSync(join(scratch, 'prod-'));
  cpSync(join(root, 'dist-manifests/prod'), dir, { recursive: true });
  if (file) {
    const path = join(dir, file);
    const obj = parse(readFileSync(path, 'utf8'));
    writeFileSync(path, stringify(edit(obj) ?? obj));
  }
  for (const [name, text] of Object.entries(extraFiles)) writeFileSync(join(dir, name), text);
  const result = await validateManifests({ root, tools, paths: [dir], cluster: 'prod', layers, cacheDir, configRoot });
  return { ...result, dir, lines: result.failures.map(formatFailure) };
}

const MLFLOW = '30-apps/mlflow/deployment-mlflow.yaml';
const HUB_CONFIG = '30-apps/jupyterhub/configmap-hub-config.yaml';
/** Pods other programs create from the pod templates in the committed prod render (Spark's drivers and executors, ...). */
const PROD_TEMPLATED = execFileSync('grep', ['-rhc', `^  [a-z-]*${POD_TEMPLATE_FILE_SUFFIX}:`, join(root, 'dist-manifests/prod')], { encoding: 'utf8' })
  .split('\n')
  .reduce((sum, n) => sum + (Number.parseInt(n, 10) || 0), 0);
/** Objects in the committed prod render, and what KubeSpawner (3 profiles: pod and home volume each) and the templates would create from it. */
const PROD_OBJECTS = JSON.parse(readFileSync(join(root, 'dist-manifests/prod/inventory.json'), 'utf8')).objectCount + 6 + PROD_TEMPLATED;
/** Distinct among them: the home volume is the same whichever profile a person picks. */
const PROD_DISTINCT = PROD_OBJECTS - 2;
const container = (o: Json) => o.spec.template.spec.containers[0];
/** Where a variable or argument pushed onto MLflow's container lands in the committed prod render. */
const MLFLOW_CONTAINER = container(parse(readFileSync(join(root, 'dist-manifests/prod', MLFLOW), 'utf8')));
const MLFLOW_NEXT_ENV = MLFLOW_CONTAINER.env.length;
const MLFLOW_NEXT_ARG = MLFLOW_CONTAINER.args.length;
const DASHBOARDS = '10-platform/monitoring/configmap-grafana-dashboards.yaml';
const PROMETHEUS = '10-platform/monitoring/configmap-prometheus-config.yaml';
const ALERTMANAGER = '10-platform/monitoring/configmap-alertmanager-config.yaml';
/** Edits one dashboard JSON (or one text file) inside a ConfigMap's data. */
const inDashboard = (file: string, edit: (d: Json) => void) => (o: Json) => {
  const d = JSON.parse(o.data[file]);
  edit(d);
  o.data[file] = JSON.stringify(d);
};
const replaceIn = (key: string, from: string, to: string) => (o: Json) => {
  expect(o.data[key]).toContain(from);
  o.data[key] = o.data[key].replace(from, to);
};

test('the unmodified render passes every layer', async () => {
  const { failures, docs } = await plant('', () => undefined);
  expect(failures).toEqual([]);
  expect(docs.length).toBe(PROD_OBJECTS);
});

describe('each planted defect is caught by the right layer', () => {
  // `in` names the file blamed when it is not the edited one.
  const cases: [string, string, (o: Json) => Json | void, { layer: string; rule: string; field: string; in?: string }[]][] = [
    ['unknown field', MLFLOW, (o) => void (o.spec.replica = 3), [
      { layer: 'schema', rule: 'schema/unknown-field', field: 'spec.replica' },
      { layer: 'api-schema', rule: 'api-schema/unknown-field', field: 'spec.replica' },
    ]],
    ['wrong type', MLFLOW, (o) => void (o.spec.replicas = 'two'), [
      { layer: 'schema', rule: 'schema/invalid', field: 'spec.replicas' },
    ]],
    ['privileged container', MLFLOW, (o) => void (container(o).securityContext.privileged = true), [
      { layer: 'policy', rule: 'pod-security/privileged', field: 'spec.template.spec.containers[0].securityContext.privileged' },
    ]],
    ['missing resources', MLFLOW, (o) => void delete container(o).resources, [
      { layer: 'policy', rule: 'hardening/resources', field: 'spec.template.spec.containers[0].resources.requests.cpu' },
      { layer: 'policy', rule: 'hardening/resources', field: 'spec.template.spec.containers[0].resources.limits.memory' },
    ]],
    ['dangling Secret reference', MLFLOW, (o) => void (container(o).env.find((e: Json) => e.name === 'PGPASSWORD').valueFrom.secretKeyRef.name = 'postgres-role-mlfow'), [
      { layer: 'references', rule: 'references/secret', field: 'spec.template.spec.containers[0].env[4].valueFrom.secretKeyRef.name' },
    ]],
    ['Service port that no pod exposes', '20-data/minio/service-minio-console.yaml', (o) => void (o.spec.ports[0].targetPort = 9002), [
      { layer: 'references', rule: 'references/service-port', field: 'spec.ports[0].targetPort' },
    ]],
    ['latest tag', MLFLOW, (o) => void (container(o).image = 'ghcr.io/mlflow/mlflow:latest'), [
      { layer: 'policy', rule: 'images/pinned', field: 'spec.template.spec.containers[0].image' },
    ]],
    ['NetworkPolicy peer that selects nothing', '30-apps/mlflow/networkpolicy-allow-mlflow-to-postgres-5432.yaml', (o) => void (o.spec.egress[0].to[0].podSelector.matchLabels['app.kubernetes.io/name'] = 'postgresql'), [
      { layer: 'references', rule: 'references/network-peer', field: 'spec.egress[0].to[0].podSelector' },
    ]],
    ['StorageClass the cluster does not have', '20-data/minio/statefulset-minio.yaml', (o) => void (o.spec.volumeClaimTemplates[0].spec.storageClassName = 'bulk-hdd2'), [
      { layer: 'references', rule: 'references/storageclass', field: 'spec.volumeClaimTemplates[0].spec.storageClassName' },
    ]],
    ['restore of a volume the StatefulSet does not make', '20-data/postgres/cronjob-postgres-restore.yaml', (o) => void (o.spec.jobTemplate.spec.template.spec.volumes.find((v: Json) => v.persistentVolumeClaim).persistentVolumeClaim.claimName = 'data-postgres-1'), [
      { layer: 'references', rule: 'references/persistentvolumeclaim', field: 'spec.jobTemplate.spec.template.spec.volumes[6].persistentVolumeClaim.claimName' },
    ]],
    ['dashboard query that does not parse', DASHBOARDS, inDashboard('mlflow.json', (d) => void (d.panels[0].targets[0].expr = 'sum(rate(mlflow_http_request_total[5m])')), [
      { layer: 'monitoring', rule: 'monitoring/dashboard-query', field: "data['mlflow.json'].panels[0].targets[0].expr" },
    ]],
    ['dashboard on a datasource Grafana does not have', DASHBOARDS, inDashboard('postgres.json', (d) => void (d.panels[1].datasource = { type: 'influxdb', uid: 'influx' })), [
      { layer: 'monitoring', rule: 'monitoring/dashboard-datasource', field: "data['postgres.json'].panels[1].datasource.uid" },
    ]],
    ['dashboard that is not JSON', DASHBOARDS, (o) => void (o.data['minio.json'] = '{"uid": "minio",'), [
      { layer: 'monitoring', rule: 'monitoring/dashboard-json', field: "data['minio.json']" },
    ]],
    ['alert that no longer fires on the series that should fire it', PROMETHEUS, replaceIn('alerting-rules.yml', 'expr: pg_up == 0', 'expr: pg_up == 2'), [
      { layer: 'monitoring', rule: 'monitoring/rule-tests', field: "data['alerting-rules.yml']" },
    ]],
    ['alert rule that does not parse', PROMETHEUS, replaceIn('alerting-rules.yml', 'expr: up == 0', 'expr: up === 0'), [
      { layer: 'monitoring', rule: 'monitoring/rules', field: "data['alerting-rules.yml']" },
    ]],
    ['Prometheus setting that does not exist', PROMETHEUS, replaceIn('prometheus.yml', 'scrape_timeout:', 'scrape_timout:'), [
      { layer: 'monitoring', rule: 'monitoring/prometheus-config', field: "data['prometheus.yml']" },
    ]],
    ['rule file the config names but the ConfigMap lacks', PROMETHEUS, replaceIn('prometheus.yml', '/etc/prometheus/alerting-rules.yml', '/etc/prometheus/recording-rules.yml'), [
      { layer: 'monitoring', rule: 'monitoring/rule-file-missing', field: "data['prometheus.yml'].rule_files[0]" },
    ]],
    ['Alertmanager route to a receiver that does not exist', ALERTMANAGER, replaceIn('alertmanager.yml', 'receiver: platform-oncall', 'receiver: pager'), [
      { layer: 'monitoring', rule: 'monitoring/alertmanager-config', field: "data['alertmanager.yml']" },
    ]],
    ['Grafana sign-in key that Grafana does not read', '10-platform/monitoring/configmap-grafana-config.yaml', replaceIn('grafana.ini', 'role_attribute_strict = true', 'role_attribute_strict = true\nrole_atribute_path = x'), [
      { layer: 'monitoring', rule: 'monitoring/grafana-config', field: "data['grafana.ini'].auth.generic_oauth.role_atribute_path" },
    ]],
    ['Grafana sign-in that lets members of no group in', '10-platform/monitoring/configmap-grafana-config.yaml', replaceIn('grafana.ini', 'role_attribute_strict = true', 'role_attribute_strict = false'), [
      { layer: 'monitoring', rule: 'monitoring/grafana-config', field: "data['grafana.ini'].auth.generic_oauth.role_attribute_strict" },
    ]],
    ['sign-in proxy option that oauth2-proxy does not know', '30-apps/mlflow/configmap-mlflow-oauth2-proxy.yaml', replaceIn('oauth2-proxy.cfg', 'gitlab_groups =', 'gitlab_group ='), [
      { layer: 'access', rule: 'access/sign-in-config', field: "data['oauth2-proxy.cfg']" },
    ]],
    ['sign-in proxy cookie that would travel over plain HTTP', '30-apps/mlflow/configmap-mlflow-oauth2-proxy.yaml', replaceIn('oauth2-proxy.cfg', 'cookie_secure = true', 'cookie_secure = "sometimes"'), [
      { layer: 'access', rule: 'access/sign-in-config', field: "data['oauth2-proxy.cfg']" },
    ]],
    ['route to a Service that nothing signs in front of', '30-apps/mlflow/httproute-mlflow.yaml', (o) => void Object.assign(o.spec.rules[0].backendRefs[0], { name: 'mlflow', port: 5000 }), [
      { layer: 'access', rule: 'access/unguarded-route', field: 'spec.rules[0].backendRefs[0]' },
    ]],
    ['two routes for one host', '10-platform/monitoring/httproute-prometheus.yaml', (o) => void (o.spec.hostnames[0] = 'mlflow.ml.prod.example.internal'), [
      { layer: 'access', rule: 'access/duplicate-host', field: 'spec.hostnames[0]', in: '30-apps/mlflow/httproute-mlflow.yaml' },
    ]],
    ['a Secret in an environment variable nobody reviewed', MLFLOW, (o) => void container(o).env.push({ name: 'MLFLOW_TRACKING_TOKEN', valueFrom: { secretKeyRef: { name: 'postgres-role-mlflow', key: 'password' } } }), [
      { layer: 'policy', rule: 'secrets/environment', field: `spec.template.spec.containers[0].env[${MLFLOW_NEXT_ENV}]` },
    ]],
    ['log shipper option the collector does not know', '10-platform/log-shipper/configmap-log-shipper-config.yaml', replaceIn('config.yaml', 'start_at: beginning', 'start_at: beginning\n    begin_at: beginning'), [
      { layer: 'logging', rule: 'logging/shipper-config', field: "data['config.yaml']" },
    ]],
    ['log shipper operator expression that does not compile', '10-platform/log-shipper/configmap-log-shipper-config.yaml', replaceIn('config.yaml', 'body matches "^\\\\s*\\\\{"', 'body matchez "^\\\\s*\\\\{"'), [
      { layer: 'logging', rule: 'logging/shipper-config', field: "data['config.yaml']" },
    ]],
    ['replicated workload without a PodDisruptionBudget', '30-apps/mlflow/poddisruptionbudget-mlflow.yaml', (o) => void (o.spec.selector.matchLabels['app.kubernetes.io/name'] = 'other'), [
      { layer: 'policy', rule: 'availability/pdb', field: 'spec.replicas', in: MLFLOW },
    ]],
  ];

  test.each(cases)('%s', async (_name, file, edit, expected) => {
    // Defects inside configuration files (ConfigMap data) are invisible to the schema and policy
    // layers; the program that reads the file judges them, which keeps these cases fast.
    const inConfigFiles = expected.every((e) => ['monitoring', 'access', 'logging'].includes(e.layer));
    const { failures, lines } = await plant(file, edit, {}, inConfigFiles ? [...new Set(expected.map((e) => e.layer as (typeof LAYERS)[number]))] : undefined);
    for (const { in: blamed, ...e } of expected) {
      expect(failures, lines.join('\n')).toContainEqual(expect.objectContaining({ ...e, cluster: 'prod', file: expect.stringContaining(blamed ?? file) }));
    }
    // Nothing else in the cluster is blamed.
    expect(failures.filter((f) => !f.file.endsWith(file) && !expected.some((e) => e.in && f.file.endsWith(e.in))), lines.join('\n')).toEqual([]);
  });

  test("a Secret cert-manager writes for a rendered Certificate exists; once no Certificate names it, its readers' references dangle", async () => {
    const { failures, lines } = await plant('10-platform/logging/certificate-elasticsearch-tls.yaml', (o) => void (o.spec.secretName = 'elasticsearch-tls-renamed'), {}, ['references']);
    const readers = failures.filter((f) => f.rule === 'references/secret' && f.message.includes("'elasticsearch-tls'")).map((f) => f.object.replace(/-[0-9a-f]{10}$/, ''));
    expect(readers.sort(), lines.join('\n')).toEqual(['Deployment logging/elasticsearch-exporter', 'Deployment logging/kibana', 'Job logging/logging-setup', 'StatefulSet logging/elasticsearch']);
  });

  test('a notebook server KubeSpawner would create is judged like a rendered pod, for every profile', async () => {
    const { failures, lines } = await plant(HUB_CONFIG, replaceIn('jupyterhub_config.py', '"allowPrivilegeEscalation": False', '"allowPrivilegeEscalation": True'));
    const escalations = failures.filter((f) => f.rule === 'pod-security/privilege-escalation');
    expect(escalations.map((f) => f.file.slice(f.file.indexOf('('))), lines.join('\n')).toEqual(['(KubeSpawner pod, profile gpu)', '(KubeSpawner pod, profile large)', '(KubeSpawner pod, profile small)']);
    expect(escalations[0]).toMatchObject({ layer: 'policy', object: expect.stringMatching(/^Pod jupyterhub-users\/jupyter-jane-doe/), field: 'spec.containers[0].securityContext.allowPrivilegeEscalation' });
  });

  test('a hub setting JupyterHub does not have is caught by JupyterHub itself', async () => {
    const { failures, lines } = await plant(HUB_CONFIG, replaceIn('jupyterhub_config.py', 'c.KubeSpawner.storage_capacity', 'c.KubeSpawner.storage_capcity'), {}, ['jupyterhub']);
    expect(failures, lines.join('\n')).toEqual([
      expect.objectContaining({ layer: 'jupyterhub', rule: 'jupyterhub/config', file: expect.stringContaining(HUB_CONFIG), field: "data['jupyterhub_config.py']", message: expect.stringContaining('c.KubeSpawner.storage_capcity: KubeSpawner has no setting storage_capcity; did you mean storage_capacity?') }),
    ]);
  });

  test('the hub must receive every environment variable its config reads', async () => {
    const hub = '30-apps/jupyterhub/deployment-hub.yaml';
    const { failures, lines } = await plant(hub, (o) => void (container(o).env = container(o).env.filter((e: Json) => e.name !== 'OAUTH_CLIENT_SECRET')), {}, ['jupyterhub']);
    expect(failures, lines.join('\n')).toEqual([expect.objectContaining({ rule: 'jupyterhub/environment', file: expect.stringContaining(hub), message: 'the hub needs OAUTH_CLIENT_SECRET in its environment and its containers do not set it' })]);
  });

  test('the Spark executor pod template is judged like a rendered pod', async () => {
    const conf = '30-apps/jupyterhub-users/configmap-spark-conf.yaml';
    const { failures, lines } = await plant(conf, replaceIn('executor-pod-template.yaml', 'readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false'), {}, ['policy', 'jupyterhub']);
    expect(failures, lines.join('\n')).toEqual([
      expect.objectContaining({ layer: 'policy', rule: 'hardening/read-only-root', file: expect.stringContaining(`${conf} (pod from executor-pod-template.yaml)`), object: 'Pod jupyterhub-spark/spark-conf-executor' }),
    ]);
  });

  test("a Spark job's driver pod template is judged like a rendered pod, in the namespace it names", async () => {
    const conf = '30-apps/spark/configmap-spark-conf.yaml';
    const { failures, lines } = await plant(conf, replaceIn('driver-pod-template.yaml', 'runAsNonRoot: true', 'runAsNonRoot: false'), {}, ['policy']);
    expect(failures, lines.join('\n')).toContainEqual(
      expect.objectContaining({ layer: 'policy', file: expect.stringContaining(`${conf} (pod from driver-pod-template.yaml)`), object: 'Pod spark/spark-conf-driver' }),
    );
  });

  test('plaintext Secret', async () => {
    const secret = stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'minio-root', namespace: 'minio' }, stringData: { rootUser: 'admin', rootPassword: 'hunter2hunter2' } });
    const { failures, lines } = await plant('', () => undefined, { 'secret-minio-root.yaml': secret });
    expect(failures, lines.join('\n')).toContainEqual(expect.objectContaining({ layer: 'policy', rule: 'secrets/plaintext', field: 'data', object: 'Secret minio/minio-root' }));
  });

  test('wildcard RBAC and a cluster-admin binding', async () => {
    const role = stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'everything', namespace: 'mlflow' }, rules: [{ apiGroups: [''], resources: ['*'], verbs: ['*'] }] });
    const binding = stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'mlflow-admin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'mlflow' }] });
    const { failures, lines } = await plant('', () => undefined, { 'role.yaml': role, 'binding.yaml': binding });
    expect(failures.map((f) => `${f.rule} ${f.field}`), lines.join('\n')).toEqual(['rbac/cluster-admin roleRef.name', 'rbac/wildcard rules[0].resources', 'rbac/wildcard rules[0].verbs']);
  });

  test('a rule on Secrets, webhooks or RBAC objects that does not name them', async () => {
    const rule = (apiGroup: string, resource: string, names?: string[]) => ({ apiGroups: [apiGroup], resources: [resource], verbs: ['get', 'update'], ...(names ? { resourceNames: names } : {}) });
    const role = stringify({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'reader', namespace: 'mlflow' },
      rules: [rule('', 'secrets'), rule('', 'secrets', ['mlflow-token']), rule('rbac.authorization.k8s.io', 'rolebindings'), rule('', 'configmaps')],
    });
    const webhooks = stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'patcher' }, rules: [rule('admissionregistration.k8s.io', 'validatingwebhookconfigurations')] });
    const { failures, lines } = await plant('', () => undefined, { 'role.yaml': role, 'clusterrole.yaml': webhooks });
    // The named Secret rule and the ConfigMap rule pass; the three unnamed sensitive ones do not.
    expect(failures.map((f) => `${f.rule} ${f.object} ${f.field}`).sort(), lines.join('\n')).toEqual([
      'rbac/unnamed-sensitive ClusterRole patcher rules[0].resourceNames',
      'rbac/unnamed-sensitive Role mlflow/reader rules[0].resourceNames',
      'rbac/unnamed-sensitive Role mlflow/reader rules[2].resourceNames',
    ]);
  });
});

describe("a prod cluster that requires digests (its tier's default)", () => {
  /** prod's cluster.yaml without the example's reviewed opt-out. */
  const requiring = () => {
    const configRoot = mkdtempSync(join(scratch, 'config-'));
    const config = parse(readFileSync(join(root, 'clusters/prod/cluster.yaml'), 'utf8'));
    expect(config.tier).toBe('prod');
    delete config.imageDigests;
    mkdirSync(join(configRoot, 'clusters/prod'), { recursive: true });
    writeFileSync(join(configRoot, 'clusters/prod/cluster.yaml'), stringify(config));
    return configRoot;
  };
  const images: string[] = JSON.parse(readFileSync(join(root, 'dist-manifests/prod/inventory.json'), 'utf8')).images;

  test('fails every container that runs an image by tag alone, naming the image', async () => {
    const { failures, docs } = await plant('', () => undefined, {}, ['policy'], requiring());
    const containers = docs.flatMap((d) => {
      const spec = podSpecOf(d.obj)?.spec;
      return spec ? [...(spec.initContainers ?? []), ...spec.containers] : [];
    });
    expect(failures.every((f) => f.rule === 'images/digest')).toBe(true);
    // MinIO's images carry the catalog's digests already; every other container is named.
    const byTag = containers.filter((c) => !c.image.includes('@sha256:'));
    expect(byTag.length).toBeLessThan(containers.length);
    expect(failures).toHaveLength(byTag.length);
    expect(failures).toContainEqual(expect.objectContaining({ object: 'Deployment mlflow/mlflow', field: 'spec.template.spec.containers[0].image', message: expect.stringContaining(`runs '${images.find((i) => i.includes('/mlflow/mlflow:'))}' without a digest`) }));
    // With the example's reason in cluster.yaml, the same render passes.
    expect((await plant('', () => undefined, {}, ['policy'])).failures).toEqual([]);
  });

  test('passes once every image, in pod templates and spawner config too, carries a digest', async () => {
    const digestOf = (image: string) => `sha256:${createHash('sha256').update(image).digest('hex')}`;
    const { dir } = await plant('', () => undefined, {}, ['yaml']);
    for (const file of execFileSync('grep', ['-rl', 'image', dir], { encoding: 'utf8' }).trim().split('\n')) {
      let text = readFileSync(file, 'utf8');
      for (const image of images) text = text.replace(new RegExp(`${image.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(?![\\w.@-])`, 'g'), `${image}@${digestOf(image)}`);
      writeFileSync(file, text);
    }
    const { failures } = await validateManifests({ root, tools, paths: [dir], cluster: 'prod', layers: ['policy'], cacheDir, configRoot: requiring() });
    expect(failures.map(formatFailure)).toEqual([]);
  });
});

describe('credentials in plain text inside a stage or prod cluster', () => {
  const env = (name: string) => (o: Json) => container(o).env.find((e: Json) => e.name === name);

  test('a PostgreSQL client that does not verify the server, by environment or by URL', async () => {
    const { failures, lines } = await plant(MLFLOW, (o) => {
      env('PGSSLMODE')(o).value = 'require';
      container(o).args.push('--backend-store-uri=postgresql://mlflow@postgres.postgres.svc:5432/mlflow?sslmode=disable');
    });
    expect(failures.map((f) => `${f.rule} ${f.field}`), lines.join('\n')).toEqual([`tls/postgres spec.template.spec.containers[0].args[${MLFLOW_NEXT_ARG}]`, 'tls/postgres spec.template.spec.containers[0].env']);
    expect(failures[1].message).toContain("connects to PostgreSQL at postgres.postgres.svc.cluster.local without verifying the server (PGSSLMODE 'require')");
  });

  test('a plain-text URL to an in-cluster Service without a reviewed reason, wherever it is written', async () => {
    // MLflow serves HTTPS; its clients are planted back on http://: the sign-in proxy's config
    // file, and the environment the spawner and the Airflow task template give notebooks and tasks.
    const dir = (await plant('', () => undefined, {}, ['yaml'])).dir;
    const toPlainText = (file: string) => {
      const path = join(dir, file);
      const text = readFileSync(path, 'utf8');
      expect(text).toContain('https://mlflow.mlflow.svc.cluster.local:5000');
      writeFileSync(path, text.replaceAll('https://mlflow.mlflow.svc.cluster.local:5000', 'http://mlflow.mlflow.svc.cluster.local:5000'));
    };
    for (const file of ['30-apps/mlflow/configmap-mlflow-oauth2-proxy.yaml', HUB_CONFIG, '30-apps/airflow/configmap-airflow-config.yaml']) toPlainText(file);
    const { failures } = await validateManifests({ root, tools, paths: [dir], cluster: 'prod', layers: ['policy'], cacheDir });
    const blamed = failures.map((f) => `${f.rule} ${f.object} ${f.field}`);
    expect(failures.every((f) => f.rule === 'tls/plain-text' && f.message.includes('reaches Service mlflow/mlflow in plain text')), blamed.join('\n')).toBe(true);
    // The sign-in proxy's config file, a notebook's environment (from the spawner's config) and an Airflow task's.
    expect(blamed).toContain("tls/plain-text ConfigMap mlflow/mlflow-oauth2-proxy data['oauth2-proxy.cfg']");
    expect(blamed).toContain("tls/plain-text ConfigMap jupyterhub/hub-config data['jupyterhub_config.py']");
    expect(blamed.some((b) => b.startsWith('tls/plain-text Pod airflow-tasks/'))).toBe(true);
  });

  test('a notebook server the proxy would reach in plain text, or by a name its certificate does not hold', async () => {
    const dir = (await plant('', () => undefined, {}, ['yaml'])).dir;
    const edit = (file: string, from: string, to: string) => {
      const path = join(dir, file);
      const text = readFileSync(path, 'utf8');
      expect(text).toContain(from);
      writeFileSync(path, text.replace(from, to));
    };
    const judge = async () => (await validateManifests({ root, tools, paths: [dir], cluster: 'prod', layers: ['jupyterhub', 'policy'], cacheDir })).failures.filter((f) => f.rule === 'tls/notebook-server');
    // The certificate names another subdomain than the one the hub's hook gives the pods.
    edit('30-apps/jupyterhub-users/certificate-notebook-tls.yaml', '*.notebooks.jupyterhub-users.svc.cluster.local', '*.servers.jupyterhub-users.svc.cluster.local');
    const misnamed = await judge();
    expect(misnamed.length).toBeGreaterThan(0);
    expect(misnamed[0]).toMatchObject({ object: expect.stringMatching(/^Pod jupyterhub-users\/jupyter-/), field: 'KubeSpawner.get_pod_url' });
    expect(misnamed[0].message).toMatch(/'jupyter-[a-z0-9-]+\.notebooks\.jupyterhub-users\.svc\.cluster\.local' is in no certificate that container 'tls' mounts/);
    // Without the hook, KubeSpawner reaches the server by its address, in plain text.
    edit(HUB_CONFIG, 'c.KubeSpawner.get_pod_url = notebook_server_url', '');
    const plain = await judge();
    expect(plain.length).toBeGreaterThan(0);
    expect(plain.every((f) => /reach the server at 'http:\/\/10\.244\.0\.10:8888', in plain text/.test(f.message))).toBe(true);
  });

  test('a route the gateway reaches in plain text: a Service without a BackendTLSPolicy, another port, an Ingress', async () => {
    const dir = (await plant('', () => undefined, {}, ['yaml'])).dir;
    // MLflow's sign-in proxy loses its policy; Grafana's names a port the route does not use.
    rmSync(join(dir, '30-apps/mlflow/backendtlspolicy-mlflow-oauth2-proxy.yaml'));
    const grafanaPolicy = join(dir, '10-platform/monitoring/backendtlspolicy-grafana.yaml');
    const policy = parse(readFileSync(grafanaPolicy, 'utf8'));
    policy.spec.targetRefs[0].sectionName = 'metrics';
    writeFileSync(grafanaPolicy, stringify(policy));
    const ingress = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'boards', namespace: 'superset' }, spec: { rules: [{ host: 'boards.example.internal', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'superset-web', port: { number: 8443 } } } }] } }] } };
    writeFileSync(join(dir, 'ingress-boards.yaml'), stringify(ingress));
    const { failures } = await validateManifests({ root, tools, paths: [dir], cluster: 'prod', layers: ['policy'], cacheDir });
    expect(failures.map((f) => `${f.rule} ${f.object} ${f.field}: ${f.message}`).sort()).toEqual([
      'tls/gateway-backend HTTPRoute mlflow/mlflow spec.rules[0].backendRefs[0]: the gateway reaches Service mlflow/mlflow-oauth2-proxy:4443 in plain text: no BackendTLSPolicy targets it',
      'tls/gateway-backend HTTPRoute monitoring/grafana spec.rules[0].backendRefs[0]: the gateway reaches Service monitoring/grafana:3000 in plain text: no BackendTLSPolicy targets it',
      'tls/gateway-backend Ingress superset/boards spec: an Ingress reaches its backends in plain text',
    ]);
  });

  test('a dev cluster may speak plain text', async () => {
    const dir = mkdtempSync(join(scratch, 'dev-'));
    cpSync(join(root, 'dist-manifests/dev'), dir, { recursive: true });
    const file = join(dir, '30-apps/mlflow/deployment-mlflow.yaml');
    const obj = parse(readFileSync(file, 'utf8'));
    env('PGSSLMODE')(obj).value = 'disable';
    writeFileSync(file, stringify(obj));
    const { failures } = await validateManifests({ root, tools, paths: [dir], cluster: 'dev', layers: ['policy'], cacheDir });
    expect(failures).toEqual([]);
  });
});

test('a kind without a schema is an error, never skipped', async () => {
  const widget = stringify({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'mlflow' }, spec: {} });
  const { failures } = await plant('', () => undefined, { 'widget.yaml': widget });
  expect(failures).toContainEqual(expect.objectContaining({ layer: 'schema', rule: 'schema/missing', object: 'Widget mlflow/w' }));
});

test('a SOPS-encrypted Secret validates once its sops metadata is set aside', async () => {
  const enc = (n: number) => `ENC[AES256_GCM,data:${'A'.repeat(n)}=,iv:${'B'.repeat(43)}=,tag:${'C'.repeat(22)}==,type:str]`;
  const secret = stringify({
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'minio-root', namespace: 'minio' },
    stringData: { rootUser: enc(8), rootPassword: enc(32) },
    sops: { age: [{ recipient: 'age1qqqq', enc: '-----BEGIN AGE ENCRYPTED FILE-----' }], lastmodified: '2026-11-29T00:00:00Z', mac: enc(64), version: '3.9.0' },
  });
  const { failures, lines } = await plant('', () => undefined, { 'secret-minio-root.yaml': secret });
  expect(failures, lines.join('\n')).toEqual([]);
});

test('a reviewed exception silences exactly its rule, and an unused one is reported', async () => {
  const exceptions = join(scratch, 'exceptions.yaml');
  // The repository's reviewed exceptions (prod needs them too), and the test's two.
  const reviewed = parse(readFileSync(join(root, 'tools/validate/exceptions.yaml'), 'utf8')).exceptions;
  writeFileSync(exceptions, stringify({ exceptions: [
    ...reviewed,
    { rule: 'hardening/read-only-root', cluster: 'prod', namespace: 'mlflow', kind: 'Deployment', name: 'mlflow', reason: 'test: the image writes to its root filesystem' },
    { rule: 'hardening/probes', namespace: 'nowhere', reason: 'test: an exception that matches nothing at all' },
  ] }));
  const dir = mkdtempSync(join(scratch, 'exc-'));
  cpSync(join(root, 'dist-manifests/prod'), dir, { recursive: true });
  const path = join(dir, MLFLOW);
  const obj = parse(readFileSync(path, 'utf8'));
  container(obj).securityContext.readOnlyRootFilesystem = false;
  writeFileSync(path, stringify(obj));
  const result = await validateManifests({ root, tools, paths: [dir], cluster: 'prod', exceptionsFile: exceptions, cacheDir });
  expect(result.failures).toEqual([]);
  // The planted one, and the Vault injector's two Roles (tools/validate/exceptions.yaml).
  expect(result.excepted).toBe(1 + 2);
});

test("an exception for a cluster the run did not validate is not called stale; one for a validated cluster that matches nothing is", async () => {
  // A workspace that holds prod only, as the benchmark's does.
  const workspace = mkdtempSync(join(scratch, 'prod-only-'));
  writeFileSync(join(workspace, 'nx.json'), '{}\n');
  for (const shared of ['.tools', 'tools', 'libs', 'checks']) symlinkSync(join(root, shared), join(workspace, shared));
  cpSync(join(root, 'dist-manifests/prod'), join(workspace, 'dist-manifests/prod'), { recursive: true });
  mkdirSync(join(workspace, 'clusters/prod'), { recursive: true });
  for (const file of ['cluster.yaml', 'secrets']) symlinkSync(join(root, 'clusters/prod', file), join(workspace, 'clusters/prod', file));
  const exceptions = join(scratch, 'scoped-exceptions.yaml');
  const reviewed = parse(readFileSync(join(root, 'tools/validate/exceptions.yaml'), 'utf8')).exceptions;
  writeFileSync(exceptions, stringify({ exceptions: [...reviewed, { rule: 'hardening/probes', cluster: 'prod', namespace: 'nowhere', reason: 'test: a prod exception that matches nothing' }] }));
  const result = await validateManifests({ root: workspace, tools, paths: [], cacheDir, exceptionsFile: exceptions });
  // dev's review-deployer exceptions are not judged without dev; prod's stale one is.
  expect(result.failures.map((f) => [f.rule, f.message])).toEqual([['exceptions/stale', 'exception for hardening/probes (prod nowhere) matches nothing']]);
});

test('the JUnit report lists every object per layer with the failures attached', async () => {
  const { docs, failures } = await plant(MLFLOW, (o) => void (container(o).image = 'ghcr.io/mlflow/mlflow'));
  const xml = junitReport(checkedObjects(docs), [...LAYERS], failures);
  expect(xml).toContain(`<testsuite name="prod policy" tests="${PROD_OBJECTS}" failures="1">`);
  expect(xml).toContain(`<failure type="images/pinned" message="spec.template.spec.containers[0].image: image 'ghcr.io/mlflow/mlflow' is not pinned to a version">`);
});

test('every committed cluster, and a review environment of dev, passes, with no stale exception', async () => {
  const result = await validateManifests({ root, tools, paths: [], cacheDir });
  expect(result.failures.map(formatFailure)).toEqual([]);
  expect(result.clusters).toEqual(['dev', 'dev/review/mr-0-longest-review-slug', 'prod', 'stage']);
});

test("a review environment's objects are judged against its base cluster: a binding to a ServiceAccount dev does not render fails", async () => {
  // Rendered, as validate renders it when no path is given.
  const dir = defaultTargets(root).find((t) => t.includes('.review')) as string;
  const file = join(dir, '00-cluster/mlflow/rolebinding-review-deployer.yaml');
  const result = await validateManifests({ root, tools, paths: [dir], cacheDir });
  expect(result.failures.map(formatFailure)).toEqual([]);
  const original = readFileSync(file, 'utf8');
  try {
    writeFileSync(file, original.replace('name: review-deployer\n    namespace: gitlab-agent', 'name: review-deployer\n    namespace: flux-system'));
    const broken = await validateManifests({ root, tools, paths: [dir], cacheDir });
    expect(broken.failures).toEqual([expect.objectContaining({ rule: 'references/serviceaccount', cluster: 'dev/review/mr-0-longest-review-slug', message: "ServiceAccount 'flux-system/review-deployer' does not exist" })]);
  } finally {
    writeFileSync(file, original);
  }
});

test('a reviewed secret variable that no container passes any more is reported stale, naming it', async () => {
  const file = join(scratch, 'environment-secrets.yaml');
  writeFileSync(file, `${readFileSync(join(root, 'tools/validate/environment-secrets.yaml'), 'utf8')}OLD_API_TOKEN: a program the platform no longer runs read it from the environment.\n`);
  const result = await validateManifests({ root, tools, paths: [], cacheDir, environmentSecretsFile: file });
  expect(result.failures).toEqual([expect.objectContaining({ rule: 'secrets/environment-stale', file, field: 'OLD_API_TOKEN', message: 'no rendered container passes a Secret in OLD_API_TOKEN any more' })]);
});

test('a cluster delivered by Argo CD validates too, against the pinned Argo CD CRDs', async () => {
  const raw = parse(readFileSync(join(root, 'clusters/stage/cluster.yaml'), 'utf8'));
  raw.gitops.engine = 'argocd';
  const { files } = renderInMemory(platformRenderSpec('stage'), clusterConfigSchema.parse(raw));
  const dir = mkdtempSync(join(scratch, 'argocd-'));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.content);
  }
  const result = await validateManifests({ root, tools, paths: [dir], cluster: 'stage', cacheDir });
  expect(result.failures.map(formatFailure)).toEqual([]);
  expect(result.docs.filter((d) => d.obj.kind === 'Application').map((d) => d.obj.metadata.name)).toEqual([
    'ml-platform-00-cluster', 'ml-platform-05-secrets', 'ml-platform-10-platform', 'ml-platform-20-data', 'ml-platform-30-apps', 'ml-platform-gitops',
  ]);
  expect(result.docs.some((d) => d.obj.kind === 'AppProject')).toBe(true);
});

describe('verdicts kept by content', () => {
  const defect = (o: Json) => void ((o.spec.replica = 3), (container(o).image = 'ghcr.io/mlflow/mlflow:latest'));

  test('a warm run reports exactly what a fresh run reports, without checking anything again', async () => {
    const own = join(scratch, 'cache-warm');
    const options = await planted(MLFLOW, defect);
    const fresh = await validateManifests({ ...options, cacheDir: false });
    const cold = await validateManifests({ ...options, cacheDir: own });
    // Another copy in another folder: verdicts follow the content, not the path.
    const warm = await validateManifests({ ...(await planted(MLFLOW, defect)), cacheDir: own });
    const placeless = (fs: Failure[]) => fs.map((f) => ({ ...f, file: f.file.replace(/^.*?\/prod-[^/]+\//, '') }));
    expect(fresh.failures.map((f) => f.rule)).toEqual(expect.arrayContaining(['schema/unknown-field', 'api-schema/unknown-field', 'images/pinned']));
    expect(cold.failures).toEqual(fresh.failures);
    expect(placeless(warm.failures)).toEqual(placeless(fresh.failures));
    expect(cold.stats).toEqual({ checked: 2 * PROD_DISTINCT, reused: 0 });
    expect(warm.stats).toEqual({ checked: 0, reused: 2 * PROD_OBJECTS });
  });

  test('after one object changes, only that object is checked again, and a YAML error is never cached', async () => {
    const own = join(scratch, 'cache-one');
    await validateManifests({ ...(await planted('', () => undefined)), cacheDir: own });
    const changed = await validateManifests({ ...(await planted(MLFLOW, (o) => void (o.spec.replicas = 'two'))), cacheDir: own });
    expect(changed.stats).toEqual({ checked: 2, reused: 2 * (PROD_OBJECTS - 1) });
    expect(changed.failures).toContainEqual(expect.objectContaining({ layer: 'schema', rule: 'schema/invalid', field: 'spec.replicas', file: expect.stringContaining(MLFLOW) }));
    for (let run = 0; run < 2; run++) {
      const broken = await validateManifests({ ...(await planted('', () => undefined, { 'broken.yaml': 'a: [1,\n' })), cacheDir: own });
      expect(broken.failures).toContainEqual(expect.objectContaining({ layer: 'yaml', rule: 'yaml/syntax', file: expect.stringContaining('broken.yaml') }));
    }
  });

  test('a verdict is not reused once the tool build or the schemas it was made with change', async () => {
    const own = join(scratch, 'cache-tools');
    // The installed tools, seen through a folder whose kubeconform build stamp says otherwise.
    const bin = mkdtempSync(join(scratch, 'bin-'));
    for (const name of ['kubeconform', 'kubectl-validate', 'promtool', 'amtool', 'oauth2-proxy', 'otelcol-logs', 'tofu', 'helm', '.kubectl-validate.version', '.promtool.stamp', '.amtool.version', '.oauth2-proxy.version', '.otelcol-logs.stamp', '.tofu.stamp', '.helm.version']) symlinkSync(join(tools.bin, name), join(bin, name));
    writeFileSync(join(bin, '.kubeconform.version'), 'another build');
    await validateManifests({ ...(await planted('', () => undefined)), cacheDir: own });
    const rebuilt = await validateManifests({ ...(await planted('', () => undefined)), tools: { ...tools, bin }, cacheDir: own });
    expect(rebuilt.stats).toEqual({ checked: PROD_DISTINCT, reused: PROD_OBJECTS });
    expect(rebuilt.failures).toEqual([]);
  });
});

/** Options that validate a fresh copy of prod with `edit` applied to one file (and extra files). */
async function planted(file: string, edit: (obj: Json) => Json | void, extraFiles: Record<string, string> = {}) {
  const { dir } = await plant(file, edit, extraFiles, ['yaml']);
  return { root, tools, paths: [dir], cluster: 'prod' };
}

describe('each cluster is judged by the API of its own Kubernetes minor', () => {
  // Served by 1.28, removed in 1.32.
  const flowSchema = { apiVersion: 'flowcontrol.apiserver.k8s.io/v1beta3', kind: 'FlowSchema', metadata: { name: 'ml-jobs' }, spec: { priorityLevelConfiguration: { name: 'workload-low' }, matchingPrecedence: 9000 } };
  // New in 1.34: kubectl-validate only knows it from the documents pinned for 1.34.
  const deviceClass = (spec: Json) => ({ apiVersion: 'resource.k8s.io/v1', kind: 'DeviceClass', metadata: { name: 'gpu' }, spec });
  const gpu = { selectors: [{ cel: { expression: 'device.driver == "gpu.example.com"' } }] };

  async function judge(obj: Json, kubernetesVersion: string) {
    const dir = mkdtempSync(join(scratch, `k8s-${kubernetesVersion}-`));
    writeFileSync(join(dir, 'object.yaml'), stringify(obj));
    const { failures } = await validateManifests({ root, tools, paths: [dir], kubernetesVersion, layers: ['schema', 'api-schema'], cacheDir });
    return failures.map((f) => `${f.layer} ${f.rule} ${f.field}`);
  }

  test('an API that a newer minor no longer serves passes on 1.28 and fails on 1.34', async () => {
    expect(await judge(flowSchema, '1.28')).toEqual([]);
    expect(await judge(flowSchema, '1.34')).toContain('schema schema/missing apiVersion/kind');
  });

  test('an API new in 1.34 passes on 1.34, with both layers reading its schema, and fails on 1.28', async () => {
    expect(await judge(deviceClass(gpu), '1.34')).toEqual([]);
    expect(await judge(deviceClass({ ...gpu, colour: 'red' }), '1.34')).toEqual(['api-schema api-schema/unknown-field spec.colour', 'schema schema/unknown-field spec.colour']);
    expect(await judge(deviceClass(gpu), '1.28')).toContain('schema schema/missing apiVersion/kind');
  });

  test("a cluster's objects are judged by the minor its cluster.yaml declares", async () => {
    const inCluster = async (cluster: string) => {
      const dir = mkdtempSync(join(scratch, `${cluster}-`));
      cpSync(join(root, 'dist-manifests', cluster), dir, { recursive: true });
      writeFileSync(join(dir, 'flowschema.yaml'), stringify(flowSchema));
      const { failures } = await validateManifests({ root, tools, paths: [dir], cluster, layers: ['schema'], cacheDir });
      return failures.map((f) => `${f.rule} ${f.object}`);
    };
    expect(parse(readFileSync(join(root, 'clusters/dev/cluster.yaml'), 'utf8')).kubernetesVersion).toBe('1.28');
    expect(parse(readFileSync(join(root, 'clusters/stage/cluster.yaml'), 'utf8')).kubernetesVersion).toBe('1.34');
    expect(await inCluster('dev')).toEqual([]);
    expect(await inCluster('stage')).toEqual(['schema/missing FlowSchema ml-jobs']);
  });
});
