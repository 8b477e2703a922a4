import { containerImage } from '@ml-platform/core';

export const PROMETHEUS_IMAGE = containerImage('prometheus', {
  registry: 'quay.io',
  repository: 'prometheus/prometheus',
  tag: 'v3.14.0',
  note: 'Prometheus server (prometheus-community chart 29.27.0 appVersion). Runs as nobody (65534). promtool is built from the same version (tools/promtool). Digest not pinned: not verifiable offline.',
});

export const ALERTMANAGER_IMAGE = containerImage('alertmanager', {
  registry: 'quay.io',
  repository: 'prometheus/alertmanager',
  tag: 'v0.34.0',
  note: 'Alertmanager (chart 1.42.0 appVersion); amtool in tools/tool-versions.env is the same version. Digest not pinned: not verifiable offline.',
});

export const CONFIG_RELOADER_IMAGE = containerImage('config-reloader', {
  registry: 'quay.io',
  repository: 'prometheus-operator/prometheus-config-reloader',
  tag: 'v0.93.1',
  note: 'Watches the mounted ConfigMap and calls /-/reload (the prometheus chart default sidecar). Digest not pinned: not verifiable offline.',
});

export const NODE_EXPORTER_IMAGE = containerImage('node-exporter', {
  registry: 'quay.io',
  repository: 'prometheus/node-exporter',
  tag: 'v1.12.1',
  note: 'Host metrics (chart prometheus-node-exporter 4.56.1 appVersion). Digest not pinned: not verifiable offline.',
});

export const KUBE_STATE_METRICS_IMAGE = containerImage('kube-state-metrics', {
  registry: 'registry.k8s.io',
  repository: 'kube-state-metrics/kube-state-metrics',
  tag: 'v2.20.0',
  note: 'Object state metrics (chart kube-state-metrics 8.4.0 appVersion). Digest not pinned: not verifiable offline.',
});

export const GRAFANA_IMAGE = containerImage('grafana', {
  registry: 'docker.io',
  repository: 'grafana/grafana',
  tag: '13.2.0',
  note: 'Grafana OSS (grafana-community chart 12.11.1 appVersion); UID 472. Digest not pinned: not verifiable offline.',
});
