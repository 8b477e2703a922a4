import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parse, stringify } from 'yaml';
import { Layer, REVIEW_LABEL } from '@ml-platform/core';
import { REVIEW_NAMESPACE_RULES } from '@ml-platform/gitlab-agent';
import { deployerGaps, renderReview } from './review';
import { configErrorsAfter } from './testing';

const root = join(__dirname, '../../..');
const devConfig = join(root, 'clusters/dev/cluster.yaml');
const scratch = mkdtempSync(join(tmpdir(), 'ml-platform-review-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Renders review `slug` of dev after `edit` of its cluster.yaml; the error, if any, as the CLI prints it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function reviewAfter(slug: string, edit: (raw: any) => void = () => undefined) {
  const raw = parse(readFileSync(devConfig, 'utf8'));
  edit(raw);
  const file = join(scratch, `dev-${slug}.yaml`);
  writeFileSync(file, stringify(raw));
  return renderReview('dev', slug, file, 'clusters/dev/cluster.yaml');
}
const errorOf = (run: () => unknown) => {
  try {
    run();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('no error');
};

describe('review environment of dev', () => {
  const review = reviewAfter('mr-7');
  const manifests = review.objects.map((o) => o.manifest);

  test('creates only namespaces of its own, prefixed and labelled with its slug, and nothing cluster-wide', () => {
    const namespaces = manifests.filter((m) => m.kind === 'Namespace');
    expect(namespaces.map((n) => n.metadata.name)).toContain('mr-7-mlflow');
    for (const ns of namespaces) {
      expect(ns.metadata.name).toMatch(/^mr-7-/);
      expect(ns.metadata.labels[REVIEW_LABEL]).toBe('mr-7');
    }
    for (const m of manifests.filter((x) => x.kind !== 'Namespace')) expect(m.metadata.namespace, `${m.kind} ${m.metadata.name}`).toMatch(/^mr-7-/);
  });

  test('each namespace is applied with the binding that lets the review deployer apply the rest of it', () => {
    const bindings = review.objects.filter((o) => o.kind === 'RoleBinding' && o.name === 'review-deployer');
    expect(bindings.map((b) => b.namespace).sort()).toEqual([...review.namespaces].sort());
    for (const b of bindings) {
      expect(b.path).toMatch(/^00-cluster\//);
      expect(b.manifest.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'review-deployer-namespace' });
      expect(b.manifest.subjects).toEqual([{ kind: 'ServiceAccount', name: 'review-deployer', namespace: 'gitlab-agent' }]);
    }
  });

  test('holds the apps layer with its own data services, without what serves the whole cluster or the GitOps entry points', () => {
    const components = new Set(review.objects.map((o) => o.component));
    for (const own of ['postgres', 'minio', 'redis', 'mlflow', 'jupyterhub', 'airflow', 'serving']) expect(components).toContain(own);
    for (const clusterWide of ['monitoring', 'logging', 'log-shipper', 'gitlab-agent', 'flux', 'node-exporter', 'access']) expect(components).not.toContain(clusterWide);
    expect(review.files.map((f) => f.path).filter((p) => p.startsWith('gitops/') || p.startsWith('bootstrap/'))).toEqual([]);
  });

  test('serves its UIs under its own review subdomain and reaches its own services', () => {
    const hosts = manifests.filter((m) => m.kind === 'Ingress').flatMap((m) => m.spec.rules.map((r: { host: string }) => r.host));
    expect(hosts).toContain('mlflow.mr-7.review.ml.dev.example.internal');
    for (const host of hosts) expect(host).toMatch(/\.mr-7\.review\.ml\.dev\.example\.internal$/);
    const text = JSON.stringify(manifests);
    expect(text).toContain('postgres.mr-7-postgres.svc.cluster.local');
    expect(text).not.toMatch(/[.]postgres[.]svc/);
  });

  test("asks no Prometheus to scrape it: dev's may not reach it, and would count its pods as targets down", () => {
    expect(JSON.stringify(manifests)).not.toContain('prometheus.io/scrape');
  });

  test('runs one pod of everything on small volumes', () => {
    for (const m of manifests.filter((x) => ['Deployment', 'StatefulSet'].includes(x.kind))) expect(m.spec.replicas ?? 1, `${m.kind} ${m.metadata.namespace}/${m.metadata.name}`).toBe(1);
    const claims = manifests.flatMap((m) => (m.kind === 'StatefulSet' ? (m.spec.volumeClaimTemplates ?? []) : m.kind === 'PersistentVolumeClaim' ? [m] : []));
    expect(claims.length).toBeGreaterThan(2);
    for (const c of claims) expect(c.spec.resources.requests.storage).toBe('1Gi');
  });

  test('takes no Secret from Git: its job makes them all, copying only what the base cluster gets from GitLab', () => {
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    expect(review.copied.sort()).toEqual(['ml-platform-deploy-token', 'sso-gitlab']);
    const superuser = review.secrets.find((s) => s.name === 'postgres-superuser');
    expect(superuser?.namespaces).toEqual(['mr-7-postgres']);
  });
});

describe('bad review input is refused, naming file and key', () => {
  test('a slug that is not a DNS label, or too long for the namespaces it prefixes', () => {
    expect(errorOf(() => reviewAfter('Feature_X'))).toContain('clusters/dev/cluster.yaml: invalid cluster configuration\n  - review slug (--slug): expected a DNS label of at most 24 characters');
    expect(errorOf(() => reviewAfter('a'.repeat(25)))).toContain(`review slug (--slug): expected a DNS label of at most 24 characters (lower-case letters, digits and '-', starting and ending with a letter or digit), as GitLab's CI_ENVIRONMENT_SLUG is; found "${'a'.repeat(25)}"`);
  });

  test('a cluster without a review section', () => {
    expect(errorOf(() => reviewAfter('mr-7', (raw) => delete raw.review))).toContain('review: expected the review section: this cluster holds no review environments');
  });

  test('a review whose components break a rule of the platform', () => {
    const message = errorOf(() => reviewAfter('mr-7', (raw) => (raw.review.components = ['minio', 'mlflow'])));
    expect(message).toContain("review environment 'mr-7', as review.components makes it: components.mlflow.enabled: expected false while components.postgres.enabled is false");
  });

  const errorsAfter = configErrorsAfter('review');
  test('a review section in stage, a cluster-wide or unknown component', () => {
    expect(errorsAfter('stage', (raw) => (raw.review = {}))).toContain('review: expected no review section in tier stage');
    const dev = errorsAfter('dev', (raw) => (raw.review.components = ['mlflow', 'monitoring', 'mlfow']));
    expect(dev).toContain('review.components.1: expected a component a review can hold: monitoring serves the whole cluster');
    expect(dev).toContain("review.components.2: expected one of the platform's components (postgres, minio,");
    expect(errorsAfter('dev', (raw) => (raw.components.gitlabAgent.ciAccess = { projects: ['platform/ml-platform'] }))).toContain(
      'review: expected platform/ml-platform under components.gitlabAgent.ciAccess.projects or as a review project, not both',
    );
    expect(errorsAfter('dev', (raw) => (raw.components.gitlabAgent.enabled = false))).toContain('review: expected components.gitlabAgent enabled: review jobs apply their environments through the GitLab agent');
  });
});

describe('the review deployer', () => {
  test('may apply every object of a review and grant every rule of its Roles, and the check says what it may not', () => {
    const review = reviewAfter('mr-8');
    // Namespaces and their bindings (00-cluster) come under its cluster-wide role.
    expect(deployerGaps(review.objects.filter((o) => o.layer !== Layer.CLUSTER), REVIEW_NAMESPACE_RULES)).toEqual([]);
    const object = (kind: string, apiVersion: string, manifest: object = {}) => ({ path: 'x', layer: review.objects[0].layer, component: 'c', kind, name: 'n', namespace: 'mr-8-c', manifest: { apiVersion, kind, ...manifest } });
    expect(
      deployerGaps(
        [object('ServiceMonitor', 'monitoring.coreos.com/v1'), object('Role', 'rbac.authorization.k8s.io/v1', { rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }] })],
        REVIEW_NAMESPACE_RULES,
      ),
    ).toEqual(['create servicemonitors.monitoring.coreos.com (ServiceMonitor mr-8-c/n)', 'get nodes (granted by Role mr-8-c/n)', 'get servicemonitors.monitoring.coreos.com (ServiceMonitor mr-8-c/n)', 'patch servicemonitors.monitoring.coreos.com (ServiceMonitor mr-8-c/n)']);
  });
});
