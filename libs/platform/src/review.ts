// A review environment: a merge request's render of the apps layer, on its base cluster, in
// namespaces of its own (docs/review.md). Rendered by its CI job, never committed.
import { k8s } from 'cdk8s-plus-28';
import { ClusterRenderSpec, ConfigError, isDnsLabel, Layer, loadClusterConfig, readConfigData, renderInMemory, RenderedObject, RenderResult, requiredSecrets, SecretRequirement, validateConfigData } from '@ml-platform/core';
import { REVIEW_DEPLOYER, REVIEW_NAMESPACE_RULES } from '@ml-platform/gitlab-agent';
import { ClusterConfig, clusterConfigSchema, composePlatform, enabledComponents, PLATFORM_IMAGES, platformRenderSpec } from './platform';
import { REVIEW_SLUG_MAX, reviewComponents } from './review-config';

/** A rendered review environment. */
export interface ReviewRender extends RenderResult {
  readonly slug: string;
  /** The review's configuration, derived from its base cluster's. */
  readonly config: ClusterConfig;
  /** The namespaces it creates, sorted: deleting them (by their review label) deletes the review. */
  readonly namespaces: string[];
  /**
   * Every Secret it reads. None is in Git: its CI job generates fresh values when it applies the
   * review, except for `copied`.
   */
  readonly secrets: SecretRequirement[];
  /** Secrets the base cluster also gets from outside Git (a GitLab application's secret, a deploy token): the job copies them from CI variables. */
  readonly copied: string[];
}

/** Why `slug` cannot name a review environment, or undefined when it can. */
export function reviewSlugProblem(slug: string): string | undefined {
  if (isDnsLabel(slug) && slug.length <= REVIEW_SLUG_MAX) return undefined;
  return `expected a DNS label of at most ${REVIEW_SLUG_MAX} characters (lower-case letters, digits and '-', starting and ending with a letter or digit), as GitLab's CI_ENVIRONMENT_SLUG is; found ${JSON.stringify(slug)}`;
}

/** The spec of review `slug` of `cluster`: the platform without the GitOps entry points (its job applies it) or a bootstrap. */
export function reviewRenderSpec(cluster: string, slug: string): ClusterRenderSpec<ClusterConfig> {
  return {
    cluster,
    schema: clusterConfigSchema,
    images: PLATFORM_IMAGES,
    review: { slug, deployer: REVIEW_DEPLOYER },
    compose: (app, config, context) => composePlatform(app, config, context, { entryPoints: false }),
  };
}

/**
 * The configuration of review `slug`, from its base cluster's file (`data`, as read) and its
 * validated configuration (`base`): the components `review` names, one pod of each, volumes of
 * `review.storage`, hosts under `<slug>.<review.subdomain>`. The result is validated like any
 * cluster.yaml, so a review meets every rule a cluster does (MLflow needs PostgreSQL, ...).
 */
export function reviewConfigOf(base: ClusterConfig, data: unknown, slug: string, configName: string): ClusterConfig {
  const slugProblem = reviewSlugProblem(slug);
  if (slugProblem) throw new ConfigError(configName, [`review slug (--slug): ${slugProblem}`]);
  const review = base.review;
  if (!review) throw new ConfigError(configName, ['review: expected the review section: this cluster holds no review environments (docs/review.md)']);
  // Edits go into the file's data, not the validated output: validation turns durations and the
  // like into other types, and would not take its own output back.
  const derived = structuredClone(data) as Record<string, unknown>;
  const kept = new Set(reviewComponents(review, enabledComponents(base.components)));
  for (const key of enabledComponents(base.components)) {
    if (!kept.has(key)) setPath(derived, ['components', key, 'enabled'], false);
    else for (const [path, value] of reviewSizes((base.components as Record<string, unknown>)[key], review.storage)) setPath(derived, ['components', key, ...path], value);
  }
  derived.baseDomain = `${slug}.${review.subdomain}.${base.baseDomain}`;
  // The base cluster's own host names are its own.
  setPath(derived, ['routing', 'hosts'], {});
  setPath(derived, ['sso', 'proxy', 'replicas'], 1);
  delete derived.review;
  return validateConfigData(derived, clusterConfigSchema, configName, `review environment '${slug}', as review.components makes it: `);
}

/**
 * Where a component's section changes at review size, found in its validated section (defaults
 * included): one pod wherever it sets a count (a range becomes 1 to 1, distributed MinIO
 * standalone) and every volume (`storage`, JupyterHub's `home`) of `storage`.
 */
function reviewSizes(section: unknown, storage: string): [(string | number)[], unknown][] {
  const changes: [(string | number)[], unknown][] = [];
  const walk = (value: unknown, path: (string | number)[]) => {
    const key = path[path.length - 1];
    if (Array.isArray(value)) return value.forEach((v, i) => walk(v, [...path, i]));
    if (typeof value !== 'object' || value === null) {
      if (key === 'replicas' && typeof value === 'number' && value !== 1) changes.push([path, 1]);
      if (key === 'mode' && value === 'distributed') changes.push([path, 'standalone']);
      return;
    }
    const fields = value as Record<string, unknown>;
    if (key === 'replicas' && 'min' in fields && 'max' in fields) changes.push([[...path, 'min'], 1], [[...path, 'max'], 1]);
    else if ((key === 'storage' || key === 'home') && typeof fields.size === 'string') changes.push([[...path, 'size'], storage]);
    for (const [k, v] of Object.entries(fields)) walk(v, [...path, k]);
  };
  walk(section, []);
  return changes;
}

/** Sets `path` in `target` to `value`, creating the mappings on the way. */
function setPath(target: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let node: Record<string | number, unknown> = target;
  for (const step of path.slice(0, -1)) {
    if (typeof node[step] !== 'object' || node[step] === null) node[step] = {};
    node = node[step] as Record<string | number, unknown>;
  }
  node[path[path.length - 1]] = value;
}

/**
 * Loads `cluster`'s configuration from `configFile` and renders its review `slug`; writes
 * nothing. Throws `ConfigError` naming the file and key on bad input.
 */
export function renderReview(cluster: string, slug: string, configFile: string, configName = configFile): ReviewRender {
  const base = loadClusterConfig(platformRenderSpec(cluster), configFile, configName);
  const spec = reviewRenderSpec(cluster, slug);
  const derived = reviewConfigOf(base, readConfigData(configFile, configName), slug, configName);
  const secrets = requiredSecrets(spec, derived);
  // Every Secret comes from the review's job, none from Git.
  const config: ClusterConfig = { ...derived, external: { ...derived.external, secrets: secrets.map((s) => s.name) } };
  const header = `Review environment '${slug}' of cluster ${cluster}, rendered from ${configName} by 'npm run review'; never committed.`;
  const result = renderInMemory(spec, config, configName, null, header);
  // Its namespaced objects, and the Secrets its job creates beside them.
  const made = secrets.flatMap((s) => s.namespaces.map((namespace) => ({ path: '-', layer: Layer.SECRETS, component: '-', kind: 'Secret', name: s.name, namespace, manifest: { apiVersion: 'v1' } })));
  const gaps = deployerGaps([...result.objects.filter((o) => o.layer !== Layer.CLUSTER), ...made], REVIEW_NAMESPACE_RULES);
  if (gaps.length) throw new Error(`review '${slug}' of ${cluster} holds what its deployer may not apply; add it to REVIEW_NAMESPACE_RULES (libs/gitlab-agent):\n${gaps.map((g) => `  - ${g}`).join('\n')}`);
  const namespaces = result.objects.filter((o) => o.kind === 'Namespace').map((o) => o.name).sort();
  const copied = secrets.map((s) => s.name).filter((name) => base.external.secrets.includes(name));
  return { ...result, slug, config, namespaces, secrets, copied };
}

/** The API resource of a kind, as RBAC names it (`NetworkPolicy` → `networkpolicies`). */
function resourceOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith('y')) return `${lower.slice(0, -1)}ies`;
  return lower.endsWith('s') ? `${lower}es` : `${lower}s`;
}

/**
 * What `rules` do not allow of `objects`, one line each: applying every object (get, create,
 * patch) and granting every rule of every Role among them (the API server lets nobody grant
 * more than they hold).
 */
export function deployerGaps(objects: readonly RenderedObject[], rules: readonly k8s.PolicyRule[]): string[] {
  const allows = (group: string, resource: string, verb: string) =>
    rules.some((r) => (r.apiGroups ?? []).includes(group) && r.resources?.includes(resource) && r.verbs.includes(verb) && !r.resourceNames);
  const gaps = new Set<string>();
  for (const o of objects) {
    const group = String(o.manifest.apiVersion).includes('/') ? String(o.manifest.apiVersion).split('/')[0] : '';
    for (const verb of ['get', 'create', 'patch']) if (!allows(group, resourceOf(o.kind), verb)) gaps.add(`${verb} ${resourceOf(o.kind)}${group ? `.${group}` : ''} (${o.kind} ${o.namespace}/${o.name})`);
    if (o.kind !== 'Role') continue;
    for (const rule of o.manifest.rules as k8s.PolicyRule[]) {
      for (const group of rule.apiGroups ?? []) {
        for (const resource of rule.resources ?? []) {
          for (const verb of rule.verbs) if (!allows(group, resource, verb)) gaps.add(`${verb} ${resource}${group ? `.${group}` : ''} (granted by Role ${o.namespace}/${o.name})`);
        }
      }
    }
  }
  return [...gaps].sort();
}
