import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import {
  allowFlow,
  allowIngressFromExternalPods,
  containerImage,
  ContainerImage,
  DriftThresholds,
  EnvValue,
  exposeApp,
  gunicornAppContainer,
  Layer,
  ModelBaseline,
  ModelMonitoring,
  PlatformChart,
  PlatformContext,
  PlatformDeployment,
  PlatformJob,
  PodSelection,
  ResourceSpec,
  scaledReplicas,
  ServiceEndpoint,
  SignIn,
  trackingEnv,
  TrackingServer,
  trustFor,
  WebUi,
} from '@ml-platform/core';
import { ModelServiceConfig, serviceName } from './config';
import { PREDICTION_API_IMAGE } from './images';

const PORT = 8080;
/** images/prediction-api's user; any non-root UID works. */
const UID = 65532;
const DEFAULT_RESOURCES: ResourceSpec = { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } };
/** Werkzeug refuses a larger body before the service reads it (413). */
const MAX_BYTES = 1024 * 1024;

/** A client in the cluster allowed to call a model service. */
export type ModelConsumer =
  /** Platform pods: they get the egress too. */
  | { readonly pods: PodSelection }
  /** Pods outside the platform, by namespace and labels: their own policies must let them out. */
  | { readonly namespace: string; readonly podLabels: Readonly<Record<string, string>>; readonly source: string };

/** Properties for `PredictionApi`. */
export interface PredictionApiProps {
  /** The service's short name: it runs as `predict-<name>`. */
  readonly name: string;
  /** The registered model and the alias of the version to serve. */
  readonly model: { readonly name: string; readonly alias: string };
  /** The model's input columns; the service refuses a model whose signature names others. */
  readonly features: readonly string[];
  /** The registry the model is loaded from. */
  readonly mlflow: TrackingServer;
  /**
   * The image; it must implement the service contract (docs/serving.md).
   *
   * @default - the reference service, services/prediction-api
   */
  readonly image?: ContainerImage;
  /** @default 2 */
  readonly workers?: number;
  /**
   * Pods; with `max` above `min` a HorizontalPodAutoscaler scales between them on CPU.
   *
   * @default - one pod
   */
  readonly replicas?: { readonly min: number; readonly max: number };
  /** @default - 250m/512Mi requested, 2 CPU/2Gi limit */
  readonly resources?: ResourceSpec;
  /** @default 1000 */
  readonly maxRows?: number;
  /**
   * Run a Job that trains and registers the reference model under `model` when nothing is
   * registered there yet.
   *
   * @default false
   */
  readonly registerReferenceModel?: boolean;
  /**
   * The baseline and thresholds its drift is watched against.
   *
   * @default - not watched for drift (traffic, errors and latency only)
   */
  readonly drift?: { readonly baseline: ModelBaseline; readonly thresholds: DriftThresholds };
}

/**
 * One model served over HTTP: the reference prediction service (or an image with its contract)
 * loading `models:/<name>@<alias>` from MLflow at start, hardened, scraped, reachable only by the
 * clients allowed to call it, and watched for drift against its training baseline.
 */
export class PredictionApi extends Construct {
  public readonly pods: PodSelection;
  public readonly endpoint: ServiceEndpoint;
  /** Its host for people, behind GitLab sign-in: the service has no sign-in of its own. */
  public readonly webUi: WebUi;

  constructor(scope: Construct, id: string, props: PredictionApiProps) {
    super(scope, id);
    const chart = PlatformChart.of(this);
    const name = serviceName(props.name);
    const image = chart.context.images.image(props.image ?? PREDICTION_API_IMAGE);
    const scaling = props.replicas ?? { min: 1, max: 1 };
    // What the service and the registering Job need to talk to the registry.
    const trust = trustFor(chart, props.mlflow);
    const mlflowClient = {
      ...trackingEnv(props.mlflow),
      MLFLOW_DISABLE_TELEMETRY: EnvValue.fromValue('true'),
      DO_NOT_TRACK: EnvValue.fromValue('true'),
      HOME: EnvValue.fromValue('/tmp'),
    };
    // The workers fork from a master that loaded the model, so the port opens only once it is
    // loaded: the startup probe gives the registry its retries (30 × 5 s) and the download.
    const web = gunicornAppContainer({ port: PORT, tmpSize: '4Gi', startupFailures: 60 });
    const deployment = new PlatformDeployment(this, 'Server', {
      identity: { name, instance: props.name, component: 'prediction-api', version: image.version },
      ...scaledReplicas(scaling),
      metrics: { port: PORT, path: '/metrics' },
      pod: {
        user: UID,
        group: UID,
        // gunicorn waits graceful_timeout (30 s) for requests in flight.
        terminationGracePeriod: Duration.seconds(40),
        volumes: trust.volumes,
        containers: [
          {
            ...web,
            name: 'prediction-api',
            image,
            command: ['gunicorn', '--config', 'python:prediction_api.gunicorn_conf', 'prediction_api.wsgi:app'],
            env: {
              ...mlflowClient,
              MODEL_NAME: EnvValue.fromValue(props.model.name),
              MODEL_ALIAS: EnvValue.fromValue(props.model.alias),
              MODEL_FEATURES: EnvValue.fromValue(JSON.stringify(props.features)),
              MAX_ROWS: EnvValue.fromValue(String(props.maxRows ?? 1000)),
              MAX_BYTES: EnvValue.fromValue(String(MAX_BYTES)),
              PORT: EnvValue.fromValue(String(PORT)),
              WEB_CONCURRENCY: EnvValue.fromValue(String(props.workers ?? 2)),
              ...web.env,
            },
            // /tmp holds the model's files, downloaded from the registry at start.
            resources: props.resources ?? DEFAULT_RESOURCES,
            mounts: trust.mounts,
          },
        ],
      },
    });
    this.pods = deployment.pods;
    this.endpoint = exposeApp(this, name, this.pods, PORT, scaling);
    this.webUi = { name, purpose: `Predictions of models:/${props.model.name}@${props.model.alias} (POST /predict)`, endpoint: this.endpoint, signIn: SignIn.PROXY, docs: 'serving.md' };
    allowFlow(this.pods, props.mlflow.endpoint);
    if (props.registerReferenceModel) {
      const job = new PlatformJob(chart, `${id}Register`, {
        identity: { name: `${name}-register`, instance: props.name, component: 'reference-model', version: image.version },
        // MLflow may still be starting: the Job retries (restartPolicy OnFailure) for its deadline.
        backoffLimit: 20,
        pod: {
          user: UID,
          group: UID,
          volumes: trust.volumes,
          containers: [
            {
              name: 'register',
              image,
              command: ['python', '-m', 'prediction_api.reference_model', '--if-absent', '--name', props.model.name, '--alias', props.model.alias],
              env: mlflowClient,
              resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
              writablePaths: [{ path: '/tmp', sizeLimit: '1Gi' }],
              mounts: trust.mounts,
            },
          ],
        },
      });
      allowFlow(job.pods, props.mlflow.endpoint);
    }
    if (props.drift) {
      ModelMonitoring.of(this).declare({ job: name, namespace: chart.namespace, model: props.model.name, alias: props.model.alias, ...props.drift });
    }
  }

  /** Lets `consumer` call the service. */
  public allowFrom(consumer: ModelConsumer): void {
    if ('pods' in consumer) allowFlow(consumer.pods, this.endpoint);
    else allowIngressFromExternalPods(this.pods, consumer.namespace, consumer.podLabels, this.endpoint.targetPort, consumer.source);
  }
}

/** Properties for `ServingChart`. */
export interface ServingChartProps {
  readonly context: PlatformContext;
  /** The model services, as cluster.yaml declares them. */
  readonly models: readonly ModelServiceConfig[];
  readonly mlflow: TrackingServer;
  /**
   * JupyterHub's notebook servers, for the services that let them call (`consumers.notebooks`).
   *
   * @default - no notebooks in this cluster
   */
  readonly notebooks?: PodSelection;
}

/** The model services of a cluster, in namespace `serving`. */
export class ServingChart extends PlatformChart {
  /** Each service by its short name. */
  public readonly services: ReadonlyMap<string, PredictionApi>;

  constructor(scope: Construct, id: string, props: ServingChartProps) {
    super(scope, id, { context: props.context, layer: Layer.APPS });
    const services = new Map<string, PredictionApi>();
    for (const m of props.models) {
      const api = new PredictionApi(this, m.name, {
        name: m.name,
        model: m.model,
        features: m.features,
        mlflow: props.mlflow,
        image: m.image ? customImage(m.name, m.image) : undefined,
        workers: m.workers,
        replicas: m.replicas,
        resources: m.resources,
        maxRows: m.maxRows,
        registerReferenceModel: m.registerReferenceModel,
        drift: m.drift.enabled && m.drift.baseline ? { baseline: m.drift.baseline, thresholds: m.drift.thresholds } : undefined,
      });
      if (m.consumers.notebooks) {
        if (!props.notebooks) throw new Error(`model service ${m.name} lets notebooks call it, but the cluster has no notebook servers; enable jupyterhub or set consumers.notebooks: false`);
        api.allowFrom({ pods: props.notebooks });
      }
      m.consumers.pods.forEach((c, i) => api.allowFrom({ namespace: c.namespace, podLabels: c.podLabels, source: `${c.namespace}-${i}` }));
      services.set(m.name, api);
    }
    this.services = services;
  }
}

/** A model service's own image from cluster.yaml, catalogued under `model-<name>` for pins and the inventory. */
function customImage(name: string, image: NonNullable<ModelServiceConfig['image']>): ContainerImage {
  return containerImage(`model-${name}`, { ...image, note: `The image of model service ${name}, named in cluster.yaml.` });
}
