import { defineComponent } from '@ml-platform/core';
import { airflowConfigSchema } from './config';
import { AIRFLOW_IMAGE, GIT_SYNC_IMAGE } from './images';

/** Airflow: its cluster.yaml section and images. The platform composition wires it (PostgreSQL, MinIO, MLflow, Spark). */
export const airflowComponent = defineComponent({
  key: 'airflow',
  configSchema: airflowConfigSchema.optional(),
  images: [AIRFLOW_IMAGE, GIT_SYNC_IMAGE],
  webUis: ['airflow'],
});
