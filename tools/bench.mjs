// `npm run bench`: the render's cost as the platform and the number of clusters grow. Every
// figure is the median wall time of fresh Node processes (as Nx and CI start them), with the
// ratio to the figure before it and the budget of issue 11. Exits non-zero when a budget is missed.
// Usage: node tools/bench.mjs [runs]   (default 3 runs per figure)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const runs = Number(process.argv[2] ?? 3);
execFileSync('node', ['tools/build.mjs', 'render', 'bench-render', 'validate', 'new-cluster', 'audit-site'], { cwd: root, stdio: 'inherit' });
// Inside the workspace (tmp/ is ignored): the render writes to this disk, not to /tmp's.
mkdirSync(join(root, 'tmp'), { recursive: true });
const scratch = mkdtempSync(join(root, 'tmp', 'bench-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const missed = [];

/** Runs `node args` `runs` times; returns median wall ms and the largest reported peak memory. */
function measure(args) {
  const walls = [];
  let last = {};
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const r = spawnSync('node', args, { cwd: root, encoding: 'utf8' });
    walls.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed:\n${r.stderr}`);
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (line.startsWith('{')) last = { ...JSON.parse(line), peakMiB: Math.max(last.peakMiB ?? 0, JSON.parse(line).peakMiB) };
  }
  return { ms: median(walls), ...last };
}

function row(label, figure, previous, budget) {
  const ratio = previous ? `  x${(figure.ms / previous.ms).toFixed(2)} time for x${(figure.size / previous.size).toFixed(1)} work` : '';
  const memory = figure.peakMiB ? `  peak ${String(figure.peakMiB).padStart(4)} MiB` : '';
  const ok = budget ? (budget.check(figure) ? `  within ${budget.text}` : `  OVER ${budget.text}`) : '';
  if (budget && !budget.check(figure)) missed.push(`${label}: ${budget.text}`);
  console.log(`  ${label.padEnd(34)} ${figure.ms.toFixed(0).padStart(6)} ms${memory}${ratio}${ok}`);
}

try {
  console.log(`render benchmark: median of ${runs} fresh processes each, over the previous render (as npm run synth)`);

  // The example clusters, one process (what the synth executor does with an Nx batch).
  const examples = join(scratch, 'examples');
  execFileSync('node', ['dist/tools/render.js', '--out', examples, 'dev', 'stage', 'prod'], { cwd: root });
  const three = { ...measure(['dist/tools/render.js', '--out', examples, 'dev', 'stage', 'prod']), size: 3 };

  // Generated workspaces of 30 and 100 clusters, copies of stage under other names.
  const stage = readFileSync(join(root, 'clusters/stage/cluster.yaml'), 'utf8');
  const fleet = (count) => {
    const workspace = join(scratch, `fleet-${count}`);
    const names = Array.from({ length: count }, (_, i) => `c${String(i + 1).padStart(3, '0')}`);
    mkdirSync(workspace, { recursive: true });
    writeFileSync(join(workspace, 'nx.json'), '{}\n');
    for (const name of names) {
      mkdirSync(join(workspace, 'clusters', name), { recursive: true });
      writeFileSync(join(workspace, 'clusters', name, 'cluster.yaml'), stage.replace(/^name: stage$/m, `name: ${name}`));
      symlinkSync(join(root, 'clusters/stage/secrets'), join(workspace, 'clusters', name, 'secrets'));
    }
    const args = ['dist/tools/bench-render.js', 'clusters', workspace, ...names];
    execFileSync('node', args, { cwd: root });
    return { ...measure(args), size: count, workspace };
  };
  // `npm run new-cluster` in a workspace of that many clusters (it regenerates .sops.yaml from all).
  const addCluster = (workspace, size) => {
    symlinkSync(join(root, '.tools'), join(workspace, '.tools'));
    const walls = [];
    for (let i = 0; i < runs; i++) {
      for (const p of ['clusters/extra', 'apps/extra', '.keys/extra.agekey']) rmSync(join(workspace, p), { recursive: true, force: true });
      const started = process.hrtime.bigint();
      const r = spawnSync('node', [join(root, 'dist/tools/new-cluster.js'), 'extra', '--from', 'c001'], { cwd: workspace, encoding: 'utf8' });
      walls.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (r.status !== 0) throw new Error(`new-cluster failed in ${workspace}:\n${r.stdout}${r.stderr}`);
    }
    return { ms: median(walls), size };
  };
  console.log('clusters, rendered in one process:');
  row('3 example clusters (dev, stage, prod)', three, undefined, { text: 'budget 1500 ms', check: (f) => f.ms < 1500 });
  const thirty = fleet(30);
  row('30 clusters', thirty, three);
  const hundred = fleet(100);
  row('100 clusters', hundred, thirty, { text: 'budget 15000 ms', check: (f) => f.ms < 15000 });
  console.log('npm run new-cluster, adding one cluster to a workspace of:');
  const addTo30 = addCluster(thirty.workspace, 30);
  row('30 clusters', addTo30);
  row('100 clusters', addCluster(hundred.workspace, 100), addTo30);

  // One cluster grown to about 1,000, 5,000 and 10,000 objects.
  console.log('one cluster (prod plus copies of its PostgreSQL, MinIO and MLflow):');
  let before;
  let small;
  for (const [scale, tenants] of [[1, 28], [5, 160], [10, 320]]) {
    const out = join(scratch, `scale-${scale}`);
    const args = ['dist/tools/bench-render.js', 'scale', String(tenants), out];
    execFileSync('node', args, { cwd: root });
    const figure = measure(args);
    figure.size = figure.objects;
    const perObject = figure.ms / figure.objects;
    if (scale === 1) small = perObject;
    const budget =
      scale === 10
        ? { text: 'budget 5000 ms, 500 MiB, 1.5x the time per object at 1x', check: (f) => f.ms < 5000 && f.peakMiB < 500 && f.ms / f.objects <= 1.5 * small }
        : undefined;
    row(`${scale}x: ${figure.objects} objects (${(perObject * 1000).toFixed(0)} us each)`, figure, before, budget);
    before = figure;
    if (scale === 10) {
      // The same render into an empty folder: every file and folder is created, none linked.
      const fresh = { ...measure(['-e', `require('node:fs').rmSync(${JSON.stringify(out)}, { recursive: true, force: true }); process.argv = ['node', 'bench-render', ...${JSON.stringify(args.slice(1))}]; require('./dist/tools/bench-render.js')`]), size: figure.objects };
      row(`10x, previous tree removed first`, fresh, figure);
    }
  }

  // Validation of one cluster of about 1,500 objects, in a workspace of its own (its cluster.yaml
  // names the tenants' Secrets as external), with no verdicts kept, then after one object changed.
  console.log('validation (npm run validate) of prod plus copies, about 1,500 objects:');
  const workspace = join(scratch, 'validate');
  mkdirSync(join(workspace, 'clusters', 'prod'), { recursive: true });
  writeFileSync(join(workspace, 'nx.json'), '{}\n');
  for (const shared of ['.tools', 'tools', 'libs', 'checks']) symlinkSync(join(root, shared), join(workspace, shared));
  symlinkSync(join(root, 'clusters/prod/secrets'), join(workspace, 'clusters/prod/secrets'));
  execFileSync('node', ['dist/tools/bench-render.js', 'scale', '44', join(workspace, 'dist-manifests'), join(workspace, 'clusters/prod/cluster.yaml')], { cwd: root });
  const validate = (label, prepare, budget, previous) => {
    const walls = [];
    let summary = '';
    for (let i = 0; i < runs; i++) {
      prepare(i);
      const started = process.hrtime.bigint();
      const r = spawnSync('node', [join(root, 'dist/tools/validate.js')], { cwd: workspace, encoding: 'utf8' });
      walls.push(Number(process.hrtime.bigint() - started) / 1e6);
      summary = r.stdout.trim().split('\n').pop() ?? '';
      if (r.status !== 0) throw new Error(`validate failed in ${workspace}:\n${r.stdout}${r.stderr}`);
    }
    const objects = Number(/(\d+) objects/.exec(summary)?.[1]);
    const figure = { ms: median(walls), size: objects };
    row(`${label}: ${objects} objects`, figure, previous, budget);
    console.log(`    ${summary.replace(/^validate: /, '')}`);
    return figure;
  };
  const cache = join(workspace, '.cache');
  const cold = validate('cold, nothing cached', () => rmSync(cache, { recursive: true, force: true }), { text: 'budget 20000 ms', check: (f) => f.ms < 20000 });
  // A tenant's database volume grows: one object differs from the run before each time.
  const statefulSet = join(workspace, 'dist-manifests/prod/20-data/postgres-7/statefulset-postgres.yaml');
  const original = readFileSync(statefulSet, 'utf8');
  if (!/storage: 10Gi$/m.test(original)) throw new Error(`${statefulSet} no longer asks for 10Gi: update the benchmark's edit`);
  validate('warm, one object changed', (i) => writeFileSync(statefulSet, original.replace(/storage: 10Gi$/m, `storage: ${11 + i}Gi`)), { text: 'budget 3000 ms', check: (f) => f.ms < 3000 }, cold);

  // The audit report: every cluster's pages and its whole rendered history (issue 21: under 5 s).
  const site = measure(['dist/tools/audit-site.js', '--out', join(scratch, 'public')]);
  console.log('npm run audit-site, every cluster and its whole history:');
  row(`${execFileSync('git', ['rev-list', '--count', 'HEAD', '--', 'dist-manifests'], { cwd: root, encoding: 'utf8' }).trim()} commits of dist-manifests/`, site, undefined, { text: 'budget 5000 ms', check: (f) => f.ms < 5000 });

  // Nx renders only what a change affects.
  const affected = spawnSync('npx', ['nx', 'show', 'projects', '--affected', '--files=clusters/stage/cluster.yaml', '--withTarget=synth'], { cwd: root, encoding: 'utf8' });
  const projects = affected.stdout.trim().split('\n').filter(Boolean);
  const onlyStage = projects.length === 1 && projects[0] === 'stage';
  if (!onlyStage) missed.push(`nx affected after clusters/stage/cluster.yaml: expected only stage, found ${projects.join(', ') || affected.stderr}`);
  console.log(`nx affected -t synth after a change to clusters/stage/cluster.yaml: ${projects.join(', ')}${onlyStage ? '  (that cluster only)' : '  WRONG'}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (missed.length > 0) {
  console.error(`bench: over budget:\n${missed.map((m) => `  - ${m}`).join('\n')}`);
  process.exitCode = 1;
}
