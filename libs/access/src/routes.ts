import { ApiObject, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { INTERNAL_CA_TRUST_SECRET, internalCaTrust, LabelKeys, Layer, NAMESPACE_NAME_LABEL, PlatformChart, PlatformContext, ServiceEndpoint } from '@ml-platform/core';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
/** The namespace and name of the cluster's one Gateway. */
export const GATEWAY_NAMESPACE = 'gateway';
export const GATEWAY_NAME = 'platform';

/** Where a route's TLS certificate comes from. */
export type TlsSource = { readonly clusterIssuer: string } | { readonly secretName: string };

/** One host to route: who serves it, in which chart, with what the inventory shows. */
export interface RouteSpec {
  /** The UI's name; names the route, the listener and the certificate. */
  readonly name: string;
  readonly host: string;
  /** The chart of the UI (its namespace holds the route). */
  readonly chart: PlatformChart;
  /** What receives the requests: the UI's sign-in proxy, or the UI when it signs people in itself. */
  readonly backend: ServiceEndpoint;
  readonly annotations: Record<string, string>;
}

/** A certificate for `host` from cert-manager, into Secret `secretName` of the chart's namespace. */
function certificate(chart: Construct, namespace: string, name: string, host: string, clusterIssuer: string, secretName: string): void {
  new ApiObject(chart, `Certificate-${name}`, {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name, namespace, labels: { [LabelKeys.NAME]: name, [LabelKeys.COMPONENT]: 'certificate' } },
    spec: {
      secretName,
      dnsNames: [host],
      issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: clusterIssuer },
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
    },
  });
}

const tlsSecretOf = (tls: TlsSource, name: string) => ('secretName' in tls ? tls.secretName : `${name}-tls`);

/** Properties for `GatewayChart`. */
export interface GatewayChartProps {
  readonly context: PlatformContext;
  /** gatewayClassName of the controller installed at bootstrap. */
  readonly className: string;
  readonly tls: TlsSource;
  /**
   * The controller's `controllerName`: the chart creates the GatewayClass `className` for it.
   *
   * @default - the GatewayClass exists already
   */
  readonly classController?: string;
}

/**
 * The cluster's Gateway (Gateway API v1): an HTTP listener that only redirects to HTTPS, and
 * one HTTPS listener per host, each terminating TLS with the host's certificate and accepting
 * routes from the UI's namespace only. Routes live beside their UIs.
 */
export class GatewayChart extends PlatformChart {
  private readonly listeners: Record<string, unknown>[] = [{ name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'Same' } } }];
  private readonly hosts: string[] = [];
  private readonly tls: TlsSource;

  constructor(scope: Construct, id: string, props: GatewayChartProps) {
    super(scope, id, { context: props.context, layer: Layer.PLATFORM, namespace: GATEWAY_NAMESPACE });
    this.tls = props.tls;
    if (props.classController) {
      new ApiObject(this, 'GatewayClass', {
        apiVersion: `${GATEWAY_GROUP}/v1`,
        kind: 'GatewayClass',
        metadata: { name: props.className, labels: { [LabelKeys.NAME]: props.className, [LabelKeys.COMPONENT]: 'gateway-class' } },
        spec: { controllerName: props.classController, description: 'Installed by the bootstrap module (docs/bootstrap.md).' },
      });
    }
    new ApiObject(this, 'Gateway', {
      apiVersion: `${GATEWAY_GROUP}/v1`,
      kind: 'Gateway',
      metadata: { name: GATEWAY_NAME, namespace: this.namespace, labels: { [LabelKeys.NAME]: GATEWAY_NAME, [LabelKeys.COMPONENT]: 'gateway' } },
      spec: { gatewayClassName: props.className, listeners: Lazy.any({ produce: () => this.listeners }) },
    });
    new ApiObject(this, 'Redirect', {
      apiVersion: `${GATEWAY_GROUP}/v1`,
      kind: 'HTTPRoute',
      metadata: { name: 'https-redirect', namespace: this.namespace, labels: { [LabelKeys.NAME]: 'https-redirect', [LabelKeys.COMPONENT]: 'route' } },
      spec: {
        parentRefs: [{ group: GATEWAY_GROUP, kind: 'Gateway', name: GATEWAY_NAME, sectionName: 'http' }],
        hostnames: Lazy.any({ produce: () => [...this.hosts].sort() }),
        rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }],
      },
    });
  }

  /** Adds a listener for the route's host and the HTTPRoute beside its UI. */
  public route(spec: RouteSpec): void {
    const listener = `https-${spec.name}`;
    const secretName = tlsSecretOf(this.tls, spec.name);
    if ('clusterIssuer' in this.tls) certificate(this, this.namespace, spec.name, spec.host, this.tls.clusterIssuer, secretName);
    this.hosts.push(spec.host);
    this.listeners.push({
      name: listener,
      protocol: 'HTTPS',
      port: 443,
      hostname: spec.host,
      tls: { mode: 'Terminate', certificateRefs: [{ group: '', kind: 'Secret', name: secretName }] },
      allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { [NAMESPACE_NAME_LABEL]: spec.chart.namespace } } }, kinds: [{ group: GATEWAY_GROUP, kind: 'HTTPRoute' }] },
    });
    new ApiObject(spec.chart, `HTTPRoute-${spec.name}`, {
      apiVersion: `${GATEWAY_GROUP}/v1`,
      kind: 'HTTPRoute',
      metadata: { name: spec.name, namespace: spec.chart.namespace, labels: { [LabelKeys.NAME]: spec.name, [LabelKeys.COMPONENT]: 'route' }, annotations: spec.annotations },
      spec: {
        parentRefs: [{ group: GATEWAY_GROUP, kind: 'Gateway', namespace: this.namespace, name: GATEWAY_NAME, sectionName: listener }],
        hostnames: [spec.host],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ group: '', kind: 'Service', name: spec.backend.service, port: spec.backend.port }] }],
      },
    });
  }
}

/**
 * The gateway's hop to `backend` on TLS (Gateway API v1 BackendTLSPolicy, beside the Service):
 * the gateway verifies the Service's name against the internal CA. The CA comes from the
 * namespace's `internal-ca-trust` Secret; a Secret rather than the ConfigMap the API's core
 * support names, since cert-manager writes Secrets (Envoy Gateway reads `ca.crt` from either).
 */
export function backendTlsPolicy(backend: ServiceEndpoint): void {
  const chart = PlatformChart.of(backend.pods.chart);
  internalCaTrust(chart);
  if (chart.node.tryFindChild(`BackendTLSPolicy-${backend.service}`)) return;
  new ApiObject(chart, `BackendTLSPolicy-${backend.service}`, {
    apiVersion: `${GATEWAY_GROUP}/v1`,
    kind: 'BackendTLSPolicy',
    metadata: { name: backend.service, namespace: chart.namespace, labels: { [LabelKeys.NAME]: backend.service, [LabelKeys.COMPONENT]: 'route' } },
    spec: {
      targetRefs: [{ group: '', kind: 'Service', name: backend.service }],
      validation: { caCertificateRefs: [{ group: '', kind: 'Secret', name: INTERNAL_CA_TRUST_SECRET }], hostname: backend.host },
    },
  });
}

/**
 * A networking.k8s.io/v1 Ingress beside its UI, with TLS for its host. HTTP to HTTPS redirection
 * is the controller's (most redirect by default once an Ingress has TLS; docs/access.md).
 */
export function ingressRoute(spec: RouteSpec, className: string, tls: TlsSource): void {
  const secretName = tlsSecretOf(tls, spec.name);
  if ('clusterIssuer' in tls) certificate(spec.chart, spec.chart.namespace, spec.name, spec.host, tls.clusterIssuer, secretName);
  new k8s.KubeIngress(spec.chart, `Ingress-${spec.name}`, {
    metadata: { name: spec.name, namespace: spec.chart.namespace, labels: { [LabelKeys.NAME]: spec.name, [LabelKeys.COMPONENT]: 'route' }, annotations: spec.annotations },
    spec: {
      ingressClassName: className,
      tls: [{ hosts: [spec.host], secretName }],
      rules: [
        {
          host: spec.host,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: spec.backend.service, port: { number: spec.backend.port } } } }] },
        },
      ],
    },
  });
}
