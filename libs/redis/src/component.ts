import { defineComponent } from '@ml-platform/core';
import { redisConfigSchema } from './config';
import { REDIS_EXPORTER_IMAGE, REDIS_IMAGE } from './images';

/** Redis, the platform's cache and broker: its cluster.yaml section and images. The platform composition wires it. */
export const redisComponent = defineComponent({
  key: 'redis',
  configSchema: redisConfigSchema.optional(),
  images: [REDIS_IMAGE, REDIS_EXPORTER_IMAGE],
});
