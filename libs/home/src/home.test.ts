import { Testing } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import { ImageCatalog, PlatformContext, SignIn } from '@ml-platform/core';
import { HomeChart } from './home';
import { HOME_IMAGE } from './images';
import { HomePageModel, HomeTool, renderHomePage } from './page';

const context = new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog() });
const mlflow: HomeTool = { name: 'mlflow', purpose: 'Experiments & runs', url: 'https://mlflow.ml.t.internal/', version: '3.5.1', users: ['ml/data-scientists'], admins: ['ml/platform'], docs: 'https://gitlab.t.internal/p/-/blob/main/docs/mlflow.md' };
const page: HomePageModel = {
  cluster: 't',
  tier: 'dev',
  kubernetesVersion: '1.28',
  tools: [mlflow, { name: 'grafana', purpose: 'Dashboards', url: 'https://grafana.ml.t.internal/', version: '13.2.0', users: ['ml/engineers'], admins: [] }],
  firstSteps: [{ title: 'Track your experiments', text: 'Log runs with mlflow.start_run().', link: { label: 'Open mlflow', url: 'https://mlflow.ml.t.internal/' } }],
  status: [{ label: 'Platform overview (Grafana)', url: 'https://grafana.ml.t.internal/d/platform-overview' }],
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const manifests = (model = page, replicas = 1): any[] => Testing.synth(new HomeChart(Testing.app(), 'home', { context, page: model, replicas }));

describe('the page', () => {
  test('lists every tool with its link, version, groups and docs, the first steps and the status links', () => {
    const html = renderHomePage(page)['index.html'];
    expect(html).toContain('<th scope="row"><a href="https://mlflow.ml.t.internal/">mlflow</a></th>');
    expect(html).toContain('<td><code>3.5.1</code></td>');
    expect(html).toContain('<code>ml/data-scientists</code><br><span class="admins">administered by <code>ml/platform</code></span>');
    expect(html).toContain('<a href="https://gitlab.t.internal/p/-/blob/main/docs/mlflow.md">mlflow docs</a>');
    // A tool without docs says so rather than linking nowhere.
    expect(html).toMatch(/grafana<\/a><\/th>[\s\S]*?<td>—<\/td>/);
    expect(html).toContain('<li><strong>Track your experiments.</strong> Log runs with mlflow.start_run(). <a href="https://mlflow.ml.t.internal/">Open mlflow</a></li>');
    expect(html).toContain('<a href="https://grafana.ml.t.internal/d/platform-overview">Platform overview (Grafana)</a>');
    expect(html).toContain('<html lang="en">');
    expect(html).not.toContain('<script');
  });

  test('escapes what it is given, and refuses a link that is not https or a tool listed twice', () => {
    const html = renderHomePage({ ...page, tools: [{ ...mlflow, purpose: '<img src=x onerror=alert(1)> "runs"' }] })['index.html'];
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt; &quot;runs&quot;');
    expect(() => renderHomePage({ ...page, tools: [{ ...mlflow, url: 'http://mlflow.ml.t.internal/' }] })).toThrow("home page: expected an https:// URL, found 'http://mlflow.ml.t.internal/'");
    expect(() => renderHomePage({ ...page, tools: [{ ...mlflow, url: 'javascript:alert(1)' }] })).toThrow(/expected an https:\/\/ URL/);
    expect(() => renderHomePage({ ...page, tools: [mlflow, mlflow] })).toThrow("home page: tool 'mlflow' is listed twice");
  });
});

describe('the web server', () => {
  test('serves the site read-only from a ConfigMap, as the image user, probed on /healthz', () => {
    const objects = manifests();
    const site = objects.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'home-site');
    expect(Object.keys(site.data).sort()).toEqual(['home.css', 'index.html']);
    const config: string = objects.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'home-server').data['nginx.conf'];
    expect(config).toContain('root /srv/home;');
    expect(config).toContain('pid /tmp/nginx.pid;');
    expect(config).toContain("add_header Content-Security-Policy \"default-src 'none'; style-src 'self'");
    const pod = objects.find((m) => m.kind === 'Deployment').spec.template.spec;
    const [container] = pod.containers;
    expect(container.image).toBe(`${HOME_IMAGE.registry}/${HOME_IMAGE.repository}:${HOME_IMAGE.tag}`);
    expect(container.args).toEqual(['-e', 'stderr', '-c', '/etc/platform/home-server/nginx.conf']);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 101 });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(container.readinessProbe.httpGet).toMatchObject({ path: '/healthz', port: 8080 });
    expect(container.volumeMounts).toContainEqual({ name: 'site', mountPath: '/srv/home', readOnly: true });
    expect(objects.find((m) => m.kind === 'Service').spec.ports).toEqual([expect.objectContaining({ name: 'http', port: 8080 })]);
  });

  test('a new page does not restart the server; a new server config does', () => {
    const revision = (objects: ReturnType<typeof manifests>) => objects.find((m) => m.kind === 'Deployment').spec.template.metadata.annotations['ml-platform.io/config-revision'];
    const other = manifests({ ...page, tools: [mlflow] });
    expect(revision(other)).toBe(revision(manifests()));
    expect(other.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'home-site').data['index.html']).not.toContain('grafana.ml.t.internal/"');
  });

  test('is a UI behind the sign-in proxy, with a disruption budget only once replicated', () => {
    const chart = new HomeChart(Testing.app(), 'home', { context, page });
    expect(chart.webUi).toMatchObject({ name: 'home', signIn: SignIn.PROXY, docs: 'home.md' });
    expect(manifests(page, 1).some((m) => m.kind === 'PodDisruptionBudget')).toBe(false);
    expect(manifests(page, 2).some((m) => m.kind === 'PodDisruptionBudget')).toBe(true);
  });
});
