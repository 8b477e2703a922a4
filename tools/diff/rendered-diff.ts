// Compares the rendered tree at a base commit with the working tree: per cluster, the objects
// added, changed and removed, image versions that changed, and changes a reviewer must not miss.
// The committed dist-manifests/ is the render (the drift check guarantees it), so the base side
// is read from Git rather than rendered again.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { Json, podSpecOf, yamlFiles } from '../validate/model';

/** One object, keyed by kind, namespace and name. */
type Tree = Map<string, Map<string, { file: string; obj: Json }>>; // cluster -> key -> object

export interface ClusterDiff {
  readonly cluster: string;
  readonly added: string[];
  readonly removed: string[];
  readonly changed: { readonly object: string; readonly fields: string[] }[];
  readonly images: { readonly workload: string; readonly container: string; readonly from: string; readonly to: string }[];
  readonly risks: string[];
}

/** How an object is named in a diff: `Kind namespace/name`. */
export const keyOf = (obj: Json) => `${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name}`;

/** The kind under which the bootstrap module's resources and provider pins appear in a diff. */
export const BOOTSTRAP_KIND = 'Bootstrap';

/** True for the files of dist-manifests/<cluster>/ a diff compares: manifests and the bootstrap module. */
export function isRenderedFile(path: string): boolean {
  return path.endsWith('.yaml') || path.endsWith('/bootstrap/main.tf.json');
}

/**
 * The objects of one rendered file. The bootstrap module's resources count as objects too
 * (`Bootstrap helm_release.cert_manager`, `Bootstrap providers`), so a merge request that moves a
 * chart or a provider shows it beside the manifests it changes.
 */
export function renderedObjects(path: string, text: string): Json[] {
  if (path.endsWith('.yaml')) return parseAllDocuments(text).map((d) => d.toJS()).filter((obj) => obj?.kind);
  const module = JSON.parse(text);
  // The resource's own arguments go under spec: a Kubernetes resource's `metadata` block would
  // otherwise stand in for the object's name.
  const resources = Object.entries(module.resource ?? {}).flatMap(([type, byName]) => Object.entries(byName as Json).map(([name, body]) => ({ kind: BOOTSTRAP_KIND, metadata: { name: `${type}.${name}` }, spec: body })));
  return [{ kind: BOOTSTRAP_KIND, metadata: { name: 'providers' }, spec: { required_version: module.terraform?.required_version, ...module.terraform?.required_providers } }, ...resources];
}

function addDocs(tree: Tree, file: string, text: string): void {
  const cluster = file.split('/')[1];
  if (!cluster || !isRenderedFile(file)) return;
  const objects = tree.get(cluster) ?? new Map();
  for (const obj of renderedObjects(file, text)) objects.set(keyOf(obj), { file, obj });
  tree.set(cluster, objects);
}

/** The texts of Git objects (`<ref>:<path>` or blob ids), in order, read with one `git cat-file --batch`. */
export function gitObjects(root: string, names: readonly string[]): string[] {
  if (names.length === 0) return [];
  const out = execFileSync('git', ['cat-file', '--batch'], { cwd: root, input: `${names.join('\n')}\n`, maxBuffer: 1024 * 1024 * 1024 });
  const texts: string[] = [];
  let offset = 0;
  for (let i = 0; i < names.length; i++) {
    const headerEnd = out.indexOf(0x0a, offset);
    const size = Number(out.subarray(offset, headerEnd).toString().split(' ')[2]);
    texts.push(out.subarray(headerEnd + 1, headerEnd + 1 + size).toString('utf8'));
    offset = headerEnd + 1 + size + 1;
  }
  return texts;
}

/** The rendered tree at `ref`. */
export function treeAtRef(root: string, ref: string): Tree {
  const tree: Tree = new Map();
  const files = execFileSync('git', ['ls-tree', '-r', '--name-only', ref, '--', 'dist-manifests'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter(isRenderedFile);
  gitObjects(root, files.map((f) => `${ref}:${f}`)).forEach((text, i) => addDocs(tree, files[i], text));
  return tree;
}

/** The rendered tree in the working copy. */
export function treeOnDisk(root: string): Tree {
  const tree: Tree = new Map();
  const dir = join(root, 'dist-manifests');
  if (!existsSync(dir)) return tree;
  for (const abs of yamlFiles(dir)) addDocs(tree, relative(root, abs), readFileSync(abs, 'utf8'));
  for (const cluster of readdirSync(dir)) {
    const module = join(dir, cluster, 'bootstrap', 'main.tf.json');
    if (existsSync(module)) addDocs(tree, relative(root, module), readFileSync(module, 'utf8'));
  }
  return tree;
}

/** Dotted paths where two values differ, at most `depth` levels deep. */
function changedFields(a: Json, b: Json, path = '', depth = 4): string[] {
  if (isDeepStrictEqual(a, b)) return [];
  const objects = a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b);
  if (!objects || depth === 0) return [path || '(object)'];
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().flatMap((k) => changedFields(a[k], b[k], path ? `${path}.${k}` : k, depth - 1));
}

function containers(obj: Json): Map<string, string> {
  const pod = podSpecOf(obj)?.spec;
  return new Map([...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].map((c: Json) => [c.name, c.image]));
}

/** (apiGroup, resource, verb) grants of a Role or ClusterRole. */
function grants(obj: Json): Set<string> {
  const out = new Set<string>();
  for (const r of obj?.rules ?? []) for (const g of r.apiGroups ?? ['']) for (const res of r.resources ?? r.nonResourceURLs ?? []) for (const v of r.verbs ?? []) out.add(`${g}/${res}:${v}`);
  return out;
}

/** (direction, peer, port) flows a NetworkPolicy allows. */
function flows(obj: Json): Set<string> {
  const out = new Set<string>();
  const spec = obj?.spec ?? {};
  const add = (dir: string, rules: Json[] = []) => {
    for (const r of rules) for (const peer of r.from ?? r.to ?? [{ any: true }]) for (const port of r.ports ?? [{ any: true }]) out.add(`${dir} ${JSON.stringify(spec.podSelector)} ${JSON.stringify(peer)} ${JSON.stringify(port)}`);
  };
  add('ingress', spec.ingress);
  add('egress', spec.egress);
  return out;
}

const LEVELS = ['privileged', 'baseline', 'restricted'];

/** The differences of one cluster. */
export function diffCluster(cluster: string, base: Map<string, { obj: Json }>, head: Map<string, { obj: Json }>): ClusterDiff {
  const added = [...head.keys()].filter((k) => !base.has(k)).sort();
  const removed = [...base.keys()].filter((k) => !head.has(k)).sort();
  const changed: ClusterDiff['changed'] = [];
  const images: ClusterDiff['images'] = [];
  const risks: string[] = [];

  for (const key of removed) {
    const kind = key.split(' ')[0];
    const resource = base.get(key)?.obj.spec;
    if (kind === BOOTSTRAP_KIND && key.includes(' helm_release.')) risks.push(`uninstalls chart ${resource?.chart} (release ${resource?.name}) at the next bootstrap apply`);
    if (kind === BOOTSTRAP_KIND && key.includes(' kubernetes_secret_v1.')) risks.push(`deletes Secret ${resource?.metadata?.namespace}/${resource?.metadata?.name} at the next bootstrap apply`);
    if (kind === 'Namespace') risks.push(`deletes namespace ${key.split(' ')[1]} and everything in it`);
    if (kind === 'PersistentVolumeClaim') risks.push(`deletes ${key} and its data`);
    if (kind === 'StatefulSet') risks.push(`deletes ${key}; its volumes stay (retention policy Retain) but the service stops`);
    if (kind === 'NetworkPolicy' && key.endsWith('/default-deny')) risks.push(`removes the default deny in namespace ${key.split(' ')[1].split('/')[0]}`);
  }
  for (const key of [...head.keys()].filter((k) => base.has(k)).sort()) {
    const before = base.get(key)?.obj;
    const after = head.get(key)?.obj;
    const fields = changedFields(before, after);
    if (fields.length === 0) continue;
    changed.push({ object: key, fields });
    const kind = after.kind;
    const beforeImages = containers(before);
    for (const [name, image] of containers(after)) {
      const old = beforeImages.get(name);
      if (old && old !== image) images.push({ workload: key, container: name, from: old, to: image });
    }
    if (kind === 'StatefulSet' && !isDeepStrictEqual(before.spec?.volumeClaimTemplates, after.spec?.volumeClaimTemplates)) {
      risks.push(`${key}: volumeClaimTemplates changed; Kubernetes refuses this in place (delete the StatefulSet with --cascade=orphan and migrate the volumes)`);
    }
    if (['StatefulSet', 'Deployment', 'DaemonSet', 'Job'].includes(kind) && !isDeepStrictEqual(before.spec?.selector, after.spec?.selector)) {
      risks.push(`${key}: selector changed; the field is immutable, the object must be recreated`);
    }
    if (kind === 'Role' || kind === 'ClusterRole') {
      const old = grants(before);
      const wider = [...grants(after)].filter((g) => !old.has(g));
      if (wider.length) risks.push(`${key}: widens RBAC by ${wider.join(', ')}`);
    }
    if ((kind === 'RoleBinding' || kind === 'ClusterRoleBinding') && !isDeepStrictEqual(before.roleRef, after.roleRef)) {
      risks.push(`${key}: now binds ${after.roleRef?.kind} ${after.roleRef?.name} (was ${before.roleRef?.name})`);
    }
    if (kind === 'Namespace') {
      const level = (o: Json) => LEVELS.indexOf(o?.metadata?.labels?.['pod-security.kubernetes.io/enforce'] ?? 'privileged');
      if (level(after) < level(before)) risks.push(`${key}: loosens Pod Security from ${LEVELS[level(before)]} to ${LEVELS[level(after)]}`);
    }
    if (kind === 'NetworkPolicy') {
      const old = flows(before);
      const opened = [...flows(after)].filter((f) => !old.has(f));
      const denyLost = (before.spec?.policyTypes ?? []).some((t: string) => !(after.spec?.policyTypes ?? []).includes(t));
      if (opened.length || denyLost) risks.push(`${key}: loosens network policy (${opened.length} new allowed flow${opened.length === 1 ? '' : 's'}${denyLost ? ', fewer policy types' : ''})`);
    }
  }
  for (const key of added) {
    const obj = head.get(key)?.obj;
    if (obj.kind === 'Role' || obj.kind === 'ClusterRole') {
      const all = [...grants(obj)];
      if (all.some((g) => g.includes('*'))) risks.push(`${key}: new role with wildcard grants (${all.filter((g) => g.includes('*')).join(', ')})`);
    }
    if ((obj.kind === 'RoleBinding' || obj.kind === 'ClusterRoleBinding') && obj.roleRef?.name === 'cluster-admin') risks.push(`${key}: binds cluster-admin`);
    if (obj.kind === 'NetworkPolicy' && !key.endsWith('/default-deny') && obj.spec?.ingress?.some((r: Json) => !r.from)) risks.push(`${key}: allows ingress from anywhere`);
  }
  return { cluster, added, removed, changed, images, risks };
}

/** Diffs every cluster present on either side, sorted by cluster. */
export function diffTrees(base: Tree, head: Tree): ClusterDiff[] {
  const clusters = [...new Set([...base.keys(), ...head.keys()])].sort();
  return clusters.map((c) => diffCluster(c, base.get(c) ?? new Map(), head.get(c) ?? new Map())).filter((d) => d.added.length + d.removed.length + d.changed.length > 0);
}

/** The summary as Markdown, for the merge request. */
export function markdown(diffs: ClusterDiff[], baseRef: string): string {
  if (diffs.length === 0) return `### Rendered changes against \`${baseRef}\`\n\nNo cluster's rendered manifests change.\n`;
  const lines = [`### Rendered changes against \`${baseRef}\``, '', '| cluster | added | changed | removed | image changes | risky changes |', '| --- | --- | --- | --- | --- | --- |'];
  for (const d of diffs) lines.push(`| ${d.cluster} | ${d.added.length} | ${d.changed.length} | ${d.removed.length} | ${d.images.length} | ${d.risks.length ? `**${d.risks.length}**` : 0} |`);
  for (const d of diffs) {
    lines.push('', `#### ${d.cluster}`, '');
    if (d.risks.length) lines.push('**Risky changes**', '', ...d.risks.map((r) => `- :warning: ${r}`), '');
    if (d.images.length) lines.push('**Images**', '', ...d.images.map((i) => `- ${i.workload} \`${i.container}\`: \`${i.from}\` → \`${i.to}\``), '');
    if (d.added.length) lines.push('**Added**', '', ...d.added.map((k) => `- ${k}`), '');
    if (d.changed.length) lines.push('**Changed**', '', ...d.changed.map((c) => `- ${c.object}: ${c.fields.slice(0, 6).join(', ')}${c.fields.length > 6 ? ', …' : ''}`), '');
    if (d.removed.length) lines.push('**Removed**', '', ...d.removed.map((k) => `- ${k}`), '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
