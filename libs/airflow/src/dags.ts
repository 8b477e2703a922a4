// The DAG folder: git-sync clones the DAG repository into an emptyDir that Airflow reads, as a
// sidecar beside the dag-processor and the triggerer, and once before every task pod starts.
import { k8s } from 'cdk8s-plus-28';
import { EnvValue, gitDeployToken, gitlabCa, HardenedContainerProps, httpProbe, ImageRef, MountSpec, PlatformChart, secretFilePath } from '@ml-platform/core';

/** Where the DAG repository is and how git-sync reaches it. */
export interface DagRepository {
  /** An https:// Git URL. */
  readonly url: string;
  readonly branch: string;
  /** The DAG folder within the repository. */
  readonly subPath: string;
  /** The Secret with keys `username` and `password` (a deploy token). */
  readonly credentialsSecret: string;
  /** Seconds between two fetches of the sidecar. */
  readonly syncIntervalSeconds: number;
  /** Where the Git server is, for egress (GitLab's addresses). */
  readonly cidrs: readonly string[];
  /**
   * A ConfigMap with the CA (`ca.crt`) the Git server's certificate is signed by.
   *
   * @default - the image's trust store
   */
  readonly caConfigMap?: string;
}

/** git-sync's root in its container, and where Airflow reads the checkout. */
const GIT_ROOT = '/git';
const DAGS_MOUNT = '/opt/airflow/dags';
/** git-sync points this link at the current checkout, atomically. */
const LINK = 'repo';
const DAGS_VOLUME = 'dags';
/** The sidecar's HTTP endpoint: `/` answers 200 while the last sync succeeded; `/metrics` for Prometheus. */
export const GIT_SYNC_HTTP_PORT = 8093;

/** The folder Airflow parses: the checkout's DAG folder. */
export function dagsFolder(repo: DagRepository): string {
  return `${DAGS_MOUNT}/${LINK}/${repo.subPath}`;
}

/** The volume and mounts the DAG folder needs in a pod, and the containers that fill it. */
export interface DagSync {
  readonly volumes: k8s.Volume[];
  /** Mount for the Airflow containers: the checkout, read-only. */
  readonly mount: MountSpec;
  readonly container: HardenedContainerProps;
}

const DEFAULT_RESOURCES = { requests: { cpu: '10m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } };

/**
 * git-sync v4 (its GITSYNC_* settings): a sidecar fetching every `syncIntervalSeconds`, or, with
 * `oneTime`, an init container that clones once and exits (the task pods' copy must not change
 * under a running task).
 */
export function dagSync(chart: PlatformChart, repo: DagRepository, image: ImageRef, oneTime: boolean): DagSync {
  const ca = gitlabCa(repo.caConfigMap);
  const token = gitDeployToken(repo.credentialsSecret);
  const tokenDir = `/run/secrets/${repo.credentialsSecret}`;
  return {
    volumes: [{ name: DAGS_VOLUME, emptyDir: { sizeLimit: k8s.Quantity.fromString('1Gi') } }, ...(ca?.volumes ?? [])],
    mount: { volume: DAGS_VOLUME, path: DAGS_MOUNT },
    container: {
      name: oneTime ? 'git-sync-init' : 'git-sync',
      image,
      env: {
        GITSYNC_REPO: EnvValue.fromValue(repo.url),
        GITSYNC_REF: EnvValue.fromValue(repo.branch),
        GITSYNC_ROOT: EnvValue.fromValue(GIT_ROOT),
        GITSYNC_LINK: EnvValue.fromValue(LINK),
        GITSYNC_DEPTH: EnvValue.fromValue('1'),
        GITSYNC_USERNAME: EnvValue.fromSecret(token.username),
        // git-sync reads the token from this file before every fetch, so a rotated token is picked up.
        GITSYNC_PASSWORD_FILE: EnvValue.fromValue(secretFilePath(chart, tokenDir, token.password)),
        ...(oneTime
          ? { GITSYNC_ONE_TIME: EnvValue.fromValue('true') }
          : {
              GITSYNC_PERIOD: EnvValue.fromValue(`${repo.syncIntervalSeconds}s`),
              GITSYNC_HTTP_BIND: EnvValue.fromValue(`:${GIT_SYNC_HTTP_PORT}`),
              GITSYNC_HTTP_METRICS: EnvValue.fromValue('true'),
              // Keep serving the last good checkout through a Git server outage of a few periods.
              GITSYNC_MAX_FAILURES: EnvValue.fromValue('10'),
            }),
        // Git keeps its config and credentials helper state under HOME.
        HOME: EnvValue.fromValue('/tmp'),
        ...(ca ? { GIT_SSL_CAINFO: EnvValue.fromValue(ca.file) } : {}),
      },
      resources: DEFAULT_RESOURCES,
      ...(oneTime
        ? {}
        : {
            ports: [{ name: 'git-sync', number: GIT_SYNC_HTTP_PORT }],
            livenessProbe: { ...httpProbe(GIT_SYNC_HTTP_PORT, '/'), periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 10 },
            readinessProbe: { ...httpProbe(GIT_SYNC_HTTP_PORT, '/'), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
          }),
      writablePaths: [{ path: '/tmp', sizeLimit: '256Mi' }],
      mounts: [{ volume: DAGS_VOLUME, path: GIT_ROOT, readOnly: false }, ...(ca?.mounts ?? [])],
      secretFiles: [{ directory: tokenDir, keys: [token.password] }],
    },
  };
}
