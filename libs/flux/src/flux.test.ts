import { Testing } from 'cdk8s';
import { expect, test } from 'vitest';
import { collectObjects, ImageCatalog, Layer, PlatformChart, PlatformContext } from '@ml-platform/core';
import { FluxSyncChart } from './flux';

const context = new PlatformContext({ cluster: 'edge', kubernetesVersion: '1.28', baseDomain: 'ml.edge.internal', defaultStorageClass: 'standard', images: new ImageCatalog() });
const repository = { url: 'https://gitlab.example.internal/platform/ml-platform.git', branch: 'main', credentialsSecret: 'deploy-token' };

test('one Kustomization per rendered layer, chained in apply order, pruning and waiting', () => {
  const app = Testing.app();
  new PlatformChart(app, 'store', { context, layer: Layer.DATA });
  new PlatformChart(app, 'tracker', { context, layer: Layer.APPS });
  const flux = new FluxSyncChart(app, 'flux', { context, repository, sopsLayers: [Layer.DATA] });
  const kustomizations = Testing.synth(flux).filter((o) => o.kind === 'Kustomization');
  expect(kustomizations.map((k) => [k.metadata.name, k.spec.path, k.spec.dependsOn?.[0]?.name])).toEqual([
    ['ml-platform-gitops', './dist-manifests/edge/gitops', undefined],
    ['ml-platform-00-cluster', './dist-manifests/edge/00-cluster', undefined],
    ['ml-platform-20-data', './dist-manifests/edge/20-data', 'ml-platform-00-cluster'],
    ['ml-platform-30-apps', './dist-manifests/edge/30-apps', 'ml-platform-20-data'],
  ]);
  for (const k of kustomizations.slice(1)) expect(k.spec).toMatchObject({ prune: true, wait: true, sourceRef: { kind: 'GitRepository', name: 'ml-platform' } });
  expect(kustomizations[2].spec.decryption).toEqual({ provider: 'sops', secretRef: { name: 'sops-age' } });
  expect(kustomizations[3].spec.decryption).toBeUndefined();
});

test('the GitRepository follows the branch with credentials by reference and only this cluster\'s tree', () => {
  const app = Testing.app();
  new PlatformChart(app, 'store', { context, layer: Layer.DATA });
  const source = Testing.synth(new FluxSyncChart(app, 'flux', { context, repository })).find((o) => o.kind === 'GitRepository');
  expect(source.spec).toEqual({ interval: '5m', url: repository.url, ref: { branch: 'main' }, secretRef: { name: 'deploy-token' }, ignore: '/*\n!/dist-manifests/edge/\n' });
  expect(source.metadata.namespace).toBe('flux-system');
});

test('fails when created before the charts it should deliver', () => {
  const app = Testing.app();
  new FluxSyncChart(app, 'flux', { context, repository });
  new PlatformChart(app, 'late', { context, layer: Layer.APPS });
  expect(() => collectObjects(app)).toThrowError(/FluxSyncChart was created before other charts; create it last so it covers every layer/);
});
