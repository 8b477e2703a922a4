// What the checks judge when no path is given: every cluster's rendered tree, and a review
// environment of each cluster that holds them (docs/review.md).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadClusterConfig, writeTreeAtomically } from '@ml-platform/core';
import { platformRenderSpec, REVIEW_SLUG_MAX, renderReview } from '@ml-platform/platform';
import { REVIEW_ROOT } from './model';

/** The slug the checks render reviews with: as long as a slug may be, so they see a review's longest names. */
export const SAMPLE_REVIEW_SLUG = 'mr-0-longest-review-slug';
if (SAMPLE_REVIEW_SLUG.length !== REVIEW_SLUG_MAX) throw new Error(`SAMPLE_REVIEW_SLUG must be ${REVIEW_SLUG_MAX} characters long, the longest slug a review may have`);

/** The clusters rendered under dist-manifests/. */
export function renderedClusters(root: string): string[] {
  return readdirSync(join(root, 'dist-manifests')).filter((d) => !d.startsWith('.') && existsSync(join(root, 'dist-manifests', d, 'inventory.json')));
}

/**
 * Every cluster's rendered tree, and for each cluster with a `review` section, its review
 * `SAMPLE_REVIEW_SLUG` rendered now from the working tree into `.review/<cluster>/<slug>/`
 * (ignored by Git), as a merge request's job would render it.
 */
export function defaultTargets(root: string): string[] {
  const clusters = renderedClusters(root);
  const reviews = clusters.flatMap((cluster) => {
    const configName = `clusters/${cluster}/cluster.yaml`;
    const configFile = join(root, configName);
    if (!existsSync(configFile) || !loadClusterConfig(platformRenderSpec(cluster), configFile, configName).review) return [];
    writeTreeAtomically(join(root, REVIEW_ROOT, cluster), SAMPLE_REVIEW_SLUG, renderReview(cluster, SAMPLE_REVIEW_SLUG, configFile, configName).files);
    return [join(root, REVIEW_ROOT, cluster, SAMPLE_REVIEW_SLUG)];
  });
  return [...clusters.map((d) => join(root, 'dist-manifests', d)), ...reviews];
}
