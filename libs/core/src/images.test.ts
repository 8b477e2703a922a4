import { describe, expect, test } from 'vitest';
import { containerImage, ImageCatalog } from './images';

const S3 = containerImage('s3', { registry: 'quay.io', repository: 'example/s3', tag: 'RELEASE.2025-09-07', digest: `sha256:${'b'.repeat(64)}`, note: 'test' });
const TRACKER = containerImage('tracker', { registry: 'ghcr.io', repository: 'example/tracker', tag: 'v3.16.1', note: 'test' });
const DB = containerImage('db', { registry: 'docker.io', repository: 'library/postgres', tag: '18.3-trixie', note: 'test' });

describe('ImageCatalog', () => {
  test('resolves the declared image with its digest', () => {
    const ref = new ImageCatalog().image(S3);
    expect(ref.reference).toBe(`quay.io/example/s3:RELEASE.2025-09-07@sha256:${'b'.repeat(64)}`);
    expect(ref.version).toBe('RELEASE.2025-09-07');
  });

  test('a pinned tag drops the declared digest, which belongs to another tag', () => {
    expect(new ImageCatalog({ pins: { s3: { tag: 'RELEASE.2025-04-22' } } }).image(S3).reference).toBe('quay.io/example/s3:RELEASE.2025-04-22');
  });

  test('a pinned digest is kept', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(new ImageCatalog({ pins: { tracker: { tag: 'v3.17.0', digest } } }).image(TRACKER).reference).toBe(`ghcr.io/example/tracker:v3.17.0@${digest}`);
  });

  test('rewrites registries to the mirror', () => {
    const catalog = new ImageCatalog({ registryMirrors: { 'docker.io': 'harbor.internal/hub/', 'quay.io': 'harbor.internal/quay', 'ghcr.io': 'harbor.internal/ghcr' } });
    expect(catalog.image(DB).reference).toBe('harbor.internal/hub/library/postgres:18.3-trixie');
    expect(catalog.usedImages.map((i) => i.key)).toEqual(['db']);
  });

  test('fails when a mirror set lacks a registry an image needs', () => {
    const catalog = new ImageCatalog({ registryMirrors: { 'docker.io': 'harbor.internal/hub' } });
    expect(() => catalog.image(TRACKER)).toThrowError(
      "image 'tracker' comes from registry 'ghcr.io', which has no entry in registryMirrors; add 'ghcr.io: <mirror host/prefix>' so the air-gapped cluster can pull it",
    );
  });

  test('fails on latest, unknown images and malformed digests', () => {
    expect(() => new ImageCatalog({ pins: { tracker: { tag: 'latest' } } })).toThrowError("image pin 'tracker' uses tag 'latest'; pin a released version");
    expect(() => new ImageCatalog({ known: [S3, DB], pins: { nope: { tag: '1' } } })).toThrowError("image pin 'nope' names no catalogued image; known images: s3, db");
    expect(() => new ImageCatalog({ pins: { s3: { digest: 'sha256:xyz' } } })).toThrowError(/expected sha256:<64 lower-case hex>/);
  });
});

describe('containerImage', () => {
  test('refuses what a cluster cannot pull reproducibly', () => {
    expect(() => containerImage('tracker', { ...TRACKER, tag: 'latest' })).toThrowError("image 'tracker' must pin a released tag, not 'latest'");
    expect(() => containerImage('Tracker', TRACKER)).toThrowError("image key 'Tracker' must be lower-case letters, digits and '-'");
    expect(() => containerImage('tracker', { ...TRACKER, digest: 'sha256:1' })).toThrowError("image 'tracker' has digest 'sha256:1'; expected sha256:<64 lower-case hex>");
  });
});
