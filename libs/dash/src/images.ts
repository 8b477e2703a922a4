import { builtImage } from '@ml-platform/core';

/** The platform's reference Dash app: churn by contract type from the analytics database. */
export const CHURN_DASHBOARD_IMAGE = builtImage('churn-dashboard', {
  tag: '1.0.0-1',
  note: 'Built here from services/churn-dashboard: the official Python image plus requirements.txt (the export of its uv.lock, which the tests serve the app from) and the churn_dashboard package.',
  build: { context: 'services/churn-dashboard', contextDigest: 'sha256:8a3461d6c53603e6e44b84b19d395413e752125f9a24721c1c06b8500104ca5d' },
});
