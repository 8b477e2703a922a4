import { defineComponent } from '@ml-platform/core';
import { jupyterhubConfigSchema } from './config';
import { JUPYTERHUB_HUB_IMAGE, JUPYTERHUB_PROXY_IMAGE, NOTEBOOK_IMAGE } from './images';

/** JupyterHub: its cluster.yaml section and images. The platform composition wires it (it uses PostgreSQL, MinIO and MLflow). */
export const jupyterhubComponent = defineComponent({
  key: 'jupyterhub',
  configSchema: jupyterhubConfigSchema.optional(),
  images: [JUPYTERHUB_HUB_IMAGE, JUPYTERHUB_PROXY_IMAGE, NOTEBOOK_IMAGE],
  webUis: ['jupyterhub'],
});
