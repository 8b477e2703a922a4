// The audit site's pages: an overview with the version and image matrices across clusters, and
// one page per cluster (inventory, hosts and who may reach them, exceptions with their reasons,
// Secrets and where they come from, the change history). Plain HTML, no script.
import { escapeHtml } from '@ml-platform/core';
import { AuditModel, ClusterAudit } from './model';

const TIERS = ['dev', 'stage', 'prod'];
/** Clusters in promotion order: dev, then stage, then prod, then by name. */
const inPromotionOrder = (clusters: readonly ClusterAudit[]) => [...clusters].sort((a, b) => TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier) || a.name.localeCompare(b.name));

const e = escapeHtml;
const code = (text: string) => `<code>${e(text)}</code>`;
const list = (items: readonly string[]) => (items.length > 0 ? items.map(code).join(', ') : '—');

function page(title: string, body: string[]): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '  <meta charset="utf-8">',
    '  <meta name="viewport" content="width=device-width, initial-scale=1">',
    `  <title>${e(title)}</title>`,
    '  <link rel="icon" href="data:,">',
    '  <link rel="stylesheet" href="audit.css">',
    '</head>',
    '<body>',
    '  <nav aria-label="Pages"><a href="index.html">Overview</a></nav>',
    '  <main>',
    `    <h1>${e(title)}</h1>`,
    ...body.map((l) => `    ${l}`),
    '  </main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** One row of a matrix: a name and each cluster's value (undefined where the cluster lacks it). */
interface MatrixRow {
  readonly name: string;
  readonly values: readonly (string | undefined)[];
}

/** A table of `rows` across `clusters`; a row whose clusters disagree says so in words, not only by colour. */
function matrix(caption: string, first: string, clusters: readonly ClusterAudit[], rows: readonly MatrixRow[]): string[] {
  const head = `<thead><tr><th scope="col">${e(first)}</th>${clusters.map((c) => `<th scope="col"><a href="${e(c.name)}.html">${e(c.name)}</a> (${e(c.tier)})</th>`).join('')}<th scope="col">Across clusters</th></tr></thead>`;
  const body = rows.map((r) => {
    const present = r.values.filter((v): v is string => v !== undefined);
    const differs = new Set(present).size > 1;
    const cells = r.values.map((v) => `<td${differs && v !== present[0] ? ' class="lags"' : ''}>${v === undefined ? 'not run' : code(v)}</td>`).join('');
    return `<tr${differs ? ' class="differs"' : ''}><th scope="row">${e(r.name)}</th>${cells}<td>${differs ? '<strong>differs</strong>' : 'same'}</td></tr>`;
  });
  return [`<table>`, `<caption>${e(caption)}</caption>`, head, '<tbody>', ...body, '</tbody>', '</table>'];
}

/** Every component's versions, and every image's tag and digest, across clusters. */
function overview(model: AuditModel): string {
  const clusters = inPromotionOrder(model.clusters);
  const components = [...new Set(clusters.flatMap((c) => c.components.filter((x) => x.versions.length > 0).map((x) => x.name)))].sort();
  const componentRows = components.map((name) => ({ name, values: clusters.map((c) => c.components.find((x) => x.name === name)?.versions.join(', ')) }));
  // An image by its upstream repository; the cell shows what follows the repository: tag and digest.
  const repository = (upstream: string) => upstream.replace(/(@sha256:[0-9a-f]+)$/, '').replace(/:[^:/]+$/, '');
  const repositories = [...new Set(clusters.flatMap((c) => c.images.map((i) => repository(i.upstream))))].sort();
  const imageRows = repositories.map((name) => ({
    name,
    values: clusters.map((c) => {
      const found = c.images.filter((i) => repository(i.upstream) === name).map((i) => i.upstream.slice(name.length + 1));
      return found.length > 0 ? found.sort().join(', ') : undefined;
    }),
  }));
  return page('ML platform: audit report', [
    `<p>Generated from the committed render of ${clusters.length} clusters and its Git history. Promotion goes ${clusters.map((c) => e(c.name)).join(' → ')}; a row marked <strong>differs</strong> is one where the clusters run different versions, and the cells that differ from ${e(clusters[0]?.name ?? '')} are highlighted.</p>`,
    '<h2 id="clusters">Clusters</h2>',
    '<ul>',
    ...clusters.map((c) => `<li><a href="${e(c.name)}.html">${e(c.name)}</a>: tier ${e(c.tier)}, Kubernetes ${e(c.kubernetesVersion)}, ${c.objectCount} objects, ${c.hosts.length} hosts, ${c.exceptions.length} exceptions, ${c.changes.length} changes</li>`),
    '</ul>',
    '<h2 id="versions">Component versions</h2>',
    ...matrix('The version of each component in each cluster', 'Component', clusters, componentRows),
    '<h2 id="images">Images</h2>',
    ...matrix('Each image by its upstream repository: the tag (and digest, where pinned) each cluster runs', 'Repository', clusters, imageRows),
  ]);
}

function clusterPage(c: ClusterAudit): string {
  const table = (caption: string, heads: string[], rows: string[][]) => [
    '<table>',
    `<caption>${e(caption)}</caption>`,
    `<thead><tr>${heads.map((h) => `<th scope="col">${e(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map(([first, ...rest]) => `<tr><th scope="row">${first}</th>${rest.map((r) => `<td>${r}</td>`).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ];
  const changeRow = (ch: ClusterAudit['changes'][number]) => {
    const d = ch.diff;
    const what = `${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} removed${d.images.length > 0 ? `; images: ${d.images.map((i) => `${e(i.workload)} ${code(i.from.split('/').pop() ?? i.from)} → ${code(i.to.split('/').pop() ?? i.to)}`).join('; ')}` : ''}`;
    const risks = d.risks.length > 0 ? `<ul class="risks">${d.risks.map((r) => `<li><strong>risky:</strong> ${e(r)}</li>`).join('')}</ul>` : '';
    return [code(ch.commit.slice(0, 10)), e(ch.date.slice(0, 10)), e(ch.author), ch.mergeRequest ? e(ch.mergeRequest) : '—', `${e(ch.subject)}<br>${what}${risks}`];
  };
  return page(`Cluster ${c.name}`, [
    `<p>Tier ${e(c.tier)}, Kubernetes ${e(c.kubernetesVersion)}, ${c.objectCount} objects.</p>`,
    '<h2 id="inventory">Inventory</h2>',
    ...table('Each component, its layer, namespace and the versions it runs', ['Component', 'Layer', 'Namespace', 'Versions'], c.components.map((x) => [e(x.name), e(x.layer), code(x.namespace), list(x.versions)])),
    '<h2 id="hosts">Hosts and who may reach them</h2>',
    ...table('Every host people reach, how they sign in, and the GitLab groups let in', ['Host', 'Tool', 'Sign-in', 'Users', 'Admins', 'Backend'], c.hosts.map((h) => [code(h.host), e(h.ui), e(h.signIn), list(h.users), list(h.admins), code(h.backend)])),
    '<h2 id="exceptions">Exceptions</h2>',
    ...table('Every reviewed exception that applies here, with its reason', ['What', 'Where', 'Why'], c.exceptions.map((x) => [e(x.kind), e(x.scope), e(x.reason)])),
    '<h2 id="secrets">Secrets</h2>',
    ...table('Every Secret the cluster needs, its keys, and where its value comes from', ['Secret', 'Namespaces', 'Keys', 'Comes from'], c.secrets.map((s) => [code(s.name), list(s.namespaces), s.keys.map((k) => `${code(k.key)}: ${e(k.description)}`).join('<br>'), e(s.source)])),
    '<h2 id="changes">Changes</h2>',
    ...table(`Every commit that changed dist-manifests/${c.name}/, newest first; risky changes as npm run diff flags them`, ['Commit', 'Date', 'Author', 'Merge request', 'What changed'], c.changes.map(changeRow)),
  ]);
}

const STYLE = `body { margin: 0 auto; max-width: 90rem; padding: 1rem 1.5rem 3rem; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.5; color: #1b1f24; background: #ffffff; }
a { color: #0a4fa3; }
a:focus-visible { outline: 3px solid #0a4fa3; outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 2rem; }
caption { text-align: left; font-style: italic; padding-bottom: 0.5rem; }
th, td { text-align: left; vertical-align: top; padding: 0.4rem; border-bottom: 1px solid #d0d7de; }
thead th { background: #f6f8fa; }
tr.differs th[scope="row"] { border-left: 4px solid #9a6700; }
td.lags { background: #fff8c5; }
ul.risks { margin: 0.25rem 0 0; padding-left: 1.25rem; color: #82071e; }
`;

/** The site's files by name: index.html, one page per cluster, the stylesheet. */
export function renderAuditSite(model: AuditModel): Record<string, string> {
  return {
    'index.html': overview(model),
    ...Object.fromEntries(model.clusters.map((c) => [`${c.name}.html`, clusterPage(c)])),
    'audit.css': STYLE,
  };
}
