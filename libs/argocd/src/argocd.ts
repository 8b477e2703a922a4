import { ApiObject, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { isClusterScoped, Layer, LabelKeys, PlatformChart, PlatformContext, renderedLayers, renderedNamespaces, gitDeployToken, SecretKeyRef, SecretRequirements } from '@ml-platform/core';

/** The namespace Argo CD is installed into at bootstrap. */
export const ARGOCD_NAMESPACE = 'argocd';

/** Labels of the Argo CD pods (install.yaml), for NetworkPolicy peers. */
export const ARGOCD_COMPONENT_LABELS: readonly Record<string, string>[] = [
  { 'app.kubernetes.io/name': 'argocd-application-controller' },
  { 'app.kubernetes.io/name': 'argocd-repo-server' },
  { 'app.kubernetes.io/name': 'argocd-server' },
];

/** Properties for `ArgoCdSyncChart`. */
export interface ArgoCdSyncChartProps {
  readonly context: PlatformContext;
  /**
   * Layers rendered from files rather than charts (the encrypted Secrets), applied in their
   * place in the chain.
   *
   * @default - none
   */
  readonly fileLayers?: Layer[];
  /** Repository URL and the branch the cluster follows. */
  readonly repository: {
    readonly url: string;
    readonly branch: string;
    /**
     * Name of the repository Secret in argocd (label `argocd.argoproj.io/secret-type: repository`).
     *
     * @default - a public repository
     */
    readonly credentialsSecret?: string;
  };
}

const PROJECT = 'ml-platform';
const IN_CLUSTER = 'https://kubernetes.default.svc';

/**
 * The Argo CD entry points of a cluster: an AppProject limited to this repository, the
 * platform's namespaces and the kinds it renders, and an app-of-apps whose children apply one
 * layer each in sync-wave order with automated prune and self-heal. Waves wait for the child
 * Applications to be healthy only with the Application health check in argocd-cm
 * (docs/bootstrap.md). Create it after every other chart.
 */
export class ArgoCdSyncChart extends PlatformChart {
  constructor(scope: Construct, id: string, props: ArgoCdSyncChartProps) {
    super(scope, id, { context: props.context, layer: Layer.ENTRYPOINTS, namespace: ARGOCD_NAMESPACE, manageNamespace: false });
    const cluster = props.context.cluster;
    const labels = { [LabelKeys.NAME]: 'ml-platform', [LabelKeys.COMPONENT]: 'gitops' };
    const credentials = props.repository.credentialsSecret;
    if (credentials) {
      const secrets = SecretRequirements.of(this);
      secrets.require(SecretKeyRef.of(credentials, 'url', 'URL of this repository, as in the Applications'), ARGOCD_NAMESPACE);
      const token = gitDeployToken(credentials);
      secrets.require(token.username, ARGOCD_NAMESPACE);
      secrets.require(token.password, ARGOCD_NAMESPACE);
    }
    const source = (path: string) => ({ repoURL: props.repository.url, targetRevision: props.repository.branch, path, directory: { recurse: true } });
    const automated = { automated: { prune: true, selfHeal: true }, syncOptions: ['ServerSideApply=true', 'PruneLast=true'], retry: { limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } } };

    // The kinds the render contains, read at synthesis when every chart exists.
    const kinds = (clusterScoped: boolean) =>
      Lazy.any({
        produce: () => {
          const seen = new Map<string, { group: string; kind: string }>();
          for (const c of this.node.root.node.findAll()) {
            if (!(c instanceof ApiObject) || isClusterScoped(c.kind) !== clusterScoped) continue;
            const group = c.apiVersion.includes('/') ? c.apiVersion.split('/')[0] : '';
            seen.set(`${group}/${c.kind}`, { group, kind: c.kind });
          }
          return [...seen.keys()].sort().map((k) => seen.get(k));
        },
      });

    new ApiObject(this, 'Project', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: PROJECT, namespace: ARGOCD_NAMESPACE, labels },
      spec: {
        description: `ML platform on cluster ${cluster}, from dist-manifests/${cluster}/`,
        sourceRepos: [props.repository.url],
        destinations: Lazy.any({ produce: () => renderedNamespaces(this).map((namespace) => ({ server: IN_CLUSTER, namespace })) }),
        clusterResourceWhitelist: kinds(true),
        namespaceResourceWhitelist: kinds(false),
      },
    });

    const application = (name: string, path: string, wave: number) =>
      new ApiObject(this, `Application-${name}`, {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: {
          name,
          namespace: ARGOCD_NAMESPACE,
          labels,
          annotations: { 'argocd.argoproj.io/sync-wave': String(wave) },
          finalizers: ['resources-finalizer.argocd.argoproj.io'],
        },
        spec: { project: PROJECT, source: source(path), destination: { server: IN_CLUSTER }, syncPolicy: automated },
      });

    application(`${PROJECT}-gitops`, `dist-manifests/${cluster}/${Layer.ENTRYPOINTS.directory}`, 0);
    const fromFiles = new Set(props.fileLayers ?? []);
    const layers = Layer.ALL.filter((l) => fromFiles.has(l) || renderedLayers(this).includes(l));
    layers.forEach((layer, i) => application(`${PROJECT}-${layer.directory}`, `dist-manifests/${cluster}/${layer.directory}`, i + 1));
    this.node.addValidation({
      validate: () => (renderedLayers(this).every((l) => layers.includes(l)) ? [] : ['ArgoCdSyncChart was created before other charts; create it last so it covers every layer']),
    });
  }
}
