// npm run review -- render <cluster> --slug <slug> [--out <dir>] | secrets <cluster> --slug <slug>
// A merge request's review environment (docs/review.md): its render, written outside
// dist-manifests and never committed, and its Secrets, made fresh for the job that applies it.
import { basename, dirname, relative, resolve } from 'node:path';
import { findWorkspaceRoot, manifestYaml, writeTreeAtomically } from '@ml-platform/core';
import { renderReview } from '@ml-platform/platform';
import { reviewSecrets } from './review/secrets';

const USAGE = 'usage: npm run review -- render <cluster> --slug <slug> [--out <dir>] | secrets <cluster> --slug <slug>';

function main(argv: string[]): number {
  const [command, cluster, ...rest] = argv;
  const options = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) {
    if (!['--slug', '--out'].includes(rest[i]) || rest[i + 1] === undefined) throw new Error(`unknown argument '${rest[i]}'; ${USAGE}`);
    options.set(rest[i], rest[i + 1]);
  }
  const slug = options.get('--slug');
  if (!cluster || slug === undefined || !['render', 'secrets'].includes(command)) throw new Error(USAGE);
  const root = findWorkspaceRoot(process.cwd());
  const configName = `clusters/${cluster}/cluster.yaml`;
  const review = renderReview(cluster, slug, resolve(root, configName), configName);
  if (command === 'secrets') {
    // Values go to standard output only, for 'kubectl create -f -'; nothing else prints them.
    process.stdout.write(reviewSecrets(review, process.env).map((s) => `---\n${manifestYaml(s)}`).join(''));
    return 0;
  }
  const out = resolve(options.get('--out') ?? resolve(root, '.review', cluster, slug));
  writeTreeAtomically(dirname(out), basename(out), review.files);
  console.log(`rendered review '${slug}' of ${cluster} into ${relative(process.cwd(), out) || '.'}: ${review.objects.length} objects in ${review.namespaces.length} namespaces; ${review.secrets.length} Secrets made when applied (${review.copied.length} copied from CI variables)`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
