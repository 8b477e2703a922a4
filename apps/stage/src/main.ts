// The stage cluster: the platform composition over clusters/stage/cluster.yaml, rendered into
// dist-manifests/stage/ by tools/render.ts (with every other cluster, in one process).
import { platformRenderSpec } from '@ml-platform/platform';

export default platformRenderSpec('stage');
