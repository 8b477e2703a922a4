import { k8s } from 'cdk8s-plus-28';
import { ServiceEndpoint } from './network';
import { SecretKeyRef } from './secrets';
import { EnvValue, MountSpec } from './workload';

/** How a UI signs people in. */
export enum SignIn {
  /** The UI speaks OpenID Connect itself and maps GitLab groups to its own roles (Grafana). */
  OIDC = 'oidc',
  /** The UI has no usable sign-in of its own: oauth2-proxy signs people in before any request reaches it. */
  PROXY = 'proxy',
}

/**
 * A web UI a component serves to people. The component describes it; the access layer gives it
 * a host, TLS, sign-in and the NetworkPolicies that keep everything else out.
 */
export interface WebUi {
  /** The UI's name: its key under `access:` in cluster.yaml and its host prefix, e.g. `mlflow`. */
  readonly name: string;
  /** What people use it for, for the inventory. */
  readonly purpose: string;
  /** Where the UI listens inside the cluster. */
  readonly endpoint: ServiceEndpoint;
  readonly signIn: SignIn;
  /**
   * For `SignIn.OIDC`: the path GitLab sends people back to after sign-in, to register in GitLab.
   *
   * @default - oauth2-proxy's `/oauth2/callback`
   */
  readonly callbackPath?: string;
  /**
   * The UI serves TLS with a certificate from the internal CA: its sign-in proxy, or the gateway
   * when the UI signs people in itself, connects over https and verifies it.
   *
   * @default false
   */
  readonly tls?: boolean;
  /**
   * The page of the platform's `docs/` folder that tells people how to use it, e.g. `airflow.md`;
   * the home page links to it.
   *
   * @default - none
   */
  readonly docs?: string;
  /**
   * The version people use, where the Service's own pods run another program (a proxy in front).
   *
   * @default - the version of the endpoint's pods
   */
  readonly version?: string;
}

/** The URL path oauth2-proxy receives the GitLab callback on. */
export const OAUTH2_PROXY_CALLBACK = '/oauth2/callback';

/** Annotations a route carries so the inventory and the validation can tell who may reach what. */
export const ACCESS_ANNOTATIONS = {
  /** The UI's name (its key under `access:`). */
  ui: 'ml-platform.io/ui',
  /** `oidc` or `proxy`: how people sign in. */
  signIn: 'ml-platform.io/sign-in',
  /** Comma-separated GitLab groups that may use the UI. */
  users: 'ml-platform.io/users',
  /** Comma-separated GitLab groups that administer it. */
  admins: 'ml-platform.io/admins',
  /** The callback URL to register in the GitLab application. */
  redirectUri: 'ml-platform.io/redirect-uri',
  /** The Service behind the sign-in, `namespace/name:port`. */
  backend: 'ml-platform.io/backend',
} as const;

/**
 * A UI that signs people in with GitLab itself (OpenID Connect): the provider, the cluster's
 * GitLab application, and who may use and administer the UI.
 */
export interface GitLabSignIn {
  /** The GitLab instance, e.g. `https://gitlab.example.internal`. */
  readonly gitlabUrl: string;
  /** Where GitLab is, for the token and userinfo calls (443). */
  readonly gitlabCidrs: readonly string[];
  /** The Application ID of the cluster's GitLab application. */
  readonly clientId: string;
  readonly clientSecret: SecretKeyRef;
  /**
   * ConfigMap (key `ca.crt`) with the CA that signed GitLab's certificate (`gitlabCa`).
   *
   * @default - the image's CA bundle
   */
  readonly caConfigMap?: string;
  /** GitLab groups (full paths) whose members may use the UI. */
  readonly users: readonly string[];
  /** GitLab groups whose members administer it; they may also use it. */
  readonly admins: readonly string[];
}

/** GitLab's CA for a pod that calls GitLab: the volume, its mount, and the file to name in the program's config. */
export interface GitLabCa {
  readonly volumes: k8s.Volume[];
  readonly mounts: MountSpec[];
  /** The CA file inside the container. */
  readonly file: string;
  /** Python's HTTP clients (requests, Authlib) and OpenSSL pointed at it. */
  readonly pythonEnv: Record<string, EnvValue>;
}

/** Mounts ConfigMap `caConfigMap`'s `ca.crt` at /etc/gitlab-ca, or nothing when cluster.yaml names no CA. */
export function gitlabCa(caConfigMap: string | undefined): GitLabCa | undefined {
  if (!caConfigMap) return undefined;
  return {
    volumes: [{ name: 'gitlab-ca', configMap: { name: caConfigMap, items: [{ key: 'ca.crt', path: 'ca.crt' }] } }],
    mounts: [{ volume: 'gitlab-ca', path: '/etc/gitlab-ca' }],
    file: '/etc/gitlab-ca/ca.crt',
    pythonEnv: { REQUESTS_CA_BUNDLE: EnvValue.fromValue('/etc/gitlab-ca/ca.crt'), SSL_CERT_FILE: EnvValue.fromValue('/etc/gitlab-ca/ca.crt') },
  };
}
