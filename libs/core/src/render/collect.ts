import { App } from 'cdk8s';
import { Layer } from '../layers';
import { PlatformChart } from '../platform-chart';
import { compare } from '../secrets';

/** One rendered Kubernetes object and where it goes. */
export interface RenderedObject {
  /** Path relative to the cluster folder: `<layer>/<component>/<kind>-<name>.yaml`. */
  readonly path: string;
  readonly layer: Layer;
  readonly component: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly manifest: any;
}

/** Kinds that are not namespaced among those the platform renders. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'StorageClass',
  'PriorityClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'PersistentVolume',
]);

/** True for the kinds that live outside namespaces. */
export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}

/**
 * Validates every construct, synthesizes chart by chart (cheaper than `App.synth()` for large
 * apps, and it leaves the writing to us) and places each object in the tree.
 */
export function collectObjects(app: App): RenderedObject[] {
  const errors = app.node
    .findAll()
    .flatMap((c) => c.node.validate().map((message) => `${c.node.path || '(app)'}: ${message}`));
  if (errors.length > 0) {
    throw new Error(`construct validation failed:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
  }
  const objects: RenderedObject[] = [];
  for (const candidate of app.charts) {
    const chart = candidate;
    if (!PlatformChart.isPlatformChart(chart)) {
      throw new Error(`chart '${candidate.node.path}' is not a PlatformChart; every chart needs a layer and a namespace`);
    }
    for (const manifest of chart.toJson()) {
      const kind: string = manifest.kind;
      const name: string = manifest.metadata?.name;
      if (!name) throw new Error(`chart '${chart.component}' rendered a ${kind} without metadata.name; give every object an explicit name`);
      // cdk8s stamps the chart's namespace on every object; cluster-scoped kinds have none.
      if (isClusterScoped(kind) && manifest.metadata?.namespace === chart.namespace) delete manifest.metadata.namespace;
      const layer = kind === 'Namespace' ? Layer.CLUSTER : chart.layer;
      objects.push({
        path: `${layer.directory}/${chart.component}/${kind.toLowerCase()}-${name}.yaml`,
        layer,
        component: chart.component,
        kind,
        name,
        namespace: manifest.metadata?.namespace,
        manifest,
      });
    }
  }
  return objects.sort((a, b) => compare(a.path, b.path));
}
