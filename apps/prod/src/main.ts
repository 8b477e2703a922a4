// The prod cluster: renders clusters/prod/cluster.yaml into dist-manifests/prod/.
import { runClusterRenderCli } from '@ml-platform/core';
import { platformRenderSpec } from '@ml-platform/platform';

process.exitCode = runClusterRenderCli(platformRenderSpec('prod'), process.argv.slice(2));
