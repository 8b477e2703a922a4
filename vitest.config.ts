import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Path aliases live in one place, tsconfig.base.json; the tests resolve them from there.
const root = fileURLToPath(new URL('.', import.meta.url));
const paths: Record<string, string[]> = JSON.parse(readFileSync(`${root}tsconfig.base.json`, 'utf8')).compilerOptions.paths;
const alias = Object.fromEntries(Object.entries(paths).map(([name, [target]]) => [name, `${root}${target}`]));

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['**/*.test.ts'],
    setupFiles: [fileURLToPath(new URL('./vitest.setup.ts', import.meta.url))],
    exclude: ['**/node_modules/**', 'dist/**', 'dist-manifests/**', '.nx/**', 'tmp/**'],
    testTimeout: 30_000,
    // The render tests write into temporary folders; keep file handles per worker low on 2 cores.
    pool: 'forks',
  },
});
