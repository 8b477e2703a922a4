import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { EnvValue, httpProbe, Layer, PlatformChart, PlatformContext, PlatformDaemonSet, PodSelection } from '@ml-platform/core';
import { NODE_EXPORTER_IMAGE } from './images';

export const NODE_EXPORTER_PORT = 9100;
const NODE_EXPORTER_UID = 65534;

/** Properties for `NodeExporterChart`. */
export interface NodeExporterChartProps {
  readonly context: PlatformContext;
}

/**
 * node-exporter on every Linux node: CPU, memory, disk and network of the host. It needs the
 * host's namespaces and filesystems, so it has a namespace of its own, the platform's one
 * named Pod Security exception; the container itself still runs non-root and read-only.
 */
export class NodeExporterChart extends PlatformChart {
  public readonly pods: PodSelection;

  constructor(scope: Construct, id: string, props: NodeExporterChartProps) {
    super(scope, id, { context: props.context, layer: Layer.PLATFORM });
    const image = props.context.images.image(NODE_EXPORTER_IMAGE);
    const probe = httpProbe(NODE_EXPORTER_PORT, '/');
    const hostPath = (name: string, path: string): k8s.Volume => ({ name, hostPath: { path, type: 'Directory' } });
    const daemonSet = new PlatformDaemonSet(this, 'Exporter', {
      identity: { name: 'node-exporter', instance: id, component: 'metrics-exporter', version: image.version },
      metrics: { port: NODE_EXPORTER_PORT },
      pod: {
        user: NODE_EXPORTER_UID,
        group: NODE_EXPORTER_UID,
        host: { network: true, pid: true },
        containers: [
          {
            name: 'node-exporter',
            image,
            args: [
              '--path.procfs=/host/proc',
              '--path.sysfs=/host/sys',
              '--path.rootfs=/host/root',
              '--path.udev.data=/host/root/run/udev/data',
              `--web.listen-address=[$(HOST_IP)]:${NODE_EXPORTER_PORT}`,
              '--log.format=json',
              // Container and pod mounts are the kubelet's business (cAdvisor reports them).
              '--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run/containerd/.+|var/lib/docker/.+|var/lib/kubelet/.+)($|/)',
            ],
            // On the host network, listen on the node's address only, not every interface.
            env: { HOST_IP: EnvValue.fromField('status.hostIP') },
            ports: [{ name: 'metrics', number: NODE_EXPORTER_PORT }],
            resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '250m', memory: '128Mi' } },
            livenessProbe: { ...probe, periodSeconds: 10, timeoutSeconds: 3 },
            readinessProbe: { ...probe, periodSeconds: 10, timeoutSeconds: 3 },
            mounts: [
              { volume: 'proc', path: '/host/proc' },
              { volume: 'sys', path: '/host/sys' },
              { volume: 'root', path: '/host/root', propagation: 'HostToContainer' },
            ],
          },
        ],
        volumes: [hostPath('proc', '/proc'), hostPath('sys', '/sys'), hostPath('root', '/')],
      },
    });
    this.pods = daemonSet.pods;
  }
}
