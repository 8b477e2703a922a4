import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import {
  allowEgressToAddresses,
  allowFlow,
  contentRevision,
  EnvValue,
  GitLabSignIn,
  gitlabCa,
  httpProbe,
  PlatformChart,
  PlatformDeployment,
  PlatformService,
  PodSelection,
  ResourceSpec,
  SecretKeyRef,
  secretFilePath,
  ServerCertificate,
  ServiceEndpoint,
  workloadLabels,
} from '@ml-platform/core';
import { PROMETHEUS_DATASOURCE_UID } from './dashboards/builder';
import { GRAFANA_IMAGE } from './images';

const PORT = 3000;
/** Names each pod for Prometheus's verified scrape when Grafana serves TLS. */
const HEADLESS = 'grafana-headless';
const TLS_DIR = '/etc/grafana-tls';
/** The image's grafana user (Dockerfile GF_UID 472). */
const GRAFANA_UID = 472;
const CONFIG_DIR = '/etc/grafana-config';
const PROVISIONING_DIR = '/etc/grafana-provisioning';
const DASHBOARDS_DIR = '/var/lib/grafana-dashboards';
const ADMIN_SECRET_DIR = '/run/secrets/grafana-admin';
const SSO_SECRET_DIR = '/run/secrets/sso-gitlab';
/** Where GitLab's CA is mounted when cluster.yaml names one. */

const DEFAULT_RESOURCES: ResourceSpec = {
  requests: { cpu: '100m', memory: '256Mi' },
  limits: { cpu: '1', memory: '1Gi' },
};

/** Properties for `Grafana`. */
export interface GrafanaProps {
  /** The Prometheus query API, provisioned as the default datasource. */
  readonly prometheus: ServiceEndpoint;
  /** Dashboard file name to dashboard JSON; provisioned read-only into the `Platform` folder. */
  readonly dashboards: Readonly<Record<string, object>>;
  /**
   * The host people reach Grafana at (its root URL, for links and the sign-in callback).
   *
   * @default - `grafana.<baseDomain>`
   */
  readonly externalHost?: string;
  /** @default - 100m/256Mi requested, 1 CPU/1Gi limit */
  readonly resources?: ResourceSpec;
  /**
   * Sign-in with GitLab (OpenID Connect), its groups mapped to Grafana roles.
   *
   * @default - the login form only (the admin Secret)
   */
  readonly signIn?: GitLabSignIn;
}

/** Where GitLab sends people back to after they sign in to Grafana (generic OAuth). */
export const GRAFANA_CALLBACK = '/login/generic_oauth';

/**
 * The `[auth.generic_oauth]` section for GitLab: the `groups` claim comes from GitLab's userinfo
 * endpoint (api_url), a member of no listed group is refused (role_attribute_strict), admins
 * first. `npm run validate` checks the keys against those Grafana's source reads
 * (tools/validate/monitoring.ts, GRAFANA_GENERIC_OAUTH_KEYS).
 */
export function grafanaOauthSection(signIn: GitLabSignIn): Record<string, string | boolean> {
  const anyOf = (groups: readonly string[]) => groups.map((g) => `contains(groups[*], '${g}')`).join(' || ');
  const ca = gitlabCa(signIn.caConfigMap);
  // Users sign in as Viewer, admins as Admin.
  const role = signIn.admins.length > 0 ? `(${anyOf(signIn.admins)}) && 'Admin' || (${anyOf(signIn.users)}) && 'Viewer'` : `(${anyOf(signIn.users)}) && 'Viewer'`;
  return {
    enabled: true,
    name: 'GitLab',
    client_id: signIn.clientId,
    scopes: 'openid profile email',
    auth_url: `${signIn.gitlabUrl}/oauth/authorize`,
    token_url: `${signIn.gitlabUrl}/oauth/token`,
    api_url: `${signIn.gitlabUrl}/oauth/userinfo`,
    use_pkce: true,
    login_attribute_path: 'nickname',
    name_attribute_path: 'name',
    email_attribute_path: 'email',
    groups_attribute_path: 'groups',
    allowed_groups: [...new Set([...signIn.users, ...signIn.admins])].join(','),
    role_attribute_path: role,
    role_attribute_strict: true,
    allow_assign_grafana_admin: false,
    allow_sign_up: true,
    auto_login: true,
    ...(ca ? { tls_client_ca: ca.file } : {}),
  };
}

/** grafana.ini: air-gapped (no update checks, no plugin downloads), logs to stdout, no sign-up. */
function grafanaIni(rootUrl: string, signIn?: GitLabSignIn, tlsDir?: string): string {
  const sections: Record<string, Record<string, string | boolean>> = {
    server: {
      root_url: rootUrl,
      // HTTPS for the gateway and Prometheus; Grafana looks at the files every minute and serves
      // a renewed certificate without a restart.
      ...(tlsDir ? { protocol: 'https', cert_file: `${tlsDir}/tls.crt`, cert_key: `${tlsDir}/tls.key`, certs_watch_interval: '1m', min_tls_version: 'TLS1.2' } : {}),
    },
    analytics: { reporting_enabled: false, check_for_updates: false, check_for_plugin_updates: false },
    plugins: { preinstall_disabled: true },
    log: { mode: 'console' },
    // JSON lines, so the log shipper turns them into fields.
    'log.console': { format: 'json' },
    security: { disable_gravatar: true },
    users: { allow_sign_up: false, allow_org_create: false },
    // With GitLab sign-in, the form (the admin Secret) is hidden; the API still takes it.
    auth: { disable_login_form: signIn !== undefined },
    'auth.anonymous': { enabled: false },
    ...(signIn ? { 'auth.generic_oauth': grafanaOauthSection(signIn) } : {}),
  };
  return `${Object.entries(sections)
    .map(([name, values]) => [`[${name}]`, ...Object.entries(values).map(([k, v]) => `${k} = ${v}`)].join('\n'))
    .join('\n\n')}\n`;
}

/**
 * Grafana with everything provisioned from files: the Prometheus datasource, and the platform
 * dashboards as read-only JSON. It keeps no state worth saving (SQLite on an emptyDir): what
 * matters is in Git. Admin credentials come from a Secret by reference; the root filesystem is
 * read-only. A config or dashboard change rolls the pod.
 */
export class Grafana extends Construct {
  public readonly pods: PodSelection;
  public readonly endpoint: ServiceEndpoint;
  /** Grafana serves TLS from the internal CA (the cluster's `uiTls`). */
  public readonly tls: boolean;
  public readonly adminUser: SecretKeyRef;
  public readonly adminPassword: SecretKeyRef;

  constructor(scope: Construct, id: string, props: GrafanaProps) {
    super(scope, id);
    const chart = PlatformChart.of(this);
    const { context } = chart;
    const image = context.images.image(GRAFANA_IMAGE);
    const identity = { name: 'grafana', instance: chart.component, component: 'dashboards', version: image.version };
    const labels = workloadLabels(identity);
    this.adminUser = SecretKeyRef.of('grafana-admin', 'admin-user', 'Grafana administrator login');
    this.adminPassword = SecretKeyRef.of('grafana-admin', 'admin-password', 'Grafana administrator password');

    const datasources = stringify({
      apiVersion: 1,
      datasources: [
        {
          name: 'Prometheus',
          type: 'prometheus',
          uid: PROMETHEUS_DATASOURCE_UID,
          access: 'proxy',
          url: props.prometheus.url(),
          isDefault: true,
          editable: false,
          jsonData: { httpMethod: 'POST', timeInterval: '30s' },
        },
      ],
    });
    const providers = stringify({
      apiVersion: 1,
      providers: [{ name: 'platform', orgId: 1, folder: 'Platform', type: 'file', disableDeletion: true, allowUiUpdates: false, updateIntervalSeconds: 60, options: { path: DASHBOARDS_DIR } }],
    });
    const dashboards = Object.fromEntries(Object.entries(props.dashboards).map(([file, json]) => [file, `${JSON.stringify(json, null, 2)}\n`]));
    // The gateway reaches Grafana over TLS; Prometheus scrapes each pod by address under the headless Service.
    const certificate = context.uiTls ? new ServerCertificate(this, 'Certificate', { secretName: 'grafana-tls', services: ['grafana'], headless: HEADLESS }) : undefined;
    const config = { 'grafana.ini': grafanaIni(`https://${props.externalHost ?? `grafana.${context.baseDomain}`}/`, props.signIn, certificate ? TLS_DIR : undefined) };
    const provisioning = { 'datasources.yaml': datasources, 'dashboards.yaml': providers };
    const configMap = (cid: string, name: string, data: Record<string, string>) => new k8s.KubeConfigMap(this, cid, { metadata: { name, namespace: chart.namespace, labels }, data });
    configMap('Config', 'grafana-config', config);
    configMap('Provisioning', 'grafana-provisioning', provisioning);
    configMap('Dashboards', 'grafana-dashboards', dashboards);

    this.tls = certificate !== undefined;
    const scheme = certificate ? 'https' : 'http';
    const health = httpProbe(PORT, '/api/health', { scheme: certificate ? 'HTTPS' : 'HTTP' });
    const ca = gitlabCa(props.signIn?.caConfigMap);
    const deployment = new PlatformDeployment(this, 'Server', {
      identity,
      metrics: { port: PORT, ...(certificate ? { tls: { subdomain: HEADLESS, byAddress: true } } : {}) },
      // Provisioned files are read at start: a change rolls the pod.
      podAnnotations: { 'ml-platform.io/config-revision': contentRevision(JSON.stringify({ config, provisioning, dashboards })) },
      pod: {
        user: GRAFANA_UID,
        group: GRAFANA_UID,
        containers: [
          {
            name: 'grafana',
            image,
            // The image's entrypoint, spelled out so wrappers (Vault) can run it.
            command: ['/run.sh'],
            env: {
              // Grafana reads any GF_* override from a file when its name ends in __FILE.
              GF_SECURITY_ADMIN_USER__FILE: EnvValue.fromValue(secretFilePath(PlatformChart.of(this), ADMIN_SECRET_DIR, this.adminUser)),
              GF_SECURITY_ADMIN_PASSWORD__FILE: EnvValue.fromValue(secretFilePath(PlatformChart.of(this), ADMIN_SECRET_DIR, this.adminPassword)),
              GF_PATHS_CONFIG: EnvValue.fromValue(`${CONFIG_DIR}/grafana.ini`),
              GF_PATHS_PROVISIONING: EnvValue.fromValue(PROVISIONING_DIR),
              GF_PATHS_DATA: EnvValue.fromValue('/var/lib/grafana'),
              GF_PATHS_LOGS: EnvValue.fromValue('/var/log/grafana'),
              ...(props.signIn ? { GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET__FILE: EnvValue.fromValue(secretFilePath(PlatformChart.of(this), SSO_SECRET_DIR, props.signIn.clientSecret)) } : {}),
            },
            secretFiles: [{ directory: ADMIN_SECRET_DIR, keys: [this.adminUser, this.adminPassword] }, ...(props.signIn ? [{ directory: SSO_SECRET_DIR, keys: [props.signIn.clientSecret] }] : [])],
            ports: [{ name: scheme, number: PORT }],
            resources: props.resources ?? DEFAULT_RESOURCES,
            startupProbe: { ...health, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 60 },
            livenessProbe: { ...health, periodSeconds: 30, timeoutSeconds: 10, failureThreshold: 5 },
            readinessProbe: { ...health, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
            writablePaths: [
              { path: '/var/lib/grafana', sizeLimit: '1Gi' },
              // The search index (GF_UNIFIED_STORAGE_INDEX_PATH default) and temporary files.
              { path: '/var/lib/grafana-search', sizeLimit: '512Mi' },
              { path: '/var/log/grafana', sizeLimit: '64Mi' },
              { path: '/tmp', sizeLimit: '256Mi' },
            ],
            mounts: [
              ...(ca?.mounts ?? []),
              { volume: 'config', path: CONFIG_DIR },
              { volume: 'provisioning', path: PROVISIONING_DIR },
              { volume: 'dashboards', path: DASHBOARDS_DIR },
              ...(certificate ? [{ volume: 'tls', path: TLS_DIR }] : []),
            ],
          },
        ],
        volumes: [
          ...(ca?.volumes ?? []),
          ...(certificate ? [certificate.volume('tls')] : []),
          { name: 'config', configMap: { name: 'grafana-config' } },
          {
            name: 'provisioning',
            configMap: {
              name: 'grafana-provisioning',
              items: [
                { key: 'datasources.yaml', path: 'datasources/datasources.yaml' },
                { key: 'dashboards.yaml', path: 'dashboards/dashboards.yaml' },
              ],
            },
          },
          { name: 'dashboards', configMap: { name: 'grafana-dashboards' } },
        ],
      },
    });
    this.pods = deployment.pods;
    this.endpoint = new PlatformService(this, 'Service', { name: 'grafana', pods: this.pods, ports: [{ name: scheme, port: PORT }] }).endpoint(scheme);
    if (certificate) new PlatformService(this, 'Headless', { name: HEADLESS, pods: this.pods, headless: true, ports: [{ name: scheme, port: PORT }] });
    allowFlow(this.pods, props.prometheus);
    if (props.signIn) allowEgressToAddresses(this.pods, 'gitlab', props.signIn.gitlabCidrs, 443);
  }
}
