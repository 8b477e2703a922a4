import { containerImage } from '@ml-platform/core';

export const OAUTH2_PROXY_IMAGE = containerImage('oauth2-proxy', {
  registry: 'quay.io',
  repository: 'oauth2-proxy/oauth2-proxy',
  tag: 'v7.15.6',
  note: 'Official image (distroless static, nonroot). The same release the config check builds with go install. Digest not pinned: not verifiable offline.',
});
