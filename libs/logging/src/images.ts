import { containerImage } from '@ml-platform/core';

const ELASTIC_LICENCE =
  'The default distribution, used under the Elastic License 2.0 at the free Basic level (security with TLS, index lifecycle, snapshots to S3, Kibana and its anonymous login are all Basic features). ELv2 allows running it for oneself and forbids offering it to others as a managed service; the source is also available under the AGPLv3 since 8.16, but the image is the ELv2 build.';

/** Elasticsearch 8.19, the last 8.x minor: stores and indexes the platform's logs. */
export const ELASTICSEARCH_IMAGE = containerImage('elasticsearch', {
  registry: 'docker.elastic.co',
  repository: 'elasticsearch/elasticsearch',
  tag: '8.19.24',
  note: `${ELASTIC_LICENCE} Runs as 1000 with group 0 (its Dockerfile), here as 1000:1000 with the config copied into a writable volume. Digest not pinned: not verifiable offline.`,
});

/** Kibana at Elasticsearch's exact version (the two must match). */
export const KIBANA_IMAGE = containerImage('kibana', {
  registry: 'docker.elastic.co',
  repository: 'kibana/kibana',
  tag: '8.19.24',
  note: `Same version as Elasticsearch, as Kibana requires. ${ELASTIC_LICENCE} Digest not pinned: not verifiable offline.`,
});

/**
 * The OpenTelemetry Collector (contrib distribution) as the log shipper on every node. The
 * checks load its rendered configuration with a collector built from the same components at the
 * same release (tools/otelcol/builder.yaml).
 */
export const OTEL_COLLECTOR_IMAGE = containerImage('otel-collector', {
  registry: 'docker.io',
  repository: 'otel/opentelemetry-collector-contrib',
  tag: '0.148.0',
  note: 'Apache-2.0. The contrib distribution (binary /otelcol-contrib, user 10001, run here as root in the log-shipper namespace to read the node\'s container logs). Release 0.148.0 because it is the newest at which the Go module proxy serves every component the shipper uses, so the collector the checks build (tools/otelcol/builder.yaml) matches it. Digest not pinned: not verifiable offline.',
});

/** Elasticsearch metrics for Prometheus (cluster health, JVM heap, disk, thread pools). */
export const ELASTICSEARCH_EXPORTER_IMAGE = containerImage('elasticsearch-exporter', {
  registry: 'quay.io',
  repository: 'prometheuscommunity/elasticsearch-exporter',
  tag: 'v1.9.0',
  note: 'prometheus-community/elasticsearch_exporter, Apache-2.0; runs as nobody (65534). Its metric names are the ones the alerts read (libs/monitoring/src/alerts/logging-alerts.ts). Digest not pinned: not verifiable offline.',
});
