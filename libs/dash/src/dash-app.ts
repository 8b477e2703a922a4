import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import {
  allowFlow,
  containerImage,
  ContainerImage,
  EnvValue,
  exposeApp,
  gunicornAppContainer,
  Layer,
  libpqEnv,
  trustFor,
  PlatformChart,
  PlatformContext,
  PlatformDeployment,
  PodSelection,
  PostgresDatabase,
  ResourceSpec,
  scaledReplicas,
  ServiceEndpoint,
  SignIn,
  WebUi,
} from '@ml-platform/core';
import { DashAppConfig, dashAppName } from './config';
import { CHURN_DASHBOARD_IMAGE } from './images';

/** The reference app's server (services/churn-dashboard/src/churn_dashboard/wsgi.py). */
const REFERENCE_WSGI = 'churn_dashboard.wsgi:server';

/** The port the contract's gunicorn listens on (Dash's own default). */
const PORT = 8050;
/** Any non-root UID works for an image built to the contract; the reference image runs as 65532. */
const UID = 65532;
const DEFAULT_RESOURCES: ResourceSpec = { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } };

/** Properties for `DashApp`. */
export interface DashAppProps {
  /** The app's short name: it runs as `dash-<name>`. */
  readonly name: string;
  /** An image built to the contract in docs/dash.md: gunicorn on its PATH, the app importable. */
  readonly image: ContainerImage;
  /** The Flask server gunicorn serves, as `module:attribute` (Dash's `app.server`). */
  readonly wsgi: string;
  /** What people use it for (the inventory and the home page). */
  readonly purpose: string;
  /** @default 2 */
  readonly workers?: number;
  /**
   * Pods; with `max` above `min` a HorizontalPodAutoscaler scales between them on CPU.
   *
   * @default - one pod
   */
  readonly replicas?: { readonly min: number; readonly max: number };
  /** @default - 100m/256Mi requested, 1 CPU/1Gi limit */
  readonly resources?: ResourceSpec;
  /**
   * A database the app reads, as libpq's PG* environment (the password from its Secret).
   *
   * @default - none
   */
  readonly database?: PostgresDatabase;
}

/**
 * One Dash app served by gunicorn: any image built to the platform's contract (gunicorn and the
 * app's `wsgi` server importable; the app answers at `/`, `/healthz`, `/readyz` that checks its
 * data, and `/metrics`), hardened,
 * scraped, autoscaled, behind GitLab sign-in on its own host, and wired to the database it reads.
 */
export class DashApp extends Construct {
  public readonly pods: PodSelection;
  public readonly endpoint: ServiceEndpoint;
  /** Its host for people, behind GitLab sign-in: Dash has none of its own. */
  public readonly webUi: WebUi;

  constructor(scope: Construct, id: string, props: DashAppProps) {
    super(scope, id);
    const chart = PlatformChart.of(this);
    const name = dashAppName(props.name);
    const image = chart.context.images.image(props.image);
    const scaling = props.replicas ?? { min: 1, max: 1 };
    const web = gunicornAppContainer({ port: PORT, tmpSize: '256Mi', startupFailures: 24 });
    const trust = trustFor(PlatformChart.of(this), props.database);
    const deployment = new PlatformDeployment(this, 'Server', {
      identity: { name, instance: props.name, component: 'dash-app', version: image.version },
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
            name: 'dash',
            image,
            command: ['gunicorn', props.wsgi],
            env: {
              PORT: EnvValue.fromValue(String(PORT)),
              // gunicorn's settings from the platform; a gunicorn.conf.py in the image's working
              // directory may add its own (logging, hooks), these win.
              GUNICORN_CMD_ARGS: EnvValue.fromValue(
                [`--bind=0.0.0.0:${PORT}`, `--workers=${props.workers ?? 2}`, '--worker-tmp-dir=/dev/shm', '--timeout=60', '--graceful-timeout=30', '--keep-alive=5'].join(' '),
              ),
              // The app is served at the root of its own host (Dash reads DASH_* itself).
              DASH_URL_BASE_PATHNAME: EnvValue.fromValue('/'),
              ...web.env,
              HOME: EnvValue.fromValue('/tmp'),
              ...(props.database ? libpqEnv(props.database) : {}),
            },
            mounts: trust.mounts,
            resources: props.resources ?? DEFAULT_RESOURCES,
          },
        ],
      },
    });
    this.pods = deployment.pods;
    this.endpoint = exposeApp(this, name, this.pods, PORT, scaling);
    this.webUi = { name, purpose: props.purpose, endpoint: this.endpoint, signIn: SignIn.PROXY, docs: 'dash.md' };
    if (props.database) allowFlow(this.pods, props.database.endpoint);
  }
}

/** Properties for `DashChart`. */
export interface DashChartProps {
  readonly context: PlatformContext;
  /** The apps, as cluster.yaml declares them. */
  readonly apps: readonly DashAppConfig[];
  /**
   * The analytics database through its read-only role, for the apps that read it.
   *
   * @default - none; an app that reads it is refused
   */
  readonly analytics?: PostgresDatabase;
}

/** The Dash apps of a cluster, in namespace `dash`. */
export class DashChart extends PlatformChart {
  /** Each app by its short name. */
  public readonly apps: ReadonlyMap<string, DashApp>;

  constructor(scope: Construct, id: string, props: DashChartProps) {
    super(scope, id, { context: props.context, layer: Layer.APPS });
    const apps = new Map<string, DashApp>();
    for (const a of props.apps) {
      if (a.analytics && !props.analytics) throw new Error(`dash app ${a.name} reads the analytics database, which this cluster does not give it; add dash to components.postgres.analytics.readers or set analytics: false`);
      const image = a.reference ? CHURN_DASHBOARD_IMAGE : a.image ? containerImage(`dash-${a.name}`, { ...a.image, note: `The image of Dash app ${a.name}, named in cluster.yaml.` }) : undefined;
      if (!image) throw new Error(`dash app ${a.name}: expected its image, or reference: true`);
      const purpose = a.purpose ?? (a.reference ? 'Churn by contract type, from the analytics database (reference Dash app)' : `Dash app ${a.name}`);
      const wsgi = a.reference ? REFERENCE_WSGI : a.wsgi;
      apps.set(a.name, new DashApp(this, a.name, { name: a.name, image, wsgi, purpose, workers: a.workers, replicas: a.replicas, resources: a.resources, database: a.analytics ? props.analytics : undefined }));
    }
    this.apps = apps;
  }
}
