import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CacheScope, digest } from './cache';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** One Kubernetes object read from a manifest file. */
export interface ManifestDoc {
  /** Path shown to people: relative to the workspace when inside it. */
  readonly file: string;
  readonly absPath: string;
  /** Position of the document in its file (0-based). */
  readonly index: number;
  /** The cluster the file belongs to, when it lies under dist-manifests/<cluster>/. */
  readonly cluster?: string;
  readonly obj: Json;
}

/** A check's finding: one line for a person, one test case for JUnit. */
export interface Failure {
  readonly layer: 'yaml' | 'schema' | 'api-schema' | 'policy' | 'references' | 'access' | 'monitoring' | 'jupyterhub' | 'logging' | 'bootstrap' | 'api-server';
  readonly rule: string;
  readonly cluster?: string;
  readonly file: string;
  /** `Kind namespace/name`, or `-` when the document has none. */
  readonly object: string;
  /** Dotted field path, e.g. `spec.template.spec.containers[0].image`. */
  readonly field: string;
  readonly message: string;
  readonly hint: string;
}

/** `Kind namespace/name` of an object. */
export function describeObject(obj: Json): string {
  if (!obj || typeof obj !== 'object') return '-';
  const ns = obj.metadata?.namespace ? `${obj.metadata.namespace}/` : '';
  return `${obj.kind ?? '?'} ${ns}${obj.metadata?.name ?? '?'}`;
}

/** Every YAML file under `path` (or `path` itself), hidden folders and non-YAML files skipped. */
export function yamlFiles(path: string): string[] {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new Error(`${path} does not exist`);
  if (statSync(abs).isFile()) return [abs];
  const out: string[] = [];
  for (const entry of readdirSync(abs).sort()) {
    if (entry.startsWith('.')) continue;
    const p = join(abs, entry);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(entry)) out.push(p);
  }
  return out;
}

/** Where `npm run review` writes review environments: `.review/<cluster>/<slug>/` (docs/review.md). */
export const REVIEW_ROOT = '.review';

/**
 * The cluster a file belongs to: the folder after `dist-manifests/`, or `<cluster>/review/<slug>`
 * for a review environment's file under `.review/<cluster>/<slug>/`.
 */
export function clusterOf(absPath: string, root: string): string | undefined {
  const review = relative(join(root, REVIEW_ROOT), absPath).split(sep);
  if (review.length > 2 && review[0] !== '..' && review.slice(0, 2).every((p) => p && !p.startsWith('.'))) return `${review[0]}/review/${review[1]}`;
  const rel = relative(join(root, 'dist-manifests'), absPath);
  if (rel.startsWith('..') || rel === '') return undefined;
  const first = rel.split(sep)[0];
  return first && !first.startsWith('.') && rel.includes(sep) ? first : undefined;
}

/** The base cluster and slug of a review environment's group (`clusterOf`), or undefined for a cluster's own. */
export function reviewOf(group: string): { cluster: string; slug: string } | undefined {
  const [cluster, review, slug] = group.split('/');
  return review === 'review' && slug ? { cluster, slug } : undefined;
}

/** The documents of a file that parsed: position in the file and content. */
export type ParsedFile = [index: number, obj: Json][];

/** JSON keeps every value YAML gives a manifest, except non-finite numbers (`.inf`, `.nan`). */
const survivesJson = (value: unknown): boolean => {
  if (typeof value === 'number') return Number.isFinite(value);
  if (value === null || typeof value !== 'object') return true;
  return Object.values(value).every(survivesJson);
};

/**
 * Reads every document of every file; YAML syntax errors become failures. `parsed` keeps the
 * documents of files that parsed cleanly, by their bytes, so an unchanged file is not parsed again.
 */
export function loadManifests(files: string[], root: string, clusterOverride?: string, parsed?: CacheScope<ParsedFile>): { docs: ManifestDoc[]; failures: Failure[] } {
  const docs: ManifestDoc[] = [];
  const failures: Failure[] = [];
  for (const absPath of files) {
    const rel = relative(root, absPath);
    const file = rel.startsWith('..') ? absPath : rel;
    const cluster = clusterOverride ?? clusterOf(absPath, root);
    const text = readFileSync(absPath, 'utf8');
    const key = parsed && digest(text);
    let objects = key ? parsed.get(key) : undefined;
    if (!objects) {
      objects = [];
      let clean = true;
      parseAllDocuments(text, { uniqueKeys: true }).forEach((doc, index) => {
        if (doc.errors.length > 0) {
          clean = false;
          for (const e of doc.errors) {
            failures.push({
              layer: 'yaml', rule: 'yaml/syntax', cluster, file, object: '-', field: '-',
              message: `${e.message.split('\n')[0]} (document ${index + 1})`, hint: 'fix the YAML syntax',
            });
          }
          return;
        }
        const obj = doc.toJS();
        if (obj !== null && obj !== undefined) objects?.push([index, obj]);
      });
      if (key && clean && survivesJson(objects)) parsed.set(key, objects);
    }
    for (const [index, obj] of objects) docs.push({ file, absPath, index, cluster, obj });
  }
  return { docs, failures };
}

/** Label selector matching (matchLabels and matchExpressions). */
export function selects(selector: Json, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in l;
    if (e.operator === 'In' && !(has && e.values.includes(l[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(l[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** Kinds whose objects carry a pod template, with the path to the pod spec. */
export const POD_SPEC_PATHS: Readonly<Record<string, string[]>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** The pod spec of a workload and its field path, or undefined. */
/** Every container of a pod spec at `path`, init containers first, each with its field path. */
export function containersOf(spec: Json, path: string, kinds: readonly string[] = ['initContainers', 'containers']): [string, Json][] {
  return kinds.flatMap((kind) => (spec[kind] ?? []).map((c: Json, i: number) => [`${path}.${kind}[${i}]`, c] as [string, Json]));
}

/** The minor of a Kubernetes version such as `1.34`, as a number to order by. */
export const kubernetesMinor = (version: string): number => Number(version.split('.')[1]);

export function podSpecOf(obj: Json): { spec: Json; path: string; labels: Record<string, string> } | undefined {
  const path = POD_SPEC_PATHS[obj?.kind];
  if (!path) return undefined;
  let node = obj;
  for (const key of path) node = node?.[key];
  if (!node || typeof node !== 'object') return undefined;
  const labels = obj.kind === 'Pod' ? obj.metadata?.labels : path.length > 2 ? (() => {
    let t = obj;
    for (const key of path.slice(0, -1)) t = t?.[key];
    return t?.metadata?.labels;
  })() : undefined;
  return { spec: node, path: path.join('.'), labels: labels ?? {} };
}
