// The charts a bootstrap module installs, rendered by helm with the values the module passes,
// and their output judged like the platform's own manifests: the schema layers (kubeconform,
// kubectl-validate) against the cluster's Kubernetes minor, and, on an air-gapped cluster, every
// image from its registry mirrors. Charts whose source the project's scripts cannot reach are
// listed as unchecked, never passed silently.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { HelmChart } from '@ml-platform/core';
import { BOOTSTRAP_CHARTS } from '@ml-platform/bootstrap';
import { containersOf, Failure, Json, podSpecOf } from './model';
import { runProgram } from './tools';

/** One `helm_release` of a rendered module, as the check needs it. */
export interface ModuleRelease {
  readonly key: string;
  readonly name: string;
  readonly namespace: string;
  readonly chart: string;
  readonly version: string;
  /** The values the module passes, with the JSON syntax's `$${` escapes undone. */
  readonly values: string;
}

/** The releases of a module's JSON text. */
export function moduleReleases(moduleText: string): ModuleRelease[] {
  const releases: Record<string, { name: string; namespace: string; chart: string; version: string; values?: string[] }> = JSON.parse(moduleText).resource?.helm_release ?? {};
  const unescape = (text: string) => text.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
  return Object.values(releases).map((r) => ({ key: r.name, name: r.name, namespace: r.namespace, chart: r.chart, version: r.version, values: unescape((r.values ?? []).join('\n')) }));
}

/**
 * What a chart's release does to its source folder before publishing it, for the charts whose
 * source holds templates of those files: the version fields, and the defaults the release fills in.
 */
const RELEASE_STAMPS: Readonly<Record<string, (dir: string, version: string) => void>> = {
  // cert-manager's release tool writes Chart.yaml from Chart.template.yaml, with the release tag
  // as version and appVersion.
  'cert-manager': (dir, version) => {
    cpSync(join(dir, 'Chart.template.yaml'), join(dir, 'Chart.yaml'));
    stampAppVersion(dir, version);
  },
  // Envoy Gateway's release sets appVersion to its tag and fills the controller image into
  // values.tmpl.yaml (our reading of its release: the placeholders are the only ones in the file;
  // IfNotPresent is its default policy).
  'envoy-gateway': (dir, version) => {
    stampAppVersion(dir, version);
    writeFileSync(join(dir, 'values.yaml'), readFileSync(join(dir, 'values.tmpl.yaml'), 'utf8').replace('${GatewayImage}', `docker.io/envoyproxy/gateway:${version}`).replace('${GatewayImagePullPolicy}', 'IfNotPresent'));
  },
};

function stampAppVersion(dir: string, appVersion: string): void {
  const chartFile = join(dir, 'Chart.yaml');
  writeFileSync(chartFile, readFileSync(chartFile, 'utf8').replace(/^appVersion:.*$/m, `appVersion: "${appVersion}"`));
}

/**
 * Copies the chart source to `dir` and stamps it as its release would: the version field, and
 * whatever else its release stamps. Other charts publish their source as it is, appVersion
 * included. Returns the folder and the appVersion it ships.
 */
export function preparedChart(source: string, dir: string, key: string, version: string): { dir: string; appVersion: string } {
  cpSync(source, dir, { recursive: true });
  const chartFile = join(dir, 'Chart.yaml');
  if (!existsSync(chartFile) && !RELEASE_STAMPS[key]) throw new Error(`chart '${key}' ${version}: its source has no Chart.yaml and no release stamp says how to make one`);
  RELEASE_STAMPS[key]?.(dir, version);
  const stamped = readFileSync(chartFile, 'utf8').replace(/^version:.*$/m, `version: ${version}`).replace('{{IS_PRERELEASE}}', 'false');
  writeFileSync(chartFile, stamped);
  const appVersion = (parse(stamped) as { appVersion?: unknown }).appVersion;
  return { dir, appVersion: String(appVersion ?? '') };
}

/**
 * `doc` without its null fields. Charts write a key with nothing under it when a value is unset
 * (Traefik's `annotations:`, `resources:`); the API server decodes null as the field left out,
 * while kubeconform's strict schemas want the type. Our own render writes no null: only chart
 * output is read this way.
 */
export function withoutNulls(doc: Json): Json {
  if (Array.isArray(doc)) return doc.map((v) => (v !== null && typeof v === 'object' ? withoutNulls(v) : v));
  if (doc === null || typeof doc !== 'object') return doc;
  return Object.fromEntries(Object.entries(doc).filter(([, v]) => v !== null).map(([k, v]) => [k, typeof v === 'object' ? withoutNulls(v) : v]));
}

/** Every container image of a rendered object. */
function imagesOf(doc: Json): string[] {
  const pod = podSpecOf(doc);
  return pod ? containersOf(pod.spec, pod.path).map(([, c]) => String(c.image)) : [];
}

/** A release rendered by helm: its objects, or why helm refused. */
export interface RenderedRelease {
  readonly release: ModuleRelease;
  /** `helm template <chart> <version> (values of dist-manifests/<cluster>/bootstrap/main.tf.json)`. */
  readonly label: string;
  /** The appVersion the chart ships, as stamped. */
  readonly appVersion: string;
  readonly docs: Json[];
  readonly error?: string;
}

/** Where helm and the chart sources are. */
export interface HelmTools {
  readonly helm: string;
  /** `.tools/charts`: `<key>/<version>/` per chart source. */
  readonly sources: string;
}

/**
 * Renders every release of a cluster's module whose chart source is here, as the module would
 * install it: the release's name, namespace and values, the cluster's Kubernetes minor, CRDs
 * included. Returns the rendered releases and the charts it could not render (`<chart> <version>`).
 */
export async function renderModuleCharts(cluster: string, moduleText: string, kubernetesVersion: string, tools: HelmTools, scratch: string): Promise<{ rendered: RenderedRelease[]; unchecked: string[] }> {
  const rendered: RenderedRelease[] = [];
  const unchecked: string[] = [];
  for (const release of moduleReleases(moduleText)) {
    const source = join(tools.sources, release.key, release.version);
    if (!existsSync(source)) {
      unchecked.push(`${release.chart} ${release.version}`);
      continue;
    }
    const label = `helm template ${release.chart} ${release.version} (values of dist-manifests/${cluster}/bootstrap/main.tf.json)`;
    const work = mkdtempSync(join(scratch, `${release.key}-`));
    const { dir: chart, appVersion } = preparedChart(source, join(work, 'chart'), release.key, release.version);
    writeFileSync(join(work, 'values.yaml'), release.values);
    const args = ['template', release.name, chart, '--namespace', release.namespace, '--kube-version', `${kubernetesVersion}.0`, '--include-crds', '--values', join(work, 'values.yaml')];
    const result = await runProgram(tools.helm, args, { env: { PATH: process.env.PATH, HOME: work, HELM_CACHE_HOME: join(work, 'cache'), HELM_CONFIG_HOME: join(work, 'config'), HELM_DATA_HOME: join(work, 'data') } });
    if (result.status === 0) rendered.push({ release, label, appVersion, docs: parseAllDocuments(result.stdout).map((d) => d.toJS()).filter((d) => d && typeof d === 'object') });
    else rendered.push({ release, label, appVersion, docs: [], error: result.stderr.trim().split('\n').slice(0, 4).join(' ') });
  }
  return { rendered, unchecked };
}

/** The outcome for one cluster: failures, and the charts it could not render here. */
export interface ChartCheck {
  readonly failures: Failure[];
  readonly unchecked: string[];
}

/** What the chart check needs from the rest of validation. */
export interface ChartCheckTools extends HelmTools {
  /** Validates a folder of manifests as the cluster's, by the given layers; returns its failures. */
  readonly validate: (dir: string, layers: readonly ('yaml' | 'schema' | 'api-schema')[]) => Promise<Failure[]>;
}

/** Renders and checks each release of `cluster`'s module. */
export async function checkModuleCharts(
  cluster: string,
  moduleText: string,
  facts: { kubernetesVersion: string; mirrors: Readonly<Record<string, string>> },
  tools: ChartCheckTools,
  catalog: readonly HelmChart[] = BOOTSTRAP_CHARTS,
): Promise<ChartCheck> {
  const failures: Failure[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'ml-platform-charts-'));
  try {
    const { rendered, unchecked } = await renderModuleCharts(cluster, moduleText, facts.kubernetesVersion, tools, scratch);
    for (const { release, label, docs, error, appVersion } of rendered) {
      const fail = (rule: string, object: string, message: string, hint: string) => failures.push({ layer: 'bootstrap', rule, cluster, file: label, object, field: '-', message, hint });
      // The inventory reports the catalog's appVersion: it must be what the chart ships.
      const entry = catalog.find((c) => c.key === release.key && c.version === release.version);
      if (entry && entry.appVersion !== appVersion) {
        fail('bootstrap/chart-app-version', `chart ${release.chart} ${release.version}`, `the catalog says appVersion ${entry.appVersion}, the chart ships ${appVersion || 'none'}`, 'correct appVersion in libs/bootstrap/src/charts.ts from the chart\'s Chart.yaml');
      }
      if (error !== undefined) {
        fail('bootstrap/helm-template', '-', `helm template failed: ${error}`, 'fix the values in libs/bootstrap/src/values.ts');
        continue;
      }
      // CRDs apart: kubectl-validate compiles their CEL rules with the libraries of the Kubernetes
      // it embeds (1.30), which lack ones newer API servers have (isIP, format.dns1123Label in
      // Gateway API's CRDs). The schema of each CRD is checked here; its rules by the API server
      // of the cluster's minor in npm run test:server (docs/bootstrap.md).
      const objects = mkdtempSync(join(scratch, `${release.key}-objects-`));
      const crds = mkdtempSync(join(scratch, `${release.key}-crds-`));
      docs.forEach((doc, i) => writeFileSync(join(doc.kind === 'CustomResourceDefinition' ? crds : objects, `${String(i).padStart(3, '0')}-${String(doc.kind).toLowerCase()}-${doc.metadata?.name ?? 'unnamed'}.yaml`), JSON.stringify(withoutNulls(doc))));
      const found = [...(await tools.validate(objects, ['yaml', 'schema', 'api-schema'])), ...(await tools.validate(crds, ['yaml', 'schema']))];
      for (const f of found) failures.push({ ...f, cluster, file: `${label}: ${f.file.split('/').pop()}` });
      // An air-gapped cluster pulls nothing from upstream registries: every image through a mirror.
      const prefixes = Object.values(facts.mirrors).map((m) => `${m.replace(/\/+$/, '')}/`);
      if (prefixes.length > 0) {
        for (const doc of docs) {
          for (const image of imagesOf(doc).filter((i) => !prefixes.some((p) => i.startsWith(p)))) {
            fail('bootstrap/chart-image-mirror', `${doc.kind} ${doc.metadata?.namespace ?? release.namespace}/${doc.metadata?.name}`, `image ${image} does not come from the cluster's registry mirrors`, 'set the chart value that names this image in libs/bootstrap/src/values.ts, through the mirrors');
          }
        }
      }
    }
    return { failures, unchecked };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
