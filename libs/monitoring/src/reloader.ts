import { HardenedContainerProps, httpProbe, ImageRef } from '@ml-platform/core';

/** The port the reloader serves `/healthz` and its own metrics on. */
export const RELOADER_PORT = 8080;

/**
 * A sidecar that watches a mounted ConfigMap folder and calls the server's reload endpoint when
 * the kubelet swaps in new files, so a config change needs no restart (Prometheus would replay
 * its WAL, Alertmanager would drop its silences in memory). Writes nothing to disk.
 */
export function configReloader(image: ImageRef, props: { readonly watchedDir: string; readonly volume: string; readonly reloadUrl: string }): HardenedContainerProps {
  const healthz = httpProbe(RELOADER_PORT, '/healthz');
  return {
    name: 'config-reloader',
    image,
    args: [`--watched-dir=${props.watchedDir}`, `--reload-url=${props.reloadUrl}`, `--listen-address=:${RELOADER_PORT}`],
    ports: [{ name: 'reloader', number: RELOADER_PORT }],
    resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
    livenessProbe: { ...healthz, periodSeconds: 30, timeoutSeconds: 5 },
    readinessProbe: { ...healthz, periodSeconds: 10, timeoutSeconds: 5 },
    mounts: [{ volume: props.volume, path: props.watchedDir }],
  };
}
