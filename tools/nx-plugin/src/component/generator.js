// @ts-check
// npx nx g @ml-platform/nx-plugin:component <name> --image <registry/repository:tag> --port <port>
// Scaffolds a component library that already has the structure every component needs (chart,
// cluster.yaml section, image, definition, focused tests, docs page) and registers its path
// alias in tsconfig.base.json, the one place every tool reads aliases from. Wiring it is one
// entry in PLATFORM_COMPONENTS (libs/platform/src/platform.ts), which the generator prints.
const { formatFiles, generateFiles, names, updateJson } = require('@nx/devkit');
const { join } = require('node:path');

const IMAGE = /^([a-z0-9.-]+(?::[0-9]+)?)\/([a-z0-9._/-]+):([A-Za-z0-9_][A-Za-z0-9_.-]*)$/;

/**
 * @param {import('@nx/devkit').Tree} tree
 * @param {{ name: string, image: string, port: number, uid?: number, probePath?: string }} options
 */
async function componentGenerator(tree, options) {
  const fileName = names(options.name).fileName;
  if (!/^[a-z]([a-z0-9-]*[a-z0-9])?$/.test(options.name) || fileName !== options.name) {
    throw new Error(`component name '${options.name}' must be a DNS label: lower-case letters, digits and '-', starting with a letter`);
  }
  const image = IMAGE.exec(options.image);
  if (!image) throw new Error(`--image '${options.image}' must be registry/repository:tag, e.g. docker.io/tensorflow/tensorflow:2.20.0`);
  if (image[3] === 'latest') throw new Error(`--image '${options.image}' must pin a released tag, not latest`);
  const root = `libs/${fileName}`;
  if (tree.exists(root)) throw new Error(`${root} already exists`);
  const n = names(options.name);
  const substitutions = {
    fileName,
    className: n.className,
    propertyName: n.propertyName,
    constantName: n.constantName,
    registry: image[1],
    repository: image[2],
    tag: image[3],
    port: options.port,
    uid: options.uid ?? 1000,
    probePath: options.probePath ?? '/',
  };
  generateFiles(tree, join(__dirname, 'files/lib'), root, substitutions);
  generateFiles(tree, join(__dirname, 'files/docs'), 'docs', substitutions);
  updateJson(tree, 'tsconfig.base.json', (json) => {
    json.compilerOptions.paths[`@ml-platform/${fileName}`] = [`${root}/src/index.ts`];
    return json;
  });
  await formatFiles(tree);
  return () => {
    console.log(`next: add ${n.propertyName}Component to PLATFORM_COMPONENTS in libs/platform/src/platform.ts, enable components.${n.propertyName} in a cluster.yaml, then 'npm run schema' and 'npm run synth'`);
  };
}

module.exports = componentGenerator;
module.exports.default = componentGenerator;
