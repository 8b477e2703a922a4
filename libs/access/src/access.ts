import { Construct } from 'constructs';
import {
  ACCESS_ANNOTATIONS,
  allowIngressFromExternalPods,
  OAUTH2_PROXY_CALLBACK,
  PlatformChart,
  PlatformContext,
  RoutingConfig,
  SecretKeyRef,
  SecretRequirements,
  SignIn,
  SsoConfig,
  UiAccessConfig,
  WebUi,
} from '@ml-platform/core';
import { OAuth2Proxy } from './oauth2-proxy';
import { backendTlsPolicy, GatewayChart, ingressRoute, RouteSpec, TlsSource } from './routes';

/** Properties for `AccessLayer`. */
export interface AccessLayerProps {
  readonly context: PlatformContext;
  readonly routing: RoutingConfig;
  readonly sso: SsoConfig;
  /** Who may use and administer each UI, by UI name. */
  readonly access: Readonly<Record<string, Omit<UiAccessConfig, 'editors'> & { readonly editors?: readonly string[] }>>;
  /**
   * The `controllerName` of the Gateway API implementation the bootstrap installs: the render
   * then creates the GatewayClass `routing.className` for it.
   *
   * @default - the GatewayClass is the site's, installed with its controller
   */
  readonly gatewayClassController?: string;
}

/** The GitLab application's secret, the same for every UI of the cluster (docs/access.md). */
export const GITLAB_CLIENT_SECRET = SecretKeyRef.of('sso-gitlab', 'client-secret', "Secret of the cluster's GitLab application (GitLab issues it; provided at bootstrap)");

/** The host of UI `name`: `<name>.<baseDomain>` unless cluster.yaml's routing.hosts names another. */
export function uiHost(routing: RoutingConfig, baseDomain: string, name: string): string {
  return routing.hosts[name] ?? `${name}.${baseDomain}`;
}

/** Where people reach a UI and who may. */
export interface ExposedUi {
  readonly ui: WebUi;
  readonly host: string;
  readonly users: readonly string[];
  readonly admins: readonly string[];
  /** The callback URL to register in the GitLab application. */
  readonly redirectUri: string;
}

/**
 * The access layer: every UI on its own host, behind TLS and GitLab sign-in, reachable only
 * from the gateway or ingress controller's pods. `expose` is called once per UI by the platform
 * composition; the routes, certificates, sign-in proxies and NetworkPolicies follow from it.
 */
export class AccessLayer extends Construct {
  private readonly props: AccessLayerProps;
  private readonly gateway?: GatewayChart;
  private readonly tls: TlsSource;
  private readonly byHost = new Map<string, string>();
  private readonly exposed: ExposedUi[] = [];

  constructor(scope: Construct, id: string, props: AccessLayerProps) {
    super(scope, id);
    this.props = props;
    const { clusterIssuer, secretName } = props.routing.tls;
    this.tls = clusterIssuer ? { clusterIssuer } : { secretName: secretName as string };
    if (props.routing.api === 'gateway') this.gateway = new GatewayChart(scope, 'gateway', { context: props.context, className: props.routing.className, tls: this.tls, classController: props.gatewayClassController });
  }

  /** The UIs exposed so far, in order. */
  public get uis(): readonly ExposedUi[] {
    return this.exposed;
  }

  /** Gives `ui` (served by `chart`) a host with TLS and sign-in; throws when its access or host is wrong. */
  public expose(chart: PlatformChart, ui: WebUi): ExposedUi {
    const { routing, sso, context } = this.props;
    const access = this.props.access[ui.name];
    if (!access) throw new Error(`access.${ui.name}: expected the GitLab groups that may use ${ui.name} (users, and admins where it has roles); nobody may reach a UI no group is given`);
    if (context.uiTls && ui.signIn === SignIn.OIDC && !ui.tls) {
      throw new Error(`${chart.namespace}/${ui.endpoint.service}: the gateway reaches UI ${ui.name} over TLS in this cluster (inClusterTls with routing.api gateway), but the UI serves plain HTTP; give it a certificate from the internal CA and set tls on its WebUi`);
    }
    const host = uiHost(routing, context.baseDomain, ui.name);
    const other = this.byHost.get(host);
    if (other) throw new Error(`routing.hosts: ${ui.name} and ${other} would both be served at ${host}; give one of them another host`);
    this.byHost.set(host, ui.name);

    const users = [...new Set([...access.users, ...(access.editors ?? []), ...access.admins])];
    // A UI that signs people in itself receives the route; any other, its own sign-in proxy.
    const backend = ui.signIn === SignIn.PROXY ? new OAuth2Proxy(chart, `${ui.name}-sign-in`, { ui, host, sso, groups: users, clientSecret: GITLAB_CLIENT_SECRET, ...sso.proxy }).endpoint : ui.endpoint;
    const redirectUri = `https://${host}${ui.signIn === SignIn.PROXY ? OAUTH2_PROXY_CALLBACK : (ui.callbackPath ?? OAUTH2_PROXY_CALLBACK)}`;
    // Only the controller's proxy pods reach whatever receives the route.
    allowIngressFromExternalPods(backend.pods, routing.controller.namespace, routing.controller.podLabels, backend.targetPort, 'gateway');

    const spec: RouteSpec = {
      name: ui.name,
      host,
      chart,
      backend,
      annotations: {
        [ACCESS_ANNOTATIONS.ui]: ui.name,
        [ACCESS_ANNOTATIONS.signIn]: ui.signIn,
        [ACCESS_ANNOTATIONS.users]: users.join(','),
        [ACCESS_ANNOTATIONS.admins]: access.admins.join(','),
        [ACCESS_ANNOTATIONS.redirectUri]: redirectUri,
        [ACCESS_ANNOTATIONS.backend]: `${ui.endpoint.pods.namespace}/${ui.endpoint.service}:${ui.endpoint.port}`,
      },
    };
    if (this.gateway) {
      this.gateway.route(spec);
      if (context.uiTls) backendTlsPolicy(backend);
      if ('secretName' in this.tls) this.requireTlsSecret(this.tls.secretName, this.gateway.namespace);
    } else {
      ingressRoute(spec, routing.className, this.tls);
      if ('secretName' in this.tls) this.requireTlsSecret(this.tls.secretName, chart.namespace);
    }
    const exposed = { ui, host, users, admins: access.admins, redirectUri };
    this.exposed.push(exposed);
    return exposed;
  }

  /** An existing TLS Secret is provided outside Git: the render fails unless cluster.yaml declares it. */
  private requireTlsSecret(secretName: string, namespace: string): void {
    const registry = SecretRequirements.of(this);
    registry.require(SecretKeyRef.of(secretName, 'tls.crt', 'TLS certificate chain for the UI hosts'), namespace);
    registry.require(SecretKeyRef.of(secretName, 'tls.key', 'TLS private key for the UI hosts'), namespace);
  }
}
