// Generates kubeconform schemas for every Kubernetes minor a cluster may declare, from the OpenAPI
// v3 documents tools/install-tools.sh put in place (the same ones kubectl-validate checks against).
// Custom resources get schemas converted from the pinned upstream CRDs (third argument).
// Usage: generate-schemas.js <builtins dir> <output dir> [<crd dir>]. Reuses output whose inputs match.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { SUPPORTED_KUBERNETES_VERSIONS } from '@ml-platform/core';
import { convertCrds, convertOpenApi } from './validate/schemas';

const [builtins, outDir, crdDir] = process.argv.slice(2);
if (!builtins || !outDir) {
  console.error('usage: generate-schemas.js <kubectl-validate builtins dir> <output dir>');
  process.exit(2);
}
const versions = SUPPORTED_KUBERNETES_VERSIONS;

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((e) => (statSync(join(dir, e)).isDirectory() ? walk(join(dir, e)) : e.endsWith('.json') ? [join(dir, e)] : []));

for (const version of versions) {
  const source = join(builtins, version);
  if (!existsSync(source)) {
    console.error(`generate-schemas: no OpenAPI documents for Kubernetes ${version} in ${builtins}; pin its Kubernetes release in KUBERNETES_OPENAPI (tools/tool-versions.env)`);
    process.exit(1);
  }
  const target = join(outDir, `v${version}.0-local-strict`);
  const inputs = walk(source).sort();
  // By content: a new patch release of the same minor has the same file names.
  const hash = createHash('sha256').update(readFileSync(__filename));
  for (const f of inputs) hash.update(f).update(readFileSync(f));
  const stamp = hash.digest('hex');
  if (existsSync(join(target, '.stamp')) && readFileSync(join(target, '.stamp'), 'utf8') === stamp) continue;
  const files = convertOpenApi(inputs.map((f) => JSON.parse(readFileSync(f, 'utf8'))));
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  for (const [name, content] of files) writeFileSync(join(target, name), JSON.stringify(content));
  writeFileSync(join(target, '.stamp'), stamp);
  console.error(`generate-schemas: ${files.size - 1} kinds for Kubernetes ${version} in ${target}`);
}

if (crdDir) {
  const target = join(outDir, 'crds');
  const inputs = readdirSync(crdDir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(crdDir, f));
  const stamp = createHash('sha256').update(readFileSync(__filename)).update(inputs.map((f) => readFileSync(f, 'utf8')).join('\n')).digest('hex');
  if (!existsSync(join(target, '.stamp')) || readFileSync(join(target, '.stamp'), 'utf8') !== stamp) {
    const crds = inputs.flatMap((f) => parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS()));
    const files = convertCrds(crds);
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target, { recursive: true });
    for (const [name, content] of files) writeFileSync(join(target, name), JSON.stringify(content));
    writeFileSync(join(target, '.stamp'), stamp);
    console.error(`generate-schemas: ${files.size} custom resource kinds from ${inputs.length} CRD files in ${target}`);
  }
}
