// The prod cluster: the platform composition over clusters/prod/cluster.yaml, rendered into
// dist-manifests/prod/ by tools/render.ts (with every other cluster, in one process).
import { platformRenderSpec } from '@ml-platform/platform';

export default platformRenderSpec('prod');
