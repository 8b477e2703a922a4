import { builtImage, containerImage } from '@ml-platform/core';

/** The server, its backup sidecar and Jobs: the official image plus pgBackRest (images/postgres). */
export const POSTGRES_IMAGE = builtImage('postgres', {
  tag: '18.3-trixie-1',
  note: 'Built here from images/postgres: the official image 18.3-trixie (docker-library/postgres versions.json: 18.3; Debian variant, postgres is UID/GID 999) plus pgBackRest 2.57.0 from apt.postgresql.org. The tag is the upstream one and our build number.',
  build: { context: 'images/postgres', contextDigest: 'sha256:c90cbaf6af6f8e41eb5226051637a298323ac7a87bfb752287245b6164ee0dbc' },
});

export const POSTGRES_EXPORTER_IMAGE = containerImage('postgres-exporter', {
  registry: 'quay.io',
  repository: 'prometheuscommunity/postgres-exporter',
  tag: 'v0.20.1',
  note: 'PostgreSQL metrics, a sidecar of the server (latest release, 2026-07-07). Digest not pinned: not verifiable offline.',
});
