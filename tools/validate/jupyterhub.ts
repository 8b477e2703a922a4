// The jupyterhub layer: every rendered jupyterhub_config.py is loaded by the JupyterHub,
// KubeSpawner and OAuthenticator releases of the hub image (checks/jupyterhub, a locked Python
// environment): unknown or misspelt settings, wrong types, unknown role scopes and culler
// arguments fail. The hub Deployment must provide every environment variable the config needs.
// KubeSpawner also builds the notebook server pod and home volume of every profile; they join the
// cluster's documents, so schema, policy (Pod Security restricted), references and the API-server
// dry-run judge them like rendered objects.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HUB_CONFIG_FILE } from '@ml-platform/jupyterhub';
import { describeObject, Failure, Json, ManifestDoc, podSpecOf } from './model';
import { run, ToolResults } from './programs';

const execFileAsync = promisify(execFile);

/** The Python project that checks hub configs, relative to the repository root. */
const CHECK_PROJECT = 'checks/jupyterhub';

/** What the check said about one config. */
interface CheckOutput {
  readonly problems: { setting: string; message: string }[];
  readonly env: string[];
  readonly spawned: { profile: string; pod: Json; pvc: Json; url: string }[];
}

/** A notebook server pod KubeSpawner would create, and the URL the hub and the proxy would reach it at. */
export interface SpawnedServer {
  readonly doc: ManifestDoc;
  readonly url: string;
}

/** The hub configs among `docs`: ConfigMaps with a jupyterhub_config.py. */
function hubConfigs(docs: ManifestDoc[]): ManifestDoc[] {
  return docs.filter((d) => d.obj.kind === 'ConfigMap' && typeof d.obj.data?.[HUB_CONFIG_FILE] === 'string');
}

export function hasHubConfigs(docs: ManifestDoc[]): boolean {
  return hubConfigs(docs).length > 0;
}

/** What identifies the checker's build: its lockfile and sources (results are kept by it). */
function checkerBuild(root: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        if (name !== '__pycache__') walk(path);
      } else hash.update(path.slice(root.length)).update(readFileSync(path));
    }
  };
  hash.update(readFileSync(join(root, CHECK_PROJECT, 'uv.lock')));
  walk(join(root, CHECK_PROJECT, 'src'));
  return hash.digest('hex');
}

/**
 * The checker's Python, its locked environment made or refreshed first (tools/uv.sh; quick when
 * current). Asynchronous: on a fresh checkout the sync installs, or waits for another project's
 * install to release uv's lock, for minutes, which must not block the caller's event loop (a test
 * runner's worker stops answering its runner).
 */
export async function hubChecker(root: string): Promise<{ python: string; build: string }> {
  try {
    await execFileAsync('bash', [join(root, 'tools', 'uv.sh'), 'sync', '--locked', '--quiet', '--project', join(root, CHECK_PROJECT)], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    throw new Error(`'bash tools/uv.sh sync --locked --project ${CHECK_PROJECT}' failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
  }
  const python = join(root, CHECK_PROJECT, '.venv', 'bin', 'python');
  if (!existsSync(python)) throw new Error(`${python} is missing after 'uv sync'; run 'bash tools/uv.sh sync --locked --project ${CHECK_PROJECT}'`);
  return { python, build: checkerBuild(root) };
}

/** The environment the Deployment that mounts ConfigMap `name` gives its containers. */
function deploymentEnv(docs: ManifestDoc[], namespace: string, name: string): { doc: ManifestDoc; env: Set<string> } | undefined {
  for (const d of docs) {
    const pod = podSpecOf(d.obj);
    if (!pod || d.obj.metadata?.namespace !== namespace) continue;
    if (!(pod.spec.volumes ?? []).some((v: Json) => v.configMap?.name === name)) continue;
    const env = new Set<string>((pod.spec.containers ?? []).flatMap((c: Json) => (c.env ?? []).map((e: Json) => String(e.name))));
    return { doc: d, env };
  }
  return undefined;
}

/** Findings and the objects KubeSpawner would create, for every hub config in one cluster's documents. */
export async function checkHubConfigs(
  docs: ManifestDoc[],
  checker: { python: string; build: string },
  cache: ToolResults | undefined,
): Promise<{ failures: Failure[]; spawned: ManifestDoc[]; servers: SpawnedServer[] }> {
  const failures: Failure[] = [];
  const spawned: ManifestDoc[] = [];
  const servers: SpawnedServer[] = [];
  await Promise.all(
    hubConfigs(docs).map(async (doc) => {
      const field = `data['${HUB_CONFIG_FILE}']`;
      const fail = (rule: string, message: string, hint: string, at: ManifestDoc = doc, where = field) =>
        failures.push({ layer: 'jupyterhub', rule, cluster: at.cluster, file: at.file, object: describeObject(at.obj), field: where, message, hint });
      const dir = mkdtempSync(join(tmpdir(), 'ml-platform-jupyterhub-'));
      let output: CheckOutput;
      try {
        writeFileSync(join(dir, HUB_CONFIG_FILE), doc.obj.data[HUB_CONFIG_FILE]);
        const result = await run(checker.python, ['-m', 'jupyterhub_check', HUB_CONFIG_FILE], dir, cache, checker.build);
        try {
          // One JSON line on stdout; what JupyterHub logs goes to stderr, after it.
          output = JSON.parse(result.output.split('\n').find((l) => l.startsWith('{"problems":')) ?? '');
        } catch {
          fail('jupyterhub/check', `the check did not finish: ${result.output.slice(-1000)}`, `run 'bash tools/uv.sh run --project ${CHECK_PROJECT} python -m jupyterhub_check <file>' to see why`);
          return;
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      for (const p of output.problems) fail('jupyterhub/config', `${p.setting}: ${p.message}`, 'fix the setting in libs/jupyterhub/src/jupyterhub.ts (hubSettings) or the cluster.yaml value it comes from');
      const deployment = deploymentEnv(docs, doc.obj.metadata?.namespace, doc.obj.metadata?.name);
      if (!deployment) {
        fail('jupyterhub/environment', 'no Deployment in the namespace mounts this ConfigMap', 'mount the hub config into the hub Deployment');
      } else {
        for (const name of output.env.filter((n) => !deployment.env.has(n))) {
          fail('jupyterhub/environment', `the hub needs ${name} in its environment and its containers do not set it`, 'add it to the hub container\'s env (from its Secret)', deployment.doc, 'spec.template.spec.containers[0].env');
        }
      }
      for (const s of output.spawned) {
        for (const [what, obj] of [['pod', s.pod], ['home volume', s.pvc]] as const) {
          if (!obj || Object.keys(obj).length === 0) continue;
          const built = { file: `${doc.file} (KubeSpawner ${what}, profile ${s.profile})`, absPath: doc.absPath, index: -1, cluster: doc.cluster, obj };
          spawned.push(built);
          if (what === 'pod') servers.push({ doc: built, url: s.url });
        }
      }
    }),
  );
  return { failures, spawned, servers };
}

/** True when certificate name `pattern` (one leading `*.` label at most) covers `host`. */
function coversHost(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === host;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot + 1) === pattern.slice(2);
}

/**
 * Where the cluster serves credentials over TLS only: the proxy and the hub must reach every
 * notebook server KubeSpawner would create over https (people's cookies for their servers cross
 * that hop), at a name that a certificate of the pod's namespace holds, which the container
 * serving the URL's port mounts. The plain-text rule cannot see this hop: KubeSpawner learns the
 * address at spawn time.
 */
export function checkNotebookServerTls(docs: ManifestDoc[], servers: readonly SpawnedServer[]): Failure[] {
  const failures: Failure[] = [];
  for (const { doc, url } of servers) {
    const fail = (message: string, hint: string) =>
      failures.push({ layer: 'policy', rule: 'tls/notebook-server', cluster: doc.cluster, file: doc.file, object: describeObject(doc.obj), field: 'KubeSpawner.get_pod_url', message, hint });
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      fail(`KubeSpawner gives the server no URL the proxy could use: '${url}'`, 'see the jupyterhub check of the hub config');
      continue;
    }
    if (parsed.protocol !== 'https:') {
      fail(`the proxy and the hub reach the server at '${url}', in plain text; people's cookies for their servers cross this hop`, 'give the notebook servers a TLS sidecar (NotebookServersChart, with the internal CA on)');
      continue;
    }
    const namespace = doc.obj.metadata?.namespace;
    const port = Number(parsed.port || 443);
    const spec = doc.obj.spec ?? {};
    const serving = (spec.containers ?? []).find((c: Json) => (c.ports ?? []).some((p: Json) => p.containerPort === port));
    const secretOf = new Map<string, string>((spec.volumes ?? []).filter((v: Json) => v.secret?.secretName).map((v: Json) => [v.name, v.secret.secretName]));
    const mounted = new Set<string>((serving?.volumeMounts ?? []).map((m: Json) => secretOf.get(m.name)).filter(Boolean));
    const names = docs
      .filter((d) => d.obj.kind === 'Certificate' && d.obj.metadata?.namespace === namespace && mounted.has(d.obj.spec?.secretName))
      .flatMap((d) => (d.obj.spec?.dnsNames ?? []) as string[]);
    if (!serving) fail(`no container of the server's pod declares port ${port}, which '${url}' names`, 'declare the TLS sidecar\'s port, the one get_pod_url returns');
    else if (!names.some((n) => coversHost(n, parsed.hostname))) {
      fail(`'${parsed.hostname}' is in no certificate that container '${serving.name}' mounts (names: ${names.join(', ') || 'none'}); the proxy would refuse the server`, 'make get_pod_url and the notebook certificate\'s dnsNames agree');
    }
  }
  return failures;
}

/** The file name of a document KubeSpawner would create (`checkHubConfigs`). */
const SPAWNED_BY_KUBESPAWNER = /\(KubeSpawner (pod|home volume), profile [^)]*\)$/;

/**
 * True for an API-server warning about an object KubeSpawner would create that the render cannot
 * avoid: KubeSpawner 7.0 sets the deprecated annotation volume.beta.kubernetes.io/storage-class
 * beside storageClassName on every home volume whose class it is given (kubespawner/objects.py,
 * make_pvc). The volume is created as intended; the hub only logs the warning.
 */
export function isKubeSpawnerDeprecation(f: Failure): boolean {
  return f.rule === 'api-server/warning' && SPAWNED_BY_KUBESPAWNER.test(f.file) && /volume\.beta\.kubernetes\.io\/storage-class\]: deprecated/.test(f.message);
}
