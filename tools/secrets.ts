// npm run secrets -- list <cluster> | create <cluster> | rotate <cluster> <name> | set <cluster> <name> | check | config
// Manages the SOPS-encrypted Secrets under clusters/<cluster>/secrets/. Never prints a value.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findWorkspaceRoot } from '@ml-platform/core';
import { checkSecrets, clusterNames, createSecrets, listSecretKeys, listSecrets, rotateSecret, setSecret, sopsConfig, valuesFromInput } from './secrets/manage';
import { toolPaths } from './validate/tools';

const USAGE = 'usage: npm run secrets -- list <cluster> | create <cluster> | rotate <cluster> <name> | set <cluster> <name> < value | check | config';

function main([command, cluster, name]: string[]): number {
  const root = findWorkspaceRoot(process.cwd());
  const ctx = { root, bin: toolPaths(root).bin };
  const needCluster = () => {
    if (!cluster || !clusterNames(root).includes(cluster)) throw new Error(`${USAGE}\nclusters: ${clusterNames(root).join(', ')}`);
    return cluster;
  };
  switch (command) {
    case 'list':
      for (const line of listSecrets(ctx, needCluster())) console.log(line);
      return 0;
    case 'create': {
      const written = createSecrets(ctx, needCluster());
      console.log(written.length ? `encrypted ${written.length} new Secret file(s):\n  ${written.join('\n  ')}` : 'nothing missing');
      return 0;
    }
    case 'rotate': {
      if (!name) throw new Error(USAGE);
      const written = rotateSecret(ctx, needCluster(), name);
      console.log(`rotated ${name}: ${written.join(', ')}\nrender (npm run synth) and merge; the bootstrap Jobs re-run because their revision covers the Secrets' MACs`);
      return 0;
    }
    case 'set': {
      if (!name) throw new Error(USAGE);
      const keys = listSecretKeys(ctx, needCluster(), name);
      const written = setSecret(ctx, needCluster(), name, valuesFromInput(readFileSync(0, 'utf8'), keys));
      console.log(`stored ${name} encrypted: ${written.join(', ')}\nrender (npm run synth) and merge`);
      return 0;
    }
    case 'config':
      writeFileSync(join(root, '.sops.yaml'), sopsConfig(ctx));
      console.log('wrote .sops.yaml');
      return 0;
    case 'check': {
      const { problems, verified, unverifiedClusters } = checkSecrets(ctx);
      for (const p of problems) console.log(p);
      const unverified = unverifiedClusters.length ? `; structure and recipients only for ${unverifiedClusters.join(', ')} (set SOPS_AGE_KEY_FILE to a cluster's key to verify its MACs)` : '';
      console.log(`secrets check: ${problems.length} problem(s); ${verified} file(s) decrypted and verified${unverified}`);
      return problems.length ? 1 : 0;
    }
    default:
      throw new Error(USAGE);
  }
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  console.error(`secrets: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
}
