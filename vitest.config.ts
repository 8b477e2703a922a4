import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const lib = (name: string) => fileURLToPath(new URL(`./libs/${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@ml-platform/core': lib('core'),
      '@ml-platform/postgres': lib('postgres'),
      '@ml-platform/minio': lib('minio'),
      '@ml-platform/mlflow': lib('mlflow'),
      '@ml-platform/flux': lib('flux'),
      '@ml-platform/gitlab-agent': lib('gitlab-agent'),
      '@ml-platform/argocd': lib('argocd'),
      '@ml-platform/vault': lib('vault'),
      '@ml-platform/monitoring': lib('monitoring'),
      '@ml-platform/platform': lib('platform'),
    },
  },
  test: {
    include: ['**/*.test.ts'],
    setupFiles: [fileURLToPath(new URL('./vitest.setup.ts', import.meta.url))],
    exclude: ['**/node_modules/**', 'dist/**', 'dist-manifests/**', '.nx/**'],
    testTimeout: 30_000,
    // The render tests write into temporary folders; keep file handles per worker low on 2 cores.
    pool: 'forks',
  },
});
