// What the platform's Python web apps under gunicorn share (model services, Dash apps): the
// probes of their contract, the folders they write, and how they are scaled and exposed.
import { Construct } from 'constructs';
import { PodSelection, ServiceEndpoint } from './network';
import { PlatformDisruptionBudget, PlatformService } from './service';
import { EnvValue, HardenedContainerProps, httpProbe } from './workload';

/** prometheus_client's multiprocess files: every worker writes here, /metrics adds them up. */
export const PROMETHEUS_MULTIPROC_DIR = '/run/prometheus';

/** Options for `gunicornAppContainer`. */
export interface GunicornAppContainerOptions {
  readonly port: number;
  /** What the app keeps in /tmp, e.g. a model's files. */
  readonly tmpSize: string;
  /** Startup probes (every 5 s) before the pod is restarted. */
  readonly startupFailures: number;
}

/**
 * The container settings of the contract: the port, `/healthz` for startup and liveness, `/readyz`
 * for readiness, a writable /tmp, the multiprocess metrics folder and gunicorn's heartbeat
 * folder in memory. `env` holds PROMETHEUS_MULTIPROC_DIR.
 */
export function gunicornAppContainer(options: GunicornAppContainerOptions): Required<Pick<HardenedContainerProps, 'ports' | 'startupProbe' | 'livenessProbe' | 'readinessProbe' | 'writablePaths'>> & {
  readonly env: Record<string, EnvValue>;
} {
  const alive = () => httpProbe(options.port, '/healthz');
  return {
    env: { PROMETHEUS_MULTIPROC_DIR: EnvValue.fromValue(PROMETHEUS_MULTIPROC_DIR) },
    ports: [{ name: 'http', number: options.port }],
    startupProbe: { ...alive(), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: options.startupFailures },
    livenessProbe: { ...alive(), periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
    readinessProbe: { ...httpProbe(options.port, '/readyz'), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    writablePaths: [
      { path: '/tmp', sizeLimit: options.tmpSize },
      { path: PROMETHEUS_MULTIPROC_DIR, sizeLimit: '64Mi' },
      // gunicorn's worker heartbeat files.
      { path: '/dev/shm', medium: 'Memory', sizeLimit: '64Mi' },
    ],
  };
}

/** Pods between `min` and `max`. */
export interface PodScaling {
  readonly min: number;
  readonly max: number;
}

/** A fixed replica count, or an autoscaler on CPU when `max` is above `min`. */
export function scaledReplicas(scaling: PodScaling): { readonly replicas: number } | { readonly autoscaling: { readonly minReplicas: number; readonly maxReplicas: number } } {
  return scaling.max > scaling.min ? { autoscaling: { minReplicas: scaling.min, maxReplicas: scaling.max } } : { replicas: scaling.min };
}

/** The app's Service (port 80 to `targetPort`, named `name`) and, from two replicas, its PodDisruptionBudget. */
export function exposeApp(scope: Construct, name: string, pods: PodSelection, targetPort: number, scaling: PodScaling): ServiceEndpoint {
  if (scaling.min >= 2) new PlatformDisruptionBudget(scope, 'Budget', { pods });
  return new PlatformService(scope, 'Service', { name, pods, ports: [{ name: 'http', port: 80, targetPort }] }).endpoint('http');
}
