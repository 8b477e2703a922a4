import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { LabelKeys, loadClusterConfig, REVISION_ANNOTATION, RenderedObject, renderInMemory, rootAllowedIn } from '@ml-platform/core';
import { clusterConfigSchema, clusterJsonSchema, platformRenderSpec } from './platform';
import { configErrorsAfter } from './testing';

const root = join(__dirname, '../../..');
const clusters = readdirSync(join(root, 'clusters'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

function render(cluster: string) {
  const spec = platformRenderSpec(cluster);
  const file = join(root, 'clusters', cluster, 'cluster.yaml');
  return renderInMemory(spec, loadClusterConfig(spec, file, `clusters/${cluster}/cluster.yaml`));
}

const rendered = Object.fromEntries(clusters.map((c) => [c, render(c)]));
const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'];
/** The oauth2-proxy in front of each UI without sign-in of its own. */
/** Members of a quorum: Raft voters, an erasure set, a gossip cluster, master-eligible nodes. */
const QUORUMS = ['vault/vault', 'minio/minio', 'monitoring/alertmanager', 'logging/elasticsearch'];
const SIGN_IN_PROXIES = ['alertmanager-oauth2-proxy', 'dash-churn-oauth2-proxy', 'home-oauth2-proxy', 'kibana-oauth2-proxy', 'minio-console-oauth2-proxy', 'mlflow-oauth2-proxy', 'predict-churn-oauth2-proxy', 'prometheus-oauth2-proxy', 'spark-history-oauth2-proxy', 'tensorboard-oauth2-proxy'];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const podSpecOf = (o: RenderedObject): any => o.manifest.spec.template.spec;
const find = (cluster: string, kind: string, name: string, namespace?: string) => {
  const found = rendered[cluster].objects.find((o) => o.kind === kind && o.name === name && (!namespace || o.namespace === namespace));
  if (!found) throw new Error(`${cluster}: no ${kind} ${namespace ?? '*'}/${name}`);
  return found.manifest;
};
const jobIn = (cluster: string, namespace: string) => {
  const job = rendered[cluster].objects.find((o) => o.kind === 'Job' && o.namespace === namespace);
  if (!job) throw new Error(`${cluster}: no Job in ${namespace}`);
  return job.manifest;
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const envOf = (container: any) => Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

test('every cluster folder is rendered', () => {
  expect(clusters.sort()).toEqual(['dev', 'prod', 'stage']);
});

describe.each(clusters)('cluster %s', (cluster) => {
  const { objects } = rendered[cluster];
  const workloads = objects.filter((o) => WORKLOAD_KINDS.includes(o.kind));
  const namespaces = objects.filter((o) => o.kind === 'Namespace').map((o) => o.name);

  test('every container follows the security rules', () => {
    expect(workloads.length).toBeGreaterThan(0);
    for (const w of workloads) {
      const pod = podSpecOf(w);
      const where = `${w.path}`;
      const root = rootAllowedIn(w.namespace ?? '');
      if (root) {
        expect(pod.securityContext, where).toEqual({ runAsUser: 0, runAsGroup: 0, seccompProfile: { type: 'RuntimeDefault' } });
      } else {
        expect(pod.securityContext, where).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        expect(pod.securityContext.runAsUser, where).toBeGreaterThan(0);
        expect(pod.securityContext.runAsGroup, where).toBeGreaterThan(0);
      }
      // A token only for workloads that talk to the API, under their own, bound ServiceAccount.
      if (pod.automountServiceAccountToken !== false) {
        expect(pod.serviceAccountName, where).toBeTruthy();
        const bound = objects.some((o) => /RoleBinding$/.test(o.kind) && o.manifest.subjects?.some((s: { kind: string; name: string; namespace?: string }) => s.kind === 'ServiceAccount' && s.name === pod.serviceAccountName && s.namespace === w.namespace));
        expect(bound, `${where}: ServiceAccount ${pod.serviceAccountName} has no binding`).toBe(true);
      }
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const at = `${where} container ${c.name}`;
        // Root only where the namespace's Pod Security exception says so (the log shipper), still without capabilities.
        expect(c.securityContext, at).toMatchObject({
          allowPrivilegeEscalation: false,
          privileged: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: !root,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(c.securityContext.capabilities.add, at).toBeUndefined();
        expect(c.imagePullPolicy, at).toBe('IfNotPresent');
        expect(c.image, at).toMatch(/:[A-Za-z0-9._-]+(@sha256:[a-f0-9]{64})?$/);
        expect(c.image, at).not.toMatch(/:latest(@|$)/);
        expect(Object.keys(c.resources.requests).sort(), at).toEqual(['cpu', 'memory']);
        expect(Object.keys(c.resources.limits).sort(), at).toEqual(['cpu', 'memory']);
        // Init containers run to completion; Kubernetes allows them no probes.
        if (w.kind !== 'Job' && pod.containers.includes(c)) {
          expect(c.livenessProbe, at).toBeDefined();
          expect(c.readinessProbe, at).toBeDefined();
        }
        // Every writable mount is a declared volume.
        const volumes = new Set((pod.volumes ?? []).map((v: { name: string }) => v.name));
        const claims = new Set((w.manifest.spec.volumeClaimTemplates ?? []).map((v: { metadata: { name: string } }) => v.metadata.name));
        for (const m of c.volumeMounts ?? []) expect(volumes.has(m.name) || claims.has(m.name), `${at} mount ${m.name}`).toBe(true);
      }
    }
  });

  test('every namespace enforces restricted Pod Security at the cluster\'s own minor and denies by default', () => {
    const { kubernetesVersion } = parse(readFileSync(join(root, 'clusters', cluster, 'cluster.yaml'), 'utf8'));
    const withVault = cluster === 'dev' ? [] : ['vault'];
    const { routing } = parse(readFileSync(join(root, 'clusters', cluster, 'cluster.yaml'), 'utf8'));
    const withGateway = routing.api === 'gateway' ? ['gateway'] : [];
    const jupyterhub = ['jupyterhub', 'jupyterhub-spark', 'jupyterhub-users', 'tensorboard'];
    const spark = ['spark', 'spark-history', 'airflow', 'airflow-tasks', 'redis', 'superset', 'dash'];
    expect(namespaces.sort()).toEqual(['gitlab-agent', 'home', 'minio', 'mlflow', 'monitoring', 'node-exporter', 'postgres', 'serving', 'logging', 'log-shipper', ...jupyterhub, ...spark, ...withVault, ...withGateway].sort());
    for (const ns of namespaces) {
      const labels = find(cluster, 'Namespace', ns).metadata.labels;
      // node-exporter and the log shipper are the named exceptions (POD_SECURITY_EXCEPTIONS): they read the host.
      const level = ['node-exporter', 'log-shipper'].includes(ns) ? 'privileged' : 'restricted';
      for (const mode of ['enforce', 'audit', 'warn']) {
        expect(labels[`pod-security.kubernetes.io/${mode}`]).toBe(level);
        expect(labels[`pod-security.kubernetes.io/${mode}-version`]).toBe(`v${kubernetesVersion}`);
      }
      expect(find(cluster, 'NetworkPolicy', 'default-deny', ns).spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      const dns = find(cluster, 'NetworkPolicy', 'allow-dns-egress', ns).spec;
      expect(dns.egress[0].to[0].namespaceSelector.matchLabels).toEqual({ 'kubernetes.io/metadata.name': 'kube-system' });
      expect(dns.egress[0].ports).toEqual([{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }]);
    }
  });

  test('names are stable: no hash suffixes, Job names carry their content revision', () => {
    for (const o of objects) {
      if (o.kind === 'Job') {
        const revision = o.manifest.spec.template.metadata.annotations[REVISION_ANNOTATION];
        expect(o.name).toBe(`${o.manifest.metadata.labels[LabelKeys.NAME]}-${revision}`);
      } else {
        expect(o.name, o.path).not.toMatch(/-c8[0-9a-f]{6,}$|-[0-9a-f]{8}$/);
      }
      expect(JSON.stringify(o.manifest)).not.toContain('cdk8s.io/metadata.addr');
    }
  });

  test('every object carries the standard labels', () => {
    for (const o of objects) {
      const labels = o.manifest.metadata.labels ?? {};
      for (const key of [LabelKeys.NAME, LabelKeys.INSTANCE, LabelKeys.COMPONENT, LabelKeys.PART_OF, LabelKeys.MANAGED_BY]) {
        expect(labels[key], `${o.path} ${key}`).toBeTruthy();
      }
      if (WORKLOAD_KINDS.includes(o.kind)) expect(labels[LabelKeys.VERSION], o.path).toBeTruthy();
    }
  });

  test('every Service selects pods that expose its target ports', () => {
    const hubConfig: string | undefined = objects.find((o) => o.kind === 'ConfigMap' && o.name === 'hub-config')?.manifest.data['jupyterhub_config.py'];
    for (const svc of objects.filter((o) => o.kind === 'Service')) {
      const selector = svc.manifest.spec.selector;
      if (selector[LabelKeys.NAME] === 'notebook' && svc.namespace?.endsWith('jupyterhub-users')) {
        // KubeSpawner creates these pods: the hub's config gives them the labels and the ports.
        for (const [k, v] of Object.entries(selector)) expect(hubConfig, `${svc.path} label ${k}`).toContain(`"${k}": "${v}"`);
        for (const p of svc.manifest.spec.ports) expect(hubConfig, `${svc.path} port ${p.name}`).toContain(`"containerPort": ${p.targetPort}`);
        continue;
      }
      const backing = workloads.filter(
        (w) => w.namespace === svc.namespace && w.kind !== 'Job' && Object.entries(selector).every(([k, v]) => w.manifest.spec.template.metadata.labels[k] === v),
      );
      expect(backing.length, svc.path).toBe(1);
      const ports = podSpecOf(backing[0]).containers.flatMap((c: { ports?: { containerPort: number }[] }) => (c.ports ?? []).map((p) => p.containerPort));
      for (const p of svc.manifest.spec.ports) expect(ports, `${svc.path} port ${p.name}`).toContain(p.targetPort);
    }
  });

  test('every replicated workload has a PodDisruptionBudget and spreads across nodes', () => {
    // An autoscaled Deployment has no count of its own: its autoscaler's minimum counts.
    const fewest = (w: RenderedObject) =>
      rendered[cluster].objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.namespace === w.namespace && o.manifest.spec.scaleTargetRef.name === w.name)?.manifest.spec.minReplicas ?? w.manifest.spec.replicas ?? 1;
    for (const w of workloads.filter((o) => fewest(o) > 1)) {
      const pdb = find(cluster, 'PodDisruptionBudget', w.name, w.namespace);
      expect(pdb.spec.selector.matchLabels).toEqual(w.manifest.spec.selector.matchLabels);
      // Quorum members never share a node where the cluster declares its topology (stage: 4
      // nodes, prod: 6 in 3 zones); everything else spreads where it can.
      const spread = (topologyKey: string, whenUnsatisfiable: string) => ({ maxSkew: 1, topologyKey, whenUnsatisfiable, labelSelector: { matchLabels: w.manifest.spec.selector.matchLabels } });
      const quorum = QUORUMS.includes(`${w.namespace}/${w.name}`) && cluster !== 'dev';
      expect(podSpecOf(w).topologySpreadConstraints, w.path).toEqual(
        !quorum
          ? [spread('kubernetes.io/hostname', 'ScheduleAnyway')]
          : [spread('kubernetes.io/hostname', 'DoNotSchedule'), ...(cluster === 'prod' ? [spread('topology.kubernetes.io/zone', 'DoNotSchedule')] : [])],
      );
    }
  });

  test('every secret reference is listed in the inventory for its namespace', () => {
    const listed = new Set(rendered[cluster].inventory.secrets.flatMap((s) => s.namespaces.flatMap((ns) => s.keys.map((k) => `${ns}/${s.name}/${k.key}`))));
    for (const w of workloads) {
      for (const c of podSpecOf(w).containers) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) expect(listed.has(`${w.namespace}/${ref.name}/${ref.key}`), `${w.path} ${e.name}`).toBe(true);
        }
      }
    }
    // Secrets are rendered only SOPS-encrypted, from clusters/<cluster>/secrets/.
    for (const s of objects.filter((o) => o.kind === 'Secret')) {
      expect(s.manifest.sops?.age?.length, s.path).toBeGreaterThan(0);
      for (const v of Object.values({ ...s.manifest.data, ...s.manifest.stringData })) expect(v, s.path).toMatch(/^ENC\[AES256_GCM,data:/);
    }
  });

  test('MLflow uses its PostgreSQL database and proxies artifacts to its MinIO bucket', () => {
    const deployment = find(cluster, 'Deployment', 'mlflow', 'mlflow');
    const container = deployment.spec.template.spec.containers[0];
    const env = envOf(container);
    expect(env).toMatchObject({
      PGHOST: 'postgres.postgres.svc.cluster.local',
      PGPORT: '5432',
      PGDATABASE: 'mlflow',
      PGUSER: 'mlflow',
      PGPASSWORD: { secretKeyRef: { name: 'postgres-role-mlflow', key: 'password' } },
      AWS_ACCESS_KEY_ID: { secretKeyRef: { name: 'minio-user-mlflow', key: 'accessKey' } },
      AWS_SECRET_ACCESS_KEY: { secretKeyRef: { name: 'minio-user-mlflow', key: 'secretKey' } },
      // MinIO serves HTTPS from the internal CA; boto3 verifies it with AWS_CA_BUNDLE.
      MLFLOW_S3_ENDPOINT_URL: 'https://minio.minio.svc.cluster.local:9000',
      AWS_CA_BUNDLE: '/etc/platform/internal-ca/ca.crt',
    });
    expect(container.command).toEqual(['mlflow']);
    expect(container.args).toEqual(expect.arrayContaining(['server', '--backend-store-uri=postgresql://', '--serve-artifacts', '--artifacts-destination=s3://mlflow/', `--port=5000`]));
    const allowed = container.args.find((a: string) => a.startsWith('--allowed-hosts=')).split('=')[1].split(',');
    expect(allowed).toEqual(expect.arrayContaining(['mlflow.mlflow.svc.cluster.local:5000', 'mlflow.mlflow:5000', `mlflow.ml.${cluster}.example.internal`]));
    expect(container.image).toMatch(/\/mlflow\/mlflow:v3\.\d+\.\d+-full$/);
    expect(container.livenessProbe.httpGet.path).toBe('/health');
    expect(container.readinessProbe.httpGet.path).toBe('/health');
    expect(find(cluster, 'Service', 'mlflow', 'mlflow').spec.ports).toEqual([{ name: 'https', port: 5000, targetPort: 5000, protocol: 'TCP' }]);
    // HTTPS from the internal CA, renewed by the reloader's SIGHUP to uvicorn's supervisor.
    expect(container.args).toContain('--uvicorn-opts=--ssl-certfile /etc/mlflow/tls/tls.crt --ssl-keyfile /etc/mlflow/tls/tls.key --timeout-worker-healthcheck 60');
    expect(deployment.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['mlflow', 'reload-on-renewal']);

    // The bootstrap Jobs create the same role and user MLflow logs in with.
    const pgJob = jobIn(cluster, 'postgres');
    expect(pgJob.spec.template.spec.containers[0].command[2]).toContain("\\set password_mlflow `cat '/run/secrets/postgres-role-mlflow/password'`");
    expect(pgJob.spec.template.spec.volumes).toContainEqual(expect.objectContaining({ secret: expect.objectContaining({ secretName: 'postgres-role-mlflow' }) }));
    expect(pgJob.spec.template.spec.containers[0].command[2]).toContain(`CREATE DATABASE %I OWNER %I', 'mlflow', 'mlflow'`);
    const minioJob = jobIn(cluster, 'minio');
    const minioEnv = envOf(minioJob.spec.template.spec.containers[0]);
    expect(minioEnv.MLFLOW_ACCESS_KEY).toEqual({ secretKeyRef: { name: 'minio-user-mlflow', key: 'accessKey' } });
    expect(minioJob.spec.template.spec.containers[0].command[2]).toContain('mc mb --ignore-existing platform/mlflow');
  });

  test('NetworkPolicies allow exactly the declared flows', () => {
    const policy = (ns: string, name: string) => find(cluster, 'NetworkPolicy', name, ns).spec;
    const selects = (ns: string, name: string) => ({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
      podSelector: { matchLabels: { [LabelKeys.NAME]: name, [LabelKeys.INSTANCE]: ns } },
    });
    expect(policy('mlflow', 'allow-mlflow-to-postgres-5432')).toEqual({
      podSelector: { matchLabels: { [LabelKeys.NAME]: 'mlflow', [LabelKeys.INSTANCE]: 'mlflow' } },
      policyTypes: ['Egress'],
      egress: [{ to: [selects('postgres', 'postgres')], ports: [{ port: 5432, protocol: 'TCP' }] }],
    });
    expect(policy('postgres', 'allow-postgres-from-mlflow.mlflow-5432')).toEqual({
      podSelector: { matchLabels: { [LabelKeys.NAME]: 'postgres', [LabelKeys.INSTANCE]: 'postgres' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [selects('mlflow', 'mlflow')], ports: [{ port: 5432, protocol: 'TCP' }] }],
    });
    expect(policy('minio', 'allow-minio-from-mlflow.mlflow-9000').ingress[0].ports).toEqual([{ port: 9000, protocol: 'TCP' }]);
    expect(policy('mlflow', 'allow-mlflow-to-minio-9000').egress[0].to).toEqual([selects('minio', 'minio')]);
    // People reach MLflow only through its sign-in proxy, which only the controller's pods reach,
    // on its TLS sidecar's port behind a Gateway; Prometheus scrapes both on their metrics ports.
    const { routing } = parse(readFileSync(join(root, 'clusters', cluster, 'cluster.yaml'), 'utf8'));
    const proxyPort = routing.api === 'gateway' ? 4443 : 4180;
    const intoMlflow = rendered[cluster].objects.filter((o) => o.kind === 'NetworkPolicy' && o.namespace === 'mlflow' && o.manifest.spec.ingress);
    expect(intoMlflow.map((o) => o.name).sort()).toEqual([
      'allow-mlflow-from-airflow-task.airflow-tasks-5000',
      'allow-mlflow-from-mlflow-oauth2-proxy-5000',
      // Notebooks log runs to the tracking server in the cluster, without the sign-in.
      'allow-mlflow-from-notebook.jupyterhub-users-5000',
      // Model services load their models from the registry; dev's Job registers the reference model.
      ...(cluster === 'dev' ? ['allow-mlflow-from-predict-churn-register.serving-5000'] : []),
      'allow-mlflow-from-predict-churn.serving-5000',
      'allow-mlflow-from-prometheus.monitoring-5000',
      `allow-mlflow-oauth2-proxy-from-gateway-${proxyPort}`,
      'allow-mlflow-oauth2-proxy-from-prometheus.monitoring-44180',
    ]);
    expect(policy('mlflow', 'allow-mlflow-from-mlflow-oauth2-proxy-5000').ingress).toEqual([{ from: [selects('mlflow', 'mlflow-oauth2-proxy')], ports: [{ port: 5000, protocol: 'TCP' }] }]);
    expect(policy('mlflow', `allow-mlflow-oauth2-proxy-from-gateway-${proxyPort}`).ingress).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': routing.controller.namespace } }, podSelector: { matchLabels: routing.controller.podLabels } }], ports: [{ port: proxyPort, protocol: 'TCP' }] },
    ]);
  });

  test('every platform workload that serves metrics is scraped, and only Prometheus may reach its metrics port', () => {
    const annotationsOf = (w: RenderedObject) => w.manifest.spec.template.metadata.annotations ?? {};
    const scraped = workloads.filter((w) => annotationsOf(w)['prometheus.io/scrape'] === 'true');
    const withVault = cluster === 'dev' ? [] : ['vault'];
    expect(scraped.map((w) => w.name).sort()).toEqual(
      ['airflow-dag-processor', 'airflow-statsd', 'alertmanager', 'dash-churn', 'elasticsearch-exporter', 'gitlab-agent', 'grafana', 'hub', 'kube-state-metrics', 'log-shipper', 'minio', 'mlflow', 'node-exporter', 'postgres', 'predict-churn', 'proxy', 'redis', 'superset-statsd', ...withVault, ...SIGN_IN_PROXIES, ...withVault.map((v) => `${v}-oauth2-proxy`)].sort(),
    );
    // Prometheus scrapes itself over localhost; the Jobs finish and have nothing to scrape;
    // TensorBoard, Spark's history server and the home page have no metrics (their sign-in
    // proxies' and kube-state-metrics' watch them); Airflow's components send theirs to its StatsD exporter
    // (its dag-processor is scraped for its git-sync sidecar's), and so do Superset's.
    // Elasticsearch is read by its exporter; Kibana by its sign-in proxy's and kube-state-metrics'.
    const unscraped = workloads.filter((w) => !scraped.includes(w) && w.kind !== 'Job').map((w) => w.name);
    expect(unscraped.sort()).toEqual(['airflow-api-server', 'airflow-execution-api', 'airflow-scheduler', 'airflow-triggerer', 'elasticsearch', 'home', 'kibana', 'prometheus', 'spark-history', 'superset-beat', 'superset-web', 'superset-worker', 'tensorboard', ...(cluster === 'dev' ? [] : ['vault-agent-injector'])]);
    for (const w of scraped) {
      const port = Number(annotationsOf(w)['prometheus.io/port']);
      const pod = podSpecOf(w);
      expect(pod.containers.flatMap((c: { ports?: { containerPort: number }[] }) => (c.ports ?? []).map((p) => p.containerPort)), w.path).toContain(port);
      if (pod.hostNetwork) {
        const egress = find(cluster, 'NetworkPolicy', `allow-prometheus-to-${w.name}-on-nodes-${port}`, 'monitoring');
        expect(egress.spec.egress[0].ports).toEqual([{ port, protocol: 'TCP' }]);
        continue;
      }
      const client = w.namespace === 'monitoring' ? 'prometheus' : 'prometheus.monitoring';
      const ingress = find(cluster, 'NetworkPolicy', `allow-${w.name}-from-${client}-${port}`, w.namespace);
      expect(ingress.spec.ingress, w.path).toEqual([
        { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { [LabelKeys.NAME]: 'prometheus', [LabelKeys.INSTANCE]: 'monitoring' } } }], ports: [{ port, protocol: 'TCP' }] },
      ]);
    }
  });

  test.skipIf(cluster === 'dev')('Vault serves TLS from the internal CA; its sign-in proxy and Prometheus verify it', () => {
    const vault = find(cluster, 'StatefulSet', 'vault', 'vault');
    expect(vault.spec.template.metadata.annotations['prometheus.io/scheme']).toBe('https');
    const proxyConfig: string = find(cluster, 'ConfigMap', 'vault-oauth2-proxy', 'vault').data['oauth2-proxy.cfg'];
    expect(proxyConfig).toContain('upstreams = [ "https://vault.vault.svc.cluster.local:8200/" ]');
    const proxy = find(cluster, 'Deployment', 'vault-oauth2-proxy', 'vault').spec.template.spec.containers[0];
    expect(proxy.env).toContainEqual({ name: 'SSL_CERT_DIR', value: '/etc/platform/internal-ca' });
    expect(proxy.volumeMounts).toContainEqual({ name: 'internal-ca', mountPath: '/etc/platform/internal-ca', readOnly: true });
  });

  test('PostgreSQL keeps its data on a volume and shuts down gracefully', () => {
    const sts = find(cluster, 'StatefulSet', 'postgres', 'postgres');
    const pod = sts.spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
    expect(pod.securityContext).toMatchObject({ runAsUser: 999, runAsGroup: 999, fsGroup: 999 });
    const container = pod.containers[0];
    expect(container.livenessProbe.exec.command[0]).toBe('pg_isready');
    // With backups (stage, prod): pgBackRest's configuration, its credentials file's folder and
    // the Secrets it is written from, the internal CA (MinIO's).
    const backups = rendered[cluster].objects.some((o) => o.kind === 'CronJob' && o.name === 'postgres-backup');
    expect(backups).toBe(cluster !== 'dev');
    const backupMounts = ['/etc/platform/internal-ca', '/etc/platform/pgbackrest', '/run/pgbackrest', '/run/secrets/minio-user-postgres', '/run/secrets/postgres-backup-cipher'];
    expect(container.volumeMounts.map((m: { mountPath: string }) => m.mountPath).sort()).toEqual(
      ['/dev/shm', '/etc/postgresql/hba', '/etc/postgresql/tls', '/run/secrets/postgres-superuser', '/tmp', '/var/lib/postgresql', '/var/run/postgresql', ...(backups ? backupMounts : [])].sort(),
    );
    expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    // The official image's entrypoint reads the superuser's password from a file.
    expect(envOf(container).POSTGRES_PASSWORD_FILE).toBe('/run/secrets/postgres-superuser/password');
    expect(container.volumeMounts).toContainEqual({ name: 'secret-postgres-superuser', mountPath: '/run/secrets/postgres-superuser', readOnly: true });
  });
});

test('dev runs MinIO standalone and the data and ML services single-replica', () => {
  const sts = find('dev', 'StatefulSet', 'minio', 'minio');
  expect(sts.spec.replicas).toBe(1);
  expect(sts.spec.template.spec.containers[0].args.slice(0, 2)).toEqual(['server', '/export']);
  expect(find('dev', 'Deployment', 'mlflow', 'mlflow').spec.replicas).toBe(1);
  // The agent alone runs two replicas here; the sign-in proxies are sized down to one (sso.proxy).
  // Running notebook servers are kept through a drain (maxUnavailable 0) whatever the cluster.
  expect(rendered.dev.objects.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.name)).toEqual(['gitlab-agent', 'notebook']);
  expect(find('dev', 'Deployment', 'mlflow-oauth2-proxy', 'mlflow').spec.replicas).toBe(1);
});

test('prod runs MinIO distributed and MLflow highly available, from the internal mirror', () => {
  const sts = find('prod', 'StatefulSet', 'minio', 'minio');
  expect(sts.spec.replicas).toBeGreaterThanOrEqual(4);
  expect(sts.spec.podManagementPolicy).toBe('Parallel');
  expect(sts.spec.serviceName).toBe('minio-headless');
  expect(sts.spec.template.spec.containers[0].args[1]).toBe('https://minio-{0...3}.minio-headless.minio.svc.cluster.local/export');
  expect(find('prod', 'Service', 'minio-headless', 'minio').spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
  expect(find('prod', 'Deployment', 'mlflow', 'mlflow').spec.replicas).toBe(2);
  expect(find('prod', 'PodDisruptionBudget', 'mlflow', 'mlflow').spec.maxUnavailable).toBe(1);
  for (const image of rendered.prod.inventory.images) expect(image).toMatch(/^registry\.prod\.example\.internal\//);
});

test('the published JSON Schema is generated from the current definition', () => {
  const committed = readFileSync(join(root, 'clusters', 'cluster.schema.json'), 'utf8');
  expect(committed, "run 'npm run schema' and commit clusters/cluster.schema.json").toBe(clusterJsonSchema());
});

test('every cluster.yaml points editors at the schema', () => {
  for (const c of clusters) {
    expect(readFileSync(join(root, 'clusters', c, 'cluster.yaml'), 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\.\/cluster\.schema\.json$/m);
  }
});

test('prod runs Vault with three Raft voters', () => {
  const sts = find('prod', 'StatefulSet', 'vault', 'vault');
  expect(sts.spec.replicas).toBe(3);
  expect(find('prod', 'PodDisruptionBudget', 'vault', 'vault').spec.maxUnavailable).toBe(1);
});

describe('a cluster switched to secrets.backend: vault', () => {
  const raw = parse(readFileSync(join(root, 'clusters/stage/cluster.yaml'), 'utf8'));
  raw.secrets.backend = 'vault';
  // JupyterHub's spawned pods cannot read from Vault yet (its own test below); TensorBoard shows what they write.
  raw.components.jupyterhub.enabled = false;
  raw.components.tensorboard.enabled = false;
  // Nor can the pods Spark and Airflow's executor create from their templates.
  raw.components.spark.enabled = false;
  raw.components.airflow.enabled = false;
  // The log shipper signs in to the Kubernetes API with a ServiceAccount of its own, which the Vault agent cannot use yet.
  raw.components.logging.enabled = false;
  // Superset and the Dash apps read the analytics database, which Airflow no longer writes here.
  raw.components.postgres.analytics = { writers: [], readers: ['superset', 'dash'] };
  raw.components.serving.models[0].consumers.notebooks = false;
  const spec = platformRenderSpec('stage');
  // Its credentials come from Vault, so no encrypted Secret files are read.
  const { objects, inventory } = renderInMemory(spec, clusterConfigSchema.parse(raw), 'clusters/stage/cluster.yaml', join(root, 'clusters/stage/no-secrets'));
  const firstSlice = objects.filter((o) => ['postgres', 'minio', 'mlflow'].includes(o.namespace ?? '') && WORKLOAD_KINDS.includes(o.kind) && !SIGN_IN_PROXIES.includes(o.name));

  test('gives the first slice its credentials through the Vault agent injector', () => {
    expect(firstSlice.map((o) => o.name.replace(/-[0-9a-f]{10}$/, '')).sort()).toEqual(['minio', 'minio-bootstrap', 'mlflow', 'postgres', 'postgres-bootstrap']);
    for (const w of firstSlice) {
      const annotations = w.manifest.spec.template.metadata.annotations;
      expect(annotations, w.path).toMatchObject({ 'vault.hashicorp.com/agent-inject': 'true', 'vault.hashicorp.com/role': w.namespace, 'vault.hashicorp.com/agent-pre-populate-only': 'true' });
      // Vault serves TLS from the internal CA: the agent verifies it with its namespace's CA.
      expect(annotations, w.path).toMatchObject({ 'vault.hashicorp.com/tls-secret': 'internal-ca-trust', 'vault.hashicorp.com/ca-cert': '/vault/tls/ca.crt' });
      expect(objects.some((o) => o.kind === 'Certificate' && o.namespace === w.namespace && o.name === 'internal-ca-trust'), w.path).toBe(true);
      const pod = podSpecOf(w);
      expect(pod.serviceAccountName).toBe('vault-auth');
      expect(JSON.stringify(pod)).not.toContain('secretKeyRef');
      for (const c of pod.containers) {
        // A program that reads its secret from a file reads the one the agent renders; one that
        // reads the environment sources the agent's file first.
        // (SSL_CERT_FILE is the internal CA, no secret.)
        const files = (c.env ?? []).filter((e: { name: string }) => e.name.endsWith('_FILE') && e.name !== 'SSL_CERT_FILE');
        // PostgreSQL's reload sidecar reads no secret: it signs in over the socket, by peer.
        if (c.name === 'reload-on-renewal') expect(JSON.stringify(c)).not.toContain('/vault/secrets');
        // pgBackRest's containers write their credentials file from the files the agent renders.
        else if (['postgres', 'backup-server'].includes(c.name) && w.name === 'postgres') expect(c.command[2], `${w.path} ${c.name}`).toMatch(/cat '\/vault\/secrets\/minio-user-postgres-accesskey'.*cat '\/vault\/secrets\/postgres-backup-cipher-passphrase'/);
        else if (files.length > 0) for (const f of files) expect(f.value, `${w.path} ${c.name} ${f.name}`).toMatch(/^\/vault\/secrets\/[a-z0-9-]+$/);
        else expect(c.command.slice(0, 3), `${w.path} ${c.name}`).toEqual(['/bin/sh', '-c', `. /vault/secrets/${c.name}-env && exec "$@"`]);
      }
    }
    const mlflow = find('stage', 'Deployment', 'mlflow', 'mlflow');
    expect(mlflow).toBeDefined();
    const template = firstSlice.find((w) => w.name === 'mlflow')?.manifest.spec.template.metadata.annotations['vault.hashicorp.com/agent-inject-template-mlflow-env'];
    expect(template).toContain('{{- with secret "secret/data/ml-platform/stage/postgres-role-mlflow" }}');
    expect(template).toContain(`export PGPASSWORD='{{ index .Data.data "password" }}'`);
    // Keys such as admin-user are no Go identifiers: `.Data.data.admin-user` would not parse.
    // Grafana reads it from the file the agent renders (GF_SECURITY_ADMIN_USER__FILE).
    const grafana = objects.find((o) => o.kind === 'Deployment' && o.name === 'grafana')?.manifest.spec.template.metadata.annotations['vault.hashicorp.com/agent-inject-template-grafana-admin-admin-user'];
    expect(grafana).toBe('{{- with secret "secret/data/ml-platform/stage/grafana-admin" }}{{ index .Data.data "admin-user" }}{{- end }}');
  });

  test('gives a sign-in proxy its cookie secret as a file from Vault, and the GitLab secret made by hand from Kubernetes', () => {
    const proxy = objects.find((o) => o.kind === 'Deployment' && o.name === 'mlflow-oauth2-proxy');
    const annotations = proxy?.manifest.spec.template.metadata.annotations;
    expect(annotations['vault.hashicorp.com/agent-inject-secret-mlflow-oauth2-proxy-cookie-secret']).toBe('secret/data/ml-platform/stage/mlflow-oauth2-proxy');
    expect(annotations['vault.hashicorp.com/agent-inject-template-mlflow-oauth2-proxy-cookie-secret']).toBe(
      '{{- with secret "secret/data/ml-platform/stage/mlflow-oauth2-proxy" }}{{ index .Data.data "cookie-secret" }}{{- end }}',
    );
    // (MLflow speaks TLS: the proxy mounts its namespace's CA, a public certificate; its TLS
    // sidecar, the certificate cert-manager renews. Neither comes from Vault.)
    expect(podSpecOf(proxy as RenderedObject).volumes.map((v: { name: string; secret?: { secretName: string } }) => v.secret?.secretName).filter(Boolean)).toEqual(['sso-gitlab', 'internal-ca-trust', 'mlflow-oauth2-proxy-tls']);
    const config = objects.find((o) => o.kind === 'ConfigMap' && o.name === 'mlflow-oauth2-proxy')?.manifest.data['oauth2-proxy.cfg'];
    expect(config).toContain('cookie_secret_file = "/vault/secrets/mlflow-oauth2-proxy-cookie-secret"');
    expect(config).toContain('client_secret_file = "/secrets/client/client-secret"');
  });

  test('renders no Kubernetes Secret and needs none for them, and lets their agents reach Vault', () => {
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
    // The receivers' webhook URLs stay a Secret made by hand, mounted as files.
    expect(inventory.secrets.map((s) => s.name)).toEqual(['alertmanager-receivers', 'gitlab-agent-token', 'ml-platform-deploy-token', 'sso-gitlab']);
    expect(inventory.vaultPaths.map((v) => v.path)).toEqual([
      'secret/data/ml-platform/stage/alertmanager-oauth2-proxy',
      'secret/data/ml-platform/stage/dash-churn-oauth2-proxy',
      'secret/data/ml-platform/stage/grafana-admin',
      'secret/data/ml-platform/stage/home-oauth2-proxy',
      'secret/data/ml-platform/stage/minio-console-oauth2-proxy',
      'secret/data/ml-platform/stage/minio-root',
      'secret/data/ml-platform/stage/minio-user-mlflow',
      'secret/data/ml-platform/stage/minio-user-postgres',
      'secret/data/ml-platform/stage/minio-user-vault',
      'secret/data/ml-platform/stage/mlflow-oauth2-proxy',
      'secret/data/ml-platform/stage/postgres-backup-cipher',
      'secret/data/ml-platform/stage/postgres-monitoring',
      'secret/data/ml-platform/stage/postgres-role-analytics-reader',
      'secret/data/ml-platform/stage/postgres-role-analytics-writer',
      'secret/data/ml-platform/stage/postgres-role-mlflow',
      'secret/data/ml-platform/stage/postgres-role-superset',
      'secret/data/ml-platform/stage/postgres-superuser',
      'secret/data/ml-platform/stage/predict-churn-oauth2-proxy',
      'secret/data/ml-platform/stage/prometheus-oauth2-proxy',
      'secret/data/ml-platform/stage/redis-auth',
      'secret/data/ml-platform/stage/superset-secrets',
      'secret/data/ml-platform/stage/vault-oauth2-proxy',
    ]);
    // Vault's snapshot job logs in as its own ServiceAccount: it reads its upload key from Vault
    // with that token, under a policy that allows that one path besides the snapshot.
    const snapshot = objects.find((o) => o.kind === 'CronJob' && o.name === 'vault-snapshot')?.manifest.spec.jobTemplate.spec.template.spec;
    expect(snapshot.serviceAccountName).toBe('vault-snapshot');
    expect(snapshot.initContainers[0].command[2]).toContain('vault kv get -mount=secret -field=accessKey ml-platform/stage/minio-user-vault > /snapshots/key/accessKey');
    const policy: string = objects.find((o) => o.kind === 'ConfigMap' && o.name === 'vault-snapshot-policy')?.manifest.data['policy.hcl'];
    expect(policy.split('\n').filter((l) => l.startsWith('path'))).toEqual(['path "sys/storage/raft/snapshot" {', 'path "secret/data/ml-platform/stage/minio-user-vault" {']);
    expect(objects.find((o) => o.kind === 'NetworkPolicy' && o.name === 'allow-mlflow-to-vault-8200')).toBeDefined();
    expect(objects.find((o) => o.kind === 'NetworkPolicy' && o.name === 'allow-vault-from-mlflow.mlflow-8200')).toBeDefined();
    // The Flux chain has no encrypted-Secrets layer to wait for.
    expect(objects.filter((o) => o.kind === 'Kustomization').map((o) => o.name)).not.toContain('ml-platform-05-secrets');
  });

  test('is refused while JupyterHub is enabled, whose spawned pods cannot read from Vault', () => {
    const withHub = { ...raw, components: { ...raw.components, jupyterhub: { ...raw.components.jupyterhub, enabled: true } } };
    expect(clusterConfigSchema.safeParse(withHub).error?.issues).toEqual([
      expect.objectContaining({ path: ['secrets', 'backend'], message: expect.stringContaining('expected sops while components.jupyterhub is enabled') }),
    ]);
  });

  test('is refused without the Vault component', () => {
    const noVault = { ...raw, components: { ...raw.components, vault: undefined } };
    const result = clusterConfigSchema.safeParse(noVault);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ path: ['secrets', 'backend'], message: 'expected sops while components.vault is not enabled (Vault delivers the secrets)' });
  });
});

test('the inventory places each component in its own layer, not its Namespace\'s or Secrets\' layer', () => {
  const layers = Object.fromEntries(rendered.prod.inventory.components.map((c) => [c.name, c.layer]));
  expect(layers).toMatchObject({ postgres: '20-data', minio: '20-data', mlflow: '30-apps', vault: '10-platform', 'gitlab-agent': '10-platform', flux: 'gitops' });
});

describe('the home page', () => {
  test.each(clusters)('%s: lists every other UI the cluster routes, with its host, version, groups and docs', (cluster) => {
    const html: string = find(cluster, 'ConfigMap', 'home-site', 'home').data['index.html'];
    const config = parse(readFileSync(join(root, 'clusters', cluster, 'cluster.yaml'), 'utf8'));
    const routes = rendered[cluster].objects.filter((o) => (o.kind === 'HTTPRoute' || o.kind === 'Ingress') && o.name !== 'https-redirect');
    const uis = routes.map((r) => r.manifest.metadata.annotations['ml-platform.io/ui']).filter((ui: string) => ui !== 'home');
    const listed = [...html.matchAll(/<th scope="row"><a href="https:\/\/([^/]+)\/">([^<]+)<\/a>/g)].map((m) => m[2]);
    expect(listed.sort()).toEqual([...uis].sort());
    // Each row: the host people use and the groups cluster.yaml gives the UI.
    for (const ui of uis) {
      const users = [...new Set([...config.access[ui].users, ...(config.access[ui].editors ?? []), ...(config.access[ui].admins ?? [])])];
      expect(html).toContain(`<a href="https://${ui}.${config.baseDomain}/">${ui}</a>`);
      expect(html).toContain(users.map((g: string) => `<code>${g}</code>`).join(', '));
    }
    // The docs on the repository's branch, as GitLab shows files.
    expect(html).toContain('<a href="https://gitlab.example.internal/platform/ml-platform/-/blob/main/docs/airflow.md">airflow docs</a>');
    expect(html).toContain('<a href="https://grafana.' + config.baseDomain + '/d/platform-overview">Platform overview (Grafana)</a>');
  });

  test('shows the version of the program people use, not of a proxy in front of it', () => {
    const html: string = find('prod', 'ConfigMap', 'home-site', 'home').data['index.html'];
    const hubVersion = find('prod', 'Deployment', 'hub', 'jupyterhub').metadata.labels['app.kubernetes.io/version'];
    expect(html).toMatch(new RegExp(`>jupyterhub</a></th>\\s*<td>[^<]*</td>\\s*<td><code>${hubVersion}</code>`));
  });
});

describe('JupyterHub in cluster.yaml', () => {
  const errorsAfter = configErrorsAfter('jupyterhub');

  test('a profile without resources is refused, naming file and key', () => {
    expect(errorsAfter('stage', (raw) => delete raw.components.jupyterhub.profiles[1].resources)).toBe(
      'clusters/stage/cluster.yaml: invalid cluster configuration\n  - components.jupyterhub.profiles.1.resources: expected object, found nothing (the key is missing)',
    );
  });

  test('a GPU profile on a cluster without GPU nodes is refused', () => {
    expect(errorsAfter('stage', (raw) => (raw.components.jupyterhub.profiles[1].gpus = 1))).toContain(
      "components.jupyterhub.profiles.1.gpus: expected no GPUs: the cluster declares no gpuNodes (add gpuNodes with the GPU nodes' labels, or drop this profile)",
    );
    // prod declares its GPU nodes, so its GPU profile renders.
    expect(find('prod', 'ConfigMap', 'hub-config', 'jupyterhub').data['jupyterhub_config.py']).toContain('"nvidia.com/gpu": "1"');
  });

  test('an empty admin group is refused, as is a hub without admins', () => {
    expect(errorsAfter('dev', (raw) => (raw.access.jupyterhub.admins = ['']))).toContain('access.jupyterhub.admins.0: expected a GitLab group path such as ml/data-scientists, found the string ""');
    expect(errorsAfter('dev', (raw) => (raw.access.jupyterhub.admins = []))).toContain('access.jupyterhub.admins: expected at least one GitLab group: JupyterHub needs admins who can stop servers and manage users, found a list of 0');
  });

  test('a hub without the services it wires notebooks to is refused', () => {
    expect(errorsAfter('dev', (raw) => (raw.components.mlflow.enabled = false))).toContain(
      'components.jupyterhub.enabled: expected false while components.mlflow.enabled is false (JupyterHub points every notebook at MLflow), found boolean true',
    );
  });

  test('TensorBoard without the notebooks that write its logs is refused', () => {
    expect(errorsAfter('dev', (raw) => (raw.components.jupyterhub.enabled = false))).toContain(
      'components.tensorboard.enabled: expected false while components.jupyterhub is not enabled (TensorBoard shows the training logs notebooks write to S3), found boolean true',
    );
  });

  test('two profiles with one slug, or two defaults, are refused', () => {
    const message = errorsAfter('stage', (raw) => {
      raw.components.jupyterhub.profiles[1].slug = 'small';
      raw.components.jupyterhub.profiles[1].default = true;
    });
    expect(message).toContain("components.jupyterhub.profiles.1.slug: expected a slug of its own: 'small' is used twice");
    expect(message).toContain('components.jupyterhub.profiles: expected at most one profile with default: true');
  });

  test('every cluster renders the hub, the notebook namespace and the executors namespace, with the notebook image from its registry', () => {
    for (const cluster of clusters) {
      expect(rendered[cluster].inventory.components.map((c) => c.name)).toEqual(expect.arrayContaining(['jupyterhub', 'jupyterhub-spark', 'jupyterhub-users']));
    }
    // prod pulls the image this repository builds from its own mirror of the project's registry.
    expect(find('prod', 'ConfigMap', 'hub-config', 'jupyterhub').data['jupyterhub_config.py']).toContain('c.KubeSpawner.image = "registry.prod.example.internal/ml-platform/platform/ml-platform/notebook:1.0.1"');
    expect(find('dev', 'ConfigMap', 'hub-config', 'jupyterhub').data['jupyterhub_config.py']).toContain('c.KubeSpawner.image = "registry.gitlab.example.internal/platform/ml-platform/notebook:1.0.1"');
    // The inventory names the image of the pods the hub creates, though no rendered pod runs it.
    // With the internal CA, every server pod also runs the TLS sidecar's image.
    expect(find('dev', 'Deployment', 'hub', 'jupyterhub').metadata.annotations).toEqual({
      'ml-platform.io/spawned-images': 'registry.gitlab.example.internal/platform/ml-platform/notebook:1.0.1,docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine-slim',
    });
    expect(rendered.dev.inventory.components.find((c) => c.name === 'jupyterhub')?.images).toContain('registry.gitlab.example.internal/platform/ml-platform/notebook:1.0.1');
    expect(find('prod', 'Deployment', 'hub', 'jupyterhub').spec.template.spec.containers[0].image).toBe('registry.prod.example.internal/quay/jupyterhub/k8s-hub:4.4.0');
  });
});
