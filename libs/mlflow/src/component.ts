import { defineComponent } from '@ml-platform/core';
import { MLFLOW_IMAGE } from './images';
import { mlflowConfigSchema } from './mlflow';

/** MLflow tracking server and model registry: its cluster.yaml section and images. The platform composition wires it. */
export const mlflowComponent = defineComponent({
  key: 'mlflow',
  configSchema: mlflowConfigSchema,
  images: [MLFLOW_IMAGE],
  webUis: ['mlflow'],
});
