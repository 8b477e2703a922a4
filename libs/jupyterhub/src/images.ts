import { builtImage, containerImage } from '@ml-platform/core';

/** The hub: JupyterHub 5.5.0, KubeSpawner 7.0.0, OAuthenticator 17.4.0, jupyterhub-idle-culler 1.4.0, psycopg2. */
export const JUPYTERHUB_HUB_IMAGE = containerImage('jupyterhub-hub', {
  registry: 'quay.io',
  repository: 'jupyterhub/k8s-hub',
  tag: '4.4.0',
  note: 'zero-to-jupyterhub 4.4.0 (2026-06, a security release), whose hub image pins the versions above (images/hub/requirements.txt); tools/jupyterhub-check installs the same. Digest not pinned: not verifiable offline.',
});

export const JUPYTERHUB_PROXY_IMAGE = containerImage('jupyterhub-proxy', {
  registry: 'quay.io',
  repository: 'jupyterhub/configurable-http-proxy',
  tag: '5.2.0',
  note: 'configurable-http-proxy 5.2.0, the version zero-to-jupyterhub 4.4.0 runs (values.yaml proxy.chp.image). Digest not pinned: not verifiable offline.',
});

/** The notebook servers' image, and the image of their Spark executors. */
export const NOTEBOOK_IMAGE = builtImage('notebook', {
  tag: '1.0.1',
  note: 'Built here from images/notebook: docker-stacks pyspark-notebook 2026-10-05 with the MLflow client (and skops, its scikit-learn model format), boto3, s3fs, tensorboardX and the S3A connector.',
  build: { context: 'images/notebook', contextDigest: 'sha256:ada8169ffa0773fa231a632730f571b91108ef366d61503553345a0d58c81a00' },
});
