import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import {
  allowFlow,
  contentRevision,
  EnvValue,
  httpProbe,
  PlatformChart,
  PlatformDeployment,
  PlatformDisruptionBudget,
  PlatformService,
  PodSelection,
  renewalReloader,
  ResourceSpec,
  SecretKeyRef,
  ServerCertificate,
  ServiceEndpoint,
  signalProcesses,
  SignIn,
  WebUi,
  workloadLabels,
} from '@ml-platform/core';
import { caVolume } from './elasticsearch';
import { KIBANA_IMAGE } from './images';

/** Properties for `Kibana`. */
export interface KibanaProps {
  readonly elasticsearch: ServiceEndpoint;
  /** The Secret (in this namespace) whose `ca.crt` signed Elasticsearch's certificate. */
  readonly caSecret: string;
  /** Where people reach it, behind the sign-in proxy. */
  readonly externalHost: string;
  /** @default 1 */
  readonly replicas?: number;
  /** @default - 250m/1Gi requested, 1 CPU/1536Mi limit */
  readonly resources?: ResourceSpec;
}

const PORT = 5601;
/** The image's user `kibana` (uid 1000). */
const KIBANA_UID = 1000;
const HOME = '/usr/share/kibana';
const PLATFORM_FILES = '/etc/kibana-platform';
const TLS_DIR = `${HOME}/config/tls`;

/** The built-in user Kibana's server signs in to Elasticsearch as. */
export const KIBANA_SYSTEM_PASSWORD = SecretKeyRef.of('elasticsearch-kibana-system', 'password', 'Password of the built-in Elasticsearch user kibana_system (Kibana\'s server)');
/** The user behind Kibana's anonymous login: read-only access to the logs for everyone the sign-in proxy admits. */
export const LOGS_VIEWER_PASSWORD = SecretKeyRef.of('elasticsearch-logs-viewer', 'password', 'Password of the Elasticsearch user logs-viewer (Kibana\'s anonymous login, read-only)');
const encryptionKey = (key: string, what: string) => SecretKeyRef.of('kibana-encryption-keys', key, what, { encoding: 'hex', bytes: 32 });
const KEYS = {
  XPACK_SECURITY_ENCRYPTIONKEY: encryptionKey('security', 'Kibana session cookie encryption key'),
  XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY: encryptionKey('saved-objects', 'Kibana encrypted saved objects key'),
  XPACK_REPORTING_ENCRYPTIONKEY: encryptionKey('reporting', 'Kibana reporting encryption key'),
};
export const LOGS_VIEWER_USER = 'logs-viewer';

/**
 * Kibana behind the platform's sign-in proxy. GitLab decides who reaches it; inside, everyone
 * continues as the read-only `logs-viewer` (Kibana's anonymous login, with credentials Kibana
 * holds), and platform admins sign in as `elastic` for administration. Single sign-on into
 * Kibana itself (OpenID Connect or SAML realms) needs a paid Elastic licence, so Kibana keeps
 * this login of its own behind the proxy.
 */
export class Kibana extends Construct {
  public readonly pods: PodSelection;
  public readonly endpoint: ServiceEndpoint;
  public readonly webUi: WebUi;
  /** Whether Kibana serves HTTPS (with a certificate from the internal CA). */
  public readonly tls: boolean;

  constructor(scope: Construct, id: string, props: KibanaProps) {
    super(scope, id);
    const chart = PlatformChart.of(this);
    const image = chart.context.images.image(KIBANA_IMAGE);
    const replicas = props.replicas ?? 1;
    // With the internal CA, Kibana serves HTTPS: the sign-in proxy passes an admin's elastic
    // login, and the setup Job elastic's password, to it. Kibana (since 8.11.2) rereads server.ssl
    // on SIGHUP, which the reloader sidecar sends on renewal.
    const tls = chart.context.internalCa ? new ServerCertificate(this, 'Certificate', { secretName: 'kibana-tls', services: ['kibana'] }) : undefined;
    // Exception to 'checked by the real program' (docs/logging.md): Kibana cannot be installed
    // from a package registry here, so kibana.yml is not loaded by Kibana in the tests.
    const settings = {
      'server.host': '0.0.0.0',
      'server.port': PORT,
      'server.shutdownTimeout': '5s',
      'server.publicBaseUrl': `https://${props.externalHost}`,
      ...(tls
        ? { 'server.ssl.enabled': true, 'server.ssl.certificate': `${TLS_DIR}/tls.crt`, 'server.ssl.key': `${TLS_DIR}/tls.key`, 'server.ssl.supportedProtocols': ['TLSv1.2', 'TLSv1.3'] }
        : {}),
      'elasticsearch.hosts': [props.elasticsearch.url('https')],
      'elasticsearch.username': 'kibana_system',
      'elasticsearch.password': '${ELASTICSEARCH_PASSWORD}',
      'elasticsearch.ssl.certificateAuthorities': [`${HOME}/config/certs/ca.crt`],
      'elasticsearch.ssl.verificationMode': 'full',
      'xpack.security.authc.providers': {
        anonymous: { viewer: { order: 0, description: 'Continue as log viewer (read-only)', credentials: { username: LOGS_VIEWER_USER, password: '${LOGS_VIEWER_PASSWORD}' } } },
        basic: { admin: { order: 1, description: 'Administrators (elastic)' } },
      },
      'xpack.security.secureCookies': true,
      'xpack.security.sameSiteCookies': 'Strict',
      // Health probes and the proxy's checks need no login; they learn only the overall level.
      'status.allowAnonymous': true,
      'telemetry.optIn': false,
      'telemetry.allowChangingOptInStatus': false,
      'newsfeed.enabled': false,
      // Kibana's own log as JSON lines on stdout, for the log shipper.
      'logging.appenders.json': { type: 'console', layout: { type: 'json' } },
      'logging.root': { appenders: ['json'], level: 'info' },
      'path.data': `${HOME}/data`,
    };
    const identity = { name: 'kibana', instance: id, component: 'log-ui', version: image.version };
    const kibanaYml = `# Generated by the platform render (libs/logging); do not edit.\n${stringify(settings, { lineWidth: 0 })}`;
    const configMap = 'kibana-config';
    new k8s.KubeConfigMap(this, 'Config', { metadata: { name: configMap, namespace: chart.namespace, labels: workloadLabels(identity) }, data: { 'kibana.yml': kibanaYml } });
    const status = httpProbe(PORT, '/api/status', { scheme: tls ? 'HTTPS' : 'HTTP' });
    const deployment = new PlatformDeployment(this, 'Server', {
      identity,
      replicas,
      podAnnotations: { 'ml-platform.io/config-revision': contentRevision(kibanaYml) },
      pod: {
        user: KIBANA_UID,
        group: KIBANA_UID,
        volumes: [
          { name: 'platform-files', configMap: { name: configMap } },
          { name: 'config', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
          caVolume('ca', props.caSecret),
          ...(tls ? [tls.volume('tls')] : []),
        ],
        // The image's config folder (node.options, the keystore Kibana may create) made writable, with our kibana.yml.
        initContainers: [
          {
            name: 'prepare-config',
            image,
            command: ['/bin/bash', '-c', `set -eu\ncp -R ${HOME}/config/. /mnt/config/\ncp ${PLATFORM_FILES}/kibana.yml /mnt/config/kibana.yml`],
            resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { cpu: '200m', memory: '64Mi' } },
            mounts: [
              { volume: 'platform-files', path: PLATFORM_FILES },
              { volume: 'config', path: '/mnt/config', readOnly: false },
            ],
          },
        ],
        containers: [
          {
            name: 'kibana',
            image,
            // The image's entrypoint, named so the Vault backend can wrap it.
            command: ['/bin/tini', '--', '/usr/local/bin/kibana-docker'],
            env: {
              // Kibana reads no password files; kibana.yml takes these from the environment.
              ELASTICSEARCH_PASSWORD: EnvValue.fromSecret(KIBANA_SYSTEM_PASSWORD),
              LOGS_VIEWER_PASSWORD: EnvValue.fromSecret(LOGS_VIEWER_PASSWORD),
              ...Object.fromEntries(Object.entries(KEYS).map(([name, ref]) => [name, EnvValue.fromSecret(ref)])),
            },
            ports: [{ name: tls ? 'https' : 'http', number: PORT }],
            resources: props.resources ?? { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '1536Mi' } },
            startupProbe: { ...status, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 30 },
            livenessProbe: { ...status, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 6 },
            readinessProbe: { ...status, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
            writablePaths: [
              { path: '/tmp', sizeLimit: '256Mi' },
              { path: `${HOME}/data`, sizeLimit: '256Mi' },
              { path: `${HOME}/logs`, sizeLimit: '64Mi' },
              { path: `${HOME}/plugins`, sizeLimit: '16Mi' },
            ],
            mounts: [
              { volume: 'config', path: `${HOME}/config`, readOnly: false },
              { volume: 'ca', path: `${HOME}/config/certs` },
              ...(tls ? [{ volume: 'tls', path: TLS_DIR }] : []),
            ],
          },
          // Kibana's process is node, started by tini and the image's scripts.
          ...(tls ? [renewalReloader({ image, certificate: { volume: 'tls', path: TLS_DIR }, reload: signalProcesses('node', 'HUP') })] : []),
        ],
        shareProcessNamespace: tls !== undefined,
      },
    });
    this.pods = deployment.pods;
    if (replicas > 1) new PlatformDisruptionBudget(this, 'DisruptionBudget', { pods: this.pods });
    allowFlow(this.pods, props.elasticsearch);
    const port = tls ? 'https' : 'http';
    this.endpoint = new PlatformService(this, 'Service', { name: 'kibana', pods: this.pods, ports: [{ name: port, port: PORT }] }).endpoint(port);
    this.tls = tls !== undefined;
    this.webUi = { name: 'kibana', purpose: 'Search the logs of every platform workload', endpoint: this.endpoint, signIn: SignIn.PROXY, tls: this.tls, docs: 'logging.md' };
  }
}
