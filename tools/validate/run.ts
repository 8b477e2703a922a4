import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import pLimit, { LimitFunction } from 'p-limit';
import { digestsRequired, loadClusterConfig } from '@ml-platform/core';
import { ARGOCD_COMPONENT_LABELS, ARGOCD_NAMESPACE } from '@ml-platform/argocd';
import { FLUX_CONTROLLER_LABELS, FLUX_NAMESPACE } from '@ml-platform/flux';
import { platformRenderSpec } from '@ml-platform/platform';
import { applyExceptions, loadExceptions } from './exceptions';
import { Failure, loadManifests, ManifestDoc, REVIEW_ROOT, reviewOf, yamlFiles, describeObject } from './model';
import { defaultTargets } from './targets';
import { checkAccess, checkSignInConfigs } from './access';
import { checkShipperConfigs } from './logging';
import { checkEnvironmentSecrets, loadEnvironmentSecrets } from './environment-secrets';
import { checkImageDigests } from './image-digests';
import { checkGatewayBackends, checkPlainText, loadPlainTextServices } from './plain-text';
import { checkingCode, digest, filesDigest, ResultCache } from './cache';
import { checkHubConfigs, checkNotebookServerTls, hasHubConfigs, hubChecker, SpawnedServer } from './jupyterhub';
import { templatedPods } from './templated-pods';
import { checkMonitoring, hasMonitoring, MonitoringTools } from './monitoring';
import { ToolResult } from './programs';
import { checkPolicy } from './policy';
import { checkReferences, ExternalObjects, NO_EXTERNALS } from './references';
import { BOOTSTRAP_MODULE, checkBootstrapModule } from './bootstrap';
import { checkModuleCharts } from './charts';
import { DocumentChecker, Finding, kubeconform, kubectlValidate, located, missingTools, stagedObject, ToolPaths } from './tools';

export const LAYERS = ['yaml', 'schema', 'api-schema', 'policy', 'references', 'access', 'monitoring', 'jupyterhub', 'logging', 'bootstrap'] as const;

/** What to validate and how. */
export interface ValidateOptions {
  readonly root: string;
  readonly tools: ToolPaths;
  /** Files or folders; none means every cluster under dist-manifests/. */
  readonly paths: string[];
  /** Treat the given paths as this cluster's (its config supplies version and externals). */
  readonly cluster?: string;
  /**
   * Where `clusters/<cluster>/cluster.yaml` is read from.
   *
   * @default - the root
   */
  readonly configRoot?: string;
  /** @default '1.28' for manifests that belong to no cluster */
  readonly kubernetesVersion?: string;
  /** @default tools/validate/exceptions.yaml */
  readonly exceptionsFile?: string;
  /**
   * The reviewed secrets in environment variables, with their reasons.
   *
   * @default tools/validate/environment-secrets.yaml
   */
  readonly environmentSecretsFile?: string;
  /**
   * The in-cluster Services reviewed to be reached in plain text, with their reasons.
   *
   * @default tools/validate/plain-text-services.yaml
   */
  readonly plainTextServicesFile?: string;
  /**
   * Run only these layers (`yaml` always runs: the others need the parsed documents).
   *
   * @default - every layer
   */
  readonly layers?: readonly (typeof LAYERS)[number][];
  /**
   * Where verdicts are kept by content between runs; `false` checks everything afresh.
   *
   * @default <root>/.cache/validate
   */
  readonly cacheDir?: string | false;
}

export interface ValidateResult {
  readonly docs: ManifestDoc[];
  readonly failures: Failure[];
  readonly excepted: number;
  readonly clusters: string[];
  readonly stats: ValidateStats;
  /** Bootstrap charts the check could not render here (no source the scripts reach), as `<cluster>: <chart> <version>`. */
  readonly uncheckedCharts: string[];
}

interface ClusterFacts {
  readonly kubernetesVersion: string;
  readonly external: ExternalObjects;
  /** Every image must carry a digest (docs/images.md). */
  readonly digestsRequired: boolean;
  /** Credentials must not travel in plain text (tier stage and prod). */
  readonly tlsRequired: boolean;
  /** Upstream registry to mirror prefix; an air-gapped cluster has some. */
  readonly registryMirrors: Readonly<Record<string, string>>;
}

function clusterFacts(configRoot: string, group: string, root: string): ClusterFacts {
  const review = reviewOf(group);
  if (review) {
    // A review's Secrets are all made by its job when it is applied: none is rendered. It is
    // applied beside its base cluster, whose render holds the ServiceAccount that applies it.
    const base = clusterFacts(configRoot, review.cluster, root);
    const inventory = JSON.parse(readFileSync(join(root, REVIEW_ROOT, review.cluster, review.slug, 'inventory.json'), 'utf8')) as { secrets: { name: string }[] };
    const serviceAccounts = yamlFiles(join(root, 'dist-manifests', review.cluster))
      .filter((f) => basename(f).startsWith('serviceaccount-'))
      .map((f) => parse(readFileSync(f, 'utf8')) as { metadata: { namespace: string; name: string } })
      .map((sa) => `${sa.metadata.namespace}/${sa.metadata.name}`);
    return { ...base, external: { ...base.external, secrets: inventory.secrets.map((s) => s.name), serviceAccounts } };
  }
  const cluster = group;
  const file = join(configRoot, 'clusters', cluster, 'cluster.yaml');
  const config = loadClusterConfig(platformRenderSpec(cluster), file, `clusters/${cluster}/cluster.yaml`);
  return {
    kubernetesVersion: config.kubernetesVersion,
    digestsRequired: digestsRequired(config),
    tlsRequired: config.tier !== 'dev',
    registryMirrors: config.registryMirrors,
    external: {
      secrets: config.external.secrets,
      configMaps: config.external.configMaps,
      storageClasses: [config.storageClasses.default, ...config.storageClasses.additional],
      namespaces: [
        { name: config.network.dnsNamespace, podLabels: [config.network.dnsPodLabels] },
        // The gateway or ingress controller, installed at bootstrap.
        { name: config.routing.controller.namespace, podLabels: [config.routing.controller.podLabels] },
        // The GitOps operator's namespace, installed at bootstrap.
        config.gitops.engine === 'flux'
          ? { name: FLUX_NAMESPACE, podLabels: FLUX_CONTROLLER_LABELS }
          : { name: ARGOCD_NAMESPACE, podLabels: ARGOCD_COMPONENT_LABELS },
      ],
    },
  };
}

/** How much of the work the cache saved. */
export interface ValidateStats {
  /** Distinct objects the schema tools checked in this run. */
  readonly checked: number;
  /** Schema verdicts (object × layer) taken from the cache. */
  readonly reused: number;
}

/** Objects per process below which splitting a schema check costs more than it saves. */
const MIN_CHUNK = 100;

interface DocumentsOutcome {
  readonly failures: Failure[];
  readonly checked: number;
  readonly reused: number;
}

/**
 * One document layer over documents of one Kubernetes version: verdicts come from the cache by
 * content, and the objects not seen before (each distinct one once) are checked in parallel chunks.
 */
async function checkDocuments(checker: DocumentChecker, docs: ManifestDoc[], kubernetesVersion: string, cache: ResultCache, limit: LimitFunction): Promise<DocumentsOutcome> {
  const scope = cache.scope<Finding[]>(checker.layer, checker.fingerprint(kubernetesVersion));
  const failures: Failure[] = [];
  const unseen = new Map<string, ManifestDoc[]>();
  let reused = 0;
  for (const doc of docs) {
    const key = digest(JSON.stringify(stagedObject(doc)));
    const known = scope.get(key);
    if (known) {
      failures.push(...known.map((f) => located(checker.layer, doc, f)));
      reused++;
    } else {
      unseen.set(key, [...(unseen.get(key) ?? []), doc]);
    }
  }
  const keys = [...unseen.keys()];
  const chunks = Math.max(1, Math.min(availableParallelism(), Math.floor(keys.length / MIN_CHUNK)));
  const size = Math.ceil(keys.length / chunks);
  const slices = Array.from({ length: chunks }, (_, i) => keys.slice(i * size, (i + 1) * size)).filter((slice) => slice.length > 0);
  await Promise.all(
    slices.map((slice) =>
      limit(async () => {
        const { byDoc, errors } = await checker.check(slice.map((k) => (unseen.get(k) as ManifestDoc[])[0]), kubernetesVersion);
        failures.push(...errors);
        for (const key of slice) {
          const [first, ...same] = unseen.get(key) as ManifestDoc[];
          const findings = byDoc.get(first);
          if (!findings) continue;
          scope.set(key, findings);
          for (const doc of [first, ...same]) failures.push(...findings.map((f) => located(checker.layer, doc, f)));
        }
      }),
    ),
  );
  return { failures, checked: keys.length, reused };
}

/** Runs every layer over the manifests; returns failures that no reviewed exception covers. */
export async function validateManifests(options: ValidateOptions): Promise<ValidateResult> {
  const { root } = options;
  const everything = options.paths.length === 0;
  const paths = everything ? defaultTargets(root) : options.paths;
  const cache = new ResultCache(options.cacheDir === false ? undefined : (options.cacheDir ?? join(root, '.cache', 'validate')));
  const files = [...new Set(paths.flatMap((p) => yamlFiles(p)))];
  const { docs, failures } = loadManifests(files, root, options.cluster, cache.scope('parsed', digest(checkingCode())));

  const groups = new Map<string, ManifestDoc[]>();
  for (const d of docs) groups.set(d.cluster ?? '', [...(groups.get(d.cluster ?? '') ?? []), d]);
  const facts = new Map<string, ClusterFacts>();
  for (const cluster of groups.keys()) {
    facts.set(cluster, cluster ? clusterFacts(options.configRoot ?? root, cluster, root) : { kubernetesVersion: options.kubernetesVersion ?? '1.28', external: NO_EXTERNALS, digestsRequired: false, tlsRequired: false, registryMirrors: {} });
  }
  const missing = missingTools(options.tools, [...new Set([...facts.values()].map((f) => f.kubernetesVersion))], hasMonitoring(docs));
  const monitoring: MonitoringTools = { promtool: join(options.tools.bin, 'promtool'), amtool: join(options.tools.bin, 'amtool'), ruleTests: join(root, 'libs', 'monitoring', 'rule-tests') };
  if (missing.length > 0) {
    throw new Error(`validation tools or schemas are missing (${missing.join(', ')}); run 'bash tools/install-tools.sh' (needs Go and the Go module proxy)`);
  }
  const runs = (layer: (typeof LAYERS)[number]) => !options.layers || options.layers.includes(layer);
  // promtool, amtool, oauth2-proxy and checker results, by tool build, arguments and staged files.
  const programScope = cache.scope<ToolResult>('programs', digest(checkingCode()));

  // First what other programs would create (JupyterHub's spawner, Spark, Airflow, from the
  // rendered templates): those objects join their cluster's documents, and every other layer
  // judges them too.
  const addDocs = (group: ManifestDoc[], added: ManifestDoc[]) => {
    group.push(...added);
    docs.push(...added);
  };
  for (const group of groups.values()) addDocs(group, templatedPods(group));
  const notebookServers = new Map<ManifestDoc[], SpawnedServer[]>();
  if (runs('jupyterhub') && hasHubConfigs(docs)) {
    const checker = await hubChecker(root);
    const checked = await Promise.all([...groups.values()].map(async (group) => ({ group, ...(await checkHubConfigs(group, checker, programScope)) })));
    for (const { group, failures: found, spawned, servers } of checked) {
      failures.push(...found);
      addDocs(group, spawned);
      notebookServers.set(group, servers);
    }
  }

  // The programs run side by side; the in-process layers run while they do.
  const limit = pLimit(availableParallelism());
  const byVersion = new Map<string, ManifestDoc[]>();
  for (const [cluster, group] of groups) {
    const { kubernetesVersion } = facts.get(cluster) as ClusterFacts;
    byVersion.set(kubernetesVersion, [...(byVersion.get(kubernetesVersion) ?? []), ...group]);
  }
  const checkers = [kubeconform(options.tools), kubectlValidate(options.tools)].filter((c) => runs(c.layer));
  const documentLayers = checkers.flatMap((checker) => [...byVersion].map(([version, group]) => checkDocuments(checker, group, version, cache, limit)));
  const monitoringLayer = runs('monitoring') ? [...groups.values()].map((group) => limit(() => checkMonitoring(group, monitoring, programScope))) : [];
  const signInLayer = runs('access') ? [...groups.values()].map((group) => limit(() => checkSignInConfigs(group, join(options.tools.bin, 'oauth2-proxy'), programScope))) : [];
  const loggingLayer = runs('logging') ? [...groups.values()].map((group) => limit(() => checkShipperConfigs(group, join(options.tools.bin, 'otelcol-logs'), programScope))) : [];
  // Each cluster's bootstrap module, loaded by tofu, and the charts it installs, rendered by helm
  // with its values and judged by the schema layers against the cluster's minor.
  const uncheckedCharts: string[] = [];
  const chartTools = (cluster: string) => ({
    helm: join(options.tools.bin, 'helm'),
    sources: options.tools.charts,
    validate: async (dir: string, layers: readonly ('yaml' | 'schema' | 'api-schema')[]) => (await validateManifests({ ...options, paths: [dir], cluster, layers, cacheDir: false })).failures,
  });
  // Verdicts kept by the module's text, the cluster's facts and the builds of tofu, helm, the
  // chart sources and the schema tools: a re-run after an unrelated change renders nothing.
  const bootstrapScope = cache.scope<{ failures: Failure[]; unchecked: string[] }>(
    'bootstrap',
    filesDigest(...['.tofu.stamp', '.helm.version', '.kubeconform.version', '.kubectl-validate.version'].map((f) => join(options.tools.bin, f)), join(options.tools.charts, '.version')),
  );
  const bootstrapLayer =
    runs('bootstrap') && everything
      ? [...groups.keys()].filter(Boolean).map((cluster) =>
          limit(async () => {
            const module = join(root, 'dist-manifests', cluster, BOOTSTRAP_MODULE);
            if (!existsSync(module)) return [];
            const text = readFileSync(module, 'utf8');
            const { kubernetesVersion, registryMirrors } = facts.get(cluster) as ClusterFacts;
            const key = digest(cluster, text, kubernetesVersion, JSON.stringify(registryMirrors));
            let verdict = bootstrapScope.get(key);
            if (!verdict) {
              const charts = await checkModuleCharts(cluster, text, { kubernetesVersion, mirrors: registryMirrors }, chartTools(cluster));
              verdict = { failures: [...(await checkBootstrapModule(root, cluster, join(options.tools.bin, 'tofu'))), ...charts.failures], unchecked: charts.unchecked };
              bootstrapScope.set(key, verdict);
            }
            uncheckedCharts.push(...verdict.unchecked.map((c) => `${cluster}: ${c}`));
            return verdict.failures;
          }),
        )
      : [];
  const environmentSecretsFile = options.environmentSecretsFile ?? join(root, 'tools', 'validate', 'environment-secrets.yaml');
  const environmentSecrets = loadEnvironmentSecrets(environmentSecretsFile);
  const usedEnvironmentSecrets = new Set<string>();
  const plainTextServicesFile = options.plainTextServicesFile ?? join(root, 'tools', 'validate', 'plain-text-services.yaml');
  const plainTextServices = loadPlainTextServices(plainTextServicesFile);
  const usedPlainText = new Set<string>();
  for (const [cluster, group] of groups) {
    const { external, digestsRequired: needsDigests, tlsRequired } = facts.get(cluster) as ClusterFacts;
    if (runs('policy')) failures.push(...checkPolicy(group), ...checkEnvironmentSecrets(group, environmentSecrets, usedEnvironmentSecrets));
    if (runs('policy') && needsDigests) failures.push(...checkImageDigests(group, cluster));
    if (runs('policy') && tlsRequired) {
      failures.push(...checkPlainText(group, plainTextServices, usedPlainText), ...checkGatewayBackends(group), ...checkNotebookServerTls(group, notebookServers.get(group) ?? []));
    }
    if (runs('access')) failures.push(...checkAccess(group));
    if (runs('references')) failures.push(...checkReferences(group, external));
  }
  const outcomes = await Promise.all(documentLayers);
  for (const found of await Promise.all([...monitoringLayer, ...signInLayer, ...loggingLayer, ...bootstrapLayer])) failures.push(...found);
  for (const o of outcomes) failures.push(...o.failures);
  cache.save();

  const exceptionsFile = options.exceptionsFile ?? join(root, 'tools', 'validate', 'exceptions.yaml');
  const applied = applyExceptions(failures, loadExceptions(exceptionsFile));
  const standing = [...applied.failures];
  if (everything && !options.layers) {
    for (const entry of [...environmentSecrets.keys()].filter((e) => !usedEnvironmentSecrets.has(e))) {
      standing.push({
        layer: 'policy', rule: 'secrets/environment-stale', file: environmentSecretsFile, object: '-', field: entry,
        message: `no rendered container passes a Secret in ${entry} any more`,
        hint: 'remove the entry: the secret moved to a file, or its program is gone',
      });
    }
    for (const entry of [...plainTextServices.keys()].filter((e) => !usedPlainText.has(e))) {
      standing.push({
        layer: 'policy', rule: 'tls/plain-text-stale', file: plainTextServicesFile, object: '-', field: entry,
        message: `no stage or prod client reaches ${entry} in plain text any more`,
        hint: 'remove the entry: the Service speaks TLS now, or is gone',
      });
    }
    // An exception for one cluster is judged only where that cluster was validated (a workspace
    // may hold only some of the clusters, as the benchmark's does).
    for (const e of applied.unused.filter((x) => !x.cluster || groups.has(x.cluster))) {
      standing.push({
        layer: 'policy', rule: 'exceptions/stale', file: exceptionsFile, object: '-', field: 'exceptions',
        message: `exception for ${e.rule} (${[e.cluster, e.namespace, e.kind, e.name].filter(Boolean).join(' ') || 'everything'}) matches nothing`,
        hint: 'remove the entry: the exception is no longer needed',
      });
    }
  }
  standing.sort(byPlace);
  return {
    docs,
    failures: standing,
    excepted: applied.excepted,
    clusters: [...groups.keys()].filter(Boolean).sort(),
    stats: { checked: outcomes.reduce((n, o) => n + o.checked, 0), reused: outcomes.reduce((n, o) => n + o.reused, 0) },
    uncheckedCharts: uncheckedCharts.sort(),
  };
}

/** Failures in a stable order whatever order the checks finished in. */
function byPlace(a: Failure, b: Failure): number {
  const key = (f: Failure) => [f.cluster ?? '', f.file, f.object, f.field, f.rule, f.layer, f.message].join('\u0000');
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

/** The objects that were checked, for reports. */
export function checkedObjects(docs: ManifestDoc[]) {
  return docs.map((d) => ({ cluster: d.cluster, file: d.file, object: describeObject(d.obj) }));
}
