import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Layer } from '../layers';
import { checkRendered } from './checks';
import { RenderedObject } from './collect';
import { readSopsSecrets } from './sops-secrets';

const deployment = (selector: Record<string, string>): RenderedObject => ({
  path: '30-apps/web/deployment-web.yaml',
  layer: Layer.APPS,
  component: 'web',
  kind: 'Deployment',
  name: 'web',
  namespace: 'web',
  manifest: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'web' }, spec: { template: { spec: { topologySpreadConstraints: [{ labelSelector: { matchLabels: selector } }] } } } },
});

describe('checkRendered', () => {
  test('refuses the cdk8s address label wherever a selector holds it', () => {
    expect(checkRendered([deployment({ 'cdk8s.io/metadata.addr': 'web-c8f2' })])).toEqual([
      '30-apps/web/deployment-web.yaml (Deployment web/web): carries the cdk8s-internal label cdk8s.io/metadata.addr; select by app.kubernetes.io/name and instance',
    ]);
    expect(checkRendered([deployment({ 'app.kubernetes.io/name': 'web' })])).toEqual([]);
  });
});

describe('readSopsSecrets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sops-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('names the file and the place of a YAML error', () => {
    mkdirSync(join(dir, 'web'), { recursive: true });
    writeFileSync(join(dir, 'web', 'token.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n    namespace: web\n');
    const { secrets, problems } = readSopsSecrets(dir, 'clusters/t/secrets', []);
    expect(secrets).toEqual([]);
    expect(problems).toEqual([expect.stringMatching(/^clusters\/t\/secrets\/web\/token\.yaml: invalid YAML: .*\(5:14\)$/)]);
  });
});
