import { describe, expect, it } from 'vitest';
import { ChartCatalog, helmChart } from '@ml-platform/core';
import { BOOTSTRAP_CHARTS } from './charts';
import { BootstrapModuleProps, gitlabProjectPath, renderBootstrapModule } from './module';
import { parse } from 'yaml';
import { bootstrapJobs } from './pipeline';
import { planSummary } from './plan-summary';
import { literal, TerraformModule } from './terraform';

const base: BootstrapModuleProps = {
  cluster: 'prod',
  tier: 'prod',
  header: 'generated',
  charts: new ChartCatalog({ known: BOOTSTRAP_CHARTS }),
  registryMirrors: {},
  gitops: { engine: 'flux', namespace: 'flux-system', repositoryUrl: 'https://gitlab.example.internal/platform/ml-platform.git', credentialsSecret: 'deploy-token' },
  routing: { controller: 'envoy-gateway', namespace: 'envoy-gateway-system', className: 'platform' },
  certManager: true,
  sopsAgeKey: true,
  gitlab: { url: 'https://gitlab.example.internal', project: 'platform/ml-platform' },
  agent: { name: 'prod', namespace: 'gitlab-agent', tokenSecret: 'gitlab-agent-token' },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const render = (props: Partial<BootstrapModuleProps> = {}): any => JSON.parse(renderBootstrapModule({ ...base, ...props }).files[0].content);

describe('bootstrap module', () => {
  it('installs the charts the cluster needs, pinned, from the mirror when the site has one', () => {
    const mirrored = render({ charts: new ChartCatalog({ known: BOOTSTRAP_CHARTS, mirror: 'oci://registry.internal/charts/', pins: { 'cert-manager': { version: 'v1.19.4' } } }), registryMirrors: { 'quay.io': 'registry.internal/quay', 'ghcr.io': 'registry.internal/ghcr', 'docker.io': 'registry.internal/hub' } });
    const releases = mirrored.resource.helm_release;
    expect(Object.keys(releases).sort()).toEqual(['cert_manager', 'envoy_gateway', 'flux2']);
    expect(releases.cert_manager).toMatchObject({ repository: 'oci://registry.internal/charts', chart: 'cert-manager', version: 'v1.19.4', namespace: 'cert-manager', atomic: true });
    expect(releases.cert_manager.values[0]).toContain('repository: registry.internal/quay/jetstack/cert-manager-controller');
    expect(releases.cert_manager.values[0]).toMatch(/crds:\n {2}enabled: true\n {2}keep: true/);
    expect(releases.flux2.values[0]).toContain('image: registry.internal/ghcr/fluxcd/source-controller');
    expect(releases.envoy_gateway).toMatchObject({ namespace: 'envoy-gateway-system', chart: 'gateway-helm', version: 'v1.9.1' });
    expect(releases.envoy_gateway.values[0]).toContain('imageRegistry: registry.internal/hub');
  });

  it('follows the engine and the routing controller', () => {
    const module = render({ gitops: { ...base.gitops, engine: 'argocd', namespace: 'argocd' }, routing: { controller: 'traefik', namespace: 'traefik', className: 'traefik' }, sopsAgeKey: false });
    const releases = module.resource.helm_release;
    expect(Object.keys(releases).sort()).toEqual(['argo_cd', 'cert_manager', 'traefik']);
    expect(releases.argo_cd.values[0]).toContain('resource.customizations.health.argoproj.io_Application');
    expect(releases.traefik.values[0]).toMatch(/ingressClass:\n {2}enabled: true\n {2}isDefaultClass: false\n {2}name: traefik/);
    // Argo CD finds the repository's credentials by label and URL.
    expect(module.resource.kubernetes_secret_v1.gitops_credentials.metadata.labels).toEqual({ 'argocd.argoproj.io/secret-type': 'repository' });
    expect(module.resource.kubernetes_secret_v1.gitops_credentials.data.url).toBe(base.gitops.repositoryUrl);
    expect(module.resource.kubernetes_secret_v1.sops_age).toBeUndefined();
    expect(render({ routing: { ...base.routing, controller: 'external' } }).resource.helm_release.envoy_gateway).toBeUndefined();
  });

  it('keeps the age key out of plans and state, and the GitLab token too', () => {
    const module = render();
    expect(module.variable.sops_age_key).toMatchObject({ sensitive: true, ephemeral: true });
    expect(module.variable.gitlab_token).toMatchObject({ sensitive: true, ephemeral: true });
    const secret = module.resource.kubernetes_secret_v1.sops_age;
    expect(secret.data).toBeUndefined();
    expect(secret.data_wo).toEqual({ 'age.agekey': '${var.sops_age_key}' });
    expect(secret.data_wo_revision).toBe('${var.sops_age_key_revision}');
    expect(secret.depends_on).toEqual(['helm_release.flux2']);
    expect(module.terraform.backend).toEqual({ http: {} });
    expect(module.terraform.required_version).toBe('>= 1.11.0');
  });

  it('registers the agent and stores its token and the deploy token where they are read', () => {
    const module = render();
    expect(module.resource.gitlab_cluster_agent.agent).toEqual({ project: 'platform/ml-platform', name: 'prod' });
    expect(module.resource.gitlab_cluster_agent_token.agent.agent_id).toBe('${gitlab_cluster_agent.agent.agent_id}');
    expect(module.resource.kubernetes_secret_v1.gitlab_agent_token).toMatchObject({ metadata: { name: 'gitlab-agent-token', namespace: 'gitlab-agent' }, data: { token: '${gitlab_cluster_agent_token.agent.token}' } });
    expect(module.resource.kubernetes_namespace_v1.gitlab_agent.lifecycle.ignore_changes).toEqual(['metadata[0].labels', 'metadata[0].annotations']);
    expect(module.resource.gitlab_deploy_token.gitops.scopes).toEqual(['read_repository']);
    expect(module.resource.kubernetes_secret_v1.gitops_credentials).toMatchObject({ metadata: { name: 'deploy-token', namespace: 'flux-system' }, data: { username: '${gitlab_deploy_token.gitops.username}' } });
    expect(module.provider.gitlab.base_url).toBe('https://gitlab.example.internal/api/v4/');
    const without = render({ agent: undefined, gitops: { ...base.gitops, credentialsSecret: undefined } });
    expect(without.resource.gitlab_cluster_agent).toBeUndefined();
    expect(without.resource.gitlab_deploy_token).toBeUndefined();
  });

  it('lists the charts it installs for the inventory', () => {
    const { charts } = renderBootstrapModule(base);
    expect(charts.map((c) => `${c.chart} ${c.version} ${c.appVersion}`)).toEqual(['cert-manager v1.19.2 v1.19.2', 'gateway-helm v1.9.1 v1.9.1', 'flux2 2.17.2 2.7.5']);
  });

  it('refuses an air-gapped chart image without a registry mirror, naming the chart', () => {
    expect(() => render({ registryMirrors: { 'quay.io': 'registry.internal/quay', 'docker.io': 'registry.internal/hub' } })).toThrow(
      "chart 'flux2' comes from registry 'ghcr.io', which has no entry in registryMirrors; add 'ghcr.io: <mirror host/prefix>' so the air-gapped cluster can pull it",
    );
  });
});

describe('chart catalog', () => {
  it('refuses an unpinned chart and a pin of a chart it does not hold', () => {
    expect(() => helmChart('flux2', { ...BOOTSTRAP_CHARTS[0], version: '^2.17.0' })).toThrow("chart 'flux2' has version '^2.17.0'; expected an exact version such as 1.19.2, not a range");
    expect(() => new ChartCatalog({ known: BOOTSTRAP_CHARTS, pins: { nginx: { version: '1.0.0' } } })).toThrow("chart pin 'nginx' names no catalogued chart; known charts: flux2, argo-cd, cert-manager, envoy-gateway, traefik");
    expect(() => new ChartCatalog({ known: BOOTSTRAP_CHARTS, pins: { flux2: { version: 'latest' } } })).toThrow("chart pin 'flux2' has version 'latest'; expected an exact version, not a range");
  });

  it('does not claim the app version of a chart version it did not catalogue', () => {
    expect(new ChartCatalog({ known: BOOTSTRAP_CHARTS, pins: { flux2: { version: '2.18.2' } } }).chart('flux2').appVersion).toBeUndefined();
  });
});

describe('terraform JSON', () => {
  it('escapes literal text that the JSON syntax would read as an expression', () => {
    expect(literal('a: ${HOME} %{ if }')).toBe('a: $${HOME} %%{ if }');
  });

  it('refuses a resource of a provider it does not require, and a name twice', () => {
    const module = new TerraformModule({ requiredVersion: '>= 1.11.0', providers: { helm: { source: 'hashicorp/helm', version: '3.0.1' } }, backend: { http: {} } });
    expect(() => module.resource('kubernetes_secret_v1', 'x', {})).toThrow("resource type 'kubernetes_secret_v1' needs provider 'kubernetes' in required_providers");
    module.resource('helm_release', 'x', {});
    expect(() => module.resource('helm_release', 'x', {})).toThrow("resource helm_release 'x' is declared twice");
  });

  it('reads the project path from https and ssh URLs', () => {
    expect(gitlabProjectPath('https://gitlab.example.internal/platform/ml-platform.git')).toBe('platform/ml-platform');
    expect(gitlabProjectPath('ssh://git@gitlab.example.internal:2222/a/b/c.git')).toBe('a/b/c');
    expect(() => gitlabProjectPath('https://gitlab.example.internal/repo.git')).toThrow('names no GitLab project');
  });
});

describe('plan summary for the merge request widget', () => {
  it('counts what the plan creates, updates and deletes, a replacement as both', () => {
    const plan = {
      format_version: '1.2',
      resource_changes: [
        { address: 'helm_release.flux2', change: { actions: ['update'] } },
        { address: 'kubernetes_secret_v1.sops_age', change: { actions: ['delete', 'create'] } },
        { address: 'gitlab_deploy_token.gitops', change: { actions: ['create'] } },
        { address: 'helm_release.cert_manager', change: { actions: ['no-op'] } },
      ],
    };
    expect(planSummary(plan)).toEqual({ create: 2, update: 1, delete: 1 });
    expect(planSummary({ format_version: '1.2' })).toEqual({ create: 0, update: 0, delete: 0 });
  });

  it('refuses what is not a plan', () => {
    expect(() => planSummary({ resource_changes: [] })).toThrow('expected the output of `tofu show -json <plan file>`');
  });
});

describe('pipeline jobs of a cluster', () => {
  it('plans on merge requests that change the module, applies on main: dev on its own, prod by a person', () => {
    const prod = parse(bootstrapJobs('prod', 'prod', 'generated'));
    expect(prod['bootstrap-plan:prod']).toMatchObject({ extends: '.bootstrap-plan', variables: { CLUSTER: 'prod' }, environment: { name: 'bootstrap/prod', action: 'prepare' } });
    expect(prod['bootstrap-plan:prod'].rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"', changes: ['dist-manifests/prod/bootstrap/main.tf.json'] }]);
    expect(prod['bootstrap-apply:prod']).toMatchObject({ environment: { name: 'bootstrap/prod', deployment_tier: 'production' }, resource_group: 'bootstrap/prod' });
    expect(prod['bootstrap-apply:prod'].rules[0].when).toBe('manual');
    expect(parse(bootstrapJobs('dev', 'dev', 'generated'))['bootstrap-apply:dev'].rules[0].when).toBe('on_success');
  });
});
