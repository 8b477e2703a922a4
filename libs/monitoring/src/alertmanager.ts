import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import {
  allowEgressToAddresses,
  allowPodFlow,
  ContainerPortSpec,
  EnvValue,
  httpProbe,
  PlatformChart,
  PlatformDisruptionBudget,
  PlatformService,
  PlatformStatefulSet,
  PodSelection,
  Protocol,
  SecretKeyRef,
  volumeClaimTemplate,
  workloadLabels,
  secretFilePath,
  ServiceEndpoint,
} from '@ml-platform/core';
import { configReloader } from './reloader';
import { ALERTMANAGER_IMAGE, CONFIG_RELOADER_IMAGE } from './images';

export const ALERTMANAGER_PORT = 9093;
/** Gossip between clustered Alertmanagers (TCP and UDP). */
const CLUSTER_PORT = 9094;
const ALERTMANAGER_UID = 65534;
const CONFIG_DIR = '/etc/alertmanager/config';
const SECRETS_DIR = '/etc/alertmanager/secrets';
const DATA_DIR = '/alertmanager';
/** The receiver that drops what it gets: the default when a cluster names none. */
export const NULL_RECEIVER = 'null';

/** Where a receiver is, for the NetworkPolicy that lets Alertmanager reach it. */
export interface ReceiverAddresses {
  readonly cidrs: readonly string[];
  readonly port: number;
}

/** One place notifications go. Secret parts are references; their values never enter the render. */
export interface AlertReceiver {
  /** Name routes refer to. */
  readonly name: string;
  /** A webhook (chat bridge, on-call tool) whose URL, which often embeds a token, is a Secret key. */
  readonly webhook?: { readonly url: SecretKeyRef };
  /** Mail through a smarthost. */
  readonly email?: {
    readonly to: string;
    readonly from: string;
    /** `host:port`. */
    readonly smarthost: string;
    /** @default - no authentication */
    readonly username?: string;
    /** @default - no authentication */
    readonly password?: SecretKeyRef;
  };
  readonly egress: ReceiverAddresses;
}

/** A routing rule: alerts matching every matcher go to `receiver`. */
export interface AlertRoute {
  /** Alertmanager matchers, e.g. `severity="critical"`. */
  readonly matchers: string[];
  readonly receiver: string;
  /** Keep evaluating the routes after this one. @default false */
  readonly continue?: boolean;
}

/** Properties for `Alertmanager`. */
export interface AlertmanagerProps {
  /** @default 1; 2 or more form a gossip cluster that deduplicates notifications */
  readonly replicas?: number;
  /** @default '1Gi' (silences and the notification log) */
  readonly storageSize?: string;
  /** @default - the cluster's default StorageClass */
  readonly storageClass?: string;
  /** @default - none: alerts are visible in Alertmanager and Grafana but notify nobody */
  readonly receivers?: AlertReceiver[];
  /** @default - the first receiver, or the null receiver */
  readonly defaultReceiver?: string;
  /** @default - none */
  readonly routes?: AlertRoute[];
  /**
   * The URL people reach the UI at, for links in notifications.
   *
   * @default - none (links point at the pod)
   */
  readonly externalUrl?: string;
}

/** The file a secret key is mounted as, without Vault. */
const mountedFile = (ref: SecretKeyRef) => `${SECRETS_DIR}/${ref.secretName}/${ref.key}`;

/**
 * alertmanager.yml for `props`; throws when a route names an unknown receiver. `secretFile` says
 * where the pod finds a secret key (secretFilePath, which knows about Vault).
 */
export function alertmanagerConfig(props: AlertmanagerProps, secretFile: (ref: SecretKeyRef) => string = mountedFile): object {
  const receivers = props.receivers ?? [];
  const names = new Set(receivers.map((r) => r.name));
  if (names.size !== receivers.length) throw new Error('alertmanager: receiver names must be unique');
  if (names.has(NULL_RECEIVER)) throw new Error(`alertmanager: '${NULL_RECEIVER}' is reserved for the receiver that drops alerts`);
  for (const r of receivers) {
    if (!r.webhook && !r.email) throw new Error(`alertmanager: receiver '${r.name}' needs a webhook or an email`);
  }
  const defaultReceiver = props.defaultReceiver ?? receivers[0]?.name ?? NULL_RECEIVER;
  const known = new Set([...names, NULL_RECEIVER]);
  for (const name of [defaultReceiver, ...(props.routes ?? []).map((r) => r.receiver)]) {
    if (!known.has(name)) throw new Error(`alertmanager: route to unknown receiver '${name}'; receivers: ${[...known].join(', ')}`);
  }
  return {
    route: {
      receiver: defaultReceiver,
      group_by: ['alertname', 'cluster', 'namespace'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
      routes: props.routes?.length ? props.routes.map((r) => ({ matchers: r.matchers, receiver: r.receiver, continue: r.continue ?? false })) : undefined,
    },
    // A critical alert silences the warnings of the same problem.
    inhibit_rules: [{ source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['alertname', 'cluster', 'namespace'] }],
    receivers: [
      { name: NULL_RECEIVER },
      ...receivers.map((r) => ({
        name: r.name,
        webhook_configs: r.webhook ? [{ url_file: secretFile(r.webhook.url), send_resolved: true }] : undefined,
        email_configs: r.email
          ? [
              {
                to: r.email.to,
                from: r.email.from,
                smarthost: r.email.smarthost,
                auth_username: r.email.username,
                auth_password_file: r.email.password ? secretFile(r.email.password) : undefined,
                require_tls: true,
                send_resolved: true,
              },
            ]
          : undefined,
      })),
    ],
  };
}

/**
 * Alertmanager as a StatefulSet: one pod, or a gossip cluster whose peers find each other by
 * their stable DNS names. Receiver credentials are mounted from Secrets and referenced with
 * `*_file` fields, so the ConfigMap holds no secret.
 */
export class Alertmanager extends Construct {
  public readonly pods: PodSelection;
  /** Stable DNS name of every replica. */
  public readonly peers: string[];
  /** The API and UI, through the Service. */
  public readonly endpoint: ServiceEndpoint;

  constructor(scope: Construct, id: string, props: AlertmanagerProps) {
    super(scope, id);
    const chart = PlatformChart.of(this);
    const { context } = chart;
    const image = context.images.image(ALERTMANAGER_IMAGE);
    const replicas = props.replicas ?? 1;
    const headless = 'alertmanager-headless';
    this.peers = Array.from({ length: replicas }, (_, i) => `alertmanager-${i}.${context.serviceHost(headless, chart.namespace)}`);
    const config = stringify(
      alertmanagerConfig(props, (ref) => secretFilePath(chart, `${SECRETS_DIR}/${ref.secretName}`, ref)),
      { lineWidth: 0, aliasDuplicateObjects: false },
    );
    const identity = { name: 'alertmanager', instance: chart.component, component: 'alert-router', version: image.version };
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: 'alertmanager-config', namespace: chart.namespace, labels: workloadLabels(identity) },
      data: { 'alertmanager.yml': config },
    });

    const clustered = replicas > 1;
    // The pods' ports, also published by the headless Service (peers gossip on both protocols).
    const ports: ContainerPortSpec[] = [
      { name: 'http', number: ALERTMANAGER_PORT },
      ...(clustered
        ? [
            { name: 'cluster-tcp', number: CLUSTER_PORT },
            { name: 'cluster-udp', number: CLUSTER_PORT, protocol: Protocol.UDP },
          ]
        : []),
    ];
    const clusterArgs = clustered
      ? [`--cluster.listen-address=0.0.0.0:${CLUSTER_PORT}`, `--cluster.advertise-address=$(POD_IP):${CLUSTER_PORT}`, ...this.peers.map((p) => `--cluster.peer=${p}:${CLUSTER_PORT}`)]
      : // An empty listen address turns gossip off.
        ['--cluster.listen-address='];
    const receivers = props.receivers ?? [];
    const secretRefs = receivers.flatMap((r) => [r.webhook?.url, r.email?.password]).filter((x): x is SecretKeyRef => x !== undefined);
    const bySecret = new Map<string, SecretKeyRef[]>();
    for (const ref of secretRefs) bySecret.set(ref.secretName, [...(bySecret.get(ref.secretName) ?? []), ref]);

    const statefulSet = new PlatformStatefulSet(this, 'Server', {
      identity,
      replicas,
      // The gossip cluster deduplicates notifications only while its members are apart.
      quorum: true,
      serviceName: headless,
      podManagementPolicy: 'Parallel',
      metrics: { port: ALERTMANAGER_PORT },
      pod: {
        user: ALERTMANAGER_UID,
        group: ALERTMANAGER_UID,
        containers: [
          {
            name: 'alertmanager',
            image,
            args: [
              `--config.file=${CONFIG_DIR}/alertmanager.yml`,
              `--storage.path=${DATA_DIR}`,
              `--web.listen-address=:${ALERTMANAGER_PORT}`,
              '--log.format=json',
              ...(props.externalUrl ? [`--web.external-url=${props.externalUrl}`] : []),
              ...clusterArgs,
            ],
            env: clustered ? { POD_IP: EnvValue.fromField('status.podIP') } : undefined,
            ports,
            resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '200m', memory: '256Mi' } },
            livenessProbe: { ...httpProbe(ALERTMANAGER_PORT, '/-/healthy'), periodSeconds: 15, timeoutSeconds: 5 },
            readinessProbe: { ...httpProbe(ALERTMANAGER_PORT, '/-/ready'), periodSeconds: 5, timeoutSeconds: 5 },
            mounts: [
              { volume: 'config', path: CONFIG_DIR },
              { volume: 'data', path: DATA_DIR, readOnly: false },
            ],
            secretFiles: [...bySecret.values()].map((keys) => ({ directory: `${SECRETS_DIR}/${keys[0].secretName}`, keys })),
          },
          configReloader(context.images.image(CONFIG_RELOADER_IMAGE), { watchedDir: CONFIG_DIR, volume: 'config', reloadUrl: `http://127.0.0.1:${ALERTMANAGER_PORT}/-/reload` }),
        ],
        volumes: [{ name: 'config', configMap: { name: 'alertmanager-config' } }],
      },
      volumeClaimTemplates: [volumeClaimTemplate(this, 'data', props.storageSize ?? '1Gi', props.storageClass)],
    });
    this.pods = statefulSet.pods;
    new PlatformService(this, 'Headless', {
      name: headless,
      pods: this.pods,
      headless: true,
      // Peers must find each other before any of them is ready.
      publishNotReadyAddresses: true,
      ports: ports.map((p) => ({ name: p.name, port: p.number, protocol: p.protocol })),
    });
    this.endpoint = new PlatformService(this, 'Service', { name: 'alertmanager', pods: this.pods, ports: [{ name: 'http', port: ALERTMANAGER_PORT }] }).endpoint('http');
    if (clustered) {
      new PlatformDisruptionBudget(this, 'Budget', { pods: this.pods });
      allowPodFlow(this.pods, this.pods, CLUSTER_PORT, Protocol.TCP);
      allowPodFlow(this.pods, this.pods, CLUSTER_PORT, Protocol.UDP);
    }
    for (const r of receivers) allowEgressToAddresses(this.pods, `receiver-${r.name}`, r.egress.cidrs, r.egress.port);
  }

  /** `host:port` of every replica's API: Prometheus sends each alert to all of them. */
  public get apiTargets(): string[] {
    return this.peers.map((host) => `${host}:${ALERTMANAGER_PORT}`);
  }

  /** Lets `sender` (Prometheus) deliver alerts to every replica. */
  public acceptAlertsFrom(sender: PodSelection): void {
    allowPodFlow(sender, this.pods, ALERTMANAGER_PORT);
  }
}
