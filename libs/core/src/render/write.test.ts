import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { writeTreeAtomically } from './write';

let out: string;
beforeEach(() => {
  out = mkdtempSync(join(tmpdir(), 'ml-platform-write-'));
});
afterEach(() => rmSync(out, { recursive: true, force: true }));

test('replaces the tree and drops stale files', () => {
  mkdirSync(join(out, 'dev/old'), { recursive: true });
  writeFileSync(join(out, 'dev/old/stale.yaml'), 'stale');
  writeTreeAtomically(out, 'dev', [{ path: 'a/b.yaml', content: 'new' }]);
  expect(readFileSync(join(out, 'dev/a/b.yaml'), 'utf8')).toBe('new');
  expect(existsSync(join(out, 'dev/old'))).toBe(false);
  expect(readdirSync(out)).toEqual(['dev']);
});

test('a failure while writing leaves the previous tree in place', () => {
  mkdirSync(join(out, 'dev'), { recursive: true });
  writeFileSync(join(out, 'dev/keep.yaml'), 'committed');
  // A file and a folder with the same path cannot both be written.
  expect(() =>
    writeTreeAtomically(out, 'dev', [
      { path: 'x', content: 'file' },
      { path: 'x/y.yaml', content: 'nested' },
    ]),
  ).toThrow();
  expect(readFileSync(join(out, 'dev/keep.yaml'), 'utf8')).toBe('committed');
  expect(readdirSync(out)).toEqual(['dev']);
});
