import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { z } from 'zod';
import {
  contentRevision,
  httpProbe,
  Layer,
  PlatformChart,
  PlatformContext,
  PlatformDeployment,
  PlatformDisruptionBudget,
  PlatformService,
  PodSelection,
  replicas,
  resources as resourcesSchema,
  ResourceSpec,
  ServiceEndpoint,
  SignIn,
  WebUi,
  workloadLabels,
} from '@ml-platform/core';
import { HOME_IMAGE } from './images';
import { HomePageModel, renderHomePage } from './page';
import { HEALTH_PATH, homeServerConfig } from './server-config';

/** The `components.home` section of cluster.yaml. */
export const homeConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe("Render the platform's home page: every tool of the cluster with its link, version, groups and docs."),
    replicas: replicas.default(1).describe('Pods; 2 or more get a PodDisruptionBudget.'),
    resources: resourcesSchema.optional().describe('The web server; default 10m/16Mi requested, 200m/64Mi limit.'),
    docsUrl: z
      .string()
      .regex(/^https:\/\/\S+\/$/, { error: 'expected an https:// URL ending in /, under which docs/<page>.md are found' })
      .optional()
      .describe("Where the platform's docs/ folder is read, ending in /; default: the repository's docs/ on its branch, when gitops.repository.url is https."),
  })
  .describe("The platform's home page: one landing page per cluster, behind GitLab sign-in like every UI.");

/** Properties for `HomeChart`. */
export interface HomeChartProps {
  readonly context: PlatformContext;
  /** What the page shows (the tools, first steps, status links). */
  readonly page: HomePageModel;
  /** @default 1 */
  readonly replicas?: number;
  /** @default - 10m/16Mi requested, 200m/64Mi limit */
  readonly resources?: ResourceSpec;
}

/** The port the image's nginx serves on as a non-root user. */
const PORT = 8080;
/** nginx-unprivileged's user and group (its Dockerfile: nginx, 101). */
const UID = 101;
const SITE_DIR = '/srv/home';
const CONFIG_DIR = '/etc/platform/home-server';
const RUN_DIR = '/tmp';

const DEFAULT_RESOURCES: ResourceSpec = { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '200m', memory: '64Mi' } };

/**
 * The platform's home page in namespace `home`: a static site in a ConfigMap, served read-only
 * by nginx. A merge that changes the page changes the ConfigMap, which the kubelet swaps into
 * the mount; nginx reads the files at every request, so the page updates without a restart.
 */
export class HomeChart extends PlatformChart {
  public readonly endpoint: ServiceEndpoint;
  public readonly server: PodSelection;
  public readonly webUi: WebUi;
  /** The site's files, by name. */
  public readonly site: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: HomeChartProps) {
    super(scope, id, { context: props.context, layer: Layer.APPS });
    const image = props.context.images.image(HOME_IMAGE);
    const identity = { name: 'home', instance: id, component: 'web-server', version: image.version };
    this.site = renderHomePage(props.page);
    const serverConfig = homeServerConfig({ port: PORT, root: SITE_DIR, runDir: RUN_DIR });
    const labels = workloadLabels(identity);
    new k8s.KubeConfigMap(this, 'Site', { metadata: { name: 'home-site', namespace: this.namespace, labels }, data: { ...this.site } });
    new k8s.KubeConfigMap(this, 'ServerConfig', { metadata: { name: 'home-server', namespace: this.namespace, labels }, data: { 'nginx.conf': serverConfig } });

    const replicaCount = props.replicas ?? 1;
    const probe = () => httpProbe(PORT, HEALTH_PATH);
    const deployment = new PlatformDeployment(this, 'Server', {
      identity,
      replicas: replicaCount,
      // The server's config is read at start; the site is not (see above).
      podAnnotations: { 'ml-platform.io/config-revision': contentRevision(serverConfig) },
      pod: {
        user: UID,
        group: UID,
        containers: [
          {
            name: 'nginx',
            image,
            command: ['nginx'],
            // -e: the log nginx opens before it reads its config goes to stderr, not /var/log.
            args: ['-e', 'stderr', '-c', `${CONFIG_DIR}/nginx.conf`],
            ports: [{ name: 'http', number: PORT }],
            resources: props.resources ?? DEFAULT_RESOURCES,
            livenessProbe: { ...probe(), periodSeconds: 30, timeoutSeconds: 3, failureThreshold: 5 },
            readinessProbe: { ...probe(), periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
            writablePaths: [{ path: RUN_DIR, sizeLimit: '16Mi' }],
            mounts: [
              { volume: 'site', path: SITE_DIR },
              { volume: 'server-config', path: CONFIG_DIR },
            ],
          },
        ],
        volumes: [
          { name: 'site', configMap: { name: 'home-site' } },
          { name: 'server-config', configMap: { name: 'home-server' } },
        ],
      },
    });
    this.server = deployment.pods;
    this.endpoint = new PlatformService(this, 'Service', { name: 'home', pods: this.server, ports: [{ name: 'http', port: PORT }] }).endpoint('http');
    if (replicaCount > 1) new PlatformDisruptionBudget(this, 'Budget', { pods: this.server });
    this.webUi = { name: 'home', purpose: 'This page: every tool of the cluster, with its link, version and who may use it', endpoint: this.endpoint, signIn: SignIn.PROXY, docs: 'home.md' };
  }
}
