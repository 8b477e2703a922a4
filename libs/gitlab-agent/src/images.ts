import { containerImage } from '@ml-platform/core';

export const AGENTK_IMAGE = containerImage('agentk', {
  registry: 'registry.gitlab.com',
  repository: 'gitlab-org/cluster-integration/gitlab-agent/agentk',
  tag: 'v19.4.1',
  note: 'GitLab agent for Kubernetes. Must match the GitLab instance major.minor (one minor of skew is supported): pin it per cluster. Digest not pinned: not verifiable offline.',
});
