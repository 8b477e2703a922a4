// The change history of each cluster's rendered tree, from Git: every commit that changed
// dist-manifests/<cluster>/, with what it added, changed and removed, the images it moved and the
// changes `npm run diff` flags as risky. Only the files a commit changed are read, from one
// `git log --raw` and one `git cat-file --batch`, so the whole history costs two processes.
import { execFileSync } from 'node:child_process';
import { ClusterDiff, diffCluster, gitObjects, isRenderedFile, keyOf, renderedObjects } from '../diff/rendered-diff';
import { Json } from '../validate/model';

/** One commit's change to one cluster. */
export interface ClusterChange {
  readonly commit: string;
  readonly date: string;
  readonly author: string;
  readonly subject: string;
  /** `group/project!iid` when the commit message names its merge request (GitLab's merge commits do). */
  readonly mergeRequest?: string;
  readonly diff: ClusterDiff;
}

const NULL_BLOB = /^0+$/;
const RECORD = '\x1e';
const FIELD = '\x1f';

interface RawCommit {
  readonly commit: string;
  readonly date: string;
  readonly author: string;
  readonly subject: string;
  readonly body: string;
  /** Changed YAML files under dist-manifests/: path, blob before, blob after (undefined when absent). */
  readonly files: { readonly path: string; readonly before?: string; readonly after?: string }[];
}

function commitsOf(root: string, ref: string): RawCommit[] {
  const out = execFileSync('git', ['log', ref, '--raw', '--no-abbrev', '--no-renames', `--format=${RECORD}%H${FIELD}%aI${FIELD}%an${FIELD}%s${FIELD}%b${FIELD}`, '--', 'dist-manifests'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return out
    .split(RECORD)
    .filter((r) => r.trim())
    .map((record) => {
      const [commit, date, author, subject, body, raw] = record.split(FIELD);
      const files = (raw ?? '')
        .split('\n')
        .filter((l) => l.startsWith(':'))
        .map((l) => {
          const [meta, path] = l.split('\t');
          const [, , before, after] = meta.split(' ');
          return { path, before: NULL_BLOB.test(before) ? undefined : before, after: NULL_BLOB.test(after) ? undefined : after };
        })
        .filter((f) => isRenderedFile(f.path));
      return { commit, date, author, subject, body, files };
    });
}

/** The objects of the blobs (id and the path it was at), each blob parsed once however many commits show it. */
function objectsOf(blobs: { id?: string; path: string }[], texts: Map<string, string>, parsed: Map<string, Json[]>): Map<string, { obj: Json }> {
  const objects = new Map<string, { obj: Json }>();
  for (const { id, path } of blobs) {
    if (id === undefined) continue;
    let docs = parsed.get(id);
    if (!docs) {
      docs = renderedObjects(path, texts.get(id) ?? '');
      parsed.set(id, docs);
    }
    for (const obj of docs) objects.set(keyOf(obj), { obj });
  }
  return objects;
}

/**
 * Each cluster's changes, newest first, from `ref`'s history. A commit's diff compares the
 * objects of the files it changed, before and after: what `npm run diff` would have shown on
 * its merge request.
 */
export function renderedHistory(root: string, ref = 'HEAD'): Map<string, ClusterChange[]> {
  const commits = commitsOf(root, ref);
  const ids = [...new Set(commits.flatMap((c) => c.files.flatMap((f) => [f.before, f.after]).filter((id): id is string => id !== undefined)))];
  const texts = new Map(gitObjects(root, ids).map((text, i) => [ids[i], text]));
  const history = new Map<string, ClusterChange[]>();
  const parsed = new Map<string, Json[]>();
  for (const c of commits) {
    const byCluster = new Map<string, RawCommit['files']>();
    for (const f of c.files) {
      const cluster = f.path.split('/')[1];
      byCluster.set(cluster, [...(byCluster.get(cluster) ?? []), f]);
    }
    const mergeRequest = /See merge request (\S+![0-9]+)/.exec(c.body)?.[1];
    for (const [cluster, files] of byCluster) {
      const before = objectsOf(files.map((f) => ({ id: f.before, path: f.path })), texts, parsed);
      const after = objectsOf(files.map((f) => ({ id: f.after, path: f.path })), texts, parsed);
      const change: ClusterChange = { commit: c.commit, date: c.date, author: c.author, subject: c.subject, ...(mergeRequest ? { mergeRequest } : {}), diff: diffCluster(cluster, before, after) };
      history.set(cluster, [...(history.get(cluster) ?? []), change]);
    }
  }
  return history;
}
