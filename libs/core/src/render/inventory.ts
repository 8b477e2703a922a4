import { LabelKeys } from '../labels';
import { Layer } from '../layers';
import { compare, SecretRequirement } from '../secrets';
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
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function imagesOf(manifest: any): string[] {
  const pod = manifest.spec?.template?.spec ?? manifest.spec?.jobTemplate?.spec?.template?.spec;
  if (!pod) return [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return [...(pod.initContainers ?? []), ...(pod.containers ?? [])].map((c: any) => c.image as string);
}

const uniqueSorted = (values: Iterable<string>) => [...new Set(values)].sort(compare);

/** Builds the inventory from the rendered objects. */
export function buildInventory(
  cluster: string,
  kubernetesVersion: string,
  objects: readonly RenderedObject[],
  secrets: SecretRequirement[],
  vaultPaths: Inventory['vaultPaths'] = [],
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
    '## Images',
    '',
    ...inv.images.map((i) => `- \`${i}\``),
    '',
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
