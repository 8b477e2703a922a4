// Central logging (libs/logging): Elasticsearch's health, disks, heap and rejected writes from
// elasticsearch_exporter, and what the shippers read, send, queue and drop, from their own metrics.
import { ES_DISK_USED, ES_HEAP_USED, LOGGING, SHIPPER_QUEUE_USED } from '../queries';
import { dashboard, stat, timeseries } from './builder';
import { podResources } from './panels';

const W = '$__rate_interval';
const shipper = `job="${LOGGING.shipper}"`;

export const LOGGING_DASHBOARD = dashboard({
  uid: 'logging',
  title: 'Logging',
  tags: ['platform', 'logging'],
  description: 'Elasticsearch and the log shippers (docs/logging.md): cluster health, disk against the watermarks, heap, rejected writes; lines read, sent, queued on the nodes and dropped.',
  panels: [
    stat('Cluster health (0 green, 1 yellow, 2 red)', { expr: '(max(elasticsearch_cluster_health_status{color="red"}) * 2 + max(elasticsearch_cluster_health_status{color="yellow"})) or vector(0)' }, { redAt: 1 }),
    stat('Nodes', { expr: 'max(elasticsearch_cluster_health_number_of_nodes) or vector(0)' }),
    stat('Fullest data disk', { expr: `max(${ES_DISK_USED}) or vector(0)` }, { unit: 'percentunit', redAt: 0.85 }),
    stat('Records dropped (1h)', { expr: `sum(increase(otelcol_elasticsearch_docs_processed_total{${shipper}, outcome!~"success|too_many"}[1h])) or vector(0)` }, { redAt: 1 }),
    timeseries('Log records per second', [
      { expr: `sum(rate(otelcol_receiver_accepted_log_records_total{${shipper}}[${W}]))`, legend: 'read' },
      { expr: `sum(rate(otelcol_exporter_sent_log_records_total{${shipper}}[${W}]))`, legend: 'sent' },
    ], { unit: 'ops' }),
    timeseries('Shipper queue used, per node', [{ expr: SHIPPER_QUEUE_USED, legend: '{{node}}' }], { unit: 'percentunit' }),
    timeseries('Bulk requests per second by outcome', [{ expr: `sum by (outcome) (rate(otelcol_elasticsearch_bulk_requests_count_total{${shipper}}[${W}]))`, legend: '{{outcome}}' }], { unit: 'reqps' }),
    timeseries('Data disk used, per node', [{ expr: ES_DISK_USED, legend: '{{name}}' }], { unit: 'percentunit' }),
    timeseries('JVM heap used, per node', [{ expr: ES_HEAP_USED, legend: '{{name}}' }], { unit: 'percentunit' }),
    timeseries('Rejected writes per second', [{ expr: `sum by (name) (rate(elasticsearch_thread_pool_rejected_count{type="write"}[${W}]))`, legend: '{{name}}' }], { unit: 'ops' }),
    timeseries('Indexing rate', [{ expr: `sum by (name) (rate(elasticsearch_indices_indexing_index_total[${W}]))`, legend: '{{name}}' }], { unit: 'ops' }),
    ...podResources(LOGGING.namespace),
  ],
});
