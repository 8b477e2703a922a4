// The `review` section of cluster.yaml: merge requests render the apps layer with their changes
// into namespaces of their own on this cluster (docs/review.md).
import { z } from 'zod';
import { dnsLabel, quantity } from '@ml-platform/core';
import { gitlabProjectPath } from '@ml-platform/bootstrap';

/**
 * Components a review environment never holds, each with the reason: they serve the whole
 * cluster, and the base cluster's own serve the review too.
 */
export const CLUSTER_WIDE_COMPONENTS: Readonly<Record<string, string>> = {
  monitoring: "the base cluster's Prometheus, Alertmanager and node-exporter watch the nodes a review runs on; a second set would scrape them twice",
  logging: "the base cluster's shipper already reads every pod's log on every node, a review's included",
  gitlabAgent: 'one agent serves a cluster, and it is what applies the review',
  vault: "a review's credentials are generated for it when it is applied; the base cluster's Vault holds the base cluster's",
};

const gitlabPath = z.string().regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/, { error: 'expected a GitLab project path such as group/project' });

/** The longest slug: `<slug>-jupyterhub-users` and every other namespace stay within a DNS label. */
export const REVIEW_SLUG_MAX = 24;

/** The `review` section of cluster.yaml. */
export const reviewConfigSchema = z
  .strictObject({
    subdomain: dnsLabel
      .default('review')
      .describe("A review's UIs are served at <ui>.<slug>.<subdomain>.<baseDomain>: one wildcard DNS record, *.<subdomain>.<baseDomain>, points them at the routing controller."),
    components: z
      .array(z.string())
      .min(1)
      .optional()
      .describe('The components a review holds, each enabled in this cluster. Default: every enabled component but the cluster-wide ones (monitoring, logging, gitlabAgent, vault).'),
    storage: quantity.default('1Gi').describe("The size of every volume in a review (databases, buckets, home folders): a review holds test data only."),
    autoStopIn: z
      .string()
      .regex(/^[1-9][0-9]* (minute|hour|day|week)s?$/, { error: "expected a duration GitLab reads, such as '3 days' or '12 hours'" })
      .default('3 days')
      .describe("GitLab stops a review this long after its last deployment (the environment's auto_stop_in); closing or merging the merge request stops it at once."),
    projects: z
      .array(gitlabPath)
      .min(1)
      .optional()
      .describe("GitLab projects whose review/* jobs may deploy here through the GitLab agent. Default: the project of gitops.repository.url."),
  })
  .optional()
  .describe('Review environments: each merge request renders the apps layer with its changes into its own namespaces on this cluster (docs/review.md). Only a tier dev cluster holds them.');

export type ReviewConfig = NonNullable<z.output<typeof reviewConfigSchema>>;

/** The facts of the cluster the `review` section is checked against. */
export interface ReviewContext {
  readonly tier: string;
  /** Component keys enabled in this cluster. */
  readonly enabled: readonly string[];
  /** Every component key of the platform. */
  readonly known: readonly string[];
  /** The projects whose review jobs deploy (`reviewProjectsOf`). */
  readonly projects: readonly string[];
  /** The projects `components.gitlabAgent.ciAccess` lets use the cluster as the agent. */
  readonly agentCiProjects: readonly string[];
}

/** The GitLab projects whose review/* jobs deploy: `review.projects`, or the project of the GitOps repository. */
export function reviewProjectsOf(review: ReviewConfig, repositoryUrl: string): string[] {
  return review.projects ?? [gitlabProjectPath(repositoryUrl)];
}

/** What is wrong with the `review` section, as schema issues under `review`. */
export function reviewIssues(review: ReviewConfig | undefined, context: ReviewContext): { path: (string | number)[]; message: string }[] {
  if (!review) return [];
  const issues: { path: (string | number)[]; message: string }[] = [];
  if (context.tier !== 'dev') {
    issues.push({ path: ['review'], message: `expected no review section in tier ${context.tier}: review environments run unmerged code with generated credentials, on a tier dev cluster only` });
  }
  if (!context.enabled.includes('gitlabAgent')) {
    issues.push({ path: ['review'], message: 'expected components.gitlabAgent enabled: review jobs apply their environments through the GitLab agent' });
  }
  // GitLab applies one ci_access entry per project (gitlab-org/gitlab#459946): a second is ignored.
  context.projects.forEach((project, i) => {
    if (context.agentCiProjects.includes(project)) {
      const where = review.projects ? ['review', 'projects', i] : ['review'];
      issues.push({ path: where, message: `expected ${project} under components.gitlabAgent.ciAccess.projects or as a review project, not both: the agent applies one ci_access entry per project; remove it from ciAccess.projects (its review/* jobs then deploy, its other jobs no longer read the cluster)` });
    }
  });
  (review.components ?? []).forEach((key, i) => {
    const path = ['review', 'components', i];
    if (!context.known.includes(key)) issues.push({ path, message: `expected one of the platform's components (${context.known.join(', ')}), found '${key}'` });
    else if (key in CLUSTER_WIDE_COMPONENTS) issues.push({ path, message: `expected a component a review can hold: ${key} serves the whole cluster (${CLUSTER_WIDE_COMPONENTS[key]})` });
    else if (!context.enabled.includes(key)) issues.push({ path, message: `expected a component enabled in this cluster: components.${key}.enabled is false` });
  });
  return issues;
}

/** The components a review holds: those named, or every enabled one that is not cluster-wide. */
export function reviewComponents(review: ReviewConfig, enabled: readonly string[]): string[] {
  return review.components ?? enabled.filter((key) => !(key in CLUSTER_WIDE_COMPONENTS));
}
