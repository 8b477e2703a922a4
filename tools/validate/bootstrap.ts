// The bootstrap layer: each cluster's rendered module (dist-manifests/<cluster>/bootstrap/) is
// loaded by OpenTofu itself. `tofu init` reads and checks the whole configuration (its syntax,
// blocks, variables, meta-arguments and provider requirements) before it installs providers.
// The providers cannot be built from the Go module proxy (docs/bootstrap.md), so init runs
// against an empty provider mirror and must fail at exactly one point: each required provider
// missing from it. Any other diagnostic is the module's fault.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Failure } from './model';
import { runProgram } from './tools';

/** The file the render writes, relative to the cluster's folder. */
export const BOOTSTRAP_MODULE = join('bootstrap', 'main.tf.json');

/** OpenTofu's diagnostics in its plain output: `Error: <summary>` and the text up to the next one. */
function diagnostics(output: string): { summary: string; detail: string }[] {
  return output
    .split(/^Error: /m)
    .slice(1)
    .map((block) => {
      const [summary, ...rest] = block.split('\n');
      return { summary: summary.trim(), detail: rest.join('\n').trim() };
    });
}

/** Checks one cluster's module with `tofu`; returns a failure per problem. */
export async function checkBootstrapModule(root: string, cluster: string, tofu: string): Promise<Failure[]> {
  const file = join(root, 'dist-manifests', cluster, BOOTSTRAP_MODULE);
  if (!existsSync(file)) return [];
  const where = relative(root, file);
  const failure = (message: string, hint: string): Failure => ({ layer: 'bootstrap', rule: 'bootstrap/tofu', cluster, file: where, object: '-', field: '-', message, hint });
  let required: string[];
  try {
    required = Object.values(JSON.parse(readFileSync(file, 'utf8')).terraform?.required_providers ?? {}).map((p) => (p as { source: string }).source);
  } catch (err) {
    return [failure(`not JSON: ${(err as Error).message}`, "re-render with 'npm run synth'")];
  }
  const dir = mkdtempSync(join(tmpdir(), 'ml-platform-tofu-'));
  try {
    mkdirSync(join(dir, 'module'));
    mkdirSync(join(dir, 'providers'));
    copyFileSync(file, join(dir, 'module', 'main.tf.json'));
    writeFileSync(join(dir, 'tofurc'), `provider_installation {\n  filesystem_mirror {\n    path = "${join(dir, 'providers')}"\n  }\n}\n`);
    const env = { PATH: process.env.PATH, HOME: dir, TF_CLI_CONFIG_FILE: join(dir, 'tofurc'), TF_IN_AUTOMATION: '1' };
    const init = await runProgram(tofu, ['init', '-backend=false', '-input=false', '-no-color'], { cwd: join(dir, 'module'), env });
    const output = init.stdout + init.stderr;
    const found = diagnostics(output);
    const missing = found.filter((d) => d.summary === 'Failed to query available provider packages').map((d) => /provider registry\.opentofu\.org\/(\S+) was\s+not\s+found/.exec(d.detail)?.[1]);
    const problems = found.filter((d) => d.summary !== 'Failed to query available provider packages').map((d) => failure(`tofu init: ${d.summary}: ${d.detail.split('\n').slice(0, 6).join(' ').replace(/\s+/g, ' ')}`, 'fix the module in libs/bootstrap/src/, then npm run synth'));
    const unreached = required.filter((source) => !missing.includes(source));
    if (problems.length === 0 && unreached.length > 0) {
      problems.push(failure(`tofu init did not reach the providers ${unreached.join(', ')}: ${output.replace(/\s+/g, ' ').slice(0, 400)}`, 'run tofu init in a copy of the module to see why'));
    }
    return problems;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
