// Panels more than one dashboard shows.
import { PanelSpec, timeseries } from './builder';

const W = '$__rate_interval';

/** CPU, memory and restarts of the containers in `namespace` (cAdvisor and kube-state-metrics). */
export function podResources(namespace: string): PanelSpec[] {
  return [
    timeseries('CPU by pod', [{ expr: `sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="${namespace}",container!=""}[${W}]))`, legend: '{{pod}}' }], { width: 8 }),
    timeseries('Memory by pod (working set)', [{ expr: `sum by (pod) (container_memory_working_set_bytes{namespace="${namespace}",container!=""})`, legend: '{{pod}}' }], { unit: 'bytes', width: 8 }),
    timeseries('Container restarts (1h)', [{ expr: `sum by (pod) (increase(kube_pod_container_status_restarts_total{namespace="${namespace}"}[1h]))`, legend: '{{pod}}' }], { width: 8 }),
  ];
}
