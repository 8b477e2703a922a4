// The dev cluster: renders clusters/dev/cluster.yaml into dist-manifests/dev/.
import { runClusterRenderCli } from '@ml-platform/core';
import { platformRenderSpec } from '@ml-platform/platform';

process.exitCode = runClusterRenderCli(platformRenderSpec('dev'), process.argv.slice(2));
