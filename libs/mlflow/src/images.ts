import { containerImage } from '@ml-platform/core';

export const MLFLOW_IMAGE = containerImage('mlflow', {
  registry: 'ghcr.io',
  repository: 'mlflow/mlflow',
  tag: 'v3.16.1-full',
  note: 'Official image, -full variant (PostgreSQL drivers and boto3 for S3). Digest not pinned: not verifiable offline.',
});
