import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { expect, test } from 'vitest';
import { parse } from 'smol-toml';
import { containerImage, ImageCatalog, Layer, PlatformChart, PlatformContext, PlatformDeployment, PlatformService, RoutingConfig, SecretRequirements, SignIn, WebUi } from '@ml-platform/core';
import { AccessLayer } from './access';
import { OAUTH2_PROXY_IMAGE } from './images';
import { OAUTH2_PROXY_CONFIG_KEY } from './oauth2-proxy';

const context = new PlatformContext({ cluster: 'edge', kubernetesVersion: '1.28', baseDomain: 'ml.edge.internal', defaultStorageClass: 'standard', images: new ImageCatalog() });
const sso = { gitlab: { url: 'https://gitlab.edge.internal', cidrs: ['10.0.0.5/32'], clientId: 'a'.repeat(64) }, proxy: { replicas: 2 } };
const controller = { namespace: 'envoy-gateway-system', podLabels: { 'app.kubernetes.io/name': 'envoy' } };
const gateway: RoutingConfig = { api: 'gateway', className: 'platform', controller, tls: { clusterIssuer: 'platform-ca' }, hosts: {} };
const access = { tracker: { users: ['ml/data-scientists'], admins: ['ml/platform'] }, boards: { users: ['ml/everyone'], admins: [] } };

/** A chart with one UI Service, as a component would hand it over. */
function withUi(app: ReturnType<typeof Testing.app>, name: string, signIn: SignIn, ctx: PlatformContext = context): { chart: PlatformChart; ui: WebUi } {
  const chart = new PlatformChart(app, name, { context: ctx, layer: Layer.APPS });
  const probe = { tcpSocket: { port: { value: 1 } as never } };
  const image = context.images.image(containerImage(`${name}-image`, { registry: 'docker.io', repository: `library/${name}`, tag: '1.0', note: 'stand-in' }));
  const server = new PlatformDeployment(chart, 'Server', {
    identity: { name, instance: name, component: 'ui', version: '1.0' },
    pod: { user: 1000, group: 1000, containers: [{ name, image, ports: [{ name: 'http', number: 8080 }], resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } }, livenessProbe: probe, readinessProbe: probe }] },
  });
  const endpoint = new PlatformService(chart, 'Service', { name, pods: server.pods, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }).endpoint('http');
  return { chart, ui: { name, purpose: 'test', endpoint, signIn, callbackPath: signIn === SignIn.OIDC ? '/login/generic_oauth' : undefined } };
}

function render(routing: RoutingConfig, gatewayClassController?: string) {
  const app = Testing.app();
  const layer = new AccessLayer(app, 'access', { context, routing, sso, access, gatewayClassController });
  const tracker = withUi(app, 'tracker', SignIn.PROXY);
  const boards = withUi(app, 'boards', SignIn.OIDC);
  layer.expose(tracker.chart, tracker.ui);
  layer.expose(boards.chart, boards.ui);
  const objects = app.charts.flatMap((c) => Testing.synth(c));
  const find = (kind: string, name: string, namespace?: string) => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name && (!namespace || o.metadata.namespace === namespace));
    if (!found) throw new Error(`no ${kind} ${namespace ?? '*'}/${name}`);
    return found;
  };
  return { app, layer, objects, find };
}

test('the GatewayClass is rendered for the controller the bootstrap installs, and only then', () => {
  const withClass = render(gateway, 'gateway.envoyproxy.io/gatewayclass-controller');
  expect(withClass.find('GatewayClass', 'platform').spec.controllerName).toBe('gateway.envoyproxy.io/gatewayclass-controller');
  expect(render(gateway).objects.filter((o) => o.kind === 'GatewayClass')).toEqual([]);
});

test('a Gateway terminates TLS per host and redirects plain HTTP; each route goes to the sign-in', () => {
  const { find, layer } = render(gateway);
  const gw = find('Gateway', 'platform', 'gateway');
  expect(gw.spec.gatewayClassName).toBe('platform');
  expect(gw.spec.listeners.map((l: { name: string }) => l.name)).toEqual(['http', 'https-tracker', 'https-boards']);
  expect(gw.spec.listeners[1]).toMatchObject({
    protocol: 'HTTPS',
    port: 443,
    hostname: 'tracker.ml.edge.internal',
    tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: 'tracker-tls' }] },
    // Only the UI's own namespace may attach a route to its listener.
    allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { 'kubernetes.io/metadata.name': 'tracker' } } } },
  });
  expect(find('HTTPRoute', 'https-redirect', 'gateway').spec).toMatchObject({
    parentRefs: [{ name: 'platform', sectionName: 'http' }],
    hostnames: ['boards.ml.edge.internal', 'tracker.ml.edge.internal'],
    rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }],
  });
  expect(find('Certificate', 'tracker', 'gateway').spec).toMatchObject({ secretName: 'tracker-tls', dnsNames: ['tracker.ml.edge.internal'], issuerRef: { kind: 'ClusterIssuer', name: 'platform-ca' } });

  const route = find('HTTPRoute', 'tracker', 'tracker');
  expect(route.spec.parentRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'gateway', name: 'platform', sectionName: 'https-tracker' }]);
  expect(route.spec.rules[0].backendRefs).toEqual([{ group: '', kind: 'Service', name: 'tracker-oauth2-proxy', port: 4180 }]);
  // A UI with its own GitLab sign-in is routed to directly.
  expect(find('HTTPRoute', 'boards', 'boards').spec.rules[0].backendRefs).toEqual([{ group: '', kind: 'Service', name: 'boards', port: 80 }]);
  expect(layer.uis.map((u) => [u.host, u.redirectUri])).toEqual([
    ['tracker.ml.edge.internal', 'https://tracker.ml.edge.internal/oauth2/callback'],
    ['boards.ml.edge.internal', 'https://boards.ml.edge.internal/login/generic_oauth'],
  ]);
});

test('oauth2-proxy lets in the UI\'s users and admins only, and is the only way in', () => {
  const { find, objects } = render(gateway);
  const config = parse(find('ConfigMap', 'tracker-oauth2-proxy', 'tracker').data[OAUTH2_PROXY_CONFIG_KEY]);
  expect(config).toMatchObject({
    provider: 'gitlab',
    oidc_issuer_url: 'https://gitlab.edge.internal',
    gitlab_groups: ['ml/data-scientists', 'ml/platform'],
    redirect_url: 'https://tracker.ml.edge.internal/oauth2/callback',
    upstreams: ['http://tracker.tracker.svc.cluster.local:80/'],
    client_secret_file: '/secrets/client/client-secret',
    cookie_secret_file: '/secrets/cookie/cookie-secret',
    cookie_secure: true,
  });
  expect(JSON.stringify(config)).not.toMatch(/client_secret"|cookie_secret"/);
  const policy = (name: string) => find('NetworkPolicy', name, 'tracker').spec;
  expect(policy('allow-tracker-oauth2-proxy-from-gateway-4180').ingress[0].from).toEqual([
    { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'envoy-gateway-system' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'envoy' } } },
  ]);
  expect(policy('allow-tracker-from-tracker-oauth2-proxy-8080').ingress[0].from[0].podSelector.matchLabels['app.kubernetes.io/name']).toBe('tracker-oauth2-proxy');
  expect(policy('allow-tracker-oauth2-proxy-to-gitlab-443').egress[0].to).toEqual([{ ipBlock: { cidr: '10.0.0.5/32' } }]);
  // Nothing lets the controller reach the UI itself.
  const intoTracker = objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === 'tracker' && o.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === 'tracker' && o.spec.ingress);
  expect(intoTracker.map((o) => o.metadata.name)).toEqual(['allow-tracker-from-tracker-oauth2-proxy-8080']);
  expect(find('Deployment', 'tracker-oauth2-proxy', 'tracker').spec.replicas).toBe(2);
  expect(find('PodDisruptionBudget', 'tracker-oauth2-proxy', 'tracker').spec.maxUnavailable).toBe(1);
});

test('where the gateway verifies backends, it reaches the sign-in proxy on its TLS sidecar and a UI that signs people in itself on TLS of its own', () => {
  const tlsContext = new PlatformContext({ cluster: 'edge', kubernetesVersion: '1.28', baseDomain: 'ml.edge.internal', defaultStorageClass: 'standard', images: new ImageCatalog(), internalCa: 'platform-ca', uiTls: true });
  const app = Testing.app();
  const layer = new AccessLayer(app, 'access', { context: tlsContext, routing: gateway, sso, access });
  const tracker = withUi(app, 'tracker', SignIn.PROXY, tlsContext);
  const boards = withUi(app, 'boards', SignIn.OIDC, tlsContext);
  expect(() => layer.expose(boards.chart, boards.ui)).toThrow(/boards\/boards: the gateway reaches UI boards over TLS in this cluster .*, but the UI serves plain HTTP/);
  layer.expose(tracker.chart, tracker.ui);
  layer.expose(boards.chart, { ...boards.ui, tls: true });
  const objects = app.charts.flatMap((c) => Testing.synth(c));
  const find = (kind: string, name: string, namespace: string) => objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);

  for (const [namespace, service] of [['tracker', 'tracker-oauth2-proxy'], ['boards', 'boards']]) {
    expect(find('BackendTLSPolicy', service, namespace)?.spec).toEqual({
      targetRefs: [{ group: '', kind: 'Service', name: service }],
      validation: { caCertificateRefs: [{ group: '', kind: 'Secret', name: 'internal-ca-trust' }], hostname: `${service}.${namespace}.svc.cluster.local` },
    });
    // The CA the policy names is the namespace's trust certificate.
    expect(find('Certificate', 'internal-ca-trust', namespace)?.spec.issuerRef.name).toBe('platform-ca');
  }
  expect(find('HTTPRoute', 'tracker', 'tracker')?.spec.rules[0].backendRefs).toEqual([{ group: '', kind: 'Service', name: 'tracker-oauth2-proxy', port: 4443 }]);
  // oauth2-proxy is on loopback; its sidecar serves the Service's certificate and the probes go through it.
  expect(parse(find('ConfigMap', 'tracker-oauth2-proxy', 'tracker')?.data[OAUTH2_PROXY_CONFIG_KEY]).http_address).toBe('127.0.0.1:4180');
  const pod = find('Deployment', 'tracker-oauth2-proxy', 'tracker')?.spec.template.spec;
  expect(pod.containers.map((c: { name: string }) => c.name)).toEqual(['oauth2-proxy', 'tls']);
  expect(pod.containers[0].readinessProbe.httpGet).toMatchObject({ path: '/ready', port: 4443, scheme: 'HTTPS' });
  expect(pod.containers[1].ports).toEqual([{ name: 'https', containerPort: 4443, protocol: 'TCP' }]);
  expect(find('Certificate', 'tracker-oauth2-proxy-tls', 'tracker')?.spec.dnsNames).toContain('tracker-oauth2-proxy.tracker.svc');
  expect(find('ConfigMap', 'tracker-oauth2-proxy-tls-sidecar', 'tracker')?.data['nginx.conf']).toContain('listen 4443 ssl;');
  // Only the controller's pods reach the TLS port; nothing reaches the proxy's plain one.
  expect(find('NetworkPolicy', 'allow-tracker-oauth2-proxy-from-gateway-4443', 'tracker')).toBeDefined();
  expect(objects.some((o) => o.kind === 'NetworkPolicy' && o.metadata.name.endsWith('-4180'))).toBe(false);
});

test('GitLab signed by an internal CA: the proxy trusts the CA the cluster names', () => {
  const app = Testing.app();
  const layer = new AccessLayer(app, 'access', { context, routing: gateway, sso: { ...sso, gitlab: { ...sso.gitlab, caConfigMap: 'internal-ca' } }, access });
  const tracker = withUi(app, 'tracker', SignIn.PROXY);
  layer.expose(tracker.chart, tracker.ui);
  const objects = app.charts.flatMap((c) => Testing.synth(c));
  const config = parse(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'tracker-oauth2-proxy').data[OAUTH2_PROXY_CONFIG_KEY]);
  expect(config.provider_ca_files).toEqual(['/etc/gitlab-ca/ca.crt']);
  const pod = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'tracker-oauth2-proxy').spec.template.spec;
  expect(pod.volumes).toContainEqual({ name: 'gitlab-ca', configMap: { name: 'internal-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
  expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'gitlab-ca', mountPath: '/etc/gitlab-ca', readOnly: true });
});

test('the proxies are sized per cluster: one replica has no disruption budget', () => {
  const app = Testing.app();
  const resources = { requests: { cpu: '20m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } };
  const layer = new AccessLayer(app, 'access', { context, routing: gateway, sso: { ...sso, proxy: { replicas: 1, resources } }, access });
  const tracker = withUi(app, 'tracker', SignIn.PROXY);
  layer.expose(tracker.chart, tracker.ui);
  const objects = app.charts.flatMap((c) => Testing.synth(c));
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'tracker-oauth2-proxy');
  expect(deployment.spec.replicas).toBe(1);
  expect(deployment.spec.template.spec.containers[0].resources).toEqual(resources);
  expect(objects.some((o) => o.kind === 'PodDisruptionBudget')).toBe(false);
});

test('with routing.api ingress, each UI gets an Ingress with TLS beside it', () => {
  const { find, objects } = render({ ...gateway, api: 'ingress', className: 'traefik' });
  expect(objects.some((o) => o.kind === 'Gateway')).toBe(false);
  expect(find('Ingress', 'tracker', 'tracker').spec).toEqual({
    ingressClassName: 'traefik',
    tls: [{ hosts: ['tracker.ml.edge.internal'], secretName: 'tracker-tls' }],
    rules: [{ host: 'tracker.ml.edge.internal', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'tracker-oauth2-proxy', port: { number: 4180 } } } }] } }],
  });
  expect(find('Certificate', 'tracker', 'tracker').spec.dnsNames).toEqual(['tracker.ml.edge.internal']);
});

test('an existing TLS Secret replaces the certificates and becomes a requirement of the cluster', () => {
  const { app, objects, find } = render({ ...gateway, tls: { secretName: 'wildcard-tls' } });
  expect(objects.some((o) => o.kind === 'Certificate')).toBe(false);
  expect(find('Gateway', 'platform').spec.listeners[1].tls.certificateRefs).toEqual([{ group: '', kind: 'Secret', name: 'wildcard-tls' }]);
  expect(SecretRequirements.of(app).list().find((s) => s.name === 'wildcard-tls')).toMatchObject({ namespaces: ['gateway'], keys: [{ key: 'tls.crt' }, { key: 'tls.key' }] });
});

test('a host override applies, and two UIs on one host or a UI without groups are refused', () => {
  const moved = render({ ...gateway, hosts: { tracker: 'runs.example.internal' } });
  expect(moved.find('HTTPRoute', 'tracker').spec.hostnames).toEqual(['runs.example.internal']);

  const app = Testing.app();
  const layer = new AccessLayer(app, 'access', { context, routing: { ...gateway, hosts: { boards: 'tracker.ml.edge.internal' } }, sso, access });
  const tracker = withUi(app, 'tracker', SignIn.PROXY);
  layer.expose(tracker.chart, tracker.ui);
  const boards = withUi(app, 'boards', SignIn.OIDC);
  expect(() => layer.expose(boards.chart, boards.ui)).toThrow(/routing\.hosts: boards and tracker would both be served at tracker\.ml\.edge\.internal/);
  const other = withUi(app, 'other', SignIn.PROXY);
  expect(() => layer.expose(other.chart, other.ui)).toThrow(/access\.other: expected the GitLab groups that may use other/);
});

test('the config check runs the oauth2-proxy release the image runs', () => {
  const pins = readFileSync(join(__dirname, '../../../tools/tool-versions.env'), 'utf8');
  expect(/^OAUTH2_PROXY_VERSION=(\S+)$/m.exec(pins)?.[1]).toBe(OAUTH2_PROXY_IMAGE.tag);
});
