// The bootstrap layer of validation: OpenTofu loads each rendered module, and a planted defect
// of each kind it must catch is caught.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { BOOTSTRAP_MODULE, checkBootstrapModule } from './validate/bootstrap';
import { toolPaths } from './validate/tools';

const root = join(__dirname, '..');
const tofu = join(toolPaths(root).bin, 'tofu');
const scratch = mkdtempSync(join(tmpdir(), 'ml-platform-bootstrap-check-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A workspace holding prod's rendered module after `edit` of its JSON text. */
function plantedIn(name: string, edit: (text: string) => string): string {
  const workspace = join(scratch, name);
  mkdirSync(join(workspace, 'dist-manifests', 'prod', 'bootstrap'), { recursive: true });
  const text = readFileSync(join(root, 'dist-manifests', 'prod', BOOTSTRAP_MODULE), 'utf8');
  const planted = edit(text);
  expect(planted).not.toBe(text);
  writeFileSync(join(workspace, 'dist-manifests', 'prod', BOOTSTRAP_MODULE), planted);
  return workspace;
}

describe('tofu loads the rendered bootstrap modules', () => {
  test.each(['dev', 'stage', 'prod'])('%s: no problem but the providers it cannot build here', async (cluster) => {
    const workspace = join(scratch, cluster);
    cpSync(join(root, 'dist-manifests', cluster, 'bootstrap'), join(workspace, 'dist-manifests', cluster, 'bootstrap'), { recursive: true });
    expect(await checkBootstrapModule(workspace, cluster, tofu)).toEqual([]);
  });

  test('catches a condition written as text, not as an expression', async () => {
    const workspace = plantedIn('condition', (text) => text.replace('"${startswith(var.sops_age_key, \\"AGE-SECRET-KEY-1\\")}"', '"startswith(var.sops_age_key, \\"AGE-SECRET-KEY-1\\")"'));
    const [failure, ...more] = await checkBootstrapModule(workspace, 'prod', tofu);
    expect(more.length).toBeLessThanOrEqual(1);
    expect(failure).toMatchObject({ layer: 'bootstrap', rule: 'bootstrap/tofu', cluster: 'prod', file: 'dist-manifests/prod/bootstrap/main.tf.json' });
    expect(failure.message).toMatch(/tofu init: Invalid (variable )?validation (condition|expression)/);
  });

  test('catches an argument the block does not have', async () => {
    const workspace = plantedIn('extraneous', (text) => text.replace('"required_version"', '"required_versions"'));
    const failures = await checkBootstrapModule(workspace, 'prod', tofu);
    expect(failures.map((f) => f.message).join('\n')).toContain('Extraneous JSON object property');
  });

  test('catches a variable of a type that does not exist', async () => {
    const workspace = plantedIn('type', (text) => text.replace('"type": "number"', '"type": "integer"'));
    const failures = await checkBootstrapModule(workspace, 'prod', tofu);
    expect(failures.map((f) => f.message).join('\n')).toMatch(/Invalid type specification/);
  });
});
