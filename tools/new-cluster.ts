// npm run new-cluster -- <name> [--from <existing cluster>]   (default: --from stage)
// Creates clusters/<name>/ (config and Nx project) and apps/<name>/ (the render app).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findWorkspaceRoot } from '@ml-platform/core';
import { createCluster } from './new-cluster/create';
import { createSecrets } from './secrets/manage';
import { toolPaths } from './validate/tools';

const argv = process.argv.slice(2);
const fromAt = argv.indexOf('--from');
const from = fromAt >= 0 ? argv[fromAt + 1] : 'stage';
const name = argv.find((a, i) => !a.startsWith('--') && (fromAt < 0 || i !== fromAt + 1));
try {
  if (!name || !from) throw new Error('usage: npm run new-cluster -- <name> [--from <existing cluster>]');
  const root = findWorkspaceRoot(process.cwd());
  const { bin } = toolPaths(root);
  // The cluster's own age key: the private half stays out of Git (.keys/ is ignored).
  mkdirSync(join(root, '.keys'), { recursive: true, mode: 0o700 });
  const keyFile = join(root, '.keys', `${name}.agekey`);
  execFileSync(join(bin, 'age-keygen'), ['-o', keyFile], { stdio: 'ignore' });
  chmodSync(keyFile, 0o600);
  const recipient = /public key: (age1\w+)/.exec(readFileSync(keyFile, 'utf8'))?.[1];
  if (!recipient) throw new Error(`age-keygen wrote no public key to ${keyFile}`);
  const files = createCluster(root, name, from, recipient);
  const secrets = createSecrets({ root, bin }, name);
  console.log(`created ${[...files, ...secrets].join(', ')}`);
  console.log(`the cluster's private age key is ${keyFile}: store it in your password manager, create the sops-age Secret from it at bootstrap, then delete the file`);
  console.log(
    `next: edit clusters/${name}/cluster.yaml (domain, API server address, storage classes, sizes, agent), 'npm run synth', register GitLab agent '${name}', then follow docs/bootstrap.md`,
  );
} catch (err) {
  console.error(`new-cluster: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
