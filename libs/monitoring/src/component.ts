import { defineComponent } from '@ml-platform/core';
import { PROMETHEUS_IMAGE, ALERTMANAGER_IMAGE, CONFIG_RELOADER_IMAGE, NODE_EXPORTER_IMAGE, KUBE_STATE_METRICS_IMAGE, GRAFANA_IMAGE } from './images';
import { monitoringConfigSchema } from './monitoring';

/** Prometheus, Alertmanager, Grafana, kube-state-metrics and node-exporter: its cluster.yaml section and images. The platform composition wires it. */
export const monitoringComponent = defineComponent({
  key: 'monitoring',
  configSchema: monitoringConfigSchema.optional(),
  images: [PROMETHEUS_IMAGE, ALERTMANAGER_IMAGE, CONFIG_RELOADER_IMAGE, NODE_EXPORTER_IMAGE, KUBE_STATE_METRICS_IMAGE, GRAFANA_IMAGE],
  webUis: ['grafana', 'prometheus', 'alertmanager'],
});
