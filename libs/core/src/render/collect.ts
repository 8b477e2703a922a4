import { ApiObject, App, Chart } from 'cdk8s';
import { IConstruct } from 'constructs';
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
  'GatewayClass',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);

/** True for the kinds that live outside namespaces. */
export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}

/**
 * Validates every construct once, then serializes each API object once and places it in the
 * tree. This replaces `chart.toJson()`, which re-resolves the dependencies of, and re-validates,
 * the whole app for every chart it is called on (charts x constructs: 30 s at 10,000 objects).
 * Those dependencies only order objects inside cdk8s' output, and the render sorts by path.
 */
export function collectObjects(app: App): RenderedObject[] {
  const constructs = app.node.findAll();
  const errors = constructs.flatMap((c) => c.node.validate().map((message) => `${c.node.path || '(app)'}: ${message}`));
  if (errors.length > 0) {
    throw new Error(`construct validation failed:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
  }
  for (const candidate of app.charts) {
    if (!PlatformChart.isPlatformChart(candidate)) {
      throw new Error(`chart '${candidate.node.path}' is not a PlatformChart; every chart needs a layer and a namespace`);
    }
  }
  const objects: RenderedObject[] = [];
  for (const construct of constructs) {
    if (!ApiObject.isApiObject(construct)) continue;
    // An object belongs to its closest chart, which the loop above proved is a PlatformChart.
    const chart = closestChart(construct) as PlatformChart;
    const manifest = construct.toJson();
    const kind: string = manifest.kind;
    const name: string = manifest.metadata?.name;
    if (!name) throw new Error(`chart '${chart.component}' rendered a ${kind} without metadata.name; give every object an explicit name`);
    // cdk8s stamps the chart's namespace on every object; cluster-scoped kinds have none.
    if (isClusterScoped(kind) && manifest.metadata?.namespace === chart.namespace) delete manifest.metadata.namespace;
    // A review's job applies its namespaces first, each with the binding that lets it apply the rest.
    const layer = kind === 'Namespace' || construct === chart.reviewDeployerBinding ? Layer.CLUSTER : chart.layer;
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
  return objects.sort((a, b) => compare(a.path, b.path));
}

function closestChart(construct: IConstruct): Chart {
  for (let scope: IConstruct | undefined = construct.node.scope; scope; scope = scope.node.scope) {
    if (Chart.isChart(scope)) return scope;
  }
  throw new Error(`'${construct.node.path}' is not inside a chart`);
}
