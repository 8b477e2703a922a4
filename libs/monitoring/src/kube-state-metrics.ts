import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { allowEgressToAddresses, grant, httpProbe, PlatformChart, PlatformDeployment, PodSelection, requireApiServer, workloadLabels } from '@ml-platform/core';
import { KUBE_STATE_METRICS_IMAGE } from './images';

const METRICS_PORT = 8080;
const TELEMETRY_PORT = 8081;
const KSM_UID = 65534;

/**
 * The objects whose state is exported, with the API group each is listed from. Secrets and
 * ConfigMaps are left out on purpose: listing Secrets returns their values, a read right no
 * metrics exporter should hold.
 */
const COLLECTORS: Readonly<Record<string, { group: string; resource: string }>> = {
  cronjobs: { group: 'batch', resource: 'cronjobs' },
  daemonsets: { group: 'apps', resource: 'daemonsets' },
  deployments: { group: 'apps', resource: 'deployments' },
  jobs: { group: 'batch', resource: 'jobs' },
  namespaces: { group: '', resource: 'namespaces' },
  nodes: { group: '', resource: 'nodes' },
  persistentvolumeclaims: { group: '', resource: 'persistentvolumeclaims' },
  persistentvolumes: { group: '', resource: 'persistentvolumes' },
  poddisruptionbudgets: { group: 'policy', resource: 'poddisruptionbudgets' },
  pods: { group: '', resource: 'pods' },
  replicasets: { group: 'apps', resource: 'replicasets' },
  resourcequotas: { group: '', resource: 'resourcequotas' },
  services: { group: '', resource: 'services' },
  statefulsets: { group: 'apps', resource: 'statefulsets' },
  storageclasses: { group: 'storage.k8s.io', resource: 'storageclasses' },
};

/**
 * kube-state-metrics: the state of Kubernetes objects (restarts, readiness, node conditions,
 * replicas) as metrics, with list/watch on exactly the resources it exports.
 */
export class KubeStateMetrics extends Construct {
  public readonly pods: PodSelection;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const chart = PlatformChart.of(this);
    const image = chart.context.images.image(KUBE_STATE_METRICS_IMAGE);
    const identity = { name: 'kube-state-metrics', instance: chart.component, component: 'metrics-exporter', version: image.version };
    const labels = workloadLabels(identity);
    const serviceAccount = 'kube-state-metrics';
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: serviceAccount, namespace: chart.namespace, labels }, automountServiceAccountToken: false });
    const byGroup = new Map<string, string[]>();
    for (const c of Object.values(COLLECTORS)) byGroup.set(c.group, [...(byGroup.get(c.group) ?? []), c.resource]);
    grant(this, 'Read', {
      name: 'kube-state-metrics',
      clusterWide: true,
      subject: { serviceAccount, namespace: chart.namespace },
      labels,
      rules: [...byGroup.entries()].map(([group, resources]) => ({ apiGroups: [group], resources, verbs: ['list', 'watch'] })),
    });
    const deployment = new PlatformDeployment(this, 'Server', {
      identity,
      metrics: { port: METRICS_PORT },
      pod: {
        user: KSM_UID,
        group: KSM_UID,
        serviceAccountName: serviceAccount,
        mountServiceAccountToken: true,
        containers: [
          {
            name: 'kube-state-metrics',
            image,
            args: [`--port=${METRICS_PORT}`, `--telemetry-port=${TELEMETRY_PORT}`, `--resources=${Object.keys(COLLECTORS).join(',')}`],
            ports: [
              { name: 'http', number: METRICS_PORT },
              { name: 'telemetry', number: TELEMETRY_PORT },
            ],
            resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
            livenessProbe: { ...httpProbe(METRICS_PORT, '/livez'), initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 5 },
            readinessProbe: { ...httpProbe(TELEMETRY_PORT, '/readyz'), initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 5 },
          },
        ],
      },
    });
    this.pods = deployment.pods;
    const apiServer = requireApiServer(chart);
    allowEgressToAddresses(this.pods, 'kube-apiserver', apiServer.cidrs, apiServer.port);
  }
}
