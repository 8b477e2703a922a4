// A review environment applied and deleted as its job does it, on a real kube-apiserver with RBAC:
// with agentk's own token, impersonating the review deployer, each holding only what dev's render
// grants it.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse } from 'yaml';
import { REVIEW_LABEL } from '@ml-platform/core';
import { REVIEW_DEPLOYER } from '@ml-platform/gitlab-agent';
import { renderReview } from '@ml-platform/platform';
import { apiServerBuilds, ControlPlane } from './server/control-plane';
import { applyObject, bootstrapCrds, BOOTSTRAP_NAMESPACES, installBootstrap } from './server/dry-run';
import { Json } from './validate/model';

const root = join(__dirname, '..');
const review = renderReview('dev', 'mr-5', join(root, 'clusters/dev/cluster.yaml'), 'clusters/dev/cluster.yaml');
const deployer = `system:serviceaccount:${REVIEW_DEPLOYER.namespace}:${REVIEW_DEPLOYER.serviceAccount}`;
const copied = { REVIEW_SECRET_SSO_GITLAB: 'from-gitlab', REVIEW_SECRET_ML_PLATFORM_DEPLOY_TOKEN: 'username=deployer\npassword=token-value' };
let cp: ControlPlane;

/**
 * What dev's own render grants agentk and the deployer it impersonates (its gitlab-agent chart):
 * their ServiceAccounts and every role and binding that names the deployer.
 */
function deployerRbac(): Json[] {
  const dir = join(root, 'dist-manifests/dev/10-platform/gitlab-agent');
  return readdirSync(dir)
    .map((f) => parse(readFileSync(join(dir, f), 'utf8')))
    .filter((o) => (o.kind === 'ServiceAccount' && o.metadata.name === 'gitlab-agent') || (/Role|ServiceAccount/.test(o.kind) && /review-deployer/.test(o.metadata.name)));
}
/** A kubeconfig as the GitLab agent's CI access gives a review job: agentk's token, acting as the deployer. */
let asAgentk: string;
let agentkToken: string;

const asDeployer = (obj: Json, dryRun = false) => applyObject(cp, obj, { dryRun, as: deployer });

beforeAll(async () => {
  const build = apiServerBuilds(root).find((b) => b.kubernetesVersion === review.config.kubernetesVersion) as { binary: string };
  cp = await ControlPlane.start({ kubeApiserver: build.binary, etcd: execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim() });
  expect(await installBootstrap(cp, bootstrapCrds(root), [...BOOTSTRAP_NAMESPACES, REVIEW_DEPLOYER.namespace])).toEqual([]);
  const rbac = deployerRbac();
  expect(rbac.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ServiceAccount', 'ServiceAccount']);
  for (const obj of rbac) expect((await applyObject(cp, obj, { dryRun: false })).message).toBeUndefined();
  const token = await cp.request('POST', `/api/v1/namespaces/${REVIEW_DEPLOYER.namespace}/serviceaccounts/gitlab-agent/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
  expect(token.status, JSON.stringify(token.body)).toBe(201);
  agentkToken = token.body.status.token;
  asAgentk = cp.kubeconfig(deployer, agentkToken);
});
afterAll(async () => {
  await cp?.stop();
});

test("the job's script applies the whole review as the deployer, and applies it again without touching its Secrets", async () => {
  const env = { ...process.env, ...copied, KUBECONFIG: asAgentk, PATH: `${join(root, '.tools/bin')}:${process.env.PATH}`, REVIEW_WAIT: '0' };
  const first = spawnSync('bash', [join(root, 'tools/review-env.sh'), 'apply', 'dev', 'mr-5'], { cwd: root, env, encoding: 'utf8' });
  expect(first.status, first.stdout + first.stderr).toBe(0);
  expect(first.stdout).toContain('secret/postgres-superuser created');
  // The review's namespaces and workloads are there, each where the render put it.
  const namespaces = await cp.request('GET', `/api/v1/namespaces?labelSelector=${encodeURIComponent(`${REVIEW_LABEL}=mr-5`)}`);
  expect(namespaces.body.items.map((n: Json) => n.metadata.name).sort()).toEqual([...review.namespaces].sort());
  const deployments = await cp.request('GET', '/apis/apps/v1/deployments');
  expect(deployments.body.items.map((d: Json) => `${d.metadata.namespace}/${d.metadata.name}`).sort()).toEqual(
    review.objects.filter((o) => o.kind === 'Deployment').map((o) => `${o.namespace}/${o.name}`).sort(),
  );
  const password = async () => (await cp.request('GET', '/api/v1/namespaces/mr-5-postgres/secrets/postgres-superuser')).body.data.password;
  const before = await password();
  const again = spawnSync('bash', [join(root, 'tools/review-env.sh'), 'apply', 'dev', 'mr-5'], { cwd: root, env, encoding: 'utf8' });
  expect(again.status, again.stdout + again.stderr).toBe(0);
  expect(await password()).toBe(before);
  // The values went into the cluster, never into the job's log.
  expect(first.stdout + first.stderr + again.stdout + again.stderr).not.toContain(Buffer.from(before, 'base64').toString());
});

test('outside its namespaces the deployer may not act, nor grant itself more inside them', async () => {
  const refused = async (obj: Json) => (await asDeployer(obj, true)).message ?? '';
  expect(await refused({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'flux-system' } })).toMatch(/forbidden/);
  expect(await refused({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'x' }, rules: [] })).toMatch(/forbidden/);
  const escalation = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'x', namespace: 'mr-5-mlflow' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', name: 'review-deployer', namespace: 'gitlab-agent' }] };
  expect(await refused(escalation)).toMatch(/forbidden/);
  // agentk may act as the deployer and nobody else.
  const kubectl = (kubeconfig: string) => spawnSync(join(root, '.tools/bin/kubectl'), ['get', 'namespaces', '-o', 'name'], { env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8' });
  expect(kubectl(asAgentk).status).toBe(0);
  const other = kubectl(cp.kubeconfig('system:serviceaccount:flux-system:default', agentkToken));
  expect(other.status).not.toBe(0);
  expect(other.stderr).toMatch(/cannot impersonate/);
});

test("the stop job's command deletes every namespace of the review, and only those", async () => {
  const stop = readFileSync(join(root, '.gitlab-ci.yml'), 'utf8').match(/^ {4}- (kubectl delete namespace .*)$/m)?.[1] as string;
  const r = spawnSync('bash', ['-c', stop], { env: { ...process.env, KUBECONFIG: asAgentk, PATH: `${join(root, '.tools/bin')}:${process.env.PATH}`, CI_ENVIRONMENT_SLUG: 'mr-5' }, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout.trim().split('\n').sort()).toEqual(review.namespaces.map((n) => `namespace "${n}" deleted`).sort());
  const left = await cp.request('GET', `/api/v1/namespaces?labelSelector=${encodeURIComponent(`${REVIEW_LABEL}=mr-5`)}`);
  for (const ns of left.body.items as Json[]) expect(ns.status.phase).toBe('Terminating');
  expect((await cp.request('GET', '/api/v1/namespaces/gitlab-agent')).body.status.phase).toBe('Active');
});
