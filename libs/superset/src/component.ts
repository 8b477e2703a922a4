import { defineComponent } from '@ml-platform/core';
import { supersetConfigSchema } from './config';
import { SUPERSET_IMAGE } from './images';

/** Superset: its cluster.yaml section and image. The platform composition wires it (PostgreSQL, the analytics database, Redis). */
export const supersetComponent = defineComponent({
  key: 'superset',
  configSchema: supersetConfigSchema.optional(),
  images: [SUPERSET_IMAGE],
  webUis: ['superset'],
});
