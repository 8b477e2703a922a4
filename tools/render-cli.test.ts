// The render as users run it: the bundled render, a config file and an output folder.
// Broken configuration must fail with a precise message and leave the rendered tree untouched.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const root = join(__dirname, '..');
const render = join(root, 'dist/tools/render.js');
const devConfig = readFileSync(join(root, 'clusters/dev/cluster.yaml'), 'utf8');
let scratch: string;

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

function run(config: string, out: string) {
  // The encrypted Secrets are read from secrets/ beside the config file.
  const file = join(scratch, 'config', `cluster-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, config);
  const result = spawnSync('node', [render, 'dev', '--config', file, '--out', out], { cwd: root, encoding: 'utf8' });
  return { ...result, file };
}

beforeAll(() => {
  if (!existsSync(render)) throw new Error(`${render} is missing; run 'node tools/build.mjs render' (nx runs it before this test)`);
  scratch = mkdtempSync(join(tmpdir(), 'ml-platform-cli-'));
  mkdirSync(join(scratch, 'config'));
  symlinkSync(join(root, 'clusters/dev/secrets'), join(scratch, 'config/secrets'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test('renders the committed dev cluster byte for byte, twice', () => {
  const out = join(scratch, 'twice');
  for (let i = 0; i < 2; i++) {
    const r = run(devConfig, out);
    expect(r.status, r.stderr).toBe(0);
    expect(snapshot(join(out, 'dev'))).toEqual(snapshot(join(root, 'dist-manifests/dev')));
  }
});

test('removes files the render no longer produces', () => {
  const out = join(scratch, 'stale');
  expect(run(devConfig, out).status).toBe(0);
  writeFileSync(join(out, 'dev/20-data/minio/service-old.yaml'), 'stale');
  expect(run(devConfig, out).status).toBe(0);
  const files = Object.keys(snapshot(join(out, 'dev')));
  expect(files).not.toContain('20-data/minio/service-old.yaml');
  expect(files).toEqual(Object.keys(snapshot(join(root, 'dist-manifests/dev'))));
  expect(readdirSync(out)).toEqual(['dev']);
});

describe('broken cluster.yaml', () => {
  const cases: [string, string, RegExp][] = [
    ['wrong type', devConfig.replace('replicas: 1\n    storage:\n      size: 10Gi', 'replicas: one\n    storage:\n      size: 10Gi'), /components\.minio\.replicas: expected number, found the string "one"/],
    ['unknown key', devConfig.replace('  mlflow:\n    enabled: true', '  mlflow:\n    enabeld: true\n    enabled: true'), /components\.mlflow\.enabeld: unknown key/],
    ['missing key', devConfig.replace(/storageClasses:\n {2}default: local-path\n/, ''), /storageClasses: expected object, found nothing \(the key is missing\)/],
    ['invalid YAML', devConfig.replace('  postgres:\n', '  postgres: [\n'), /invalid YAML at line \d+, column \d+/],
    ['empty file', '', /\(top level\): expected a mapping of cluster settings, found an empty file/],
    ['not a mapping', '- a\n- b\n', /\(top level\): expected a mapping of cluster settings, found a list of 2/],
    ['bad quantity', devConfig.replace('size: 5Gi', 'size: 5 GB'), /components\.postgres\.storage\.size: expected a Kubernetes quantity such as 500m, 2, 512Mi or 20Gi, found the string "5 GB"/],
    ['rule across components', devConfig.replace('  postgres:\n    enabled: true', '  postgres:\n    enabled: false'), /components\.mlflow\.enabled: expected false while components\.postgres\.enabled is false/],
    ['distributed MinIO too small', devConfig.replace('mode: standalone', 'mode: distributed'), /components\.minio\.replicas: expected at least 4 for mode distributed, found number 1/],
    ['latest tag pin', `${devConfig}images:\n  mlflow:\n    tag: latest\n`, /images\.mlflow\.tag: expected a released version, not 'latest', found the string "latest"/],
    ['unknown image pin', `${devConfig}images:\n  jupyter:\n    tag: "1.0"\n`, /images\.jupyter/],
    ['secret neither rendered nor declared', devConfig.replace('    - gitlab-agent-token\n', ''), /external\.secrets: secret 'gitlab-agent-token' \(keys token; namespaces gitlab-agent\) is needed but neither rendered nor listed here/],
    ['Kubernetes minor not supported', devConfig.replace('kubernetesVersion: "1.28"', 'kubernetesVersion: "1.35"'), /kubernetesVersion: expected one of "1\.28", "1\.29", "1\.30", "1\.31", "1\.32", "1\.33", "1\.34", found the string "1\.35"/],
    ['Kubernetes minor unquoted', devConfig.replace('kubernetesVersion: "1.28"', 'kubernetesVersion: 1.30'), /kubernetesVersion: expected one of "1\.28", .*"1\.34" \(quote the value in YAML\), found number 1\.3\b/],
    ['unknown routing API', devConfig.replace('  api: ingress', '  api: nginx'), /routing\.api: expected one of "gateway", "ingress", found the string "nginx"/],
    ['home page without a docs URL', devConfig.replace('url: https://gitlab.example.internal/platform/ml-platform.git', 'url: ssh://git@gitlab.example.internal/platform/ml-platform.git'), /components\.home\.docsUrl: expected the https:\/\/ URL of the platform's docs\/ folder/],
    ['stage behind an Ingress', devConfig.replace('tier: dev', 'tier: stage'), /routing\.api: expected gateway in tier stage: the hop from the controller to the UIs carries sessions/],
    ['a UI with an empty group list', devConfig.replace('  minio-console:\n    users: [ml/platform]', '  minio-console:\n    users: []'), /access\.minio-console\.users: expected at least 1 entry, found a list of 0/],
    ['a UI nobody is given', devConfig.replace('  minio-console:\n    users: [ml/platform]\n', ''), /access\.minio-console: expected the GitLab groups that may use minio-console \(users, and admins where it has roles\) while components\.minio is enabled/],
    ['access for a UI that does not exist', devConfig.replace('access:\n', 'access:\n  jupyter:\n    users: [ml/x]\n'), /access\.jupyter: expected one of the platform's UIs \(minio-console, mlflow, jupyterhub, tensorboard, spark-history, airflow, superset, dash-churn, predict-churn, kibana, vault, grafana, prometheus, alertmanager, home\)/],
    ['two UIs on one host', devConfig.replace('    clusterIssuer: platform-ca\n', '    clusterIssuer: platform-ca\n  hosts:\n    prometheus: mlflow.ml.dev.example.internal\n'), /routing\.hosts\.prometheus: expected a host of its own: (prometheus and mlflow|mlflow and prometheus) would both be served at mlflow\.ml\.dev\.example\.internal/],
    ['GitLab client secret not provided', devConfig.replace('    - sso-gitlab\n', ''), /external\.secrets: secret 'sso-gitlab' \(keys client-secret; namespaces airflow, dash, home, jupyterhub, logging, minio, mlflow, monitoring, serving, spark-history, superset, tensorboard\) is needed but neither rendered nor listed here/],
    ['GitLab CA ConfigMap that nothing provides', devConfig.replace(/( {4}clientId: \w+\n)/, '$1    caConfigMap: gitlab-ca\n'), /sso\.gitlab\.caConfigMap: expected 'gitlab-ca' under external\.configMaps too/],
    ['existing TLS Secret that nothing provides', devConfig.replace('    clusterIssuer: platform-ca\n', '    secretName: wildcard-tls\n'), /routing\.tls\.secretName: expected 'wildcard-tls' under external\.secrets too: a TLS certificate is issued outside the render, never generated/],
    ['TLS from two sources', devConfig.replace('    clusterIssuer: platform-ca\n', '    clusterIssuer: platform-ca\n    secretName: wildcard-tls\n'), /routing\.tls: expected exactly one of clusterIssuer and secretName/],
    ['log retention under a day', devConfig.replace('    retention: 7\n', '    retention: 0\n'), /components\.logging\.retention: expected at least 1 day, found 0: log retention is counted in whole days/],
    ['replica shards one Elasticsearch node cannot hold', devConfig.replace('      replicas: 1\n      heap: 768Mi', '      replicas: 1\n      indexReplicas: 1\n      heap: 768Mi'), /components\.logging\.elasticsearch\.indexReplicas: expected at most 0 with 1 node, found 1: a replica shard is never placed on its primary's node/],
    ['a shipper buffer larger than its volume', devConfig.replace('        size: 512Mi\n        volume: 2Gi', '        size: 3Gi\n        volume: 2Gi'), /components\.logging\.shipper\.buffer\.size: expected at most half of shipper\.buffer\.volume \(2Gi\), found 3Gi/],
    ['logging without the internal CA', devConfig.replace('    clusterIssuer: platform-ca\n', '    secretName: wildcard-tls\n').replace('  secrets:\n    - gitlab-agent-token\n', '  secrets:\n    - wildcard-tls\n    - gitlab-agent-token\n'), /routing\.tls\.clusterIssuer: expected the cluster's internal CA as a cert-manager ClusterIssuer while components\.logging is enabled/],
    ['a quorum with more members than the cluster has nodes', devConfig.replace('\nstorageClasses:', '\ntopology:\n  nodes: 2\nstorageClasses:').replace('      replicas: 1\n      heap: 768Mi', '      replicas: 3\n      heap: 768Mi'), /components\.logging\.elasticsearch\.replicas: expected at most topology\.nodes \(2\) with quorumSpread hard, found 3: each Elasticsearch node needs a node of its own/],
    ['plain text inside a stage cluster', devConfig.replace('tier: dev\n', 'tier: stage\ninClusterTls: false\n'), /inClusterTls: expected true in tier stage: only a dev cluster may carry credentials in plain text, found boolean false/],
    ['in-cluster TLS without the internal CA', devConfig.replace('    clusterIssuer: platform-ca\n', '    secretName: wildcard-tls\n').replace('  secrets:\n    - gitlab-agent-token\n', '  secrets:\n    - wildcard-tls\n    - gitlab-agent-token\n'), /routing\.tls\.clusterIssuer: expected the internal CA as a cert-manager ClusterIssuer while inClusterTls is on/],
    ['a prod cluster without digests or a reason', devConfig.replace('tier: dev\n', 'tier: prod\nimageDigests:\n  required: false\n'), /imageDigests\.reason: expected the reason this prod cluster runs images without digests/],
    ['PostgreSQL backup retention shorter than its interval', devConfig.replace('  postgres:\n    enabled: true\n', '  postgres:\n    enabled: true\n    backup:\n      every: 7d\n      retention: 3d\n'), /components\.postgres\.backup\.retention: expected at least the full backup interval \(every: 7d\), found 3d/],
    ['an off-site endpoint without credentials', devConfig.replace('    mode: standalone\n', '    mode: standalone\n    offsite:\n      endpoint: https://s3.dr.example.internal\n      bucket: ml-offsite\n      cidrs: [10.60.0.10/32]\n'), /components\.minio\.offsite\.credentialsSecret: expected string, found nothing \(the key is missing\)/],
    ['wrong cluster name', devConfig.replace('name: dev', 'name: prod'), /name: expected "dev" \(the cluster's folder and app\), found the string "prod"/],
  ];

  test.each(cases)('%s: exits non-zero, names file and key path, changes nothing', (_name, config, message) => {
    const out = join(scratch, 'broken');
    expect(run(devConfig, out).status).toBe(0);
    const before = snapshot(out);
    const r = run(config, out);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(r.file);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('dist-manifests/dev is unchanged');
    expect(snapshot(out)).toEqual(before);
  });

  test('a missing file is reported as such', () => {
    const r = spawnSync('node', [render, 'dev', '--config', join(scratch, 'nope.yaml'), '--out', join(scratch, 'x')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nope\.yaml: invalid cluster configuration\n {2}- cannot be read: ENOENT/);
    expect(existsSync(join(scratch, 'x'))).toBe(false);
  });
});

test('an unknown argument fails with usage', () => {
  const r = spawnSync('node', [render, 'dev', '--outdir', 'x'], { cwd: root, encoding: 'utf8' });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain("unknown argument '--outdir'");
});

test('an unknown cluster fails naming the known ones', () => {
  const r = spawnSync('node', [render, 'qa', '--out', join(scratch, 'qa')], { cwd: root, encoding: 'utf8' });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain("no app for cluster 'qa' in this build; known clusters: dev, prod, stage");
  expect(existsSync(join(scratch, 'qa'))).toBe(false);
});

test('renders several clusters in one process, each into its own tree', () => {
  const out = join(scratch, 'many');
  const r = spawnSync('node', [render, '--out', out, 'dev', 'prod'], { cwd: root, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^rendered dev: \d+ objects in \d+ ms\nrendered prod: \d+ objects in \d+ ms\n$/);
  expect(snapshot(join(out, 'prod'))).toEqual(snapshot(join(root, 'dist-manifests/prod')));
  expect(readdirSync(out).sort()).toEqual(['dev', 'prod']);
});

test('a changed file is rewritten, unchanged ones are kept, and an unchanged re-render touches nothing', () => {
  const out = join(scratch, 'relink');
  expect(run(devConfig, out).status).toBe(0);
  const service = join(out, 'dev/30-apps/mlflow/service-mlflow.yaml');
  const namespace = join(out, 'dev/00-cluster/mlflow/namespace-mlflow.yaml');
  const inode = statSync(namespace).ino;
  writeFileSync(service, 'edited by hand');
  expect(run(devConfig, out).status).toBe(0);
  expect(snapshot(join(out, 'dev'))).toEqual(snapshot(join(root, 'dist-manifests/dev')));
  expect(statSync(namespace).ino).toBe(inode);
  const tree = statSync(join(out, 'dev')).ino;
  expect(run(devConfig, out).status).toBe(0);
  expect(statSync(join(out, 'dev')).ino).toBe(tree);
});

test('the render copies nothing by hand: files carry the generated header', () => {
  const files = snapshot(join(root, 'dist-manifests/dev'));
  for (const [path, text] of Object.entries(files)) {
    // Encrypted Secrets are copied byte for byte (a header would be outside their MAC).
    if (path.startsWith('05-secrets/')) expect(text).toBe(readFileSync(join(root, 'clusters/dev/secrets', path.split('/')[1], path.split('/')[2].replace(/^secret-/, '')), 'utf8'));
    else if (path.endsWith('.yaml')) expect(text.split('\n')[0], path).toBe("# Generated by apps/dev from clusters/dev/cluster.yaml; do not edit, run 'npm run synth'.");
  }
});
