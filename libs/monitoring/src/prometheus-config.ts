import { ScrapeAnnotations } from '@ml-platform/core';

/** The service account files every pod with a token has; Prometheus authenticates with them. */
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const inCluster = {
  tls_config: { ca_file: `${SA_DIR}/ca.crt` },
  authorization: { credentials_file: `${SA_DIR}/token` },
};

/** `prometheus.io/port` → `__meta_kubernetes_pod_annotation_prometheus_io_port`. */
function podAnnotation(key: string): string {
  return `__meta_kubernetes_pod_annotation_${key.replace(/[^a-zA-Z0-9]/g, '_')}`;
}

/** Properties of the rendered prometheus.yml. */
export interface PrometheusConfigProps {
  /** Cluster name, attached to every series and alert as `cluster`. */
  readonly cluster: string;
  readonly scrapeInterval: string;
  readonly retentionTime: string;
  /** Prometheus units (`40GB`). */
  readonly retentionSize: string;
  readonly ruleFiles: string[];
  /** `host:port` of each Alertmanager; alerts go to all of them, they deduplicate. */
  readonly alertmanagers: string[];
  /**
   * The internal CA inside the Prometheus container: pods that serve metrics over TLS are
   * scraped by the job `kubernetes-pods-tls`, which verifies them with it.
   *
   * @default - no TLS pod targets
   */
  readonly internalCaFile?: string;
}

/**
 * prometheus.yml: Kubernetes service discovery for the API server, the kubelets (and their
 * cAdvisor) and every pod that carries the `prometheus.io/*` annotations of the platform's
 * scrape convention. Retention lives here, not in flags (the flags are deprecated since 3.8).
 */
export function prometheusConfig(props: PrometheusConfigProps): object {
  const scrape = ScrapeAnnotations;
  const podTarget = [
    // Finished pods have no endpoint left to scrape.
    { source_labels: ['__meta_kubernetes_pod_phase'], action: 'drop', regex: 'Pending|Succeeded|Failed' },
    { source_labels: [podAnnotation(scrape.PATH)], target_label: '__metrics_path__', regex: '(.+)' },
    { action: 'labelmap', regex: `${podAnnotation(scrape.PARAM_PREFIX)}(.+)`, replacement: '__param_$1' },
  ];
  const podLabels = [
    // job is the application (`postgres`, `mlflow`): what alerts and dashboards select on.
    { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], target_label: 'job' },
    { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
    { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
    { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node' },
  ];
  return {
    global: {
      scrape_interval: props.scrapeInterval,
      scrape_timeout: '10s',
      evaluation_interval: props.scrapeInterval,
      external_labels: { cluster: props.cluster },
    },
    storage: { tsdb: { retention: { time: props.retentionTime, size: props.retentionSize } } },
    rule_files: props.ruleFiles,
    alerting: { alertmanagers: [{ static_configs: [{ targets: props.alertmanagers }] }] },
    scrape_configs: [
      { job_name: 'prometheus', static_configs: [{ targets: ['localhost:9090'] }] },
      {
        job_name: 'kubernetes-apiservers',
        scheme: 'https',
        ...inCluster,
        kubernetes_sd_configs: [{ role: 'endpointslice', namespaces: { names: ['default'] } }],
        relabel_configs: [
          {
            source_labels: ['__meta_kubernetes_service_name', '__meta_kubernetes_endpointslice_port_name'],
            action: 'keep',
            regex: 'kubernetes;https',
          },
        ],
      },
      ...[
        { job: 'kubelet', path: '/metrics' },
        { job: 'cadvisor', path: '/metrics/cadvisor' },
      ].map(({ job, path }) => ({
        job_name: job,
        scheme: 'https',
        metrics_path: path,
        // Kubelet serving certificates are self-signed unless serverTLSBootstrap is on; the
        // bearer token still authenticates us, and nodes/metrics is all it grants.
        tls_config: { ca_file: `${SA_DIR}/ca.crt`, insecure_skip_verify: true },
        authorization: inCluster.authorization,
        kubernetes_sd_configs: [{ role: 'node' }],
        relabel_configs: [{ source_labels: ['__meta_kubernetes_node_name'], target_label: 'node' }],
      })),
      {
        job_name: 'kubernetes-pods',
        kubernetes_sd_configs: [{ role: 'pod' }],
        relabel_configs: [
          { source_labels: [podAnnotation(scrape.SCRAPE)], action: 'keep', regex: 'true' },
          { source_labels: [podAnnotation(scrape.SCHEME)], action: 'drop', regex: 'https' },
          ...podTarget,
          { source_labels: ['__meta_kubernetes_pod_ip', podAnnotation(scrape.PORT)], target_label: '__address__', regex: '([0-9.]+);([0-9]+)', replacement: '$1:$2' },
          { source_labels: ['__meta_kubernetes_pod_ip', podAnnotation(scrape.PORT)], target_label: '__address__', regex: '([0-9a-fA-F]*:[0-9a-fA-F:]*);([0-9]+)', replacement: '[$1]:$2' },
          ...podLabels,
        ],
      },
      ...(props.internalCaFile
        ? [
            {
              // Pods that serve TLS from the internal CA, by the DNS name their certificate
              // holds: <pod>.<headless Service>.<namespace>.svc.
              job_name: 'kubernetes-pods-tls',
              scheme: 'https',
              tls_config: { ca_file: props.internalCaFile },
              kubernetes_sd_configs: [{ role: 'pod' }],
              relabel_configs: [
                { source_labels: [podAnnotation(scrape.SCRAPE)], action: 'keep', regex: 'true' },
                { source_labels: [podAnnotation(scrape.SCHEME)], action: 'keep', regex: 'https' },
                ...podTarget,
                {
                  source_labels: ['__meta_kubernetes_pod_name', podAnnotation(scrape.TLS_SUBDOMAIN), '__meta_kubernetes_namespace', podAnnotation(scrape.PORT)],
                  target_label: '__address__',
                  regex: '(.+);(.+);(.+);([0-9]+)',
                  replacement: '$1.$2.$3.svc:$4',
                },
                {
                  // A Deployment's pods have no names in DNS: cluster DNS names them by address
                  // (10-1-2-3.<headless Service>.<namespace>.svc).
                  source_labels: [podAnnotation(scrape.TLS_NAME), '__meta_kubernetes_pod_ip', podAnnotation(scrape.TLS_SUBDOMAIN), '__meta_kubernetes_namespace', podAnnotation(scrape.PORT)],
                  target_label: '__address__',
                  regex: 'address;([0-9]+)\\.([0-9]+)\\.([0-9]+)\\.([0-9]+);(.+);(.+);([0-9]+)',
                  replacement: '$1-$2-$3-$4.$5.$6.svc:$7',
                },
                ...podLabels,
              ],
            },
          ]
        : []),
    ],
  };
}
