import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDnsLabel } from '@ml-platform/core';

/**
 * Creates clusters/<name>/ and apps/<name>/ from an existing cluster, with an age public key of
 * its own as the only recipient of its Secrets; returns the files written.
 */
export function createCluster(root: string, name: string, from: string, ageRecipient: string): string[] {
  if (!isDnsLabel(name)) throw new Error(`cluster name '${name}' is not a DNS label: use lower-case letters, digits and '-'`);
  const source = join(root, 'clusters', from, 'cluster.yaml');
  if (!existsSync(source)) throw new Error(`clusters/${from}/cluster.yaml does not exist; pass --from with an existing cluster`);
  for (const dir of [join('clusters', name), join('apps', name)]) {
    if (existsSync(join(root, dir))) throw new Error(`${dir} already exists`);
  }
  const config = readFileSync(source, 'utf8');
  if (!/^name: .+$/m.test(config)) throw new Error(`clusters/${from}/cluster.yaml has no top-level name`);
  const files: Record<string, string> = {
    [`clusters/${name}/cluster.yaml`]: config
      .replace(/^name: .+$/m, `name: ${name}`)
      .replace(/^( {2}ageRecipients:\n)( {4}- age1\w+\n)+/m, `$1    - ${ageRecipient}\n`)
      .replace(/^# (?!yaml-language-server).*$/m, `# The ${name} cluster, created from ${from}: review every value below before the first render.`),
    [`clusters/${name}/project.json`]: `${JSON.stringify({ name: `cluster-${name}`, $schema: '../../node_modules/nx/schemas/project-schema.json', projectType: 'library', tags: ['type:config'], targets: {} }, null, 2)}\n`,
    [`apps/${name}/project.json`]: `${JSON.stringify(
      { name, $schema: '../../node_modules/nx/schemas/project-schema.json', sourceRoot: `apps/${name}/src`, projectType: 'application', tags: ['type:app'], implicitDependencies: [`cluster-${name}`], targets: { synth: {}, lint: {} } },
      null,
      2,
    )}\n`,
    [`apps/${name}/src/main.ts`]: `// The ${name} cluster: the platform composition over clusters/${name}/cluster.yaml, rendered into\n// dist-manifests/${name}/ by tools/render.ts (with every other cluster, in one process).\nimport { platformRenderSpec } from '@ml-platform/platform';\n\nexport default platformRenderSpec('${name}');\n`,
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return Object.keys(files);
}
