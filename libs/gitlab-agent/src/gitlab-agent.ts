import { ApiObject } from 'cdk8s';
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
  LabelKeys,
  Layer,
  PlatformChart,
  PlatformContext,
  PlatformDeployment,
  PlatformDisruptionBudget,
  PodSelection,
  RepositoryFiles,
  REVIEW_LABEL,
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
  /**
   * GitLab projects whose `review/*` jobs apply and delete review environments through this
   * agent (docs/review.md), as the `REVIEW_DEPLOYER` ServiceAccount.
   *
   * @default - no review environments
   */
  readonly reviewProjects?: readonly string[];
}

/**
 * Who applies review environments: a ServiceAccount agentk impersonates for the `review/*` jobs,
 * and the ClusterRole each review namespace binds to it (`ReviewEnvironment.deployer`).
 */
export const REVIEW_DEPLOYER = { serviceAccount: 'review-deployer', namespace: 'gitlab-agent', clusterRole: 'review-deployer-namespace' } as const;

/** The Kubernetes release whose ValidatingAdmissionPolicy is GA (admissionregistration.k8s.io/v1). */
const ADMISSION_POLICY_GA = '1.30';

const STANDARD_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
/**
 * What a review's job does inside the namespaces it created: apply every kind the platform
 * renders into an app namespace, and hold every permission the review's own Roles grant (the API
 * server lets nobody grant more than they hold). The review render refuses what these do not
 * cover (deployerGaps, libs/platform/src/review.ts).
 */
export const REVIEW_NAMESPACE_RULES: k8s.PolicyRule[] = [
  { apiGroups: [''], resources: ['configmaps', 'services', 'pods'], verbs: [...STANDARD_VERBS, 'deletecollection'] },
  { apiGroups: [''], resources: ['secrets', 'serviceaccounts', 'resourcequotas', 'persistentvolumeclaims'], verbs: STANDARD_VERBS },
  { apiGroups: [''], resources: ['pods/log', 'events'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['apps'], resources: ['deployments', 'statefulsets'], verbs: STANDARD_VERBS },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: STANDARD_VERBS },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: STANDARD_VERBS },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: STANDARD_VERBS },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'], verbs: STANDARD_VERBS },
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: STANDARD_VERBS },
  { apiGroups: ['cert-manager.io'], resources: ['certificates'], verbs: STANDARD_VERBS },
  { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes', 'backendtlspolicies'], verbs: STANDARD_VERBS },
];

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
    const reviewProjects = props.reviewProjects ?? [];
    if (config.ciAccess.projects.length || config.ciAccess.groups.length || reviewProjects.length) {
      const ciAccess = access(config.ciAccess);
      // Review jobs act as the deployer, in review/* environments only (access_as needs GitLab Premium).
      const deployer = `system:serviceaccount:${this.namespace}:${REVIEW_DEPLOYER.serviceAccount}`;
      const reviews = reviewProjects.map((id) => ({ id, environments: ['review/*'], access_as: { impersonate: { username: deployer } } }));
      agentConfig.ci_access = { ...ciAccess, ...(reviews.length ? { projects: [...(ciAccess.projects ?? []), ...reviews] } : {}) };
    }
    if (reviewProjects.length) this.addReviewDeployer(subject, labels);
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

  /**
   * The ServiceAccount review jobs act as, and what it may do. RBAC cannot limit the namespaces
   * it creates or deletes to a review's (docs/review.md says what that leaves open); inside each
   * review namespace it holds what the namespace's own RoleBinding gives it.
   */
  private addReviewDeployer(agent: { serviceAccount: string; namespace: string }, labels: Record<string, string>): void {
    if (this.namespace !== REVIEW_DEPLOYER.namespace) throw new Error(`the review deployer lives in namespace '${REVIEW_DEPLOYER.namespace}'; render the agent there, not in '${this.namespace}'`);
    const deployer = { serviceAccount: REVIEW_DEPLOYER.serviceAccount, namespace: this.namespace };
    const deployerLabels = { [LabelKeys.NAME]: REVIEW_DEPLOYER.serviceAccount, [LabelKeys.COMPONENT]: 'rbac' };
    // Only impersonated, never run: it has no token.
    new k8s.KubeServiceAccount(this, 'ReviewDeployer', { metadata: { name: deployer.serviceAccount, namespace: this.namespace, labels: deployerLabels }, automountServiceAccountToken: false });
    grant(this, 'ImpersonateReviewDeployer', {
      name: 'gitlab-agent-impersonate-review-deployer',
      subject: agent,
      labels,
      rules: [{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'], resourceNames: [deployer.serviceAccount] }],
    });
    grant(this, 'ReviewDeployerCluster', {
      name: REVIEW_DEPLOYER.serviceAccount,
      subject: deployer,
      labels: deployerLabels,
      clusterWide: true,
      rules: [
        { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
        // The first object in a new namespace is the binding that grants the rest.
        { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['get', 'create', 'patch'] },
        { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: [REVIEW_DEPLOYER.clusterRole] },
      ],
    });
    new k8s.KubeClusterRole(this, 'ReviewNamespace', { metadata: { name: REVIEW_DEPLOYER.clusterRole, labels: deployerLabels }, rules: REVIEW_NAMESPACE_RULES });
    if (this.context.runsAtLeast(ADMISSION_POLICY_GA)) this.confineReviewDeployer(`system:serviceaccount:${deployer.namespace}:${deployer.serviceAccount}`, deployerLabels);
  }

  /**
   * What RBAC cannot say: the deployer touches only namespaces labelled as reviews, and binds
   * roles only inside them. A ValidatingAdmissionPolicy (GA in Kubernetes 1.30) denies the rest;
   * a namespace must carry the label before and after a change, so adding it to one of the
   * cluster's own namespaces is denied too.
   */
  private confineReviewDeployer(username: string, labels: Record<string, string>): void {
    const label = `'${REVIEW_LABEL}'`;
    const labelled = (o: string) => `has(${o}.metadata.labels) && ${label} in ${o}.metadata.labels`;
    const name = 'review-deployer-confined';
    new ApiObject(this, 'ReviewDeployerPolicy', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name, labels },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['namespaces'] },
            { apiGroups: ['rbac.authorization.k8s.io'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['rolebindings'] },
          ],
        },
        matchConditions: [{ name: 'review-deployer', expression: `request.userInfo.username == '${username}'` }],
        validations: [
          {
            expression: `request.resource.resource != 'namespaces' || ((request.operation == 'CREATE' || ${labelled('oldObject')}) && (request.operation == 'DELETE' || ${labelled('object')}))`,
            message: `the review deployer may create, change and delete only namespaces labelled ${REVIEW_LABEL}`,
          },
          {
            expression: `request.resource.resource != 'rolebindings' || ${labelled('namespaceObject')}`,
            message: `the review deployer may bind roles only in namespaces labelled ${REVIEW_LABEL}`,
          },
        ],
      },
    });
    new ApiObject(this, 'ReviewDeployerPolicyBinding', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name, labels },
      spec: { policyName: name, validationActions: ['Deny'] },
    });
  }
}
