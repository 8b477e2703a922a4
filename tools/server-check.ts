// npm run test:server [-- <file or folder> ...] [--cluster <name>] [--kubernetes-version <minor>]
// Starts etcd and kube-apiserver on loopback and server-side applies every object with
// dryRun=All and strict field validation; Namespaces and CRDs are created for real first. It
// does so on each API server tools/install-integration.sh builds (the oldest and the newest
// supported minor), so the render stays on APIs that every supported version serves.
// One line per failure; exit 1 on any. Everything it started is stopped, even on interrupt.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { findWorkspaceRoot } from '@ml-platform/core';
import { apiServerBuilds, ControlPlane } from './server/control-plane';
import { bootstrapCrds, BOOTSTRAP_NAMESPACES, dryRun, installBootstrap } from './server/dry-run';
import { checkHubConfigs, hasHubConfigs, hubChecker, isKubeSpawnerDeprecation } from './validate/jupyterhub';
import { templatedPods } from './validate/templated-pods';
import { Failure, kubernetesMinor, loadManifests, ManifestDoc, yamlFiles } from './validate/model';
import { formatFailure } from './validate/report';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadClusterConfig } from '@ml-platform/core';
import { platformRenderSpec } from '@ml-platform/platform';
import { BOOTSTRAP_MODULE } from './validate/bootstrap';
import { renderModuleCharts } from './validate/charts';
import { toolPaths } from './validate/tools';
import { defaultTargets } from './validate/targets';


/**
 * The charts each cluster's bootstrap module installs, rendered with its values (as `npm run
 * validate` renders them) into `scratch`, one group per cluster, with a Namespace per release (helm
 * creates it). The API server is the judge validate cannot be for their CRDs' CEL rules.
 */
async function bootstrapChartGroups(root: string, clusters: string[], scratch: string): Promise<{ cluster: string; kubernetesVersion: string; docs: ManifestDoc[] }[]> {
  const paths = toolPaths(root);
  const groups = [];
  for (const cluster of clusters) {
    const module = join(root, 'dist-manifests', cluster, BOOTSTRAP_MODULE);
    if (!existsSync(module)) continue;
    const { kubernetesVersion } = loadClusterConfig(platformRenderSpec(cluster), join(root, 'clusters', cluster, 'cluster.yaml'), `clusters/${cluster}/cluster.yaml`);
    const { rendered } = await renderModuleCharts(cluster, readFileSync(module, 'utf8'), kubernetesVersion, { helm: join(paths.bin, 'helm'), sources: paths.charts }, scratch);
    const dir = join(scratch, `${cluster}-charts`);
    mkdirSync(dir);
    const files: string[] = [];
    const labels = new Map<string, string>();
    for (const { release, label, docs, error } of rendered) {
      if (error !== undefined) throw new Error(`helm template of ${release.chart} ${release.version} for ${cluster} failed (npm run validate says why): ${error}`);
      const file = join(dir, `${release.key}.yaml`);
      const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: release.namespace } };
      writeFileSync(file, [namespace, ...docs].map((d) => JSON.stringify(d)).join('\n---\n'));
      files.push(file);
      labels.set(file, label);
    }
    // Failures name the chart and the module whose values rendered it, not the scratch file.
    const docs = loadManifests(files, root, cluster).docs.map((d) => ({ ...d, file: labels.get(d.absPath) ?? d.file }));
    groups.push({ cluster, kubernetesVersion, docs });
  }
  return groups;
}

function which(cmd: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
  } catch {
    return join('/usr/bin', cmd);
  }
}

async function main(argv: string[]): Promise<number> {
  const paths: string[] = [];
  let cluster: string | undefined;
  let only: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--cluster') cluster = argv[++i];
    else if (argv[i] === '--kubernetes-version') only = argv[++i];
    else if (argv[i].startsWith('--')) throw new Error(`unknown option '${argv[i]}'; usage: server-check [paths...] [--cluster <name>] [--kubernetes-version <minor>]`);
    else paths.push(resolve(argv[i]));
  }
  const root = findWorkspaceRoot(process.cwd());
  const builds = apiServerBuilds(root).filter((b) => !only || b.kubernetesVersion === only);
  if (builds.length === 0) throw new Error(`no kube-apiserver for ${only ?? 'any version'} in tools/kube-apiserver/ (built: ${apiServerBuilds(root).map((b) => b.kubernetesVersion).join(', ')})`);
  const targets = paths.length
    ? paths
    : defaultTargets(root);
  const { docs, failures } = loadManifests([...new Set(targets.flatMap((p) => yamlFiles(p)))], root, cluster);
  const groups = new Map<string, ManifestDoc[]>();
  for (const d of docs) groups.set(d.cluster ?? '', [...(groups.get(d.cluster ?? '') ?? []), d]);
  // What KubeSpawner, Spark and Airflow would create goes to the API server too: Pod Security
  // admits it or not.
  const checker = hasHubConfigs(docs) ? await hubChecker(root) : undefined;
  for (const group of groups.values()) {
    const added = [...templatedPods(group), ...(checker ? (await checkHubConfigs(group, checker, undefined)).spawned : [])];
    group.push(...added);
    docs.push(...added);
  }
  const clusters = [...new Set(docs.map((d) => d.cluster).filter(Boolean))].sort() as string[];
  // Rendered charts are read into memory; their files are not needed past this point.
  const scratch = mkdtempSync(join(tmpdir(), 'ml-platform-server-charts-'));
  let chartGroups: Awaited<ReturnType<typeof bootstrapChartGroups>>;
  try {
    chartGroups = paths.length ? [] : await bootstrapChartGroups(root, clusters, scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const unbuilt = builds.filter((b) => !existsSync(b.binary));
  if (unbuilt.length > 0) throw new Error(`${unbuilt.map((b) => b.binary).join(', ')} not built; run 'bash tools/install-integration.sh'`);
  for (const build of builds) {
    const started = Date.now();
    const cp = await ControlPlane.start({ kubeApiserver: build.binary, etcd: which('etcd') });
    const ready = Date.now();
    const found: Failure[] = [];
    // A cluster's charts are pinned for its minor: judged on the API servers of that minor or newer.
    const charts = chartGroups.filter((g) => kubernetesMinor(build.kubernetesVersion) >= kubernetesMinor(g.kubernetesVersion));
    try {
      const problems = await installBootstrap(cp, bootstrapCrds(root), BOOTSTRAP_NAMESPACES);
      if (problems.length > 0) throw new Error(`could not install the bootstrap CRDs and namespaces on kube-apiserver ${build.kubernetesVersion}:\n  ${problems.join('\n  ')}`);
      for (const group of groups.values()) found.push(...(await dryRun(cp, group)).filter((f) => !isKubeSpawnerDeprecation(f)));
      for (const group of charts) found.push(...(await dryRun(cp, group.docs)));
    } finally {
      await cp.stop();
    }
    for (const f of found) console.log(`[kube-apiserver ${build.kubernetesVersion}] ${formatFailure(f)}`);
    failures.push(...found);
    console.log(
      `test:server: ${docs.length} objects${clusters.length ? ` in clusters ${clusters.join(', ')}` : ''} and ${charts.reduce((n, g) => n + g.docs.length, 0)} objects of their bootstrap charts dry-run on kube-apiserver ${build.kubernetesVersion}; ${found.length} failures; start ${((ready - started) / 1000).toFixed(1)} s, checks ${((Date.now() - ready) / 1000).toFixed(1)} s`,
    );
  }
  for (const f of failures.filter((x) => x.layer === 'yaml')) console.log(formatFailure(f));
  return failures.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`test:server: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  },
);
