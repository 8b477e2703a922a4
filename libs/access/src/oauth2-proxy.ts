import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'smol-toml';
import {
  allowEgressToAddresses,
  allowFlow,
  contentRevision,
  EnvValue,
  gitlabCa,
  httpProbe,
  INTERNAL_CA_DIR,
  internalCaTrust,
  OAUTH2_PROXY_CALLBACK,
  PlatformChart,
  PlatformDeployment,
  PlatformDisruptionBudget,
  PlatformService,
  PodSelection,
  ResourceSpec,
  SecretKeyRef,
  secretFilePath,
  ServerCertificate,
  ServiceEndpoint,
  SsoConfig,
  TlsSidecar,
  WebUi,
  workloadLabels,
} from '@ml-platform/core';
import { OAUTH2_PROXY_IMAGE } from './images';

/** Properties for `OAuth2Proxy`. */
export interface OAuth2ProxyProps {
  /** The UI it guards; the proxy runs in the UI's namespace. */
  readonly ui: WebUi;
  /** The host people use. */
  readonly host: string;
  readonly sso: SsoConfig;
  /** GitLab groups whose members get through (full paths). */
  readonly groups: readonly string[];
  /** The GitLab application's secret. */
  readonly clientSecret: SecretKeyRef;
  /** @default 2 */
  readonly replicas?: number;
  /** @default - 10m/32Mi requested, 200m/128Mi limit */
  readonly resources?: ResourceSpec;
}

const DEFAULT_RESOURCES: ResourceSpec = { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } };

const HTTP_PORT = 4180;
/** Where the TLS sidecar serves the proxy to the gateway, when the cluster encrypts that hop. */
const HTTPS_PORT = 4443;
const METRICS_PORT = 44180;
/** distroless/static's `nonroot` user, which the image runs as. */
const NONROOT_UID = 65532;
const CONFIG_DIR = '/etc/oauth2-proxy';
const CLIENT_SECRET_DIR = '/secrets/client';
const COOKIE_SECRET_DIR = '/secrets/cookie';
/** The file name of the TOML config inside its ConfigMap. */
export const OAUTH2_PROXY_CONFIG_KEY = 'oauth2-proxy.cfg';

/**
 * oauth2-proxy's legacy TOML configuration (the alpha YAML format may change between minor
 * releases): GitLab as the OIDC provider, only members of `groups` let through, everything else
 * to the UI's Service. Secrets are read from files, never from the config.
 */
export function oauth2ProxyConfig(chart: PlatformChart, props: OAuth2ProxyProps): Record<string, unknown> {
  const { ui, host, sso } = props;
  const ca = gitlabCa(sso.gitlab.caConfigMap);
  return {
    // Behind a TLS sidecar, plain HTTP is for the sidecar alone.
    http_address: `${chart.context.uiTls ? '127.0.0.1' : '0.0.0.0'}:${HTTP_PORT}`,
    metrics_address: `0.0.0.0:${METRICS_PORT}`,
    // Behind the gateway: trust its X-Forwarded-* headers for the client address and scheme.
    reverse_proxy: true,
    provider: 'gitlab',
    provider_display_name: 'GitLab',
    oidc_issuer_url: sso.gitlab.url,
    client_id: sso.gitlab.clientId,
    client_secret_file: secretFilePath(chart, CLIENT_SECRET_DIR, props.clientSecret),
    cookie_secret_file: secretFilePath(chart, COOKIE_SECRET_DIR, cookieSecretOf(ui)),
    // One cookie per UI: a session for one UI is no session for another.
    cookie_name: `_oauth2_proxy_${ui.name.replace(/-/g, '_')}`,
    cookie_secure: true,
    cookie_samesite: 'lax',
    redirect_url: `https://${host}${OAUTH2_PROXY_CALLBACK}`,
    scope: 'openid profile email',
    ...(ca ? { provider_ca_files: [ca.file] } : {}),
    gitlab_groups: [...props.groups],
    // Group membership decides; any e-mail address of such a member is fine.
    email_domains: ['*'],
    upstreams: [`${ui.endpoint.url(ui.tls ? 'https' : 'http')}/`],
    skip_provider_button: true,
    // Logs stay oauth2-proxy's text lines on stdout: it has no JSON format, only text templates
    // (pkg/apis/options/logging.go), which do not escape values and so cannot promise valid JSON.
    silence_ping_logging: true,
  };
}

/** The cookie-signing secret of a UI's proxy; `npm run secrets` generates it (32 characters). */
export function cookieSecretOf(ui: WebUi): SecretKeyRef {
  return SecretKeyRef.of(`${ui.name}-oauth2-proxy`, 'cookie-secret', `oauth2-proxy cookie secret for ${ui.name} (32 characters)`);
}

/**
 * oauth2-proxy in front of one UI that has no usable sign-in of its own: people sign in with
 * GitLab and only members of the UI's groups reach it. Two replicas with a PodDisruptionBudget
 * (sessions live in the signed cookie, so any replica serves any request); the UI accepts
 * connections from these pods only. When the cluster encrypts the gateway's hop (`uiTls`), the
 * proxy listens on loopback and a TLS sidecar serves it with a certificate from the internal CA,
 * read at every handshake, so a renewal needs no restart (oauth2-proxy reads its own once).
 */
export class OAuth2Proxy extends Construct {
  public readonly pods: PodSelection;
  /** What the route sends people to. */
  public readonly endpoint: ServiceEndpoint;

  constructor(scope: Construct, id: string, props: OAuth2ProxyProps) {
    super(scope, id);
    const chart = PlatformChart.of(this);
    const image = chart.context.images.image(OAUTH2_PROXY_IMAGE);
    const name = `${props.ui.name}-oauth2-proxy`;
    const identity = { name, instance: chart.namespace, component: 'sign-in', version: image.version };
    const config = { [OAUTH2_PROXY_CONFIG_KEY]: stringify(oauth2ProxyConfig(chart, props)) };
    const ca = gitlabCa(props.sso.gitlab.caConfigMap);
    // An upstream on TLS is verified against the internal CA, which Go adds to the system roots from SSL_CERT_DIR.
    const upstreamTrust = props.ui.tls ? internalCaTrust(chart) : undefined;
    new k8s.KubeConfigMap(this, 'Config', { metadata: { name, namespace: chart.namespace, labels: workloadLabels(identity) }, data: config });
    const sidecar = chart.context.uiTls
      ? new TlsSidecar(this, 'Tls', {
          identity,
          certificate: new ServerCertificate(this, 'Certificate', { secretName: `${name}-tls`, services: [name] }),
          listeners: [{ name: 'https', port: HTTPS_PORT, to: HTTP_PORT }],
        })
      : undefined;
    // Probes take the gateway's path: through the sidecar when there is one.
    const probe = (path: string) => (sidecar ? httpProbe(HTTPS_PORT, path, { scheme: 'HTTPS' }) : httpProbe(HTTP_PORT, path));

    const deployment = new PlatformDeployment(this, 'Proxy', {
      identity,
      replicas: props.replicas ?? 2,
      metrics: { port: METRICS_PORT, path: '/metrics' },
      // The config is read at start: a change rolls the pods.
      podAnnotations: { 'ml-platform.io/config-revision': contentRevision(JSON.stringify(config) + (sidecar?.config ?? '')) },
      pod: {
        user: NONROOT_UID,
        group: NONROOT_UID,
        containers: [
          {
            name: 'oauth2-proxy',
            image,
            command: ['/bin/oauth2-proxy'],
            args: [`--config=${CONFIG_DIR}/${OAUTH2_PROXY_CONFIG_KEY}`],
            env: upstreamTrust ? { SSL_CERT_DIR: EnvValue.fromValue(INTERNAL_CA_DIR) } : undefined,
            ports: [...(sidecar ? [] : [{ name: 'http', number: HTTP_PORT }]), { name: 'metrics', number: METRICS_PORT }],
            resources: props.resources ?? DEFAULT_RESOURCES,
            livenessProbe: { ...probe('/ping'), periodSeconds: 20, timeoutSeconds: 3, failureThreshold: 3 },
            readinessProbe: { ...probe('/ready'), periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
            mounts: [{ volume: 'config', path: CONFIG_DIR }, ...(ca?.mounts ?? []), ...(upstreamTrust ? [upstreamTrust.mount] : [])],
            secretFiles: [
              { directory: CLIENT_SECRET_DIR, keys: [props.clientSecret] },
              { directory: COOKIE_SECRET_DIR, keys: [cookieSecretOf(props.ui)] },
            ],
          },
          ...(sidecar ? [sidecar.container] : []),
        ],
        volumes: [{ name: 'config', configMap: { name } }, ...(ca?.volumes ?? []), ...(upstreamTrust ? [upstreamTrust.volume] : []), ...(sidecar?.volumes ?? [])],
      },
    });
    this.pods = deployment.pods;
    if (deployment.replicas > 1) new PlatformDisruptionBudget(this, 'Budget', { pods: this.pods });
    const scheme = sidecar ? 'https' : 'http';
    this.endpoint = new PlatformService(this, 'Service', { name, pods: this.pods, ports: [{ name: scheme, port: sidecar ? HTTPS_PORT : HTTP_PORT }] }).endpoint(scheme);

    allowFlow(this.pods, props.ui.endpoint);
    // Discovery, token exchange and the groups lookup go to GitLab.
    allowEgressToAddresses(this.pods, 'gitlab', props.sso.gitlab.cidrs, 443);
  }
}
