// Bundles each cluster app (and the repo's TypeScript tools) into one plain-Node file, so the
// render runs without a TypeScript runner. Usage: node tools/build.mjs [app|tool ...]
import { build } from 'esbuild';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const apps = readdirSync(join(root, 'apps')).filter((a) => existsSync(join(root, 'apps', a, 'src/main.ts')));
const tools = readdirSync(join(root, 'tools')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => f.slice(0, -3));
const wanted = process.argv.slice(2);
const targets = [
  ...apps.map((a) => ({ name: a, entry: `apps/${a}/src/main.ts`, out: `dist/apps/${a}/main.js` })),
  ...tools.map((t) => ({ name: t, entry: `tools/${t}.ts`, out: `dist/tools/${t}.js` })),
].filter((t) => wanted.length === 0 || wanted.includes(t.name));
const unknown = wanted.filter((w) => !targets.some((t) => t.name === w));
if (unknown.length) {
  console.error(`build: unknown target(s) ${unknown.join(', ')}; apps: ${apps.join(', ')}; tools: ${tools.join(', ')}`);
  process.exit(2);
}
await Promise.all(
  targets.map((t) =>
    build({
      absWorkingDir: root,
      entryPoints: [t.entry],
      outfile: t.out,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: 'linked',
      logLevel: 'warning',
      legalComments: 'none',
    }),
  ),
);
