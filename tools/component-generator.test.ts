// The component generator end to end, in a temporary copy of the workspace: a component
// scaffolded by it and wired by one line renders, validates, typechecks, lints and passes its
// own tests unchanged; bad options are refused before anything is written.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';

const root = join(__dirname, '..');
const skipped = new Set(['node_modules', '.git', 'dist', '.nx', 'tmp', '.tools', '.cache']);
let ws: string;
// Asynchronous, so the test worker keeps answering vitest while a step runs for a minute or more
// on a loaded machine (a synchronous call there ends in vitest's 'Timeout calling onTaskUpdate').
const run = async (command: string, args: string[]) =>
  (await promisify(execFile)(command, args, { cwd: ws, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false' } })).stdout;

beforeAll(async () => {
  ws = mkdtempSync(join(tmpdir(), 'ml-platform-generator-'));
  // Python environments (.venv, and the prediction service's .venv-image) are made again from
  // the shared uv cache, not copied. The copy is asynchronous: a synchronous one of the whole
  // workspace held the worker past vitest's 60 s RPC timeout on a loaded 2-core CI machine.
  await cp(root, ws, { recursive: true, filter: (source) => !skipped.has(relative(root, source).split('/')[0]) && !/(^|\/)\.venv[^/]*(\/|$)/.test(relative(root, source)) });
  symlinkSync(join(root, 'node_modules'), join(ws, 'node_modules'));
  symlinkSync(join(root, '.tools'), join(ws, '.tools'));
  mkdirSync(join(root, '.cache'), { recursive: true });
  symlinkSync(join(root, '.cache'), join(ws, '.cache'));
}, 60_000);
// A whole workspace copy: removing it can take more than the default 10 s on a loaded machine.
afterAll(() => rm(ws, { recursive: true, force: true }), 60_000);

test('a generated component wired by one line renders, validates and passes lint and its tests', async () => {
  const out = await run('npx', ['nx', 'g', '@ml-platform/nx-plugin:component', 'demo', '--image', 'docker.io/traefik/whoami:v1.11.0', '--port', '8080', '--probePath', '/', '--no-interactive']);
  expect(out).toContain('add demoComponent to PLATFORM_COMPONENTS');
  for (const file of ['project.json', 'src/index.ts', 'src/demo.ts', 'src/component.ts', 'src/images.ts', 'src/demo.test.ts']) expect(existsSync(join(ws, 'libs/demo', file)), file).toBe(true);
  expect(readFileSync(join(ws, 'docs/demo.md'), 'utf8')).toContain('## Backup and restore');
  expect(JSON.parse(readFileSync(join(ws, 'tsconfig.base.json'), 'utf8')).compilerOptions.paths['@ml-platform/demo']).toEqual(['libs/demo/src/index.ts']);

  // The one line of wiring (and its import), and the cluster that switches it on.
  const platform = join(ws, 'libs/platform/src/platform.ts');
  const source = readFileSync(platform, 'utf8');
  const wired = source
    .replace("import { VaultChart, vaultComponent } from '@ml-platform/vault';", "$&\nimport { demoComponent } from '@ml-platform/demo';")
    .replace('homeComponent] as const;', 'homeComponent, demoComponent] as const;');
  expect(wired).not.toBe(source);
  writeFileSync(platform, wired);
  writeFileSync(join(ws, 'clusters/dev/cluster.yaml'), `${readFileSync(join(ws, 'clusters/dev/cluster.yaml'), 'utf8')}  demo:\n    enabled: true\n    replicas: 2\n`);

  await run('node', ['tools/build.mjs', 'render', 'validate']);
  expect(await run('node', ['dist/tools/render.js', 'dev'])).toMatch(/^rendered dev: \d+ objects/);
  const deployment = readFileSync(join(ws, 'dist-manifests/dev/30-apps/demo/deployment-demo.yaml'), 'utf8');
  expect(deployment).toContain('image: docker.io/traefik/whoami:v1.11.0');
  expect(existsSync(join(ws, 'dist-manifests/dev/30-apps/demo/poddisruptionbudget-demo.yaml'))).toBe(true);
  expect(JSON.parse(readFileSync(join(ws, 'dist-manifests/dev/inventory.json'), 'utf8')).components.map((c: { name: string }) => c.name)).toContain('demo');
  expect(await run('node', ['dist/tools/validate.js', 'dist-manifests/dev', '--cluster', 'dev'])).toMatch(/0 failures/);
  await run('npx', ['tsc', '-p', 'tsconfig.json']);
  await run('npx', ['eslint', '--max-warnings=0', 'libs/demo', 'libs/platform']);
  expect(await run('npx', ['vitest', 'run', '--dir', 'libs/demo'])).toMatch(/3 passed/);
}, 180_000);

test('refuses a latest tag and an existing library, writing nothing', async () => {
  const generate = async (...args: string[]) =>
    run('npx', ['nx', 'g', '@ml-platform/nx-plugin:component', ...args, '--no-interactive']).then(
      (stdout) => ({ failed: false, output: stdout }),
      (err: { stdout?: string; stderr?: string }) => ({ failed: true, output: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
    );
  const latest = await generate('notebook', '--image', 'quay.io/jupyter/base-notebook:latest', '--port', '8888');
  expect(latest.failed).toBe(true);
  expect(latest.output).toContain("must pin a released tag, not latest");
  const existing = await generate('mlflow', '--image', 'ghcr.io/mlflow/mlflow:v3.16.1', '--port', '5000');
  expect(existing.output).toContain('libs/mlflow already exists');
  expect(existsSync(join(ws, 'libs/notebook'))).toBe(false);
}, 60_000);
