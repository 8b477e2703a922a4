// npm run audit-site [-- --out <dir>] [--ref <git-ref>]
// The audit report as a static site (GitLab Pages publishes public/ on the default branch): the
// version and image matrices across clusters, and per cluster its inventory, hosts and who may
// reach them, exceptions with their reasons, Secrets and their source, and its change history.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findWorkspaceRoot } from '@ml-platform/core';
import { renderAuditSite } from './audit-site/html';
import { auditModel } from './audit-site/model';

const argv = process.argv.slice(2);
const option = (name: string) => {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
};
const known = new Set(['--out', '--ref']);
const unknown = argv.filter((a, i) => a.startsWith('--') && !known.has(a) && !known.has(argv[i - 1] ?? ''));
if (unknown.length > 0 || argv.some((a, i) => known.has(a) && !argv[i + 1])) {
  console.error('usage: npm run audit-site -- [--out <dir>] [--ref <git-ref>]');
  process.exitCode = 2;
} else {
  try {
    const started = performance.now();
    const root = findWorkspaceRoot(process.cwd());
    const out = resolve(option('--out') ?? join(root, 'public'));
    const model = auditModel(root, option('--ref') ?? 'HEAD');
    const files = renderAuditSite(model);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(out, name), text);
    const changes = model.clusters.reduce((n, c) => n + c.changes.length, 0);
    console.log(`audit-site: ${Object.keys(files).length} files for ${model.clusters.length} clusters and ${changes} changes in ${out}; ${Math.round(performance.now() - started)} ms`);
  } catch (err) {
    console.error(`audit-site: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  }
}
