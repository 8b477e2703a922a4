import { defineComponent } from '@ml-platform/core';
import { POSTGRES_IMAGE, POSTGRES_EXPORTER_IMAGE } from './images';
import { postgresConfigSchema } from './postgres';

/** PostgreSQL, the platform's relational store: its cluster.yaml section and images. The platform composition wires it. */
export const postgresComponent = defineComponent({
  key: 'postgres',
  configSchema: postgresConfigSchema,
  images: [POSTGRES_IMAGE, POSTGRES_EXPORTER_IMAGE],
});
