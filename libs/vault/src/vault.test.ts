import { Testing } from 'cdk8s';
import { expect, test } from 'vitest';
import { BackupObjectives, backupSchedule, containerImage, ImageCatalog, Layer, PlatformChart, PlatformContext, PodSelection, S3Bucket, SecretKeyRef, ServiceEndpoint } from '@ml-platform/core';
import { snapshotPolicy } from './snapshots';
import { VaultChart } from './vault';

const contextProps = {
  cluster: 'edge', kubernetesVersion: '1.28', baseDomain: 'ml.edge.internal', defaultStorageClass: 'standard', images: new ImageCatalog(),
  apiServer: { cidrs: ['10.1.0.1/32'], port: 6443 },
} as const;
const context = new PlatformContext(contextProps);

test('three Raft voters that join each other, updated by hand, with a disruption budget', () => {
  const objects = Testing.synth(new VaultChart(Testing.app(), 'vault', { context, replicas: 3, storageSize: '10Gi' }));
  const sts = objects.find((o) => o.kind === 'StatefulSet');
  expect(sts.spec).toMatchObject({ replicas: 3, serviceName: 'vault-internal', podManagementPolicy: 'Parallel', updateStrategy: { type: 'OnDelete' } });
  const config: string = objects.find((o) => o.kind === 'ConfigMap').data['vault.hcl'];
  expect(config.match(/leader_api_addr = "http:\/\/vault-\d\.vault-internal\.vault\.svc\.cluster\.local:8200"/g)).toHaveLength(3);
  expect(config).toContain('storage "raft"');
  expect(config).toContain('tls_disable = 1');
  const container = sts.spec.template.spec.containers[0];
  expect(container.readinessProbe.exec.command).toEqual(['vault', 'status']);
  expect(container.livenessProbe.httpGet.path).toBe('/v1/sys/health?standbyok=true&sealedcode=204&uninitcode=204');
  expect(sts.spec.template.spec.securityContext).toMatchObject({ runAsUser: 100, runAsGroup: 1000 });
  expect(objects.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.metadata.name)).toEqual(['vault', 'vault-agent-injector']);
  expect(objects.find((o) => o.kind === 'Service' && o.metadata.name === 'vault-internal').spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
});

test('with a TLS secret the listener and the peers use it', () => {
  const objects = Testing.synth(new VaultChart(Testing.app(), 'vault', { context, replicas: 3, storageSize: '10Gi', tlsSecret: 'vault-tls' }));
  const config: string = objects.find((o) => o.kind === 'ConfigMap').data['vault.hcl'];
  expect(config).toContain('tls_cert_file = "/vault/tls/tls.crt"');
  expect(config).toContain('leader_api_addr = "https://vault-0.vault-internal.vault.svc.cluster.local:8200"');
  expect(config).toContain('leader_ca_cert_file = "/vault/tls/ca.crt"');
  const pod = objects.find((o) => o.kind === 'StatefulSet').spec.template.spec;
  expect(pod.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'vault-tls', defaultMode: 0o440 } });
  const injector = objects.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0];
  expect(injector.env).toContainEqual({ name: 'AGENT_INJECT_VAULT_ADDR', value: 'https://vault.vault.svc.cluster.local:8200' });
});

test('the injector is a webhook the API server may call, managing its own certificate, with narrow RBAC', () => {
  const objects = Testing.synth(new VaultChart(Testing.app(), 'vault', { context, storageSize: '1Gi' }));
  const webhook = objects.find((o) => o.kind === 'MutatingWebhookConfiguration');
  expect(webhook.webhooks[0]).toMatchObject({ name: 'vault.hashicorp.com', failurePolicy: 'Ignore', sideEffects: 'None', clientConfig: { service: { name: 'vault-agent-injector-svc', namespace: 'vault', path: '/mutate', port: 443 } } });
  const fromApi = objects.find((o) => o.metadata.name === 'allow-vault-agent-injector-from-kubernetes-api-8080');
  expect(fromApi.spec.ingress).toEqual([{ from: [{ ipBlock: { cidr: '10.1.0.1/32' } }], ports: [{ port: 8080, protocol: 'TCP' }] }]);
  for (const role of objects.filter((o) => /Role$/.test(o.kind))) {
    for (const rule of role.rules) expect([...rule.verbs, ...rule.resources]).not.toContain('*');
  }
  expect(objects.find((o) => o.kind === 'ClusterRoleBinding' && o.roleRef.name === 'system:auth-delegator')).toBeDefined();
  // It may change only its own webhook configuration.
  const webhooks = objects.find((o) => o.kind === 'ClusterRole').rules.filter((r: { resources: string[] }) => r.resources.includes('mutatingwebhookconfigurations'));
  expect(webhooks).toEqual([
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: ['vault-agent-injector-cfg'], verbs: ['get', 'patch'] },
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], verbs: ['list', 'watch'] },
  ]);
  // One voter in dev: no budget, no leader election between injectors.
  expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
});

test('refuses to run without the API server endpoints', () => {
  const bare = new PlatformContext({ cluster: 'edge', kubernetesVersion: '1.28', baseDomain: 'ml.edge.internal', defaultStorageClass: 'standard', images: new ImageCatalog() });
  expect(() => new VaultChart(Testing.app(), 'vault', { context: bare, storageSize: '1Gi' })).toThrowError('vault talks to the Kubernetes API: set network.apiServer in cluster.yaml');
});

test('with the internal CA: its certificate, a reload on renewal, metrics and the UI over verified TLS', () => {
  const withCa = new PlatformContext({
    cluster: 'edge', kubernetesVersion: '1.28', baseDomain: 'ml.edge.internal', defaultStorageClass: 'standard', images: new ImageCatalog(),
    apiServer: { cidrs: ['10.1.0.1/32'], port: 6443 }, internalCa: 'platform-ca',
  });
  const chart = new VaultChart(Testing.app(), 'vault', { context: withCa, replicas: 3, storageSize: '10Gi' });
  expect(chart.scheme).toBe('https');
  expect(chart.webUi).toMatchObject({ name: 'vault', tls: true });
  const objects = Testing.synth(chart);
  const certificate = objects.find((o) => o.kind === 'Certificate' && o.metadata.name === 'vault-tls');
  // Clients name the Service, peers and Prometheus a pod under the headless Service, the probes 127.0.0.1.
  expect(certificate.spec.dnsNames).toEqual(expect.arrayContaining(['vault.vault.svc.cluster.local', '*.vault-internal.vault.svc', '*.vault-internal.vault.svc.cluster.local']));
  expect(certificate.spec.ipAddresses).toEqual(['127.0.0.1']);
  const sts = objects.find((o) => o.kind === 'StatefulSet');
  const pod = sts.spec.template.spec;
  expect(pod.shareProcessNamespace).toBe(true);
  const [vault, reload] = pod.containers;
  expect(vault.env).toContainEqual({ name: 'VAULT_API_ADDR', value: 'https://$(HOSTNAME).vault-internal.vault.svc:8200' });
  expect(reload.name).toBe('reload-on-renewal');
  expect(reload.command[2]).toContain('pkill -HUP -x vault');
  expect(reload.securityContext.runAsUser ?? pod.securityContext.runAsUser).toBe(100);
  expect(sts.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scheme': 'https', 'ml-platform.io/scrape-tls-subdomain': 'vault-internal', 'prometheus.io/port': '8200' });
  expect(objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'vault-agent-injector').spec.template.spec.containers[0].env).toContainEqual({ name: 'AGENT_INJECT_VAULT_ADDR', value: 'https://vault.vault.svc.cluster.local:8200' });
});

test('snapshots: a CronJob logs in through Kubernetes auth with a snapshot-only policy, saves, revokes its token and uploads', () => {
  const app = Testing.app();
  const tlsContext = new PlatformContext({ ...contextProps, internalCa: 'internal-ca' });
  const vault = new VaultChart(app, 'vault', { context: tlsContext, replicas: 3, storageSize: '10Gi' });
  const minio = new PlatformChart(app, 'minio', { context: tlsContext, layer: Layer.DATA });
  const bucket: S3Bucket = {
    endpoint: new ServiceEndpoint('minio', 'minio.minio.svc.cluster.local', 9000, 9000, new PodSelection(minio, 'minio', { name: 'minio', instance: 'minio', component: 'server', version: '1' })),
    bucket: 'vault-snapshots',
    region: 'us-east-1',
    pathStyle: true,
    accessKeyId: SecretKeyRef.of('minio-user-vault', 'accessKey', 'key'),
    secretAccessKey: SecretKeyRef.of('minio-user-vault', 'secretKey', 'secret'),
    tls: true,
  };
  const mc = containerImage('mc', { registry: 'quay.io', repository: 'minio/mc', tag: 'RELEASE.2025-08-13T08-35-41Z', note: 'test' });
  vault.addSnapshots({ bucket, schedule: backupSchedule('1d'), uploader: tlsContext.images.image(mc) });
  const objects = Testing.synth(vault);
  const cron = objects.find((o) => o.kind === 'CronJob');
  const pod = cron.spec.jobTemplate.spec.template.spec;
  expect(cron.spec).toMatchObject({ schedule: '15 2 * * *', concurrencyPolicy: 'Forbid' });
  expect(pod).toMatchObject({ serviceAccountName: 'vault-snapshot', automountServiceAccountToken: true });
  const save: string = pod.initContainers[0].command[2];
  expect(save).toContain('vault write -field=token auth/kubernetes/login role=vault-snapshot jwt=@/var/run/secrets/kubernetes.io/serviceaccount/token');
  expect(save).toMatch(/vault operator raft snapshot save \/snapshots\/vault\.snap\nvault token revoke -self/);
  expect(pod.initContainers[0].env).toContainEqual({ name: 'VAULT_ADDR', value: 'https://vault.vault.svc.cluster.local:8200' });
  expect(pod.containers[0].command[2]).toContain('mc --config-dir /tmp/mc cp /snapshots/vault.snap "platform/vault-snapshots/$name"');
  // The init container and the uploader share the snapshot's folder; no credential in an environment.
  expect(pod.volumes.filter((v: { name: string }) => v.name === 'writable-snapshots')).toHaveLength(1);
  expect(JSON.stringify(pod.containers[0].env)).not.toContain('secretKeyRef');
  const policy: string = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'vault-snapshot-policy').data['policy.hcl'];
  expect(policy).toBe(snapshotPolicy());
  expect(policy.split('\n').filter((l) => l.startsWith('path'))).toEqual(['path "sys/storage/raft/snapshot" {']);
  expect(BackupObjectives.of(app).backups).toEqual([{ namespace: 'vault', cronJob: 'vault-snapshot', maxAgeSeconds: 86400 + 3600 }]);
});
