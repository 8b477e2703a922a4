import { containerImage } from '@ml-platform/core';

export const POSTGRES_IMAGE = containerImage('postgres', {
  registry: 'docker.io',
  repository: 'library/postgres',
  tag: '18.3-trixie',
  note: 'Official image (docker-library/postgres versions.json: 18.3). Debian variant: postgres is UID/GID 999. Digest not pinned: not verifiable offline.',
});

export const POSTGRES_EXPORTER_IMAGE = containerImage('postgres-exporter', {
  registry: 'quay.io',
  repository: 'prometheuscommunity/postgres-exporter',
  tag: 'v0.20.1',
  note: 'PostgreSQL metrics, a sidecar of the server (latest release, 2026-07-07). Digest not pinned: not verifiable offline.',
});
