import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { builtImage } from '@ml-platform/core';
import { PLATFORM_IMAGES } from '@ml-platform/platform';
import { checkBuiltImages, contextDigest } from './images/build-context';

const root = join(__dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'ml-platform-images-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test('every image this repository builds has its Containerfile, and its tag names its current context', () => {
  const built = PLATFORM_IMAGES.filter((i) => i.build);
  expect(built.map((i) => i.key)).toContain('notebook');
  expect(checkBuiltImages(root, PLATFORM_IMAGES)).toEqual([]);
});

test('an image that installs a uv lock installs exactly its current export (requirements.txt)', () => {
  const locked = PLATFORM_IMAGES.filter((i) => i.build && existsSync(join(root, i.build.context, 'uv.lock')));
  expect(locked.map((i) => i.key).sort()).toEqual(['airflow', 'churn-dashboard', 'prediction-api', 'superset', 'tensorboard']);
  for (const image of locked) {
    const context = image.build?.context as string;
    // The header names the export: the lock's packages (superset: only the group its Containerfile
    // adds to the base image's), always locked, always to this file.
    const [, header, ...rest] = readFileSync(join(root, context, 'requirements.txt'), 'utf8').split('\n');
    const command = header.replace(/^#\s+/, '');
    expect(command).toMatch(new RegExp(`^uv export --project ${context} --locked .*--format requirements-txt --output-file ${context}/requirements\\.txt$`));
    const args = command.replace(/ --output-file \S+$/, '').split(' ').slice(1);
    // Nx forces colours on its tasks; a file has none.
    const exported = execFileSync('bash', ['tools/uv.sh', ...args, '--no-header', '--color', 'never'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(rest.join('\n'), `${context}/requirements.txt is not uv.lock's export: run the command in its header`).toBe(exported);
  }
});

test('notebooks log models with the MLflow and skops releases the prediction service loads them with', () => {
  const pins = (text: string) => Object.fromEntries([...text.matchAll(/^([a-z0-9-]+)==([^\s;]+)/gm)].map((m) => [m[1], m[2]]));
  const notebook = pins(readFileSync(join(root, 'images/notebook/requirements.txt'), 'utf8'));
  const service = pins(readFileSync(join(root, 'services/prediction-api/requirements.txt'), 'utf8'));
  // mlflow.sklearn.log_model writes the skops format by default: without skops a notebook cannot log a model.
  for (const name of ['mlflow-skinny', 'skops']) expect(notebook[name], name).toBe(service[name]);
});

test('a changed context under an old tag is refused, with the digest the new tag needs', () => {
  cpSync(join(root, 'images/notebook'), join(scratch, 'images/notebook'), { recursive: true });
  const declared = builtImage('notebook', { tag: '1.0.0', note: 'test', build: { context: 'images/notebook', contextDigest: contextDigest(scratch, 'images/notebook') } });
  expect(checkBuiltImages(scratch, [declared])).toEqual([]);
  writeFileSync(join(scratch, 'images/notebook/requirements.txt'), 'mlflow-skinny==3.17.0\n');
  const changed = contextDigest(scratch, 'images/notebook');
  expect(checkBuiltImages(scratch, [declared])).toEqual([
    `image 'notebook': images/notebook changed since tag 1.0.0 was declared; give it a new tag and set contextDigest to '${changed}' (a tag must always name the same build)`,
  ]);
  const missing = builtImage('other', { tag: '1', note: 'test', build: { context: 'images/other', contextDigest: changed } });
  expect(checkBuiltImages(scratch, [missing])).toEqual(["image 'other': images/other/Containerfile does not exist"]);
});

test('what .containerignore leaves out of the build leaves the digest too', () => {
  const context = join(scratch, 'images/ignoring');
  cpSync(join(root, 'images/notebook'), context, { recursive: true });
  writeFileSync(join(context, '.containerignore'), '# not built\ntests/\n**/__pycache__/\nnotes-*.md\n');
  const before = contextDigest(scratch, 'images/ignoring');
  mkdirSync(join(context, 'tests/__pycache__'), { recursive: true });
  writeFileSync(join(context, 'tests/test_x.py'), 'assert True\n');
  writeFileSync(join(context, 'tests/__pycache__/x.pyc'), 'compiled');
  writeFileSync(join(context, 'notes-today.md'), 'draft');
  expect(contextDigest(scratch, 'images/ignoring')).toBe(before);
  writeFileSync(join(context, 'notes.md'), 'built, because no pattern matches it');
  expect(contextDigest(scratch, 'images/ignoring')).not.toBe(before);
});
