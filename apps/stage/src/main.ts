// The stage cluster: renders clusters/stage/cluster.yaml into dist-manifests/stage/.
import { runClusterRenderCli } from '@ml-platform/core';
import { platformRenderSpec } from '@ml-platform/platform';

process.exitCode = runClusterRenderCli(platformRenderSpec('stage'), process.argv.slice(2));
