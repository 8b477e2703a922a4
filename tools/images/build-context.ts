// The images this repository builds (images/<name>/): their build contexts and what pins them.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerImage } from '@ml-platform/core';

/** Every file of a build context, relative to it, sorted by code point (locale-independent). */
function contextFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix))
    .flatMap((name) => {
      const path = prefix ? `${prefix}/${name}` : name;
      return statSync(join(dir, path)).isDirectory() ? contextFiles(dir, path) : [path];
    })
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** SHA-256 over a build context's files, paths and contents: what an image tag must stand for. */
export function contextDigest(root: string, context: string): string {
  const dir = join(root, context);
  const hash = createHash('sha256');
  for (const file of contextFiles(dir)) hash.update(file).update('\0').update(readFileSync(join(dir, file))).update('\0');
  return `sha256:${hash.digest('hex')}`;
}

/** What is wrong with the declared builds: a missing context or Containerfile, a changed context under an old tag. */
export function checkBuiltImages(root: string, images: readonly ContainerImage[]): string[] {
  return images.flatMap((image) => {
    const build = image.build;
    if (!build) return [];
    if (!existsSync(join(root, build.context, 'Containerfile'))) return [`image '${image.key}': ${build.context}/Containerfile does not exist`];
    const actual = contextDigest(root, build.context);
    if (actual === build.contextDigest) return [];
    return [
      `image '${image.key}': ${build.context} changed since tag ${image.tag} was declared; give it a new tag and set contextDigest to '${actual}' (a tag must always name the same build)`,
    ];
  });
}
