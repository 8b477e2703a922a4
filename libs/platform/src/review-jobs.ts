// The GitLab CI jobs of a cluster's review environments (docs/review.md), rendered beside its
// manifests and included by .gitlab-ci.yml, which holds their templates (.review, .review-stop).
import { manifestYaml, OutputFile } from '@ml-platform/core';
import { uiHost } from '@ml-platform/access';
import { gitlabProjectPath } from '@ml-platform/bootstrap';
import type { ClusterConfig } from './platform';
import { reviewComponents } from './review-config';

/** Where a cluster's review jobs are rendered, under `dist-manifests/<cluster>/`. */
export const REVIEW_JOBS_FILE = 'review/.gitlab-ci.yml';

/** The GitLab environment of a merge request's review: its slug (CI_ENVIRONMENT_SLUG) names the review. */
export const REVIEW_ENVIRONMENT = 'review/$CI_COMMIT_REF_SLUG';

/**
 * The deploy and stop jobs of `config`'s review environments (its `enabled` components named by
 * `enabledComponents`), or nothing when it holds none. The
 * deploy job runs on every merge request pipeline; closing or merging the merge request, or
 * `review.autoStopIn` without a new deployment, runs the stop job.
 */
export function reviewJobs(config: ClusterConfig, enabled: readonly string[], header: string): OutputFile[] {
  const review = config.review;
  if (!review) return [];
  const cluster = config.name;
  // CI jobs reach the cluster through the agent: context <agent configuration project>:<agent name>.
  const variables = { CLUSTER: cluster, REVIEW_KUBE_CONTEXT: `${gitlabProjectPath(config.gitops.repository.url)}:${config.components.gitlabAgent.name ?? cluster}` };
  const onMergeRequests = '$CI_PIPELINE_SOURCE == "merge_request_event"';
  // The environment links the home page, or the first UI the review serves.
  const components = reviewComponents(review, enabled);
  const ui = components.includes('home') ? 'home' : undefined;
  const baseDomain = `$CI_ENVIRONMENT_SLUG.${review.subdomain}.${config.baseDomain}`;
  const jobs = {
    [`review:${cluster}`]: {
      extends: '.review',
      variables,
      rules: [{ if: onMergeRequests }],
      environment: {
        name: REVIEW_ENVIRONMENT,
        ...(ui ? { url: `https://${uiHost({ ...config.routing, hosts: {} }, baseDomain, ui)}` } : {}),
        on_stop: `review-stop:${cluster}`,
        auto_stop_in: review.autoStopIn,
        deployment_tier: 'development',
      },
    },
    [`review-stop:${cluster}`]: {
      extends: '.review-stop',
      variables,
      // kubectl, kept by the deploy job.
      needs: [`review:${cluster}`],
      rules: [{ if: onMergeRequests, when: 'manual' }],
      environment: { name: REVIEW_ENVIRONMENT, action: 'stop' },
    },
  };
  return [{ path: REVIEW_JOBS_FILE, content: `# ${header}\n${manifestYaml(jobs)}` }];
}
