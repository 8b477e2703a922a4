import { ChartCatalog, ChartRef, manifestYaml, OutputFile } from '@ml-platform/core';
import { RoutingController } from './config';
import { literal, TerraformModule, TfResource } from './terraform';
import { argoCdValues, certManagerValues, ChartValues, envoyGatewayValues, fluxValues, traefikValues } from './values';
import { bootstrapJobs, BootstrapTier } from './pipeline';
import { ARGOCD_CHART, CERT_MANAGER_CHART, ENVOY_GATEWAY_CHART, FLUX_CHART, TRAEFIK_CHART } from './charts';

/**
 * The providers the module uses, pinned. None can be built from the Go module proxy (their
 * releases since 2.0 keep a v1 module path, and GitLab's is not served), so `tofu init` fetches
 * them from the registry or the site's provider mirror; docs/bootstrap.md says how.
 */
export const BOOTSTRAP_PROVIDERS = {
  helm: { source: 'hashicorp/helm', version: '3.0.1' },
  kubernetes: { source: 'hashicorp/kubernetes', version: '3.0.1' },
  gitlab: { source: 'gitlabhq/gitlab', version: '19.1.0' },
} as const;

/** OpenTofu 1.11 brought ephemeral variables and write-only arguments, which keep the age key out of plans and state. */
export const REQUIRED_TOFU_VERSION = '>= 1.11.0';

/** Where the GitOps engine runs and how the cluster's Git repository is reached. */
export interface BootstrapGitOps {
  readonly engine: 'flux' | 'argocd';
  /** Namespace of the engine's controllers (flux-system, argocd). */
  readonly namespace: string;
  readonly repositoryUrl: string;
  /** The Secret with the read-only deploy token the engine clones with. @default - the repository is public to the cluster */
  readonly credentialsSecret?: string;
}

/** The GitLab agent the module registers, and where agentk reads its token. */
export interface BootstrapAgent {
  readonly name: string;
  readonly namespace: string;
  /** The Secret (key `token`) agentk reads. */
  readonly tokenSecret: string;
}

/** Properties for `renderBootstrapModule`. */
export interface BootstrapModuleProps {
  readonly cluster: string;
  /** dev applies on its own; stage and prod wait for a person (the pipeline's apply job). */
  readonly tier: BootstrapTier;
  /** A line saying the file is generated and from what. */
  readonly header: string;
  readonly charts: ChartCatalog;
  /** Upstream registry to mirror prefix; every chart image goes through them. */
  readonly registryMirrors: Readonly<Record<string, string>>;
  readonly gitops: BootstrapGitOps;
  /** The routing controller to install and where its pods run (the namespace the access layer's NetworkPolicies admit). */
  readonly routing: { readonly controller: RoutingController; readonly namespace: string; readonly className: string };
  /** Install cert-manager: the cluster names a ClusterIssuer. */
  readonly certManager: boolean;
  /** The SOPS age key goes into the engine's namespace (secrets.backend sops with Flux). */
  readonly sopsAgeKey: boolean;
  /** The GitLab instance (its URL, without /api/v4) and the project path of this repository. */
  readonly gitlab: { readonly url: string; readonly project: string };
  /** @default - no agent: components.gitlabAgent is off */
  readonly agent?: BootstrapAgent;
}

/** What the render writes for the bootstrap: the module's files and the charts it installs. */
export interface BootstrapRender {
  /** Files relative to `dist-manifests/<cluster>/`. */
  readonly files: OutputFile[];
  readonly charts: ChartRef[];
}

/** The project path of a GitLab repository URL: `https://host/group/project.git` to `group/project`. */
export function gitlabProjectPath(repositoryUrl: string): string {
  const path = new URL(repositoryUrl).pathname.replace(/^\/+/, '').replace(/\.git$/, '');
  if (!path.includes('/')) throw new Error(`repository URL '${repositoryUrl}' names no GitLab project (expected …/<group>/<project>.git)`);
  return path;
}

/**
 * Renders the cluster's bootstrap module: the Helm releases the render assumes are installed,
 * the GitLab agent's registration and token, the deploy token the engine clones with, and the
 * SOPS age key, all from one `tofu apply` against an empty cluster.
 */
export function renderBootstrapModule(props: BootstrapModuleProps): BootstrapRender {
  const module = new TerraformModule({
    comment: props.header,
    requiredVersion: REQUIRED_TOFU_VERSION,
    providers: BOOTSTRAP_PROVIDERS,
    // GitLab-managed state: address, lock and credentials come from the pipeline (TF_HTTP_*), docs/bootstrap.md.
    backend: { http: {} },
  });
  const kubeconfig = module.variable('kubeconfig_path', { type: 'string', description: "Path of a kubeconfig with cluster-admin on this cluster (in CI, the environment's protected KUBECONFIG file variable)." });
  const context = module.variable('kube_context', { type: 'string', default: null, description: "Context in that kubeconfig. Default: the file's current context." });
  const cluster = { config_path: kubeconfig.toString(), config_context: context.toString() };
  module.provider('kubernetes', cluster);
  module.provider('helm', { kubernetes: cluster });
  const gitlabToken = module.variable('gitlab_token', {
    type: 'string',
    sensitive: true,
    ephemeral: true,
    description: 'A GitLab token with the api scope on the project, from a Maintainer (registers the agent, issues the deploy token). Never stored in plan or state.',
  });
  const gitlabCa = module.variable('gitlab_ca_file', { type: 'string', default: null, description: "PEM file of the CA that signed GitLab's certificate, when it is the internal CA." });
  module.provider('gitlab', { base_url: `${props.gitlab.url.replace(/\/+$/, '')}/api/v4/`, token: gitlabToken.toString(), cacert_file: gitlabCa.toString() });

  const installed: ChartRef[] = [];
  const release = (key: string, namespace: string, values: ChartValues): TfResource => {
    const chart = props.charts.chart(key);
    installed.push(chart);
    return module.resource('helm_release', key.replace(/-/g, '_'), {
      name: key,
      namespace,
      create_namespace: true,
      repository: chart.repository,
      chart: chart.chart,
      version: chart.version,
      values: Object.keys(values).length > 0 ? [literal(manifestYaml(values))] : undefined,
      // A failed install or upgrade rolls back instead of leaving a half-upgraded controller.
      atomic: true,
      timeout: 600,
    });
  };

  if (props.certManager) release(CERT_MANAGER_CHART.key, 'cert-manager', certManagerValues(props.registryMirrors));
  if (props.routing.controller === 'envoy-gateway') release(ENVOY_GATEWAY_CHART.key, props.routing.namespace, envoyGatewayValues(props.registryMirrors));
  if (props.routing.controller === 'traefik') release(TRAEFIK_CHART.key, props.routing.namespace, traefikValues(props.registryMirrors, props.routing.className));
  const engine =
    props.gitops.engine === 'flux'
      ? release(FLUX_CHART.key, props.gitops.namespace, fluxValues(props.registryMirrors))
      : release(ARGOCD_CHART.key, props.gitops.namespace, argoCdValues(props.registryMirrors));

  if (props.sopsAgeKey) sopsAgeKeySecret(module, props.gitops.namespace, engine);
  if (props.gitops.credentialsSecret) deployTokenSecret(module, props, props.gitops.credentialsSecret, engine);
  if (props.agent) agentTokenSecret(module, props.gitlab.project, props.agent);

  return {
    files: [
      { path: 'bootstrap/main.tf.json', content: module.toJson() },
      { path: 'bootstrap/.gitlab-ci.yml', content: bootstrapJobs(props.cluster, props.tier, props.header) },
    ],
    charts: installed,
  };
}

/**
 * The age key Flux decrypts the cluster's Secrets with: an ephemeral variable into a write-only
 * argument, so it is in no plan and no state. Rotating it bumps the revision.
 */
function sopsAgeKeySecret(module: TerraformModule, namespace: string, engine: TfResource): void {
  const key = module.variable('sops_age_key', {
    type: 'string',
    sensitive: true,
    ephemeral: true,
    description: "The cluster's age private key (AGE-SECRET-KEY-1…), whose public half is secrets.ageRecipients. Never stored in plan or state.",
    // In the JSON syntax an expression is a string that interpolates: a bare `startswith(…)` is text.
    validation: { condition: '${startswith(var.sops_age_key, "AGE-SECRET-KEY-1")}', errorMessage: 'sops_age_key must be an age private key (AGE-SECRET-KEY-1…), as age-keygen writes it.' },
  });
  const revision = module.variable('sops_age_key_revision', { type: 'number', default: 1, description: 'Raise by one to write a new sops_age_key: a write-only value is compared by this revision, never by its content.' });
  module.resource(
    'kubernetes_secret_v1',
    'sops_age',
    { metadata: { name: 'sops-age', namespace }, data_wo: { 'age.agekey': key.toString() }, data_wo_revision: revision.toString() },
    { dependsOn: [engine] },
  );
}

/** A read-only deploy token for the engine to clone this repository with, issued by GitLab and stored where the engine reads it. */
function deployTokenSecret(module: TerraformModule, props: BootstrapModuleProps, secretName: string, engine: TfResource): void {
  const token = module.resource('gitlab_deploy_token', 'gitops', {
    project: props.gitlab.project,
    name: `${props.cluster}-gitops`,
    username: `${props.cluster}-gitops`,
    scopes: ['read_repository'],
  });
  const credentials = { username: token.attr('username').toString(), password: token.attr('token').toString() };
  // Argo CD finds repository credentials by this label and the URL in the Secret.
  const argo = props.gitops.engine === 'argocd';
  module.resource(
    'kubernetes_secret_v1',
    'gitops_credentials',
    {
      metadata: { name: secretName, namespace: props.gitops.namespace, labels: argo ? { 'argocd.argoproj.io/secret-type': 'repository' } : undefined },
      data: argo ? { url: props.gitops.repositoryUrl, ...credentials } : credentials,
    },
    { dependsOn: [engine] },
  );
}

/**
 * Registers the cluster's agent in GitLab and stores its token where agentk reads it. The
 * agent's namespace is the render's too: the module creates it so the Secret has a home before
 * the first sync, and leaves its labels to the render.
 */
function agentTokenSecret(module: TerraformModule, project: string, agent: BootstrapAgent): void {
  const registered = module.resource('gitlab_cluster_agent', 'agent', { project, name: agent.name });
  const token = module.resource('gitlab_cluster_agent_token', 'agent', {
    project,
    agent_id: registered.attr('agent_id').toString(),
    name: `${agent.name}-agentk`,
    description: 'agentk of this cluster; issued by the bootstrap module (dist-manifests/<cluster>/bootstrap).',
  });
  const namespace = module.resource('kubernetes_namespace_v1', 'gitlab_agent', { metadata: { name: agent.namespace } }, { ignoreChanges: ['metadata[0].labels', 'metadata[0].annotations'] });
  module.resource('kubernetes_secret_v1', 'gitlab_agent_token', { metadata: { name: agent.tokenSecret, namespace: agent.namespace }, data: { token: token.attr('token').toString() } }, { dependsOn: [namespace] });
  module.output('gitlab_agent_id', { description: "The agent's ID in GitLab.", value: registered.attr('agent_id') });
}
