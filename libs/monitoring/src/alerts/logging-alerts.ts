// Central logging's alerts (libs/logging): Elasticsearch from elasticsearch_exporter and
// kube-state-metrics, the shipper from the collector's own metrics (names as the collector the
// checks build reports them, tools/otelcol/builder.yaml).
import { ES_DISK_USED, ES_HEAP_USED, LOGGING, SHIPPER_QUEUE_USED } from '../queries';
import { AlertRule } from './rule';

const shipper = `job="${LOGGING.shipper}"`;

export const LOGGING_ALERTS: AlertRule[] = [
  {
    alert: 'ElasticsearchClusterRed',
    expr: 'max by (namespace, cluster) (elasticsearch_cluster_health_status{color="red"}) == 1',
    for: '5m',
    severity: 'critical',
    summary: 'Elasticsearch cluster {{ $labels.cluster }} is red: some log indices have no copy',
    description: 'Searches over the lost shards fail, and lines for a red write index are rejected (the shippers queue them on their nodes). GET _cluster/allocation/explain as elastic names the shard and why it is unassigned: a node down, a full disk, a corrupt copy. docs/logging.md, "Restoring a snapshot", if a shard is gone for good.',
  },
  {
    alert: 'ElasticsearchClusterYellow',
    expr: 'max by (namespace, cluster) (elasticsearch_cluster_health_status{color="yellow"}) == 1',
    for: '30m',
    severity: 'warning',
    summary: 'Elasticsearch cluster {{ $labels.cluster }} has been yellow for 30 minutes',
    description: 'Every index has its primary, but some replica shards are unassigned: one more node lost loses data. Usually a node that is down or a disk past the high watermark; GET _cluster/allocation/explain says which.',
  },
  {
    alert: 'ElasticsearchNodesNotReady',
    expr: `kube_statefulset_status_replicas_ready{namespace="${LOGGING.namespace}", statefulset="${LOGGING.statefulset}"}\n< kube_statefulset_replicas{namespace="${LOGGING.namespace}", statefulset="${LOGGING.statefulset}"}`,
    for: '15m',
    severity: 'warning',
    summary: '{{ $value }} of the Elasticsearch nodes are ready',
    description: 'A node is not in the cluster. kubectl -n logging logs elasticsearch-N: a heap too small (OutOfMemoryError), a failed bootstrap check (vm.max_map_count with mmap on), a certificate the node cannot read, or a full data volume.',
  },
  {
    alert: 'ElasticsearchDiskHighWatermark',
    expr: `${ES_DISK_USED} > 0.85`,
    for: '10m',
    severity: 'warning',
    summary: 'Elasticsearch node {{ $labels.name }} has used {{ $value | humanizePercentage }} of its data disk',
    description: 'Past 85% (the low watermark) Elasticsearch puts no new shards on the node, past 90% it moves shards away, and at 95% (flood stage) it makes the indices read-only and the shippers queue every line. Shorten components.logging.retention or grow components.logging.elasticsearch.storage.size.',
  },
  {
    alert: 'ElasticsearchDiskFloodStage',
    expr: `${ES_DISK_USED} > 0.93`,
    for: '5m',
    severity: 'critical',
    summary: 'Elasticsearch node {{ $labels.name }} is at {{ $value | humanizePercentage }} of its data disk, close to flood stage',
    description: 'At 95% Elasticsearch blocks writes to every index with a shard on the node: no log line is stored until space is freed. Delete the oldest backing index of logs-platform-default (DELETE logs-platform-default/... as elastic) or grow the volume now; docs/logging.md, "Retention and sizing".',
  },
  {
    alert: 'ElasticsearchHeapHigh',
    expr: `${ES_HEAP_USED} > 0.9`,
    for: '15m',
    severity: 'warning',
    summary: 'Elasticsearch node {{ $labels.name }} uses {{ $value | humanizePercentage }} of its heap',
    description: 'Long garbage collections slow searches and ingestion, and circuit breakers start refusing requests. Raise components.logging.elasticsearch.heap (at most half the memory limit) or look for a heavy query in Kibana.',
  },
  {
    alert: 'ElasticsearchWritesRejected',
    expr: 'sum by (namespace, cluster, name) (increase(elasticsearch_thread_pool_rejected_count{type="write"}[10m])) > 0',
    for: '10m',
    severity: 'warning',
    summary: 'Elasticsearch node {{ $labels.name }} rejects writes: its write queue is full',
    description: 'The shippers retry the rejected bulk requests (HTTP 429), so nothing is lost yet, but their queues grow. The node cannot keep up with ingestion: more CPU, more nodes, or fewer log lines from a chatty workload.',
  },
  {
    alert: 'LogShipperNotSending',
    expr: `sum by (namespace, pod, node) (rate(otelcol_exporter_sent_log_records_total{${shipper}}[10m])) == 0\nand\nmax by (namespace, pod, node) (otelcol_exporter_queue_size{${shipper}}) > 0`,
    for: '15m',
    severity: 'warning',
    summary: 'The log shipper on {{ $labels.node }} has sent nothing for 15 minutes with lines waiting',
    description: "Its lines wait in its queue on the node's disk and, once that is full, in the container logs, which the kubelet rotates away. kubectl -n log-shipper logs {{ $labels.pod }}: Elasticsearch unreachable, its certificate not trusted, or the log-shipper user's password changed.",
  },
  {
    alert: 'LogShipperQueueFilling',
    expr: `${SHIPPER_QUEUE_USED} > 0.8`,
    for: '10m',
    severity: 'warning',
    summary: 'The log shipper on {{ $labels.node }} has filled {{ $value | humanizePercentage }} of its disk queue',
    description: 'When the queue is full the shipper stops reading; lines then wait in the container logs and are lost when the kubelet rotates them away (containerLogMaxSize times containerLogMaxFiles per container). Find out why Elasticsearch does not take them (LogShipperNotSending, ElasticsearchWritesRejected).',
  },
  {
    alert: 'LogShipperDroppedRecords',
    expr: `sum by (namespace, pod, node) (increase(otelcol_elasticsearch_docs_processed_total{${shipper}, outcome!~"success|too_many"}[10m])) > 0\nor\nsum by (namespace, pod, node) (increase(otelcol_exporter_send_failed_log_records_total{${shipper}}[10m])) > 0`,
    for: '0m',
    severity: 'warning',
    summary: 'The log shipper on {{ $labels.node }} dropped {{ $value }} log records in 10 minutes',
    description: 'Elasticsearch refused them for good, most often a field whose value does not fit its mapping in a way ignore_malformed does not cover, or a document over the size limit. The shipper log names the error type; fix the program that writes such lines, or the index template (libs/logging/src/index-setup.ts).',
  },
  {
    alert: 'LogShipperDown',
    expr: `kube_daemonset_status_number_unavailable{namespace="${LOGGING.shipperNamespace}", daemonset="${LOGGING.shipper}"} > 0`,
    for: '15m',
    severity: 'warning',
    summary: 'Nodes without a ready log shipper: {{ $value }}',
    description: 'Their logs are not shipped; they wait in the container logs until the kubelet rotates them away. kubectl -n log-shipper get pods -o wide names the nodes; a shipper that does not start cannot read its configuration, its hostPath folders or its certificate.',
  },
];
