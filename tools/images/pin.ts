// Pins a cluster's images by digest: each image the cluster runs is resolved, through the
// cluster's own registry mirrors, from its tag to the digest of its manifest (the index of a
// multi-platform image), and written to the cluster's pins in cluster.yaml beside the tag.
// crane does the registry work (tokens, docker credentials, HEAD with the manifest media types).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pLimit from 'p-limit';
import { isMap, isScalar, parseDocument, Scalar, YAMLMap } from 'yaml';
import { clusterImages, ClusterBaseConfig, ClusterRenderSpec, ImageRef, loadClusterConfig, parseConfigText, writeFileAtomically } from '@ml-platform/core';

const run = promisify(execFile);
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** What to pin and with what. */
export interface PinImagesOptions {
  readonly root: string;
  readonly spec: ClusterRenderSpec<ClusterBaseConfig>;
  /** The crane binary (tools/install-tools.sh builds it into .tools/bin). */
  readonly crane: string;
  /**
   * Only these catalog keys.
   *
   * @default - every image the cluster runs
   */
  readonly only?: readonly string[];
  /**
   * Resolve images that already have a digest again (after a registry rebuilt a tag, which a
   * site should never allow, or to confirm the pins).
   *
   * @default false
   */
  readonly refresh?: boolean;
}

/** One image's outcome. */
export interface PinOutcome {
  readonly key: string;
  /** What was resolved: the mirror's repository and the tag. */
  readonly reference: string;
  readonly digest?: string;
  /** Why it could not be resolved. */
  readonly error?: string;
}

export interface PinResult {
  /** cluster.yaml, relative to the root. */
  readonly file: string;
  readonly resolved: PinOutcome[];
  readonly failed: PinOutcome[];
  /** Images left alone: they already carry a digest. */
  readonly kept: ImageRef[];
  /** Whether cluster.yaml was written (only when every requested image resolved). */
  readonly written: boolean;
}

/** The manifest digest `reference` (`host/repo:tag`) has now, as the registry reports it. */
export async function resolveDigest(crane: string, reference: string): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await run(crane, ['digest', reference], { timeout: 60_000 }));
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const said = (err.stderr ?? '').trim().split('\n').filter(Boolean).pop() ?? err.message;
    throw new Error(said.replace(/^Error: /, ''));
  }
  const digest = stdout.trim();
  if (!DIGEST.test(digest)) throw new Error(`the registry answered '${digest}', which is not a sha256 digest`);
  return digest;
}

/**
 * Resolves the cluster's images and writes `images.<key>: { tag, digest }` into its cluster.yaml.
 * All or nothing: when one image cannot be resolved, the file is left as it was.
 */
export async function pinImages(options: PinImagesOptions): Promise<PinResult> {
  const file = join('clusters', options.spec.cluster, 'cluster.yaml');
  const path = join(options.root, file);
  const config = loadClusterConfig(options.spec, path, file);
  const images = clusterImages(options.spec, config);
  const unknown = (options.only ?? []).filter((k) => !images.some((i) => i.key === k));
  if (unknown.length > 0) {
    throw new Error(`cluster '${options.spec.cluster}' runs no image ${unknown.map((k) => `'${k}'`).join(', ')}; it runs: ${images.map((i) => i.key).join(', ')}`);
  }
  const wanted = images.filter((i) => (options.only ? options.only.includes(i.key) : options.refresh || !i.digest));
  const limit = pLimit(4);
  const outcomes = await Promise.all(
    wanted.map((image) =>
      limit(async (): Promise<PinOutcome> => {
        const reference = `${image.repository}:${image.tag}`;
        try {
          return { key: image.key, reference, digest: await resolveDigest(options.crane, reference) };
        } catch (e) {
          return { key: image.key, reference, error: (e as Error).message };
        }
      }),
    ),
  );
  const resolved = outcomes.filter((o) => o.digest);
  const failed = outcomes.filter((o) => o.error);
  const kept = images.filter((i) => !wanted.includes(i));
  if (failed.length > 0 || resolved.length === 0) return { file, resolved, failed, kept, written: false };

  const tags = new Map(wanted.map((i) => [i.key, i.tag]));
  const updated = withPins(readFileSync(path, 'utf8'), resolved.map((o) => ({ key: o.key, tag: tags.get(o.key) as string, digest: o.digest as string })));
  // The pins must load like any hand edit before the file is replaced.
  parseConfigText(updated, options.spec.schema, file);
  writeFileAtomically(path, updated);
  return { file, resolved, failed, kept, written: true };
}

/** cluster.yaml with `images.<key>` set to each tag and digest; comments and order are kept. */
export function withPins(text: string, pins: readonly { key: string; tag: string; digest: string }[]): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`cannot edit cluster.yaml: ${doc.errors[0].message}`);
  const top = doc.contents as unknown;
  if (!isMap(top)) throw new Error('cannot edit cluster.yaml: expected a mapping at the top level');
  if (top.has('images') && !isMap(top.get('images', true))) {
    top.set('images', new YAMLMap()); // `images:` with nothing under it
  } else if (!top.has('images')) {
    const pair = doc.createPair('images', new YAMLMap());
    (pair.key as Scalar).commentBefore = " Images pinned by digest: each tag with the manifest digest 'npm run images -- pin' resolved it to.";
    // After the registry settings, where the schema places it.
    const after = ['imageDigests', 'registryMirrors'].map((k) => top.items.findIndex((p) => isScalar(p.key) && p.key.value === k)).find((i) => i >= 0);
    top.items.splice(after === undefined ? top.items.length : after + 1, 0, pair);
  }
  const images = top.get('images', true);
  if (!isMap(images)) throw new Error('cannot edit cluster.yaml: expected images to be a mapping');
  for (const pin of [...pins].sort((a, b) => a.key.localeCompare(b.key))) {
    images.set(pin.key, doc.createNode({ tag: pin.tag, digest: pin.digest }));
  }
  return doc.toString({ lineWidth: 0 });
}
