import { ServiceEndpoint } from './network';
import { SecretKeyRef } from './secrets';
import { k8s } from 'cdk8s-plus-28';
import { PlatformChart } from './platform-chart';
import { internalCaTrust, INTERNAL_CA_FILE, jvmTrustOptions } from './tls';
import { EnvValue, MountSpec } from './workload';

/**
 * A PostgreSQL database owned by one consumer: where it is, its name, its role and the
 * reference to the role's password. Produced by the PostgreSQL chart, consumed by any chart
 * that stores state in SQL.
 */
export interface PostgresDatabase {
  readonly endpoint: ServiceEndpoint;
  readonly database: string;
  readonly user: string;
  readonly password: SecretKeyRef;
  /**
   * The server speaks TLS only, with a certificate from the internal CA: clients verify it and
   * the host name (`sslmode=verify-full`), so they mount the CA (`internalCaTrust`).
   *
   * @default false
   */
  readonly tls?: boolean;
}

/**
 * The libpq TLS settings for a database: libpq (psql, psycopg2, lib/pq) and asyncpg read them
 * from the environment, for every connection the process makes.
 */
export function libpqTlsEnv(db: PostgresDatabase): Record<string, EnvValue> {
  return db.tls ? { PGSSLMODE: EnvValue.fromValue('verify-full'), PGSSLROOTCERT: EnvValue.fromValue(INTERNAL_CA_FILE) } : {};
}

/** The libpq environment (`PGHOST` ...) for a database; psql, psycopg and SQLAlchemy read it. */
export function libpqEnv(db: PostgresDatabase): Record<string, EnvValue> {
  return {
    PGHOST: EnvValue.fromValue(db.endpoint.host),
    PGPORT: EnvValue.fromValue(String(db.endpoint.port)),
    PGDATABASE: EnvValue.fromValue(db.database),
    PGUSER: EnvValue.fromValue(db.user),
    PGPASSWORD: EnvValue.fromSecret(db.password),
    ...libpqTlsEnv(db),
  };
}

/**
 * What the pods of `chart` mount to reach `servers` (databases, buckets, ...) over TLS: the internal
 * CA once, when any of them speaks TLS; nothing otherwise.
 */
export function trustFor(chart: PlatformChart, ...servers: readonly ({ readonly tls?: boolean } | undefined)[]): { readonly mounts: MountSpec[]; readonly volumes: k8s.Volume[] } {
  if (!servers.some((s) => s?.tls)) return { mounts: [], volumes: [] };
  const trust = internalCaTrust(chart);
  return { mounts: [trust.mount], volumes: [trust.volume] };
}

/**
 * An S3 bucket with the credentials of the one consumer it belongs to. Generic on purpose:
 * MinIO produces it today, and any S3-compatible server can produce it tomorrow.
 */
export interface S3Bucket {
  readonly endpoint: ServiceEndpoint;
  readonly bucket: string;
  /** Signing region; S3 servers that ignore regions accept `us-east-1`. */
  readonly region: string;
  /** Path-style addressing (`http://host/bucket/key`), which in-cluster S3 servers need. */
  readonly pathStyle: boolean;
  readonly accessKeyId: SecretKeyRef;
  readonly secretAccessKey: SecretKeyRef;
  /**
   * The server speaks HTTPS only, with a certificate from the internal CA: clients mount the CA
   * (`trustFor`) and verify it.
   *
   * @default false
   */
  readonly tls?: boolean;
}

/** The bucket's server as a URL (`https://` when it speaks TLS). */
export function s3Url(bucket: S3Bucket): string {
  return bucket.endpoint.url(bucket.tls ? 'https' : 'http');
}

/**
 * The AWS SDK environment for a bucket (boto3, s3fs, the AWS CLI and most S3 clients read it);
 * botocore verifies a TLS server against `AWS_CA_BUNDLE`.
 */
export function s3Env(bucket: S3Bucket): Record<string, EnvValue> {
  return {
    AWS_ACCESS_KEY_ID: EnvValue.fromSecret(bucket.accessKeyId),
    AWS_SECRET_ACCESS_KEY: EnvValue.fromSecret(bucket.secretAccessKey),
    AWS_DEFAULT_REGION: EnvValue.fromValue(bucket.region),
    AWS_ENDPOINT_URL_S3: EnvValue.fromValue(s3Url(bucket)),
    ...(bucket.tls ? { AWS_CA_BUNDLE: EnvValue.fromValue(INTERNAL_CA_FILE) } : {}),
  };
}

/**
 * Hadoop S3A's settings for a bucket's server (Spark jobs, notebooks, the history server); the
 * credentials come from the environment. S3A trusts what the JVM trusts, so over TLS the JVM
 * gets the internal CA's truststore (`jvmTrustEnv`).
 */
export function s3aSettings(bucket: S3Bucket): [string, string][] {
  return [
    ['spark.hadoop.fs.s3a.endpoint', s3Url(bucket)],
    ['spark.hadoop.fs.s3a.endpoint.region', bucket.region],
    ['spark.hadoop.fs.s3a.path.style.access', String(bucket.pathStyle)],
    ['spark.hadoop.fs.s3a.connection.ssl.enabled', String(bucket.tls ?? false)],
    ['spark.hadoop.fs.s3a.aws.credentials.provider', 'software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider'],
  ];
}

/**
 * The environment of a pod whose JVMs talk to `servers`: when any speaks TLS, JAVA_TOOL_OPTIONS
 * with the internal CA's truststore. Every JVM the pod starts reads it (spark-submit, Spark's
 * driver and executors, a notebook's PySpark), so no launcher needs its own option. Mount the
 * CA with `trustFor`.
 */
export function jvmTrustEnv(...servers: readonly ({ readonly tls?: boolean } | undefined)[]): Record<string, EnvValue> {
  return servers.some((s) => s?.tls) ? { JAVA_TOOL_OPTIONS: EnvValue.fromValue(jvmTrustOptions().join(' ')) } : {};
}

/**
 * Throws unless every bucket of `buckets` comes with the same key: a pod's S3 client has one
 * (the AWS_* environment). `owner` names the pods, e.g. 'a notebook'.
 */
export function assertOneS3Key(component: string, owner: string, buckets: Readonly<Record<string, S3Bucket | undefined>>): void {
  const given = Object.entries(buckets).filter((e): e is [string, S3Bucket] => e[1] !== undefined);
  const [first, ...rest] = given;
  const other = rest.find(([, b]) => b.accessKeyId.secretName !== first[1].accessKeyId.secretName);
  if (other) {
    throw new Error(`${component}: the ${other[0]} bucket must use the ${first[0]} bucket's credentials (${owner} has one S3 key); give both buckets the same consumer`);
  }
}

/**
 * An experiment tracking server clients log runs and models to (MLflow's): generic like
 * `PostgresDatabase`, so the components that log need not know the chart that serves it.
 */
export interface TrackingServer {
  readonly endpoint: ServiceEndpoint;
  /**
   * It speaks HTTPS only, with a certificate from the internal CA, which clients mount
   * (`trustFor`) and verify.
   *
   * @default false
   */
  readonly tls?: boolean;
}

/**
 * The MLflow client's environment for `server`: its URI and, over TLS, the CA it verifies the
 * server with (MLFLOW_TRACKING_SERVER_CERT_PATH, requests' `verify`).
 */
export function trackingEnv(server: TrackingServer): Record<string, EnvValue> {
  return {
    MLFLOW_TRACKING_URI: EnvValue.fromValue(server.endpoint.url(server.tls ? 'https' : 'http')),
    ...(server.tls ? { MLFLOW_TRACKING_SERVER_CERT_PATH: EnvValue.fromValue(INTERNAL_CA_FILE) } : {}),
  };
}

/** The ResourceQuota of a namespace of batch pods: CPU and memory (requests and limits) and pods. */
export interface ComputeQuota {
  readonly cpu: string;
  readonly memory: string;
  readonly pods: number;
}

/**
 * A Redis database (an index on one server) with the server's password: what a component gets
 * to cache or queue in Redis. Generic, like `PostgresDatabase`.
 */
export interface RedisDatabase {
  readonly endpoint: ServiceEndpoint;
  /** The database index, 0-15. */
  readonly database: number;
  readonly password: SecretKeyRef;
  /**
   * The server speaks TLS only (`rediss://`), with a certificate from the internal CA, which
   * clients mount (`trustFor`) and verify.
   *
   * @default false
   */
  readonly tls?: boolean;
}

/** The environment a Redis client is configured from (REDIS_HOST ... REDIS_DB). */
export function redisEnv(db: RedisDatabase): Record<string, EnvValue> {
  return {
    REDIS_HOST: EnvValue.fromValue(db.endpoint.host),
    REDIS_PORT: EnvValue.fromValue(String(db.endpoint.port)),
    REDIS_DB: EnvValue.fromValue(String(db.database)),
    REDIS_PASSWORD: EnvValue.fromSecret(db.password),
  };
}
