import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { loadClusterConfig } from '@ml-platform/core';
import { bootstrapOf, platformRenderSpec } from './platform';
import { configErrorsAfter } from './testing';

const root = join(__dirname, '../../..');
const config = (cluster: string) => loadClusterConfig(platformRenderSpec(cluster), join(root, 'clusters', cluster, 'cluster.yaml'), `clusters/${cluster}/cluster.yaml`);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const moduleOf = (cluster: string): any => JSON.parse(bootstrapOf(config(cluster), 'generated').files[0].content);

describe('bootstrap module of each cluster', () => {
  test('installs what its render assumes: engine, issuer and the controller its routes need', () => {
    expect(Object.keys(moduleOf('dev').resource.helm_release).sort()).toEqual(['cert_manager', 'flux2', 'traefik']);
    expect(Object.keys(moduleOf('prod').resource.helm_release).sort()).toEqual(['cert_manager', 'envoy_gateway', 'flux2']);
    // The controller runs where the access layer's NetworkPolicies admit it.
    const prod = parse(readFileSync(join(root, 'clusters/prod/cluster.yaml'), 'utf8'));
    expect(moduleOf('prod').resource.helm_release.envoy_gateway.namespace).toBe(prod.routing.controller.namespace);
    expect(moduleOf('dev').resource.helm_release.traefik.values[0]).toContain('name: traefik');
  });

  test("the render creates the GatewayClass of the Envoy Gateway the module installs, cluster-scoped", () => {
    const gatewayClass = parse(readFileSync(join(root, 'dist-manifests/prod/10-platform/gateway/gatewayclass-platform.yaml'), 'utf8'));
    expect(gatewayClass).toMatchObject({ kind: 'GatewayClass', metadata: { name: 'platform' }, spec: { controllerName: 'gateway.envoyproxy.io/gatewayclass-controller' } });
    expect(gatewayClass.metadata.namespace).toBeUndefined();
  });

  test('the inventory lists the charts with their versions and source', () => {
    const inventory = readFileSync(join(root, 'dist-manifests/prod/INVENTORY.md'), 'utf8');
    expect(inventory).toContain('| cert-manager | v1.19.2 | v1.19.2 | oci://registry.prod.example.internal/charts |');
    expect(inventory).toContain('| flux2 | 2.17.2 | 2.7.5 | oci://registry.prod.example.internal/charts |');
  });

  test('air-gapped prod takes every chart and chart image from its mirrors', () => {
    const releases = Object.values(moduleOf('prod').resource.helm_release) as { repository: string; values: string[] }[];
    for (const release of releases) expect(release.repository).toBe('oci://registry.prod.example.internal/charts');
    const images = releases.flatMap((r) => [...r.values[0].matchAll(/(?:image|repository|imageRegistry): (\S+)/g)].map((m) => m[1]));
    expect(images.length).toBeGreaterThan(5);
    for (const image of images) expect(image).toMatch(/^registry\.prod\.example\.internal\//);
  });

  test('stores the agent token where agentk reads it, and the deploy token the GitRepository names', () => {
    const prod = moduleOf('prod');
    expect(prod.resource.kubernetes_secret_v1.gitlab_agent_token.metadata).toEqual({ name: 'gitlab-agent-token', namespace: 'gitlab-agent' });
    expect(prod.resource.kubernetes_secret_v1.gitops_credentials.metadata).toEqual({ name: 'ml-platform-deploy-token', namespace: 'flux-system' });
    expect(prod.resource.gitlab_cluster_agent.agent).toEqual({ project: 'platform/ml-platform', name: 'prod' });
    const source = readFileSync(join(root, 'dist-manifests/prod/gitops/flux/gitrepository-ml-platform.yaml'), 'utf8');
    expect(source).toContain('name: ml-platform-deploy-token');
  });
});

describe('bootstrap configuration refuses', () => {
  const errorsAfter = configErrorsAfter('bootstrap');

  test('a chart the catalog does not hold', () => {
    expect(errorsAfter('stage', (raw) => void (raw.bootstrap = { charts: { nginx: { version: '4.0.0' } } }))).toContain('clusters/stage/cluster.yaml: invalid cluster configuration\n  - bootstrap.charts.nginx: unknown key; expected one of the keys this mapping allows, found "nginx"');
  });

  test('an unpinned chart version', () => {
    expect(errorsAfter('stage', (raw) => void (raw.bootstrap = { charts: { flux2: { version: '^2.17.0' } } }))).toContain(
      'bootstrap.charts.flux2.version: expected an exact chart version such as 1.19.2 or v1.19.2, not a range or latest, found the string "^2.17.0"',
    );
  });

  test('an air-gapped cluster without a chart mirror', () => {
    expect(errorsAfter('prod', (raw) => void delete raw.bootstrap)).toContain("bootstrap.chartMirror: expected the site's chart mirror (oci:// or https://)");
  });

  test('a controller that does not serve the routing API', () => {
    expect(errorsAfter('dev', (raw) => void (raw.bootstrap = { routingController: 'envoy-gateway' }))).toContain(
      'bootstrap.routingController: expected a controller for routing.api ingress: envoy-gateway serves gateway (or external, when it is installed otherwise)',
    );
  });
});
