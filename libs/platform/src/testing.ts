// Helpers for tests of cluster.yaml as the render reads it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadClusterConfig } from '@ml-platform/core';
import { platformRenderSpec } from './platform';

const root = join(__dirname, '../../..');

/**
 * A function that returns the error loading a cluster's committed cluster.yaml after `edit`, as
 * the render reports it (file and key paths); it throws when the edited file loads. Call it in a
 * describe block: its scratch folder goes with the block.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function configErrorsAfter(topic: string): (cluster: string, edit: (raw: any) => void) => string {
  const scratch = mkdtempSync(join(tmpdir(), `ml-platform-${topic}-config-`));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  return (cluster, edit) => {
    const raw = parse(readFileSync(join(root, 'clusters', cluster, 'cluster.yaml'), 'utf8'));
    edit(raw);
    const file = join(scratch, `${cluster}.yaml`);
    writeFileSync(file, stringify(raw));
    try {
      loadClusterConfig(platformRenderSpec(cluster), file, `clusters/${cluster}/cluster.yaml`);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('the edited cluster.yaml loaded without an error');
  };
}
