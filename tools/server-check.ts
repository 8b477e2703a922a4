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
import { Failure, loadManifests, ManifestDoc, yamlFiles } from './validate/model';
import { formatFailure } from './validate/report';
import { existsSync, readdirSync } from 'node:fs';


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
    : readdirSync(join(root, 'dist-manifests')).filter((d) => !d.startsWith('.') && existsSync(join(root, 'dist-manifests', d, 'inventory.json'))).map((d) => join(root, 'dist-manifests', d));
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
  const clusters = [...new Set(docs.map((d) => d.cluster).filter(Boolean))].sort();
  const unbuilt = builds.filter((b) => !existsSync(b.binary));
  if (unbuilt.length > 0) throw new Error(`${unbuilt.map((b) => b.binary).join(', ')} not built; run 'bash tools/install-integration.sh'`);
  for (const build of builds) {
    const started = Date.now();
    const cp = await ControlPlane.start({ kubeApiserver: build.binary, etcd: which('etcd') });
    const ready = Date.now();
    const found: Failure[] = [];
    try {
      const problems = await installBootstrap(cp, bootstrapCrds(root), BOOTSTRAP_NAMESPACES);
      if (problems.length > 0) throw new Error(`could not install the bootstrap CRDs and namespaces on kube-apiserver ${build.kubernetesVersion}:\n  ${problems.join('\n  ')}`);
      for (const group of groups.values()) found.push(...(await dryRun(cp, group)).filter((f) => !isKubeSpawnerDeprecation(f)));
    } finally {
      await cp.stop();
    }
    for (const f of found) console.log(`[kube-apiserver ${build.kubernetesVersion}] ${formatFailure(f)}`);
    failures.push(...found);
    console.log(
      `test:server: ${docs.length} objects${clusters.length ? ` in clusters ${clusters.join(', ')}` : ''} dry-run on kube-apiserver ${build.kubernetesVersion}; ${found.length} failures; start ${((ready - started) / 1000).toFixed(1)} s, checks ${((Date.now() - ready) / 1000).toFixed(1)} s`,
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
