import { ServiceEndpoint } from './network';

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
