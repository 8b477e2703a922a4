import { Construct } from 'constructs';
import { z } from 'zod';
import {
  allowFlow,
  EnvValue,
  httpProbe,
  Layer,
  libpqEnv,
  trustFor,
  PlatformChart,
  PlatformContext,
  PlatformDeployment,
  PlatformDisruptionBudget,
  PlatformService,
  PodSelection,
  PostgresDatabase,
  renewalReloader,
  replicas,
  resources as resourcesSchema,
  ResourceSpec,
  S3Bucket,
  s3Env,
  s3Url,
  ServerCertificate,
  ServiceEndpoint,
  signalCommandLine,
  SignIn,
  TrackingServer,
  WebUi,
} from '@ml-platform/core';
import { MLFLOW_IMAGE } from './images';

/** The `components.mlflow` section of cluster.yaml. */
export const mlflowConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe('Render MLflow (needs postgres and minio enabled).'),
    replicas: replicas.describe('Tracking server pods; 2 or more get a PodDisruptionBudget.'),
    resources: resourcesSchema.optional(),
  })
  .describe('MLflow tracking server and model registry.');

/** Properties for `MlflowChart`. */
export interface MlflowChartProps {
  readonly context: PlatformContext;
  /** The backend store: experiments, runs, registered models. */
  readonly database: PostgresDatabase;
  /** Where artifacts go; the server proxies them, so clients need no S3 credentials. */
  readonly artifacts: S3Bucket;
  /** @default 1 */
  readonly replicas?: number;
  /** @default - 250m/1Gi requested, 1 CPU/2Gi limit */
  readonly resources?: ResourceSpec;
  /**
   * The host people reach the UI at (the server checks the Host header).
   *
   * @default - `mlflow.<baseDomain>`
   */
  readonly externalHost?: string;
}

const PORT = 5000;
/** Where the server's certificate is mounted. */
const TLS_DIR = '/etc/mlflow/tls';
/** How long uvicorn waits for a new worker to answer before it gives up replacing the old one. */
const WORKER_START_SECONDS = 60;
/** Where the server's workers share their metrics (a writable emptyDir). */
const METRICS_DIR = '/tmp/prometheus-metrics';
/** The official image has no USER; any non-root UID works for a Python server with HOME set. */
const MLFLOW_UID = 1001;

const DEFAULT_RESOURCES: ResourceSpec = {
  requests: { cpu: '250m', memory: '1Gi' },
  limits: { cpu: '1', memory: '2Gi' },
};

/**
 * MLflow tracking server and model registry: PostgreSQL backend store, artifacts proxied to an
 * S3 bucket (`--serve-artifacts`), Host-header allow list for its Service and future Ingress.
 */
export class MlflowChart extends PlatformChart {
  /** Where clients (notebooks, pipelines, prediction APIs) send tracking calls. */
  public readonly endpoint: ServiceEndpoint;
  /** The tracking server as clients take it: where, and whether over TLS. */
  public readonly tracking: TrackingServer;
  public readonly server: PodSelection;
  /** The Host headers the server accepts. */
  public readonly allowedHosts: string[];
  /** The UI: experiments, runs and the model registry, behind the sign-in proxy. */
  public readonly webUi: WebUi;

  constructor(scope: Construct, id: string, props: MlflowChartProps) {
    super(scope, id, { context: props.context, layer: Layer.APPS });
    const image = props.context.images.image(MLFLOW_IMAGE);
    const replicaCount = props.replicas ?? 1;
    const serviceName = 'mlflow';
    const headlessName = 'mlflow-headless';
    // With the internal CA, MLflow serves HTTPS: runs' metadata and every artifact (proxied to
    // MinIO) pass through it. uvicorn reads its certificate when a worker starts; on SIGHUP its
    // supervisor replaces the workers one by one, each new one before retiring an old one, so the
    // reloader sidecar's signal brings a renewal into use without a restart. The headless
    // Service names each pod by address for Prometheus, which verifies it by that name.
    const certificate = props.context.internalCa ? new ServerCertificate(this, 'Certificate', { secretName: 'mlflow-tls', services: [serviceName], headless: headlessName }) : undefined;
    const tls = certificate !== undefined;
    const scheme = tls ? 'https' : 'http';
    const externalHost = props.externalHost ?? `mlflow.${props.context.baseDomain}`;
    const serviceHosts = [serviceName, `${serviceName}.${this.namespace}`, `${serviceName}.${this.namespace}.svc`, props.context.serviceHost(serviceName, this.namespace)];
    // Clients send the port in Host unless it is the scheme default; probes use localhost.
    // Prometheus scrapes each pod by its IP: allow the private ranges MLflow itself allows by
    // default (an explicit list replaces those defaults). IP patterns match IP hosts only.
    const privateAddresses = ['10.*', '192.168.*', ...Array.from({ length: 16 }, (_, i) => `172.${16 + i}.*`)];
    this.allowedHosts = [
      ...serviceHosts.flatMap((h) => [h, `${h}:${PORT}`]),
      externalHost,
      'localhost',
      `localhost:${PORT}`,
      ...(tls ? [`*.${headlessName}.${this.namespace}.svc:${PORT}`] : privateAddresses),
    ];

    const health = () => httpProbe(PORT, '/health', { headers: { Host: `localhost:${PORT}` }, scheme: tls ? 'HTTPS' : 'HTTP' });
    const trust = trustFor(this, props.database, props.artifacts);
    const deployment = new PlatformDeployment(this, 'Server', {
      identity: { name: 'mlflow', instance: id, component: 'tracking-server', version: image.version },
      replicas: replicaCount,
      metrics: { port: PORT, path: '/metrics', ...(tls ? { tls: { subdomain: headlessName, byAddress: true } } : {}) },
      pod: {
        user: MLFLOW_UID,
        group: MLFLOW_UID,
        volumes: [...trust.volumes, ...(certificate ? [certificate.volume('tls')] : [])],
        shareProcessNamespace: tls,
        containers: [
          {
            name: 'mlflow',
            image,
            command: ['mlflow'],
            args: [
              'server',
              '--host=0.0.0.0',
              `--port=${PORT}`,
              // Host, port, database, user and password come from the libpq environment.
              '--backend-store-uri=postgresql://',
              '--serve-artifacts',
              `--artifacts-destination=s3://${props.artifacts.bucket}/`,
              `--allowed-hosts=${this.allowedHosts.join(',')}`,
              // Request counts and latencies (prometheus_flask_exporter, multiprocess files here).
              `--expose-prometheus=${METRICS_DIR}`,
              // A renewal replaces each worker only once its successor answers; uvicorn waits 5 s for
              // that by default, less than an MLflow worker takes to start on a busy node, and then
              // keeps the old worker with the old certificate.
              ...(tls ? [`--uvicorn-opts=--ssl-certfile ${TLS_DIR}/tls.crt --ssl-keyfile ${TLS_DIR}/tls.key --timeout-worker-healthcheck ${WORKER_START_SECONDS}`] : []),
            ],
            workingDir: '/tmp',
            env: {
              ...libpqEnv(props.database),
              ...s3Env(props.artifacts),
              MLFLOW_S3_ENDPOINT_URL: EnvValue.fromValue(s3Url(props.artifacts)),
              MLFLOW_DISABLE_TELEMETRY: EnvValue.fromValue('true'),
              DO_NOT_TRACK: EnvValue.fromValue('true'),
              HOME: EnvValue.fromValue('/tmp'),
            },
            ports: [{ name: scheme, number: PORT }],
            resources: props.resources ?? DEFAULT_RESOURCES,
            // The first start creates the schema in PostgreSQL, which takes a while.
            startupProbe: { ...health(), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 60 },
            livenessProbe: { ...health(), periodSeconds: 30, timeoutSeconds: 3, failureThreshold: 5 },
            readinessProbe: { ...health(), periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
            writablePaths: [{ path: '/tmp', sizeLimit: '2Gi' }],
            mounts: [...trust.mounts, ...(certificate ? [{ volume: 'tls', path: TLS_DIR }] : [])],
          },
          // The supervisor is the one process started as `python -m uvicorn`; MLflow starts it.
          ...(certificate ? [renewalReloader({ image, certificate: { volume: 'tls', path: TLS_DIR }, reload: signalCommandLine('-m uvicorn', 'HUP') })] : []),
        ],
      },
    });
    this.server = deployment.pods;
    this.endpoint = new PlatformService(this, 'Service', {
      name: serviceName,
      pods: this.server,
      ports: [{ name: scheme, port: PORT }],
    }).endpoint(scheme);
    if (tls) new PlatformService(this, 'Headless', { name: headlessName, pods: this.server, headless: true, ports: [{ name: scheme, port: PORT }] });
    this.tracking = { endpoint: this.endpoint, tls };
    if (replicaCount > 1) new PlatformDisruptionBudget(this, 'Budget', { pods: this.server });
    this.webUi = { name: 'mlflow', purpose: 'Experiments, runs and the model registry', endpoint: this.endpoint, signIn: SignIn.PROXY, tls };

    allowFlow(this.server, props.database.endpoint);
    allowFlow(this.server, props.artifacts.endpoint);
  }
}
