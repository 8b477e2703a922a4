// @ts-check
// The synth executor: renders cluster apps with the bundled render (dist/tools/render.js,
// built by the tools project's build-render target, on which every synth depends). Nx hands
// the batch implementation every synth task that is not cached, so a run over a hundred
// clusters pays one Node start and one module load instead of a hundred; each task still has
// its own inputs, cache entry and outcome.
const { join } = require('node:path');

/**
 * @typedef {{ cluster: string, success: boolean, message: string }} Outcome
 * @typedef {{ renderClusterApps(clusters: string[]): Outcome[] }} RenderBundle
 */

/** @param {string} root @returns {RenderBundle} */
function loadRender(root) {
  // The bundle is rebuilt before the batch runs; load that build, not a cached module.
  const bundle = join(root, 'dist/tools/render.js');
  delete require.cache[require.resolve(bundle)];
  return require(bundle);
}

/**
 * One cluster.
 * @param {Record<string, never>} _options
 * @param {{ root: string, projectName?: string }} context
 */
async function synth(_options, context) {
  if (!context.projectName) throw new Error('synth runs on a cluster app project');
  const [outcome] = loadRender(context.root).renderClusterApps([context.projectName]);
  (outcome.success ? console.log : console.error)(outcome.message);
  return { success: outcome.success };
}

/**
 * Every uncached synth task of a run, in this one process. Yields each task's result as its
 * cluster finishes, so that Nx prints it and stores it in the cache one by one.
 * @param {{ tasks: Record<string, { id: string, target: { project: string } }> }} taskGraph
 * @param {unknown} _inputs
 * @param {unknown} _overrides
 * @param {{ root: string }} context
 */
async function* batch(taskGraph, _inputs, _overrides, context) {
  const tasks = Object.values(taskGraph.tasks);
  let render;
  try {
    render = loadRender(context.root);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    for (const t of tasks) yield { task: t.id, result: { success: false, terminalOutput: `${message}\n` } };
    return;
  }
  for (const t of tasks) {
    const startTime = Date.now();
    let outcome;
    try {
      [outcome] = render.renderClusterApps([t.target.project]);
    } catch (err) {
      outcome = { success: false, message: err instanceof Error ? err.message : String(err) };
    }
    yield { task: t.id, result: { success: outcome.success, terminalOutput: `${outcome.message}\n`, startTime, endTime: Date.now() } };
  }
}

module.exports = synth;
module.exports.default = synth;
module.exports.batch = batch;
