import { defineComponent } from '@ml-platform/core';
import { serviceName, servingConfigSchema } from './config';
import { PREDICTION_API_IMAGE } from './images';

/** Model services: their cluster.yaml section, image and UIs (one per model). The platform composition wires them to MLflow. */
export const servingComponent = defineComponent({
  key: 'serving',
  configSchema: servingConfigSchema.optional(),
  images: [PREDICTION_API_IMAGE],
  webUis: (config) => config.models.map((m) => serviceName(m.name)),
});
