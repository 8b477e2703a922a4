import { ApiObject, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { z } from 'zod';
import {
  allowEgressToAddresses,
  allowFlow,
  allowIngressFromAddresses,
  bindClusterRole,
  contentRevision,
  EnvValue,
  grant,
  httpProbe,
  Layer,
  PlatformChart,
  PlatformContext,
  PlatformDeployment,
  PlatformDisruptionBudget,
  PlatformService,
  PlatformStatefulSet,
  PodSelection,
  renewalReloader,
  requireApiServer,
  resources as resourcesSchema,
  ResourceSpec,
  ServerCertificate,
  ServiceEndpoint,
  storage,
  volumeClaimTemplate,
  workloadLabels,
  SignIn,
  WebUi,
  backupInterval,
  BackupSchedule,
  durationSeconds,
  ImageRef,
  S3Bucket,
} from '@ml-platform/core';
import { VAULT_IMAGE, VAULT_K8S_IMAGE } from './images';
import { VaultSnapshots } from './snapshots';

/** The `components.vault` section of cluster.yaml. */
export const vaultConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe('Render HashiCorp Vault and its agent injector.'),
    replicas: z.union([z.literal(1), z.literal(3), z.literal(5)]).describe('Raft voters: 1 (dev) or an odd quorum of 3 or 5.'),
    storage,
    tlsSecret: z.string().optional().describe('Secret (tls.crt, tls.key, ca.crt) for the listener, made outside the render, with SANs vault, vault.vault.svc, *.vault-internal.vault.svc and 127.0.0.1. Default: a certificate from the internal CA while inClusterTls is on, else plain HTTP inside the cluster.'),
    resources: resourcesSchema.optional(),
    snapshots: z
      .strictObject({
        every: backupInterval.default('1d').describe('How often a Raft snapshot is taken (02:15 UTC for 1d).'),
        retention: z.int().min(1).max(3650).default(30).describe('Days a snapshot is kept in the bucket vault-snapshots (MinIO expires older ones).'),
      })
      .optional()
      .describe('Scheduled Raft snapshots to the MinIO bucket vault-snapshots, through Kubernetes auth with a snapshot-only policy (needs components.minio; docs/backup-restore.md).'),
  })
  .superRefine((v, ctx) => {
    if (v.snapshots && v.snapshots.retention * 86400 < durationSeconds(v.snapshots.every)) {
      ctx.addIssue({ code: 'custom', path: ['snapshots', 'retention'], message: `expected at least the snapshot interval (every: ${v.snapshots.every}), found ${v.snapshots.retention} days` });
    }
  })
  .describe('HashiCorp Vault (Raft storage) with the agent injector, the secrets backend when secrets.backend is vault.');

/** Properties for `VaultChart`. */
export interface VaultChartProps {
  readonly context: PlatformContext;
  /** @default 1 */
  readonly replicas?: 1 | 3 | 5;
  readonly storageSize: string;
  /** @default - the cluster's default StorageClass */
  readonly storageClass?: string;
  /**
   * A Secret made outside the render for the listener.
   *
   * @default - a certificate from the internal CA where the cluster has one, else plain HTTP
   */
  readonly tlsSecret?: string;
  /** @default - 250m/256Mi requested, 1 CPU/1Gi limit */
  readonly resources?: ResourceSpec;
}

const API_PORT = 8200;
const CLUSTER_PORT = 8201;
const INJECTOR_PORT = 8080;
/** The Secret the injector's leader shares its certificate in, and its leader-for-life ConfigMap (vault-k8s). */
const INJECTOR_CERT_SECRET = 'vault-injector-certs';
const INJECTOR_LEADER_CONFIGMAP = 'vault-k8s-leader';
/** The vault user of the official image and the group vault-helm runs it with. */
const VAULT_UID = 100;
const VAULT_GID = 1000;

/**
 * HashiCorp Vault with integrated (Raft) storage: a StatefulSet (1 voter in dev, 3 or 5 in
 * prod) that joins its peers by itself, its Services, a TLS-ready listener, probes that tell
 * sealed from dead, a PodDisruptionBudget, the Kubernetes auth delegation, and the agent
 * injector (a mutating webhook, no CRDs) that renders secrets into pods that ask for them.
 * Initialising, unsealing and the policies are an operator's one-time work: docs/secrets.md.
 */
export class VaultChart extends PlatformChart {
  /** The Vault API, for agents and clients. */
  public readonly api: ServiceEndpoint;
  public readonly server: PodSelection;
  /** `https` when the listener serves TLS. */
  public readonly scheme: 'http' | 'https';
  /** The UI, behind the sign-in proxy (Vault's own login follows), which verifies the listener's certificate. */
  public readonly webUi: WebUi;

  constructor(scope: Construct, id: string, props: VaultChartProps) {
    super(scope, id, { context: props.context, layer: Layer.PLATFORM });
    const { context } = props;
    const replicas = props.replicas ?? 1;
    const image = context.images.image(VAULT_IMAGE);
    const internal = 'vault-internal';
    // The peers and Prometheus address pods by name (vault-N.vault-internal), the probes by 127.0.0.1.
    const tlsSecret =
      props.tlsSecret ?? (context.internalCa ? new ServerCertificate(this, 'Certificate', { secretName: 'vault-tls', services: ['vault'], headless: internal, loopback: true }).secretName : undefined);
    const tls = tlsSecret !== undefined;
    const scheme = tls ? 'https' : 'http';
    this.scheme = scheme;
    const peer = (i: number) => `${scheme}://vault-${i}.${context.serviceHost(internal, this.namespace)}:${API_PORT}`;
    const listenerTls = tls
      ? ['  tls_disable   = 0', '  tls_cert_file = "/vault/tls/tls.crt"', '  tls_key_file  = "/vault/tls/tls.key"', '  tls_client_ca_file = "/vault/tls/ca.crt"']
      : ['  # Plain HTTP inside the cluster (a dev cluster without inClusterTls).', '  tls_disable = 1'];
    const config = [
      'ui            = true',
      '# Integrated storage: HashiCorp recommends disabling mlock with Raft.',
      'disable_mlock = true',
      '# JSON lines on stderr, for the log shipper.',
      'log_format    = "json"',
      'listener "tcp" {',
      `  address         = "[::]:${API_PORT}"`,
      `  cluster_address = "[::]:${CLUSTER_PORT}"`,
      ...listenerTls,
      // Metrics hold no secret; the NetworkPolicy lets only Prometheus reach them.
      '  telemetry {',
      '    unauthenticated_metrics_access = true',
      '  }',
      '}',
      'telemetry {',
      '  prometheus_retention_time = "24h"',
      '  disable_hostname          = true',
      '}',
      'storage "raft" {',
      '  path = "/vault/data"',
      ...Array.from({ length: replicas }, (_, i) => [
        '  retry_join {',
        `    leader_api_addr = "${peer(i)}"`,
        ...(tls ? ['    leader_ca_cert_file = "/vault/tls/ca.crt"'] : []),
        '  }',
      ]).flat(),
      '}',
      '# Labels pods vault-active, vault-sealed, ... for the Services and operators.',
      'service_registration "kubernetes" {}',
      '',
    ].join('\n');
    const identity = { name: 'vault', instance: id, component: 'secrets-server', version: image.version };
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: 'vault-config', namespace: this.namespace, labels: workloadLabels(identity) },
      data: { 'vault.hcl': config },
    });

    const serviceAccount = 'vault';
    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: serviceAccount, namespace: this.namespace, labels: workloadLabels(identity) },
      automountServiceAccountToken: false,
    });
    const statefulSet = new PlatformStatefulSet(this, 'Server', {
      identity,
      replicas,
      // Raft: a majority of voters must survive a node.
      quorum: true,
      serviceName: internal,
      podManagementPolicy: 'Parallel',
      // Behind TLS, Prometheus addresses each pod by the name its certificate holds.
      metrics: { port: API_PORT, path: '/v1/sys/metrics', params: { format: 'prometheus' }, ...(tls ? { tls: { subdomain: internal } } : {}) },
      // Every restarted pod comes back sealed: an operator rolls the pods one by one.
      updateStrategy: 'OnDelete',
      // Changing the configuration rolls nothing by itself (OnDelete), but marks the pods stale.
      podAnnotations: { 'ml-platform.io/config-revision': contentRevision(config) },
      pod: {
        user: VAULT_UID,
        group: VAULT_GID,
        serviceAccountName: serviceAccount,
        // Kubernetes auth (TokenReview) and service registration use the API.
        mountServiceAccountToken: true,
        terminationGracePeriod: Duration.seconds(30),
        volumes: [
          { name: 'config', configMap: { name: 'vault-config' } },
          ...(tls ? [{ name: 'tls', secret: { secretName: tlsSecret, defaultMode: 0o440 } }] : []),
        ],
        containers: [
          {
            name: 'vault',
            image,
            command: ['vault'],
            args: ['server', '-config=/vault/config/vault.hcl'],
            env: {
              POD_IP: EnvValue.fromField('status.podIP'),
              HOSTNAME: EnvValue.fromField('metadata.name'),
              VAULT_RAFT_NODE_ID: EnvValue.fromField('metadata.name'),
              VAULT_K8S_POD_NAME: EnvValue.fromField('metadata.name'),
              VAULT_K8S_NAMESPACE: EnvValue.fromField('metadata.namespace'),
              VAULT_ADDR: EnvValue.fromValue(`${scheme}://127.0.0.1:${API_PORT}`),
              // What a standby redirects clients to: behind TLS, a name the certificate holds.
              VAULT_API_ADDR: EnvValue.fromValue(tls ? `https://$(HOSTNAME).${internal}.${this.namespace}.svc:${API_PORT}` : `http://$(POD_IP):${API_PORT}`),
              VAULT_CLUSTER_ADDR: EnvValue.fromValue(`https://$(HOSTNAME).${internal}:${CLUSTER_PORT}`),
              ...(tls ? { VAULT_CACERT: EnvValue.fromValue('/vault/tls/ca.crt') } : {}),
              HOME: EnvValue.fromValue('/home/vault'),
            },
            ports: [
              { name: scheme, number: API_PORT },
              { name: 'https-internal', number: CLUSTER_PORT },
            ],
            resources: props.resources ?? { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
            // Ready only when unsealed (vault status exits 2 while sealed).
            readinessProbe: { exec: { command: ['vault', 'status'] }, initialDelaySeconds: 5, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 },
            // Alive while sealed or uninitialised too: restarting would not unseal it.
            livenessProbe: {
              ...httpProbe(API_PORT, '/v1/sys/health?standbyok=true&sealedcode=204&uninitcode=204', { scheme: tls ? 'HTTPS' : 'HTTP' }),
              initialDelaySeconds: 60,
              periodSeconds: 10,
              timeoutSeconds: 3,
            },
            writablePaths: [{ path: '/home/vault', sizeLimit: '16Mi' }, { path: '/tmp', sizeLimit: '64Mi' }],
            mounts: [
              { volume: 'data', path: '/vault/data', readOnly: false },
              { volume: 'config', path: '/vault/config' },
              ...(tls ? [{ volume: 'tls', path: '/vault/tls' }] : []),
            ],
          },
          // Vault reads its certificate again on SIGHUP, never by itself; the sidecar sees its
          // process through the shared process namespace and runs as the same user.
          ...(tls ? [renewalReloader({ image, certificate: { volume: 'tls', path: '/vault/tls' }, reload: 'pkill -HUP -x vault' })] : []),
        ],
        shareProcessNamespace: tls,
      },
      volumeClaimTemplates: [volumeClaimTemplate(this, 'data', props.storageSize, props.storageClass)],
    });
    this.server = statefulSet.pods;
    const ports = [
      { name: scheme, port: API_PORT },
      { name: 'https-internal', port: CLUSTER_PORT },
    ];
    const peers = new PlatformService(this, 'Internal', { name: internal, pods: this.server, headless: true, publishNotReadyAddresses: true, ports });
    this.api = new PlatformService(this, 'Api', { name: 'vault', pods: this.server, ports }).endpoint(scheme);
    this.webUi = { name: 'vault', purpose: 'Secrets (Vault UI; its own login follows)', endpoint: this.api, signIn: SignIn.PROXY, tls, docs: 'secrets.md' };
    if (replicas > 1) new PlatformDisruptionBudget(this, 'Budget', { pods: this.server });
    allowFlow(this.server, peers.endpoint(scheme));
    allowFlow(this.server, peers.endpoint('https-internal'));

    const labels = workloadLabels(identity);
    const subject = { serviceAccount, namespace: this.namespace };
    // The Kubernetes auth method reviews the tokens pods log in with.
    bindClusterRole(this, 'AuthDelegator', { name: 'vault-auth-delegator', clusterRole: 'system:auth-delegator', subject, labels });
    // service_registration labels the Vault pods with their state.
    grant(this, 'Discovery', { name: 'vault-discovery', subject, labels, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'watch', 'list', 'update', 'patch'] }] });
    const apiServer = requireApiServer(this);
    allowEgressToAddresses(this.server, 'kubernetes-api', apiServer.cidrs, apiServer.port);

    this.addInjector(id, replicas > 1 ? 2 : 1, apiServer);
  }

  /** Lets the Vault agents injected into `pods` reach the Vault API. */
  /**
   * Scheduled Raft snapshots to `bucket` (VaultSnapshots). Added once MinIO exists, which the
   * platform composes after Vault.
   */
  public addSnapshots(props: { readonly bucket: S3Bucket; readonly schedule: BackupSchedule; readonly uploader: ImageRef }): void {
    const image = this.context.images.image(VAULT_IMAGE);
    new VaultSnapshots(this, 'Snapshots', {
      ...props,
      api: this.api,
      tls: this.scheme === 'https',
      vaultImage: image,
      identity: { name: 'vault-snapshot', instance: this.namespace, component: 'backup', version: image.version },
      user: VAULT_UID,
      group: VAULT_GID,
    });
  }

  public allowAgents(pods: PodSelection): void {
    allowFlow(pods, this.api);
  }

  private addInjector(instance: string, replicas: number, apiServer: { cidrs: readonly string[]; port: number }): void {
    const image = this.context.images.image(VAULT_K8S_IMAGE);
    const identity = { name: 'vault-agent-injector', instance, component: 'webhook', version: image.version };
    const labels = workloadLabels(identity);
    const serviceName = 'vault-agent-injector-svc';
    const webhookName = 'vault-agent-injector-cfg';
    const hosts = [serviceName, `${serviceName}.${this.namespace}`, `${serviceName}.${this.namespace}.svc`];
    const serviceAccount = 'vault-agent-injector';
    new k8s.KubeServiceAccount(this, 'InjectorServiceAccount', {
      metadata: { name: serviceAccount, namespace: this.namespace, labels },
      automountServiceAccountToken: false,
    });
    const ready = httpProbe(INJECTOR_PORT, '/health/ready', { scheme: 'HTTPS' });
    const injector = new PlatformDeployment(this, 'Injector', {
      identity,
      replicas,
      pod: {
        user: VAULT_UID,
        group: VAULT_GID,
        serviceAccountName: serviceAccount,
        mountServiceAccountToken: true,
        containers: [
          {
            name: 'sidecar-injector',
            image,
            args: ['agent-inject'],
            env: {
              AGENT_INJECT_LISTEN: EnvValue.fromValue(`:${INJECTOR_PORT}`),
              AGENT_INJECT_LOG_LEVEL: EnvValue.fromValue('info'),
              // JSON lines, for the log shipper.
              AGENT_INJECT_LOG_FORMAT: EnvValue.fromValue('json'),
              AGENT_INJECT_VAULT_ADDR: EnvValue.fromValue(this.api.url(this.scheme)),
              AGENT_INJECT_VAULT_AUTH_PATH: EnvValue.fromValue('auth/kubernetes'),
              AGENT_INJECT_VAULT_IMAGE: EnvValue.fromValue(this.context.images.image(VAULT_IMAGE).reference),
              // The injector keeps its own serving certificate and patches the webhook's caBundle.
              AGENT_INJECT_TLS_AUTO: EnvValue.fromValue(webhookName),
              AGENT_INJECT_TLS_AUTO_HOSTS: EnvValue.fromValue(hosts.join(',')),
              AGENT_INJECT_REVOKE_ON_SHUTDOWN: EnvValue.fromValue('false'),
              AGENT_INJECT_CPU_REQUEST: EnvValue.fromValue('50m'),
              AGENT_INJECT_CPU_LIMIT: EnvValue.fromValue('200m'),
              AGENT_INJECT_MEM_REQUEST: EnvValue.fromValue('64Mi'),
              AGENT_INJECT_MEM_LIMIT: EnvValue.fromValue('128Mi'),
              AGENT_INJECT_DEFAULT_TEMPLATE: EnvValue.fromValue('map'),
              AGENT_INJECT_TEMPLATE_CONFIG_EXIT_ON_RETRY_FAILURE: EnvValue.fromValue('true'),
              AGENT_INJECT_USE_LEADER_ELECTOR: EnvValue.fromValue(replicas > 1 ? 'true' : 'false'),
              NAMESPACE: EnvValue.fromField('metadata.namespace'),
              POD_NAME: EnvValue.fromField('metadata.name'),
            },
            ports: [{ name: 'https', number: INJECTOR_PORT }],
            resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '250m', memory: '256Mi' } },
            livenessProbe: { ...ready, initialDelaySeconds: 5, periodSeconds: 10, failureThreshold: 2 },
            readinessProbe: { ...ready, initialDelaySeconds: 5, periodSeconds: 5, failureThreshold: 2 },
            writablePaths: [{ path: '/tmp', sizeLimit: '16Mi' }],
          },
        ],
      },
    });
    if (replicas > 1) new PlatformDisruptionBudget(this, 'InjectorBudget', { pods: injector.pods });
    new PlatformService(this, 'InjectorService', { name: serviceName, pods: injector.pods, ports: [{ name: 'https', port: 443, targetPort: INJECTOR_PORT }] });

    new ApiObject(this, 'Webhook', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: webhookName, labels },
      webhooks: [
        {
          name: 'vault.hashicorp.com',
          admissionReviewVersions: ['v1', 'v1beta1'],
          sideEffects: 'None',
          // Pods that do not ask for secrets must start even when the injector is down.
          failurePolicy: 'Ignore',
          matchPolicy: 'Exact',
          timeoutSeconds: 30,
          clientConfig: { service: { name: serviceName, namespace: this.namespace, path: '/mutate', port: 443 } },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
          objectSelector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'NotIn', values: ['vault-agent-injector'] }] },
        },
      ],
    });
    const subject = { serviceAccount, namespace: this.namespace };
    grant(this, 'InjectorRole', {
      name: 'vault-agent-injector',
      subject,
      labels,
      clusterWide: true,
      rules: [
        // vault-k8s patches the caBundle of its own webhook configuration, by name (certWatcher).
        { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: [webhookName], verbs: ['get', 'patch'] },
        // It lists them once at start to find the admissionregistration version (getAdminAPIVersion):
        // a list cannot be limited by name (reviewed exception in tools/validate/exceptions.yaml).
        { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], verbs: ['list', 'watch'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
      ],
    });
    if (replicas > 1) {
      // Leader election between injector replicas (which one renews the certificate).
      grant(this, 'InjectorLeader', {
        name: 'vault-agent-injector-leader',
        subject,
        labels,
        rules: [
          // The leader writes the certificate to Secret vault-injector-certs and the followers read
          // it (vault-k8s helper/cert/source_gen.go); the leader holds ConfigMap vault-k8s-leader
          // for life (operator-lib's leader.Become, leader/leader.go).
          { apiGroups: [''], resources: ['secrets'], resourceNames: [INJECTOR_CERT_SECRET], verbs: ['get', 'update'] },
          { apiGroups: [''], resources: ['configmaps'], resourceNames: [INJECTOR_LEADER_CONFIGMAP], verbs: ['get', 'update', 'delete'] },
          // Creating cannot be limited by name, nor can the followers' Secret informer (reviewed exception).
          { apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['create', 'watch', 'list'] },
          { apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch', 'delete'] },
        ],
      });
    }
    // The API server calls the webhook; the injector watches and patches its configuration.
    allowIngressFromAddresses(injector.pods, 'kubernetes-api', apiServer.cidrs, INJECTOR_PORT);
    allowEgressToAddresses(injector.pods, 'kubernetes-api', apiServer.cidrs, apiServer.port);
  }
}
