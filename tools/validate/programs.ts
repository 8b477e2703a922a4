// Programs that check the configuration files the render writes, run on staged copies. Results
// are kept by tool build, arguments and the staged files' content: clusters share most files.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CacheScope, digest } from './cache';
import { runProgram } from './tools';

/** What a program said about the staged files. */
export interface ToolResult {
  readonly ok: boolean;
  readonly output: string;
}

/** Results kept across runs, by tool build, arguments and the content of the staged files. */
export type ToolResults = CacheScope<ToolResult>;

/** Runs in this process, by the same key: clusters share rules and dashboards. */
const running = new Map<string, Promise<ToolResult>>();

/** The build of a tool installed by tools/install-tools.sh, from the stamp it writes beside it. */
function buildOf(binary: string): string | undefined {
  const stamps = ['version', 'stamp'].map((s) => join(dirname(binary), `.${basename(binary)}.${s}`));
  const stamp = stamps.find((f) => existsSync(f));
  return stamp && readFileSync(stamp, 'utf8');
}

/**
 * Runs `binary` on the staged files in `cwd`, or takes its earlier result for the same build,
 * arguments and files. `build` names the program's build where no stamp beside it does (a Python
 * checker: its lockfile and sources); `env`, the only environment the program gets besides PATH.
 */
export async function run(binary: string, args: string[], cwd: string, cache: ToolResults | undefined, build = buildOf(binary), env?: Readonly<Record<string, string>>): Promise<ToolResult> {
  const key = digest(binary, build ?? '', JSON.stringify(args), JSON.stringify(env ?? {}), ...readdirSync(cwd).sort().flatMap((f) => [f, readFileSync(join(cwd, f))]));
  // A tool without a build stamp cannot be told from another: its results are not kept.
  const known = build ? cache?.get(key) : undefined;
  if (known) return known;
  let pending = running.get(key);
  if (!pending) {
    pending = runProgram(binary, args, { cwd, env: env && { PATH: process.env.PATH, ...env } }).then((r) => ({
      ok: r.status === 0,
      // Paths in the output name the staging folder, which differs per run: keep it relative.
      output: `${r.stdout}${r.stderr}`.split(`${cwd}/`).join(''),
    }));
    running.set(key, pending);
  }
  const result = await pending;
  if (build) cache?.set(key, result);
  return result;
}

/** The lines of a tool's output that say what is wrong. */
export function essentials(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() && !/^Checking |SUCCESS/.test(l.trim()));
  return lines.join(' | ').replace(/\s+/g, ' ').slice(0, 2000);
}

