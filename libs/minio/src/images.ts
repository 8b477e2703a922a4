import { containerImage } from '@ml-platform/core';

export const MINIO_IMAGE = containerImage('minio', {
  registry: 'quay.io',
  repository: 'minio/minio',
  tag: 'RELEASE.2025-09-07T16-13-09Z',
  digest: 'sha256:14cea493d9a34af32f524e538b8346cf79f3321eff8e708c1e2960462bd8936e',
  note: 'Last pre-built community image; the community edition is unmaintained and Docker Hub images are gone. Digest as pinned by several public projects; replaceable by any S3 server.',
});

export const MC_IMAGE = containerImage('mc', {
  registry: 'quay.io',
  repository: 'minio/mc',
  tag: 'RELEASE.2025-08-13T08-35-41Z',
  digest: 'sha256:a7fe349ef4bd8521fb8497f55c6042871b2ae640607cf99d9bede5e9bdf11727',
  note: 'MinIO client for the bucket bootstrap Job; last pre-built community image.',
});
