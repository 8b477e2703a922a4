// `npm run images -- pin` against a real OCI registry: the CNCF distribution registry, built by
// tools/install-tools.sh and started here on a free local port, holding an image for every one
// the cluster runs (pushed with crane), so the digests written can be compared with the pushed ones.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { clusterImages, loadClusterConfig, renderInMemory } from '@ml-platform/core';
import { platformRenderSpec } from '@ml-platform/platform';
import { checkImageDigests } from './validate/image-digests';
import { pinImages, withPins } from './images/pin';
import { freePort } from './testing/free-port';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const root = join(__dirname, '..');
const bin = join(root, '.tools', 'bin');
const crane = join(bin, 'crane');
const spec = platformRenderSpec('prod');
let scratch: string;
let registry: ChildProcess;
let host: string;
/** Upstream registry of prod's mirrors -> the local registry's path for it. */
let mirrors: Record<string, string>;

/** A scratch workspace holding prod's cluster.yaml with its mirrors on the local registry. */
function workspace(edit: (config: Record<string, unknown>) => void = () => undefined): string {
  const dir = mkdtempSync(join(scratch, 'ws-'));
  mkdirSync(join(dir, 'clusters', 'prod'), { recursive: true });
  const text = readFileSync(join(root, 'clusters/prod/cluster.yaml'), 'utf8');
  const config = parse(text);
  config.registryMirrors = mirrors;
  edit(config);
  // Keep the committed comments: the pins must not lose them.
  writeFileSync(join(dir, 'clusters', 'prod', 'cluster.yaml'), `${text.split('\n').filter((l) => l.startsWith('#')).join('\n')}\n${stringify(config)}`);
  return dir;
}

/** Pushes a one-layer image (distinct per reference) and returns its digest. */
function push(reference: string): string {
  const layer = join(scratch, 'layer');
  mkdirSync(layer, { recursive: true });
  writeFileSync(join(layer, 'content'), reference);
  execFileSync('tar', ['-cf', join(scratch, 'layer.tar'), '-C', layer, 'content']);
  const out = execFileSync(crane, ['append', '-f', join(scratch, 'layer.tar'), '-t', reference], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.trim().split('@')[1];
}

/** The digest pushed for each image key. */
const pushed = new Map<string, string>();

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'ml-platform-pin-'));
  host = `127.0.0.1:${await freePort()}`;
  writeFileSync(join(scratch, 'registry.yml'), stringify({ version: 0.1, log: { level: 'error' }, storage: { filesystem: { rootdirectory: join(scratch, 'data') } }, http: { addr: host } }));
  registry = spawn(join(bin, 'registry'), ['serve', join(scratch, 'registry.yml')], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://${host}/v2/`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 100) throw new Error(`the registry did not answer on ${host}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const committed = parse(readFileSync(join(root, 'clusters/prod/cluster.yaml'), 'utf8')).registryMirrors as Record<string, string>;
  mirrors = Object.fromEntries(Object.entries(committed).map(([upstream, mirror]) => [upstream, `${host}/${mirror.split('/').slice(1).join('/')}`]));
  const images = clusterImages(spec, loadClusterConfig(spec, join(workspace(), 'clusters/prod/cluster.yaml'), 'cluster.yaml'));
  for (const image of images) {
    if (image.key === 'mlflow') {
      // A multi-platform image: the index is what a node resolves, so the index is pinned.
      const amd64 = push(`${image.repository}:${image.tag}-amd64`);
      const arm64 = push(`${image.repository}:${image.tag}-arm64`);
      const out = execFileSync(crane, ['index', 'append', '-m', `${image.repository}@${amd64}`, '-m', `${image.repository}@${arm64}`, '-t', `${image.repository}:${image.tag}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      pushed.set(image.key, out.trim().split('@')[1]);
    } else {
      // Two keys may run one image (the TLS sidecar's nginx and the home page's): pushed once.
      const reference = `${image.repository}:${image.tag}`;
      const same = images.find((other) => pushed.has(other.key) && `${other.repository}:${other.tag}` === reference);
      pushed.set(image.key, same ? (pushed.get(same.key) as string) : push(reference));
    }
  }
});
afterAll(() => {
  registry?.kill();
  rmSync(scratch, { recursive: true, force: true });
});

test("writes each image's tag and the digest the registry holds for it; the render then runs every image by digest", async () => {
  const dir = workspace();
  const result = await pinImages({ root: dir, spec, crane });
  expect(result.failed).toEqual([]);
  expect(result.written).toBe(true);
  // MinIO's two images carry the catalog's digests and are left alone.
  expect(result.kept.map((i) => i.key).sort()).toEqual(['mc', 'minio']);
  const text = readFileSync(join(dir, 'clusters/prod/cluster.yaml'), 'utf8');
  expect(text).toContain('# Six schedulable nodes in three zones');
  const pins = parse(text).images as Record<string, { tag: string; digest: string }>;
  const images = clusterImages(spec, loadClusterConfig(spec, join(dir, 'clusters/prod/cluster.yaml'), 'cluster.yaml'));
  for (const image of images.filter((i) => !['mc', 'minio'].includes(i.key))) {
    expect(pins[image.key], image.key).toEqual({ tag: image.tag, digest: pushed.get(image.key) });
    expect(image.reference).toBe(`${image.repository}:${image.tag}@${pushed.get(image.key)}`);
  }
  expect(pins.mlflow.digest).toBe(pushed.get('mlflow'));

  const rendered = renderInMemory(spec, loadClusterConfig(spec, join(dir, 'clusters/prod/cluster.yaml'), 'cluster.yaml'), 'cluster.yaml', join(root, 'clusters/prod/secrets'));
  const docs = rendered.objects.map((o) => ({ cluster: 'prod', file: o.path, obj: o.manifest }));
  expect(checkImageDigests(docs as never, 'prod')).toEqual([]);

  // Run again: nothing left to resolve, nothing written.
  const again = await pinImages({ root: dir, spec, crane });
  expect(again.written).toBe(false);
  expect(again.kept).toHaveLength(images.length);
});

test('a tag the registry moved is resolved again only when asked, and then to its new digest', async () => {
  const dir = workspace();
  await pinImages({ root: dir, spec, crane, only: ['grafana'] });
  const grafana = clusterImages(spec, loadClusterConfig(spec, join(dir, 'clusters/prod/cluster.yaml'), 'cluster.yaml')).find((i) => i.key === 'grafana');
  const moved = push(`${grafana?.repository}:${grafana?.tag}-rebuilt`);
  execFileSync(crane, ['tag', `${grafana?.repository}@${moved}`, grafana?.tag as string]);
  try {
    const kept = await pinImages({ root: dir, spec, crane, only: ['redis'] });
    expect(parse(readFileSync(join(dir, 'clusters/prod/cluster.yaml'), 'utf8')).images.grafana.digest).toBe(pushed.get('grafana'));
    expect(kept.resolved.map((o) => o.key)).toEqual(['redis']);
    await pinImages({ root: dir, spec, crane, only: ['grafana'], refresh: true });
    expect(parse(readFileSync(join(dir, 'clusters/prod/cluster.yaml'), 'utf8')).images.grafana.digest).toBe(moved);
  } finally {
    execFileSync(crane, ['tag', `${grafana?.repository}@${pushed.get('grafana')}`, grafana?.tag as string]);
  }
});

test('an image the registry lacks fails the run, naming it, and cluster.yaml stays as it was', async () => {
  // A pinned tag that was never pushed.
  const dir = workspace((c) => void (c.images = { redis: { tag: '7.4.99' } }));
  const before = readFileSync(join(dir, 'clusters/prod/cluster.yaml'), 'utf8');
  const result = await pinImages({ root: dir, spec, crane });
  expect(result.written).toBe(false);
  expect(result.failed).toEqual([{ key: 'redis', reference: expect.stringMatching(new RegExp(`^${host}/dockerhub/.*redis:7\\.4\\.99$`)), error: expect.stringContaining('MANIFEST_UNKNOWN') }]);
  expect(result.resolved).toHaveLength(pushed.size - 3); // all but MinIO's two and redis
  expect(readFileSync(join(dir, 'clusters/prod/cluster.yaml'), 'utf8')).toBe(before);

  // The command says so and exits non-zero.
  symlinkSync(join(root, 'nx.json'), join(dir, 'nx.json'));
  mkdirSync(join(dir, '.tools'));
  symlinkSync(bin, join(dir, '.tools', 'bin'));
  execFileSync('node', [join(root, 'tools/build.mjs'), 'images'], { cwd: root });
  let failure: { status: number; stderr: string } | undefined;
  try {
    execFileSync('node', [join(root, 'dist/tools/images.js'), 'pin', 'prod'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    failure = e as { status: number; stderr: string };
  }
  expect(failure?.status).toBe(1);
  expect(failure?.stderr).toMatch(/images pin: redis: cannot resolve .*redis:7\.4\.99: .*MANIFEST_UNKNOWN/);
  expect(failure?.stderr).toContain('clusters/prod/cluster.yaml is unchanged');
  expect(readFileSync(join(dir, 'clusters/prod/cluster.yaml'), 'utf8')).toBe(before);
});

test('a digest without the tag it was resolved from is refused, naming the key', () => {
  const dir = workspace((c) => void (c.images = { grafana: { digest: `sha256:${'a'.repeat(64)}` } }));
  expect(() => loadClusterConfig(spec, join(dir, 'clusters/prod/cluster.yaml'), 'clusters/prod/cluster.yaml')).toThrowError(
    /clusters\/prod\/cluster\.yaml[\s\S]*images\.grafana\.tag: expected the tag that digest sha256:aaaaaaaaaaaa… was resolved from/,
  );
});

test('a prod cluster that switches digests off must say why', () => {
  const dir = workspace((c) => void (c.imageDigests = { required: false }));
  expect(() => loadClusterConfig(spec, join(dir, 'clusters/prod/cluster.yaml'), 'clusters/prod/cluster.yaml')).toThrowError(/imageDigests\.reason: expected the reason this prod cluster runs images without digests/);
});

test('pins land after the registry settings and keep the comments around them', () => {
  const text = ['# head', 'name: prod', 'registryMirrors:', '  docker.io: m/d', '# network facts', 'network: {}', ''].join('\n');
  const digest = `sha256:${'b'.repeat(64)}`;
  const out = withPins(text, [{ key: 'redis', tag: '7.4.2', digest }]);
  expect(out).toBe(['# head', 'name: prod', 'registryMirrors:', '  docker.io: m/d', "# Images pinned by digest: each tag with the manifest digest 'npm run images -- pin' resolved it to.", 'images:', '  redis:', '    tag: 7.4.2', `    digest: ${digest}`, '# network facts', 'network: {}', ''].join('\n'));
});
