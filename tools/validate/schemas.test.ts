import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { ManifestDoc } from './model';
import { convertCrds, schemaFileName, strict } from './schemas';
import { runKubeconform, runKubectlValidate, toolPaths, ToolPaths } from './tools';

const root = join(__dirname, '../..');
let scratch: string;
let paths: ToolPaths;

/** A small CRD in the shape upstream operators publish. */
const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: { type: 'object', required: ['size'], properties: { size: { type: 'integer', minimum: 1 }, labels: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
            },
          },
        },
      },
    ],
  },
};
const widget = (spec: object): ManifestDoc => ({
  file: 'widget.yaml', absPath: 'widget.yaml', index: 0, obj: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'demo' }, spec },
});

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'ml-platform-crd-'));
  const real = toolPaths(root);
  paths = { ...real, schemas: join(scratch, 'schemas'), crds: join(scratch, 'crd-manifests') };
  mkdirSync(join(paths.schemas, 'crds'), { recursive: true });
  mkdirSync(paths.crds, { recursive: true });
  symlinkSync(join(real.schemas, 'v1.28.0-local-strict'), join(paths.schemas, 'v1.28.0-local-strict'));
  for (const [name, schema] of convertCrds([crd])) writeFileSync(join(paths.schemas, 'crds', name), JSON.stringify(schema));
  writeFileSync(join(paths.crds, 'widgets.yaml'), stringify(crd));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test('file names follow kubeconform: kind, first label of the group, version', () => {
  expect(schemaFileName({ group: 'apps', version: 'v1', kind: 'Deployment' })).toBe('deployment-apps-v1.json');
  expect(schemaFileName({ group: '', version: 'v1', kind: 'Service' })).toBe('service-v1.json');
  expect(schemaFileName({ group: 'kustomize.toolkit.fluxcd.io', version: 'v1', kind: 'Kustomization' })).toBe('kustomization-kustomize-v1.json');
});

test('strict closes objects that list their properties, but not those that keep unknown fields', () => {
  expect(strict({ type: 'object', properties: { a: { type: 'object', properties: { b: {} } }, c: { type: 'object', properties: {}, 'x-kubernetes-preserve-unknown-fields': true } } })).toEqual({
    type: 'object',
    additionalProperties: false,
    properties: { a: { type: 'object', properties: { b: {} }, additionalProperties: false }, c: { type: 'object', properties: {}, 'x-kubernetes-preserve-unknown-fields': true } },
  });
});

test('custom resources are validated against their CRD by both schema layers', async () => {
  expect(await runKubeconform(paths, [widget({ size: 3, labels: { any: 'thing' } })], '1.28')).toEqual([]);
  expect(await runKubectlValidate(paths, [widget({ size: 3 })], '1.28')).toEqual([]);

  const unknown = await runKubeconform(paths, [widget({ size: 3, colour: 'red' })], '1.28');
  expect(unknown).toEqual([expect.objectContaining({ rule: 'schema/unknown-field', field: 'spec.colour', object: 'Widget demo/w' })]);
  const invalid = await runKubeconform(paths, [widget({ size: 0 })], '1.28');
  expect(invalid).toEqual([expect.objectContaining({ rule: 'schema/invalid', field: 'spec.size' })]);
  const apiUnknown = await runKubectlValidate(paths, [widget({ size: 3, colour: 'red' })], '1.28');
  expect(apiUnknown).toEqual([expect.objectContaining({ layer: 'api-schema', field: 'spec.colour' })]);
});
