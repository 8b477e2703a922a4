import { containerImage } from '@ml-platform/core';

/** nginx, unprivileged: serves the home page's static files. */
export const HOME_IMAGE = containerImage('home', {
  registry: 'docker.io',
  repository: 'nginxinc/nginx-unprivileged',
  tag: '1.28.0-alpine-slim',
  note: "nginx 1.28.0 (stable), the unprivileged build the TLS sidecar runs too (a key of its own, so either can move alone): runs as nginx (UID 101) on 8080 and writes only where its rendered nginx.conf says (/tmp). tools/home.integration-test.ts runs the rendered config with Debian's nginx. Digest not pinned: not verifiable offline.",
});
