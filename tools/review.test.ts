// A merge request's review environment as its job makes it: the command line, and the Secrets
// made for it when it is applied.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { renderReview } from '@ml-platform/platform';
import { copiedSecretVariable, reviewSecrets } from './review/secrets';

const root = join(__dirname, '..');
const cli = join(root, 'dist/tools/review.js');
const review = renderReview('dev', 'mr-3', join(root, 'clusters/dev/cluster.yaml'), 'clusters/dev/cluster.yaml');
const copied = { REVIEW_SECRET_SSO_GITLAB: 'from-gitlab', REVIEW_SECRET_ML_PLATFORM_DEPLOY_TOKEN: 'username=deployer\npassword=token-value' };
let scratch: string;
beforeAll(() => {
  execFileSync('node', [join(root, 'tools/build.mjs'), 'review'], { cwd: root });
  scratch = mkdtempSync(join(tmpdir(), 'ml-platform-review-cli-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("a review's Secrets", () => {
  test('are fresh for each review, the same in every namespace that reads one, and labelled with the review', () => {
    const [first, second] = [reviewSecrets(review, copied), reviewSecrets(review, copied)] as { metadata: { name: string; namespace: string; labels: Record<string, string> }; stringData: Record<string, string> }[][];
    const role = first.filter((s) => s.metadata.name === 'postgres-role-mlflow');
    expect(role.map((s) => s.metadata.namespace).sort()).toEqual(['mr-3-mlflow', 'mr-3-postgres']);
    expect(role[0].stringData).toEqual(role[1].stringData);
    expect(role[0].stringData.password).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(second.find((s) => s.metadata.name === 'postgres-role-mlflow')?.stringData).not.toEqual(role[0].stringData);
    for (const s of first) expect(s.metadata.labels['ml-platform.example/review']).toBe('mr-3');
    expect(first.length).toBe(review.secrets.reduce((n, s) => n + s.namespaces.length, 0));
  });

  test('copy what the base cluster gets from GitLab out of CI variables, and name the variables that are missing', () => {
    const secrets = reviewSecrets(review, copied) as { metadata: { name: string }; stringData: Record<string, string> }[];
    expect(secrets.find((s) => s.metadata.name === 'ml-platform-deploy-token')?.stringData).toEqual({ username: 'deployer', password: 'token-value' });
    expect(copiedSecretVariable('sso-gitlab')).toBe('REVIEW_SECRET_SSO_GITLAB');
    expect(() => reviewSecrets(review, { REVIEW_SECRET_SSO_GITLAB: 'x' })).toThrowError(/set these CI variables[^]*REVIEW_SECRET_ML_PLATFORM_DEPLOY_TOKEN: keys password, username/);
    expect(() => reviewSecrets(review, { ...copied, REVIEW_SECRET_ML_PLATFORM_DEPLOY_TOKEN: 'username=deployer' })).toThrowError('REVIEW_SECRET_ML_PLATFORM_DEPLOY_TOKEN: expected a line for each key (password, username), found none for password');
  });
});

describe('npm run review', () => {
  test('renders a review outside dist-manifests, and prints its Secrets only on standard output', () => {
    const out = join(scratch, 'mr-3');
    const rendered = spawnSync('node', [cli, 'render', 'dev', '--slug', 'mr-3', '--out', out], { cwd: root, encoding: 'utf8' });
    expect(rendered.status, rendered.stderr).toBe(0);
    expect(rendered.stdout).toMatch(/rendered review 'mr-3' of dev into .*: \d+ objects in 16 namespaces; 29 Secrets made when applied \(2 copied from CI variables\)/);
    expect(existsSync(join(out, '00-cluster/mlflow/namespace-mr-3-mlflow.yaml'))).toBe(true);
    expect(readFileSync(join(out, '00-cluster/mlflow/rolebinding-review-deployer.yaml'), 'utf8')).toContain("# Review environment 'mr-3' of cluster dev");
    const secrets = spawnSync('node', [cli, 'secrets', 'dev', '--slug', 'mr-3'], { cwd: root, encoding: 'utf8', env: { ...process.env, ...copied } });
    expect(secrets.status, secrets.stderr).toBe(0);
    expect(secrets.stderr).toBe('');
    expect(parseAllDocuments(secrets.stdout).map((d) => d.toJS().kind)).toEqual(Array(55).fill('Secret'));
  });

  test('refuses a slug that is not a DNS label, naming the file and the argument, and writes nothing', () => {
    const out = join(scratch, 'bad');
    const r = spawnSync('node', [cli, 'render', 'dev', '--slug', 'Feature_X', '--out', out], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('clusters/dev/cluster.yaml: invalid cluster configuration\n  - review slug (--slug): expected a DNS label');
    expect(existsSync(out)).toBe(false);
  });
});
