import { defineComponent } from '@ml-platform/core';
import { MINIO_IMAGE, MC_IMAGE } from './images';
import { minioConfigSchema } from './minio';

/** MinIO, the platform's S3 object store: its cluster.yaml section and images. The platform composition wires it. */
export const minioComponent = defineComponent({
  key: 'minio',
  configSchema: minioConfigSchema,
  images: [MINIO_IMAGE, MC_IMAGE],
  webUis: ['minio-console'],
});
