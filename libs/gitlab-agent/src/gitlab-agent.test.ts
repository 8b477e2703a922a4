import { Testing } from 'cdk8s';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import { ImageCatalog, PlatformContext, RepositoryFiles } from '@ml-platform/core';
import { GitlabAgentChart, gitlabAgentConfigSchema } from './gitlab-agent';

const context = (apiServer?: { cidrs: string[]; port: number }, kubernetesVersion = '1.28') =>
  new PlatformContext({ cluster: 'edge', kubernetesVersion, baseDomain: 'ml.edge.internal', defaultStorageClass: 'standard', images: new ImageCatalog(), apiServer });
const config = gitlabAgentConfigSchema.parse({
  enabled: true,
  kasAddress: 'wss://gitlab.example.internal/-/kubernetes-agent/',
  kasCidrs: ['10.0.0.5/32'],
  ciAccess: { projects: ['platform/ml-platform'] },
});

test('writes .gitlab/agents/<name>/config.yaml from the cluster configuration', () => {
  const app = Testing.app();
  new GitlabAgentChart(app, 'gitlab-agent', { context: context({ cidrs: ['10.1.0.1/32'], port: 6443 }), config, flux: { namespace: 'flux-system', podLabels: { app: 'notification-controller' } } });
  const [file] = RepositoryFiles.of(app).list();
  expect(file.path).toBe('.gitlab/agents/edge/config.yaml');
  expect(parse(file.content)).toEqual({
    ci_access: { projects: [{ id: 'platform/ml-platform' }] },
    flux: { webhook_receiver_url: 'http://webhook-receiver.flux-system.svc.cluster.local' },
  });
});

test('runs two hardened replicas with the token from a Secret file and no cluster-admin', () => {
  const app = Testing.app();
  const chart = new GitlabAgentChart(app, 'gitlab-agent', { context: context({ cidrs: ['10.1.0.1/32'], port: 6443 }), config });
  const objects = Testing.synth(chart);
  const deployment = objects.find((o) => o.kind === 'Deployment');
  expect(deployment.spec.replicas).toBe(2);
  const pod = deployment.spec.template.spec;
  expect(pod.serviceAccountName).toBe('gitlab-agent');
  expect(pod.containers[0].args).toEqual(['--token-file=/etc/agentk/secrets/token', '--kas-address=wss://gitlab.example.internal/-/kubernetes-agent/']);
  expect(pod.volumes).toContainEqual({ name: 'secret-gitlab-agent-token', secret: { secretName: 'gitlab-agent-token', items: [{ key: 'token', path: 'token' }], defaultMode: 0o440 } });
  const roles = objects.filter((o) => /RoleBinding$/.test(o.kind)).map((o) => o.roleRef.name);
  expect(roles).not.toContain('cluster-admin');
  expect(roles).toContain('view');
  const egress = objects.filter((o) => o.kind === 'NetworkPolicy' && o.spec.egress?.[0]?.to?.[0]?.ipBlock).map((o) => [o.metadata.name, o.spec.egress[0].to[0].ipBlock.cidr]);
  expect(egress).toEqual([
    ['allow-gitlab-agent-to-kubernetes-api-6443', '10.1.0.1/32'],
    ['allow-gitlab-agent-to-gitlab-kas-443', '10.0.0.5/32'],
  ]);
});

test('fails without the API server endpoints it must be allowed to reach', () => {
  expect(() => new GitlabAgentChart(Testing.app(), 'gitlab-agent', { context: context(), config })).toThrowError(
    'gitlab-agent talks to the Kubernetes API: set network.apiServer in cluster.yaml',
  );
});

test("lets review projects' review/* jobs act as the review deployer, which agentk alone may impersonate", () => {
  const app = Testing.app();
  const chart = new GitlabAgentChart(app, 'gitlab-agent', { context: context({ cidrs: ['10.1.0.1/32'], port: 6443 }), config: { ...config, ciAccess: { projects: ['ml/notebooks'], groups: [] } }, reviewProjects: ['platform/ml-platform'] });
  expect(parse(RepositoryFiles.of(app).list()[0].content).ci_access.projects).toEqual([
    { id: 'ml/notebooks' },
    { id: 'platform/ml-platform', environments: ['review/*'], access_as: { impersonate: { username: 'system:serviceaccount:gitlab-agent:review-deployer' } } },
  ]);
  const objects = Testing.synth(chart);
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  expect(find('ServiceAccount', 'review-deployer').automountServiceAccountToken).toBe(false);
  expect(find('Role', 'gitlab-agent-impersonate-review-deployer').rules).toEqual([{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'], resourceNames: ['review-deployer'] }]);
  expect(find('RoleBinding', 'gitlab-agent-impersonate-review-deployer').subjects).toEqual([{ kind: 'ServiceAccount', name: 'gitlab-agent', namespace: 'gitlab-agent' }]);
  // It may bind only the review namespaces' role, and holds nothing else outside them.
  const cluster = find('ClusterRole', 'review-deployer').rules;
  expect(cluster).toContainEqual({ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: ['review-deployer-namespace'] });
  expect(cluster.flatMap((r: { resources: string[] }) => r.resources).sort()).toEqual(['clusterroles', 'namespaces', 'rolebindings']);
  expect(find('ClusterRoleBinding', 'review-deployer').subjects).toEqual([{ kind: 'ServiceAccount', name: 'review-deployer', namespace: 'gitlab-agent' }]);
  expect(find('ClusterRole', 'review-deployer-namespace')).toBeDefined();
  expect(objects.filter((o) => /RoleBinding$/.test(o.kind)).map((o) => o.roleRef.name)).not.toContain('review-deployer-namespace');
});

test('from Kubernetes 1.30, an admission policy confines the review deployer to namespaces labelled as reviews', () => {
  const chart = (kubernetesVersion: string) =>
    Testing.synth(new GitlabAgentChart(Testing.app(), 'gitlab-agent', { context: context({ cidrs: ['10.1.0.1/32'], port: 6443 }, kubernetesVersion), config, reviewProjects: ['platform/ml-platform'] }));
  expect(chart('1.28').filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'))).toEqual([]);
  const objects = chart('1.34');
  const policy = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy');
  expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
  expect(policy.spec.matchConditions).toEqual([{ name: 'review-deployer', expression: "request.userInfo.username == 'system:serviceaccount:gitlab-agent:review-deployer'" }]);
  expect(objects.find((o) => o.kind === 'ValidatingAdmissionPolicyBinding').spec).toEqual({ policyName: policy.metadata.name, validationActions: ['Deny'] });
});
