// npm run images -- list|check
// list: one line per image this repository builds: key, build context, tag and the repository CI
//       pushes it to (GitLab CI's build job reads it).
// check: fails when a build context changed under an old tag or lacks its Containerfile.
import { findWorkspaceRoot } from '@ml-platform/core';
import { PLATFORM_IMAGES } from '@ml-platform/platform';
import { checkBuiltImages } from './images/build-context';

const [command] = process.argv.slice(2);
const root = findWorkspaceRoot(process.cwd());
const built = PLATFORM_IMAGES.filter((i) => i.build);
if (command === 'list') {
  for (const i of built) console.log([i.key, i.build?.context, i.tag, `${i.registry}/${i.repository}`].join('\t'));
} else if (command === 'check') {
  const problems = checkBuiltImages(root, built);
  for (const p of problems) console.error(`images: ${p}`);
  if (problems.length === 0) console.log(`images: ${built.length} built image(s), every tag matches its build context`);
  process.exitCode = problems.length ? 1 : 0;
} else {
  console.error('usage: npm run images -- list|check');
  process.exitCode = 2;
}
