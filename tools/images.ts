// npm run images -- list|check|pin
// list: one line per image this repository builds: key, build context, tag and the repository CI
//       pushes it to (GitLab CI's build job reads it).
// check: fails when a build context changed under an old tag or lacks its Containerfile.
// pin <cluster> [--image <key>]... [--refresh]: resolves the cluster's images to their manifest
//       digests through its registry mirrors and writes them to clusters/<cluster>/cluster.yaml.
import { join } from 'node:path';
import { ConfigError, findWorkspaceRoot } from '@ml-platform/core';
import { PLATFORM_IMAGES, platformRenderSpec } from '@ml-platform/platform';
import { checkBuiltImages } from './images/build-context';
import { pinImages } from './images/pin';

const USAGE = 'usage: npm run images -- list | check | pin <cluster> [--image <key>]... [--refresh]';

async function pin(root: string, args: string[]): Promise<number> {
  const [cluster, ...rest] = args;
  const only: string[] = [];
  let refresh = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--refresh') refresh = true;
    else if (rest[i] === '--image' && rest[i + 1]) only.push(rest[++i]);
    else {
      console.error(`images pin: unexpected argument '${rest[i]}'\n${USAGE}`);
      return 2;
    }
  }
  if (!cluster) {
    console.error(USAGE);
    return 2;
  }
  const result = await pinImages({ root, spec: platformRenderSpec(cluster), crane: join(root, '.tools', 'bin', 'crane'), only: only.length ? only : undefined, refresh });
  for (const o of result.resolved) console.log(`images pin: ${o.key}\t${o.reference}@${o.digest}`);
  for (const o of result.failed) console.error(`images pin: ${o.key}: cannot resolve ${o.reference}: ${o.error}`);
  if (result.failed.length > 0) {
    console.error(`images pin: ${result.failed.length} of ${result.failed.length + result.resolved.length} image(s) could not be resolved; ${result.file} is unchanged (registry credentials: docs/images.md)`);
    return 1;
  }
  if (!result.written) {
    console.log(`images pin: all ${result.kept.length} image(s) of '${cluster}' already carry a digest; --refresh resolves them again`);
    return 0;
  }
  console.log(`images pin: wrote ${result.resolved.length} digest(s) to ${result.file} (${result.kept.length} kept); run 'npm run synth' and commit both`);
  return 0;
}

async function main(): Promise<number> {
  const [command, ...args] = process.argv.slice(2);
  const root = findWorkspaceRoot(process.cwd());
  const built = PLATFORM_IMAGES.filter((i) => i.build);
  if (command === 'list') {
    for (const i of built) console.log([i.key, i.build?.context, i.tag, `${i.registry}/${i.repository}`].join('\t'));
    return 0;
  }
  if (command === 'check') {
    const problems = checkBuiltImages(root, built);
    for (const p of problems) console.error(`images: ${p}`);
    if (problems.length === 0) console.log(`images: ${built.length} built image(s), every tag matches its build context`);
    return problems.length ? 1 : 0;
  }
  if (command === 'pin') return pin(root, args);
  console.error(USAGE);
  return 2;
}

main().then(
  (code) => (process.exitCode = code),
  (e) => {
    console.error(e instanceof ConfigError ? e.message : `images: ${(e as Error).message}`);
    process.exitCode = 1;
  },
);
