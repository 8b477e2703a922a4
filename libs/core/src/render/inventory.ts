import { ChartRef } from '../charts';
import { LabelKeys } from '../labels';
import { ACCESS_ANNOTATIONS } from '../web-ui';
import { Layer } from '../layers';
import { compare, SecretRequirement } from '../secrets';
import { SPAWNED_IMAGES_ANNOTATION } from '../workload';
import { RenderedObject } from './collect';

/** What an auditor reads about a cluster without running anything. */
export interface Inventory {
  readonly cluster: string;
  readonly kubernetesVersion: string;
  readonly objectCount: number;
  readonly components: {
    readonly name: string;
    readonly layer: string;
    readonly namespace: string;
    readonly versions: string[];
    readonly images: string[];
    readonly objects: Record<string, number>;
  }[];
  readonly images: string[];
  readonly secrets: SecretRequirement[];
  /** Vault KV paths, when secrets.backend is vault. */
  readonly vaultPaths: { path: string; keys: string[]; namespaces: string[] }[];
  /** Every host people reach, read from the routes the render wrote. */
  readonly hosts: InventoryHost[];
  /** The Helm charts the bootstrap module installs (dist-manifests/<cluster>/bootstrap/). */
  readonly charts: ChartRef[];
}

/** One UI's host, who may reach it and what to register in GitLab. */
export interface InventoryHost {
  readonly host: string;
  readonly ui: string;
  /** `oidc` (the UI signs people in with GitLab) or `proxy` (oauth2-proxy does). */
  readonly signIn: string;
  readonly users: string[];
  readonly admins: string[];
  /** The callback URL to register in the cluster's GitLab application. */
  readonly redirectUri: string;
  /** The Service behind the sign-in, `namespace/name:port`. */
  readonly backend: string;
  /** The route object, `Kind namespace/name`. */
  readonly route: string;
}

const ROUTE_KINDS = new Set(['HTTPRoute', 'Ingress']);

/** The hosts of the routes the access layer wrote, from their annotations. */
function hostsOf(objects: readonly RenderedObject[]): InventoryHost[] {
  const list = (value: string | undefined) => (value ? value.split(',').filter(Boolean) : []);
  return objects
    .filter((o) => ROUTE_KINDS.has(o.kind) && o.manifest.metadata?.annotations?.[ACCESS_ANNOTATIONS.ui])
    .map((o) => {
      const a = o.manifest.metadata.annotations as Record<string, string>;
      const host: string = o.kind === 'Ingress' ? o.manifest.spec.rules[0].host : o.manifest.spec.hostnames[0];
      return {
        host,
        ui: a[ACCESS_ANNOTATIONS.ui],
        signIn: a[ACCESS_ANNOTATIONS.signIn],
        users: list(a[ACCESS_ANNOTATIONS.users]),
        admins: list(a[ACCESS_ANNOTATIONS.admins]),
        redirectUri: a[ACCESS_ANNOTATIONS.redirectUri],
        backend: a[ACCESS_ANNOTATIONS.backend],
        route: `${o.kind} ${o.namespace}/${o.name}`,
      };
    })
    .sort((x, y) => compare(x.host, y.host));
}

/** The images a workload runs, and those of the pods it creates itself (`ml-platform.io/spawned-images`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function imagesOf(manifest: any): string[] {
  const pod = manifest.spec?.template?.spec ?? manifest.spec?.jobTemplate?.spec?.template?.spec;
  if (!pod) return [];
  const spawned: string[] = manifest.metadata?.annotations?.[SPAWNED_IMAGES_ANNOTATION]?.split(',') ?? [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return [...[...(pod.initContainers ?? []), ...(pod.containers ?? [])].map((c: any) => c.image as string), ...spawned];
}

const uniqueSorted = (values: Iterable<string>) => [...new Set(values)].sort(compare);

/** Builds the inventory from the rendered objects. */
export function buildInventory(
  cluster: string,
  kubernetesVersion: string,
  objects: readonly RenderedObject[],
  secrets: SecretRequirement[],
  vaultPaths: Inventory['vaultPaths'] = [],
  charts: readonly ChartRef[] = [],
): Inventory {
  const byComponent = new Map<string, RenderedObject[]>();
  for (const o of objects) {
    const list = byComponent.get(o.component) ?? [];
    list.push(o);
    byComponent.set(o.component, list);
  }
  const components = [...byComponent.entries()]
    .map(([name, list]) => {
      const counts: Record<string, number> = {};
      for (const kind of list.map((o) => o.kind).sort(compare)) counts[kind] = (counts[kind] ?? 0) + 1;
      const workloads = list.filter((o) => imagesOf(o.manifest).length > 0);
      return {
        name,
        // The component's own layer, not the ones its Namespace and encrypted Secrets go to.
        layer: (list.find((o) => o.layer !== Layer.CLUSTER && o.layer !== Layer.SECRETS) ?? list[0]).layer.directory,
        namespace: list.find((o) => o.kind === 'Namespace')?.name ?? list[0].namespace ?? '',
        versions: uniqueSorted(workloads.map((o) => o.manifest.metadata.labels?.[LabelKeys.VERSION]).filter(Boolean)),
        images: uniqueSorted(workloads.flatMap((o) => imagesOf(o.manifest))),
        objects: counts,
      };
    })
    .sort((a, b) => compare(a.layer + a.name, b.layer + b.name));
  return {
    cluster,
    kubernetesVersion,
    objectCount: objects.length,
    components,
    images: uniqueSorted(components.flatMap((c) => c.images)),
    secrets,
    vaultPaths,
    hosts: hostsOf(objects),
    charts: [...charts].sort((a, b) => compare(a.key, b.key)),
  };
}

/** The inventory as Markdown, for people. */
export function inventoryMarkdown(inv: Inventory, header: string): string {
  const lines = [
    `<!-- ${header} -->`,
    `# Inventory of cluster \`${inv.cluster}\``,
    '',
    `Kubernetes ${inv.kubernetesVersion}; ${inv.objectCount} objects.`,
    '',
    '## Components',
    '',
    '| component | layer | namespace | versions | objects |',
    '| --- | --- | --- | --- | --- |',
    ...inv.components.map(
      (c) =>
        `| ${c.name} | ${c.layer} | ${c.namespace} | ${c.versions.join(', ') || '-'} | ${Object.entries(c.objects)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')} |`,
    ),
    '',
    '## Hosts',
    '',
    'Every UI people reach, behind TLS and GitLab sign-in (docs/access.md). Register each redirect URI in the cluster\'s GitLab application.',
    '',
    '| host | UI | sign-in | who may use it | who administers it | redirect URI | backend |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...inv.hosts.map(
      (h) => `| ${h.host} | ${h.ui} | ${h.signIn === 'oidc' ? 'its own, with GitLab' : 'oauth2-proxy, GitLab'} | ${h.users.join(', ')} | ${h.admins.join(', ') || '-'} | ${h.redirectUri} | ${h.backend} |`,
    ),
    '',
    '## Images',
    '',
    ...inv.images.map((i) => `- \`${i}\``),
    '',
    ...(inv.charts.length
      ? [
          '## Charts installed at bootstrap',
          '',
          'Installed by the bootstrap module in `bootstrap/` before the first sync (docs/bootstrap.md).',
          '',
          '| chart | version | ships | from |',
          '| --- | --- | --- | --- |',
          ...inv.charts.map((c) => `| ${c.chart} | ${c.version} | ${c.appVersion ?? 'see the pinned chart'} | ${c.repository} |`),
          '',
        ]
      : []),
    '## Secrets this cluster needs',
    '',
    'Each must exist in every namespace listed, with the same values: SOPS-encrypted in Git (rendered, still encrypted, into 05-secrets) or, for those declared under external.secrets, created outside Git.',
    '',
    '| secret | namespaces | keys |',
    '| --- | --- | --- |',
    ...inv.secrets.map((s) => `| ${s.name} | ${s.namespaces.join(', ')} | ${s.keys.map((k) => `\`${k.key}\`: ${k.description}`).join('<br>')} |`),
    '',
    ...(inv.vaultPaths.length
      ? [
          '## Secrets read from Vault',
          '',
          'KV version 2 paths; the Vault role named after each namespace must be allowed to read them (docs/secrets.md).',
          '',
          '| path | keys | read by (namespace = Vault role) |',
          '| --- | --- | --- |',
          ...inv.vaultPaths.map((v) => `| \`${v.path}\` | ${v.keys.join(', ')} | ${v.namespaces.join(', ')} |`),
          '',
        ]
      : []),
  ];
  return lines.join('\n');
}
