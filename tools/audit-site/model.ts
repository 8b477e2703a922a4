// What the audit site shows, read from what the render committed: each cluster's inventory.json
// and cluster.yaml, the reviewed exceptions, and the history of its rendered tree.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { POD_SECURITY_EXCEPTIONS } from '@ml-platform/core';
import { ClusterChange, renderedHistory } from './history';

/** A reviewed exception that applies to a cluster, with its reason. */
export interface AuditException {
  /** What it relaxes: a Pod Security level, a validation rule, a plain-text hop. */
  readonly kind: string;
  /** Where: a namespace, an object, a Service. */
  readonly scope: string;
  readonly reason: string;
}

/** A Secret the cluster needs, and where its value comes from. */
export interface AuditSecret {
  readonly name: string;
  readonly namespaces: readonly string[];
  readonly keys: readonly { readonly key: string; readonly description: string }[];
  readonly source: string;
}

/** One host people reach, and who may. */
export interface AuditHost {
  readonly host: string;
  readonly ui: string;
  readonly signIn: string;
  readonly users: readonly string[];
  readonly admins: readonly string[];
  readonly backend: string;
}

export interface ClusterAudit {
  readonly name: string;
  readonly tier: string;
  readonly kubernetesVersion: string;
  readonly objectCount: number;
  readonly components: readonly { readonly name: string; readonly layer: string; readonly namespace: string; readonly versions: readonly string[] }[];
  /** Image references as the cluster runs them, each with its upstream name (registry mirror undone). */
  readonly images: readonly { readonly reference: string; readonly upstream: string }[];
  readonly hosts: readonly AuditHost[];
  readonly exceptions: readonly AuditException[];
  readonly secrets: readonly AuditSecret[];
  readonly changes: readonly ClusterChange[];
}

export interface AuditModel {
  readonly clusters: readonly ClusterAudit[];
}

/** `reference` with a registry mirror's prefix replaced by the upstream registry it mirrors. */
export function upstreamOf(reference: string, mirrors: Readonly<Record<string, string>>): string {
  for (const [upstream, mirror] of Object.entries(mirrors)) {
    if (reference.startsWith(`${mirror}/`)) return `${upstream}/${reference.slice(mirror.length + 1)}`;
  }
  return reference;
}

interface ValidationException {
  readonly rule: string;
  readonly cluster?: string;
  readonly namespace?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly reason: string;
}

function clusterAudit(root: string, name: string, history: Map<string, ClusterChange[]>): ClusterAudit {
  const inventory = JSON.parse(readFileSync(join(root, 'dist-manifests', name, 'inventory.json'), 'utf8'));
  const config = parse(readFileSync(join(root, 'clusters', name, 'cluster.yaml'), 'utf8'));
  const tier: string = config.tier ?? 'prod';
  const namespaces = new Set<string>(inventory.components.map((c: { namespace: string }) => c.namespace));
  const external = new Set<string>(config.external?.secrets ?? []);
  const validation: ValidationException[] = parse(readFileSync(join(root, 'tools/validate/exceptions.yaml'), 'utf8')).exceptions ?? [];
  const plainText: Record<string, string> = tier === 'dev' ? {} : (parse(readFileSync(join(root, 'tools/validate/plain-text-services.yaml'), 'utf8')) ?? {});
  const exceptions: AuditException[] = [
    ...Object.entries(POD_SECURITY_EXCEPTIONS)
      .filter(([ns]) => namespaces.has(ns))
      .map(([ns, e]) => ({ kind: `Pod Security ${e.level}`, scope: `namespace ${ns}`, reason: e.reason })),
    ...validation
      .filter((e) => (!e.cluster || e.cluster === name) && (!e.namespace || namespaces.has(e.namespace)))
      .map((e) => ({ kind: `validation rule ${e.rule}`, scope: [e.kind, [e.namespace, e.name].filter(Boolean).join('/')].filter(Boolean).join(' ') || 'every object', reason: e.reason })),
    ...Object.entries(plainText)
      .filter(([service]) => namespaces.has(service.split('.')[1]))
      .map(([service, reason]) => ({ kind: 'plain text inside the cluster', scope: `Service ${service.split('.')[1]}/${service.split('.')[0]}`, reason })),
  ];
  const sopsFile = (secret: string, ns: string) => existsSync(join(root, 'clusters', name, 'secrets', ns, `${secret}.yaml`));
  const vaultPaths = new Set<string>((inventory.vaultPaths ?? []).map((v: { path: string }) => v.path.split('/').pop()));
  const secrets: AuditSecret[] = inventory.secrets.map((s: Omit<AuditSecret, 'source'>) => ({
    ...s,
    source: external.has(s.name)
      ? 'made outside Git (external.secrets)'
      : vaultPaths.has(s.name)
        ? 'Vault'
        : s.namespaces.every((ns) => sopsFile(s.name, ns))
          ? `SOPS-encrypted in Git (clusters/${name}/secrets/)`
          : 'missing',
  }));
  const mirrors: Record<string, string> = config.registryMirrors ?? {};
  return {
    name,
    tier,
    kubernetesVersion: inventory.kubernetesVersion,
    objectCount: inventory.objectCount,
    components: inventory.components.map((c: ClusterAudit['components'][number]) => ({ name: c.name, layer: c.layer, namespace: c.namespace, versions: c.versions })),
    images: inventory.images.map((reference: string) => ({ reference, upstream: upstreamOf(reference, mirrors) })),
    hosts: inventory.hosts.map((h: AuditHost) => ({ host: h.host, ui: h.ui, signIn: h.signIn, users: h.users, admins: h.admins, backend: h.backend })),
    exceptions,
    secrets,
    changes: history.get(name) ?? [],
  };
}

/** Every cluster of the repository, from what the render committed and Git's history up to `ref`. */
export function auditModel(root: string, ref = 'HEAD'): AuditModel {
  const names = readdirSync(join(root, 'dist-manifests'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, 'dist-manifests', d.name, 'inventory.json')))
    .map((d) => d.name)
    .sort();
  const history = renderedHistory(root, ref);
  return { clusters: names.map((n) => clusterAudit(root, n, history)) };
}
