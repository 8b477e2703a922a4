// npm run new-cluster -- <name> [--from <existing cluster>]   (default: --from stage)
// Creates clusters/<name>/ (config and Nx project) and apps/<name>/ (the render app).
import { findWorkspaceRoot } from '@ml-platform/core';
import { createCluster } from './new-cluster/create';

const argv = process.argv.slice(2);
const fromAt = argv.indexOf('--from');
const from = fromAt >= 0 ? argv[fromAt + 1] : 'stage';
const name = argv.find((a, i) => !a.startsWith('--') && (fromAt < 0 || i !== fromAt + 1));
try {
  if (!name || !from) throw new Error('usage: npm run new-cluster -- <name> [--from <existing cluster>]');
  const files = createCluster(findWorkspaceRoot(process.cwd()), name, from);
  console.log(`created ${files.join(', ')}`);
  console.log(
    `next: edit clusters/${name}/cluster.yaml (domain, API server address, storage classes, sizes, agent), provide the Secrets listed in dist-manifests/${name}/INVENTORY.md after 'npm run synth', register GitLab agent '${name}', then follow docs/bootstrap.md`,
  );
} catch (err) {
  console.error(`new-cluster: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
