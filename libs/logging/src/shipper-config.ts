// The log shipper's pipeline, as the OpenTelemetry Collector's configuration. Kept apart from
// the chart so the checks can load exactly what renders into the real collector
// (tools/validate, shipper.test.ts).
import { quantityValue } from '@ml-platform/core';

/** Where the shipper reads, buffers and sends; the chart passes the in-cluster values. */
export interface ShipperConfigProps {
  /** The cluster's name, on every record as `k8s.cluster.name`. */
  readonly cluster: string;
  /** Elasticsearch's HTTPS endpoint. */
  readonly endpoint: string;
  /** The data stream the records go to. */
  readonly dataStream: string;
  /** The user the shipper writes as. */
  readonly user: string;
  /** The file holding that user's password (read by the collector's file provider, never in the environment). */
  readonly passwordFile: string;
  /** The CA file that signed Elasticsearch's certificate. */
  readonly caFile: string;
  /** The container logs to tail, e.g. `/var/log/pods/*\/*\/*.log`. */
  readonly include: string;
  /** Logs never shipped: the shipper's own (its errors during an outage would feed the outage). */
  readonly exclude: readonly string[];
  /** The directory of the read offsets and the queue, on the node's disk. */
  readonly storageDirectory: string;
  /** Most bytes the queue holds while Elasticsearch is away. */
  readonly bufferSize: string;
  /** Where the health check listens (`host:port`). */
  readonly healthEndpoint: string;
  /** Where the collector's own metrics are served. */
  readonly metrics: { readonly host: string; readonly port: number };
  /**
   * Add pod labels and owners from the Kubernetes API (k8sattributes). Off only where no API
   * server is at hand (the shipper test); the file path already names namespace, pod and container.
   *
   * @default true
   */
  readonly kubernetesMetadata?: boolean;
}

/**
 * The pod labels every record carries, as `k8s.pod.labels.<label>` resource attributes: the
 * platform's own, and those Airflow's KubernetesExecutor and Spark put on the pods they create,
 * so a DAG task's or a Spark application's lines can be found by name.
 */
export const SHIPPED_POD_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/component',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/part-of',
  'app',
  'dag_id',
  'task_id',
  'run_id',
  'try_number',
  'spark-app-name',
  'spark-app-selector',
  'spark-role',
] as const;

/**
 * A line starts a new record unless it continues a stack trace: indented lines ("  File ...",
 * "\tat ..."), Java's "Caused by:" and "... N more", and Python's traceback header, chained-cause
 * sentences and final exception line ("ValueError: boom"). A program that logs an exception
 * line alone gets it joined to the record before; docs/logging.md says so.
 */
export const MULTILINE_FIRST_ENTRY =
  'body matches "^\\\\S" and not (body matches "^(Traceback \\\\(most recent call last\\\\):|Caused by: |During handling of the above exception|The above exception was the direct cause|[A-Za-z_][\\\\w.$]*(Error|Exception|Exit|Interrupt|Warning)(: |$))")';

/** The collector configuration of the log shipper. */
export function shipperConfig(props: ShipperConfigProps): Record<string, unknown> {
  const kubernetesMetadata = props.kubernetesMetadata ?? true;
  const retry = { enabled: true, initial_interval: '1s', max_interval: '30s', max_elapsed_time: '0s' };
  return {
    extensions: {
      // Read offsets and the exporter's queue survive a restart of the shipper.
      file_storage: {
        directory: props.storageDirectory,
        create_directory: false,
        fsync: true,
        compaction: { on_start: true, on_rebound: true, directory: props.storageDirectory },
      },
      health_check: { endpoint: props.healthEndpoint },
    },
    receivers: {
      filelog: {
        include: [props.include],
        exclude: [...props.exclude],
        // A new node ships what its pods wrote before the shipper started; afterwards the
        // offsets in file_storage say where to resume.
        start_at: 'beginning',
        include_file_path: true,
        storage: 'file_storage',
        // When the queue is full the receiver waits, and the lines wait in the container logs.
        retry_on_failure: retry,
        operators: [
          // CRI or Docker lines: timestamp, stream, partial lines joined; namespace, pod,
          // container and restart count from the file path.
          { type: 'container', id: 'container' },
          {
            type: 'recombine',
            id: 'stack-traces',
            combine_field: 'body',
            source_identifier: 'attributes["log.file.path"]',
            is_first_entry: MULTILINE_FIRST_ENTRY,
            combine_with: '\n',
            force_flush_period: '2s',
            max_log_size: '1MiB',
          },
          // JSON lines become fields; their message becomes the record's body.
          { type: 'json_parser', id: 'json', if: 'body matches "^\\\\s*\\\\{"', parse_from: 'body', parse_to: 'attributes', on_error: 'send_quiet' },
          ...['message', 'msg'].map((key) => ({ type: 'move', id: `${key}-to-body`, if: `attributes["${key}"] != nil and type(attributes["${key}"]) == "string"`, from: `attributes["${key}"]`, to: 'body' })),
          ...['level', 'levelname', 'log.level', 'severity'].map((key) => ({
            type: 'severity_parser',
            id: `severity-from-${key.replace('.', '-')}`,
            if: `attributes["${key}"] != nil`,
            parse_from: `attributes["${key}"]`,
            on_error: 'send_quiet',
          })),
        ],
      },
    },
    processors: {
      memory_limiter: { check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 20 },
      ...(kubernetesMetadata
        ? {
            k8sattributes: {
              auth_type: 'serviceAccount',
              passthrough: false,
              // Only this node's pods: the watch stays small on large clusters.
              filter: { node_from_env_var: 'K8S_NODE_NAME' },
              pod_association: [{ sources: [{ from: 'resource_attribute', name: 'k8s.pod.uid' }] }],
              extract: {
                metadata: ['k8s.deployment.name', 'k8s.statefulset.name', 'k8s.daemonset.name', 'k8s.cronjob.name', 'k8s.job.name', 'k8s.node.name'],
                labels: SHIPPED_POD_LABELS.map((key) => ({ tag_name: `k8s.pod.labels.${key}`, key, from: 'pod' })),
              },
            },
          }
        : {}),
      resource: { attributes: [{ key: 'k8s.cluster.name', value: props.cluster, action: 'upsert' }] },
    },
    exporters: {
      elasticsearch: {
        endpoint: props.endpoint,
        user: props.user,
        password: `\${file:${props.passwordFile}}`,
        logs_index: props.dataStream,
        tls: { ca_file: props.caFile, reload_interval: '1h' },
        // No deadline on a bulk request: with one, a batch that outlives it is dropped. Dead
        // connections still fail through TCP keepalive, and the request is retried.
        timeout: '0s',
        retry: { enabled: true, max_retries: 1_000_000_000, initial_interval: '1s', max_interval: '30s', retry_on_status: [429, 502, 503, 504] },
        // The queue lives on the node's disk: what was read is kept until Elasticsearch took it.
        sending_queue: {
          enabled: true,
          storage: 'file_storage',
          sizer: 'bytes',
          queue_size: quantityValue(props.bufferSize),
          block_on_overflow: true,
          num_consumers: 2,
          batch: { flush_timeout: '1s', sizer: 'bytes', min_size: 1_000_000, max_size: 5_000_000 },
        },
      },
    },
    service: {
      extensions: ['file_storage', 'health_check'],
      telemetry: {
        logs: { level: 'info', encoding: 'json' },
        metrics: { level: 'normal', readers: [{ pull: { exporter: { prometheus: { host: props.metrics.host, port: props.metrics.port } } } }] },
      },
      pipelines: {
        logs: {
          receivers: ['filelog'],
          processors: ['memory_limiter', ...(kubernetesMetadata ? ['k8sattributes'] : []), 'resource'],
          exporters: ['elasticsearch'],
        },
      },
    },
  };
}
