import { Testing } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { ImageCatalog, Layer, ModelMonitoring, PlatformChart, PlatformContext, PodSelection, SecretKeyRef, ServiceEndpoint, WatchedModel } from '@ml-platform/core';
import { PROMETHEUS_DATASOURCE_UID } from './dashboards/builder';
import { PLATFORM_DASHBOARDS } from './dashboards/platform-dashboards';
import { Grafana } from './grafana';
import { MonitoringChart, MonitoringChartProps, monitoringConfigSchema } from './monitoring';
import { NodeExporterChart } from './node-exporter';

const context = (internalCa?: string, uiTls?: boolean) =>
  new PlatformContext({
    cluster: 'edge', kubernetesVersion: '1.28', baseDomain: 'ml.edge.internal', defaultStorageClass: 'standard', images: new ImageCatalog(),
    apiServer: { cidrs: ['10.1.0.1/32'], port: 6443 },
    nodes: { cidrs: ['10.1.0.0/24'] },
    internalCa,
    uiTls,
  });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;
function synth(props: Partial<MonitoringChartProps> = {}, models: WatchedModel[] = [], internalCa?: string, uiTls?: boolean) {
  const app = Testing.app();
  for (const m of models) ModelMonitoring.of(app).declare(m);
  new MonitoringChart(app, 'monitoring', { context: context(internalCa, uiTls), prometheus: { storageSize: '50Gi' }, ...props });
  const objects: Obj[] = Testing.synth(app.node.children[0] as MonitoringChart);
  const find = (kind: string, name: string) => {
    const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`no ${kind} ${name}`);
    return o;
  };
  return { objects, find };
}
const webhook = (name: string) => ({ name, webhook: { url: SecretKeyRef.of('alertmanager-receivers', `${name}-url`, 'test') }, egress: { cidrs: ['10.9.0.1/32'], port: 443 } });

describe('Prometheus', () => {
  test('keeps retention in its config, below the volume, and reloads the config without a restart', () => {
    const { find } = synth();
    const config = parse(find('ConfigMap', 'prometheus-config').data['prometheus.yml']);
    expect(config.storage.tsdb.retention).toEqual({ time: '15d', size: '40GB' });
    expect(config.global.external_labels).toEqual({ cluster: 'edge' });
    expect(config.rule_files).toEqual(['/etc/prometheus/alerting-rules.yml']);
    const pod = find('StatefulSet', 'prometheus').spec.template.spec;
    const [server, reloader] = pod.containers;
    expect(server.args).toEqual([
      '--config.file=/etc/prometheus/prometheus.yml',
      '--storage.tsdb.path=/prometheus',
      '--web.enable-lifecycle',
      // JSON lines for the log shipper.
      '--log.format=json',
      '--web.listen-address=:9090',
      // Links in alerts and in the UI point where people reach it.
      '--web.external-url=https://prometheus.ml.edge.internal/',
    ]);
    expect(server.args.join(' ')).not.toContain('retention');
    expect(reloader.args).toEqual(['--watched-dir=/etc/prometheus', '--reload-url=http://127.0.0.1:9090/-/reload', '--listen-address=:8080']);
    expect(pod.securityContext).toMatchObject({ runAsUser: 65534, runAsGroup: 65534 });
    expect(pod).toMatchObject({ serviceAccountName: 'prometheus', automountServiceAccountToken: true });
    expect(find('StatefulSet', 'prometheus').spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('50Gi');
  });

  test('scrapes pods that serve TLS by the name their certificate holds, verifying it with the internal CA', () => {
    const { find } = synth({}, [], 'platform-ca');
    const jobs = parse(find('ConfigMap', 'prometheus-config').data['prometheus.yml']).scrape_configs;
    const plain = jobs.find((j: Obj) => j.job_name === 'kubernetes-pods');
    const tls = jobs.find((j: Obj) => j.job_name === 'kubernetes-pods-tls');
    // Each pod lands in exactly one of the two jobs.
    expect(plain.relabel_configs).toContainEqual({ source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scheme'], action: 'drop', regex: 'https' });
    expect(tls.relabel_configs).toContainEqual({ source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scheme'], action: 'keep', regex: 'https' });
    expect(tls).toMatchObject({ scheme: 'https', tls_config: { ca_file: '/etc/platform/internal-ca/ca.crt' } });
    // Prometheus anchors its regexes (and writes groups as $1, as JavaScript does). Vault's first pod, as Prometheus would address it:
    const [address, byAddress] = tls.relabel_configs.filter((r: Obj) => r.target_label === '__address__');
    const relabel = (rule: Obj, value: string) => value.replace(new RegExp(`^(?:${rule.regex})$`), rule.replacement);
    expect(relabel(address, 'vault-0;vault-internal;vault;8200')).toBe('vault-0.vault-internal.vault.svc:8200');
    // A Deployment's pod (MLflow's), by the record cluster DNS keeps for its address; others keep their name.
    expect(relabel(byAddress, 'address;10.42.3.17;mlflow-headless;mlflow;5000')).toBe('10-42-3-17.mlflow-headless.mlflow.svc:5000');
    expect(relabel(byAddress, ';10.42.3.17;vault-internal;vault;8200')).toBe(';10.42.3.17;vault-internal;vault;8200');
    const pod = find('StatefulSet', 'prometheus').spec.template.spec;
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'internal-ca', mountPath: '/etc/platform/internal-ca', readOnly: true });
    // Without the internal CA there is no TLS job.
    expect(parse(synth().find('ConfigMap', 'prometheus-config').data['prometheus.yml']).scrape_configs.map((j: Obj) => j.job_name)).not.toContain('kubernetes-pods-tls');
  });

  test('refuses a retention size that does not fit its volume, in the schema and in the construct', () => {
    expect(() => synth({ prometheus: { storageSize: '50Gi', retentionSize: '50GB' } })).toThrow(/retention size 50GB must be smaller than the volume \(50Gi\)/);
    const parsed = monitoringConfigSchema.safeParse({ enabled: true, prometheus: { storage: { size: '20Gi' }, retentionSize: '30GB' } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['prometheus', 'retentionSize'], message: 'expected less than the volume (20Gi)' });
  });

  test('may read what discovery and kubelet metrics need, and nothing more', () => {
    const { find } = synth();
    expect(find('ClusterRole', 'prometheus-discovery').rules).toEqual([
      { apiGroups: [''], resources: ['pods', 'nodes', 'services'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
      { nonResourceURLs: ['/metrics'], verbs: ['get'] },
    ]);
    expect(find('ClusterRoleBinding', 'prometheus-discovery').subjects).toEqual([{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }]);
    // It reaches the API server and the kubelets at their addresses, Alertmanager by pod.
    expect(find('NetworkPolicy', 'allow-prometheus-to-kube-apiserver-6443').spec.egress[0]).toEqual({ to: [{ ipBlock: { cidr: '10.1.0.1/32' } }], ports: [{ port: 6443, protocol: 'TCP' }] });
    expect(find('NetworkPolicy', 'allow-prometheus-to-kubelet-10250').spec.egress[0].to).toEqual([{ ipBlock: { cidr: '10.1.0.0/24' } }]);
    expect(find('NetworkPolicy', 'allow-alertmanager-from-prometheus-9093').spec.ingress[0].ports).toEqual([{ port: 9093, protocol: 'TCP' }]);
  });
});

describe('Alertmanager', () => {
  test('alone, with gossip off; Prometheus sends to it by its stable name', () => {
    const { find, objects } = synth();
    const am = find('StatefulSet', 'alertmanager');
    expect(am.spec.replicas).toBe(1);
    expect(am.spec.template.spec.containers[0].args).toContain('--cluster.listen-address=');
    expect(objects.some((o) => o.kind === 'PodDisruptionBudget')).toBe(false);
    const config = parse(find('ConfigMap', 'prometheus-config').data['prometheus.yml']);
    expect(config.alerting.alertmanagers[0].static_configs[0].targets).toEqual(['alertmanager-0.alertmanager-headless.monitoring.svc.cluster.local:9093']);
    // No receiver configured: everything goes to the receiver that drops it.
    expect(parse(find('ConfigMap', 'alertmanager-config').data['alertmanager.yml']).route.receiver).toBe('null');
  });

  test('clustered: peers on TCP and UDP 9094, a budget, and every replica as an alert target', () => {
    const { find } = synth({ alertmanager: { replicas: 3 } });
    const args: string[] = find('StatefulSet', 'alertmanager').spec.template.spec.containers[0].args;
    expect(args.filter((a) => a.startsWith('--cluster.peer='))).toEqual([0, 1, 2].map((i) => `--cluster.peer=alertmanager-${i}.alertmanager-headless.monitoring.svc.cluster.local:9094`));
    expect(args).toContain('--cluster.advertise-address=$(POD_IP):9094');
    expect(find('Service', 'alertmanager-headless').spec.ports.map((p: Obj) => `${p.port}/${p.protocol}`)).toEqual(['9093/TCP', '9094/TCP', '9094/UDP']);
    expect(find('NetworkPolicy', 'allow-alertmanager-from-alertmanager-9094-udp').spec.ingress[0].ports).toEqual([{ port: 9094, protocol: 'UDP' }]);
    expect(find('PodDisruptionBudget', 'alertmanager').spec.maxUnavailable).toBe(1);
    expect(parse(find('ConfigMap', 'prometheus-config').data['prometheus.yml']).alerting.alertmanagers[0].static_configs[0].targets).toHaveLength(3);
  });

  test('receivers by reference: the URL is a mounted Secret file, the egress only to the receiver', () => {
    const { find } = synth({ alertmanager: { receivers: [webhook('chat'), webhook('pager')], routes: [{ matchers: ['severity="critical"'], receiver: 'pager' }] } });
    const text = find('ConfigMap', 'alertmanager-config').data['alertmanager.yml'];
    const config = parse(text);
    expect(config.route).toMatchObject({ receiver: 'chat', routes: [{ matchers: ['severity="critical"'], receiver: 'pager', continue: false }] });
    expect(config.receivers[1]).toEqual({ name: 'chat', webhook_configs: [{ url_file: '/etc/alertmanager/secrets/alertmanager-receivers/chat-url', send_resolved: true }] });
    const pod = find('StatefulSet', 'alertmanager').spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'secret-alertmanager-receivers', secret: { secretName: 'alertmanager-receivers', items: [{ key: 'chat-url', path: 'chat-url' }, { key: 'pager-url', path: 'pager-url' }], defaultMode: 0o440 } });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'secret-alertmanager-receivers', mountPath: '/etc/alertmanager/secrets/alertmanager-receivers', readOnly: true });
    expect(find('NetworkPolicy', 'allow-alertmanager-to-receiver-chat-443').spec.egress[0]).toEqual({ to: [{ ipBlock: { cidr: '10.9.0.1/32' } }], ports: [{ port: 443, protocol: 'TCP' }] });
  });

  test('a route to a receiver that does not exist is refused', () => {
    expect(() => synth({ alertmanager: { receivers: [webhook('chat')], routes: [{ matchers: ['team="ml"'], receiver: 'ml-team' }] } })).toThrow("alertmanager: route to unknown receiver 'ml-team'; receivers: chat, null");
    const parsed = monitoringConfigSchema.safeParse({ enabled: true, prometheus: { storage: { size: '20Gi' } }, alertmanager: { routes: [{ matchers: ['a="b"'], receiver: 'x' }] } });
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['alertmanager', 'routes', 0, 'receiver'], message: 'expected one of null' });
  });
});

describe('Grafana', () => {
  test('provisioned from files, admin credentials as files from a Secret, read-only root', () => {
    const { find } = synth();
    const pod = find('Deployment', 'grafana').spec.template.spec;
    const env = Object.fromEntries(pod.containers[0].env.map((e: Obj) => [e.name, e.value ?? e.valueFrom]));
    // Grafana's __FILE overrides: no credential in the environment.
    expect(env.GF_SECURITY_ADMIN_USER__FILE).toBe('/run/secrets/grafana-admin/admin-user');
    expect(env.GF_SECURITY_ADMIN_PASSWORD__FILE).toBe('/run/secrets/grafana-admin/admin-password');
    expect(pod.containers[0].env.some((e: Obj) => e.valueFrom?.secretKeyRef)).toBe(false);
    expect(pod.volumes).toContainEqual({ name: 'secret-grafana-admin', secret: { secretName: 'grafana-admin', items: [{ key: 'admin-user', path: 'admin-user' }, { key: 'admin-password', path: 'admin-password' }], defaultMode: 0o440 } });
    expect(pod.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
    expect(pod.securityContext).toMatchObject({ runAsUser: 472, fsGroup: 472 });
    const datasources = parse(find('ConfigMap', 'grafana-provisioning').data['datasources.yaml']).datasources;
    expect(datasources).toEqual([expect.objectContaining({ uid: PROMETHEUS_DATASOURCE_UID, type: 'prometheus', url: 'http://prometheus.monitoring.svc.cluster.local:9090', editable: false })]);
    expect(find('ConfigMap', 'grafana-config').data['grafana.ini']).toMatch(/\[plugins\]\npreinstall_disabled = true/);
    expect(find('NetworkPolicy', 'allow-grafana-to-prometheus-9090').spec.egress[0].ports).toEqual([{ port: 9090, protocol: 'TCP' }]);
  });

  test('where the gateway verifies backends, Grafana serves HTTPS itself, watches its certificate, and is scraped by its verified name', () => {
    const { find } = synth({}, [], 'platform-ca', true);
    const ini: string = find('ConfigMap', 'grafana-config').data['grafana.ini'];
    expect(ini).toContain('protocol = https\ncert_file = /etc/grafana-tls/tls.crt\ncert_key = /etc/grafana-tls/tls.key\ncerts_watch_interval = 1m\nmin_tls_version = TLS1.2');
    const deployment = find('Deployment', 'grafana');
    const [container] = deployment.spec.template.spec.containers;
    expect(container.readinessProbe.httpGet).toMatchObject({ path: '/api/health', port: 3000, scheme: 'HTTPS' });
    expect(container.volumeMounts).toContainEqual({ name: 'tls', mountPath: '/etc/grafana-tls', readOnly: true });
    expect(find('Certificate', 'grafana-tls').spec.dnsNames).toEqual(expect.arrayContaining(['grafana.monitoring.svc.cluster.local', '*.grafana-headless.monitoring.svc']));
    expect(find('Service', 'grafana-headless').spec.clusterIP).toBe('None');
    expect(deployment.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scheme': 'https', 'ml-platform.io/scrape-tls-subdomain': 'grafana-headless' });
    // With the internal CA alone (an Ingress cluster), Grafana stays on HTTP.
    expect(synth({}, [], 'platform-ca').find('ConfigMap', 'grafana-config').data['grafana.ini']).not.toContain('protocol = https');
  });

  test('every dashboard queries only the provisioned Prometheus', () => {
    const { find } = synth();
    const files = find('ConfigMap', 'grafana-dashboards').data;
    expect(Object.keys(files).sort()).toEqual(['airflow.json', 'backups.json', 'dash-apps.json', 'http-service.json', 'jupyterhub.json', 'logging.json', 'minio.json', 'mlflow.json', 'platform-overview.json', 'postgres.json', 'redis.json', 'sign-in.json', 'spark.json', 'superset.json', 'tensorboard.json']);
    for (const [file, text] of Object.entries(files)) {
      const d = JSON.parse(text as string);
      expect(d.panels.length, file).toBeGreaterThan(3);
      for (const p of d.panels) {
        expect(p.datasource.uid, `${file} ${p.title}`).toBe(PROMETHEUS_DATASOURCE_UID);
        for (const t of p.targets) expect(t.expr, `${file} ${p.title}`).toBeTruthy();
      }
    }
  });

  test('a dashboard change rolls the pod', () => {
    const revision = (dashboards: Record<string, object>) => {
      const chart = new PlatformChart(Testing.app(), 'monitoring', { context: context(), layer: Layer.PLATFORM });
      const prometheus = new ServiceEndpoint('prometheus', 'prometheus.monitoring.svc.cluster.local', 9090, 9090, new PodSelection(chart, 'monitoring', { name: 'prometheus', instance: 'monitoring', component: 'metrics-server', version: 'v3' }));
      new Grafana(chart, 'Grafana', { prometheus, dashboards });
      return (Testing.synth(chart) as Obj[]).find((o) => o.kind === 'Deployment').spec.template.metadata.annotations['ml-platform.io/config-revision'];
    };
    const before = revision(PLATFORM_DASHBOARDS);
    expect(before).toMatch(/^[0-9a-f]+$/);
    expect(revision(PLATFORM_DASHBOARDS)).toBe(before);
    expect(revision({ ...PLATFORM_DASHBOARDS, 'extra.json': { uid: 'extra', panels: [] } })).not.toBe(before);
  });
});

describe('model drift', () => {
  const churn: WatchedModel = {
    namespace: 'serving', job: 'churn-api', model: 'churn', alias: 'champion',
    baseline: { features: { tenure_months: { mean: 36, std: 20.5 } }, positiveClass: '1', positiveShare: 0.2 },
    thresholds: { meanShiftSigma: 3, varianceRatio: 2, positiveShareDelta: 0.1, missingShare: 0.05 },
  };

  test('no model, no baseline file: the generic drift rules only', () => {
    const { find } = synth();
    const data = find('ConfigMap', 'prometheus-config').data;
    expect(Object.keys(data).sort()).toEqual(['alerting-rules.yml', 'prometheus.yml']);
    const groups = parse(data['alerting-rules.yml']).groups.map((g: Obj) => g.name);
    expect(groups).toEqual(expect.arrayContaining(['model-drift', 'model-serving']));
  });

  test('a watched model: its baseline and thresholds as labelled constants, loaded by Prometheus, and a dashboard', () => {
    const { find } = synth({}, [churn]);
    const data = find('ConfigMap', 'prometheus-config').data;
    expect(parse(data['prometheus.yml']).rule_files).toEqual(['/etc/prometheus/alerting-rules.yml', '/etc/prometheus/model-baselines.yml']);
    const [group] = parse(data['model-baselines.yml']).groups;
    expect(group.name).toBe('baseline-serving-churn-api');
    const service = { namespace: 'serving', job: 'churn-api' };
    expect(group.rules).toEqual([
      { record: 'model:baseline_feature_mean', expr: 'vector(36)', labels: { ...service, feature: 'tenure_months' } },
      { record: 'model:baseline_feature_std', expr: 'vector(20.5)', labels: { ...service, feature: 'tenure_months' } },
      { record: 'model:baseline_positive_class', expr: 'vector(1)', labels: { ...service, class: '1' } },
      { record: 'model:baseline_positive_share', expr: 'vector(0.2)', labels: service },
      { record: 'model:drift_threshold_mean_shift_sigma', expr: 'vector(3)', labels: service },
      { record: 'model:drift_threshold_variance_ratio', expr: 'vector(2)', labels: service },
      { record: 'model:drift_threshold_positive_share_delta', expr: 'vector(0.1)', labels: service },
      { record: 'model:drift_threshold_missing_share', expr: 'vector(0.05)', labels: service },
    ]);
    const dashboard = JSON.parse(find('ConfigMap', 'grafana-dashboards').data['model-serving-churn-api.json']);
    const band = dashboard.panels.find((p: Obj) => p.title.startsWith('tenure_months'));
    // The band is the mean ± the alert's threshold in baseline standard deviations.
    expect(band.targets.map((t: Obj) => t.expr)).toEqual(['model:feature_mean:1h{namespace="serving", job="churn-api", feature="tenure_months"}', 'vector(36)', 'vector(97.5)', 'vector(-25.5)']);
  });

  test('a baseline the rules cannot use is refused when the service declares it', () => {
    const monitoring = ModelMonitoring.of(Testing.app());
    expect(() => monitoring.declare({ ...churn, baseline: { features: { age: { mean: 40, std: 0 } } } })).toThrow(/standard deviation of age must be above 0/);
    expect(() => monitoring.declare({ ...churn, baseline: { features: {}, positiveClass: '1' } })).toThrow(/both positiveClass and positiveShare, or neither/);
    monitoring.declare(churn);
    expect(() => monitoring.declare(churn)).toThrow(/serving\/churn-api is declared twice/);
  });
});

test('kube-state-metrics lists what it exports and never Secrets or ConfigMaps', () => {
  const { find } = synth();
  const rules = find('ClusterRole', 'kube-state-metrics').rules;
  const resources = rules.flatMap((r: Obj) => r.resources);
  expect(resources).toEqual(expect.arrayContaining(['pods', 'nodes', 'persistentvolumeclaims', 'deployments', 'statefulsets', 'jobs']));
  expect(resources).not.toContain('secrets');
  expect(resources).not.toContain('configmaps');
  for (const r of rules) expect(r.verbs).toEqual(['list', 'watch']);
  const args: string[] = find('Deployment', 'kube-state-metrics').spec.template.spec.containers[0].args;
  expect(args.find((a) => a.startsWith('--resources='))?.split('=')[1].split(',').sort()).toEqual([...resources].sort());
});

test('node-exporter runs on every node with host access, only in its privileged namespace, scraped at the nodes', () => {
  const app = Testing.app();
  const ctx = context();
  const monitoring = new MonitoringChart(app, 'monitoring', { context: ctx, prometheus: { storageSize: '50Gi' } });
  const chart = new NodeExporterChart(app, 'node-exporter', { context: ctx });
  const objects: Obj[] = Testing.synth(chart);
  expect(objects.find((o) => o.kind === 'Namespace').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
  const ds = objects.find((o) => o.kind === 'DaemonSet');
  const pod = ds.spec.template.spec;
  expect(pod).toMatchObject({ hostNetwork: true, hostPID: true, dnsPolicy: 'ClusterFirstWithHostNet', nodeSelector: { 'kubernetes.io/os': 'linux' } });
  expect(pod.volumes.map((v: Obj) => v.hostPath.path)).toEqual(['/proc', '/sys', '/']);
  expect(pod.containers[0].volumeMounts.every((m: Obj) => m.readOnly)).toBe(true);
  expect(pod.containers[0].securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  expect(ds.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9100' });
  // Pod selectors cannot match host-network pods: Prometheus may reach the nodes on 9100.
  const egress = (Testing.synth(monitoring) as Obj[]).find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'allow-prometheus-to-node-exporter-on-nodes-9100');
  expect(egress.spec.egress[0]).toEqual({ to: [{ ipBlock: { cidr: '10.1.0.0/24' } }], ports: [{ port: 9100, protocol: 'TCP' }] });
});
