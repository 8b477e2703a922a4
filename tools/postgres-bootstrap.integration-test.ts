// Runs the PostgreSQL bootstrap script exactly as rendered (dev cluster's Job) against a real
// PostgreSQL server on loopback: twice, to prove it is idempotent, then with a rotated password.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parse } from 'yaml';
import { freePort } from './testing/free-port';

const root = join(__dirname, '..');
const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort() : [];
const bin = join('/usr/lib/postgresql', versions[versions.length - 1] ?? 'missing', 'bin');
const superuserPassword = 'test-only-superuser-password';
const exporterPassword = 'test-only-exporter-password';
const hubPassword = 'test-only-jupyterhub-password';
const airflowPassword = 'test-only-airflow-password';
const supersetPassword = 'test-only-superset-password';
const writerPassword = 'test-only-analytics-writer-password';
const readerPassword = 'test-only-analytics-reader-password';
let dir: string;
let port: number;

// PostgreSQL refuses to run as root; CI runs as root, so the server runs as the postgres user.
const asPostgres = (cmd: string, args: string[]) =>
  process.getuid?.() === 0 ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' }) : execFileSync(cmd, args, { encoding: 'utf8' });

const jobDir = join(root, 'dist-manifests/dev/20-data/postgres');
const job = parse(readFileSync(join(jobDir, readdirSync(jobDir).find((f) => f.startsWith('job-postgres-bootstrap-')) as string), 'utf8'));
const script: string = job.spec.template.spec.containers[0].command[2];

/**
 * Runs the rendered script with each role's password in a file where the Job mounts its Secret
 * (the Secret's folder under /run/secrets, here under the test's folder), as Kubernetes writes
 * it: the value with no trailing newline. `omit` leaves one Secret out.
 */
function bootstrap(rolePassword: string, omit?: string) {
  const passwords: Record<string, string> = {
    'postgres-role-mlflow': rolePassword, 'postgres-role-jupyterhub': hubPassword, 'postgres-role-airflow': airflowPassword, 'postgres-role-superset': supersetPassword,
    'postgres-role-analytics-writer': writerPassword, 'postgres-role-analytics-reader': readerPassword, 'postgres-monitoring': exporterPassword,
  };
  const secrets = join(dir, 'secrets');
  rmSync(secrets, { recursive: true, force: true });
  for (const [secret, password] of Object.entries(passwords).filter(([name]) => name !== omit)) {
    mkdirSync(join(secrets, secret), { recursive: true });
    writeFileSync(join(secrets, secret, 'password'), password);
  }
  return spawnSync('/bin/sh', ['-c', script.replaceAll("'/run/secrets/", `'${secrets}/`)], {
    encoding: 'utf8',
    // Only libpq's own environment: the role passwords are in no variable.
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'postgres', PGDATABASE: 'postgres', PGPASSWORD: superuserPassword },
  });
}

function psql(user: string, password: string, database: string, sql: string) {
  return spawnSync(join(bin, 'psql'), ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: user, PGPASSWORD: password, PGDATABASE: database },
  });
}

beforeAll(async () => {
  if (!existsSync(join(bin, 'initdb'))) throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql; run 'bash tools/install-integration.sh'");
  port = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'ml-platform-pg-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'pw'), superuserPassword);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
    chownSync(join(dir, 'pw'), uid, gid);
  }
  asPostgres(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${join(dir, 'pw')}`, '--no-sync']);
  asPostgres(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-w', '-l', join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
});

afterAll(() => {
  if (dir && existsSync(join(dir, 'data', 'postmaster.pid'))) asPostgres(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('creates the role and its database, and running it again changes nothing', () => {
  for (let run = 0; run < 2; run++) {
    const r = bootstrap('first-password');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('roles ready: mlflow, jupyterhub, airflow, superset, analytics_writer, analytics_reader, postgres_exporter');
  }
  // Every consumer owns its own database: JupyterHub keeps its users and servers in its own,
  // Airflow its metadata (airflow db migrate creates the tables as the owner).
  expect(psql('jupyterhub', hubPassword, 'jupyterhub', 'SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()').stdout.trim()).toBe('jupyterhub');
  expect(psql('airflow', airflowPassword, 'airflow', 'SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()').stdout.trim()).toBe('airflow');
  const r = psql('mlflow', 'first-password', 'mlflow', "SELECT current_user || ' ' || pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()");
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('mlflow mlflow');
  // The owner can create MLflow's tables in the public schema.
  expect(psql('mlflow', 'first-password', 'mlflow', 'CREATE TABLE probe (id int); DROP TABLE probe;').status).toBe(0);
});

test("the exporter's role reads statistics and nothing of the data", () => {
  const stats = psql('postgres_exporter', exporterPassword, 'postgres', "SELECT count(*) > 0 FROM pg_stat_activity WHERE query IS NOT NULL; SELECT setting FROM pg_settings WHERE name = 'max_connections'");
  expect(stats.stderr).toBe('');
  expect(stats.stdout.trim().split('\n')).toEqual(['t', '100']);
  expect(psql('postgres_exporter', exporterPassword, 'postgres', "SELECT pg_has_role('postgres_exporter', 'pg_monitor', 'member')").stdout.trim()).toBe('t');
  // Not a superuser, and no way into MLflow's database.
  expect(psql('postgres_exporter', exporterPassword, 'postgres', 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user').stdout.trim()).toBe('f');
  expect(psql('postgres_exporter', exporterPassword, 'mlflow', 'SELECT 1').stderr).toMatch(/permission denied for database "mlflow"/);
});

test('no other role may connect to the database', () => {
  expect(psql('postgres', superuserPassword, 'postgres', "CREATE ROLE intruder LOGIN PASSWORD 'intruder-password'").status).toBe(0);
  const r = psql('intruder', 'intruder-password', 'mlflow', 'SELECT 1');
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain('permission denied for database "mlflow"');
});

test('a role password file that is missing fails the Job before any role changes', () => {
  const r = bootstrap('never-applied', 'postgres-role-superset');
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/postgres-role-superset\/password: No such file or directory/);
  expect(psql('mlflow', 'never-applied', 'mlflow', 'SELECT 1').stderr).toContain('password authentication failed');
});

test('a rotated password takes effect when the Job runs again', () => {
  expect(bootstrap('rotated-password').status).toBe(0);
  expect(psql('mlflow', 'rotated-password', 'mlflow', 'SELECT 1').stdout.trim()).toBe('1');
  expect(psql('mlflow', 'first-password', 'mlflow', 'SELECT 1').stderr).toContain('password authentication failed');
});

test("Airflow's migration Job, as rendered, creates Airflow's and FAB's tables in its database", () => {
  // The rendered airflow.cfg and the Job's command, in the locked environment of the Airflow
  // image's packages (pipelines/, made by npm test), with the Job's libpq environment.
  const config = parse(readFileSync(join(root, 'dist-manifests/dev/30-apps/airflow/configmap-airflow-config.yaml'), 'utf8')).data['airflow.cfg'];
  const migrateDir = join(root, 'dist-manifests/dev/30-apps/airflow');
  const migrateJob = parse(readFileSync(join(migrateDir, readdirSync(migrateDir).find((f) => f.startsWith('job-airflow-migrate-')) as string), 'utf8'));
  const command: string[] = migrateJob.spec.template.spec.containers[0].args;
  const home = mkdtempSync(join(dir, 'airflow-'));
  writeFileSync(join(home, 'airflow.cfg'), config);
  const airflow = (args: string[]) =>
    spawnSync('bash', [join(root, 'tools/uv.sh'), 'run', '--locked', '--project', join(root, 'pipelines'), ...args], {
      encoding: 'utf8',
      timeout: 300_000,
      env: { PATH: process.env.PATH, HOME: home, AIRFLOW_HOME: home, AIRFLOW_CONFIG: join(home, 'airflow.cfg'), PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'airflow', PGPASSWORD: airflowPassword, PGDATABASE: 'airflow' },
    });
  expect(command).toEqual(['airflow', 'db', 'migrate']);
  const migrated = airflow(command);
  expect(migrated.status, migrated.stdout + migrated.stderr).toBe(0);
  // What every component's init container runs before it starts.
  const checked = airflow(['airflow', 'db', 'check-migrations', '--migration-wait-timeout=1']);
  expect(checked.status, checked.stdout + checked.stderr).toBe(0);
  const tables = psql('airflow', airflowPassword, 'airflow', "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE tablename IN ('dag', 'task_instance', 'ab_user', 'ab_role', 'alembic_version')");
  expect(tables.stdout.trim()).toBe('ab_role,ab_user,alembic_version,dag,task_instance');
}, 600_000);

test('the analytics database: the writer loads tables, the reader reads them and can change nothing', () => {
  const writer = (sql: string) => psql('analytics_writer', writerPassword, 'analytics', sql);
  const reader = (sql: string) => psql('analytics_reader', readerPassword, 'analytics', sql);
  expect(writer('CREATE TABLE probe_summary (contract text PRIMARY KEY, churn_rate numeric); INSERT INTO probe_summary VALUES (\'two-year\', 0.03);').stderr).toBe('');
  expect(reader('SELECT contract, churn_rate FROM probe_summary').stdout.trim()).toBe('two-year|0.03');
  expect(reader("INSERT INTO probe_summary VALUES ('one-year', 0.1)").stderr).toMatch(/read-only transaction|permission denied/);
  // Even with its session switched back to read-write, it holds no privilege to write.
  expect(reader("SET default_transaction_read_only = off; SET transaction_read_only = off; INSERT INTO probe_summary VALUES ('one-year', 0.1)").stderr).toContain('permission denied for table probe_summary');
  expect(reader('CREATE TABLE mine (id int)').stderr).toMatch(/read-only transaction|permission denied/);
  // No other role reaches it.
  expect(psql('jupyterhub', hubPassword, 'analytics', 'SELECT 1').stderr).toContain('permission denied for database "analytics"');
  // The bootstrap runs again (every revision of the Job) and keeps the grants.
  expect(bootstrap('first-password').status).toBe(0);
  expect(reader('SELECT count(*) FROM probe_summary').stdout.trim()).toBe('1');
});

test("the DAG's load step writes the analytics database through the connection task pods get", () => {
  // The connection as rendered into the task pod template, with the password Kubernetes puts in.
  const config = parse(readFileSync(join(root, 'dist-manifests/dev/30-apps/airflow/configmap-airflow-config.yaml'), 'utf8'));
  const env: { name: string; value?: string }[] = parse(config.data['pod-template.yaml']).spec.containers[0].env;
  const connection = (env.find((e) => e.name === 'AIRFLOW_CONN_ANALYTICS')?.value ?? '').replace('$(ANALYTICS_PASSWORD)', writerPassword);
  const parsed = JSON.parse(connection);
  const home = mkdtempSync(join(dir, 'airflow-load-'));
  const load = [
    'from airflow.providers.postgres.hooks.postgres import PostgresHook',
    'from churn_pipeline import analytics, etl',
    "summary = etl.aggregate(etl.clean(etl.raw_export(600, seed=1)))",
    "print(analytics.load_frame(summary, '2026-12-01', PostgresHook(postgres_conn_id='analytics').get_sqlalchemy_engine()))",
  ].join('\n');
  const ran = spawnSync('bash', [join(root, 'tools/uv.sh'), 'run', '--locked', '--project', join(root, 'pipelines'), 'python', '-c', load], {
    encoding: 'utf8',
    timeout: 300_000,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      AIRFLOW_HOME: home,
      PYTHONPATH: join(root, 'pipelines/dags'),
      // The rendered connection, pointed at the test server.
      AIRFLOW_CONN_ANALYTICS: JSON.stringify({ ...parsed, host: '127.0.0.1', port }),
    },
  });
  expect(ran.status, ran.stdout + ran.stderr).toBe(0);
  expect(ran.stdout.trim().split('\n').pop()).toBe('3');
  expect(parsed).toMatchObject({ conn_type: 'postgres', login: 'analytics_writer', schema: 'analytics' });
  // BI reads what the pipeline wrote.
  const read = psql('analytics_reader', readerPassword, 'analytics', "SELECT string_agg(contract, ',' ORDER BY contract) FROM churn_by_contract WHERE day = '2026-12-01'");
  expect(read.stdout.trim()).toBe('month-to-month,one-year,two-year');
}, 600_000);

test("Superset's start-up Job, as rendered, migrates its database and registers the analytics data source read-only", () => {
  // The rendered superset_config.py, its Services' address swapped for the test server's, and the
  // Job's command, in the locked environment of the Superset image's packages (images/superset).
  const appsDir = join(root, 'dist-manifests/dev/30-apps/superset');
  const rendered = parse(readFileSync(join(appsDir, 'configmap-superset-config.yaml'), 'utf8')).data['superset_config.py'] as string;
  const config = rendered.replaceAll('postgres.postgres.svc.cluster.local:5432', `127.0.0.1:${port}`).replace('host="postgres.postgres.svc.cluster.local", port=5432', `host="127.0.0.1", port=${port}`);
  expect(config).not.toBe(rendered);
  const initJob = parse(readFileSync(join(appsDir, readdirSync(appsDir).find((f) => f.startsWith('job-superset-init-')) as string), 'utf8'));
  const command: string[] = initJob.spec.template.spec.containers[0].command;
  const home = mkdtempSync(join(dir, 'superset-'));
  writeFileSync(join(home, 'superset_config.py'), config);
  const superset = (args: string[]) =>
    spawnSync('bash', [join(root, 'tools/uv.sh'), 'run', '--locked', '--project', join(root, 'images/superset'), ...args], {
      encoding: 'utf8',
      timeout: 400_000,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        SUPERSET_HOME: home,
        SUPERSET_CONFIG_PATH: join(home, 'superset_config.py'),
        SUPERSET_SECRET_KEY: 'test-only-secret-key',
        PGPASSWORD: supersetPassword,
        REDIS_PASSWORD: 'test-only-redis-password',
        ANALYTICS_PASSWORD: readerPassword,
        // StatsD's client resolves its Service's name when the file loads; nothing listens here.
        PYTHONPATH: join(root, 'tools/testing/cluster-names'),
      },
    });
  // Before the Job, the pods' init container keeps them waiting and says why.
  const waiting = superset(['python', '-m', 'superset_platform.schema', '--timeout', '1']);
  expect(waiting.status).toBe(1);
  expect(waiting.stderr).toContain('has the start-up Job (superset db upgrade) run?');
  for (let run = 0; run < 2; run++) {
    const ran = superset(command);
    expect(ran.status, ran.stdout + ran.stderr).toBe(0);
    expect(ran.stdout).toContain(`data source analytics: postgresql+psycopg2://analytics_reader@127.0.0.1:${port}/analytics (read-only), queried by role Analytics reader`);
  }
  const ready = superset(['python', '-m', 'superset_platform.schema', '--timeout', '1']);
  expect(ready.status, ready.stdout + ready.stderr).toBe(0);
  // Registered without a password, read-only, and queryable by the role people get.
  expect(psql('superset', supersetPassword, 'superset', "SELECT database_name, password IS NULL, allow_dml, expose_in_sqllab FROM dbs").stdout.trim()).toBe('analytics|t|f|t');
  const granted = "SELECT p.name || ' ' || v.name FROM ab_role r JOIN ab_permission_view_role pr ON pr.role_id = r.id JOIN ab_permission_view pv ON pv.id = pr.permission_view_id JOIN ab_permission p ON p.id = pv.permission_id JOIN ab_view_menu v ON v.id = pv.view_menu_id WHERE r.name = 'Analytics reader'";
  expect(psql('superset', supersetPassword, 'superset', granted).stdout.trim()).toMatch(/^database_access \[analytics\]\.\(id:\d+\)$/);
  // Superset connects as the reader with the password from the environment: it reads what the
  // pipeline loaded, and the database refuses its writes.
  const query = [
    'from superset.app import create_app',
    'app = create_app()',
    'with app.app_context():',
    '    from superset import db',
    '    from superset.models.core import Database',
    '    analytics = db.session.query(Database).filter_by(database_name="analytics").one()',
    '    with analytics.get_sqla_engine() as engine, engine.connect() as connection:',
    '        print(connection.exec_driver_sql("SELECT current_user || \' \' || count(*) FROM churn_by_contract").scalar())',
    '        try:',
    '            connection.exec_driver_sql("DELETE FROM churn_by_contract")',
    '            print("deleted")',
    '        except Exception as error:',
    '            print("refused:", type(error.orig).__name__)',
  ].join('\n');
  const queried = superset(['python', '-c', query]);
  expect(queried.status, queried.stdout + queried.stderr).toBe(0);
  expect(queried.stdout.trim().split('\n').slice(-2)).toEqual(['analytics_reader 3', 'refused: ReadOnlySqlTransaction']);
}, 900_000);

test('the reference Dash app reads what the pipeline loaded, as the read-only role its pod gets', () => {
  // The app's environment as rendered (libpq's PG* for analytics_reader), pointed at the test server.
  const deployment = parse(readFileSync(join(root, 'dist-manifests/dev/30-apps/dash/deployment-dash-churn.yaml'), 'utf8'));
  const env: { name: string; value?: string }[] = deployment.spec.template.spec.containers[0].env;
  const plain = Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
  expect(plain).toMatchObject({ PGUSER: 'analytics_reader', PGDATABASE: 'analytics' });
  const read = [
    'import json',
    'from churn_dashboard.app import create_app',
    'client = create_app().server.test_client()',
    'assert client.get("/readyz").status_code == 200',
    'payload = {"output": "..churn-rate.figure...customers.figure...latest.children..", "outputs": [{"id": "churn-rate", "property": "figure"}, {"id": "customers", "property": "figure"}, {"id": "latest", "property": "children"}], "inputs": [{"id": "contracts", "property": "value", "value": ["one-year", "two-year"]}], "changedPropIds": ["contracts.value"], "state": []}',
    'figure = client.post("/_dash-update-component", json=payload).get_json()["response"]["churn-rate"]["figure"]',
    'print(json.dumps(sorted(t["name"] for t in figure["data"])))',
  ].join('\n');
  const ran = spawnSync('bash', [join(root, 'tools/uv.sh'), 'run', '--locked', '--project', join(root, 'services/churn-dashboard'), 'python', '-c', read], {
    encoding: 'utf8',
    timeout: 300_000,
    // The metrics folder is the pod's emptyDir; here one of the test's. This server speaks plain
    // text: the rendered TLS settings are proven on a TLS server (postgres-tls.integration-test.ts).
    env: { PATH: process.env.PATH, HOME: dir, ...plain, PROMETHEUS_MULTIPROC_DIR: mkdtempSync(join(dir, 'metrics-')), PGHOST: '127.0.0.1', PGPORT: String(port), PGPASSWORD: readerPassword, PGSSLMODE: 'disable', PGSSLROOTCERT: '' },
  });
  expect(ran.status, ran.stdout + ran.stderr).toBe(0);
  expect(ran.stdout.trim().split('\n').pop()).toBe('["one-year", "two-year"]');
}, 300_000);
