import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { signalCommandLine, signalProcesses } from './tls';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A process with a command name of its own: `sleep` under another name. */
function namedSleeper(comm: string) {
  const dir = mkdtempSync(join(tmpdir(), 'signal-'));
  dirs.push(dir);
  symlinkSync(spawnSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).stdout.trim(), join(dir, comm));
  const child = spawn(join(dir, comm), ['30']);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  return { child, exited };
}

test('signals the process with that command name, found through /proc', async () => {
  const { exited } = namedSleeper('kbn-reload-t');
  await new Promise((r) => setTimeout(r, 200));
  const run = spawnSync('sh', ['-c', signalProcesses('kbn-reload-t', 'HUP')], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  expect(await exited).toBe('SIGHUP');
});

test('fails when no process has that name, so the reloader tries again next minute', () => {
  expect(spawnSync('sh', ['-c', signalProcesses('no-such-proc', 'HUP')]).status).toBe(1);
});

test('refuses a name that is not a command name', () => {
  expect(() => signalProcesses('node; rm -rf /', 'HUP')).toThrow(/not a process command name/);
});

test('signals by command line the process whose arguments hold the fragment, not the reloader itself', async () => {
  // A shell whose script holds the marker, as `python -m uvicorn ...` holds its module name.
  const holder = spawn('sh', ['-c', 'sleep 30; : marker-for-uvicorn-test']);
  const held = new Promise<NodeJS.Signals | null>((resolve) => holder.on('exit', (_code, signal) => resolve(signal)));
  await new Promise((r) => setTimeout(r, 200));
  const run = spawnSync('sh', ['-c', signalCommandLine('marker-for-uvicorn-test', 'HUP')], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  expect(await held).toBe('SIGHUP');
  expect(spawnSync('sh', ['-c', signalCommandLine('marker-nobody-has', 'HUP')]).status).toBe(1);
  expect(() => signalCommandLine('x"; rm -rf /', 'HUP')).toThrow(/must be 3 to 64/);
});
