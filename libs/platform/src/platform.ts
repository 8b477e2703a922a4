import { App } from 'cdk8s';
import { z } from 'zod';
import { backupSchedule, ChartCatalog, ClusterRenderSpec, RenderedBootstrap, durationSeconds, componentsSchemaOf, defineClusterSchema, GitLabSignIn, imagesOf, Layer, PlatformContext, componentWebUis, CELERY_QUEUE_KEY, STATSD_EXPORTER_IMAGE, TLS_SIDECAR_IMAGE } from '@ml-platform/core';
import { AccessLayer, ExposedUi, GITLAB_CLIENT_SECRET, OAUTH2_PROXY_IMAGE, uiHost } from '@ml-platform/access';
import { AirflowChart, airflowComponent } from '@ml-platform/airflow';
import { ARGOCD_NAMESPACE, ArgoCdSyncChart } from '@ml-platform/argocd';
import { BOOTSTRAP_CHARTS, bootstrapConfigSchema, ENVOY_GATEWAY_CONTROLLER, bootstrapIssues, gitlabProjectPath, renderBootstrapModule, routingControllerOf } from '@ml-platform/bootstrap';
import { DashChart, dashComponent } from '@ml-platform/dash';
import { FLUX_CONTROLLER_LABELS, FLUX_NAMESPACE, FluxSyncChart } from '@ml-platform/flux';
import { GITLAB_AGENT_TOKEN_SECRET, GitlabAgentChart, gitlabAgentComponent } from '@ml-platform/gitlab-agent';
import { FirstStep, HomeChart, homeComponent, HomeLink, HomePageModel } from '@ml-platform/home';
import { JupyterHubChart, jupyterhubComponent } from '@ml-platform/jupyterhub';
import { LoggingChart, loggingComponent, LogShipperChart } from '@ml-platform/logging';
import { MC_IMAGE, MinioChart, minioComponent, MinioMode, OFFSITE_READER } from '@ml-platform/minio';
import { MlflowChart, mlflowComponent } from '@ml-platform/mlflow';
import { MonitoringChart, monitoringComponent, NodeExporterChart, OVERVIEW_DASHBOARD_UID, receiversFromConfig } from '@ml-platform/monitoring';
import { PostgresChart, postgresComponent } from '@ml-platform/postgres';
import { RedisChart, redisComponent } from '@ml-platform/redis';
import { SupersetChart, supersetComponent } from '@ml-platform/superset';
import { ServingChart, servingComponent } from '@ml-platform/serving';
import { SparkHistoryChart, SparkJobsChart, sparkComponent } from '@ml-platform/spark';
import { TensorBoardChart, tensorboardComponent } from '@ml-platform/tensorboard';
import { VaultChart, vaultComponent } from '@ml-platform/vault';
import { reviewConfigSchema, reviewIssues, reviewProjectsOf } from './review-config';
import { reviewJobs } from './review-jobs';

/**
 * Every component the platform knows, in the order cluster.yaml lists them. A new component is
 * its library plus one entry here; one that uses other components' handles is also wired below
 * in `composePlatform`.
 */
export const PLATFORM_COMPONENTS = [postgresComponent, minioComponent, redisComponent, mlflowComponent, jupyterhubComponent, tensorboardComponent, sparkComponent, airflowComponent, supersetComponent, dashComponent, servingComponent, loggingComponent, gitlabAgentComponent, vaultComponent, monitoringComponent, homeComponent] as const;

/** The `components` section of cluster.yaml: one entry per component library. */
export const componentsSchema = componentsSchemaOf(PLATFORM_COMPONENTS);

/** Every image the platform may run: the catalog that cluster pins and the inventory refer to. */
// Images several components run have their own entries: the sign-in proxy, the StatsD exporter.
export const PLATFORM_IMAGES = imagesOf([...PLATFORM_COMPONENTS, { key: 'access', images: [OAUTH2_PROXY_IMAGE] }, { key: 'statsd', images: [STATSD_EXPORTER_IMAGE] }, { key: 'tls-sidecar', images: [TLS_SIDECAR_IMAGE] }]);

/** Every UI a cluster's components may serve, by the component that serves it. */
function clusterWebUis(components: Record<string, unknown>): Map<string, string> {
  return new Map(PLATFORM_COMPONENTS.flatMap((c) => componentWebUis(c, components[c.key]).map((ui) => [ui, c.key] as const)));
}

/** The keys of the components enabled in a cluster, in the platform's order. */
export function enabledComponents(components: Record<string, unknown>): string[] {
  return PLATFORM_COMPONENTS.filter((c) => (components[c.key] as { enabled?: boolean } | undefined)?.enabled === true).map((c) => c.key);
}

/** agentk's namespace (its chart's id): the bootstrap module puts the agent's token there. */
const GITLAB_AGENT_NAMESPACE = 'gitlab-agent';

/** The whole cluster.yaml, with the cross-component rules. */
export const clusterConfigSchema = defineClusterSchema(componentsSchema, PLATFORM_IMAGES, bootstrapConfigSchema(BOOTSTRAP_CHARTS), reviewConfigSchema).superRefine((config, ctx) => {
  for (const issue of bootstrapIssues(config.bootstrap, { routingApi: config.routing.api, registryMirrors: config.registryMirrors })) ctx.addIssue({ code: 'custom', ...issue });
  for (const issue of reviewIssues(config.review, {
    tier: config.tier,
    enabled: enabledComponents(config.components),
    known: PLATFORM_COMPONENTS.map((c) => c.key),
    projects: config.review ? reviewProjectsOf(config.review, config.gitops.repository.url) : [],
    agentCiProjects: config.components.gitlabAgent.ciAccess.projects,
  }))
    ctx.addIssue({ code: 'custom', ...issue });
  const { postgres, minio, mlflow, jupyterhub, tensorboard, spark, airflow, superset, dash, serving, vault, monitoring } = config.components;
  // Every UI of an enabled component has its groups; every UI named exists; no two share a host.
  const enabled = (key: string) => (config.components as Record<string, { enabled?: boolean } | undefined>)[key]?.enabled === true;
  const hosts = new Map<string, string>();
  const webUis = clusterWebUis(config.components);
  for (const [ui, component] of webUis) {
    if (!enabled(component)) continue;
    if (!config.access[ui]) {
      ctx.addIssue({ code: 'custom', path: ['access', ui], message: `expected the GitLab groups that may use ${ui} (users, and admins where it has roles) while components.${component} is enabled` });
    }
    const host = uiHost(config.routing, config.baseDomain, ui);
    const other = hosts.get(host);
    if (other) ctx.addIssue({ code: 'custom', path: ['routing', 'hosts', config.routing.hosts[ui] ? ui : other], message: `expected a host of its own: ${ui} and ${other} would both be served at ${host}` });
    hosts.set(host, ui);
  }
  // A certificate is issued, not generated: npm run secrets must never make one up.
  const tlsSecret = config.routing.tls.secretName;
  if (tlsSecret && !config.external.secrets.includes(tlsSecret)) {
    ctx.addIssue({ code: 'custom', path: ['routing', 'tls', 'secretName'], message: `expected '${tlsSecret}' under external.secrets too: a TLS certificate is issued outside the render, never generated` });
  }
  const ca = config.sso.gitlab.caConfigMap;
  if (ca && !config.external.configMaps.includes(ca)) {
    ctx.addIssue({ code: 'custom', path: ['sso', 'gitlab', 'caConfigMap'], message: `expected '${ca}' under external.configMaps too: the sign-in pods mount it, and nothing renders it` });
  }
  const known = [...webUis.keys()].join(', ');
  for (const [section, names] of [['access', Object.keys(config.access)], ['routing.hosts', Object.keys(config.routing.hosts)]] as const) {
    for (const ui of names.filter((n) => !webUis.has(n))) {
      ctx.addIssue({ code: 'custom', path: [...section.split('.'), ui], message: `expected one of the platform's UIs (${known})` });
    }
  }
  if (config.components.home?.enabled && !config.components.home.docsUrl && !config.gitops.repository.url.startsWith('https://')) {
    ctx.addIssue({ code: 'custom', path: ['components', 'home', 'docsUrl'], message: "expected the https:// URL of the platform's docs/ folder: gitops.repository.url is not https, so the home page cannot link the docs on its own" });
  }
  if (monitoring?.enabled && !config.network.nodes) {
    ctx.addIssue({ code: 'custom', path: ['network', 'nodes'], message: 'expected the nodes\' CIDRs while components.monitoring is enabled (Prometheus scrapes the kubelets and node-exporter there)' });
  }
  if (config.secrets.backend === 'vault' && !vault?.enabled) {
    ctx.addIssue({ code: 'custom', path: ['secrets', 'backend'], message: 'expected sops while components.vault is not enabled (Vault delivers the secrets)' });
  }
  if (mlflow.enabled && !postgres.enabled) {
    ctx.addIssue({ code: 'custom', path: ['components', 'mlflow', 'enabled'], message: 'expected false while components.postgres.enabled is false (MLflow keeps its runs in PostgreSQL)' });
  }
  if (mlflow.enabled && !minio.enabled) {
    ctx.addIssue({ code: 'custom', path: ['components', 'mlflow', 'enabled'], message: 'expected false while components.minio.enabled is false (MLflow keeps its artifacts in S3)' });
  }
  if (tensorboard?.enabled && !jupyterhub?.enabled) {
    ctx.addIssue({ code: 'custom', path: ['components', 'tensorboard', 'enabled'], message: 'expected false while components.jupyterhub is not enabled (TensorBoard shows the training logs notebooks write to S3)' });
  }
  // Pods other programs create from what the render writes get no Vault agent.
  const podsFromTemplates = {
    jupyterhub: 'notebook servers and Spark executors are created by KubeSpawner and Spark',
    spark: 'driver and executor pods are created by Spark from templates',
    airflow: 'task pods are created by the KubernetesExecutor from a template',
  } as const;
  for (const [key, creator] of Object.entries(podsFromTemplates)) {
    if (enabled(key) && config.secrets.backend === 'vault') {
      ctx.addIssue({ code: 'custom', path: ['secrets', 'backend'], message: `expected sops while components.${key} is enabled: ${creator}, which cannot receive secrets from Vault yet` });
    }
  }
  // The analytics database: who may write it and who only reads it, by what each does with it.
  const analyticsUses: Record<string, { writes: boolean; what: string }> = {
    airflow: { writes: true, what: "Airflow's tasks load what pipelines produce" },
    superset: { writes: false, what: 'people query it in Superset' },
    dash: { writes: false, what: 'Dash apps show it' },
  };
  for (const access of ['writers', 'readers'] as const) {
    postgres.analytics?.[access].forEach((consumer, i) => {
      const path = ['components', 'postgres', 'analytics', access, i];
      const use = analyticsUses[consumer];
      if (!use) ctx.addIssue({ code: 'custom', path, message: `expected a component that uses the analytics database (${Object.keys(analyticsUses).join(', ')})` });
      else if (access === 'writers' && !use.writes) ctx.addIssue({ code: 'custom', path, message: `expected '${consumer}' under readers: it only reads the analytics database, and its role may not write` });
      else if (!enabled(consumer)) ctx.addIssue({ code: 'custom', path, message: `expected components.${consumer} to be enabled, or '${consumer}' removed from here` });
    });
  }
  if (spark?.enabled && !minio.enabled) {
    ctx.addIssue({ code: 'custom', path: ['components', 'spark', 'enabled'], message: 'expected false while components.minio.enabled is false (Spark jobs keep their event logs and data in S3)' });
  }
  if (airflow?.enabled) {
    for (const [needed, why] of [['postgres', 'keeps its metadata in PostgreSQL'], ['minio', 'keeps task logs and data in S3']] as const) {
      if (!config.components[needed].enabled) ctx.addIssue({ code: 'custom', path: ['components', 'airflow', 'enabled'], message: `expected false while components.${needed}.enabled is false (Airflow ${why})` });
    }
    const credentials = airflow.dags.repository.credentialsSecret;
    if (!config.external.secrets.includes(credentials)) {
      ctx.addIssue({ code: 'custom', path: ['components', 'airflow', 'dags', 'repository', 'credentialsSecret'], message: `expected '${credentials}' under external.secrets too: a deploy token is issued by GitLab, never generated` });
    }
    if (config.access.airflow && config.access.airflow.admins.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['access', 'airflow', 'admins'], message: 'expected at least one GitLab group: Airflow needs admins who can manage connections, pools and roles' });
    }
  }
  if (superset?.enabled) {
    for (const [needed, why] of [['postgres', 'keeps its dashboards and users in PostgreSQL'], ['redis', 'caches and queues SQL Lab queries in Redis']] as const) {
      if (!config.components[needed]?.enabled) ctx.addIssue({ code: 'custom', path: ['components', 'superset', 'enabled'], message: `expected false while components.${needed}.enabled is not true (Superset ${why})` });
    }
    if (postgres.enabled && !postgres.analytics?.readers.includes('superset') && !postgres.analytics?.writers.includes('superset')) {
      ctx.addIssue({ code: 'custom', path: ['components', 'postgres', 'analytics', 'readers'], message: "expected 'superset' here while components.superset is enabled: the analytics database is what Superset shows" });
    }
    if (config.access.superset && config.access.superset.admins.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['access', 'superset', 'admins'], message: 'expected at least one GitLab group: Superset needs admins who can manage roles and databases' });
    }
  }
  if (dash?.enabled && dash.apps.some((a) => a.analytics)) {
    if (!postgres.enabled) ctx.addIssue({ code: 'custom', path: ['components', 'dash', 'enabled'], message: 'expected false while components.postgres.enabled is false (an app reads the analytics database), or analytics: false on every app' });
    else if (!postgres.analytics?.readers.includes('dash')) {
      ctx.addIssue({ code: 'custom', path: ['components', 'postgres', 'analytics', 'readers'], message: "expected 'dash' here: a Dash app reads the analytics database (or set analytics: false on the app)" });
    }
  }
  // Quorum members each need a node of their own where the cluster spreads them hard.
  const topology = config.topology;
  if (topology?.quorumSpread === 'hard') {
    const quorums: [(string | number)[], number, string][] = [
      [['components', 'vault', 'replicas'], vault?.enabled ? vault.replicas : 0, 'Vault Raft voter'],
      [['components', 'minio', 'replicas'], minio.enabled && minio.mode === 'distributed' ? minio.replicas : 0, 'MinIO server of the erasure set'],
      [['components', 'monitoring', 'alertmanager', 'replicas'], monitoring?.enabled ? monitoring.alertmanager.replicas : 0, "member of Alertmanager's cluster"],
      [['components', 'logging', 'elasticsearch', 'replicas'], config.components.logging?.enabled ? config.components.logging.elasticsearch.replicas : 0, 'Elasticsearch node'],
    ];
    for (const [path, members, what] of quorums) {
      if (members > topology.nodes) {
        ctx.addIssue({ code: 'custom', path, message: `expected at most topology.nodes (${topology.nodes}) with quorumSpread hard, found ${members}: each ${what} needs a node of its own (declare the nodes the cluster has, or fewer members)` });
      }
    }
  }
  // Only UIs with a role between use and administration take editors.
  const withEditors = new Set(['superset']);
  for (const [ui, groups] of Object.entries(config.access)) {
    if (groups.editors.length > 0 && !withEditors.has(ui)) {
      ctx.addIssue({ code: 'custom', path: ['access', ui, 'editors'], message: `expected no editors: ${ui} has no editor role (only ${[...withEditors].join(', ')} has); use users or admins` });
    }
  }
  const logging = config.components.logging;
  if (logging?.enabled && !config.routing.tls.clusterIssuer) {
    ctx.addIssue({ code: 'custom', path: ['routing', 'tls', 'clusterIssuer'], message: "expected the cluster's internal CA as a cert-manager ClusterIssuer while components.logging is enabled: it signs Elasticsearch's certificate, and every client trusts it" });
  }
  if (logging?.enabled && config.secrets.backend === 'vault') {
    ctx.addIssue({ code: 'custom', path: ['secrets', 'backend'], message: "expected sops while components.logging is enabled: the log shipper reads pod metadata from the Kubernetes API with a ServiceAccount of its own, and the Vault agent signs pods in as vault-auth" });
  }
  if (vault?.enabled && vault.snapshots && !minio.enabled) {
    ctx.addIssue({ code: 'custom', path: ['components', 'vault', 'snapshots'], message: 'expected no snapshots while components.minio.enabled is false (the snapshots go to a MinIO bucket)' });
  }
  if (postgres.enabled && postgres.backup && !minio.enabled) {
    ctx.addIssue({ code: 'custom', path: ['components', 'postgres', 'backup'], message: 'expected no backup while components.minio.enabled is false (the pgBackRest repository is a MinIO bucket)' });
  }
  if (logging?.enabled && logging.snapshots && !minio.enabled) {
    ctx.addIssue({ code: 'custom', path: ['components', 'logging', 'snapshots'], message: 'expected no snapshots while components.minio.enabled is false (the snapshot repository is a MinIO bucket)' });
  }
  if (serving?.enabled && !mlflow.enabled) {
    ctx.addIssue({ code: 'custom', path: ['components', 'serving', 'enabled'], message: 'expected false while components.mlflow.enabled is false (model services load their models from its registry)' });
  }
  serving?.models.forEach((m, i) => {
    if (m.consumers.notebooks && !jupyterhub?.enabled) {
      ctx.addIssue({ code: 'custom', path: ['components', 'serving', 'models', i, 'consumers', 'notebooks'], message: 'expected false while components.jupyterhub is not enabled (there are no notebook servers)' });
    }
  });
  if (jupyterhub?.enabled) {
    for (const [needed, why] of [['postgres', 'keeps its users and servers in PostgreSQL'], ['minio', "gives notebooks the datasets bucket"], ['mlflow', 'points every notebook at MLflow']] as const) {
      if (!config.components[needed].enabled) ctx.addIssue({ code: 'custom', path: ['components', 'jupyterhub', 'enabled'], message: `expected false while components.${needed}.enabled is false (JupyterHub ${why})` });
    }
    if (config.access.jupyterhub && config.access.jupyterhub.admins.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['access', 'jupyterhub', 'admins'], message: 'expected at least one GitLab group: JupyterHub needs admins who can stop servers and manage users' });
    }
    jupyterhub.profiles.forEach((p, i) => {
      if (p.gpus !== undefined && !config.gpuNodes) {
        ctx.addIssue({ code: 'custom', path: ['components', 'jupyterhub', 'profiles', i, 'gpus'], message: 'expected no GPUs: the cluster declares no gpuNodes (add gpuNodes with the GPU nodes\' labels, or drop this profile)' });
      }
    });
  }
});

/** A validated cluster configuration. */
export type ClusterConfig = z.output<typeof clusterConfigSchema>;

/** The GitLab sign-in of a UI that signs people in itself: the cluster's GitLab application and the UI's groups. */
function gitlabSignIn(config: ClusterConfig, ui: string): GitLabSignIn {
  const { url, cidrs, clientId, caConfigMap } = config.sso.gitlab;
  const access = config.access[ui];
  return { gitlabUrl: url, gitlabCidrs: cidrs, clientId, clientSecret: GITLAB_CLIENT_SECRET, caConfigMap, users: access?.users ?? [], admins: access?.admins ?? [] };
}

/** How `composePlatform` delivers what it composes. */
export interface ComposeOptions {
  /**
   * Render the GitOps engine's entry points (Flux Kustomizations or Argo CD Applications) that
   * pull the layers. Off for a review environment, which its CI job applies.
   *
   * @default true
   */
  readonly entryPoints?: boolean;
}

/**
 * Composes the platform for one cluster. The only place where components are wired to each
 * other: producers hand out typed handles, consumers take them (and with them the
 * NetworkPolicies for each flow).
 */
export function composePlatform(app: App, config: ClusterConfig, context: PlatformContext, options: ComposeOptions = {}): void {
  const { postgres: pgConfig, minio: minioConfig, mlflow: mlflowConfig, jupyterhub: hubConfig, tensorboard: boardConfig, spark: sparkConfig, airflow: airflowConfig, superset: supersetConfig, vault: vaultConfig } = config.components;
  const withBoard = hubConfig?.enabled && boardConfig?.enabled;
  const loggingConfig = config.components.logging;
  // The shared datasets bucket: notebooks and jobs read and write it, each with a key of its own.
  const [datasetsOwner, ...datasetsWriters] = [hubConfig, sparkConfig, airflowConfig].flatMap((c, i) => (c?.enabled ? [['jupyterhub', 'spark', 'airflow'][i]] : []));
  // Every UI gets its host, TLS and GitLab sign-in here, as the charts below hand them over.
  // The bootstrap installs Envoy Gateway without a GatewayClass; the render makes the class it routes through.
  const gatewayClassController = routingControllerOf(config.bootstrap, config.routing.api) === 'envoy-gateway' ? ENVOY_GATEWAY_CONTROLLER : undefined;
  const access = new AccessLayer(app, 'access', { context, routing: config.routing, sso: config.sso, access: config.access, gatewayClassController });
  const host = (ui: string) => uiHost(config.routing, config.baseDomain, ui);

  const vault = vaultConfig?.enabled
    ? new VaultChart(app, 'vault', {
        context,
        replicas: vaultConfig.replicas,
        storageSize: vaultConfig.storage.size,
        storageClass: vaultConfig.storage.storageClass,
        tlsSecret: vaultConfig.tlsSecret,
        resources: vaultConfig.resources,
      })
    : undefined;
  if (vault) {
    // Every chart created after this receives its credentials from Vault.
    if (config.secrets.backend === 'vault') {
      context.deliverSecretsWithVault({ kvMount: 'secret', pathPrefix: `ml-platform/${config.name}`, allowAgents: (pods) => vault.allowAgents(pods), tls: vault.scheme === 'https' });
    }
    // After the switch: under the Vault backend, its own UI's proxy reads its cookie from Vault.
    access.expose(vault, vault.webUi);
  }

  const oldVersions = minioConfig.keepOldVersions ? { versioning: true, expireNoncurrentDays: minioConfig.keepOldVersions } : {};
  // The buckets copied off site, where the cluster declares an endpoint: artifacts, data, backups.
  const offsite = minioConfig.offsite ? { readers: [OFFSITE_READER] } : {};
  const minio = minioConfig.enabled
    ? new MinioChart(app, 'minio', {
        context,
        mode: minioConfig.mode === 'distributed' ? MinioMode.DISTRIBUTED : MinioMode.STANDALONE,
        replicas: minioConfig.replicas,
        storageSize: minioConfig.storage.size,
        storageClass: minioConfig.storage.storageClass,
        resources: minioConfig.resources,
        buckets: [
          // Artifacts and data keep the versions an overwrite or a delete leaves, for keepOldVersions days.
          ...(mlflowConfig.enabled ? [{ name: 'mlflow', consumer: 'mlflow', ...oldVersions, ...offsite }] : []),
          ...(datasetsOwner ? [{ name: 'datasets', consumer: datasetsOwner, writers: datasetsWriters, ...oldVersions, ...offsite }] : []),
          // Notebooks write training logs; TensorBoard only reads them.
          ...(withBoard ? [{ name: 'tensorboard', consumer: 'jupyterhub', readers: ['tensorboard'] }] : []),
          // Spark jobs write event logs, which the history server reads and expires, and upload
          // their files for the driver to fetch.
          ...(sparkConfig?.enabled ? [{ name: 'spark-events', consumer: 'spark', writers: ['spark-history'] }, { name: 'spark-uploads', consumer: 'spark' }] : []),
          // Airflow keeps task logs; its tasks read and write the datasets with the same key.
          ...(airflowConfig?.enabled ? [{ name: 'airflow-logs', consumer: 'airflow' }] : []),
          // Elasticsearch's snapshot repository.
          ...(loggingConfig?.enabled && loggingConfig.snapshots ? [{ name: 'elasticsearch-snapshots', consumer: 'logging', ...offsite }] : []),
          // pgBackRest's repository: archived WAL and full backups, encrypted by pgBackRest, which expires them.
          ...(pgConfig.enabled && pgConfig.backup ? [{ name: 'postgres-backups', consumer: 'postgres', ...offsite }] : []),
          // Vault's Raft snapshots, expired by MinIO after their retention.
          ...(vaultConfig?.enabled && vaultConfig.snapshots ? [{ name: 'vault-snapshots', consumer: 'vault', expireDays: vaultConfig.snapshots.retention, ...offsite }] : []),
        ],
        consoleHost: host('minio-console'),
      })
    : undefined;
  if (minio) access.expose(minio, minio.webUi);

  if (minio && minioConfig.offsite) minio.addOffsiteMirror(minioConfig.offsite);
  if (vault && vaultConfig?.snapshots && minio) {
    vault.addSnapshots({ bucket: minio.bucket('vault-snapshots'), schedule: backupSchedule(vaultConfig.snapshots.every), uploader: context.images.image(MC_IMAGE) });
  }

  // MinIO first: PostgreSQL's backups go to one of its buckets.
  const postgres = pgConfig.enabled
    ? new PostgresChart(app, 'postgres', {
        context,
        storageSize: pgConfig.storage.size,
        storageClass: pgConfig.storage.storageClass,
        resources: pgConfig.resources,
        databases: [...(mlflowConfig.enabled ? ['mlflow'] : []), ...(hubConfig?.enabled ? ['jupyterhub'] : []), ...(airflowConfig?.enabled ? ['airflow'] : []), ...(supersetConfig?.enabled ? ['superset'] : [])],
        analytics: pgConfig.analytics !== undefined,
        backup:
          pgConfig.backup && minio
            ? {
                bucket: minio.bucket('postgres-backups'),
                schedule: backupSchedule(pgConfig.backup.every),
                retentionDays: Number.parseInt(pgConfig.backup.retention, 10),
                archiveTimeoutSeconds: durationSeconds(pgConfig.backup.archiveTimeout),
              }
            : undefined,
      })
    : undefined;


  // Redis serves the components that cache or queue in it; each gets a database index of its own.
  const redisConfig = config.components.redis;
  const redis = redisConfig?.enabled
    ? new RedisChart(app, 'redis', {
        context,
        storageSize: redisConfig.storage.size,
        storageClass: redisConfig.storage.storageClass,
        resources: redisConfig.resources,
        maxMemory: redisConfig.maxMemory,
        evictionPolicy: redisConfig.evictionPolicy,
        databases: supersetConfig?.enabled ? ['superset-cache', 'superset-queue'] : [],
        queues: supersetConfig?.enabled ? [{ database: 'superset-queue', key: CELERY_QUEUE_KEY }] : [],
      })
    : undefined;

  const mlflow =
    mlflowConfig.enabled && postgres && minio
      ? new MlflowChart(app, 'mlflow', {
          context,
          database: postgres.database('mlflow'),
          artifacts: minio.bucket('mlflow'),
          replicas: mlflowConfig.replicas,
          resources: mlflowConfig.resources,
          externalHost: host('mlflow'),
        })
      : undefined;
  if (mlflow) access.expose(mlflow, mlflow.webUi);

  const hub =
    hubConfig?.enabled && postgres && minio && mlflow
      ? new JupyterHubChart(app, 'jupyterhub', {
          context,
          database: postgres.database('jupyterhub'),
          datasets: minio.bucket('datasets'),
          trainingLogs: withBoard ? minio.bucket('tensorboard') : undefined,
          mlflow: mlflow.tracking,
          signIn: gitlabSignIn(config, 'jupyterhub'),
          externalHost: host('jupyterhub'),
          hubResources: hubConfig.hub.resources,
          proxyResources: hubConfig.proxy.resources,
          culler: { timeoutSeconds: hubConfig.culler.timeout, everySeconds: hubConfig.culler.every },
          home: hubConfig.home,
          profiles: hubConfig.profiles,
          spark: { executor: hubConfig.spark.executors, quota: hubConfig.spark.quota },
        })
      : undefined;
  if (hub) access.expose(hub, hub.webUi);

  if (withBoard && boardConfig && minio) {
    const board = new TensorBoardChart(app, 'tensorboard', {
      context,
      logs: minio.bucket('tensorboard', 'tensorboard'),
      resources: boardConfig.resources,
      syncResources: boardConfig.sync.resources,
      syncIntervalSeconds: boardConfig.sync.interval,
      cacheSize: boardConfig.cacheSize,
    });
    access.expose(board, board.webUi);
  }

  const spark =
    sparkConfig?.enabled && minio
      ? new SparkJobsChart(app, 'spark', {
          context,
          size: { driver: sparkConfig.driver, executors: sparkConfig.executors },
          quota: sparkConfig.quota,
          eventLogs: minio.bucket('spark-events'),
          uploads: minio.bucket('spark-uploads'),
        })
      : undefined;
  if (sparkConfig?.enabled && minio) {
    const history = new SparkHistoryChart(app, 'spark-history', {
      context,
      eventLogs: minio.bucket('spark-events', 'spark-history'),
      retentionDays: sparkConfig.eventLogs.retention,
      resources: sparkConfig.historyServer.resources,
      cacheSize: sparkConfig.historyServer.cacheSize,
    });
    access.expose(history, history.webUi);
  }

  if (airflowConfig?.enabled && postgres && minio) {
    const { repository, syncInterval } = airflowConfig.dags;
    const airflow = new AirflowChart(app, 'airflow', {
      context,
      database: postgres.database('airflow'),
      logs: minio.bucket('airflow-logs'),
      datasets: minio.bucket('datasets', 'airflow'),
      mlflow: mlflow?.tracking,
      spark: spark?.submission,
      analytics: pgConfig.analytics?.writers.includes('airflow') ? postgres.analytics('write') : pgConfig.analytics?.readers.includes('airflow') ? postgres.analytics('read') : undefined,
      dags: { ...repository, syncIntervalSeconds: syncInterval, cidrs: config.sso.gitlab.cidrs, caConfigMap: config.sso.gitlab.caConfigMap },
      signIn: gitlabSignIn(config, 'airflow'),
      externalHost: host('airflow'),
      apiServer: airflowConfig.apiServer,
      executionApi: airflowConfig.executionApi,
      scheduler: airflowConfig.scheduler,
      dagProcessor: airflowConfig.dagProcessor,
      triggerer: airflowConfig.triggerer,
      tasks: airflowConfig.tasks,
    });
    spark?.allowSubmitter(airflow.tasks.serviceAccount, 'airflow');
    access.expose(airflow, airflow.webUi);
  }

  if (supersetConfig?.enabled && postgres && redis) {
    const superset = new SupersetChart(app, 'superset', {
      context,
      database: postgres.database('superset'),
      analytics: postgres.analytics('read'),
      cache: redis.database('superset-cache'),
      queue: redis.database('superset-queue'),
      signIn: gitlabSignIn(config, 'superset'),
      editors: config.access.superset?.editors,
      web: supersetConfig.web,
      worker: supersetConfig.worker,
      beat: supersetConfig.beat,
      queryLogRetentionDays: supersetConfig.queryLogRetention,
    });
    access.expose(superset, superset.webUi);
  }

  const dashConfig = config.components.dash;
  if (dashConfig?.enabled) {
    const dash = new DashChart(app, 'dash', { context, apps: dashConfig.apps, analytics: pgConfig.analytics?.readers.includes('dash') && postgres ? postgres.analytics('read') : undefined });
    for (const a of dash.apps.values()) access.expose(dash, a.webUi);
  }

  const servingConfig = config.components.serving;
  if (servingConfig?.enabled && mlflow) {
    const serving = new ServingChart(app, 'serving', { context, models: servingConfig.models, mlflow: mlflow.tracking, notebooks: hub?.notebooks.servers });
    for (const api of serving.services.values()) access.expose(serving, api.webUi);
  }

  const clusterIssuer = config.routing.tls.clusterIssuer;
  if (loggingConfig?.enabled && clusterIssuer) {
    const { elasticsearch: es, kibana, shipper, snapshots } = loggingConfig;
    const logging = new LoggingChart(app, 'logging', {
      context,
      retentionDays: loggingConfig.retention,
      elasticsearch: { replicas: es.replicas, indexReplicas: es.indexReplicas, heap: es.heap, storageSize: es.storage.size, storageClass: es.storage.storageClass, resources: es.resources, mmap: es.mmap === 'nodeSysctl' },
      kibana: { replicas: kibana.replicas, resources: kibana.resources, externalHost: host('kibana') },
      clusterIssuer,
      snapshots: snapshots && minio ? { bucket: minio.bucket('elasticsearch-snapshots'), schedule: snapshots.schedule, retentionDays: snapshots.retention } : undefined,
    });
    access.expose(logging, logging.webUi);
    new LogShipperChart(app, 'log-shipper', { context, elasticsearch: logging.endpoint, clusterIssuer, bufferSize: shipper.buffer.size, resources: shipper.resources });
  }

  // After every chart that declares a watched model: the monitoring stack renders their rules.
  const monitoringConfig = config.components.monitoring;
  if (monitoringConfig?.enabled) {
    const { prometheus, alertmanager, grafana } = monitoringConfig;
    const monitoring = new MonitoringChart(app, 'monitoring', {
      context,
      prometheus: {
        replicas: prometheus.replicas,
        storageSize: prometheus.storage.size,
        storageClass: prometheus.storage.storageClass,
        retention: prometheus.retention,
        retentionSize: prometheus.retentionSize,
        resources: prometheus.resources,
      },
      alertmanager: { ...alertmanager, receivers: receiversFromConfig(alertmanager.receivers) },
      grafana: { ...grafana, signIn: gitlabSignIn(config, 'grafana') },
      hosts: { grafana: host('grafana'), prometheus: host('prometheus'), alertmanager: host('alertmanager') },
    });
    for (const ui of monitoring.webUis) access.expose(monitoring, ui);
    new NodeExporterChart(app, 'node-exporter', { context });
  }

  // Components that use no other component's handles build themselves from their section.
  for (const component of PLATFORM_COMPONENTS) {
    const section = (config.components as Record<string, { enabled: boolean } | undefined>)[component.key];
    if (component.build && section?.enabled) component.build(app, { context, config: section as never });
  }

  // Last of the UIs: the home page lists every other one.
  const homeConfig = config.components.home;
  if (homeConfig?.enabled) {
    const home = new HomeChart(app, 'home', { context, page: homePage(config, access.uis), replicas: homeConfig.replicas, resources: homeConfig.resources });
    access.expose(home, home.webUi);
  }

  const { engine, repository, interval } = config.gitops;
  if (config.components.gitlabAgent.enabled) {
    const receiver = FLUX_CONTROLLER_LABELS.find((l) => l.app === 'notification-controller');
    new GitlabAgentChart(app, GITLAB_AGENT_NAMESPACE, {
      context,
      config: config.components.gitlabAgent,
      flux: engine === 'flux' && receiver ? { namespace: FLUX_NAMESPACE, podLabels: receiver } : undefined,
      reviewProjects: config.review ? reviewProjectsOf(config.review, config.gitops.repository.url) : undefined,
    });
  }

  // Delivery comes last: its entry points cover every layer the charts above render into.
  // The encrypted Secrets come from clusters/<cluster>/secrets/, not from a chart.
  if (options.entryPoints === false) return;
  const fileLayers = config.secrets.backend === 'sops' ? [Layer.SECRETS] : [];
  if (engine === 'flux') new FluxSyncChart(app, 'flux', { context, repository, interval, fileLayers, sopsLayers: fileLayers });
  else new ArgoCdSyncChart(app, 'argocd', { context, repository, fileLayers });
}

/**
 * Where the home page links the docs/ folder: `components.home.docsUrl`, or the repository's
 * docs/ on its branch as GitLab shows files (an https repository URL only).
 */
export function docsBaseUrl(config: ClusterConfig): string | undefined {
  const configured = config.components.home?.docsUrl;
  if (configured) return configured;
  const { url, branch } = config.gitops.repository;
  return url.startsWith('https://') ? `${url.replace(/\.git$/, '')}/-/blob/${branch}/docs/` : undefined;
}

/** What the home page of `config`'s cluster shows, from the UIs the access layer exposed. */
function homePage(config: ClusterConfig, uis: readonly ExposedUi[]): HomePageModel {
  const docs = docsBaseUrl(config);
  const byName = new Map(uis.map((u) => [u.ui.name, u]));
  const open = (name: string, path = '/'): HomeLink | undefined => {
    const u = byName.get(name);
    return u ? { label: `Open ${name}`, url: `https://${u.host}${path}` } : undefined;
  };
  const steps: [string, string, string][] = [
    ['jupyterhub', 'Start a notebook server', 'Sign in to JupyterHub and pick a server size. Your home folder stays between sessions; MLflow, the shared datasets bucket and Spark are set up in every notebook.'],
    ['mlflow', 'Track your experiments', 'In a notebook, mlflow.start_run() logs to this cluster\'s MLflow (MLFLOW_TRACKING_URI is set). Compare runs and register models there.'],
    ['airflow', 'Schedule a pipeline', 'Add a DAG to the DAG repository: Airflow picks it up, runs each task in a pod of its own and keeps its logs.'],
    ['superset', 'Explore the analytics data', 'SQL Lab and dashboards over the analytics database, read-only.'],
  ];
  const firstSteps: FirstStep[] = steps.flatMap(([name, title, text]) => {
    const link = open(name);
    return link ? [{ title, text, link }] : [];
  });
  const status = [
    byName.has('grafana') ? { label: 'Platform overview (Grafana)', url: `https://${byName.get('grafana')?.host}/d/${OVERVIEW_DASHBOARD_UID}` } : undefined,
    byName.has('alertmanager') ? { label: 'Firing alerts (Alertmanager)', url: `https://${byName.get('alertmanager')?.host}/` } : undefined,
    byName.has('kibana') ? { label: 'Logs (Kibana)', url: `https://${byName.get('kibana')?.host}/app/discover` } : undefined,
  ].filter((l): l is HomeLink => l !== undefined);
  return {
    cluster: config.name,
    tier: config.tier,
    kubernetesVersion: config.kubernetesVersion,
    tools: uis.map(({ ui, host, users, admins }) => ({
      name: ui.name,
      purpose: ui.purpose,
      url: `https://${host}/`,
      version: ui.version ?? ui.endpoint.pods.identity.version,
      users,
      admins,
      docs: docs && ui.docs ? `${docs}${ui.docs}` : undefined,
    })),
    firstSteps,
    status,
    docsIndex: docs ? docs.replace(/docs\/$/, 'README.md') : undefined,
  };
}

/** What the app of cluster `cluster` renders. */
export function platformRenderSpec(cluster: string): ClusterRenderSpec<ClusterConfig> {
  return { cluster, schema: clusterConfigSchema, images: PLATFORM_IMAGES, compose: composePlatform, bootstrap: bootstrapOf, jobs: (config, header) => reviewJobs(config, enabledComponents(config.components), header) };
}

/** The cluster's bootstrap module: what its render assumes is installed, from the same cluster.yaml. */
export function bootstrapOf(config: ClusterConfig, header: string): RenderedBootstrap {
  const { gitops, routing, bootstrap, components } = config;
  const agent = components.gitlabAgent;
  return renderBootstrapModule({
    cluster: config.name,
    tier: config.tier,
    header,
    charts: new ChartCatalog({ known: BOOTSTRAP_CHARTS, mirror: bootstrap.chartMirror, pins: bootstrap.charts }),
    registryMirrors: config.registryMirrors,
    gitops: {
      engine: gitops.engine,
      namespace: gitops.engine === 'flux' ? FLUX_NAMESPACE : ARGOCD_NAMESPACE,
      repositoryUrl: gitops.repository.url,
      credentialsSecret: gitops.repository.credentialsSecret,
    },
    routing: { controller: routingControllerOf(bootstrap, routing.api), namespace: routing.controller.namespace, className: routing.className },
    certManager: routing.tls.clusterIssuer !== undefined,
    sopsAgeKey: config.secrets.backend === 'sops' && gitops.engine === 'flux',
    gitlab: { url: config.sso.gitlab.url, project: gitlabProjectPath(gitops.repository.url) },
    agent: agent.enabled ? { name: agent.name ?? config.name, namespace: GITLAB_AGENT_NAMESPACE, tokenSecret: GITLAB_AGENT_TOKEN_SECRET } : undefined,
  });
}

/** The JSON Schema of cluster.yaml (what users write, so defaults are optional), as file text. */
export function clusterJsonSchema(): string {
  const schema = z.toJSONSchema(clusterConfigSchema, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, title: 'ML platform cluster configuration', $id: 'cluster.schema.json' }, null, 2)}\n`;
}
