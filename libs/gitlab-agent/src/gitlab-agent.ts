import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { z } from 'zod';
import {
  allowEgressToAddresses,
  allowEgressToExternalPods,
  bindClusterRole,
  dnsLabel,
  EnvValue,
  grant,
  httpProbe,
  Layer,
  PlatformChart,
  PlatformContext,
  PlatformDeployment,
  PlatformDisruptionBudget,
  PodSelection,
  RepositoryFiles,
  requireApiServer,
  SecretKeyRef,
  workloadLabels,
} from '@ml-platform/core';
import { AGENTK_IMAGE } from './images';

const gitlabPath = z.string().regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, { error: 'expected a GitLab project or group path such as group/project' });
const cidr = z.string().regex(/^([0-9]{1,3}\.){3}[0-9]{1,3}\/[0-9]{1,2}$/, { error: 'expected an IPv4 CIDR such as 10.0.0.5/32' });

/** The `components.gitlabAgent` section of cluster.yaml. */
export const gitlabAgentConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe('Render agentk and its .gitlab/agents/<name>/config.yaml.'),
    name: dnsLabel.optional().describe('Agent name registered in GitLab; defaults to the cluster name.'),
    kasAddress: z.string().regex(/^wss?:\/\/\S+$/, { error: 'expected the KAS address, e.g. wss://gitlab.example.internal/-/kubernetes-agent/' }).describe('GitLab agent server (KAS) address.'),
    kasCidrs: z.array(cidr).min(1).describe('Addresses agentk connects to for KAS (the GitLab instance or its load balancer), as CIDRs; port 443.'),
    ciAccess: z
      .strictObject({ projects: z.array(gitlabPath).default([]), groups: z.array(gitlabPath).default([]) })
      .prefault({})
      .describe('Projects and groups whose CI jobs may use the cluster (read-only, as the agent).'),
    userAccess: z
      .strictObject({ projects: z.array(gitlabPath).default([]), groups: z.array(gitlabPath).default([]) })
      .prefault({})
      .describe('Projects and groups whose members may view the cluster through GitLab (read-only, as the agent).'),
  })
  .describe('The GitLab agent for Kubernetes (agentk): CI and user access, and Flux reconciliation on push.');

export type GitlabAgentConfig = z.output<typeof gitlabAgentConfigSchema>;

/** Properties for `GitlabAgentChart`. */
export interface GitlabAgentChartProps {
  readonly context: PlatformContext;
  readonly config: GitlabAgentConfig;
  /**
   * Where Flux's notification-controller receives webhooks, when the cluster uses Flux: agentk
   * calls it on every push so Flux reconciles at once.
   *
   * @default - no Flux
   */
  readonly flux?: { readonly namespace: string; readonly podLabels: Readonly<Record<string, string>> };
}

/** The Secret (key `token`) agentk reads its GitLab token from; the bootstrap module writes it. */
export const GITLAB_AGENT_TOKEN_SECRET = 'gitlab-agent-token';

const OBSERVABILITY_PORT = 8080;
/** Webhook receiver port of Flux's notification-controller (its Service maps 80 to it). */
const FLUX_RECEIVER_PORT = 9292;
/** agentk images are distroless; run as its nonroot user (inference: the image UID is not documented). */
const AGENTK_UID = 65532;

/**
 * agentk, the GitLab agent for Kubernetes: two replicas with the agent token from a Secret,
 * read-only access for CI jobs and users (the built-in `view` role, never cluster-admin), the
 * Flux objects it needs to trigger reconciliation on push, and its
 * `.gitlab/agents/<name>/config.yaml` generated from the cluster's configuration.
 */
export class GitlabAgentChart extends PlatformChart {
  public readonly agentName: string;
  public readonly agent: PodSelection;

  constructor(scope: Construct, id: string, props: GitlabAgentChartProps) {
    super(scope, id, { context: props.context, layer: Layer.PLATFORM });
    const { config, context } = props;
    this.agentName = config.name ?? context.cluster;
    const image = context.images.image(AGENTK_IMAGE);
    const identity = { name: 'gitlab-agent', instance: id, component: 'agent', version: image.version };
    const serviceAccount = 'gitlab-agent';
    const token = SecretKeyRef.of(GITLAB_AGENT_TOKEN_SECRET, 'token', `access token of GitLab agent '${this.agentName}' (created when the agent is registered)`);

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: serviceAccount, namespace: this.namespace, labels: workloadLabels(identity) },
      automountServiceAccountToken: false,
    });
    const deployment = new PlatformDeployment(this, 'Agent', {
      identity,
      replicas: 2,
      // The observability listener also serves Prometheus metrics.
      metrics: { port: OBSERVABILITY_PORT },
      pod: {
        user: AGENTK_UID,
        group: AGENTK_UID,
        serviceAccountName: serviceAccount,
        // agentk talks to the API server for CI and user access and for Flux.
        mountServiceAccountToken: true,
        containers: [
          {
            name: 'agent',
            image,
            args: ['--token-file=/etc/agentk/secrets/token', `--kas-address=${config.kasAddress}`],
            env: {
              POD_NAMESPACE: EnvValue.fromField('metadata.namespace'),
              POD_NAME: EnvValue.fromField('metadata.name'),
              SERVICE_ACCOUNT_NAME: EnvValue.fromValue(serviceAccount),
            },
            ports: [{ name: 'observability', number: OBSERVABILITY_PORT }],
            resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
            livenessProbe: { ...httpProbe(OBSERVABILITY_PORT, '/liveness'), initialDelaySeconds: 15, periodSeconds: 20 },
            readinessProbe: { ...httpProbe(OBSERVABILITY_PORT, '/readiness'), initialDelaySeconds: 5, periodSeconds: 10 },
            secretFiles: [{ directory: '/etc/agentk/secrets', keys: [token] }],
            writablePaths: [{ path: '/tmp', sizeLimit: '64Mi' }],
          },
        ],
      },
    });
    this.agent = deployment.pods;
    new PlatformDisruptionBudget(this, 'Budget', { pods: this.agent });

    const labels = workloadLabels(identity);
    const subject = { serviceAccount, namespace: this.namespace };
    // CI jobs and users act as the agent: read-only, never Secrets (the view role excludes them).
    bindClusterRole(this, 'View', { name: 'gitlab-agent-view', clusterRole: 'view', subject, labels });
    // Leader election between the two replicas (inference from the chart: agentk coordinates modules).
    grant(this, 'Leases', {
      name: 'gitlab-agent-leases',
      subject,
      labels,
      rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] }],
    });

    const api = requireApiServer(this);
    allowEgressToAddresses(this.agent, 'kubernetes-api', api.cidrs, api.port);
    allowEgressToAddresses(this.agent, 'gitlab-kas', config.kasCidrs, 443);

    const agentConfig: Record<string, unknown> = {};
    const access = (a: { projects: string[]; groups: string[] }) => ({
      ...(a.projects.length ? { projects: a.projects.map((id) => ({ id })) } : {}),
      ...(a.groups.length ? { groups: a.groups.map((id) => ({ id })) } : {}),
    });
    if (config.ciAccess.projects.length || config.ciAccess.groups.length) agentConfig.ci_access = access(config.ciAccess);
    if (config.userAccess.projects.length || config.userAccess.groups.length) agentConfig.user_access = { access_as: { agent: {} }, ...access(config.userAccess) };
    if (props.flux) {
      // agentk turns pushes into Flux reconciliations through the notification-controller's receiver.
      grant(this, 'Flux', {
        name: 'gitlab-agent-flux',
        subject,
        labels,
        clusterWide: true,
        rules: [
          { apiGroups: ['source.toolkit.fluxcd.io'], resources: ['gitrepositories'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: ['notification.toolkit.fluxcd.io'], resources: ['receivers'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
        ],
      });
      allowEgressToExternalPods(this.agent, props.flux.namespace, props.flux.podLabels, FLUX_RECEIVER_PORT, 'flux-receiver');
      agentConfig.flux = { webhook_receiver_url: `http://webhook-receiver.${props.flux.namespace}.svc.${context.clusterDomain}` };
    }
    RepositoryFiles.of(this).add(`.gitlab/agents/${this.agentName}/config.yaml`, stringify(agentConfig, { lineWidth: 0 }));
  }
}
