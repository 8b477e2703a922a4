import { helmChart } from '@ml-platform/core';

// The charts the bootstrap layer installs, pinned. Chart and app versions are upstream facts;
// where the pairing comes from a listing rather than the chart repository itself, the note says so.

/** Flux's controllers (fluxcd-community chart): source, kustomize and notification controllers. */
export const FLUX_CHART = helmChart('flux2', {
  repository: 'https://fluxcd-community.github.io/helm-charts',
  chart: 'flux2',
  version: '2.17.2',
  appVersion: '2.7.5',
  note: 'Flux 2.7 (source-controller v1.7, kustomize-controller v1.7, the APIs tools/tool-versions.env checks); supports Kubernetes 1.32-1.34. Chart-to-app pairing read from a helm search listing, not from the chart repository.',
});

/** Argo CD (argo-helm), for clusters with gitops.engine argocd. */
export const ARGOCD_CHART = helmChart('argo-cd', {
  repository: 'https://argoproj.github.io/argo-helm',
  chart: 'argo-cd',
  version: '7.7.21',
  appVersion: 'v2.13.3',
  note: 'The 7.7 line ships Argo CD 2.13; the module sets global.image.tag to v2.13.9, the release whose CRDs the checks pin (tools/tool-versions.env).',
});

/** cert-manager (Jetstack), with its CRDs: signs every host and in-cluster certificate. */
export const CERT_MANAGER_CHART = helmChart('cert-manager', {
  repository: 'https://charts.jetstack.io',
  chart: 'cert-manager',
  version: 'v1.19.2',
  appVersion: 'v1.19.2',
  note: 'cert-manager 1.19, the newest whose CRDs Kubernetes 1.28 accepts (tools/tool-versions.env).',
});

/** Envoy Gateway: the Gateway API controller of clusters with routing.api gateway. */
export const ENVOY_GATEWAY_CHART = helmChart('envoy-gateway', {
  repository: 'oci://docker.io/envoyproxy',
  chart: 'gateway-helm',
  version: 'v1.9.1',
  appVersion: 'v1.9.1',
  note: 'Envoy Gateway 1.9 is built on Gateway API 1.6.1 (its go.mod), beside the 1.6.3 CRDs the checks use; BackendTLSPolicy v1, which stage and prod need. The chart installs the Gateway API and Envoy Gateway CRDs.',
});

/** The controllerName Envoy Gateway serves GatewayClasses of (its GatewayControllerName). */
export const ENVOY_GATEWAY_CONTROLLER = 'gateway.envoyproxy.io/gatewayclass-controller';

/** Traefik: the Ingress controller of clusters with routing.api ingress (dev). */
export const TRAEFIK_CHART = helmChart('traefik', {
  repository: 'https://traefik.github.io/charts',
  chart: 'traefik',
  version: '41.6.0',
  appVersion: 'v3.7.13',
  note: 'Traefik 3.7 (the chart line since 40.0.0); 41.6.0 is the release the module proxy serves as github.com/traefik/traefik-helm-chart v41.6.0+incompatible, whose Chart.yaml names appVersion v3.7.13.',
});

/** Every chart a bootstrap module may install: the catalog cluster pins are checked against. */
export const BOOTSTRAP_CHARTS = [FLUX_CHART, ARGOCD_CHART, CERT_MANAGER_CHART, ENVOY_GATEWAY_CHART, TRAEFIK_CHART] as const;
