import { manifestYaml } from '@ml-platform/core';

/** What a cluster is for: dev applies its bootstrap on its own, stage and prod wait for a person. */
export type BootstrapTier = 'dev' | 'stage' | 'prod';

/** The GitLab environment a cluster's bootstrap applies in: protect it (and its variables) for stage and prod. */
export const bootstrapEnvironment = (cluster: string) => `bootstrap/${cluster}`;

/**
 * The cluster's bootstrap jobs, which `.gitlab-ci.yml` includes from every
 * `dist-manifests/<cluster>/bootstrap/.gitlab-ci.yml`: a plan on merge requests that change the
 * module (its summary as GitLab's Terraform report), and an apply on the default branch. The
 * job templates (`.bootstrap-plan`, `.bootstrap-apply`) live in `.gitlab-ci.yml`; this file only
 * says which cluster, which environment and whether a person must start the apply.
 */
export function bootstrapJobs(cluster: string, tier: BootstrapTier, header: string): string {
  const changes = [`dist-manifests/${cluster}/bootstrap/main.tf.json`];
  const environment = bootstrapEnvironment(cluster);
  const deploymentTier = { dev: 'development', stage: 'staging', prod: 'production' }[tier];
  const jobs = {
    [`bootstrap-plan:${cluster}`]: {
      extends: '.bootstrap-plan',
      variables: { CLUSTER: cluster },
      rules: [{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"', changes }],
      // `prepare`: the job reads the environment's plan credentials without counting as a deployment.
      environment: { name: environment, action: 'prepare', deployment_tier: deploymentTier },
    },
    [`bootstrap-apply:${cluster}`]: {
      extends: '.bootstrap-apply',
      variables: { CLUSTER: cluster },
      // Stage and prod wait for a person, who must also be allowed to deploy to the protected environment.
      rules: [{ if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH', changes, when: tier === 'dev' ? 'on_success' : 'manual' }],
      environment: { name: environment, deployment_tier: deploymentTier },
      // One apply at a time per cluster, in pipeline order.
      resource_group: environment,
    },
  };
  return `# ${header}\n${manifestYaml(jobs)}`;
}
