// Bundles each of the repo's TypeScript tools into one plain-Node file, so they run without a
// TypeScript runner. The render (tools/render.ts) bundles every cluster app with it.
// Usage: node tools/build.mjs [tool ...]
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tools = readdirSync(join(root, 'tools')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => f.slice(0, -3));
const wanted = process.argv.slice(2);
const targets = [
  ...tools.map((t) => ({ name: t, entry: `tools/${t}.ts`, out: `dist/tools/${t}.js` })),
].filter((t) => wanted.length === 0 || wanted.includes(t.name));
const unknown = wanted.filter((w) => !targets.some((t) => t.name === w));
if (unknown.length) {
  console.error(`build: unknown tool(s) ${unknown.join(', ')}; tools: ${tools.join(', ')}`);
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
