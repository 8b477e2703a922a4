import { defineComponent } from '@ml-platform/core';
import { sparkConfigSchema } from './config';
import { SPARK_IMAGE } from './images';

/** Spark: its cluster.yaml section and image. The platform composition wires it (it uses MinIO). */
export const sparkComponent = defineComponent({
  key: 'spark',
  configSchema: sparkConfigSchema.optional(),
  images: [SPARK_IMAGE],
  webUis: ['spark-history'],
});
