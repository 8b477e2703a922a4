// Airflow's configuration files, generated: airflow.cfg (INI, every option one Airflow 3.3 knows;
// pipelines/tests load it with Airflow itself and fail on an unknown section or option) and
// webserver_config.py for the FAB auth manager (GitLab sign-in with group-to-role mapping).
// Secrets are never written: Airflow reads them from AIRFLOW__<SECTION>__<OPTION> environment
// variables, which override the file.
import { GitLabSignIn, PythonExpression, pythonLiteral, PythonValue } from '@ml-platform/core';

/** airflow.cfg as sections of options; values are written as Airflow reads them. */
export type AirflowSettings = Readonly<Record<string, Readonly<Record<string, string | number | boolean>>>>;

/** The ConfigMap keys and where the pods find them. */
export const AIRFLOW_CFG = 'airflow.cfg';
export const WEBSERVER_CONFIG = 'webserver_config.py';
export const CONFIG_DIR = '/opt/airflow/config';

/** The INI text of `settings`, sections and options in the order given. */
export function renderAirflowCfg(settings: AirflowSettings, header: string): string {
  const lines = [`# ${header}`];
  for (const [section, options] of Object.entries(settings)) {
    lines.push('', `[${section}]`);
    for (const [option, value] of Object.entries(options)) {
      const text = typeof value === 'boolean' ? (value ? 'True' : 'False') : String(value);
      if (/[\n\r]/.test(text)) throw new Error(`airflow.cfg [${section}] ${option}: a value must be one line`);
      lines.push(`${option} = ${text}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The OAuth provider's name: it is the last part of the callback path. */
export const OAUTH_PROVIDER = 'gitlab';
/** Where GitLab sends people back after sign-in: FAB's callback, under the api-server's /auth. */
export const AIRFLOW_CALLBACK = `/auth/oauth-authorized/${OAUTH_PROVIDER}`;
/** The environment variable the api-server gets the GitLab application secret in. */
export const OAUTH_SECRET_ENV = 'OAUTH_CLIENT_SECRET';

/** FAB's roles, from most to least privileged (airflow/providers/fab: Admin, Op, User, Viewer, Public). */
export enum AirflowRole {
  ADMIN = 'Admin',
  USER = 'User',
}

/**
 * webserver_config.py: GitLab over OpenID Connect (FAB's generic OAuth branch maps the userinfo
 * `groups` claim to role keys), people registered at first sign-in as Public, and their role
 * set from their GitLab groups at every sign-in: `users` groups get User (trigger and clear DAG
 * runs), `admins` Admin.
 */
export function renderWebserverConfig(signIn: GitLabSignIn, header: string): string {
  const mapping: Record<string, string[]> = {};
  const add = (groups: readonly string[], role: AirflowRole) => {
    for (const g of groups) mapping[g] = [...new Set([...(mapping[g] ?? []), role])];
  };
  add(signIn.users, AirflowRole.USER);
  add(signIn.admins, AirflowRole.ADMIN);
  const settings: [string, PythonValue, string?][] = [
    ['AUTH_TYPE', new PythonExpression('AUTH_OAUTH')],
    ['AUTH_USER_REGISTRATION', true, 'Everyone who signs in gets an account; their GitLab groups decide what it may do.'],
    ['AUTH_USER_REGISTRATION_ROLE', 'Public'],
    ['AUTH_ROLES_SYNC_AT_LOGIN', true, 'Leaving a GitLab group takes the role away at the next sign-in.'],
    ['AUTH_ROLES_MAPPING', mapping],
    [
      'OAUTH_PROVIDERS',
      [
        {
          name: OAUTH_PROVIDER,
          icon: 'fa-gitlab',
          token_key: 'access_token',
          remote_app: {
            client_id: signIn.clientId,
            client_secret: PythonExpression.env(OAUTH_SECRET_ENV),
            server_metadata_url: `${signIn.gitlabUrl}/.well-known/openid-configuration`,
            client_kwargs: { scope: 'openid profile email' },
          },
        },
      ],
      "GitLab's OpenID Connect provider; its userinfo carries preferred_username, email and groups.",
    ],
  ];
  const lines = [`# ${header}`, 'import os', '', 'from flask_appbuilder.const import AUTH_OAUTH', ''];
  for (const [name, value, why] of settings) {
    if (why) lines.push(`# ${why}`);
    lines.push(`${name} = ${pythonLiteral(value)}`);
  }
  return `${lines.join('\n')}\n`;
}
