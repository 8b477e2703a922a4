// Writes clusters/cluster.schema.json from the same zod definition the render validates with,
// so editors complete and check cluster.yaml. The unit tests fail when the file is stale.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findWorkspaceRoot } from '@ml-platform/core';
import { clusterJsonSchema } from '@ml-platform/platform';

const file = join(findWorkspaceRoot(process.cwd()), 'clusters', 'cluster.schema.json');
writeFileSync(file, clusterJsonSchema());
console.log(`wrote ${file}`);
