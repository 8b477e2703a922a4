import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { gitDeployToken, Layer, LabelKeys, PlatformChart, PlatformContext, renderedLayers, SecretRequirements } from '@ml-platform/core';

/** The namespace `flux bootstrap` installs the controllers into. */
export const FLUX_NAMESPACE = 'flux-system';

/** Labels of the Flux controller pods (flux2 install manifests), for NetworkPolicy peers. */
export const FLUX_CONTROLLER_LABELS: readonly Record<string, string>[] = [
  { app: 'source-controller' },
  { app: 'kustomize-controller' },
  { app: 'notification-controller' },
  { app: 'helm-controller' },
];

/** The Git repository a cluster follows. */
export interface GitSource {
  readonly url: string;
  readonly branch: string;
  /**
   * Secret (in flux-system) with the read-only credentials (`username`/`password` of a deploy token).
   *
   * @default - a public repository
   */
  readonly credentialsSecret?: string;
}

/** Properties for `FluxSyncChart`. */
export interface FluxSyncChartProps {
  readonly context: PlatformContext;
  /**
   * Layers rendered from files rather than charts (the encrypted Secrets), applied in their
   * place in the chain.
   *
   * @default - none
   */
  readonly fileLayers?: Layer[];
  readonly repository: GitSource;
  /** @default '5m' */
  readonly interval?: string;
  /**
   * Layers that hold SOPS-encrypted Secrets; their Kustomizations decrypt with the age key in
   * the `sops-age` Secret of flux-system.
   *
   * @default - none
   */
  readonly sopsLayers?: Layer[];
}

const SOURCE_NAME = 'ml-platform';

/**
 * The Flux entry points of a cluster: a GitRepository for this repository and one Kustomization
 * per layer of `dist-manifests/<cluster>/`, each depending on the one before, pruning what was
 * removed and waiting until what it applied is ready. Another Kustomization applies these entry
 * points themselves, so after bootstrap the cluster's delivery is managed from Git too.
 * Create it after every other chart: it covers the layers that exist when it is constructed.
 */
export class FluxSyncChart extends PlatformChart {
  constructor(scope: Construct, id: string, props: FluxSyncChartProps) {
    super(scope, id, { context: props.context, layer: Layer.ENTRYPOINTS, namespace: FLUX_NAMESPACE, manageNamespace: false });
    const cluster = props.context.cluster;
    const interval = props.interval ?? '5m';
    const labels = { [LabelKeys.NAME]: 'ml-platform', [LabelKeys.COMPONENT]: 'gitops' };

    const credentials = props.repository.credentialsSecret;
    if (credentials) {
      const secrets = SecretRequirements.of(this);
      const token = gitDeployToken(credentials);
      secrets.require(token.username, FLUX_NAMESPACE);
      secrets.require(token.password, FLUX_NAMESPACE);
    }
    new ApiObject(this, 'Source', {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: SOURCE_NAME, namespace: FLUX_NAMESPACE, labels },
      spec: {
        interval,
        url: props.repository.url,
        ref: { branch: props.repository.branch },
        secretRef: credentials ? { name: credentials } : undefined,
        // Only this cluster's tree goes into the artifact the controllers download.
        ignore: `/*\n!/dist-manifests/${cluster}/\n`,
      },
    });

    const sops = new Set(props.sopsLayers ?? []);
    const kustomization = (name: string, path: string, extra: Record<string, unknown>) =>
      new ApiObject(this, `Kustomization-${name}`, {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name, namespace: FLUX_NAMESPACE, labels },
        spec: {
          interval,
          retryInterval: '1m',
          timeout: '10m',
          path,
          prune: true,
          sourceRef: { kind: 'GitRepository', name: SOURCE_NAME },
          ...extra,
        },
      });

    kustomization(`${SOURCE_NAME}-gitops`, `./dist-manifests/${cluster}/${Layer.ENTRYPOINTS.directory}`, { wait: false });
    const fromFiles = new Set(props.fileLayers ?? []);
    const layers = Layer.ALL.filter((l) => fromFiles.has(l) || renderedLayers(this).includes(l));
    layers.forEach((layer, i) => {
      kustomization(`${SOURCE_NAME}-${layer.directory}`, `./dist-manifests/${cluster}/${layer.directory}`, {
        wait: true,
        dependsOn: i > 0 ? [{ name: `${SOURCE_NAME}-${layers[i - 1].directory}` }] : undefined,
        decryption: sops.has(layer) ? { provider: 'sops', secretRef: { name: 'sops-age' } } : undefined,
      });
    });
    this.node.addValidation({
      validate: () =>
        renderedLayers(this).every((l) => layers.includes(l)) ? [] : ['FluxSyncChart was created before other charts; create it last so it covers every layer'],
    });
  }
}
