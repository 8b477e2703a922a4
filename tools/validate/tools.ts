// The schema layers: kubeconform (strict JSON schemas) and kubectl-validate (the API server's
// own validation code and OpenAPI). Both judge each document on its own, so their verdicts are
// cached per document (run.ts) and the documents they do check can be split across processes.
// They run on staged copies: one JSON file per object, with SOPS metadata set aside so encrypted
// Secrets validate like any other.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { digest, filesDigest } from './cache';
import { describeObject, Failure, kubernetesMinor, ManifestDoc } from './model';

/** Where the installed tools and generated schemas live. */
export interface ToolPaths {
  readonly bin: string;
  readonly schemas: string;
  /** Upstream CRD manifests of the bootstrap operators (kubectl-validate reads them as is). */
  readonly crds: string;
  /** OpenAPI v3 documents per Kubernetes minor (`<minor>/api/v1.json`, `<minor>/apis/<group>/<version>.json`). */
  readonly openapi: string;
  /** Sources of the bootstrap charts, `<key>/<version>/` (tools/tool-versions.env CHART_SOURCES). */
  readonly charts: string;
}

export function toolPaths(root: string): ToolPaths {
  const tools = join(root, '.tools');
  return { bin: join(tools, 'bin'), schemas: join(tools, 'schemas'), crds: join(tools, 'crd-manifests'), openapi: join(tools, 'openapi'), charts: join(tools, 'charts') };
}

/**
 * How kubectl-validate is told the API of a Kubernetes minor. A minor it embeds is named by
 * `--version`. A newer one (its folder in .tools/openapi carries a `.source`) is read from that
 * folder with `--local-schemas`, which wins over the embedded schemas type by type; the newest
 * embedded minor goes in `--version` because the tool refuses one it lacks. It only fills in
 * group-versions the newer minor no longer serves, which kubeconform (whose schemas come from
 * the minor alone) then rejects as missing.
 */
export function kubectlValidateVersionArgs(paths: ToolPaths, kubernetesVersion: string): { args: string[]; source?: string } {
  const sourceFile = join(paths.openapi, kubernetesVersion, '.source');
  if (!existsSync(sourceFile)) return { args: ['--version', kubernetesVersion] };
  const embedded = readdirSync(paths.openapi)
    .filter((v) => /^1\.\d+$/.test(v) && !existsSync(join(paths.openapi, v, '.source')))
    .sort((a, b) => kubernetesMinor(a) - kubernetesMinor(b));
  const newest = embedded[embedded.length - 1];
  if (!newest) throw new Error(`no Kubernetes minor embedded by kubectl-validate in ${paths.openapi}; run 'bash tools/install-tools.sh'`);
  return { args: ['--version', newest, '--local-schemas', join(paths.openapi, kubernetesVersion)], source: readFileSync(sourceFile, 'utf8') };
}

/** The kubeconform schema folder of a Kubernetes minor. */
export function schemaDir(paths: ToolPaths, kubernetesVersion: string): string {
  return join(paths.schemas, `v${kubernetesVersion}.0-local-strict`);
}

/** Checks the tools and schemas for `versions` (and promtool, amtool) are installed; returns what is missing. */
export function missingTools(paths: ToolPaths, versions: string[], monitoring = false): string[] {
  const tools = ['kubeconform', 'kubectl-validate', 'oauth2-proxy', 'otelcol-logs', 'tofu', 'helm', ...(monitoring ? ['promtool', 'amtool'] : [])];
  const missing = tools.filter((t) => !existsSync(join(paths.bin, t))).map((t) => join(paths.bin, t));
  if (!existsSync(join(paths.schemas, 'crds'))) missing.push(join(paths.schemas, 'crds'));
  for (const v of versions) {
    const dir = schemaDir(paths, v);
    if (!existsSync(join(dir, '_definitions.json'))) missing.push(dir);
  }
  return missing;
}

/** What a check found in one document; where the document lives is added when it is reported. */
export type Finding = Pick<Failure, 'rule' | 'field' | 'message' | 'hint'>;

/** A checker's verdicts: the findings per document it reported on, and failures of the run itself. */
export interface Verdicts {
  readonly byDoc: Map<ManifestDoc, Finding[]>;
  readonly errors: Failure[];
}

/** A layer that judges each document on its own, with an external program. */
export interface DocumentChecker {
  readonly layer: 'schema' | 'api-schema';
  /**
   * Everything besides the document that decides a verdict (tool build, schemas, Kubernetes
   * version, this code), or undefined when it cannot be identified and nothing may be cached.
   */
  fingerprint(kubernetesVersion: string): string | undefined;
  check(docs: ManifestDoc[], kubernetesVersion: string): Promise<Verdicts>;
}

/** A failure with the document's place filled in. */
export function located(layer: Failure['layer'], doc: ManifestDoc, finding: Finding): Failure {
  return { layer, cluster: doc.cluster, file: doc.file, object: describeObject(doc.obj), ...finding };
}

/** Runs a checker and reports its verdicts as failures (tests and single runs without a cache). */
export async function runChecker(checker: DocumentChecker, docs: ManifestDoc[], kubernetesVersion: string): Promise<Failure[]> {
  if (docs.length === 0) return [];
  const { byDoc, errors } = await checker.check(docs, kubernetesVersion);
  return [...errors, ...[...byDoc].flatMap(([doc, findings]) => findings.map((f) => located(checker.layer, doc, f)))];
}

export const runKubeconform = (paths: ToolPaths, docs: ManifestDoc[], kubernetesVersion: string) => runChecker(kubeconform(paths), docs, kubernetesVersion);
export const runKubectlValidate = (paths: ToolPaths, docs: ManifestDoc[], kubernetesVersion: string) => runChecker(kubectlValidate(paths), docs, kubernetesVersion);

interface Staged {
  readonly dir: string;
  readonly byFile: Map<string, ManifestDoc>;
}

function stage(docs: ManifestDoc[]): Staged {
  const dir = mkdtempSync(join(tmpdir(), 'ml-platform-validate-'));
  const byFile = new Map<string, ManifestDoc>();
  docs.forEach((doc, i) => {
    const file = join(dir, `${String(i).padStart(5, '0')}.json`);
    writeFileSync(file, JSON.stringify(stagedObject(doc)));
    byFile.set(file, doc);
  });
  return { dir, byFile };
}

/** The object as the API server would receive it: SOPS keeps its metadata beside the object. */
export function stagedObject(doc: ManifestDoc): Record<string, unknown> {
  const obj = { ...doc.obj };
  delete obj.sops;
  // Generated manifests (controller-gen's, in upstream charts) carry `creationTimestamp: null`,
  // which the API server reads as unset and fills in; kubeconform's schema wants a string.
  if (obj.metadata && typeof obj.metadata === 'object' && (obj.metadata as Record<string, unknown>).creationTimestamp === null) {
    const metadata = { ...(obj.metadata as Record<string, unknown>) };
    delete metadata.creationTimestamp;
    obj.metadata = metadata;
  }
  return obj;
}

const RBAC_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

/**
 * Whether the API server accepts what kubectl-validate reports. kubectl-validate judges every
 * `metadata.name` as a DNS subdomain, but the API server validates the names of RBAC objects as
 * path segments (ValidateRBACName in Kubernetes' pkg/apis/rbac/validation): anything without
 * `/` or `%`, other than `.` and `..`, which is why `system:controller:…` roles exist.
 */
export function apiServerAccepts(doc: ManifestDoc, finding: Finding): boolean {
  const name = doc.obj?.metadata?.name;
  const rbac = RBAC_KINDS.has(doc.obj?.kind) && String(doc.obj?.apiVersion).startsWith('rbac.authorization.k8s.io/');
  return rbac && finding.field === 'metadata.name' && /RFC 1123 subdomain/.test(finding.message) && typeof name === 'string' && name !== '.' && name !== '..' && !/[/%]/.test(name);
}

/** How a program ended. */
export interface ProgramRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const execFileAsync = promisify(execFile);

/** Runs a program to its end, without blocking the others; a non-zero exit is a result, not an error. */
export async function runProgram(binary: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ProgramRun> {
  try {
    const { stdout, stderr } = await execFileAsync(binary, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
    return { status: 0, stdout, stderr };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw new Error(`could not run ${binary}: ${e.message}; run 'bash tools/install-tools.sh'`);
    return { status: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const leafErrors = (msg: string): { field: string; message: string }[] => {
  const out: { field: string; message: string }[] = [];
  const re = /- at '([^']*)': (.*?)(?=\s+- at '|$)/g;
  for (let m = re.exec(msg); m; m = re.exec(msg)) {
    if (/^'(allOf|anyOf|oneOf)' failed$|^validation failed$/.test(m[2].trim())) continue;
    out.push({ field: m[1].replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.') || '(root)', message: m[2].trim() });
  }
  return out;
};

/** kubeconform's findings for one resource of its report. */
function kubeconformFindings(doc: ManifestDoc | undefined, r: { status?: string; msg?: string }): Finding[] {
  if (r.status === 'statusValid' || r.status === 'statusSkipped') return [];
  if (/could not find schema/.test(r.msg ?? '')) {
    return [{ rule: 'schema/missing', field: 'apiVersion/kind', message: `no schema for ${doc?.obj.apiVersion}/${doc?.obj.kind}`, hint: 'a typo in apiVersion or kind, or a custom resource whose CRD schema is not installed (tools/install-tools.sh)' }];
  }
  const leaves = leafErrors(r.msg ?? '');
  if (leaves.length === 0) return [{ rule: 'schema/invalid', field: '-', message: (r.msg ?? r.status ?? 'invalid').slice(0, 500), hint: 'fix the object to match its Kubernetes schema' }];
  return leaves.map((l) => {
    const unknown = /additional properties? (.*) not allowed/.exec(l.message);
    return {
      rule: unknown ? 'schema/unknown-field' : 'schema/invalid',
      field: unknown ? `${l.field === '(root)' ? '' : `${l.field}.`}${unknown[1].replace(/'/g, '')}` : l.field,
      message: l.message,
      hint: unknown ? 'remove the field or fix its spelling (strict schema)' : 'use the type and values the Kubernetes schema expects',
    };
  });
}

/** Validates against strict JSON schemas with kubeconform. A kind without a schema is an error. */
export function kubeconform(paths: ToolPaths): DocumentChecker {
  return {
    layer: 'schema',
    fingerprint(kubernetesVersion) {
      const files = filesDigest(join(paths.bin, '.kubeconform.version'), join(schemaDir(paths, kubernetesVersion), '.stamp'), join(paths.schemas, 'crds', '.stamp'));
      return files && digest(files, kubernetesVersion);
    },
    async check(docs, kubernetesVersion) {
      const staged = stage(docs);
      try {
        const result = await runProgram(join(paths.bin, 'kubeconform'), [
          // -verbose lists valid resources too: a verdict is only taken from what the report names.
          '-strict', '-output', 'json', '-verbose', '-n', '4',
          '-kubernetes-version', `${kubernetesVersion}.0`,
          '-schema-location', join(paths.schemas, '{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}', '{{ .ResourceKind }}{{ .KindSuffix }}.json'),
          '-schema-location', join(paths.schemas, 'crds', '{{ .ResourceKind }}{{ .KindSuffix }}.json'),
          staged.dir,
        ]);
        const byDoc = new Map<ManifestDoc, Finding[]>();
        let report: { resources?: { filename: string; status?: string; msg?: string }[] } = {};
        try {
          report = JSON.parse(result.stdout || '{"resources":[]}');
        } catch {
          // Reported below as a failure of the tool.
        }
        for (const r of report.resources ?? []) {
          const doc = staged.byFile.get(r.filename);
          if (doc) byDoc.set(doc, [...(byDoc.get(doc) ?? []), ...kubeconformFindings(doc, r)]);
        }
        const errors: Failure[] = [];
        if (byDoc.size < staged.byFile.size || result.status === null || result.status > 1) {
          errors.push({ layer: 'schema', rule: 'schema/tool', file: '-', object: '-', field: '-', message: `kubeconform exited ${result.status} and reported ${byDoc.size} of ${staged.byFile.size} objects: ${result.stderr.slice(0, 300)}`, hint: 'run tools/install-tools.sh' });
          // An incomplete run proves nothing about the objects it did not name: keep no verdicts.
          byDoc.clear();
        }
        return { byDoc, errors };
      } finally {
        rmSync(staged.dir, { recursive: true, force: true });
      }
    },
  };
}

/** Validates with kubectl-validate, which uses the API server's decoding and validation code. */
export function kubectlValidate(paths: ToolPaths): DocumentChecker {
  return {
    layer: 'api-schema',
    fingerprint(kubernetesVersion) {
      const crds = existsSync(paths.crds) ? readdirSync(paths.crds).sort().map((f) => join(paths.crds, f)) : [];
      const files = filesDigest(join(paths.bin, '.kubectl-validate.version'), ...crds);
      const { args, source } = kubectlValidateVersionArgs(paths, kubernetesVersion);
      return files && digest(files, kubernetesVersion, ...args.filter((a) => !a.startsWith('/')), source ?? '');
    },
    async check(docs, kubernetesVersion) {
      const staged = stage(docs);
      try {
        mkdirSync(paths.crds, { recursive: true });
        const { args } = kubectlValidateVersionArgs(paths, kubernetesVersion);
        const result = await runProgram(join(paths.bin, 'kubectl-validate'), [...args, '--output', 'json', '--local-crds', paths.crds, staged.dir], {
          // Never ask a live cluster: validate against the pinned built-in schemas only.
          env: { ...process.env, KUBECONFIG: join(staged.dir, 'no-kubeconfig') },
        });
        return parseKubectlValidate(result, staged);
      } finally {
        rmSync(staged.dir, { recursive: true, force: true });
      }
    },
  };
}

type KubectlValidateResult = { details?: { causes?: { field?: string; message?: string; reason?: string }[] }; message?: string; status?: string };

function parseKubectlValidate({ status, stdout, stderr }: ProgramRun, staged: Staged): Verdicts {
  const byDoc = new Map<ManifestDoc, Finding[]>();
  const toolFailure = (message: string): Verdicts => ({
    byDoc: new Map(),
    errors: [{ layer: 'api-schema', rule: 'api-schema/tool', file: '-', object: '-', field: '-', message, hint: 'run tools/install-tools.sh' }],
  });
  let report: Record<string, KubectlValidateResult[]>;
  try {
    report = JSON.parse(stdout);
  } catch {
    return toolFailure(`kubectl-validate exited ${status}: ${(stderr || stdout).slice(0, 300)}`);
  }
  for (const [file, results] of Object.entries(report)) {
    const doc = staged.byFile.get(file);
    if (!doc) continue;
    byDoc.set(doc, results.flatMap(kubectlValidateFindings).filter((f) => !apiServerAccepts(doc, f)));
  }
  if (byDoc.size < staged.byFile.size) return toolFailure(`kubectl-validate exited ${status} and reported ${byDoc.size} of ${staged.byFile.size} objects: ${stderr.slice(0, 300)}`);
  return { byDoc, errors: [] };
}

function kubectlValidateFindings(r: KubectlValidateResult): Finding[] {
  if (r.status === 'Success') return [];
  const causes = r.details?.causes ?? [];
  if (causes.length === 0) return [{ rule: 'api-schema/invalid', field: '-', message: r.message ?? 'invalid', hint: 'fix the object as the API server would require' }];
  return causes.map((c) => {
    const unknown = /unknown field/.test(c.message ?? '');
    return {
      rule: unknown ? 'api-schema/unknown-field' : 'api-schema/invalid',
      field: c.field ?? '-',
      message: c.message ?? c.reason ?? 'invalid',
      hint: unknown ? 'remove the field or fix its spelling' : 'fix the value as the API server would require',
    };
  });
}
