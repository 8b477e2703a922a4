// The images this repository builds (images/<name>/): their build contexts and what pins them.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerImage } from '@ml-platform/core';

/**
 * The patterns of a context's `.containerignore`, which buildah also reads: what it leaves out of
 * the build leaves the digest too (tests, local environments). Supported: `#` comments, `*`
 * within a path segment, `**` across segments, a trailing `/` for a folder and all below it.
 */
function ignored(dir: string): (path: string) => boolean {
  const file = join(dir, '.containerignore');
  if (!existsSync(file)) return () => false;
  const patterns = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((p) => {
      const folder = p.endsWith('/');
      const body = p
        .replace(/\/+$/, '')
        .split('/')
        .map((seg) => (seg === '**' ? '(?:.*/)?' : `${seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}/`))
        .join('')
        .replace(/\/$/, '');
      return new RegExp(`^${body}${folder ? '/' : '$'}`);
    });
  return (path) => patterns.some((re) => re.test(path) || re.test(`${path}/`));
}

/** Every file of a build context that the build sees, relative to it, sorted by code point (locale-independent). */
function contextFiles(dir: string, skip: (path: string) => boolean, prefix = ''): string[] {
  return readdirSync(join(dir, prefix))
    .flatMap((name) => {
      const path = prefix ? `${prefix}/${name}` : name;
      if (skip(path)) return [];
      return statSync(join(dir, path)).isDirectory() ? contextFiles(dir, skip, path) : [path];
    })
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** SHA-256 over the files a build context gives the build, paths and contents: what an image tag must stand for. */
export function contextDigest(root: string, context: string): string {
  const dir = join(root, context);
  const hash = createHash('sha256');
  for (const file of contextFiles(dir, ignored(dir))) hash.update(file).update('\0').update(readFileSync(join(dir, file))).update('\0');
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
