import { Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { expect, test } from 'vitest';
import { PlatformContext } from './context';
import { containerImage, ImageCatalog } from './images';
import { Layer } from './layers';
import { MetricsScraping } from './monitoring';
import { PodSelection } from './network';
import { PlatformChart } from './platform-chart';
import { PlatformDaemonSet, PlatformDeployment, PlatformWorkloadProps } from './workload';

const context = new PlatformContext({
  cluster: 'test', kubernetesVersion: '1.28', baseDomain: 'ml.test.internal', defaultStorageClass: 'standard', images: new ImageCatalog(),
  nodes: { cidrs: ['10.2.0.0/24'] },
});
const TEST_IMAGE = containerImage('app', { registry: 'ghcr.io', repository: 'example/app', tag: '1.0.0', note: 'test image' });
const probe = { tcpSocket: { port: k8s.IntOrString.fromNumber(8080) } };
const app = (name: string, extra: Partial<PlatformWorkloadProps> = {}): PlatformWorkloadProps => ({
  identity: { name, instance: name, component: 'test', version: '1.0' },
  pod: {
    user: 1000,
    group: 1000,
    containers: [{
      name: 'main', image: context.images.image(TEST_IMAGE), ports: [{ name: 'http', number: 8080 }],
      resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } }, livenessProbe: probe, readinessProbe: probe,
    }],
  },
  ...extra,
});
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const policies = (chart: PlatformChart): Record<string, any> =>
  Object.fromEntries((Testing.synth(chart) as { kind: string; metadata: { name: string }; spec: unknown }[]).filter((o) => o.kind === 'NetworkPolicy').map((o) => [o.metadata.name, o.spec]));

test('a workload declares its metrics once: scrape annotations, and only the scraper may reach the port', () => {
  const root = Testing.app();
  const early = new PlatformChart(root, 'early', { context, layer: Layer.APPS });
  new PlatformDeployment(early, 'Server', app('early', { metrics: { port: 8080, path: '/stats', params: { format: 'prometheus' } } }));
  const monitoring = new PlatformChart(root, 'monitoring', { context, layer: Layer.PLATFORM });
  const scraper = new PodSelection(monitoring, 'monitoring', { name: 'prometheus', instance: 'monitoring', component: 'metrics-server', version: '3' });
  MetricsScraping.of(monitoring).scrapeWith(scraper);
  // Declared after the scraper registered: wired as well.
  const late = new PlatformChart(root, 'late', { context, layer: Layer.APPS });
  new PlatformDeployment(late, 'Server', app('late', { metrics: { port: 8080 } }));

  const deployment = (Testing.synth(early) as { kind: string; spec: { template: { metadata: { annotations: object } } } }[]).find((o) => o.kind === 'Deployment');
  expect(deployment?.spec.template.metadata.annotations).toEqual({
    'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080', 'prometheus.io/path': '/stats', 'prometheus.io/scheme': 'http', 'prometheus.io/param_format': 'prometheus',
  });
  const peer = (ns: string, name: string) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': ns } } });
  for (const chart of [early, late]) {
    const name = chart.namespace;
    expect(policies(chart)[`allow-${name}-from-prometheus.monitoring-8080`]).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': name } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [peer('monitoring', 'prometheus')], ports: [{ port: 8080, protocol: 'TCP' }] }],
    });
    expect(policies(monitoring)[`allow-prometheus-to-${name}-8080`].egress).toEqual([{ to: [peer(name, name)], ports: [{ port: 8080, protocol: 'TCP' }] }]);
  }
  expect(MetricsScraping.of(late).targets.map((t) => t.pods.identity.name)).toEqual(['early', 'late']);
  expect(() => MetricsScraping.of(late).scrapeWith(scraper)).toThrow('metrics are already scraped by monitoring/prometheus');
});

test('a metrics port that no container exposes is refused', () => {
  const chart = new PlatformChart(Testing.app(), 'demo', { context, layer: Layer.APPS });
  expect(() => new PlatformDeployment(chart, 'Server', app('demo', { metrics: { port: 9999 } }))).toThrow(
    "Deployment 'demo/demo' declares metrics on port 9999, which no container exposes (ports: 8080); add it to the container's ports",
  );
});

test('host namespaces and host paths only in a namespace with a privileged exception', () => {
  const withHost = (pod: PlatformWorkloadProps['pod']) => ({ ...pod, host: { network: true }, volumes: [{ name: 'proc', hostPath: { path: '/proc' } }] });
  const restricted = new PlatformChart(Testing.app(), 'agents', { context, layer: Layer.PLATFORM });
  const props = app('agent');
  expect(() => new PlatformDaemonSet(restricted, 'Agent', { ...props, pod: withHost(props.pod) })).toThrow(
    "pod in 'agents' asks for hostNetwork, hostPath volume 'proc', which Pod Security allows only in a privileged namespace; add 'agents' to POD_SECURITY_EXCEPTIONS (libs/core/src/pod-security.ts) with its reason, or drop the host access",
  );
  const excepted = new PlatformChart(Testing.app(), 'node-exporter', { context, layer: Layer.PLATFORM });
  new PlatformDaemonSet(excepted, 'Agent', { ...props, pod: withHost(props.pod), metrics: { port: 8080 } });
  const ds = (Testing.synth(excepted) as { kind: string; spec: { template: { spec: object } } }[]).find((o) => o.kind === 'DaemonSet');
  expect(ds?.spec.template.spec).toMatchObject({ hostNetwork: true, tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }] });
});
