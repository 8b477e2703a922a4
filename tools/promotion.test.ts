// Promotion: a version pinned in one cluster's cluster.yaml changes that cluster alone (MLflow,
// and the version its home page shows), so a new MLflow goes dev -> stage -> prod by three small
// merge requests (docs/bootstrap.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import { renderInMemory } from '@ml-platform/core';
import { MLFLOW_IMAGE } from '@ml-platform/mlflow';
import { clusterConfigSchema, platformRenderSpec } from '@ml-platform/platform';
import { diffCluster, isRenderedFile, keyOf, renderedObjects, treeOnDisk } from './diff/rendered-diff';

const root = join(__dirname, '..');
const committed = treeOnDisk(root);
const NEXT = 'v3.17.0-full';

function renderWithPin(cluster: string) {
  const raw = parse(readFileSync(join(root, 'clusters', cluster, 'cluster.yaml'), 'utf8'));
  raw.images = { ...(raw.images ?? {}), mlflow: { tag: NEXT } };
  const { objects, files } = renderInMemory(platformRenderSpec(cluster), clusterConfigSchema.parse(raw));
  const tree = new Map(objects.map((o) => [`${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`, { obj: o.manifest }]));
  // The bootstrap module is part of the rendered tree too: an image pin must leave it alone.
  for (const file of files.map((f) => ({ ...f, path: `dist-manifests/${cluster}/${f.path}` })).filter((f) => isRenderedFile(f.path) && !f.path.endsWith('.yaml'))) {
    for (const obj of renderedObjects(file.path, file.content)) tree.set(keyOf(obj), { obj });
  }
  return tree;
}

test.each(['dev', 'stage', 'prod'])('pinning the next MLflow in %s changes only MLflow there, and the version the home page shows', (cluster) => {
  const pinned = renderWithPin(cluster);
  const diff = diffCluster(cluster, committed.get(cluster) ?? new Map(), pinned);
  expect(diff.added).toEqual([]);
  expect(diff.removed).toEqual([]);
  // The home page lists MLflow with the version it runs: its page changes, its server does not.
  const page = diff.changed.find((c) => c.object === 'ConfigMap home/home-site');
  expect(page?.fields).toEqual(['data.index.html']);
  expect((pinned.get('ConfigMap home/home-site')?.obj as { data: Record<string, string> }).data['index.html']).toContain(`<code>${NEXT}</code>`);
  // The Deployment rolls to the new image; the other MLflow objects (its Services, ...) only carry the new version label.
  for (const c of diff.changed.filter((d) => d !== page)) {
    expect(c.object).toMatch(/^\w+ mlflow\/mlflow(-headless)?$/);
    if (!c.object.startsWith('Deployment')) expect(c.fields).toEqual(['metadata.labels.app.kubernetes.io/version']);
  }
  expect(diff.changed.map((c) => c.object)).toContain('Deployment mlflow/mlflow');
  // The server and its certificate reloader, which runs MLflow's image.
  expect(diff.images.map((i) => i.container).sort()).toEqual(['mlflow', 'reload-on-renewal']);
  for (const image of diff.images) expect(image).toMatchObject({ from: expect.stringContaining(`:${MLFLOW_IMAGE.tag}`), to: expect.stringContaining(`:${NEXT}`) });
  expect(diff.risks).toEqual([]);
});
