// A review environment applied and deleted as its job does it, on a real kube-apiserver with RBAC:
// with agentk's own token, impersonating the review deployer, each holding only what dev's render
// grants it.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { loadClusterConfig, renderInMemory, REVIEW_LABEL } from '@ml-platform/core';
import { REVIEW_DEPLOYER } from '@ml-platform/gitlab-agent';
import { platformRenderSpec, renderReview } from '@ml-platform/platform';
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

/** A token of agentk's own ServiceAccount (TokenRequest), as agentk holds in the cluster. */
async function agentkTokenOf(server: ControlPlane): Promise<string> {
  const token = await server.request('POST', `/api/v1/namespaces/${REVIEW_DEPLOYER.namespace}/serviceaccounts/gitlab-agent/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
  expect(token.status, JSON.stringify(token.body)).toBe(201);
  return token.body.status.token;
}

const asDeployer = (obj: Json, dryRun = false) => applyObject(cp, obj, { dryRun, as: deployer });

beforeAll(async () => {
  const build = apiServerBuilds(root).find((b) => b.kubernetesVersion === review.config.kubernetesVersion) as { binary: string };
  cp = await ControlPlane.start({ kubeApiserver: build.binary, etcd: execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim() });
  expect(await installBootstrap(cp, bootstrapCrds(root), [...BOOTSTRAP_NAMESPACES, REVIEW_DEPLOYER.namespace])).toEqual([]);
  const rbac = deployerRbac();
  expect(rbac.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ServiceAccount', 'ServiceAccount']);
  for (const obj of rbac) expect((await applyObject(cp, obj, { dryRun: false })).message).toBeUndefined();
  agentkToken = await agentkTokenOf(cp);
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

describe('from Kubernetes 1.30, where the admission policy confines the deployer', () => {
  let newer: ControlPlane;
  let kubeconfig: string;
  const kubectl = (...args: string[]) => spawnSync(join(root, '.tools/bin/kubectl'), args, { env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8' });
  /** The error kubectl prints when the policy refuses what it was asked (as agentk acting as the deployer). */
  const refusedByPolicy = (...args: string[]) => {
    const r = kubectl(...args);
    if (r.status === 0) throw new Error(`kubectl ${args.join(' ')} was allowed: ${r.stdout}`);
    expect(r.stderr).toContain('review-deployer-confined');
    return r.stderr;
  };

  beforeAll(async () => {
    // dev's render, as it would be on Kubernetes 1.34: its agent chart then renders the policy.
    const spec = platformRenderSpec('dev');
    const config = loadClusterConfig(spec, join(root, 'clusters/dev/cluster.yaml'), 'clusters/dev/cluster.yaml');
    const objects = renderInMemory(spec, { ...config, kubernetesVersion: '1.34' }).objects.filter((o) => o.component === 'gitlab-agent');
    const applied = objects.filter((o) => /ServiceAccount|Role|ValidatingAdmissionPolicy/.test(o.kind) && /review-deployer|^gitlab-agent$/.test(o.name));
    expect(applied.map((o) => o.kind).filter((k) => k.startsWith('Validating')).sort()).toEqual(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
    const build = apiServerBuilds(root).find((b) => b.kubernetesVersion === '1.34') as { binary: string };
    newer = await ControlPlane.start({ kubeApiserver: build.binary, etcd: execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim() });
    expect(await installBootstrap(newer, [], [...BOOTSTRAP_NAMESPACES, REVIEW_DEPLOYER.namespace])).toEqual([]);
    for (const o of applied) expect((await applyObject(newer, o.manifest, { dryRun: false })).message, o.path).toBeUndefined();
    kubeconfig = newer.kubeconfig(deployer, await agentkTokenOf(newer));
    // The API server takes a new policy into force within seconds: wait for a dry-run it refuses.
    for (let i = 0; i < 100 && kubectl('create', 'namespace', 'probe', '--dry-run=server').status === 0; i++) await new Promise((res) => setTimeout(res, 200));
  });
  afterAll(async () => {
    await newer?.stop();
  });

  test("the deployer may not create, label or delete the cluster's own namespaces, nor bind roles in them", () => {
    expect(refusedByPolicy('create', 'namespace', 'not-a-review')).toContain('may create, change and delete only namespaces labelled ml-platform.example/review');
    expect(refusedByPolicy('label', 'namespace', 'flux-system', 'ml-platform.example/review=mr-1')).toContain('review-deployer-confined');
    expect(refusedByPolicy('delete', 'namespace', 'flux-system')).toContain('review-deployer-confined');
    const bind = ['create', 'rolebinding', 'review-deployer', '--clusterrole=review-deployer-namespace', '--serviceaccount=gitlab-agent:review-deployer'];
    expect(refusedByPolicy(...bind, '-n', 'flux-system')).toContain('may bind roles only in namespaces labelled ml-platform.example/review');
  });

  test("a review's own namespace it creates, binds in and deletes", () => {
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mr-1-mlflow', labels: { [REVIEW_LABEL]: 'mr-1' } } };
    const create = spawnSync(join(root, '.tools/bin/kubectl'), ['create', '-f', '-'], { input: JSON.stringify(namespace), env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8' });
    expect(create.status, create.stderr).toBe(0);
    const bind = kubectl('create', 'rolebinding', 'review-deployer', '--clusterrole=review-deployer-namespace', '--serviceaccount=gitlab-agent:review-deployer', '-n', 'mr-1-mlflow');
    expect(bind.status, bind.stderr).toBe(0);
    const remove = kubectl('delete', 'namespace', 'mr-1-mlflow', '--wait=false');
    expect(remove.status, remove.stderr).toBe(0);
  });
});
