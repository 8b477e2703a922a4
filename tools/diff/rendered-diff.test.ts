// The rendered diff on real changes to a copy of the committed prod render, in a scratch Git
// repository: an image bump, a replica change, a removed component and widened RBAC.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse, stringify } from 'yaml';
import { diffTrees, markdown, treeAtRef, treeOnDisk } from './rendered-diff';

const root = join(__dirname, '../..');
let repo: string;
const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', ...args], { cwd: repo, encoding: 'utf8' });
const edit = (file: string, change: (o: ReturnType<typeof parse>) => void) => {
  const path = join(repo, 'dist-manifests/prod', file);
  const obj = parse(readFileSync(path, 'utf8'));
  change(obj);
  writeFileSync(path, stringify(obj));
};

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'ml-platform-diff-'));
  mkdirSync(join(repo, 'dist-manifests'));
  cpSync(join(root, 'dist-manifests/prod'), join(repo, 'dist-manifests/prod'), { recursive: true });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'base');
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

test('an unchanged tree has no differences', () => {
  expect(diffTrees(treeAtRef(repo, 'HEAD'), treeOnDisk(repo))).toEqual([]);
  expect(markdown([], 'HEAD')).toContain("No cluster's rendered manifests change.");
});

test('reports added, changed and removed objects, image changes and the risky ones', () => {
  edit('30-apps/mlflow/deployment-mlflow.yaml', (o) => {
    o.spec.replicas = 3;
    o.spec.template.spec.containers[0].image = o.spec.template.spec.containers[0].image.replace('v3.16.1-full', 'v3.17.0-full');
  });
  rmSync(join(repo, 'dist-manifests/prod/20-data/minio'), { recursive: true });
  rmSync(join(repo, 'dist-manifests/prod/00-cluster/minio'), { recursive: true });
  edit('10-platform/gitlab-agent/clusterrole-gitlab-agent-flux.yaml', (o) => {
    o.rules.push({ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] });
  });
  writeFileSync(join(repo, 'dist-manifests/prod/30-apps/mlflow/role-extra.yaml'), stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'extra', namespace: 'mlflow' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] }));

  const [prod] = diffTrees(treeAtRef(repo, 'HEAD'), treeOnDisk(repo));
  expect(prod.cluster).toBe('prod');
  expect(prod.added).toEqual(['Role mlflow/extra']);
  expect(prod.removed).toContain('StatefulSet minio/minio');
  expect(prod.removed).toContain('Namespace minio');
  expect(prod.changed).toContainEqual({ object: 'Deployment mlflow/mlflow', fields: ['spec.replicas', 'spec.template.spec.containers'] });
  expect(prod.images).toEqual([
    { workload: 'Deployment mlflow/mlflow', container: 'mlflow', from: 'registry.prod.example.internal/ghcr/mlflow/mlflow:v3.16.1-full', to: 'registry.prod.example.internal/ghcr/mlflow/mlflow:v3.17.0-full' },
  ]);
  expect(prod.risks).toEqual(
    expect.arrayContaining([
      'deletes namespace minio and everything in it',
      "deletes StatefulSet minio/minio; its volumes stay (retention policy Retain) but the service stops",
      'removes the default deny in namespace minio',
      'ClusterRole gitlab-agent-flux: widens RBAC by /secrets:get, /secrets:list',
      'Role mlflow/extra: new role with wildcard grants (*/*:*)',
    ]),
  );
  // A replica change is visible but not called out as risky.
  expect(prod.risks.some((r) => r.includes('mlflow/mlflow'))).toBe(false);
  const md = markdown([prod], 'main');
  expect(md).toContain('| prod | 1 | 2 | ');
  expect(md).toContain(':warning: ClusterRole gitlab-agent-flux: widens RBAC by /secrets:get, /secrets:list');
});

test('a change to the bootstrap module shows beside the manifests: a chart moved, one uninstalled, a provider pinned anew', () => {
  git('add', '-A');
  git('commit', '-qm', 'the changes above');
  const path = join(repo, 'dist-manifests/prod/bootstrap/main.tf.json');
  const module = JSON.parse(readFileSync(path, 'utf8'));
  module.resource.helm_release.cert_manager.version = 'v1.19.4';
  delete module.resource.helm_release.envoy_gateway;
  delete module.resource.kubernetes_secret_v1.sops_age;
  module.terraform.required_providers.helm.version = '3.1.0';
  writeFileSync(path, JSON.stringify(module, null, 2));

  const [prod] = diffTrees(treeAtRef(repo, 'HEAD'), treeOnDisk(repo));
  expect(prod.changed).toEqual([
    { object: 'Bootstrap helm_release.cert_manager', fields: ['spec.version'] },
    { object: 'Bootstrap providers', fields: ['spec.helm.version'] },
  ]);
  expect(prod.removed).toEqual(['Bootstrap helm_release.envoy_gateway', 'Bootstrap kubernetes_secret_v1.sops_age']);
  expect(prod.risks).toEqual(['uninstalls chart gateway-helm (release envoy-gateway) at the next bootstrap apply', 'deletes Secret flux-system/sops-age at the next bootstrap apply']);
});
