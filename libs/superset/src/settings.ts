// superset_config.py, generated. Superset imports it at start (SUPERSET_CONFIG_PATH); every
// setting here is one Superset 6.1 or Flask-AppBuilder knows, which images/superset/tests check
// by loading the file with Superset itself. Secrets are never written: the file reads them from
// the environment, which Kubernetes fills from Secrets.
import { GitLabSignIn, PythonExpression, pythonLiteral, PythonValue } from '@ml-platform/core';
import { SUPERSET_STATSD_PREFIX } from './statsd-mapping';

export const SUPERSET_CONFIG = 'superset_config.py';
/** Where the pods find it: the image's PYTHONPATH, /app/pythonpath, stays the image's. */
export const CONFIG_DIR = '/etc/superset';

/** The OAuth provider's name: the last part of the callback path (superset_platform.security.GITLAB). */
export const OAUTH_PROVIDER = 'gitlab';
export const SUPERSET_CALLBACK = `/oauth-authorized/${OAUTH_PROVIDER}`;

/** Environment variables the file reads. */
export const SupersetEnv = {
  SECRET_KEY: 'SUPERSET_SECRET_KEY',
  OAUTH_SECRET: 'OAUTH_CLIENT_SECRET',
  REDIS_PASSWORD: 'REDIS_PASSWORD',
  /** libpq reads it for the metadata database, whose URI carries no password. */
  METADATA_PASSWORD: 'PGPASSWORD',
} as const;

/** Superset's built-in roles (superset init creates them) and what the platform gives each group. */
export enum SupersetRole {
  /** Everything, including users, roles and databases. */
  ADMIN = 'Admin',
  /** Every data source; creates datasets, charts and dashboards. */
  ALPHA = 'Alpha',
  /** Only what a role grants: views dashboards and charts on the data sources it may read. */
  GAMMA = 'Gamma',
  /** SQL Lab, on the databases the person's other roles reach. */
  SQL_LAB = 'sql_lab',
}

/** A PostgreSQL database Superset queries, its password in an environment variable (superset_platform.data_sources.DataSource). */
export interface SupersetDataSource {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly username: string;
  readonly passwordEnv: string;
  /** The role that may query it; everyone who may use Superset gets it. */
  readonly readerRole: string;
}

/** A Redis database: host, port and index; the password is REDIS_PASSWORD. */
export interface RedisLocation {
  readonly host: string;
  readonly port: number;
  readonly database: number;
  /**
   * The CA file to verify the server with, when it speaks TLS only.
   *
   * @default - plain text
   */
  readonly caFile?: string;
}

/** redis.Redis's TLS arguments (the caches and the results backend): verify the server against the CA file. */
function redisTls(location: RedisLocation): Record<string, PythonValue> {
  return location.caFile ? { ssl: true, ssl_cert_reqs: 'required', ssl_ca_certs: location.caFile } : {};
}

export interface SupersetSettings {
  readonly metadata: { readonly host: string; readonly port: number; readonly database: string; readonly username: string };
  /** Caches (charts, metadata) and SQL Lab's results. */
  readonly cache: RedisLocation;
  /** Celery's broker and results. */
  readonly queue: RedisLocation;
  readonly statsd: { readonly host: string; readonly port: number };
  readonly signIn: GitLabSignIn;
  /** GitLab groups that build datasets, charts and dashboards (Alpha). */
  readonly editors: readonly string[];
  readonly dataSources: readonly SupersetDataSource[];
  readonly queryLogRetentionDays: number;
}

/** The Celery broker URL of `queue`, its password quoted in at start. */
function redisUrl(queue: RedisLocation): PythonExpression {
  return new PythonExpression(`f"${queue.caFile ? 'rediss' : 'redis'}://:{quote(_REDIS_PASSWORD, safe='')}@${queue.host}:${queue.port}/${queue.database}"`);
}

function redisCache(cache: RedisLocation, prefix: string, timeoutSeconds: number): Record<string, PythonValue> {
  return {
    CACHE_TYPE: 'RedisCache',
    CACHE_DEFAULT_TIMEOUT: timeoutSeconds,
    CACHE_KEY_PREFIX: prefix,
    CACHE_REDIS_HOST: cache.host,
    CACHE_REDIS_PORT: cache.port,
    CACHE_REDIS_DB: cache.database,
    CACHE_REDIS_PASSWORD: new PythonExpression('_REDIS_PASSWORD'),
    // flask-caching passes CACHE_OPTIONS on to redis-py.
    ...(cache.caFile ? { CACHE_OPTIONS: redisTls(cache) } : {}),
  };
}

/** GitLab group → Superset roles: admins Admin; editors Alpha; users Gamma; all of them SQL Lab and the data sources. */
export function rolesMapping(signIn: GitLabSignIn, editors: readonly string[], readerRoles: readonly string[]): Record<string, string[]> {
  const mapping: Record<string, string[]> = {};
  const add = (groups: readonly string[], roles: string[]) => {
    for (const g of groups) mapping[g] = [...new Set([...(mapping[g] ?? []), ...roles])];
  };
  const reading = [SupersetRole.SQL_LAB, ...readerRoles];
  add(signIn.users, [SupersetRole.GAMMA, ...reading]);
  add(editors, [SupersetRole.ALPHA, ...reading]);
  add(signIn.admins, [SupersetRole.ADMIN]);
  return mapping;
}

const DAY = 24 * 3600;

/** The text of superset_config.py. */
export function renderSupersetConfig(s: SupersetSettings, header: string): string {
  const { metadata, cache } = s;
  const settings: [string, PythonValue, string?][] = [
    ['SECRET_KEY', PythonExpression.env(SupersetEnv.SECRET_KEY), 'Signs sessions and encrypts saved credentials; Superset refuses to start with its default.'],
    [
      'SQLALCHEMY_DATABASE_URI',
      `postgresql+psycopg2://${metadata.username}@${metadata.host}:${metadata.port}/${metadata.database}`,
      `The metadata database; libpq takes the password from ${SupersetEnv.METADATA_PASSWORD}.`,
    ],
    ['CACHE_CONFIG', redisCache(cache, 'superset_', DAY), 'Caches in Redis, shared by every pod: charts, dashboards, metadata.'],
    ['DATA_CACHE_CONFIG', redisCache(cache, 'superset_data_', DAY)],
    [
      'RESULTS_BACKEND',
      new PythonExpression(
        `RedisCache(host=${pythonLiteral(cache.host)}, port=${cache.port}, db=${cache.database}, password=_REDIS_PASSWORD, key_prefix="superset_results_", default_timeout=${DAY}${Object.entries(redisTls(cache)).map(([k, v]) => `, ${k}=${pythonLiteral(v)}`).join('')})`,
      ),
      "SQL Lab's asynchronous results, written by the worker, read by the web server.",
    ],
    ['CELERY_CONFIG', new PythonExpression('CeleryConfig')],
    ['STATS_LOGGER', new PythonExpression(`StatsdStatsLogger(host=${pythonLiteral(s.statsd.host)}, port=${s.statsd.port}, prefix=${pythonLiteral(SUPERSET_STATSD_PREFIX)})`)],
    ['PLATFORM_DATA_SOURCES', new PythonExpression(`[\n${s.dataSources.map((d) => `    DataSource(name=${pythonLiteral(d.name)}, host=${pythonLiteral(d.host)}, port=${d.port}, database=${pythonLiteral(d.database)}, username=${pythonLiteral(d.username)}, password_env=${pythonLiteral(d.passwordEnv)}, reader_role=${pythonLiteral(d.readerRole)}),\n`).join('')}]`), 'Registered read-only by the start-up Job; their passwords come from the environment at connect time, never from the metadata database.'],
    ['SQLALCHEMY_CUSTOM_PASSWORD_STORE', new PythonExpression('password_store(PLATFORM_DATA_SOURCES)')],
    ['PREVENT_UNSAFE_DB_CONNECTIONS', true],
    // Behind the ingress, which terminates TLS: the scheme and host come from its headers.
    ['ENABLE_PROXY_FIX', true, 'Behind the ingress, which terminates TLS and sets X-Forwarded-*.'],
    ['TALISMAN_ENABLED', true, 'Security headers (CSP, HSTS, X-Frame-Options); nothing loads from outside the cluster.'],
    [
      'TALISMAN_CONFIG',
      {
        content_security_policy: {
          'base-uri': ["'self'"],
          'default-src': ["'self'"],
          'img-src': ["'self'", 'blob:', 'data:'],
          'worker-src': ["'self'", 'blob:'],
          'connect-src': ["'self'"],
          'object-src': "'none'",
          'style-src': ["'self'", "'unsafe-inline'"],
          'font-src': ["'self'"],
          'script-src': ["'self'", "'strict-dynamic'"],
          'frame-ancestors': ["'self'"],
        },
        content_security_policy_nonce_in: ['script-src'],
        force_https: false,
        session_cookie_secure: true,
      },
    ],
    ['ENABLE_CORS', false, 'The UI and its API share one host: no other origin may call them.'],
    ['SESSION_COOKIE_SECURE', true],
    ['SESSION_COOKIE_HTTPONLY', true],
    ['SESSION_COOKIE_SAMESITE', 'Lax'],
    ['WTF_CSRF_ENABLED', true],
    ['CUSTOM_SECURITY_MANAGER', new PythonExpression('GitLabSecurityManager'), 'GitLab over OpenID Connect: FAB 5.2 has no GitLab provider of its own.'],
    ['AUTH_TYPE', new PythonExpression('AUTH_OAUTH')],
    ['AUTH_USER_REGISTRATION', true, 'Everyone who signs in gets an account; their GitLab groups decide what it may do.'],
    ['AUTH_USER_REGISTRATION_ROLE', 'Public'],
    ['AUTH_ROLES_SYNC_AT_LOGIN', true, 'Leaving a GitLab group takes the role away at the next sign-in.'],
    ['AUTH_ROLES_MAPPING', rolesMapping(s.signIn, s.editors, [...new Set(s.dataSources.map((d) => d.readerRole))])],
    [
      'OAUTH_PROVIDERS',
      [
        {
          name: OAUTH_PROVIDER,
          icon: 'fa-gitlab',
          token_key: 'access_token',
          remote_app: {
            client_id: s.signIn.clientId,
            // Only the web server signs people in and has the secret; the worker, beat and the Job never call GitLab.
            client_secret: new PythonExpression(`os.environ.get(${JSON.stringify(SupersetEnv.OAUTH_SECRET)})`),
            server_metadata_url: `${s.signIn.gitlabUrl}/.well-known/openid-configuration`,
            client_kwargs: { scope: 'openid profile email' },
          },
        },
      ],
    ],
  ];
  const retention = `{"retention_period_days": ${s.queryLogRetentionDays}}`;
  const lines = [
    `# ${header}`,
    'import os',
    'import ssl',
    'from urllib.parse import quote',
    '',
    'from celery.schedules import crontab',
    'from flask_appbuilder.const import AUTH_OAUTH',
    'from flask_caching.backends.rediscache import RedisCache',
    'from superset.stats_logger import StatsdStatsLogger',
    'from superset_platform.data_sources import DataSource, password_store',
    'from superset_platform.security import GitLabSecurityManager',
    '',
    `_REDIS_PASSWORD = os.environ[${JSON.stringify(SupersetEnv.REDIS_PASSWORD)}]`,
    '',
    '',
    '# Celery: SQL Lab queries run on the workers; beat prunes the query history and the action log.',
    'class CeleryConfig:',
    `    broker_url = ${redisUrl(s.queue).source}`,
    '    result_backend = broker_url',
    ...(s.queue.caFile
      ? [
          // Celery's Redis transport and result backend take redis-py's TLS arguments from these.
          `    broker_use_ssl = ${pythonLiteral({ ssl_cert_reqs: new PythonExpression('ssl.CERT_REQUIRED'), ssl_ca_certs: s.queue.caFile }, 1)}`,
          '    redis_backend_use_ssl = broker_use_ssl',
        ]
      : []),
    '    imports = ("superset.sql_lab", "superset.tasks.scheduler", "superset.tasks.cache")',
    '    worker_prefetch_multiplier = 1',
    '    task_acks_late = False',
    '    beat_schedule = {',
    `        "prune_query": {"task": "prune_query", "schedule": crontab(minute=0, hour=1), "kwargs": ${retention}},`,
    `        "prune_logs": {"task": "prune_logs", "schedule": crontab(minute=30, hour=1), "kwargs": ${retention}},`,
    '    }',
    '',
    '',
  ];
  for (const [name, value, why] of settings) {
    if (why) lines.push(`# ${why}`);
    lines.push(`${name} = ${pythonLiteral(value)}`);
  }
  return `${lines.join('\n')}\n`;
}
