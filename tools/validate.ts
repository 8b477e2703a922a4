// npm run validate [-- <file or folder> ...] [--cluster <name>] [--kubernetes-version 1.28] [--junit <file>] [--no-cache]
//                  [--plain-text-services <file>]   (default tools/validate/plain-text-services.yaml)
// Checks rendered (or hand-written) manifests: kubeconform against strict schemas,
// kubectl-validate, policy rules, references and the monitoring files. One line per failure;
// exit 1 on any. Verdicts are kept by content in .cache/validate/ (--no-cache checks all afresh).
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { findWorkspaceRoot } from '@ml-platform/core';
import { formatFailure, junitReport } from './validate/report';
import { checkedObjects, LAYERS, validateManifests } from './validate/run';
import { toolPaths } from './validate/tools';

async function main(argv: string[]): Promise<number> {
  const paths: string[] = [];
  let junit: string | undefined;
  let cluster: string | undefined;
  let kubernetesVersion: string | undefined;
  let cacheDir: false | undefined;
  let plainTextServicesFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--junit' || a === '--cluster' || a === '--kubernetes-version' || a === '--plain-text-services') {
      const value = argv[++i];
      if (!value) throw new Error(`${a} needs a value`);
      if (a === '--junit') junit = resolve(value);
      else if (a === '--plain-text-services') plainTextServicesFile = resolve(value);
      else if (a === '--cluster') cluster = value;
      else kubernetesVersion = value;
    } else if (a === '--no-cache') {
      cacheDir = false;
    } else if (a.startsWith('--')) {
      throw new Error(`unknown option '${a}'; usage: validate [paths...] [--cluster <name>] [--kubernetes-version 1.28] [--junit <file>] [--no-cache] [--plain-text-services <file>]`);
    } else {
      paths.push(resolve(a));
    }
  }
  const started = process.hrtime.bigint();
  const root = findWorkspaceRoot(process.cwd());
  const result = await validateManifests({ root, tools: toolPaths(root), paths, cluster, kubernetesVersion, cacheDir, plainTextServicesFile });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  for (const f of result.failures) console.log(formatFailure(f));
  if (result.uncheckedCharts.length) console.log(`validate: bootstrap charts not rendered here, their source is not reachable from this machine (docs/bootstrap.md): ${result.uncheckedCharts.join('; ')}`);
  if (junit) writeFileSync(junit, junitReport(checkedObjects(result.docs), [...LAYERS], result.failures));
  const where = result.clusters.length ? `clusters ${result.clusters.join(', ')}` : 'the given manifests';
  console.log(
    `validate: ${result.docs.length} objects in ${where}; ${result.failures.length} failures, ${result.excepted} covered by reviewed exceptions; ` +
      `schema tools checked ${result.stats.checked} objects, ${result.stats.reused} verdicts reused; ${ms.toFixed(0)} ms`,
  );
  return result.failures.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(`validate: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  },
);
