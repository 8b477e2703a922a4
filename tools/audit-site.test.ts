// The audit site: the history read from a Git repository made here (risky changes flagged as
// npm run diff flags them, the merge request named), and the pages rendered from a model with a
// planted version difference.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { renderedHistory } from './audit-site/history';
import { renderAuditSite } from './audit-site/html';
import { ClusterAudit, upstreamOf } from './audit-site/model';

let repo: string;
const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.invalid', '-c', 'user.name=Tess', ...args], { cwd: repo, encoding: 'utf8' });
const write = (path: string, obj: unknown) => {
  mkdirSync(dirname(join(repo, path)), { recursive: true });
  writeFileSync(join(repo, path), stringify(obj));
};
const role = (verbs: string[]) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'reader', namespace: 'ml' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs }] });
const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'ml' }, spec: { resources: { requests: { storage: '1Gi' } } } };

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'ml-platform-audit-'));
  git('init', '-q', '-b', 'main');
  write('dist-manifests/dev/ml/role-reader.yaml', role(['get']));
  write('dist-manifests/dev/ml/persistentvolumeclaim-data.yaml', claim);
  write('README.md', 'not rendered');
  git('add', '-A');
  git('commit', '-q', '-m', 'ml: a reader and its volume');
  write('dist-manifests/dev/ml/role-reader.yaml', role(['get', 'list']));
  rmSync(join(repo, 'dist-manifests/dev/ml/persistentvolumeclaim-data.yaml'));
  write('dist-manifests/prod/ml/role-reader.yaml', role(['get']));
  git('add', '-A');
  git('commit', '-q', '-m', 'ml: list pods, drop the volume', '-m', 'See merge request platform/ml-platform!42');
  writeFileSync(join(repo, 'README.md'), 'changed, nothing rendered');
  git('commit', '-q', '-am', 'docs only');
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

test("each cluster's changes, newest first, with what npm run diff would flag and the merge request", () => {
  const history = renderedHistory(repo);
  const dev = history.get('dev') ?? [];
  // The docs-only commit changed no rendered file.
  expect(dev.map((c) => c.subject)).toEqual(['ml: list pods, drop the volume', 'ml: a reader and its volume']);
  expect(dev[0]).toMatchObject({ author: 'Tess', mergeRequest: 'platform/ml-platform!42' });
  expect(dev[0].diff).toMatchObject({ added: [], removed: ['PersistentVolumeClaim ml/data'], changed: [{ object: 'Role ml/reader', fields: ['rules'] }] });
  expect(dev[0].diff.risks).toEqual(['deletes PersistentVolumeClaim ml/data and its data', 'Role ml/reader: widens RBAC by /pods:list']);
  expect(dev[1].diff.added).toEqual(['PersistentVolumeClaim ml/data', 'Role ml/reader']);
  expect(dev[1].mergeRequest).toBeUndefined();
  // A cluster sees only its own files.
  expect((history.get('prod') ?? []).map((c) => [c.subject, c.diff.added])).toEqual([['ml: list pods, drop the volume', ['Role ml/reader']]]);
});

const cluster = (name: string, tier: string, mlflow: string): ClusterAudit => ({
  name,
  tier,
  kubernetesVersion: '1.33',
  objectCount: 10,
  components: [
    { name: 'mlflow', layer: '30-apps', namespace: 'mlflow', versions: [mlflow] },
    { name: 'grafana', layer: '10-platform', namespace: 'monitoring', versions: ['13.2.0'] },
  ],
  images: [{ reference: `registry.${name}/ghcr/mlflow/mlflow:${mlflow}`, upstream: `ghcr.io/mlflow/mlflow:${mlflow}` }],
  hosts: [{ host: `mlflow.${name}.internal`, ui: 'mlflow', signIn: 'proxy', users: ['ml/data-scientists'], admins: [], backend: 'mlflow/mlflow:5000' }],
  exceptions: [{ kind: 'Pod Security privileged', scope: 'namespace node-exporter', reason: 'reads the <host>' }],
  secrets: [{ name: 'sso-gitlab', namespaces: ['mlflow'], keys: [{ key: 'client-secret', description: 'GitLab application secret' }], source: 'made outside Git (external.secrets)' }],
  changes: [],
});

test('the overview shows a version one cluster runs apart as a difference, in words and in its cell', () => {
  const site = renderAuditSite({ clusters: [cluster('prod', 'prod', 'v3.16.1'), cluster('dev', 'dev', 'v3.17.0')] });
  expect(Object.keys(site).sort()).toEqual(['audit.css', 'dev.html', 'index.html', 'prod.html']);
  const index = site['index.html'];
  // Promotion order, whatever the model's: dev before prod.
  expect(index).toMatch(/<th scope="col"><a href="dev.html">dev<\/a> \(dev\)<\/th><th scope="col"><a href="prod.html">prod<\/a> \(prod\)<\/th>/);
  expect(index).toContain('<tr class="differs"><th scope="row">mlflow</th><td><code>v3.17.0</code></td><td class="lags"><code>v3.16.1</code></td><td><strong>differs</strong></td></tr>');
  expect(index).toContain('<tr><th scope="row">grafana</th><td><code>13.2.0</code></td><td><code>13.2.0</code></td><td>same</td></tr>');
  // Images compared by their upstream name, whatever mirror each cluster pulls from.
  expect(index).toContain('<tr class="differs"><th scope="row">ghcr.io/mlflow/mlflow</th>');
  const prod = site['prod.html'];
  expect(prod).toContain('<td>reads the &lt;host&gt;</td>');
  expect(prod).toContain('<td>made outside Git (external.secrets)</td>');
  expect(prod).not.toContain('<script');
});

test('an image is named by its upstream registry, whichever mirror the cluster pulls it through', () => {
  const mirrors = { 'docker.io': 'registry.prod.internal/dockerhub', 'quay.io': 'registry.prod.internal/quay' };
  expect(upstreamOf('registry.prod.internal/quay/prometheus/node-exporter:v1.12.1', mirrors)).toBe('quay.io/prometheus/node-exporter:v1.12.1');
  expect(upstreamOf('docker.io/grafana/grafana:13.2.0', mirrors)).toBe('docker.io/grafana/grafana:13.2.0');
});
