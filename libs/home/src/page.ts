// The home page itself: plain HTML and one stylesheet, generated at render time from what the
// render knows (the UIs the access layer exposed, their versions and groups), so it is never
// out of date. No script: the page works with JavaScript off, and its Content-Security-Policy
// can forbid every script.
import { escapeHtml } from '@ml-platform/core';

/** One tool on the page. */
export interface HomeTool {
  /** The UI's name, e.g. `mlflow`. */
  readonly name: string;
  /** What people use it for. */
  readonly purpose: string;
  /** Where people open it, `https://<host>/`. */
  readonly url: string;
  /** The version of the software behind it (its image version). */
  readonly version: string;
  /** GitLab groups whose members may use it. */
  readonly users: readonly string[];
  /** GitLab groups whose members administer it. */
  readonly admins: readonly string[];
  /**
   * Its documentation page.
   *
   * @default - none
   */
  readonly docs?: string;
}

/** A link on the page: a status view or a first step's tool. */
export interface HomeLink {
  readonly label: string;
  readonly url: string;
}

/** One first step for a new data scientist. */
export interface FirstStep {
  readonly title: string;
  /** What to do, as plain text. */
  readonly text: string;
  /** @default - none */
  readonly link?: HomeLink;
}

/** Everything the page shows. */
export interface HomePageModel {
  readonly cluster: string;
  readonly tier: string;
  readonly kubernetesVersion: string;
  readonly tools: readonly HomeTool[];
  readonly firstSteps: readonly FirstStep[];
  /** Where to see the cluster's health: dashboards, logs, alerts. */
  readonly status: readonly HomeLink[];
  /**
   * The platform's documentation, for the footer.
   *
   * @default - none
   */
  readonly docsIndex?: string;
}

/** The files of the site, by name. */
export const HOME_FILES = { page: 'index.html', style: 'home.css' } as const;


/** Only https links: every host of the platform is behind TLS, and nothing else belongs here. */
function href(url: string): string {
  if (!/^https:\/\/[^\s"'<>]+$/.test(url)) throw new Error(`home page: expected an https:// URL, found '${url}'`);
  return escapeHtml(url);
}

const link = (l: HomeLink) => `<a href="${href(l.url)}">${escapeHtml(l.label)}</a>`;
const groups = (names: readonly string[]) => (names.length > 0 ? names.map((g) => `<code>${escapeHtml(g)}</code>`).join(', ') : 'nobody');

function toolRow(t: HomeTool): string {
  return [
    '          <tr>',
    `            <th scope="row"><a href="${href(t.url)}">${escapeHtml(t.name)}</a></th>`,
    `            <td>${escapeHtml(t.purpose)}</td>`,
    `            <td><code>${escapeHtml(t.version)}</code></td>`,
    `            <td>${groups(t.users)}${t.admins.length > 0 ? `<br><span class="admins">administered by ${groups(t.admins)}</span>` : ''}</td>`,
    `            <td>${t.docs ? `<a href="${href(t.docs)}">${escapeHtml(t.name)} docs</a>` : '—'}</td>`,
    '          </tr>',
  ].join('\n');
}

/** The page's HTML and stylesheet. Throws on a link that is not https, or two tools of one name. */
export function renderHomePage(model: HomePageModel): Readonly<Record<string, string>> {
  const names = model.tools.map((t) => t.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new Error(`home page: tool '${twice}' is listed twice`);
  const title = `ML platform · ${model.cluster}`;
  const html = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '  <meta charset="utf-8">',
    '  <meta name="viewport" content="width=device-width, initial-scale=1">',
    `  <title>${escapeHtml(title)}</title>`,
    // No favicon to fetch: a browser would otherwise ask for /favicon.ico and log its 404.
    '  <link rel="icon" href="data:,">',
    `  <link rel="stylesheet" href="${HOME_FILES.style}">`,
    '</head>',
    '<body>',
    '  <header>',
    `    <h1>${escapeHtml(title)}</h1>`,
    `    <p>Cluster <strong>${escapeHtml(model.cluster)}</strong> (tier ${escapeHtml(model.tier)}, Kubernetes ${escapeHtml(model.kubernetesVersion)}). Every tool signs you in with GitLab; the groups below decide who gets in.</p>`,
    '  </header>',
    '  <main>',
    '    <section aria-labelledby="tools">',
    '      <h2 id="tools">Tools</h2>',
    '      <table>',
    '        <caption>The tools this cluster runs, with the version it runs and who may use each</caption>',
    '        <thead><tr><th scope="col">Tool</th><th scope="col">What it is for</th><th scope="col">Version</th><th scope="col">Who may use it</th><th scope="col">Documentation</th></tr></thead>',
    '        <tbody>',
    ...model.tools.map(toolRow),
    '        </tbody>',
    '      </table>',
    '    </section>',
    ...(model.firstSteps.length > 0
      ? [
          '    <section aria-labelledby="first-steps">',
          '      <h2 id="first-steps">First steps</h2>',
          '      <ol>',
          ...model.firstSteps.map((s) => `        <li><strong>${escapeHtml(s.title)}.</strong> ${escapeHtml(s.text)}${s.link ? ` ${link(s.link)}` : ''}</li>`),
          '      </ol>',
          '    </section>',
        ]
      : []),
    ...(model.status.length > 0
      ? ['    <section aria-labelledby="status">', '      <h2 id="status">Status</h2>', '      <ul>', ...model.status.map((s) => `        <li>${link(s)}</li>`), '      </ul>', '    </section>']
      : []),
    '  </main>',
    '  <footer>',
    `    <p>Generated by the platform render from this cluster's configuration; it changes with every merge.${model.docsIndex ? ` ${link({ label: 'Platform documentation', url: model.docsIndex })}` : ''}</p>`,
    '  </footer>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
  return { [HOME_FILES.page]: html, [HOME_FILES.style]: STYLE };
}

// Readable on any screen, contrast above WCAG AA (text #1b1f24 on #ffffff, links #0a4fa3).
const STYLE = `body {
  margin: 0 auto;
  max-width: 72rem;
  padding: 1rem 1.5rem 3rem;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  line-height: 1.5;
  color: #1b1f24;
  background: #ffffff;
}
a { color: #0a4fa3; }
a:focus-visible { outline: 3px solid #0a4fa3; outline-offset: 2px; }
header { border-bottom: 1px solid #d0d7de; margin-bottom: 1.5rem; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; font-style: italic; padding-bottom: 0.5rem; }
th, td { text-align: left; vertical-align: top; padding: 0.5rem; border-bottom: 1px solid #d0d7de; }
thead th { background: #f6f8fa; }
code { font-size: 0.9em; }
.admins { color: #424a53; font-size: 0.9em; }
footer { margin-top: 2rem; color: #424a53; font-size: 0.9em; }
`;
