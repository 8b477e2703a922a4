import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadClusterConfig } from '@ml-platform/core';
import { ARGOCD_COMPONENT_LABELS, ARGOCD_NAMESPACE } from '@ml-platform/argocd';
import { FLUX_CONTROLLER_LABELS, FLUX_NAMESPACE } from '@ml-platform/flux';
import { platformRenderSpec } from '@ml-platform/platform';
import { applyExceptions, loadExceptions } from './exceptions';
import { Failure, loadManifests, ManifestDoc, yamlFiles, describeObject } from './model';
import { checkMonitoring, hasMonitoring, MonitoringTools } from './monitoring';
import { checkPolicy } from './policy';
import { checkReferences, ExternalObjects, NO_EXTERNALS } from './references';
import { missingTools, runKubeconform, runKubectlValidate, ToolPaths } from './tools';

export const LAYERS = ['yaml', 'schema', 'api-schema', 'policy', 'references', 'monitoring'] as const;

/** What to validate and how. */
export interface ValidateOptions {
  readonly root: string;
  readonly tools: ToolPaths;
  /** Files or folders; none means every cluster under dist-manifests/. */
  readonly paths: string[];
  /** Treat the given paths as this cluster's (its config supplies version and externals). */
  readonly cluster?: string;
  /** @default '1.28' for manifests that belong to no cluster */
  readonly kubernetesVersion?: string;
  /** @default tools/validate/exceptions.yaml */
  readonly exceptionsFile?: string;
  /**
   * Run only these layers (`yaml` always runs: the others need the parsed documents).
   *
   * @default - every layer
   */
  readonly layers?: readonly (typeof LAYERS)[number][];
}

export interface ValidateResult {
  readonly docs: ManifestDoc[];
  readonly failures: Failure[];
  readonly excepted: number;
  readonly clusters: string[];
}

interface ClusterFacts {
  readonly kubernetesVersion: string;
  readonly external: ExternalObjects;
}

function clusterFacts(root: string, cluster: string): ClusterFacts {
  const file = join(root, 'clusters', cluster, 'cluster.yaml');
  const config = loadClusterConfig(platformRenderSpec(cluster), file, `clusters/${cluster}/cluster.yaml`);
  return {
    kubernetesVersion: config.kubernetesVersion,
    external: {
      secrets: config.external.secrets,
      configMaps: config.external.configMaps,
      storageClasses: [config.storageClasses.default, ...config.storageClasses.additional],
      namespaces: [
        { name: config.network.dnsNamespace, podLabels: [config.network.dnsPodLabels] },
        // The GitOps operator's namespace, installed at bootstrap.
        config.gitops.engine === 'flux'
          ? { name: FLUX_NAMESPACE, podLabels: FLUX_CONTROLLER_LABELS }
          : { name: ARGOCD_NAMESPACE, podLabels: ARGOCD_COMPONENT_LABELS },
      ],
    },
  };
}

/** Runs every layer over the manifests; returns failures that no reviewed exception covers. */
export function validateManifests(options: ValidateOptions): ValidateResult {
  const { root } = options;
  const everything = options.paths.length === 0;
  const paths = everything
    ? readdirSync(join(root, 'dist-manifests')).filter((d) => !d.startsWith('.') && existsSync(join(root, 'dist-manifests', d, 'inventory.json'))).map((d) => join(root, 'dist-manifests', d))
    : options.paths;
  const files = [...new Set(paths.flatMap((p) => yamlFiles(p)))];
  const { docs, failures } = loadManifests(files, root, options.cluster);

  const groups = new Map<string, ManifestDoc[]>();
  for (const d of docs) groups.set(d.cluster ?? '', [...(groups.get(d.cluster ?? '') ?? []), d]);
  const facts = new Map<string, ClusterFacts>();
  for (const cluster of groups.keys()) {
    facts.set(cluster, cluster ? clusterFacts(root, cluster) : { kubernetesVersion: options.kubernetesVersion ?? '1.28', external: NO_EXTERNALS });
  }
  const missing = missingTools(options.tools, [...new Set([...facts.values()].map((f) => f.kubernetesVersion))], hasMonitoring(docs));
  const monitoring: MonitoringTools = { promtool: join(options.tools.bin, 'promtool'), amtool: join(options.tools.bin, 'amtool'), ruleTests: join(root, 'libs', 'monitoring', 'rule-tests') };
  if (missing.length > 0) {
    throw new Error(`validation tools or schemas are missing (${missing.join(', ')}); run 'bash tools/install-tools.sh' (needs Go and the Go module proxy)`);
  }
  const runs = (layer: (typeof LAYERS)[number]) => !options.layers || options.layers.includes(layer);
  for (const [cluster, group] of groups) {
    const { kubernetesVersion, external } = facts.get(cluster) as ClusterFacts;
    if (runs('schema')) failures.push(...runKubeconform(options.tools, group, kubernetesVersion));
    if (runs('api-schema')) failures.push(...runKubectlValidate(options.tools, group, kubernetesVersion));
    if (runs('policy')) failures.push(...checkPolicy(group));
    if (runs('references')) failures.push(...checkReferences(group, external));
    if (runs('monitoring')) failures.push(...checkMonitoring(group, monitoring));
  }

  const exceptionsFile = options.exceptionsFile ?? join(root, 'tools', 'validate', 'exceptions.yaml');
  const applied = applyExceptions(failures, loadExceptions(exceptionsFile));
  const standing = [...applied.failures];
  if (everything && !options.layers) {
    for (const e of applied.unused) {
      standing.push({
        layer: 'policy', rule: 'exceptions/stale', file: exceptionsFile, object: '-', field: 'exceptions',
        message: `exception for ${e.rule} (${[e.cluster, e.namespace, e.kind, e.name].filter(Boolean).join(' ') || 'everything'}) matches nothing`,
        hint: 'remove the entry: the exception is no longer needed',
      });
    }
  }
  standing.sort((a, b) => (`${a.cluster}${a.file}${a.object}${a.field}${a.rule}` < `${b.cluster}${b.file}${b.object}${b.field}${b.rule}` ? -1 : 1));
  return { docs, failures: standing, excepted: applied.excepted, clusters: [...groups.keys()].filter(Boolean).sort() };
}

/** The objects that were checked, for reports. */
export function checkedObjects(docs: ManifestDoc[]) {
  return docs.map((d) => ({ cluster: d.cluster, file: d.file, object: describeObject(d.obj) }));
}
