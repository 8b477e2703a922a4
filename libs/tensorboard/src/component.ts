import { defineComponent } from '@ml-platform/core';
import { RCLONE_IMAGE, TENSORBOARD_IMAGE } from './images';
import { tensorboardConfigSchema } from './tensorboard';

/** TensorBoard: its cluster.yaml section and images. The platform composition wires it (it reads a MinIO bucket). */
export const tensorboardComponent = defineComponent({
  key: 'tensorboard',
  configSchema: tensorboardConfigSchema.optional(),
  images: [TENSORBOARD_IMAGE, RCLONE_IMAGE],
  webUis: ['tensorboard'],
});
