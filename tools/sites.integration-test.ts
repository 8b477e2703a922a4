/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The home page and the audit site in a real browser: Debian's Chromium, driven by puppeteer-core.
// Each page loads without a console error (the home page under its rendered Content-Security-
// Policy), every link resolves, axe-core finds no serious or critical accessibility violation,
// the overview shows a planted version difference, and a screenshot of each page is kept
// (SCREENSHOTS_DIR, default tmp/screenshots/, a CI artifact).
import { createServer, Server } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import puppeteer, { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { renderAuditSite } from './audit-site/html';
import { auditModel } from './audit-site/model';

const root = join(__dirname, '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshots = process.env.SCREENSHOTS_DIR ?? join(root, 'tmp', 'screenshots');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const rendered = (cluster: string, file: string) => parse(readFileSync(join(root, 'dist-manifests', cluster, file), 'utf8'));
const CLUSTERS = ['dev', 'stage', 'prod'];

/** The planted difference: dev runs another MLflow than stage and prod. */
const PLANTED = 'v9.9.9-planted';

let dir: string;
let server: Server;
let base: string;
let browser: Browser;
/** The headers each served folder answers with (the home page's come from its rendered nginx.conf). */
const headers: Record<string, Record<string, string>> = {};

/** The `add_header` lines of the home page's rendered nginx.conf. */
function homeHeaders(): Record<string, string> {
  const conf: string = rendered('prod', '30-apps/home/configmap-home-server.yaml').data['nginx.conf'];
  return Object.fromEntries([...conf.matchAll(/add_header (\S+) "([^"]*)" always;/g)].map((m) => [m[1], m[2]]));
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ml-platform-sites-'));
  mkdirSync(screenshots, { recursive: true });
  // Each cluster's home page, as its ConfigMap holds it.
  for (const cluster of CLUSTERS) {
    const site: Record<string, string> = rendered(cluster, '30-apps/home/configmap-home-site.yaml').data;
    mkdirSync(join(dir, `home-${cluster}`));
    for (const [name, text] of Object.entries(site)) writeFileSync(join(dir, `home-${cluster}`, name), text);
    headers[`home-${cluster}`] = homeHeaders();
  }
  // The audit site, with dev's MLflow moved ahead.
  const model = auditModel(root);
  const planted = {
    clusters: model.clusters.map((c) => (c.name === 'dev' ? { ...c, components: c.components.map((x) => (x.name === 'mlflow' ? { ...x, versions: [PLANTED] } : x)) } : c)),
  };
  mkdirSync(join(dir, 'audit'));
  for (const [name, text] of Object.entries(renderAuditSite(planted))) writeFileSync(join(dir, 'audit', name), text);
  headers.audit = {};

  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/\/$/, '/index.html');
    const folder = path.split('/')[1] ?? '';
    try {
      const body = readFileSync(join(dir, path));
      res.writeHead(200, { 'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream', ...headers[folder] });
      res.end(body);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  // As root (CI), Chromium runs only without its sandbox.
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  if (dir && !process.env.KEEP_TEST_FILES) rmSync(dir, { recursive: true, force: true });
});

/** Opens `path`; returns the page and every console error, page error and failed request it caused. */
async function open(path: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(`${base}${path}`, { waitUntil: 'load' });
  return { page, problems };
}

/** Serious and critical axe-core violations, as `rule: target` lines. Evaluated by DevTools, which a page's CSP does not govern. */
async function accessibility(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document);
  });
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}

/**
 * Links that do not resolve: a link into the site must answer 200; a link out of it must be one
 * of `known` (the cluster's hosts, its docs), which this machine cannot reach.
 */
async function brokenLinks(page: Page, known: (url: URL) => boolean): Promise<string[]> {
  const hrefs = await page.$$eval('a[href]', (as) => as.map((a) => (a as HTMLAnchorElement).href));
  expect(hrefs.length).toBeGreaterThan(0);
  const broken: string[] = [];
  for (const href of new Set(hrefs)) {
    const url = new URL(href);
    if (url.origin === base) {
      const r = await fetch(url);
      if (r.status !== 200) broken.push(`${href} (${r.status})`);
    } else if (!known(url)) broken.push(`${href} (not a host of the cluster)`);
  }
  return broken;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

describe.each(CLUSTERS)('the home page of %s', (cluster) => {
  test('renders without a console error under its CSP, every link resolves, and nothing serious fails accessibility', async () => {
    const { page, problems } = await open(`/home-${cluster}/`);
    expect(await page.title()).toBe(`ML platform · ${cluster}`);
    // The stylesheet applied: the table spans the page.
    expect(await page.$eval('table', (t) => getComputedStyle(t).borderCollapse)).toBe('collapse');
    const inventory = JSON.parse(readFileSync(join(root, 'dist-manifests', cluster, 'inventory.json'), 'utf8'));
    const hosts = new Set<string>(inventory.hosts.map((h: { host: string }) => h.host));
    const repository = parse(readFileSync(join(root, 'clusters', cluster, 'cluster.yaml'), 'utf8')).gitops.repository.url.replace(/\.git$/, '');
    expect(await brokenLinks(page, (url) => hosts.has(url.host) || url.href.startsWith(`${repository}/-/blob/`))).toEqual([]);
    expect(await accessibility(page)).toEqual([]);
    await screenshot(page, `home-${cluster}`);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});

describe('the audit site', () => {
  test.each(['index', ...CLUSTERS])('%s renders without a console error, every link resolves, and nothing serious fails accessibility', async (name) => {
    const { page, problems } = await open(`/audit/${name}.html`);
    expect(await brokenLinks(page, () => false)).toEqual([]);
    expect(await accessibility(page)).toEqual([]);
    await screenshot(page, `audit-${name}`);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  test('the overview shows the planted version difference, in words and in its highlighted cell', async () => {
    const { page } = await open('/audit/index.html');
    const row = await page.$$eval('#versions ~ table tbody tr', (rows) =>
      rows
        .map((r) => ({ name: r.querySelector('th')?.textContent, cls: r.className, text: (r as HTMLElement).innerText, visible: (r as HTMLElement).offsetHeight > 0, highlighted: [...r.querySelectorAll('td.lags')].map((c) => getComputedStyle(c).backgroundColor) }))
        .find((r) => r.name === 'mlflow'),
    );
    expect(row).toMatchObject({ cls: 'differs', visible: true });
    expect(row?.text).toContain(PLANTED);
    expect(row?.text).toContain('differs');
    // stage and prod lag dev, and their cells stand out.
    expect(row?.highlighted).toEqual(['rgb(255, 248, 197)', 'rgb(255, 248, 197)']);
    await page.close();
  }, 60_000);

  test('a page an accessibility check must fail does fail it', async () => {
    // No language, an unlabelled link, text too faint to read.
    writeFileSync(join(dir, 'audit', 'planted.html'), '<!DOCTYPE html><html><head><title>t</title><link rel="icon" href="data:,"></head><body><a href="index.html"></a><p style="color:#eee">faint</p></body></html>');
    const { page } = await open('/audit/planted.html');
    const found = await accessibility(page);
    expect(found.map((f) => f.split(':')[0]).sort()).toEqual(['color-contrast', 'html-has-lang', 'link-name']);
    await page.close();
    rmSync(join(dir, 'audit', 'planted.html'));
  }, 60_000);

  test('a broken link is found', async () => {
    const { page } = await open('/audit/index.html');
    const moved = join(dir, 'audit', 'stage.html');
    const text = readFileSync(moved, 'utf8');
    rmSync(moved);
    try {
      expect(await brokenLinks(page, () => false)).toEqual([`${base}/audit/stage.html (404)`]);
    } finally {
      writeFileSync(moved, text);
      await page.close();
    }
  }, 60_000);
});
