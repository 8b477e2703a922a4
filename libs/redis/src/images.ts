import { containerImage } from '@ml-platform/core';

/** Redis 8.6: the platform's cache and message broker (Superset's caches and Celery queues). */
export const REDIS_IMAGE = containerImage('redis', {
  registry: 'docker.io',
  repository: 'library/redis',
  tag: '8.6.4',
  note: 'The official image (redis/docker-library-redis debian/Dockerfile: REDIS_VERSION 8.6.4, debian:trixie-slim), run unmodified. Redis 8 is licensed AGPLv3, RSALv2 or SSPLv1 at the user\'s choice; the platform uses it under the AGPLv3, which asks nothing of an unmodified server. Its config is checked by Debian\'s redis-server 7.0 (npm run test:integration), whose directives it keeps to. Digest not pinned: not verifiable offline.',
});

/** Redis metrics for Prometheus, beside the server. */
export const REDIS_EXPORTER_IMAGE = containerImage('redis-exporter', {
  registry: 'docker.io',
  repository: 'oliver006/redis_exporter',
  tag: 'v1.91.1',
  note: 'redis_exporter v1.91.1 (2026-09), the version prometheus-community\'s chart 6.31.1 runs. Digest not pinned: not verifiable offline.',
});
