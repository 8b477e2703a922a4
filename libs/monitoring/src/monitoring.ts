import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { z } from 'zod';
import { BackupObjectives, cidr, dnsLabel, GitLabSignIn, Layer, ModelMonitoring, PlatformChart, PlatformContext, replicas, resources as resourcesSchema, ResourceSpec, SecretKeyRef, SignIn, storage, WebUi } from '@ml-platform/core';
import { backupObjectiveRules } from './alerts/backup-rules';
import { modelBaselineRules } from './alerts/model-rules';
import { ruleFile } from './alerts/rule';
import { PLATFORM_RULE_GROUPS } from './alerts/platform-alerts';
import { AlertReceiver, AlertRoute, Alertmanager } from './alertmanager';
import { modelDashboards } from './dashboards/model-dashboards';
import { PLATFORM_DASHBOARDS } from './dashboards/platform-dashboards';
import { Grafana, GRAFANA_CALLBACK } from './grafana';
import { KubeStateMetrics } from './kube-state-metrics';
import { Prometheus, sizeInBytes } from './prometheus';

const secretKey = z
  .strictObject({ secret: dnsLabel.describe('Secret name (SOPS file or external.secrets).'), key: z.string().regex(/^[-._a-zA-Z0-9]+$/, { error: 'expected a Secret key' }) })
  .describe('A key of a Secret in the monitoring namespace.');

const receiverSchema = z
  .strictObject({
    name: dnsLabel.describe('Name that routes refer to.'),
    webhook: z.strictObject({ url: secretKey.describe('Secret key holding the webhook URL (it often embeds a token).') }).optional(),
    email: z
      .strictObject({
        to: z.email(),
        from: z.email(),
        smarthost: z.string().regex(/^[a-z0-9.-]+:[0-9]+$/, { error: 'expected host:port of the mail relay' }),
        username: z.string().min(1).optional(),
        password: secretKey.optional(),
      })
      .optional(),
    egress: z
      .strictObject({ cidrs: z.array(cidr).min(1), port: z.int().min(1).max(65535) })
      .describe('Where the receiver is (CIDRs and port): the only egress Alertmanager gets.'),
  })
  .superRefine((r, ctx) => {
    if (!!r.webhook === !!r.email) ctx.addIssue({ code: 'custom', path: [], message: 'expected exactly one of webhook or email' });
  })
  .describe('One destination of notifications; secret parts are references.');

/** The `components.monitoring` section of cluster.yaml. */
export const monitoringConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe('Render Prometheus, Alertmanager, Grafana, kube-state-metrics and node-exporter.'),
    prometheus: z.strictObject({
      replicas: replicas.default(1).describe('Prometheus servers; each scrapes everything, Alertmanager deduplicates their alerts.'),
      storage: storage.extend({ size: z.string().regex(/^[0-9]+(Mi|Gi|Ti)$/, { error: 'expected a binary size such as 50Gi' }) }),
      retention: z.string().regex(/^[0-9]+(h|d|w|y)$/, { error: 'expected a duration such as 15d' }).default('15d').describe('How long samples are kept.'),
      retentionSize: z
        .string()
        .regex(/^[0-9]+(MB|GB|TB)$/, { error: 'expected a size such as 40GB' })
        .optional()
        .describe('Upper bound of the TSDB on disk; defaults to 80% of the volume.'),
      resources: resourcesSchema.optional(),
    }),
    alertmanager: z
      .strictObject({
        replicas: replicas.default(1).describe('1, or 3 for a gossip cluster that survives a node.'),
        receivers: z.array(receiverSchema).default([]).describe('Where notifications go; none: alerts are only visible in Alertmanager and Grafana.'),
        defaultReceiver: dnsLabel.optional().describe('Receiver of alerts no route matches; defaults to the first receiver.'),
        routes: z
          .array(z.strictObject({ matchers: z.array(z.string().min(1)).min(1), receiver: dnsLabel, continue: z.boolean().default(false) }))
          .default([])
          .describe('Routing rules, first match wins unless continue is set, e.g. matchers: [severity="critical"].'),
      })
      .superRefine((am, ctx) => {
        const names = new Set(['null', ...am.receivers.map((r) => r.name)]);
        if (am.defaultReceiver && !names.has(am.defaultReceiver)) ctx.addIssue({ code: 'custom', path: ['defaultReceiver'], message: `expected one of ${[...names].join(', ')}` });
        am.routes.forEach((r, i) => {
          if (!names.has(r.receiver)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'receiver'], message: `expected one of ${[...names].join(', ')}` });
        });
      })
      .prefault({}),
    grafana: z.strictObject({ resources: resourcesSchema.optional() }).prefault({}),
  })
  .superRefine((m, ctx) => {
    const { retentionSize, storage: volume } = m.prometheus;
    if (retentionSize && sizeInBytes(retentionSize, 'retentionSize') >= sizeInBytes(volume.size, 'storage.size')) {
      ctx.addIssue({ code: 'custom', path: ['prometheus', 'retentionSize'], message: `expected less than the volume (${volume.size})` });
    }
  })
  .describe('Metrics, alerts and dashboards.');

export type MonitoringConfig = z.output<typeof monitoringConfigSchema>;

/** Properties for `MonitoringChart`. */
export interface MonitoringChartProps {
  readonly context: PlatformContext;
  readonly prometheus: {
    /** @default 1 */
    readonly replicas?: number;
    readonly storageSize: string;
    /** @default - the cluster's default StorageClass */
    readonly storageClass?: string;
    /** @default '15d' */
    readonly retention?: string;
    /** @default - 80% of the volume */
    readonly retentionSize?: string;
    /** @default - 250m/1Gi requested, 2 CPU/4Gi limit */
    readonly resources?: ResourceSpec;
  };
  readonly alertmanager?: {
    /** @default 1 */
    readonly replicas?: number;
    /** @default - none */
    readonly receivers?: AlertReceiver[];
    /** @default - the first receiver */
    readonly defaultReceiver?: string;
    /** @default - none */
    readonly routes?: AlertRoute[];
  };
  readonly grafana?: {
    /** @default - 100m/256Mi requested, 1 CPU/1Gi limit */
    readonly resources?: ResourceSpec;
    /** @default - the login form only */
    readonly signIn?: GitLabSignIn;
  };
  /**
   * The hosts people reach the UIs at, for the links they generate.
   *
   * @default - `<ui>.<baseDomain>`
   */
  readonly hosts?: { readonly grafana?: string; readonly prometheus?: string; readonly alertmanager?: string };
}

/** The receivers of cluster.yaml as typed receivers, with their Secrets as references. */
export function receiversFromConfig(receivers: MonitoringConfig['alertmanager']['receivers']): AlertReceiver[] {
  const ref = (s: { secret: string; key: string }, what: string) => SecretKeyRef.of(s.secret, s.key, what);
  return receivers.map((r) => ({
    name: r.name,
    webhook: r.webhook ? { url: ref(r.webhook.url, `webhook URL of alert receiver ${r.name}`) } : undefined,
    email: r.email ? { ...r.email, password: r.email.password ? ref(r.email.password, `SMTP password of alert receiver ${r.name}`) : undefined } : undefined,
    egress: r.egress,
  }));
}

/**
 * The monitoring stack in namespace `monitoring`: Prometheus (the cluster's scraper, so every
 * workload that declares metrics lets it in), Alertmanager, kube-state-metrics and Grafana.
 * node-exporter lives in its own chart: it needs a privileged namespace.
 */
export class MonitoringChart extends PlatformChart {
  public readonly prometheus: Prometheus;
  public readonly alertmanager: Alertmanager;
  public readonly grafana: Grafana;
  /** Grafana (its own GitLab sign-in), Prometheus and Alertmanager (behind the sign-in proxy). */
  public readonly webUis: WebUi[];

  constructor(scope: Construct, id: string, props: MonitoringChartProps) {
    super(scope, id, { context: props.context, layer: Layer.PLATFORM });
    const host = (ui: 'grafana' | 'prometheus' | 'alertmanager') => props.hosts?.[ui] ?? `${ui}.${props.context.baseDomain}`;
    // The model services are composed before this chart: their baselines are known here.
    const models = ModelMonitoring.of(this).models;
    // So are the components with scheduled backups, and how old each may get.
    const backups = BackupObjectives.of(this).backups;
    const yaml = (doc: object) => stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
    this.alertmanager = new Alertmanager(this, 'Alertmanager', { ...props.alertmanager, externalUrl: `https://${host('alertmanager')}/` });
    this.prometheus = new Prometheus(this, 'Prometheus', {
      replicas: props.prometheus.replicas,
      storageSize: props.prometheus.storageSize,
      storageClass: props.prometheus.storageClass,
      retentionTime: props.prometheus.retention,
      retentionSize: props.prometheus.retentionSize,
      resources: props.prometheus.resources,
      ruleFiles: {
        'alerting-rules.yml': yaml(ruleFile(PLATFORM_RULE_GROUPS)),
        // Each watched model's baseline and thresholds, which the model-drift rules join with.
        ...(models.length > 0 ? { 'model-baselines.yml': yaml(ruleFile(modelBaselineRules(models))) } : {}),
        // Each backup's maximum age, which the backup alerts join with.
        ...(backups.length > 0 ? { 'backup-objectives.yml': yaml(ruleFile(backupObjectiveRules(backups))) } : {}),
      },
      alertmanagers: this.alertmanager.apiTargets,
      externalUrl: `https://${host('prometheus')}/`,
    });
    this.alertmanager.acceptAlertsFrom(this.prometheus.pods);
    new KubeStateMetrics(this, 'KubeStateMetrics');
    this.grafana = new Grafana(this, 'Grafana', {
      prometheus: this.prometheus.endpoint,
      dashboards: { ...PLATFORM_DASHBOARDS, ...modelDashboards(models) },
      resources: props.grafana?.resources,
      signIn: props.grafana?.signIn,
      externalHost: host('grafana'),
    });
    this.webUis = [
      { name: 'grafana', purpose: 'Dashboards: platform health and model metrics', endpoint: this.grafana.endpoint, signIn: SignIn.OIDC, callbackPath: GRAFANA_CALLBACK, tls: this.grafana.tls, docs: 'monitoring.md' },
      { name: 'prometheus', purpose: 'Metric queries, scrape targets and rule state', endpoint: this.prometheus.endpoint, signIn: SignIn.PROXY, docs: 'monitoring.md' },
      { name: 'alertmanager', purpose: 'Firing alerts and silences', endpoint: this.alertmanager.endpoint, signIn: SignIn.PROXY, docs: 'monitoring.md' },
    ];
  }
}
