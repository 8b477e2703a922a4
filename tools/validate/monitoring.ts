// The monitoring layer: the rendered Prometheus, Alertmanager and Grafana files checked by the
// programs that will read them. promtool checks prometheus.yml and every rule file and runs the
// alert unit tests (libs/monitoring/rule-tests/) against the rules exactly as rendered; amtool
// checks alertmanager.yml; dashboards must be JSON, use only provisioned datasources, and every
// query must parse as PromQL (checked by promtool as recording rules).
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse as parseIni } from 'ini';
import { parse, stringify } from 'yaml';
import { describeObject, Failure, Json, ManifestDoc } from './model';
import { essentials, run, ToolResults } from './programs';

/** The programs and the unit tests the layer runs. */
export interface MonitoringTools {
  readonly promtool: string;
  readonly amtool: string;
  /** Folder of `*.test.yml` promtool unit tests that read `alerting-rules.yml`. */
  readonly ruleTests: string;
}

const PROMETHEUS_CONFIG = 'prometheus.yml';
const ALERTMANAGER_CONFIG = 'alertmanager.yml';
const DATASOURCES = 'datasources.yaml';
/** The rule file the unit tests are written against. */
const TESTED_RULES = 'alerting-rules.yml';

type Emit = (doc: ManifestDoc, rule: string, field: string, message: string, hint: string) => void;

function configMaps(docs: ManifestDoc[], key: (k: string) => boolean): ManifestDoc[] {
  return docs.filter((d) => d.obj.kind === 'ConfigMap' && Object.keys(d.obj.data ?? {}).some(key));
}

function stage(doc: ManifestDoc): string {
  const dir = mkdtempSync(join(tmpdir(), 'ml-platform-monitoring-'));
  for (const [k, v] of Object.entries(doc.obj.data as Record<string, string>)) writeFileSync(join(dir, k), v);
  return dir;
}

async function checkPrometheus(doc: ManifestDoc, tools: MonitoringTools, cache: ToolResults | undefined, emit: Emit): Promise<void> {
  const data = doc.obj.data as Record<string, string>;
  const tested = TESTED_RULES in data && existsSync(tools.ruleTests);
  const tests = tested ? readdirSync(tools.ruleTests).filter((f) => f.endsWith('.test.yml')).sort() : [];
  const dir = stage(doc);
  for (const t of tests) copyFileSync(join(tools.ruleTests, t), join(dir, t));
  try {
    const field = `data['${PROMETHEUS_CONFIG}']`;
    const ruleFiles: string[] = (parse(data[PROMETHEUS_CONFIG]) as Json)?.rule_files ?? [];
    ruleFiles.forEach((path, i) => {
      if (!(basename(path) in data)) emit(doc, 'monitoring/rule-file-missing', `${field}.rule_files[${i}]`, `rule file '${path}' is not in this ConfigMap, which is mounted as the config folder`, 'add the rule file to the ConfigMap or remove it from rule_files');
    });
    const checks: Promise<void>[] = [
      // --syntax-only: the service account files it names exist only in the pod.
      run(tools.promtool, ['check', 'config', '--syntax-only', PROMETHEUS_CONFIG], dir, cache).then((config) => {
        if (!config.ok) emit(doc, 'monitoring/prometheus-config', field, `promtool check config: ${essentials(config.output)}`, 'fix the config in libs/monitoring/src/prometheus-config.ts');
      }),
      ...Object.keys(data)
        .filter((k) => k !== PROMETHEUS_CONFIG && /\.ya?ml$/.test(k))
        .map((file) =>
          run(tools.promtool, ['check', 'rules', file], dir, cache).then((rules) => {
            if (!rules.ok) emit(doc, 'monitoring/rules', `data['${file}']`, `promtool check rules: ${essentials(rules.output)}`, 'fix the rule in libs/monitoring/src/alerts/');
          }),
        ),
    ];
    if (tested) {
      checks.push(
        run(tools.promtool, ['test', 'rules', ...tests], dir, cache).then((result) => {
          if (!result.ok) {
            emit(doc, 'monitoring/rule-tests', `data['${TESTED_RULES}']`, `promtool test rules: ${essentials(result.output)}`, 'an alert fires when it should not or stays quiet when it should fire: fix the rule or, if the change is intended, its test in libs/monitoring/rule-tests/');
          }
        }),
      );
    }
    await Promise.all(checks);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function checkAlertmanager(doc: ManifestDoc, tools: MonitoringTools, cache: ToolResults | undefined, emit: Emit): Promise<void> {
  const dir = stage(doc);
  try {
    const r = await run(tools.amtool, ['check-config', ALERTMANAGER_CONFIG], dir, cache);
    if (!r.ok) emit(doc, 'monitoring/alertmanager-config', `data['${ALERTMANAGER_CONFIG}']`, `amtool check-config: ${essentials(r.output)}`, 'fix the receivers and routes (cluster.yaml components.monitoring.alertmanager, libs/monitoring/src/alertmanager.ts)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Grafana template variables and macros, replaced by values that keep the query valid PromQL. */
export function substituteVariables(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, '5m')
    .replace(/\$\{[a-zA-Z_][a-zA-Z0-9_]*(:[a-z]+)?\}|\$[a-zA-Z_][a-zA-Z0-9_]*/g, 'x');
}

interface Query {
  readonly doc: ManifestDoc;
  readonly field: string;
  readonly expr: string;
}

/** Panels, including those nested in collapsed rows. */
function panelsOf(dashboard: Json): [Json, string][] {
  return (dashboard.panels ?? []).flatMap((p: Json, i: number) => [
    [p, `panels[${i}]`] as [Json, string],
    ...(p.panels ?? []).map((q: Json, j: number) => [q, `panels[${i}].panels[${j}]`] as [Json, string]),
  ]);
}

async function checkDashboards(group: ManifestDoc[], tools: MonitoringTools, cache: ToolResults | undefined, emit: Emit): Promise<void> {
  const sources = configMaps(group, (k) => k === DATASOURCES);
  const known = new Set<string>(sources.flatMap((d) => ((parse(d.obj.data[DATASOURCES]) as Json)?.datasources ?? []).map((s: Json) => s.uid)));
  const queries: Query[] = [];
  // Dashboards are Grafana's: the ConfigMaps in the namespace of its datasources (other
  // components keep JSON of their own in ConfigMaps, e.g. Elasticsearch's index template).
  const grafanaNamespaces = new Set(sources.map((d) => d.obj.metadata?.namespace));
  for (const doc of configMaps(group, (k) => k.endsWith('.json')).filter((d) => grafanaNamespaces.has(d.obj.metadata?.namespace))) {
    for (const [file, text] of Object.entries(doc.obj.data as Record<string, string>).filter(([k]) => k.endsWith('.json'))) {
      const at = `data['${file}']`;
      let dashboard: Json;
      try {
        dashboard = JSON.parse(text);
      } catch (err) {
        emit(doc, 'monitoring/dashboard-json', at, `not valid JSON: ${(err as Error).message}`, 'render dashboards with the builder in libs/monitoring/src/dashboards/');
        continue;
      }
      if (!dashboard.uid || !Array.isArray(dashboard.panels)) {
        emit(doc, 'monitoring/dashboard-json', at, 'not a Grafana dashboard (no uid or panels)', 'render dashboards with the builder in libs/monitoring/src/dashboards/');
        continue;
      }
      const checkSource = (ds: Json, field: string) => {
        if (ds && typeof ds === 'object' && !known.has(ds.uid)) {
          emit(doc, 'monitoring/dashboard-datasource', `${at}.${field}.datasource.uid`, `datasource '${ds.uid}' is not provisioned (known: ${[...known].join(', ') || 'none'})`, 'use the provisioned Prometheus datasource (PROMETHEUS_DATASOURCE_UID)');
        }
      };
      (dashboard.templating?.list ?? []).forEach((v: Json, i: number) => checkSource(v.datasource, `templating.list[${i}]`));
      for (const [panel, path] of panelsOf(dashboard)) {
        checkSource(panel.datasource, path);
        (panel.targets ?? []).forEach((t: Json, j: number) => {
          checkSource(t.datasource, `${path}.targets[${j}]`);
          if (typeof t.expr === 'string') queries.push({ doc, field: `${at}.${path}.targets[${j}].expr`, expr: t.expr });
          else emit(doc, 'monitoring/dashboard-query', `${at}.${path}.targets[${j}]`, 'target has no PromQL expr', 'give every target an expr');
        });
      }
    }
  }
  if (queries.length === 0) return;
  // Each query becomes a recording rule that promtool parses; the rule name leads back to it.
  const names = queries.map((_, i) => `dashboard_query:${i}`);
  const dir = mkdtempSync(join(tmpdir(), 'ml-platform-dashboards-'));
  try {
    const rules = { groups: [{ name: 'dashboards', rules: queries.map((q, i) => ({ record: names[i], expr: substituteVariables(q.expr) })) }] };
    writeFileSync(join(dir, 'dashboards.yml'), stringify(rules, { lineWidth: 0 }));
    const r = await run(tools.promtool, ['check', 'rules', '--lint=none', 'dashboards.yml'], dir, cache);
    if (r.ok) return;
    let attributed = false;
    for (const line of r.output.split('\n')) {
      const m = /"dashboard_query:(\d+)": (.*)$/.exec(line);
      if (!m) continue;
      const q = queries[Number(m[1])];
      emit(q.doc, 'monitoring/dashboard-query', q.field, `query does not parse: ${m[2]}`, 'fix the PromQL in libs/monitoring/src/dashboards/');
      attributed = true;
    }
    if (!attributed) emit(queries[0].doc, 'monitoring/dashboard-query', 'data', `promtool check rules: ${essentials(r.output)}`, 'fix the PromQL in libs/monitoring/src/dashboards/');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const GRAFANA_CONFIG = 'grafana.ini';

/**
 * The keys Grafana reads from `[auth.generic_oauth]`: `loadSettingsForProvider` in
 * grafana/grafana pkg/services/ssosettings/strategies/oauth_strategy.go, plus
 * `ExtraGenericOAuthSettingKeys` in pkg/login/social/connectors/generic_oauth.go (read from the
 * repository's main branch as stored here, not from the 13.2.0 tag itself). A key outside this
 * list is one Grafana ignores, such as a misspelling that silently weakens the sign-in.
 */
export const GRAFANA_GENERIC_OAUTH_KEYS = new Set([
  'allow_assign_grafana_admin', 'allow_sign_up', 'allowed_domains', 'allowed_groups', 'api_url', 'auth_style', 'auth_url', 'auto_login',
  'client_id', 'client_secret', 'email_attribute_name', 'email_attribute_path', 'empty_scopes', 'enabled', 'groups_attribute_path',
  'hosted_domain', 'icon', 'name', 'role_attribute_path', 'role_attribute_strict', 'scopes', 'signout_redirect_url', 'skip_org_role_sync',
  'team_ids_attribute_path', 'teams_url', 'tls_client_ca', 'tls_client_cert', 'tls_client_key', 'tls_skip_verify_insecure', 'token_url',
  'use_pkce', 'use_refresh_token', 'name_attribute_path', 'login_attribute_path', 'id_token_attribute_name', 'team_ids', 'allowed_organizations',
]);

/** grafana.ini's GitLab sign-in: only keys Grafana reads, and values its ini parser keeps as written. */
function checkGrafanaSignIn(doc: ManifestDoc, emit: Emit): void {
  const section = (parseIni(doc.obj.data[GRAFANA_CONFIG]) as Json).auth?.generic_oauth;
  if (!section || typeof section !== 'object') return;
  for (const [key, value] of Object.entries(section as Record<string, unknown>)) {
    const field = `data['${GRAFANA_CONFIG}'].auth.generic_oauth.${key}`;
    if (!GRAFANA_GENERIC_OAUTH_KEYS.has(key)) emit(doc, 'monitoring/grafana-config', field, `Grafana does not read '${key}' in [auth.generic_oauth]`, 'fix the key in libs/monitoring/src/grafana.ts (grafanaOauthSection)');
    // Grafana's ini parser strips quotes around a whole value: a JMESPath literal would lose them.
    if (typeof value === 'string' && /^(['"]).*\1$/.test(value)) emit(doc, 'monitoring/grafana-config', field, `the value ${value} is one quoted string, which Grafana's ini parser unquotes`, 'write the JMESPath so it does not begin and end with a quote');
  }
  if (section.enabled === true && section.role_attribute_strict !== true) {
    emit(doc, 'monitoring/grafana-config', `data['${GRAFANA_CONFIG}'].auth.generic_oauth.role_attribute_strict`, 'GitLab sign-in is on but a member of no mapped group would still get a role', 'set role_attribute_strict = true');
  }
}

/** Runs the monitoring checks over one cluster's documents; `cache` keeps the tools' results across runs. */
export async function checkMonitoring(group: ManifestDoc[], tools: MonitoringTools, cache?: ToolResults): Promise<Failure[]> {
  const failures: Failure[] = [];
  const emit: Emit = (doc, rule, field, message, hint) => failures.push({ layer: 'monitoring', rule, cluster: doc.cluster, file: doc.file, object: describeObject(doc.obj), field, message, hint });
  for (const doc of configMaps(group, (k) => k === GRAFANA_CONFIG)) checkGrafanaSignIn(doc, emit);
  await Promise.all([
    ...configMaps(group, (k) => k === PROMETHEUS_CONFIG).map((doc) => checkPrometheus(doc, tools, cache, emit)),
    ...configMaps(group, (k) => k === ALERTMANAGER_CONFIG).map((doc) => checkAlertmanager(doc, tools, cache, emit)),
    checkDashboards(group, tools, cache, emit),
  ]);
  return failures;
}

/** True when the documents hold anything this layer checks (so its tools are needed). */
export function hasMonitoring(docs: ManifestDoc[]): boolean {
  return configMaps(docs, (k) => k === PROMETHEUS_CONFIG || k === ALERTMANAGER_CONFIG || k.endsWith('.json')).length > 0;
}
