// The render of every cluster app: node dist/tools/render.js [--config <file>] [--out <dir>] <cluster>...
// `npm run synth` reaches it through the Nx synth executor (tools/nx-plugin), which hands it all
// the clusters whose inputs changed in one batch: one Node start and one module load for all.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterBaseConfig, ClusterRenderSpec, findWorkspaceRoot, isDnsLabel, renderClusters, RenderLocations, runRenderCli } from '@ml-platform/core';

/**
 * The spec a cluster app exports (`apps/<cluster>/src/main.ts`). esbuild bundles every app
 * matching the pattern; each is evaluated only when asked for.
 */
export function clusterSpec(cluster: string): ClusterRenderSpec<ClusterBaseConfig> {
  const apps = () => readdirSync(join(findWorkspaceRoot(process.cwd()), 'apps')).sort().join(', ');
  if (!isDnsLabel(cluster)) throw new Error(`'${cluster}' is not a cluster name; known clusters: ${apps()}`);
  let spec: ClusterRenderSpec<ClusterBaseConfig> | undefined;
  try {
    spec = require(`../apps/${cluster}/src/main.ts`).default;
  } catch (err) {
    if (err instanceof Error && /not found|Cannot find module/i.test(err.message)) throw new Error(`no app for cluster '${cluster}' in this build; known clusters: ${apps()} (a new app needs 'node tools/build.mjs render')`);
    throw err;
  }
  if (!spec || spec.cluster !== cluster) throw new Error(`apps/${cluster}/src/main.ts must export default the render spec of cluster '${cluster}'`);
  return spec;
}

/** Renders the named clusters; for the Nx executor, which reports each task's outcome. */
export function renderClusterApps(clusters: readonly string[], locations: RenderLocations = {}) {
  return renderClusters(clusters.map(clusterSpec), locations);
}

if (require.main === module) process.exitCode = runRenderCli(clusterSpec, process.argv.slice(2));
