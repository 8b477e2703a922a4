// The bootstrap charts, rendered by helm with each module's values: the values a module passes
// must fit the chart (its values schema), and on an air-gapped cluster every image the chart
// renders must come through the mirrors. Planted defects show both checks bite.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { BOOTSTRAP_CHARTS } from '@ml-platform/bootstrap';
import { checkModuleCharts, moduleReleases, renderModuleCharts, withoutNulls } from './validate/charts';
import { Failure, ManifestDoc } from './validate/model';
import { apiServerAccepts, stagedObject, toolPaths } from './validate/tools';

const root = join(__dirname, '..');
const paths = toolPaths(root);
const prodModule = readFileSync(join(root, 'dist-manifests/prod/bootstrap/main.tf.json'), 'utf8');
const prodFacts = { kubernetesVersion: '1.33', mirrors: { 'docker.io': 'registry.prod.example.internal/dockerhub', 'quay.io': 'registry.prod.example.internal/quay' } };
/** The checks of this file alone: the schema layers are `npm run validate`'s, judged there. */
const noSchemaLayers = async (): Promise<Failure[]> => [];
const tools = { helm: join(paths.bin, 'helm'), sources: paths.charts, validate: noSchemaLayers };
const scratches: string[] = [];
const scratch = () => scratches[scratches.push(mkdtempSync(join(tmpdir(), 'ml-platform-charts-test-'))) - 1];
afterAll(() => scratches.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** prod's module with the values of one release edited. */
function withValues(key: string, edit: (values: string) => string): string {
  const module = JSON.parse(prodModule);
  const release = module.resource.helm_release[key];
  const edited = edit(release.values[0]);
  expect(edited).not.toBe(release.values[0]);
  release.values = [edited];
  return JSON.stringify(module);
}

describe('bootstrap charts rendered with the module values', () => {
  test('prod: every chart image from its mirrors; charts without a reachable source are named, not passed', async () => {
    const { failures, unchecked } = await checkModuleCharts('prod', prodModule, prodFacts, tools);
    expect(failures).toEqual([]);
    expect(unchecked).toEqual(['flux2 2.17.2']);
    expect(moduleReleases(prodModule).map((r) => r.chart)).toEqual(['cert-manager', 'gateway-helm', 'flux2']);
  });

  test('an image left on its upstream registry is caught, naming it', async () => {
    const module = withValues('envoy_gateway', (v) => v.replace(/global:\n {2}imageRegistry: \S+\n/, ''));
    const { failures } = await checkModuleCharts('prod', module, prodFacts, tools);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]).toMatchObject({ layer: 'bootstrap', rule: 'bootstrap/chart-image-mirror', cluster: 'prod' });
    expect(failures.map((f) => f.message)).toContain("image docker.io/envoyproxy/gateway:v1.9.1 does not come from the cluster's registry mirrors");
  });

  test("dev: Traefik renders at the catalog's appVersion, which is the one its chart ships", async () => {
    const devModule = readFileSync(join(root, 'dist-manifests/dev/bootstrap/main.tf.json'), 'utf8');
    const { failures, unchecked } = await checkModuleCharts('dev', devModule, { kubernetesVersion: '1.28', mirrors: {} }, tools);
    expect(failures).toEqual([]);
    expect(unchecked).toEqual(['flux2 2.17.2']);
    // Stamping the chart version as its appVersion made the chart refuse itself ("Traefik Proxy 41.6.0").
    const { rendered } = await renderModuleCharts('dev', devModule, '1.28', tools, scratch());
    const traefik = rendered.find((r) => r.release.key === 'traefik');
    expect(traefik?.error).toBeUndefined();
    expect(traefik?.appVersion).toBe('v3.7.13');
    const deployment = traefik?.docs.find((d) => d.kind === 'Deployment');
    expect(deployment?.spec.template.spec.containers[0].image).toBe('docker.io/traefik:v3.7.13');
  });

  test('a catalog appVersion the chart does not ship is caught, naming both', async () => {
    const wrong = BOOTSTRAP_CHARTS.map((c) => (c.key === 'cert-manager' ? { ...c, appVersion: 'v1.18.0' } : c));
    const { failures } = await checkModuleCharts('prod', prodModule, prodFacts, tools, wrong);
    expect(failures).toEqual([expect.objectContaining({ rule: 'bootstrap/chart-app-version', object: 'chart cert-manager v1.19.2', message: 'the catalog says appVersion v1.18.0, the chart ships v1.19.2' })]);
  });

  test('null fields a chart writes are read as left out, wherever they are', () => {
    expect(withoutNulls({ metadata: { name: 'x', annotations: null }, spec: { containers: [{ name: 'a', resources: null, args: ['--x', null] }] } })).toEqual({
      metadata: { name: 'x' },
      spec: { containers: [{ name: 'a', args: ['--x', null] }] },
    });
  });

  test('values the chart refuses are caught by helm itself', async () => {
    const module = withValues('cert_manager', (v) => v.replace('crds:\n  enabled: true', 'crds:\n  enabled: "yes"'));
    const { failures } = await checkModuleCharts('prod', module, prodFacts, tools);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ rule: 'bootstrap/helm-template', file: expect.stringContaining('helm template cert-manager v1.19.2') });
    expect(failures[0].message).toMatch(/helm template failed: .*crds/);
  });
});

describe('what the API server accepts and the schema tools would not', () => {
  const doc = (obj: Record<string, unknown>): ManifestDoc => ({ obj, file: 'f.yaml', index: 0 }) as unknown as ManifestDoc;
  const subdomain = { rule: 'api-schema/invalid', field: 'metadata.name', message: 'Invalid value: "a:b": a lowercase RFC 1123 subdomain must consist of …', hint: '' };

  test('an RBAC name with a colon is a valid path segment; other kinds and other names are not excused', () => {
    expect(apiServerAccepts(doc({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'cert-manager:leaderelection' } }), subdomain)).toBe(true);
    expect(apiServerAccepts(doc({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'a/b' } }), subdomain)).toBe(false);
    expect(apiServerAccepts(doc({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a:b' } }), subdomain)).toBe(false);
    expect(apiServerAccepts(doc({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'a:b' } }), { ...subdomain, field: 'rules[0].verbs' })).toBe(false);
  });

  test('a null creationTimestamp is left out of what the schema tools see, nothing else is', () => {
    const staged = stagedObject(doc({ kind: 'ClusterRole', metadata: { name: 'x', creationTimestamp: null, labels: { a: 'b' } } }));
    expect(staged.metadata).toEqual({ name: 'x', labels: { a: 'b' } });
    expect(stagedObject(doc({ kind: 'ClusterRole', metadata: { name: 'x', creationTimestamp: 'yesterday' } })).metadata).toEqual({ name: 'x', creationTimestamp: 'yesterday' });
  });
});
