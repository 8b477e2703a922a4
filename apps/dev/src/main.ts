// The dev cluster: the platform composition over clusters/dev/cluster.yaml, rendered into
// dist-manifests/dev/ by tools/render.ts (with every other cluster, in one process).
import { platformRenderSpec } from '@ml-platform/platform';

export default platformRenderSpec('dev');
