// The integration tests (npm run test:integration): they start etcd, kube-apiserver or
// PostgreSQL, so they run apart from the unit tests.
import { defineConfig } from 'vitest/config';
import base from './vitest.config';

export default defineConfig({
  resolve: base.resolve,
  test: { include: ['tools/**/*.integration-test.ts'], setupFiles: base.test?.setupFiles, testTimeout: 120_000, hookTimeout: 180_000, pool: 'forks' },
});
