// npm run diff -- <base-ref> [--output <file.md>]
// Summarises how the rendered manifests in the working tree differ from those at <base-ref>:
// per cluster, objects added, changed and removed, image changes and risky changes (Markdown).
import { writeFileSync } from 'node:fs';
import { findWorkspaceRoot } from '@ml-platform/core';
import { diffTrees, markdown, treeAtRef, treeOnDisk } from './diff/rendered-diff';

const argv = process.argv.slice(2);
const outputAt = argv.indexOf('--output');
const output = outputAt >= 0 ? argv[outputAt + 1] : undefined;
const ref = argv.find((a, i) => !a.startsWith('--') && (outputAt < 0 || i !== outputAt + 1));
if (!ref || (outputAt >= 0 && !output)) {
  console.error('usage: npm run diff -- <base-ref> [--output <file.md>]');
  process.exitCode = 2;
} else {
  try {
    const root = findWorkspaceRoot(process.cwd());
    const text = markdown(diffTrees(treeAtRef(root, ref), treeOnDisk(root)), ref);
    if (output) writeFileSync(output, text);
    process.stdout.write(text);
  } catch (err) {
    console.error(`diff: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  }
}
