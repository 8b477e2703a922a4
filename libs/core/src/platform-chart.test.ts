import { App, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { describe, expect, test } from 'vitest';
import { PlatformContext } from './context';
import { containerImage, ImageCatalog } from './images';
import { Layer } from './layers';
import { allowFlow } from './network';
import { PlatformChart } from './platform-chart';
import { SecretKeyRef, SecretRequirements } from './secrets';
import { PlatformService } from './service';
import { EnvValue, PlatformDeployment, PlatformJob, PlatformStatefulSet, PlatformWorkloadProps } from './workload';

const contextProps = {
  cluster: 'test',
  kubernetesVersion: '1.28',
  baseDomain: 'ml.test.internal',
  defaultStorageClass: 'standard',
  images: new ImageCatalog(),
};
const context = new PlatformContext(contextProps);
const TEST_IMAGE = containerImage('app', { registry: 'ghcr.io', repository: 'example/app', tag: '1.0.0', note: 'test image' });

const container = (extra: object = {}) => ({
  name: 'main',
  image: context.images.image(TEST_IMAGE),
  resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '32Mi' } },
  livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromNumber(80) } },
  readinessProbe: { tcpSocket: { port: k8s.IntOrString.fromNumber(80) } },
  ...extra,
});
const workload = (name: string, extra: object = {}): PlatformWorkloadProps => ({
  identity: { name, instance: name, component: 'test', version: '1.0' },
  pod: { user: 1000, group: 1000, containers: [container(extra)] },
});

describe('PlatformChart', () => {
  test('creates its namespace with restricted Pod Security, default deny and DNS egress', () => {
    // GIVEN
    const app = Testing.app();
    // WHEN
    const chart = new PlatformChart(app, 'demo', { context, layer: Layer.APPS });
    // THEN
    const objects = Testing.synth(chart);
    const ns = objects.find((o) => o.kind === 'Namespace');
    expect(ns.metadata.labels).toMatchObject({
      'kubernetes.io/metadata.name': 'demo',
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'v1.28',
    });
    expect(objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name)).toEqual(['default-deny', 'allow-dns-egress']);
  });

  test('in a review environment, prefixes and labels the namespaces it creates, keeps the exceptions of their components, and leaves operator namespaces alone', () => {
    const app = Testing.app();
    const review = new PlatformContext({ ...contextProps, review: { slug: 'mr-7' } });
    const chart = new PlatformChart(app, 'log-shipper', { context: review, layer: Layer.APPS });
    const flux = new PlatformChart(app, 'flux', { context: review, layer: Layer.APPS, namespace: 'flux-system', manageNamespace: false });
    expect(chart.namespace).toBe('mr-7-log-shipper');
    const ns = Testing.synth(chart).find((o) => o.kind === 'Namespace');
    expect(ns.metadata.labels).toMatchObject({ 'kubernetes.io/metadata.name': 'mr-7-log-shipper', 'ml-platform.example/review': 'mr-7', 'pod-security.kubernetes.io/enforce': 'privileged' });
    expect(chart.rootAllowed).toBe(true);
    expect(flux.namespace).toBe('flux-system');
    expect(Testing.synth(new PlatformChart(Testing.app(), 'demo', { context, layer: Layer.APPS })).find((o) => o.kind === 'Namespace').metadata.labels).not.toHaveProperty(['ml-platform.example/review']);
  });

  test('fails on a chart id that is not a DNS label', () => {
    expect(() => new PlatformChart(Testing.app(), 'Demo_1', { context, layer: Layer.APPS })).toThrowError(
      "namespace of chart 'Demo_1' 'Demo_1' is not a valid DNS label: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
    );
  });
});

describe('hardened workloads', () => {
  test('a Deployment gets the full security context and records the secrets it reads', () => {
    const app = new App();
    const chart = new PlatformChart(app, 'demo', { context, layer: Layer.APPS });
    const ref = SecretKeyRef.of('demo-token', 'token', 'token of demo');
    new PlatformDeployment(chart, 'Server', workload('demo', { env: { TOKEN: EnvValue.fromSecret(ref) }, writablePaths: [{ path: '/tmp' }] }));
    const deployment = Testing.synth(chart).find((o) => o.kind === 'Deployment');
    const pod = deployment.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, allowPrivilegeEscalation: false });
    expect(pod.containers[0].imagePullPolicy).toBe('IfNotPresent');
    expect(pod.volumes).toEqual([{ name: 'writable-tmp', emptyDir: { sizeLimit: '1Gi' } }]);
    expect(deployment.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'demo', 'app.kubernetes.io/instance': 'demo' });
    expect(SecretRequirements.of(chart).list()).toEqual([{ name: 'demo-token', namespaces: ['demo'], keys: [{ key: 'token', description: 'token of demo' }] }]);
  });

  test('fails when a long-running container has no probes', () => {
    const chart = new PlatformChart(Testing.app(), 'demo', { context, layer: Layer.APPS });
    expect(() => new PlatformDeployment(chart, 'Server', workload('demo', { livenessProbe: undefined }))).toThrowError(
      "Deployment 'demo/demo' container 'main' needs a livenessProbe and a readinessProbe; long-running containers must tell Kubernetes when they are alive and ready",
    );
  });

  test('fails when a pod would run as root', () => {
    const chart = new PlatformChart(Testing.app(), 'demo', { context, layer: Layer.APPS });
    const props = workload('demo');
    expect(() => new PlatformDeployment(chart, 'Server', { ...props, pod: { ...props.pod, user: 0 } })).toThrowError(/would run as root/);
  });

  test('containers that share a writable path get one emptyDir of the largest size, whatever their order', () => {
    // The sidecar's smaller /tmp used to replace the server's when declared last.
    for (const sizes of [['1Gi', '256Mi'], ['256Mi', '1Gi']]) {
      const chart = new PlatformChart(Testing.app(), 'demo', { context, layer: Layer.APPS });
      const [server, sidecar] = sizes.map((sizeLimit, i) => container({ name: `c${i}`, writablePaths: [{ path: '/tmp', sizeLimit }] }));
      new PlatformDeployment(chart, 'Server', { ...workload('demo'), pod: { user: 1000, group: 1000, containers: [server, sidecar] } });
      const volumes = Testing.synth(chart).find((o) => o.kind === 'Deployment').spec.template.spec.volumes;
      expect(volumes).toEqual([{ name: 'writable-tmp', emptyDir: { sizeLimit: '1Gi' } }]);
    }
    const chart = new PlatformChart(Testing.app(), 'demo', { context, layer: Layer.APPS });
    const [disk, memory] = [container({ name: 'disk', writablePaths: [{ path: '/cache' }] }), container({ name: 'memory', writablePaths: [{ path: '/cache', medium: 'Memory' }] })];
    expect(() => new PlatformDeployment(chart, 'Server', { ...workload('demo'), pod: { user: 1000, group: 1000, containers: [disk, memory] } })).toThrowError(
      "pod in 'demo': container 'memory' declares writable path /cache on Memory, another container of the pod on disk; they share one emptyDir, so declare one medium or use different paths",
    );
  });

  test('a singleton Deployment is recreated, never run twice, and refuses a second replica', () => {
    const chart = new PlatformChart(Testing.app(), 'demo', { context, layer: Layer.APPS });
    new PlatformDeployment(chart, 'Server', { ...workload('demo'), strategy: 'Recreate' });
    expect(Testing.synth(chart).find((o) => o.kind === 'Deployment').spec.strategy).toEqual({ type: 'Recreate' });
    expect(() => new PlatformDeployment(chart, 'Other', { ...workload('other'), strategy: 'Recreate', replicas: 2 })).toThrowError(
      "Deployment 'demo/other' is recreated on every change, which suits a singleton; run 1 replica or roll it out (strategy RollingUpdate)",
    );
  });

  test('quorum members spread hard across nodes and declared zones only where the cluster asks; too few nodes are refused', () => {
    const spreadOf = (topology: PlatformContext['topology'], quorum: boolean, replicas = 3) => {
      const chart = new PlatformChart(Testing.app(), 'demo', { context: new PlatformContext({ ...contextProps, topology }), layer: Layer.DATA });
      new PlatformStatefulSet(chart, 'Server', { ...workload('demo'), replicas, serviceName: 'demo', quorum });
      return Testing.synth(chart).find((o) => o.kind === 'StatefulSet').spec.template.spec.topologySpreadConstraints.map((c: { topologyKey: string; whenUnsatisfiable: string }) => `${c.topologyKey} ${c.whenUnsatisfiable}`);
    };
    expect(spreadOf({ nodes: 3, quorumSpread: 'hard' }, true)).toEqual(['kubernetes.io/hostname DoNotSchedule']);
    expect(spreadOf({ nodes: 6, zones: 3, quorumSpread: 'hard' }, true)).toEqual(['kubernetes.io/hostname DoNotSchedule', 'topology.kubernetes.io/zone DoNotSchedule']);
    // Not a quorum, a soft cluster, or no declared topology: spread where possible.
    expect(spreadOf({ nodes: 3, quorumSpread: 'hard' }, false)).toEqual(['kubernetes.io/hostname ScheduleAnyway']);
    expect(spreadOf({ nodes: 1, quorumSpread: 'soft' }, true)).toEqual(['kubernetes.io/hostname ScheduleAnyway']);
    expect(spreadOf(undefined, true)).toEqual(['kubernetes.io/hostname ScheduleAnyway']);
    expect(() => spreadOf({ nodes: 2, quorumSpread: 'hard' }, true)).toThrowError(
      "StatefulSet 'demo/demo' is a quorum of 3 members, but topology.nodes in cluster.yaml declares 2 nodes; with hard spreading each member needs a node of its own",
    );
  });

  test('an autoscaled Deployment leaves its count to the HorizontalPodAutoscaler and spreads for the most pods', () => {
    const chart = new PlatformChart(Testing.app(), 'demo', { context, layer: Layer.APPS });
    const deployment = new PlatformDeployment(chart, 'Server', { ...workload('demo'), autoscaling: { minReplicas: 2, maxReplicas: 6 } });
    expect(deployment.replicas).toBe(2);
    const objects = Testing.synth(chart);
    const spec = objects.find((o) => o.kind === 'Deployment').spec;
    // A replica count in Git would be reset by every sync, undoing the autoscaler.
    expect(spec.replicas).toBeUndefined();
    expect(spec.template.spec.topologySpreadConstraints).toHaveLength(1);
    expect(objects.find((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: expect.objectContaining({ name: 'demo', namespace: 'demo' }),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'demo' },
        minReplicas: 2,
        maxReplicas: 6,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
      },
    });
    expect(() => new PlatformDeployment(chart, 'Low', { ...workload('low'), autoscaling: { minReplicas: 3, maxReplicas: 2 } })).toThrowError(
      "Deployment 'demo/low' autoscales between 3 and 2 replicas; the maximum must not be below the minimum",
    );
    expect(() => new PlatformDeployment(chart, 'Both', { ...workload('both'), replicas: 2, autoscaling: { minReplicas: 2, maxReplicas: 3 } })).toThrowError(/sets both replicas and autoscaling/);
  });

  test('one key of one secret cannot hold two different things', () => {
    const chart = new PlatformChart(Testing.app(), 'demo', { context, layer: Layer.APPS });
    const registry = SecretRequirements.of(chart);
    registry.require(SecretKeyRef.of('s', 'k', 'one thing'), 'a');
    expect(() => registry.require(SecretKeyRef.of('s', 'k', 'another'), 'b')).toThrowError(/one key must hold one value/);
    // Nor one value in two shapes: the generator could satisfy only one of them.
    registry.require(SecretKeyRef.of('h', 'k', 'hex', { encoding: 'hex', bytes: 32 }), 'a');
    expect(() => registry.require(SecretKeyRef.of('h', 'k', 'hex', { encoding: 'hex', bytes: 16 }), 'b')).toThrowError(/one key must hold one value/);
    expect(registry.list().find((s) => s.name === 'h')?.keys).toEqual([{ key: 'k', description: 'hex', format: { encoding: 'hex', bytes: 32 } }]);
    expect(() => SecretKeyRef.of('h', 'k', 'short', { encoding: 'hex', bytes: 8 })).toThrowError("secret key 'k' of 'h': a generated value needs at least 16 random bytes, got 8");
  });
});

describe('allowFlow', () => {
  test('writes egress in the client chart and ingress in the server chart, once', () => {
    const app = Testing.app();
    const server = new PlatformChart(app, 'server', { context, layer: Layer.DATA });
    const client = new PlatformChart(app, 'client', { context, layer: Layer.APPS });
    const backend = new PlatformDeployment(server, 'Backend', workload('backend'));
    const endpoint = new PlatformService(server, 'Service', { name: 'backend', pods: backend.pods, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }).endpoint('http');
    const job = new PlatformJob(client, 'Job', workload('client-job'));
    allowFlow(job.pods, endpoint);
    allowFlow(job.pods, endpoint);
    const egress = Testing.synth(client).filter((o) => o.kind === 'NetworkPolicy' && o.spec.egress && o.metadata.name !== 'allow-dns-egress');
    const ingress = Testing.synth(server).filter((o) => o.kind === 'NetworkPolicy' && o.spec.ingress);
    expect(egress.map((o) => o.metadata.name)).toEqual(['allow-client-job-to-backend-8080']);
    expect(ingress.map((o) => o.metadata.name)).toEqual(['allow-backend-from-client-job.client-8080']);
    expect(ingress[0].spec.ingress[0].ports).toEqual([{ port: 8080, protocol: 'TCP' }]);
    expect(endpoint.url()).toBe('http://backend.server.svc.cluster.local:80');
  });

  test('a Service endpoint must name an existing port', () => {
    const chart = new PlatformChart(Testing.app(), 'server', { context, layer: Layer.DATA });
    const backend = new PlatformDeployment(chart, 'Backend', workload('backend'));
    const service = new PlatformService(chart, 'Service', { name: 'backend', pods: backend.pods, ports: [{ name: 'http', port: 80 }] });
    expect(() => service.endpoint('grpc')).toThrowError("service 'server/backend' has no port 'grpc'; ports: http");
  });
});
