import { ServiceEndpoint } from './network';
import { SecretKeyRef } from './secrets';
import { EnvValue } from './workload';

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
}

/** The libpq environment (`PGHOST` ...) for a database; psql, psycopg and SQLAlchemy read it. */
export function libpqEnv(db: PostgresDatabase): Record<string, EnvValue> {
  return {
    PGHOST: EnvValue.fromValue(db.endpoint.host),
    PGPORT: EnvValue.fromValue(String(db.endpoint.port)),
    PGDATABASE: EnvValue.fromValue(db.database),
    PGUSER: EnvValue.fromValue(db.user),
    PGPASSWORD: EnvValue.fromSecret(db.password),
  };
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
}

/** The AWS SDK environment for a bucket (boto3, the AWS CLI and most S3 clients read it). */
export function s3Env(bucket: S3Bucket): Record<string, EnvValue> {
  return {
    AWS_ACCESS_KEY_ID: EnvValue.fromSecret(bucket.accessKeyId),
    AWS_SECRET_ACCESS_KEY: EnvValue.fromSecret(bucket.secretAccessKey),
    AWS_DEFAULT_REGION: EnvValue.fromValue(bucket.region),
    AWS_ENDPOINT_URL_S3: EnvValue.fromValue(bucket.endpoint.url()),
  };
}
