// Measures the render: bundles once, then times each cluster's app (a fresh Node process, as
// in CI) writing into a scratch folder, and all clusters one after another. Prints the figures.
// Usage: node tools/bench.mjs [runs]   (default 5 runs; the median is reported)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const runs = Number(process.argv[2] ?? 5);
const clusters = readdirSync(join(root, 'apps')).sort();
execFileSync('node', ['tools/build.mjs', ...clusters], { cwd: root, stdio: 'inherit' });
const scratch = mkdtempSync(join(tmpdir(), 'ml-platform-bench-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timeOne = (cluster) => {
  const start = process.hrtime.bigint();
  execFileSync('node', [`dist/apps/${cluster}/main.js`, '--out', scratch], { cwd: root, stdio: 'pipe' });
  return Number(process.hrtime.bigint() - start) / 1e6;
};
try {
  const perCluster = Object.fromEntries(clusters.map((c) => [c, []]));
  const totals = [];
  for (let i = 0; i < runs; i++) {
    let total = 0;
    for (const c of clusters) {
      const ms = timeOne(c);
      perCluster[c].push(ms);
      total += ms;
    }
    totals.push(total);
  }
  console.log(`render benchmark, ${runs} runs, median wall time per process (node start + render + write):`);
  for (const c of clusters) console.log(`  ${c.padEnd(8)} ${median(perCluster[c]).toFixed(0).padStart(6)} ms`);
  console.log(`  ${'total'.padEnd(8)} ${median(totals).toFixed(0).padStart(6)} ms  (target: under 2000 ms for all clusters)`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
