// Converts Kubernetes OpenAPI v3 documents and CRDs into the JSON schemas kubeconform loads:
// one file per kind named `<kind>-<group>-<version>.json` (`<kind>-<version>.json` for the core
// group) beside a shared `_definitions.json`, with `additionalProperties: false` on every object
// that lists its properties, so `-strict` rejects unknown fields.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** Group, version and kind of a Kubernetes type. */
export interface Gvk {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** The file name kubeconform looks for: `{{ .ResourceKind }}{{ .KindSuffix }}.json`. */
export function schemaFileName(gvk: Gvk): string {
  const group = gvk.group === '' ? '' : `-${gvk.group.split('.')[0].toLowerCase()}`;
  return `${gvk.kind.toLowerCase()}${group}-${gvk.version.toLowerCase()}.json`;
}

/**
 * Makes a schema strict: every object schema with `properties` and no `additionalProperties`
 * rejects other keys, unless it keeps unknown fields on purpose.
 */
export function strict(node: Json): Json {
  if (Array.isArray(node)) return node.map(strict);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'properties' ? mapValues(v as Json, strict) : strict(v);
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }
  return out;
}

function mapValues(obj: Json, fn: (v: Json) => Json): Json {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, fn(v)]));
}

/** Rewrites `#/components/schemas/X` references to `<prefix>#/definitions/X`. */
export function rewriteRefs(node: Json, prefix: string): Json {
  if (Array.isArray(node)) return node.map((n) => rewriteRefs(n, prefix));
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] = k === '$ref' && typeof v === 'string' ? v.replace('#/components/schemas/', `${prefix}#/definitions/`) : rewriteRefs(v, prefix);
  }
  return out;
}

/** Pins `apiVersion` and `kind` of a kind's schema so a mismatched pair fails. */
function pinTypeMeta(schema: Json, gvk: Gvk): Json {
  const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
  return {
    ...schema,
    required: [...new Set([...(schema.required ?? []), 'apiVersion', 'kind'])],
    properties: {
      ...schema.properties,
      apiVersion: { ...(schema.properties?.apiVersion ?? {}), type: 'string', enum: [apiVersion] },
      kind: { ...(schema.properties?.kind ?? {}), type: 'string', enum: [gvk.kind] },
    },
  };
}

/** Output of a conversion: file name to JSON content. */
export type SchemaFiles = Map<string, Json>;

/**
 * Converts the OpenAPI v3 documents of one Kubernetes version (every group-version) into
 * kubeconform's local layout.
 */
export function convertOpenApi(documents: Json[]): SchemaFiles {
  const definitions: Record<string, Json> = {};
  for (const doc of documents) Object.assign(definitions, doc.components?.schemas ?? {});
  const files: SchemaFiles = new Map();
  files.set('_definitions.json', { definitions: mapValues(definitions, (d) => strict(rewriteRefs(d, ''))) });
  for (const [name, def] of Object.entries(definitions)) {
    const gvks: Gvk[] = (def as Json)['x-kubernetes-group-version-kind'] ?? [];
    // Types listed under several groups (DeleteOptions, WatchEvent) are not resources.
    if (gvks.length !== 1 || name.startsWith('io.k8s.apimachinery.pkg.apis.meta.')) continue;
    const file = schemaFileName(gvks[0]);
    if (!files.has(file)) files.set(file, pinTypeMeta(strict(rewriteRefs(def, '_definitions.json')), gvks[0]));
  }
  return files;
}

/** Converts CustomResourceDefinitions into one schema per served version. */
export function convertCrds(crds: Json[]): SchemaFiles {
  const files: SchemaFiles = new Map();
  for (const crd of crds) {
    if (crd?.kind !== 'CustomResourceDefinition') continue;
    const { group, names, versions } = crd.spec;
    for (const v of versions ?? []) {
      const schema = v.schema?.openAPIV3Schema;
      if (!v.served || !schema) continue;
      const gvk = { group, version: v.name, kind: names.kind };
      const body = strict(schema);
      // CRD schemas describe spec/status; metadata is the API server's ObjectMeta.
      body.properties = { ...body.properties, metadata: { type: 'object' } };
      files.set(schemaFileName(gvk), pinTypeMeta(body, gvk));
    }
  }
  return files;
}
