// jupyterhub_config.py, generated: every setting is a literal traitlets assignment, so the file
// reads as data and the check (checks/jupyterhub) can load it with the real JupyterHub,
// KubeSpawner and OAuthenticator; the only code is two short KubeSpawner hooks where the cluster
// has the internal CA (notebookTlsHooks). Secrets are read from the environment at start, never
// written.
import { k8s } from 'cdk8s-plus-28';
import { gitlabCa, MountSpec, PythonExpression, pythonLiteral, PythonValue, quantityValue, restrictedSecurityContexts, volumeMount } from '@ml-platform/core';
import type { JupyterHubChartProps } from './jupyterhub';
import { NOTEBOOK_GID, NOTEBOOK_PORT, NOTEBOOK_UID, NotebookServerTls, SPARK_CONF_DIR } from './notebooks';

/** The hub's port, for the proxy, the servers, Prometheus and its own services. */
export const HUB_PORT = 8081;
/** GitLab sends people back here after sign-in (OAuthenticator's callback handler). */
export const JUPYTERHUB_CALLBACK = '/hub/oauth_callback';

/** One `c.<Class>.<trait> = <value>` line, with the reason it is there. */
export interface HubSetting {
  readonly section: string;
  readonly trait: string;
  readonly value: PythonValue;
  /** Why, where the value is not self-explanatory. */
  readonly why?: string;
}

/** The file's key in the hub's ConfigMap, and the name JupyterHub is started with. */
export const HUB_CONFIG_FILE = 'jupyterhub_config.py';

/**
 * The file text: a header, the imports the expressions need, the hooks some settings name (Python
 * functions of a few lines each), then the settings in order.
 */
export function renderHubConfig(settings: readonly HubSetting[], header: string, hooks: readonly string[] = []): string {
  const seen = new Set<string>();
  const lines = [`# ${header}`, 'import os', '', ...hooks.flatMap((h) => [h.trimEnd(), '', '']), 'c = get_config()  # noqa: F821 (JupyterHub provides it)', ''];
  for (const s of settings) {
    const key = `${s.section}.${s.trait}`;
    if (seen.has(key)) throw new Error(`jupyterhub_config.py sets c.${key} twice; set each trait once`);
    seen.add(key);
    if (s.why) lines.push(...s.why.split('\n').map((l) => `# ${l}`));
    lines.push(`c.${key} = ${pythonLiteral(s.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A setting whose value is an environment variable the hub pod receives from a Secret. */
export function fromEnv(section: string, trait: string, variable: string, why?: string): HubSetting {
  return { section, trait, value: PythonExpression.env(variable), why };
}

/** What the hub's settings are made from. */
export interface HubSettingsInput {
  readonly props: JupyterHubChartProps;
  /** Where the hub listens: loopback only when a TLS sidecar serves it. */
  readonly hubBindUrl: string;
  /** Where the proxy and the notebook servers reach the hub. */
  readonly hubUrl: string;
  readonly proxyApiUrl: string;
  readonly notebookImage: string;
  readonly notebookLabels: Record<string, string>;
  readonly notebookEnv: k8s.EnvVar[];
  readonly usersNamespace: string;
  readonly serviceAccount: string;
  readonly sparkConfMap: string;
  /** What notebook servers mount to trust the internal CA (nothing when no server they use speaks TLS). */
  readonly trust: { readonly volumes: readonly k8s.Volume[]; readonly mounts: readonly MountSpec[] };
  /** Where the hub pod has its cookie signing key. */
  readonly cookieSecretFile: string;
  /** @default - servers serve plain HTTP on the pod's address */
  readonly notebookTls?: NotebookServerTls;
}

/** KubeSpawner hooks that make servers reachable by name through their TLS sidecar. */
export const NOTEBOOK_TLS_HOOKS = { pod: 'notebook_pod_hostname', url: 'notebook_server_url' } as const;

/**
 * The Python of those hooks. KubeSpawner 7.0 gives a pod no hostname (without one, a pod under a
 * headless Service gets no DNS record of its own), and builds a server's URL from the pod IP with
 * plain http; no setting says otherwise.
 */
export function notebookTlsHooks(tls: NotebookServerTls): string[] {
  const doc = (text: string) => `    """${text}"""`;
  return [
    [
      `def ${NOTEBOOK_TLS_HOOKS.pod}(spawner, pod):`,
      doc(`KubeSpawner.modify_pod_hook: the pod's name as its hostname under the ${tls.subdomain} Service.`),
      '    pod.spec.hostname = pod.metadata.name',
      `    pod.spec.subdomain = ${JSON.stringify(tls.subdomain)}`,
      '    return pod',
    ].join('\n'),
    [
      `def ${NOTEBOOK_TLS_HOOKS.url}(spawner, pod):`,
      doc('KubeSpawner.get_pod_url: the server through its TLS sidecar, by the name its certificate holds.'),
      `    return f"https://{pod['metadata']['name']}.${tls.domain}:${tls.port}"`,
    ].join('\n'),
  ];
}

/** Every setting of jupyterhub_config.py, in reading order. */
export function hubSettings(input: HubSettingsInput): HubSetting[] {
  const { props } = input;
  const { signIn } = props;
  const db = props.database;
  const culler = props.culler ?? { timeoutSeconds: 3600, everySeconds: 600 };
  const security = restrictedSecurityContexts(NOTEBOOK_UID, NOTEBOOK_GID);
  const gpuNodes = props.context.gpuNodes;
  const ca = gitlabCa(signIn.caConfigMap);
  const hub = (trait: string, value: HubSetting['value'], why?: string): HubSetting => ({ section: 'JupyterHub', trait, value, why });
  const auth = (trait: string, value: HubSetting['value'], why?: string): HubSetting => ({ section: 'GenericOAuthenticator', trait, value, why });
  const spawner = (trait: string, value: HubSetting['value'], why?: string): HubSetting => ({ section: 'KubeSpawner', trait, value, why });
  return [
    hub('hub_bind_url', input.hubBindUrl),
    hub('hub_connect_url', input.hubUrl, 'Notebook servers reach the hub API through its Service.'),
    hub('public_url', `https://${props.externalHost}`),
    { section: 'ConfigurableHTTPProxy', trait: 'should_start', value: false, why: 'configurable-http-proxy runs in its own Deployment; CONFIGPROXY_AUTH_TOKEN comes from the environment.' },
    { section: 'ConfigurableHTTPProxy', trait: 'api_url', value: input.proxyApiUrl },
    hub('cookie_secret_file', input.cookieSecretFile, 'The signing key, hex, from its Secret; JupyterHub refuses a file others may read (the mount is 0440).'),
    hub('cleanup_servers', false, 'A hub restart must not stop anyone\'s server.'),
    hub('db_url', `postgresql+psycopg2://${db.user}@${db.endpoint.host}:${db.endpoint.port}/${db.database}`, 'The password comes from PGPASSWORD.'),
    hub('upgrade_db', true, 'A new JupyterHub version migrates the schema at start (back up the database first: docs/jupyterhub.md).'),
    hub('authenticate_prometheus', false, 'Only Prometheus may reach /hub/metrics (NetworkPolicy).'),
    hub('last_activity_interval', 60),
    hub('logging_config', {
      formatters: { json: { '()': 'pythonjsonlogger.json.JsonFormatter', fmt: '%(asctime)s %(levelname)s %(name)s %(message)s', rename_fields: { asctime: 'time', levelname: 'level', name: 'logger' } } },
      handlers: { console: { formatter: 'json' } },
    }, 'JSON lines on stderr (python-json-logger, shipped with JupyterHub through jupyter-events).'),
    hub('services', [
      {
        name: 'idle-culler',
        command: ['python3', '-m', 'jupyterhub_idle_culler', `--url=http://127.0.0.1:${HUB_PORT}/hub/api`, `--timeout=${culler.timeoutSeconds}`, `--cull-every=${culler.everySeconds}`, '--concurrency=10'],
      },
    ]),
    hub('load_roles', [{ name: 'idle-culler', description: 'Stop idle notebook servers', scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers'], services: ['idle-culler'] }]),

    hub('authenticator_class', 'generic-oauth', 'GitLab as the OAuth provider; its userinfo carries the groups, as for Grafana and oauth2-proxy.'),
    auth('login_service', 'GitLab'),
    auth('client_id', signIn.clientId),
    fromEnv('GenericOAuthenticator', 'client_secret', 'OAUTH_CLIENT_SECRET'),
    auth('oauth_callback_url', `https://${props.externalHost}${JUPYTERHUB_CALLBACK}`),
    auth('authorize_url', `${signIn.gitlabUrl}/oauth/authorize`),
    auth('token_url', `${signIn.gitlabUrl}/oauth/token`),
    auth('userdata_url', `${signIn.gitlabUrl}/oauth/userinfo`),
    auth('scope', ['openid', 'profile', 'email']),
    auth('username_claim', 'nickname', 'The GitLab username.'),
    auth('manage_groups', true, 'Membership comes from GitLab at every sign-in: who left a group loses access.'),
    auth('auth_state_groups_key', 'oauth_user.groups'),
    auth('allowed_groups', [...new Set([...signIn.users, ...signIn.admins])]),
    auth('admin_groups', [...signIn.admins]),
    ...(ca ? [auth('http_request_kwargs', { ca_certs: ca.file }, "GitLab's certificate is signed by the internal CA.")] : []),

    hub('spawner_class', 'kubespawner.KubeSpawner', 'KubeSpawner 7.0 registers no entry point name: the import path.'),
    spawner('namespace', input.usersNamespace),
    spawner('image', input.notebookImage),
    spawner('image_pull_policy', 'IfNotPresent'),
    spawner('cmd', ['jupyterhub-singleuser']),
    spawner('default_url', '/lab'),
    spawner('start_timeout', 600, 'The first start on a node pulls the notebook image (several GB).'),
    spawner('http_timeout', 120),
    spawner('common_labels', input.notebookLabels, 'Our labels: NetworkPolicies select notebook servers by name and instance.'),
    spawner('service_account', input.serviceAccount),
    spawner('automount_service_account_token', true, "Spark's driver starts executors with this token (Role spark-driver in the executors' namespace only)."),
    spawner('pod_security_context', security.pod as HubSetting['value']),
    spawner('container_security_context', security.container as HubSetting['value']),
    spawner('extra_pod_config', { enableServiceLinks: false }),
    ...(input.notebookTls ? notebookTlsSettings(input.notebookTls).map(([trait, value, why]) => spawner(trait, value, why)) : []),
    spawner('storage_pvc_ensure', true),
    spawner('pvc_name_template', 'home-{user_server}'),
    spawner('storage_capacity', props.home.size),
    spawner('storage_class', props.home.storageClass ?? props.context.defaultStorageClass),
    spawner('storage_access_modes', ['ReadWriteOnce']),
    spawner('delete_pvc', false, "Deleting a user keeps their home volume; remove it by hand once it is no longer needed."),
    spawner('volumes', [
      { name: 'home', persistentVolumeClaim: { claimName: '{pvc_name}' } },
      { name: 'tmp', emptyDir: { sizeLimit: '8Gi' } },
      { name: 'spark-conf', configMap: { name: input.sparkConfMap } },
      ...input.trust.volumes.map((v) => JSON.parse(JSON.stringify(k8s.toJson_Volume(v)))),
      ...((input.notebookTls?.volumes ?? []) as PythonValue[]),
    ], 'The image is read-only: home and /tmp are the places a server writes.'),
    spawner('volume_mounts', [
      { name: 'home', mountPath: '/home/jovyan' },
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'spark-conf', mountPath: SPARK_CONF_DIR, readOnly: true },
      ...input.trust.mounts.map((m) => JSON.parse(JSON.stringify(volumeMount(m)))),
    ]),
    // Kubernetes EnvVars: KubeSpawner takes a dict value as the variable's spec (valueFrom).
    spawner('environment', Object.fromEntries(input.notebookEnv.map((e) => [e.name, e.valueFrom ? { valueFrom: JSON.parse(JSON.stringify(e.valueFrom)) } : (e.value as string)]))),
    spawner('delete_grace_period', 30),
    spawner('profile_list', props.profiles.map((p) => {
      if (p.gpus && !gpuNodes) throw new Error(`jupyterhub profile '${p.slug}' asks for GPUs, and the cluster declares no gpuNodes`);
      return {
        display_name: p.displayName,
        slug: p.slug,
        ...(p.description ? { description: p.description } : {}),
        default: p.default ?? false,
        kubespawner_override: {
          cpu_guarantee: quantityValue(p.resources.requests.cpu),
          cpu_limit: quantityValue(p.resources.limits.cpu),
          mem_guarantee: quantityValue(p.resources.requests.memory),
          mem_limit: quantityValue(p.resources.limits.memory),
          ...(p.gpus && gpuNodes
            ? { extra_resource_limits: { [gpuNodes.resource]: String(p.gpus) }, node_selector: { ...gpuNodes.nodeSelector }, tolerations: gpuNodes.tolerations.map((t) => ({ ...t })) }
            : {}),
        },
      };
    })),
  ];
}

/** KubeSpawner's settings for servers behind their TLS sidecar: trait, value, why. */
function notebookTlsSettings(tls: NotebookServerTls): [string, HubSetting['value'], string?][] {
  return [
    ['ip', '127.0.0.1', 'The server listens on loopback; its TLS sidecar serves it to the proxy and the hub.'],
    ['port', NOTEBOOK_PORT],
    ['extra_containers', [tls.sidecar as HubSetting['value']], "The TLS sidecar: the only container that mounts the certificate's key."],
    ['modify_pod_hook', new PythonExpression(NOTEBOOK_TLS_HOOKS.pod)],
    ['get_pod_url', new PythonExpression(NOTEBOOK_TLS_HOOKS.url)],
  ];
}
