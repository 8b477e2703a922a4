import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** A file of the rendered tree: path relative to the cluster folder, and its content. */
export interface OutputFile {
  readonly path: string;
  readonly content: string;
}

/**
 * Replaces `<outRoot>/<cluster>` with exactly `files`. The new tree is written beside the old
 * one and swapped in with renames, so a failure while writing leaves the committed tree as it
 * was, and files the render no longer produces disappear. A file whose content is unchanged is
 * hard-linked from the old tree instead of written again: on this project's disks a link costs
 * a tenth of a write, and most files of a re-render are unchanged.
 */
export function writeTreeAtomically(outRoot: string, cluster: string, files: readonly OutputFile[]): void {
  const target = join(outRoot, cluster);
  if (treeHoldsExactly(target, files)) return;
  const staging = join(outRoot, `.${cluster}.rendering`);
  const previous = join(outRoot, `.${cluster}.previous`);
  rmSync(staging, { recursive: true, force: true });
  rmSync(previous, { recursive: true, force: true });
  const directories = new Set<string>([outRoot]);
  // Parents first, each once: a recursive mkdir per file costs four times as much.
  const makeDirectory = (directory: string): void => {
    if (directories.has(directory)) return;
    makeDirectory(dirname(directory));
    mkdirSync(directory, { recursive: directory === staging });
    directories.add(directory);
  };
  try {
    for (const file of files) {
      const path = join(staging, file.path);
      makeDirectory(dirname(path));
      const old = join(target, file.path);
      if (unchanged(old, file.content)) linkSync(old, path);
      else writeFileSync(path, file.content);
    }
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  if (existsSync(target)) renameSync(target, previous);
  renameSync(staging, target);
  rmSync(previous, { recursive: true, force: true });
}

/** True when `directory` holds exactly `files`, nothing else: a re-render that changes nothing. */
function treeHoldsExactly(directory: string, files: readonly OutputFile[]): boolean {
  let present: string[];
  try {
    present = readdirSync(directory, { recursive: true, withFileTypes: true })
      .filter((entry) => !entry.isDirectory())
      .map((entry) => relative(directory, join(entry.parentPath, entry.name)));
  } catch {
    return false;
  }
  if (present.length !== files.length) return false;
  const wanted = new Set(files.map((f) => f.path));
  return present.every((p) => wanted.has(p)) && files.every((f) => unchanged(join(directory, f.path), f.content));
}

/** True when `path` is a file that holds exactly `content`. */
function unchanged(path: string, content: string): boolean {
  try {
    return readFileSync(path, 'utf8') === content;
  } catch {
    return false;
  }
}

/** Writes one file by renaming a finished temporary file over it. */
export function writeFileAtomically(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.rendering`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}
