import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { parse } from 'yaml';
import { loadClusterConfig, renderInMemory } from '@ml-platform/core';
import { platformRenderSpec } from '@ml-platform/platform';
import { execFileSync } from 'node:child_process';
import { createSecrets } from '../secrets/manage';
import { toolPaths } from '../validate/tools';
import { createCluster } from './create';

const root = join(__dirname, '../..');
let scratch: string | undefined;
afterEach(() => scratch && rmSync(scratch, { recursive: true, force: true }));

function workspace() {
  scratch = mkdtempSync(join(tmpdir(), 'ml-platform-new-cluster-'));
  writeFileSync(join(scratch, 'nx.json'), '{}');
  mkdirSync(join(scratch, 'clusters'));
  cpSync(join(root, 'clusters/stage'), join(scratch, 'clusters/stage'), { recursive: true });
  cpSync(join(root, 'clusters/cluster.schema.json'), join(scratch, 'clusters/cluster.schema.json'));
  return scratch;
}

test('creates a cluster with its own age key that renders once its Secrets exist', () => {
  const ws = workspace();
  const { bin } = toolPaths(root);
  execFileSync(join(bin, 'age-keygen'), ['-o', join(ws, 'edge.agekey')], { stdio: 'ignore' });
  const recipient = /public key: (age1\w+)/.exec(readFileSync(join(ws, 'edge.agekey'), 'utf8'))?.[1] as string;
  expect(createCluster(ws, 'edge', 'stage', recipient)).toEqual(['clusters/edge/cluster.yaml', 'clusters/edge/project.json', 'apps/edge/project.json', 'apps/edge/src/main.ts']);
  const text = readFileSync(join(ws, 'clusters/edge/cluster.yaml'), 'utf8');
  expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../cluster.schema.json');
  expect(parse(text).name).toBe('edge');
  expect(parse(text).secrets.ageRecipients).toEqual([recipient]);
  expect(createSecrets({ root: ws, bin }, 'edge')).toHaveLength(62);
  expect(JSON.parse(readFileSync(join(ws, 'apps/edge/project.json'), 'utf8')).implicitDependencies).toEqual(['cluster-edge']);
  expect(readFileSync(join(ws, 'apps/edge/src/main.ts'), 'utf8')).toContain("platformRenderSpec('edge')");
  const spec = platformRenderSpec('edge');
  const result = renderInMemory(spec, loadClusterConfig(spec, join(ws, 'clusters/edge/cluster.yaml'), 'clusters/edge/cluster.yaml'), 'clusters/edge/cluster.yaml', join(ws, 'clusters/edge/secrets'));
  expect(result.objects.some((o) => o.kind === 'Kustomization' && o.manifest.spec.path === './dist-manifests/edge/30-apps')).toBe(true);
});

test('refuses a name that exists or is not a DNS label', () => {
  const ws = workspace();
  const key = parse(readFileSync(join(ws, 'clusters/stage/cluster.yaml'), 'utf8')).secrets.ageRecipients[0];
  expect(() => createCluster(ws, 'stage', 'stage', key)).toThrowError('clusters/stage already exists');
  expect(() => createCluster(ws, 'Edge_1', 'stage', key)).toThrowError("cluster name 'Edge_1' is not a DNS label: use lower-case letters, digits and '-'");
  expect(() => createCluster(ws, 'edge', 'qa', key)).toThrowError('clusters/qa/cluster.yaml does not exist; pass --from with an existing cluster');
});
