import { defineComponent } from '@ml-platform/core';
import { dashAppName, dashConfigSchema } from './config';
import { CHURN_DASHBOARD_IMAGE } from './images';

/** Dash apps: their cluster.yaml section, the reference app's image and their UIs (one per app). The platform composition wires them to the analytics database. */
export const dashComponent = defineComponent({
  key: 'dash',
  configSchema: dashConfigSchema.optional(),
  images: [CHURN_DASHBOARD_IMAGE],
  webUis: (config) => config.apps.map((a) => dashAppName(a.name)),
});
