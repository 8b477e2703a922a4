import { builtImage, containerImage } from '@ml-platform/core';

/**
 * Airflow 3.3.2 on Python 3.11 with the providers and libraries the platform's pipelines use: the
 * scheduler, api-server, dag-processor, triggerer, the migration Job and every task pod run it.
 */
export const AIRFLOW_IMAGE = builtImage('airflow', {
  tag: '3.3.2-1',
  note: 'Built here from pipelines/: apache/airflow:3.3.2-python3.11 (Airflow publishes one image per supported Python; tag not verifiable offline) plus pipelines/requirements.txt, the export of pipelines/uv.lock, which the tests load Airflow from.',
  build: { context: 'pipelines', contextDigest: 'sha256:9467b84641d80a3725ac3b1ceb9ef0f49103bc718147dfb4833a45ad6e4bf955' },
});

/** Brings the DAG repository into the scheduler's neighbours and every task pod. */
export const GIT_SYNC_IMAGE = containerImage('git-sync', {
  registry: 'registry.k8s.io',
  repository: 'git-sync/git-sync',
  tag: 'v4.7.1',
  note: 'git-sync v4 (GITSYNC_* settings), the newest v4 tag in kubernetes/git-sync; the Airflow chart pins v4.4.2 with the same settings. Digest not pinned: not verifiable offline.',
});
