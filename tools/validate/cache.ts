// Results of the expensive checks, kept by content: a document whose bytes, schemas, tool build
// and checking code are unchanged gets the verdict it got before instead of being checked again.
// One JSON file per scope (a layer and everything besides the document that decides its result),
// written atomically; entries nobody asked for in two weeks are dropped when a scope is saved.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Entries unused for longer than this are dropped; scope files untouched for longer are deleted. */
const KEEP_DAYS = 14;
/** Bump when the stored shape changes. */
const FORMAT = 1;

interface Entry<T> {
  readonly v: T;
  /** Day (since the epoch) the entry was last used. */
  d: number;
}

/** A hex SHA-256 of the parts, each length-prefixed so that no two lists of parts collide. */
export function digest(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(`${Buffer.byteLength(p)}:`).update(p);
  return hash.digest('hex');
}

let ownCode: Buffer | undefined;
/** The checking code (the bundle when bundled): a change to how verdicts are read invalidates them. */
export const checkingCode = () => (ownCode ??= readFileSync(__filename));

/** A digest of the named files' contents and the checking code, or undefined when a file is missing. */
export function filesDigest(...files: string[]): string | undefined {
  if (!files.every((f) => existsSync(f))) return undefined;
  return digest(checkingCode(), ...files.flatMap((f) => [basename(f), readFileSync(f)]));
}

/** The results of one scope, e.g. kubeconform against the 1.28 schemas. */
export class CacheScope<T> {
  private readonly entries: Map<string, Entry<T>>;
  private dirty = false;
  private readonly today = Math.floor(Date.now() / DAY_MS);

  constructor(private readonly file: string | undefined) {
    this.entries = new Map(file ? readEntries<T>(file) : []);
  }

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.d !== this.today) {
      entry.d = this.today;
      this.dirty = true;
    }
    return entry.v;
  }

  set(key: string, value: T): void {
    if (!this.file) return;
    this.entries.set(key, { v: value, d: this.today });
    this.dirty = true;
  }

  save(): void {
    if (!this.file || !this.dirty) return;
    const kept = [...this.entries].filter(([, e]) => this.today - e.d <= KEEP_DAYS);
    const temp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify({ format: FORMAT, entries: Object.fromEntries(kept) }));
    // Two validate runs at once: the later rename wins and the other's new entries are lost,
    // which only costs a re-check.
    renameSync(temp, this.file);
    this.dirty = false;
  }
}

function readEntries<T>(file: string): [string, Entry<T>][] {
  if (!existsSync(file)) return [];
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    return stored?.format === FORMAT ? Object.entries(stored.entries ?? {}) : [];
  } catch {
    // A torn or hand-edited file is only a lost cache: start the scope afresh.
    return [];
  }
}

/** A folder of cache scopes, or a disabled cache when `dir` is undefined. */
export class ResultCache {
  private readonly scopes = new Map<string, CacheScope<unknown>>();

  constructor(private readonly dir: string | undefined) {
    if (dir) {
      mkdirSync(dir, { recursive: true });
      pruneOldScopes(dir);
    }
  }

  get enabled(): boolean {
    return this.dir !== undefined;
  }

  /**
   * The scope for `name` under `fingerprint` (everything besides the document that decides a
   * result). An undefined fingerprint means the inputs cannot be identified: nothing is cached.
   */
  scope<T>(name: string, fingerprint: string | undefined): CacheScope<T> {
    const file = this.dir && fingerprint ? join(this.dir, `${name}-${fingerprint.slice(0, 16)}.json`) : undefined;
    const id = file ?? `${name}-uncached`;
    let scope = this.scopes.get(id);
    if (!scope) {
      scope = new CacheScope<unknown>(file);
      this.scopes.set(id, scope);
    }
    return scope as CacheScope<T>;
  }

  save(): void {
    for (const scope of this.scopes.values()) scope.save();
  }
}

function pruneOldScopes(dir: string): void {
  const cutoff = Date.now() - KEEP_DAYS * DAY_MS;
  for (const f of readdirSync(dir)) {
    const path = join(dir, f);
    if (statSync(path).mtimeMs < cutoff) rmSync(path, { force: true });
  }
}
