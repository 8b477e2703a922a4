import { Testing } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { SecretKeyRef, SecretRequirements } from '@ml-platform/core';
import { EXECUTOR_TEMPLATE_FILE, SPARK_DEFAULTS_FILE } from './spark';
import { contextOf, gpuNodes, handles, hubOf, small } from './testing';

const gpu = { slug: 'gpu', displayName: 'GPU', gpus: 2, resources: { requests: { cpu: '4', memory: '32Gi' }, limits: { cpu: '8', memory: '64Gi' } } };

describe('JupyterHubChart', () => {
  test('runs one hub and one proxy, recreated rather than doubled, the hub with its own token and its config', () => {
    const { find } = hubOf();
    const hub = find('Deployment', 'hub');
    expect(hub.spec.strategy).toEqual({ type: 'Recreate' });
    expect(find('Deployment', 'proxy').spec.strategy).toEqual({ type: 'Recreate' });
    const pod = hub.spec.template.spec;
    expect(pod).toMatchObject({ serviceAccountName: 'hub', automountServiceAccountToken: true });
    expect(pod.containers[0].args).toEqual(['--config=/usr/local/etc/jupyterhub/jupyterhub_config.py']);
    expect(pod.containers[0].env.map((e: { name: string }) => e.name)).toEqual(['PYTHONUNBUFFERED', 'PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGPASSWORD', 'CONFIGPROXY_AUTH_TOKEN', 'OAUTH_CLIENT_SECRET']);
    expect(hub.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/path': '/hub/metrics', 'prometheus.io/port': '8081' });
    expect(find('Deployment', 'proxy').spec.template.spec.containers[0].args).toContain('--default-target=http://hub.jupyterhub.svc.cluster.local:8081');
  });

  test('keeps its state in PostgreSQL and asks for a hex cookie secret', () => {
    const { config, app } = hubOf();
    expect(config).toContain('c.JupyterHub.db_url = "postgresql+psycopg2://jupyterhub@postgres.postgres.svc.cluster.local:5432/jupyterhub"');
    const cookie = SecretRequirements.of(app).list().find((s) => s.name === 'jupyterhub-cookie-secret');
    expect(cookie?.keys).toEqual([{ key: 'cookie-secret', description: expect.any(String), format: { encoding: 'hex', bytes: 32 } }]);
    // Read from the mounted file, not the environment (checks/jupyterhub runs JupyterHub on it).
    expect(config).toContain('c.JupyterHub.cookie_secret_file = "/run/secrets/jupyterhub-cookie/cookie-secret"');
  });

  test('signs people in with GitLab, letting in its users and admins and making admins of its admins', () => {
    const { config } = hubOf();
    expect(config).toContain('c.GenericOAuthenticator.allowed_groups = [\n    "ml/ds",\n    "ml/platform",\n]');
    expect(config).toContain('c.GenericOAuthenticator.admin_groups = [\n    "ml/platform",\n]');
    expect(config).toContain('c.GenericOAuthenticator.client_secret = os.environ["OAUTH_CLIENT_SECRET"]');
    expect(config).toContain('c.GenericOAuthenticator.oauth_callback_url = "https://jupyterhub.ml.t.internal/hub/oauth_callback"');
  });

  test('grants the hub exactly what KubeSpawner needs in the users namespace, and the drivers what Spark needs among the executors', () => {
    const { find } = hubOf();
    expect(find('Role', 'hub-spawner').metadata.namespace).toBe('jupyterhub-users');
    expect(find('Role', 'hub-spawner').rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
      { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'create'] },
      { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'watch'] },
    ]);
    expect(find('RoleBinding', 'hub-spawner').subjects).toEqual([{ kind: 'ServiceAccount', name: 'hub', namespace: 'jupyterhub' }]);
    expect(find('Role', 'spark-driver').metadata.namespace).toBe('jupyterhub-spark');
    expect(find('RoleBinding', 'spark-driver').subjects).toEqual([{ kind: 'ServiceAccount', name: 'notebook', namespace: 'jupyterhub-users' }]);
  });

  test('in a review environment, lets the drivers of its own notebook servers start executors, not those of the base cluster', () => {
    const { find } = hubOf({}, contextOf({ review: { slug: 'mr-7' } }));
    expect(find('Role', 'spark-driver').metadata.namespace).toBe('mr-7-jupyterhub-spark');
    expect(find('RoleBinding', 'spark-driver').subjects).toEqual([{ kind: 'ServiceAccount', name: 'notebook', namespace: 'mr-7-jupyterhub-users' }]);
  });

  test('wires every notebook server to MLflow, the datasets bucket and Spark, with secrets by reference only', () => {
    const { config, find, app } = hubOf();
    expect(config).toContain('"MLFLOW_TRACKING_URI": "http://mlflow.mlflow.svc.cluster.local:5000"');
    expect(config).toContain('"DATASETS_BUCKET": "s3://datasets"');
    // The GitLab username as it is (KubeSpawner's {username} is escaped for Kubernetes names).
    expect(config).toContain('"TENSORBOARD_LOGDIR": "s3://tensorboard/{unescaped_username}"');
    expect(config).toMatch(/"AWS_SECRET_ACCESS_KEY": \{\s+"valueFrom": \{\s+"secretKeyRef": \{\s+"name": "minio-user-jupyterhub",\s+"key": "secretKey"/);
    const namespacesOf = (name: string) => SecretRequirements.of(app).list().find((s) => s.name === name)?.namespaces;
    expect(namespacesOf('minio-user-jupyterhub')).toEqual(['jupyterhub-spark', 'jupyterhub-users']);
    const spark: string = find('ConfigMap', 'spark-conf').data[SPARK_DEFAULTS_FILE];
    expect(spark).toContain('spark.kubernetes.namespace jupyterhub-spark');
    expect(spark).toContain('spark.driver.host ${env:SPARK_DRIVER_HOST}');
    expect(spark).toContain('spark.hadoop.fs.s3a.endpoint http://minio.minio.svc.cluster.local:9000');
    // Spark copies this folder into a ConfigMap for the executors: credentials stay in the environment.
    expect(spark).not.toMatch(/fs\.s3a\.(access|secret)\.key/);
  });

  test('starts Spark executors restricted, read-only and capped by a quota', () => {
    const { find } = hubOf();
    const template = parse(find('ConfigMap', 'spark-conf').data[EXECUTOR_TEMPLATE_FILE]);
    expect(template.spec).toMatchObject({ automountServiceAccountToken: false, restartPolicy: 'Never', securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } });
    expect(template.spec.containers[0]).toMatchObject({ name: 'spark-executor', command: ['/opt/spark-executor-entrypoint.sh'], securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } });
    // 2 GiB of heap plus PySpark's 40% overhead.
    expect(template.spec.containers[0].resources.limits).toEqual({ cpu: '1', memory: '2868Mi' });
    expect(find('ResourceQuota', 'spark-executors').spec.hard).toEqual({ pods: 8, 'requests.cpu': '8', 'limits.cpu': '8', 'requests.memory': '32Gi', 'limits.memory': '32Gi' });
  });

  test('lets exactly the declared flows through', () => {
    const { objects } = hubOf();
    const names = (ns: string) => objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === ns && !['default-deny', 'allow-dns-egress'].includes(o.metadata.name)).map((o) => o.metadata.name).sort();
    expect(names('jupyterhub')).toEqual([
      'allow-hub-from-notebook.jupyterhub-users-8081',
      'allow-hub-from-proxy-8081',
      'allow-hub-to-gitlab-443',
      'allow-hub-to-kube-apiserver-6443',
      'allow-hub-to-notebook-8888',
      'allow-hub-to-postgres-5432',
      'allow-hub-to-proxy-8001',
      'allow-proxy-from-hub-8001',
      'allow-proxy-to-hub-8081',
      'allow-proxy-to-notebook-8888',
    ]);
    expect(names('jupyterhub-users')).toEqual([
      'allow-notebook-from-hub.jupyterhub-8888',
      'allow-notebook-from-proxy.jupyterhub-8888',
      'allow-notebook-from-spark-executor.jupyterhub-spark-7078',
      'allow-notebook-from-spark-executor.jupyterhub-spark-7079',
      'allow-notebook-to-hub-8081',
      'allow-notebook-to-kube-apiserver-6443',
      'allow-notebook-to-minio-9000',
      'allow-notebook-to-mlflow-5000',
      'allow-notebook-to-spark-executor-7079',
    ]);
    expect(names('jupyterhub-spark')).toEqual([
      'allow-spark-executor-from-notebook.jupyterhub-users-7079',
      'allow-spark-executor-from-spark-executor-7079',
      'allow-spark-executor-to-minio-9000',
      'allow-spark-executor-to-notebook-7078',
      'allow-spark-executor-to-notebook-7079',
      'allow-spark-executor-to-spark-executor-7079',
    ]);
  });

  test('gives a GPU profile the GPUs, node selector and tolerations of the cluster\'s GPU nodes', () => {
    const { config } = hubOf({ profiles: [small, gpu] }, contextOf({ gpuNodes }));
    expect(config).toMatch(/"extra_resource_limits": \{\s+"nvidia.com\/gpu": "2",/);
    expect(config).toMatch(/"node_selector": \{\s+"nvidia.com\/gpu.present": "true",/);
    expect(config).toMatch(/"tolerations": \[\s+\{\s+"key": "nvidia.com\/gpu",\s+"operator": "Exists",\s+"effect": "NoSchedule",/);
    expect(() => hubOf({ profiles: [small, gpu] })).toThrowError("jupyterhub profile 'gpu' asks for GPUs, and the cluster declares no gpuNodes");
  });

  test('with the internal CA, the hub and the proxy API listen on loopback behind TLS sidecars that every client verifies', () => {
    const { find, config } = hubOf({}, contextOf({ internalCa: 'internal-ca' }));
    const hub = find('Deployment', 'hub').spec.template.spec;
    const proxy = find('Deployment', 'proxy').spec.template.spec;
    // The programs bind loopback only: nothing reaches them but through their sidecar.
    expect(config).toContain('c.JupyterHub.hub_bind_url = "http://127.0.0.1:8081"');
    expect(hub.containers[0].ports).toBeUndefined();
    expect(proxy.containers[0].args).toContain('--api-ip=127.0.0.1');
    expect(proxy.containers[0].ports.map((p: { name: string }) => p.name)).toEqual(['http', 'metrics']);
    // The Services lead to the sidecars' TLS port, whose certificates name them.
    expect(find('Service', 'hub').spec.ports).toEqual([{ name: 'https', port: 8081, targetPort: 8443, protocol: 'TCP' }]);
    expect(find('Service', 'proxy-api').spec.ports).toEqual([{ name: 'api', port: 8001, targetPort: 8443, protocol: 'TCP' }]);
    expect(find('Certificate', 'hub-tls').spec.dnsNames).toEqual(expect.arrayContaining(['hub.jupyterhub.svc.cluster.local', '*.hub-headless.jupyterhub.svc']));
    expect(find('Certificate', 'proxy-api-tls').spec.dnsNames).toContain('proxy-api.jupyterhub.svc.cluster.local');
    for (const [pod, secret] of [[hub, 'hub-tls'], [proxy, 'proxy-api-tls']]) {
      expect(pod.containers.map((c: { name: string }) => c.name)).toContain('tls');
      expect(pod.volumes).toContainEqual({ name: 'tls-sidecar-certificate', secret: { secretName: secret, defaultMode: 0o440 } });
      expect(new Set(pod.volumes.map((v: { name: string }) => v.name)).size).toBe(pod.volumes.length);
    }
    // Clients: the proxy verifies the hub, notebook servers verify the hub API, the hub reaches
    // the proxy API through its own sidecar, which verifies the proxy by its Service name.
    expect(proxy.containers[0].args).toEqual(expect.arrayContaining(['--default-target=https://hub.jupyterhub.svc.cluster.local:8081', '--client-ssl-ca=/etc/platform/internal-ca/ca.crt']));
    expect(config).toContain('c.JupyterHub.hub_connect_url = "https://hub.jupyterhub.svc.cluster.local:8081"');
    expect(config).toContain('"JUPYTERHUB_SSL_CLIENT_CA": "/etc/platform/internal-ca/ca.crt"');
    expect(config).toContain('c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:8001"');
    const sidecar: string = find('ConfigMap', 'hub-tls-sidecar').data['nginx.conf'];
    expect(sidecar).toContain('proxy_pass proxy-api.jupyterhub.svc.cluster.local:8001;\n    proxy_ssl on;');
    expect(sidecar).toContain('proxy_ssl_verify on;');
    expect(sidecar).toContain('proxy_ssl_name proxy-api.jupyterhub.svc.cluster.local;');
    // Probes and Prometheus take the path clients take.
    expect(hub.containers[0].readinessProbe.httpGet).toMatchObject({ port: 8443, scheme: 'HTTPS', path: '/hub/health' });
    expect(find('Deployment', 'hub').spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scheme': 'https', 'prometheus.io/port': '8443', 'ml-platform.io/scrape-tls-subdomain': 'hub-headless' });
  });

  test('with the internal CA, notebook servers listen on loopback behind a sidecar that alone holds the key, reached by a name of their pod', () => {
    const { find, objects, config } = hubOf({}, contextOf({ internalCa: 'internal-ca' }));
    expect(config).toContain('c.KubeSpawner.ip = "127.0.0.1"');
    expect(config).toContain('c.KubeSpawner.modify_pod_hook = notebook_pod_hostname');
    expect(config).toContain('c.KubeSpawner.get_pod_url = notebook_server_url');
    expect(config).toContain('    pod.spec.hostname = pod.metadata.name\n    pod.spec.subdomain = "notebooks"');
    expect(config).toContain('return f"https://{pod[\'metadata\'][\'name\']}.notebooks.jupyterhub-users.svc.cluster.local:8443"');
    // The wildcard covers every pod's name under the headless Service, which publishes starting pods.
    expect(find('Certificate', 'notebook-tls').spec.dnsNames).toEqual(['*.notebooks.jupyterhub-users.svc', '*.notebooks.jupyterhub-users.svc.cluster.local']);
    expect(find('Service', 'notebooks').spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, ports: [{ name: 'https', port: 8443 }] });
    // The key is mounted by the sidecar, which forwards to the loopback server, and by no other container.
    const volumes = /c\.KubeSpawner\.volumes = (\[[\s\S]*?\n\])/.exec(config)?.[1] ?? '';
    expect(volumes).toContain('"secretName": "notebook-tls"');
    const mounts = /c\.KubeSpawner\.volume_mounts = (\[[\s\S]*?\n\])/.exec(config)?.[1] ?? '';
    expect(mounts).not.toContain('tls-sidecar-certificate');
    const sidecars = /c\.KubeSpawner\.extra_containers = (\[[\s\S]*?\n\])/.exec(config)?.[1] ?? '';
    expect(sidecars).toContain('"mountPath": "/etc/platform/tls-sidecar-certificate"');
    expect(find('ConfigMap', 'notebook-tls-sidecar').data['nginx.conf']).toContain('listen 8443 ssl;');
    expect(find('ConfigMap', 'notebook-tls-sidecar').data['nginx.conf']).toContain('proxy_pass 127.0.0.1:8888;');
    // Only the sidecar's port is open to the proxy and the hub.
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name);
    expect(policies).toEqual(expect.arrayContaining(['allow-proxy-to-notebook-8443', 'allow-hub-to-notebook-8443', 'allow-notebook-from-proxy.jupyterhub-8443']));
    expect(policies.filter((n) => n.endsWith('-8888'))).toEqual([]);
    // The hub checks a new server with its default HTTP client: its system trust store gains the internal CA.
    const hub = find('Deployment', 'hub').spec.template.spec;
    expect(hub.initContainers[0].command[2]).toBe('cat /etc/ssl/certs/ca-certificates.crt /etc/platform/internal-ca/ca.crt > /run/system-trust/ca-certificates.crt');
    expect(hub.containers[0].volumeMounts).toContainEqual({ name: 'system-trust', mountPath: '/etc/ssl/certs', readOnly: true });
    expect(find('Deployment', 'hub').metadata.annotations['ml-platform.io/spawned-images']).toContain('nginx-unprivileged');
  });

  test('without the internal CA, KubeSpawner reaches servers by pod address as it would by itself', () => {
    const { find, config } = hubOf();
    expect(config).not.toContain('get_pod_url');
    expect(config).not.toContain('def ');
    expect(find('Certificate', 'notebook-tls')).toBeUndefined();
    expect(find('Service', 'notebooks')).toBeUndefined();
    expect(find('Deployment', 'hub').spec.template.spec.initContainers).toBeUndefined();
  });

  test('where the gateway verifies backends, the proxy public port is on loopback too, behind the same sidecar', () => {
    const { find } = hubOf({}, contextOf({ internalCa: 'internal-ca', uiTls: true }));
    const proxy = find('Deployment', 'proxy').spec.template.spec;
    expect(proxy.containers[0].args).toEqual(expect.arrayContaining(['--ip=127.0.0.1', '--api-ip=127.0.0.1']));
    expect(proxy.containers[0].ports.map((p: { name: string }) => p.name)).toEqual(['metrics']);
    expect(proxy.containers[0].readinessProbe.httpGet).toMatchObject({ path: '/_chp_healthz', port: 8444, scheme: 'HTTPS' });
    expect(find('Service', 'proxy-public').spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 8444, protocol: 'TCP' }]);
    expect(find('Certificate', 'proxy-api-tls').spec.dnsNames).toEqual(expect.arrayContaining(['proxy-api.jupyterhub.svc.cluster.local', 'proxy-public.jupyterhub.svc.cluster.local']));
    const sidecar: string = find('ConfigMap', 'proxy-tls-sidecar').data['nginx.conf'];
    expect(sidecar).toContain('listen 8444 ssl;');
    expect(sidecar).toContain('proxy_pass 127.0.0.1:8000;');
  });

  test('refuses what it cannot deliver', () => {
    const vault = contextOf();
    vault.deliverSecretsWithVault({ kvMount: 'secret', pathPrefix: 'p', allowAgents: () => undefined });
    expect(() => hubOf({}, vault)).toThrowError(/cannot receive secrets from Vault yet; use secrets.backend sops/);
    const app = Testing.app();
    const other = { ...handles(app).trainingLogs, accessKeyId: SecretKeyRef.of('minio-user-tensorboard', 'accessKey', 'other key') };
    expect(() => hubOf({ trainingLogs: other })).toThrowError(/a notebook has one S3 key/);
  });
});
