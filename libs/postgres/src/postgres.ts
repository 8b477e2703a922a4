import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { z } from 'zod';
import {
  allowFlow,
  EnvValue,
  httpProbe,
  Layer,
  libpqEnv,
  PlatformChart,
  PlatformContext,
  PlatformService,
  PlatformStatefulSet,
  PodSelection,
  PostgresDatabase,
  resources as resourcesSchema,
  ResourceSpec,
  ScriptJob,
  SecretKeyRef,
  secretFilePath,
  renewalReloader,
  ServerCertificate,
  ServiceEndpoint,
  storage,
  trustFor,
  workloadLabels,
  writableVolumeName,
  volumeClaimTemplate,
} from '@ml-platform/core';
import { backupConfigSchema, PGBACKREST_SECRETS_DIR, pgbackrestEnv, PostgresBackupProps, PostgresBackups, SERVER_CONFIG } from './backup';
import { POSTGRES_IMAGE, POSTGRES_EXPORTER_IMAGE } from './images';

/** The `components.postgres` section of cluster.yaml. */
export const postgresConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe('Render PostgreSQL.'),
    storage,
    resources: resourcesSchema.optional(),
    analytics: z
      .strictObject({
        writers: z.array(z.string()).default([]).describe('Components that load data into it (as analytics_writer), e.g. airflow.'),
        readers: z.array(z.string()).default([]).describe('Components that only read it (as analytics_reader, read-only).'),
      })
      .optional()
      .describe('The analytics database pipelines fill and BI reads; one writer role, one read-only reader role.'),
    backup: backupConfigSchema.optional(),
  })
  .describe('PostgreSQL: one server, one database and role per consuming component.');

/** The UID and GID of `postgres` in the official Debian-based image. */
const POSTGRES_UID = 999;
const PORT = 5432;
/** PostgreSQL 18 images keep data under /var/lib/postgresql (PGDATA /var/lib/postgresql/18/docker). */
const DATA_MOUNT = '/var/lib/postgresql';
const MIN_MAJOR = 18;

const DEFAULT_RESOURCES: ResourceSpec = {
  requests: { cpu: '250m', memory: '512Mi' },
  limits: { cpu: '1', memory: '1Gi' },
};

/** Properties for `PostgresChart`. */
export interface PostgresChartProps {
  readonly context: PlatformContext;
  /** Size of the data volume, e.g. `20Gi`. */
  readonly storageSize: string;
  /** @default - the cluster's default StorageClass */
  readonly storageClass?: string;
  /**
   * The components that get a database, each with a role of the same name that owns it.
   *
   * @default - none
   */
  readonly databases?: string[];
  /**
   * Render the analytics database: pipelines write it as `analytics_writer` (its owner), BI tools
   * read it as `analytics_reader`, which may read every table the writer creates and change nothing.
   *
   * @default false
   */
  readonly analytics?: boolean;
  /** @default - 250m/512Mi requested, 1 CPU/1Gi limit */
  readonly resources?: ResourceSpec;
  /**
   * Continuous WAL archiving and scheduled full backups with pgBackRest (backup.ts). Needs the
   * internal CA: pgBackRest reaches S3 over HTTPS only, and its TLS server needs certificates.
   *
   * @default - no backups
   */
  readonly backup?: PostgresBackupProps;
}

const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;
/** The login postgres_exporter uses; member of pg_monitor, which reads statistics and nothing else. */
export const EXPORTER_ROLE = 'postgres_exporter';
const SUPERUSER_SECRET_DIR = '/run/secrets/postgres-superuser';
const EXPORTER_SECRET_DIR = '/run/secrets/postgres-monitoring';
const EXPORTER_PORT = 9187;
const TLS_DIR = '/etc/postgresql/tls';
const HBA_DIR = '/etc/postgresql/hba';
const SOCKET_DIR = '/var/run/postgresql';
/** PGDATA of the 18+ images. */
const DATA_DIRECTORY = `${DATA_MOUNT}/18/docker`;
/**
 * Who may connect how, once the server speaks TLS: over the socket only the postgres OS user
 * (the image's entrypoint and the reload sidecar, by peer), and over TCP only with TLS and
 * SCRAM. No `host` line: a plain-text TCP connection matches nothing and is refused.
 */
export const TLS_PG_HBA = [
  '# TYPE   DATABASE USER ADDRESS    METHOD',
  'local    all      postgres         peer',
  'hostssl  all      all      0.0.0.0/0 scram-sha-256',
  'hostssl  all      all      ::/0      scram-sha-256',
  '',
].join('\n');

/** The analytics database and its two roles. */
export const ANALYTICS = { database: 'analytics', writer: 'analytics_writer', reader: 'analytics_reader' } as const;
/** A login role the bootstrap Job creates and keeps at its password. */
interface LoginRole {
  readonly user: string;
  readonly password: SecretKeyRef;
}

/**
 * PostgreSQL as a single-instance StatefulSet (official image, non-root, read-only root) with a
 * bootstrap Job that creates one database and one login role per consuming component,
 * idempotently. High availability needs an operator (e.g. CloudNativePG) and is not this chart's job.
 */
export class PostgresChart extends PlatformChart {
  /** Where clients connect. */
  public readonly endpoint: ServiceEndpoint;
  /** The server pods. */
  public readonly server: PodSelection;
  /** The superuser password; only the bootstrap Job uses it. */
  public readonly superuserPassword: SecretKeyRef;
  /** The password of the metrics exporter's role. */
  public readonly exporterPassword: SecretKeyRef;
  /** Whether the server speaks TLS only (the cluster has its internal CA). */
  public readonly tls: boolean;
  private readonly databases = new Map<string, PostgresDatabase>();
  private readonly analyticsRoles?: { readonly writer: PostgresDatabase; readonly reader: PostgresDatabase };

  constructor(scope: Construct, id: string, props: PostgresChartProps) {
    super(scope, id, { context: props.context, layer: Layer.DATA });
    const image = props.context.images.image(POSTGRES_IMAGE);
    const major = Number.parseInt(image.tag, 10);
    if (!(major >= MIN_MAJOR)) {
      throw new Error(
        `postgres image tag '${image.tag}' is not PostgreSQL ${MIN_MAJOR} or newer; this chart mounts data at ${DATA_MOUNT} (the 18+ layout). Pin a ${MIN_MAJOR}.x tag`,
      );
    }
    this.superuserPassword = SecretKeyRef.of('postgres-superuser', 'password', 'password of the PostgreSQL superuser postgres');
    this.exporterPassword = SecretKeyRef.of('postgres-monitoring', 'password', `password of PostgreSQL role ${EXPORTER_ROLE} (pg_monitor)`);
    const exporterImage = props.context.images.image(POSTGRES_EXPORTER_IMAGE);
    const exporterProbe = httpProbe(EXPORTER_PORT, '/');

    const identity = { name: 'postgres', instance: id, component: 'database', version: image.version };
    // TLS whenever the cluster has its internal CA: clients verify the server and its name.
    if (props.backup && !props.context.internalCa) {
      throw new Error('postgres backups need the internal CA (routing.tls.clusterIssuer with inClusterTls on): pgBackRest reaches S3 over HTTPS only, and the backup host reaches the server through TLS');
    }
    // The backup CronJob reaches the server's pod by its name under the headless Service.
    const tls = props.context.internalCa
      ? new ServerCertificate(this, 'Certificate', { secretName: 'postgres-tls', services: ['postgres'], loopback: true, ...(props.backup ? { headless: 'postgres-headless' } : {}) })
      : undefined;
    this.tls = tls !== undefined;
    const hbaConfigMap = 'postgres-hba';
    if (tls) new k8s.KubeConfigMap(this, 'Hba', { metadata: { name: hbaConfigMap, namespace: this.namespace, labels: workloadLabels(identity) }, data: { 'pg_hba.conf': TLS_PG_HBA } });
    const serverArgs = tls
      ? ['-c', 'ssl=on', '-c', `ssl_cert_file=${TLS_DIR}/tls.crt`, '-c', `ssl_key_file=${TLS_DIR}/tls.key`, '-c', 'ssl_min_protocol_version=TLSv1.2', '-c', `hba_file=${HBA_DIR}/pg_hba.conf`]
      : [];
    const backup = props.backup && tls
      ? new PostgresBackups(this, 'Backups', {
          ...props.backup,
          image,
          user: POSTGRES_UID,
          host: { dataDirectory: DATA_DIRECTORY, socketDirectory: SOCKET_DIR, port: PORT, tlsDirectory: TLS_DIR },
          dataMount: DATA_MOUNT,
          // The one server pod, by its StatefulSet name under the headless Service.
          address: `postgres-0.postgres-headless.${this.namespace}.svc.${this.context.clusterDomain}`,
        })
      : undefined;
    const isReady: k8s.Probe = {
      exec: { command: ['pg_isready', '--username=postgres', '--dbname=postgres', '--host=127.0.0.1', `--port=${PORT}`] },
    };
    const statefulSet = new PlatformStatefulSet(this, 'Server', {
      identity,
      serviceName: 'postgres-headless',
      replicas: 1,
      metrics: { port: EXPORTER_PORT },
      pod: {
        user: POSTGRES_UID,
        group: POSTGRES_UID,
        // Fast shutdown flushes WAL; the image notes that 10 s is often too short.
        terminationGracePeriod: Duration.seconds(120),
        volumes: tls
          ? [
              // Key readable by the group (fsGroup postgres) and no one else: PostgreSQL refuses a key with more.
              tls.volume('tls'),
              { name: 'tls-ca', secret: { secretName: tls.secretName, items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 } },
              { name: 'hba', configMap: { name: hbaConfigMap } },
              ...(backup?.volumes ?? []),
            ]
          : [],
        containers: [
          {
            name: 'postgres',
            image,
            // The image's entrypoint and command, spelled out so wrappers (Vault) can run them;
            // with backups, pgBackRest's credentials are written to a file first.
            ...(backup
              ? { command: ['/bin/sh', '-c', `${backup.writeCredentials}\nexec docker-entrypoint.sh "$@"`, 'postgres-start'] }
              : { command: ['docker-entrypoint.sh'] }),
            // The entrypoint passes these to its first-start server too, so TLS and pg_hba apply from the start.
            args: ['postgres', ...serverArgs, ...(backup?.serverArgs ?? [])],
            // The image's entrypoint reads POSTGRES_PASSWORD_FILE: no password in the environment.
            env: { POSTGRES_PASSWORD_FILE: EnvValue.fromValue(secretFilePath(this, SUPERUSER_SECRET_DIR, this.superuserPassword)), ...(backup ? pgbackrestEnv(SERVER_CONFIG) : {}) },
            secretFiles: [{ directory: SUPERUSER_SECRET_DIR, keys: [this.superuserPassword] }, ...(backup?.secretFiles ?? [])],
            ports: [{ name: 'postgresql', number: PORT }],
            resources: props.resources ?? DEFAULT_RESOURCES,
            startupProbe: { ...isReady, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 60 },
            livenessProbe: { ...isReady, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
            readinessProbe: { ...isReady, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 },
            writablePaths: [
              { path: SOCKET_DIR, sizeLimit: '16Mi' },
              { path: '/tmp', sizeLimit: '1Gi' },
              { path: '/dev/shm', medium: 'Memory', sizeLimit: '256Mi' },
              ...(backup ? [{ path: PGBACKREST_SECRETS_DIR, sizeLimit: '1Mi' }] : []),
            ],
            mounts: [
              { volume: 'data', path: DATA_MOUNT, readOnly: false },
              ...(tls ? [{ volume: 'tls', path: TLS_DIR }, { volume: 'hba', path: HBA_DIR }] : []),
              ...(backup?.mounts ?? []),
            ],
          },
          ...(backup ? [backup.serverContainer] : []),
          ...(tls
            ? [
                // PostgreSQL reads its certificate again on a reload (10+), never by itself.
                renewalReloader({
                  image,
                  certificate: { volume: 'tls', path: TLS_DIR },
                  reload: `psql --no-psqlrc -qAt --host=${SOCKET_DIR} --username=postgres --dbname=postgres -c "SELECT pg_reload_conf()" >/dev/null`,
                  env: { PGCONNECT_TIMEOUT: EnvValue.fromValue('10') },
                  // The server's socket, where peer authentication knows the postgres user.
                  mounts: [{ volume: writableVolumeName(SOCKET_DIR), path: SOCKET_DIR, readOnly: false }],
                }),
              ]
            : []),
          {
            // Beside the server, so it sees exactly this instance over loopback.
            name: 'postgres-exporter',
            image: exporterImage,
            command: ['/bin/postgres_exporter'],
            args: [`--web.listen-address=:${EXPORTER_PORT}`, '--log.format=json'],
            env: {
              // TLS over loopback too: pg_hba admits no plain-text TCP connection.
              DATA_SOURCE_URI: EnvValue.fromValue(tls ? `localhost:${PORT}/postgres?sslmode=verify-full&sslrootcert=${TLS_DIR}/ca.crt` : `127.0.0.1:${PORT}/postgres?sslmode=disable`),
              DATA_SOURCE_USER: EnvValue.fromValue(EXPORTER_ROLE),
              DATA_SOURCE_PASS_FILE: EnvValue.fromValue(secretFilePath(this, EXPORTER_SECRET_DIR, this.exporterPassword)),
            },
            secretFiles: [{ directory: EXPORTER_SECRET_DIR, keys: [this.exporterPassword] }],
            mounts: tls ? [{ volume: 'tls-ca', path: TLS_DIR }] : [],
            ports: [{ name: 'metrics', number: EXPORTER_PORT }],
            resources: { requests: { cpu: '20m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
            livenessProbe: { ...exporterProbe, periodSeconds: 30, timeoutSeconds: 5 },
            readinessProbe: { ...exporterProbe, periodSeconds: 10, timeoutSeconds: 5 },
          },
        ],
      },
      volumeClaimTemplates: [volumeClaimTemplate(this, 'data', props.storageSize, props.storageClass)],
    });
    this.server = statefulSet.pods;
    backup?.addJobs(id, this.server, 'data-postgres-0');

    new PlatformService(this, 'Headless', {
      name: 'postgres-headless',
      pods: this.server,
      headless: true,
      ports: [{ name: 'postgresql', port: PORT }],
    });
    const service = new PlatformService(this, 'Service', {
      name: 'postgres',
      pods: this.server,
      ports: [{ name: 'postgresql', port: PORT }],
    });
    this.endpoint = service.endpoint('postgresql');

    for (const consumer of props.databases ?? []) {
      if (!IDENTIFIER.test(consumer)) {
        throw new Error(`database '${consumer}' is not a plain SQL identifier; use lower-case letters, digits and '_', starting with a letter`);
      }
      if (this.databases.has(consumer)) throw new Error(`database '${consumer}' is listed twice`);
      this.databases.set(consumer, {
        endpoint: this.endpoint,
        tls: this.tls,
        database: consumer,
        user: consumer,
        password: SecretKeyRef.of(`postgres-role-${consumer.replace(/_/g, '-')}`, 'password', `password of PostgreSQL role ${consumer}`),
      });
    }
    if (props.analytics) {
      if (this.databases.has(ANALYTICS.database)) throw new Error(`database '${ANALYTICS.database}' is the analytics database; no component may own it`);
      const login = (user: string, what: string): PostgresDatabase => ({
        endpoint: this.endpoint,
        tls: this.tls,
        database: ANALYTICS.database,
        user,
        password: SecretKeyRef.of(`postgres-role-${user.replace(/_/g, '-')}`, 'password', `password of PostgreSQL role ${user} (${what})`),
      });
      this.analyticsRoles = { writer: login(ANALYTICS.writer, 'owns the analytics database'), reader: login(ANALYTICS.reader, 'reads the analytics database') };
    }
    this.addBootstrapJob(id, image.version);
  }

  /** The analytics database as its writer (pipelines) or its read-only reader (BI). */
  public analytics(access: 'write' | 'read'): PostgresDatabase {
    if (!this.analyticsRoles) throw new Error("postgres renders no analytics database; set the chart's 'analytics'");
    return access === 'write' ? this.analyticsRoles.writer : this.analyticsRoles.reader;
  }

  /** The database of `consumer`, which must be listed in `databases`. */
  public database(consumer: string): PostgresDatabase {
    const db = this.databases.get(consumer);
    if (!db) {
      throw new Error(`postgres has no database for '${consumer}'; add it to the chart's 'databases' (known: ${[...this.databases.keys()].join(', ') || 'none'})`);
    }
    return db;
  }

  private addBootstrapJob(instance: string, version: string): void {
    const analytics = this.analyticsRoles;
    const databases = [...this.databases.values(), ...(analytics ? [analytics.writer] : [])];
    const logins: LoginRole[] = [...databases, ...(analytics ? [analytics.reader] : []), { user: EXPORTER_ROLE, password: this.exporterPassword }];
    const variable = (role: LoginRole) => `password_${role.user}`;
    // Each role's password is a file; psql reads it with a backquoted command in \set, so it is
    // in no environment variable and no argument list.
    const directory = (role: LoginRole) => `/run/secrets/${role.password.secretName}`;
    const fileOf = (role: LoginRole) => secretFilePath(this, directory(role), role.password);
    const sql = [
      ...logins.map((role) => `\\set ${variable(role)} \`cat '${fileOf(role)}'\``),
      ...logins.flatMap((role) => [
        `SELECT format('CREATE ROLE %I LOGIN', '${role.user}') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role.user}')\\gexec`,
        `ALTER ROLE "${role.user}" WITH LOGIN PASSWORD :'${variable(role)}';`,
      ]),
      `GRANT pg_monitor TO "${EXPORTER_ROLE}";`,
      ...databases.flatMap((db) => [
        `SELECT format('CREATE DATABASE %I OWNER %I', '${db.database}', '${db.user}') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${db.database}')\\gexec`,
        `REVOKE ALL ON DATABASE "${db.database}" FROM PUBLIC;`,
      ]),
      // The reader connects, reads every table the writer has made or will make, and cannot
      // write: its sessions are read-only and it holds no privilege but SELECT. Last: \connect
      // moves the rest of the script into the analytics database.
      ...(analytics
        ? [
            `GRANT CONNECT ON DATABASE "${ANALYTICS.database}" TO "${ANALYTICS.reader}";`,
            `ALTER ROLE "${ANALYTICS.reader}" SET default_transaction_read_only = on;`,
            `\\connect ${ANALYTICS.database}`,
            `GRANT USAGE ON SCHEMA public TO "${ANALYTICS.reader}";`,
            `GRANT SELECT ON ALL TABLES IN SCHEMA public TO "${ANALYTICS.reader}";`,
            `ALTER DEFAULT PRIVILEGES FOR ROLE "${ANALYTICS.writer}" IN SCHEMA public GRANT SELECT ON TABLES TO "${ANALYTICS.reader}";`,
          ]
        : []),
    ];
    const script = [
      'set -eu',
      // psql goes on when a backquoted command fails: every file is checked first.
      `for f in ${logins.map((role) => `'${fileOf(role)}'`).join(' ')}; do`,
      '  [ -s "$f" ] || { echo "$f: No such file or directory, or empty" >&2; exit 1; }',
      'done',
      'until pg_isready --quiet --timeout=5; do echo "waiting for $PGHOST:$PGPORT"; sleep 3; done',
      "psql --no-psqlrc -v ON_ERROR_STOP=1 <<'SQL'",
      ...sql,
      'SQL',
      `echo "roles ready: ${logins.map((role) => role.user).join(', ')}"`,
    ].join('\n');
    const image = this.context.images.image(POSTGRES_IMAGE);
    const superuser: PostgresDatabase = { endpoint: this.endpoint, database: 'postgres', user: 'postgres', password: this.superuserPassword, tls: this.tls };
    const job = new ScriptJob(this, 'Bootstrap', {
      identity: { name: 'postgres-bootstrap', instance, component: 'bootstrap', version },
      image,
      user: POSTGRES_UID,
      group: POSTGRES_UID,
      script,
      volumes: trustFor(this, superuser),
      env: {
        ...libpqEnv(superuser),
      },
      secretFiles: logins.map((role) => ({ directory: directory(role), keys: [role.password] })),
    });
    allowFlow(job.pods, this.endpoint);
  }
}
