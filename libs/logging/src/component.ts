import { defineComponent } from '@ml-platform/core';
import { loggingConfigSchema } from './config';
import { ELASTICSEARCH_EXPORTER_IMAGE, ELASTICSEARCH_IMAGE, KIBANA_IMAGE, OTEL_COLLECTOR_IMAGE } from './images';

/** Central logging: its cluster.yaml section, images and UI. The platform composition wires it (MinIO for snapshots, the access layer's CA). */
export const loggingComponent = defineComponent({
  key: 'logging',
  configSchema: loggingConfigSchema.optional(),
  images: [ELASTICSEARCH_IMAGE, KIBANA_IMAGE, OTEL_COLLECTOR_IMAGE, ELASTICSEARCH_EXPORTER_IMAGE],
  webUis: ['kibana'],
});
