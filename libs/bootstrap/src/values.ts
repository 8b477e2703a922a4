import { mirroredRegistry } from '@ml-platform/core';

// The values each chart is installed with. Image repositories go through the cluster's registry
// mirrors like every image the render writes, so an air-gapped site installs from its mirror.
// Value keys are the charts' own (their values.yaml at the catalog versions).

/** Chart values: plain data, written as YAML into the module. */
export type ChartValues = Readonly<Record<string, unknown>>;

type Mirrors = Readonly<Record<string, string>>;

const image = (mirrors: Mirrors, registry: string, path: string, chart: string) => `${mirroredRegistry(mirrors, registry, `chart '${chart}'`)}/${path}`;

/** Flux: the controllers the platform uses (source, kustomize, notification for GitLab's webhook); no Helm or image automation. */
export function fluxValues(mirrors: Mirrors): ChartValues {
  const fluxImage = (name: string) => image(mirrors, 'ghcr.io', `fluxcd/${name}`, 'flux2');
  return {
    helmController: { create: false },
    imageAutomationController: { create: false },
    imageReflectionController: { create: false },
    sourceController: { image: fluxImage('source-controller') },
    kustomizeController: { image: fluxImage('kustomize-controller') },
    notificationController: { image: fluxImage('notification-controller') },
    cli: { image: fluxImage('flux-cli') },
  };
}

/** Argo CD's Lua health check for Applications: without it, sync waves of the app-of-apps do not wait for the layers. */
const APPLICATION_HEALTH = [
  'hs = {}',
  'hs.status = "Progressing"',
  'hs.message = ""',
  'if obj.status ~= nil and obj.status.health ~= nil then',
  '  hs.status = obj.status.health.status',
  '  if obj.status.health.message ~= nil then hs.message = obj.status.health.message end',
  'end',
  'return hs',
  '',
].join('\n');

/** Argo CD at the release whose CRDs the checks pin; the app-of-apps health check in argocd-cm. */
export function argoCdValues(mirrors: Mirrors): ChartValues {
  return {
    global: { image: { repository: image(mirrors, 'quay.io', 'argoproj/argocd', 'argo-cd'), tag: 'v2.13.9' } },
    configs: { cm: { 'resource.customizations.health.argoproj.io_Application': APPLICATION_HEALTH } },
    // People use the platform's UIs, not Argo CD's: no Dex for its own sign-in.
    dex: { enabled: false },
  };
}

/** cert-manager with its CRDs, kept when the release is uninstalled (deleting them would delete every certificate). */
export function certManagerValues(mirrors: Mirrors): ChartValues {
  const jetstack = (name: string) => ({ repository: image(mirrors, 'quay.io', `jetstack/${name}`, 'cert-manager') });
  return {
    crds: { enabled: true, keep: true },
    image: jetstack('cert-manager-controller'),
    webhook: { image: jetstack('cert-manager-webhook') },
    cainjector: { image: jetstack('cert-manager-cainjector') },
    acmesolver: { image: jetstack('cert-manager-acmesolver') },
    startupapicheck: { image: jetstack('cert-manager-startupapicheck') },
  };
}

/** Envoy Gateway: its images (controller, rate limit) from the mirror of docker.io, when the site has mirrors. */
export function envoyGatewayValues(mirrors: Mirrors): ChartValues {
  return Object.keys(mirrors).length > 0 ? { global: { imageRegistry: mirroredRegistry(mirrors, 'docker.io', "chart 'envoy-gateway'") } } : {};
}

/** Traefik as the Ingress controller of the class the access layer's Ingresses name. */
export function traefikValues(mirrors: Mirrors, ingressClass: string): ChartValues {
  return {
    image: { registry: mirroredRegistry(mirrors, 'docker.io', "chart 'traefik'") },
    providers: { kubernetesIngress: { enabled: true } },
    ingressClass: { enabled: true, isDefaultClass: false, name: ingressClass },
  };
}
