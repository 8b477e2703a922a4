import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A file of the rendered tree: path relative to the cluster folder, and its content. */
export interface OutputFile {
  readonly path: string;
  readonly content: string;
}

/**
 * Replaces `<outRoot>/<cluster>` with exactly `files`. The new tree is written beside the old
 * one and swapped in with renames, so a failure while writing leaves the committed tree as it
 * was, and files the render no longer produces disappear.
 */
export function writeTreeAtomically(outRoot: string, cluster: string, files: readonly OutputFile[]): void {
  const target = join(outRoot, cluster);
  const staging = join(outRoot, `.${cluster}.rendering`);
  const previous = join(outRoot, `.${cluster}.previous`);
  rmSync(staging, { recursive: true, force: true });
  rmSync(previous, { recursive: true, force: true });
  try {
    for (const file of files) {
      const path = join(staging, file.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.content);
    }
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  if (existsSync(target)) renameSync(target, previous);
  renameSync(staging, target);
  rmSync(previous, { recursive: true, force: true });
}

/** Writes one file by renaming a finished temporary file over it. */
export function writeFileAtomically(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.rendering`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}
