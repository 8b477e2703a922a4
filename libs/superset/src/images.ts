import { builtImage } from '@ml-platform/core';

/**
 * Superset 6.1.0 (the official lean image) with the PostgreSQL driver, Authlib for GitLab sign-in,
 * the StatsD client and the platform's start-up code: the web server, the Celery worker and beat,
 * and the start-up Job run it.
 */
export const SUPERSET_IMAGE = builtImage('superset', {
  tag: '6.1.0-1',
  note: 'Built here from images/superset: apache/superset:6.1.0 plus images/superset/requirements.txt (the export of its uv.lock, which the tests load Superset from) and the superset_platform package. Tag not verifiable offline.',
  build: { context: 'images/superset', contextDigest: 'sha256:f4e8184e311a7c73e4070562d696ae24e6ea6b7de3e07428fd9c5d0485ada65b' },
});
