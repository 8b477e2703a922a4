// The pipeline definition is checked against GitLab's CI JSON schema (as bundled and applied by
// gitlab-ci-local), so a typo in .gitlab-ci.yml fails here rather than in GitLab.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { parse } from 'yaml';

const root = join(__dirname, '..');
// Each cluster's rendered jobs, which the pipeline includes.
const CLUSTER_JOBS = ['bootstrap/.gitlab-ci.yml', 'review/.gitlab-ci.yml'];
const cli = join(root, 'node_modules/.bin/gitlab-ci-local');
let dir: string | undefined;
afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

/** Lists the jobs of `pipeline` in a fresh repository whose branch changed `changed` since origin/main. */
function check(pipeline: string, ...args: string[]) {
  return checkChanging(pipeline, [], ...args);
}

function checkChanging(pipeline: string, changed: string[], ...args: string[]) {
  return runCli(pipeline, changed, ['--list', ...args]);
}

/** The pipeline as gitlab-ci-local expands it (templates, includes), for a branch that changed nothing. */
function preview(pipeline: string, ...args: string[]) {
  const r = runCli(pipeline, [], ['--preview', ...args]);
  if (r.status !== 0) throw new Error(r.stdout + r.stderr);
  return parse(r.stdout);
}

function runCli(pipeline: string, changed: string[], args: string[]) {
  dir = mkdtempSync(join(tmpdir(), 'ml-platform-ci-'));
  const git = (...a: string[]) => execFileSync('git', ['-c', 'user.name=ci', '-c', 'user.email=ci@example.invalid', ...a], { cwd: dir });
  // On main, the default branch, as a pipeline of the default branch runs.
  git('init', '-q', '-b', 'main');
  writeFileSync(join(dir, '.gitlab-ci.yml'), pipeline);
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
  for (const cluster of readdirSync(join(root, 'dist-manifests'))) {
    for (const jobs of CLUSTER_JOBS.filter((f) => existsSync(join(root, 'dist-manifests', cluster, f)))) {
      mkdirSync(dirname(join(dir, 'dist-manifests', cluster, jobs)), { recursive: true });
      copyFileSync(join(root, 'dist-manifests', cluster, jobs), join(dir, 'dist-manifests', cluster, jobs));
    }
  }
  // `rules: changes` compares with origin/main: the branch starts there, then changes `changed`.
  git('add', '.');
  git('commit', '-q', '-m', 'base');
  git('update-ref', 'refs/remotes/origin/main', 'HEAD');
  for (const file of changed) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), 'changed\n');
  }
  if (changed.length) {
    git('add', '.');
    git('commit', '-q', '-m', 'change');
  }
  const r = spawnSync(cli, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
  // Nx forces colours on child processes; compare plain text.
  const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
  const plain = (t: string) => t.replace(ansi, '');
  return { status: r.status, stdout: plain(r.stdout), stderr: plain(r.stderr) };
}

test('.gitlab-ci.yml passes GitLab\'s CI schema and defines the delivery stages', () => {
  const r = check(readFileSync(join(root, '.gitlab-ci.yml'), 'utf8'));
  expect(r.status, r.stdout + r.stderr).toBe(0);
  expect(r.stdout + r.stderr).toContain('json schema validated');
  for (const job of ['install', 'check', 'render', 'validate', 'server']) expect(r.stdout).toMatch(new RegExp(`^${job}\\s`, 'm'));
  expect(r.stdout).not.toMatch(/^diff\s/m);
  // The default branch publishes the audit report (GitLab Pages takes the pages job's public/).
  expect(r.stdout).toMatch(/^pages\s+render/m);
});

test('images are built only when a build context changed', () => {
  const pipeline = readFileSync(join(root, '.gitlab-ci.yml'), 'utf8');
  expect(check(pipeline).stdout).not.toMatch(/^build-images\s/m);
  const r = checkChanging(pipeline, ['images/notebook/requirements.txt']);
  expect(r.status, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^image-list\s+install/m);
  expect(r.stdout).toMatch(/^build-images\s+images/m);
});

test('merge requests also get the rendered diff', () => {
  const r = check(readFileSync(join(root, '.gitlab-ci.yml'), 'utf8'), '--variable', 'CI_PIPELINE_SOURCE=merge_request_event');
  expect(r.status, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^diff\s+render/m);
});

test('a misspelled keyword fails the schema check', () => {
  const broken = readFileSync(join(root, '.gitlab-ci.yml'), 'utf8').replace('  artifacts:\n    when: always', '  artefacts:\n    when: always');
  const r = check(broken);
  expect(r.status).toBe(1);
  expect(r.stdout + r.stderr).toContain("'artefacts' property is not expected to be here");
});

describe('bootstrap modules', () => {
  const pipeline = () => readFileSync(join(root, '.gitlab-ci.yml'), 'utf8');
  const module = (cluster: string) => `dist-manifests/${cluster}/bootstrap/main.tf.json`;

  test('a merge request that changes a module plans that cluster only', () => {
    // gitlab-ci-local sets CI_COMMIT_BRANCH even for a merge request; GitLab leaves it unset there.
    const r = checkChanging(pipeline(), [module('prod')], '--variable', 'CI_PIPELINE_SOURCE=merge_request_event', '--variable', 'CI_COMMIT_BRANCH=feature');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^bootstrap-plan:prod\s+bootstrap\s+on_success/m);
    expect(r.stdout).not.toMatch(/^bootstrap-plan:(dev|stage)\s/m);
    expect(r.stdout).not.toMatch(/^bootstrap-apply:/m);
  });

  test('the default branch applies: dev on its own, stage and prod when a person starts it', () => {
    const r = checkChanging(pipeline(), [module('dev'), module('stage'), module('prod')]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^bootstrap-apply:dev\s+bootstrap\s+on_success/m);
    expect(r.stdout).toMatch(/^bootstrap-apply:stage\s+bootstrap\s+manual/m);
    expect(r.stdout).toMatch(/^bootstrap-apply:prod\s+bootstrap\s+manual/m);
    expect(r.stdout).not.toMatch(/^bootstrap-plan:/m);
  });

  test('nothing bootstraps when no module changed', () => {
    const r = checkChanging(pipeline(), ['docs/README.md']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^bootstrap-/m);
  });
});

describe('review environments', () => {
  const pipeline = () => readFileSync(join(root, '.gitlab-ci.yml'), 'utf8');
  const mergeRequest = ['--variable', 'CI_PIPELINE_SOURCE=merge_request_event', '--variable', 'CI_COMMIT_BRANCH=feature'];

  test('every merge request deploys its review on dev, and may stop it by hand', () => {
    const r = check(pipeline(), ...mergeRequest);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^review:dev\s+review\s+on_success/m);
    expect(r.stdout).toMatch(/^review-stop:dev\s+review\s+manual/m);
    expect(r.stdout).not.toMatch(/^review(-stop)?:(stage|prod)\s/m);
  });

  test('the default branch deploys no review', () => {
    const r = check(pipeline());
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/^review/m);
  });

  test('the review is a GitLab environment that stops itself, and its stop job needs no checkout', () => {
    const jobs = preview(pipeline(), ...mergeRequest);
    expect(jobs['review:dev'].environment).toMatchObject({ name: 'review/$CI_COMMIT_REF_SLUG', on_stop: 'review-stop:dev', auto_stop_in: '3 days' });
    expect(jobs['review:dev'].script).toContain('bash tools/review-env.sh apply "$CLUSTER" "$CI_ENVIRONMENT_SLUG"');
    expect(jobs['review:dev'].variables).toMatchObject({ CLUSTER: 'dev', REVIEW_KUBE_CONTEXT: 'platform/ml-platform:dev' });
    expect(jobs['review-stop:dev'].environment).toEqual({ name: 'review/$CI_COMMIT_REF_SLUG', action: 'stop' });
    expect(jobs['review-stop:dev'].variables.GIT_STRATEGY).toBe('none');
    expect(jobs['review-stop:dev'].script.join('\n')).toContain('kubectl delete namespace -l "ml-platform.example/review=$CI_ENVIRONMENT_SLUG"');
  });
});
