import { defineComponent } from '@ml-platform/core';
import { homeConfigSchema } from './home';
import { HOME_IMAGE } from './images';

/**
 * The home page: its cluster.yaml section and image. The platform composition builds it last,
 * from the UIs the access layer exposed.
 */
export const homeComponent = defineComponent({
  key: 'home',
  configSchema: homeConfigSchema.optional(),
  images: [HOME_IMAGE],
  webUis: ['home'],
});
