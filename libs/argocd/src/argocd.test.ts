import { Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { expect, test } from 'vitest';
import { ImageCatalog, Layer, PlatformChart, PlatformContext } from '@ml-platform/core';
import { ArgoCdSyncChart } from './argocd';

const context = new PlatformContext({ cluster: 'edge', kubernetesVersion: '1.28', baseDomain: 'ml.edge.internal', defaultStorageClass: 'standard', images: new ImageCatalog() });
const repository = { url: 'https://gitlab.example.internal/platform/ml-platform.git', branch: 'main' };

function render() {
  const app = Testing.app();
  const store = new PlatformChart(app, 'store', { context, layer: Layer.DATA });
  new k8s.KubeClusterRole(store, 'Reader', { metadata: { name: 'reader' } });
  new PlatformChart(app, 'tracker', { context, layer: Layer.APPS });
  return Testing.synth(new ArgoCdSyncChart(app, 'argocd', { context, repository }));
}

test('the AppProject admits only this repository, the platform namespaces and the kinds it renders', () => {
  const project = render().find((o) => o.kind === 'AppProject');
  expect(project.spec.sourceRepos).toEqual([repository.url]);
  expect(project.spec.destinations.map((d: { namespace: string }) => d.namespace)).toEqual(['argocd', 'store', 'tracker']);
  expect(project.spec.clusterResourceWhitelist).toEqual([
    { group: '', kind: 'Namespace' },
    { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  ]);
  expect(project.spec.namespaceResourceWhitelist).toEqual(
    expect.arrayContaining([{ group: 'networking.k8s.io', kind: 'NetworkPolicy' }, { group: 'argoproj.io', kind: 'Application' }]),
  );
});

test('an app-of-apps with one Application per layer in sync-wave order, pruning and self-healing', () => {
  const apps = render().filter((o) => o.kind === 'Application');
  expect(apps.map((a) => [a.metadata.name, a.metadata.annotations['argocd.argoproj.io/sync-wave'], a.spec.source.path])).toEqual([
    ['ml-platform-gitops', '0', 'dist-manifests/edge/gitops'],
    ['ml-platform-00-cluster', '1', 'dist-manifests/edge/00-cluster'],
    ['ml-platform-20-data', '2', 'dist-manifests/edge/20-data'],
    ['ml-platform-30-apps', '3', 'dist-manifests/edge/30-apps'],
  ]);
  for (const a of apps) {
    expect(a.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
    expect(a.spec.source.directory).toEqual({ recurse: true });
    expect(a.metadata.finalizers).toEqual(['resources-finalizer.argocd.argoproj.io']);
  }
});
