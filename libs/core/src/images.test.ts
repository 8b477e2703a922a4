import { describe, expect, test } from 'vitest';
import { IMAGE_CATALOG, ImageCatalog } from './images';

describe('ImageCatalog', () => {
  test('resolves the catalog entry with its digest', () => {
    const ref = new ImageCatalog().image('minio');
    expect(ref.reference).toBe(`quay.io/minio/minio:${IMAGE_CATALOG.minio.tag}@${IMAGE_CATALOG.minio.digest}`);
    expect(ref.version).toBe(IMAGE_CATALOG.minio.tag);
  });

  test('a pinned tag drops the catalog digest, which belongs to another tag', () => {
    const ref = new ImageCatalog({ pins: { minio: { tag: 'RELEASE.2025-04-22T22-12-26Z' } } }).image('minio');
    expect(ref.reference).toBe('quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z');
  });

  test('a pinned digest is kept', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(new ImageCatalog({ pins: { mlflow: { tag: 'v3.17.0-full', digest } } }).image('mlflow').reference).toBe(
      `ghcr.io/mlflow/mlflow:v3.17.0-full@${digest}`,
    );
  });

  test('rewrites registries to the mirror', () => {
    const catalog = new ImageCatalog({ registryMirrors: { 'docker.io': 'harbor.internal/hub/', 'quay.io': 'harbor.internal/quay', 'ghcr.io': 'harbor.internal/ghcr' } });
    expect(catalog.image('postgres').reference).toBe(`harbor.internal/hub/library/postgres:${IMAGE_CATALOG.postgres.tag}`);
    expect(catalog.usedImages.map((i) => i.key)).toEqual(['postgres']);
  });

  test('fails when a mirror set lacks a registry an image needs', () => {
    const catalog = new ImageCatalog({ registryMirrors: { 'docker.io': 'harbor.internal/hub' } });
    expect(() => catalog.image('mlflow')).toThrowError(
      "image 'mlflow' comes from registry 'ghcr.io', which has no entry in registryMirrors; add 'ghcr.io: <mirror host/prefix>' so the air-gapped cluster can pull it",
    );
  });

  test('fails on latest, unknown images and malformed digests', () => {
    expect(() => new ImageCatalog({ pins: { mlflow: { tag: 'latest' } } })).toThrowError("image pin 'mlflow' uses tag 'latest'; pin a released version");
    expect(() => new ImageCatalog({ pins: { nope: { tag: '1' } } as never })).toThrowError(/image pin 'nope' names no catalogued image/);
    expect(() => new ImageCatalog({ pins: { mc: { digest: 'sha256:xyz' } } })).toThrowError(/expected sha256:<64 lower-case hex>/);
  });

  test('no catalog entry uses latest', () => {
    for (const entry of Object.values(IMAGE_CATALOG)) expect(entry.tag).not.toBe('latest');
  });
});
