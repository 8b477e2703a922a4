import { defineComponent } from '@ml-platform/core';
import { AGENTK_IMAGE } from './images';
import { gitlabAgentConfigSchema } from './gitlab-agent';

/** The GitLab agent for Kubernetes (agentk): its cluster.yaml section and images. The platform composition wires it. */
export const gitlabAgentComponent = defineComponent({
  key: 'gitlabAgent',
  configSchema: gitlabAgentConfigSchema,
  images: [AGENTK_IMAGE],
});
