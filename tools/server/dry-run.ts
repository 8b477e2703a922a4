// Server-side apply of every object with dryRun=All, fieldValidation=Strict and force, as the
// GitOps agent would apply it, except that Namespaces and CRDs are created for real first (the
// objects inside them need them). Any error and any warning (Pod Security warns on workloads
// whose pods it would refuse) is a failure.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ARGOCD_NAMESPACE } from '@ml-platform/argocd';
import { FLUX_NAMESPACE } from '@ml-platform/flux';
import { describeObject, Failure, Json, ManifestDoc } from '../validate/model';
import { toolPaths } from '../validate/tools';
import { ControlPlane } from './control-plane';

const FIELD_MANAGER = 'ml-platform-ci';
const APPLY = 'application/apply-patch+yaml';

interface ResourceInfo {
  readonly plural: string;
  readonly namespaced: boolean;
}

/** Discovery: kind to resource name, per apiVersion, fetched once. */
class Discovery {
  private readonly cache = new Map<string, Map<string, ResourceInfo> | undefined>();
  constructor(private readonly cp: ControlPlane) {}

  public async resource(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    if (!this.cache.has(apiVersion)) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      const r = await this.cp.request('GET', path);
      this.cache.set(
        apiVersion,
        r.status === 200
          ? new Map((r.body.resources as Json[]).filter((x) => !x.name.includes('/')).map((x) => [x.kind, { plural: x.name, namespaced: x.namespaced }]))
          : undefined,
      );
    }
    return this.cache.get(apiVersion)?.get(kind);
  }

  public forget(apiVersion: string): void {
    this.cache.delete(apiVersion);
  }
}

/** What goes over the wire: no SOPS metadata, and encrypted values replaced by empty ones. */
export function wireObject(obj: Json): Json {
  const out = { ...obj };
  if (out.sops) {
    delete out.sops;
    // ENC[...] is not base64; the server would reject data it can never see in this form.
    for (const field of ['data', 'stringData']) {
      if (out[field]) out[field] = Object.fromEntries(Object.keys(out[field]).map((k) => [k, '']));
    }
  }
  return out;
}

/**
 * Server-side applies `obj`, for real or as a dry-run, as the admin or as user `as`. Returns the
 * server's refusal, if any, and its warnings.
 */
export async function applyObject(cp: ControlPlane, obj: Json, options: { readonly dryRun: boolean; readonly as?: string }): Promise<{ message?: string; field?: string; warnings: string[] }> {
  return apply(cp, new Discovery(cp), obj, options.dryRun, options.as);
}

async function apply(cp: ControlPlane, discovery: Discovery, obj: Json, dryRun: boolean, as?: string): Promise<{ message?: string; field?: string; warnings: string[] }> {
  const info = await discovery.resource(obj.apiVersion, obj.kind);
  if (!info) return { message: `the API server serves no ${obj.kind} in ${obj.apiVersion}`, field: 'apiVersion/kind', warnings: [] };
  const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  const ns = info.namespaced ? `/namespaces/${encodeURIComponent(obj.metadata?.namespace ?? 'default')}` : '';
  const query = `fieldManager=${FIELD_MANAGER}&force=true&fieldValidation=Strict${dryRun ? '&dryRun=All' : ''}`;
  const r = await cp.request('PATCH', `${base}${ns}/${info.plural}/${encodeURIComponent(obj.metadata?.name ?? '')}?${query}`, wireObject(obj), APPLY, as);
  if (r.status >= 400) {
    const causes: Json[] = r.body?.details?.causes ?? [];
    return { message: typeof r.body === 'object' ? r.body.message : String(r.body), field: causes.map((c) => c.field).filter(Boolean).join(', ') || undefined, warnings: r.warnings };
  }
  return { warnings: r.warnings };
}

async function waitEstablished(cp: ControlPlane, name: string): Promise<string | undefined> {
  for (let i = 0; i < 100; i++) {
    const r = await cp.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    if ((r.body?.status?.conditions ?? []).some((c: Json) => c.type === 'Established' && c.status === 'True')) return undefined;
    await new Promise((res) => setTimeout(res, 100));
  }
  return `CustomResourceDefinition ${name} did not become Established`;
}

/**
 * Dry-runs `docs` (one cluster's objects) against the control plane, as the admin or as user
 * `as`. Namespaces and CRDs are created for real, so that what lives in them can be judged.
 */
export async function dryRun(cp: ControlPlane, docs: ManifestDoc[], as?: string): Promise<Failure[]> {
  const failures: Failure[] = [];
  const discovery = new Discovery(cp);
  const record = (doc: ManifestDoc, rule: string, field: string, message: string, hint: string) =>
    failures.push({ layer: 'api-server', rule, cluster: doc.cluster, file: doc.file, object: describeObject(doc.obj), field, message, hint });
  const phase = (kind: string) => (kind === 'Namespace' ? 0 : kind === 'CustomResourceDefinition' ? 1 : 2);
  const ordered = [...docs].sort((a, b) => phase(a.obj.kind) - phase(b.obj.kind));

  for (const doc of ordered) {
    const kind = doc.obj.kind;
    const real = phase(kind) < 2;
    const result = await apply(cp, discovery, doc.obj, !real, as);
    if (result.message) {
      record(doc, 'api-server/rejected', result.field ?? '-', result.message, 'the API server refuses this object as written; fix the field it names');
      continue;
    }
    for (const w of result.warnings) {
      const podSecurity = /violate PodSecurity/.test(w);
      record(doc, podSecurity ? 'api-server/pod-security' : 'api-server/warning', '-', w, podSecurity ? "make the pod template satisfy its namespace's Pod Security level" : 'resolve the warning; the API server would accept the object but says it is wrong');
    }
    if (kind === 'CustomResourceDefinition') {
      const problem = await waitEstablished(cp, doc.obj.metadata.name);
      if (problem) record(doc, 'api-server/crd', 'status.conditions', problem, 'check the CRD schema');
      discovery.forget(`${doc.obj.spec.group}/${doc.obj.spec.versions?.[0]?.name}`);
      for (const v of doc.obj.spec.versions ?? []) discovery.forget(`${doc.obj.spec.group}/${v.name}`);
    }
  }
  return failures;
}

/**
 * What the bootstrap installs before the platform (docs/bootstrap.md): the operators' CRDs and
 * namespaces. Applied for real, so the platform's custom resources and entry points can be
 * dry-run against them. Returns problems, which mean the check itself cannot run.
 */
export async function installBootstrap(cp: ControlPlane, crds: Json[], namespaces: string[]): Promise<string[]> {
  const discovery = new Discovery(cp);
  const problems: string[] = [];
  for (const name of namespaces) {
    const r = await apply(cp, discovery, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, false);
    if (r.message) problems.push(`namespace ${name}: ${r.message}`);
  }
  for (const crd of crds) {
    const r = await apply(cp, discovery, crd, false);
    if (r.message) problems.push(`CRD ${crd.metadata?.name}: ${r.message}`);
    else {
      const problem = await waitEstablished(cp, crd.metadata.name);
      if (problem) problems.push(problem);
    }
  }
  return problems;
}

/** Namespaces the bootstrap creates for the GitOps operators. */
export const BOOTSTRAP_NAMESPACES = [FLUX_NAMESPACE, ARGOCD_NAMESPACE];

/** The bootstrap operators' CRDs, as tools/install-tools.sh fetched them. */
export function bootstrapCrds(root: string): Json[] {
  const dir = toolPaths(root).crds;
  if (!existsSync(dir)) throw new Error(`${dir} is missing; run 'bash tools/install-tools.sh'`);
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS()))
    .filter(Boolean);
}
