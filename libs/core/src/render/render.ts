import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { App } from 'cdk8s';
import { dump, DUMP_SCHEMA, NOT_RESOLVED, ScalarTagDefinition } from 'js-yaml';
import { z } from 'zod';
import { ClusterBaseConfig, contextFromConfig } from '../config/cluster';
import { ConfigError, loadConfigFile } from '../config/load';
import { PlatformContext, ReviewEnvironment } from '../context';
import { ChartRef } from '../charts';
import { ContainerImage, ImageRef } from '../images';
import { RepositoryFiles } from '../repository-files';
import { SecretRequirements } from '../secrets';
import { compare, SecretRequirement } from '../secrets';
import { checkRendered, checkSecretsProvided } from './checks';
import { matchSecrets, readSopsSecrets, SopsSecretFile } from './sops-secrets';
import { collectObjects, RenderedObject } from './collect';
import { buildInventory, Inventory, inventoryMarkdown } from './inventory';
import { OutputFile, writeFileAtomically, writeTreeAtomically } from './write';

/** What a cluster app renders and how. */
export interface ClusterRenderSpec<C extends ClusterBaseConfig> {
  /** Cluster name: the app's name, its folder under `clusters/` and under `dist-manifests/`. */
  readonly cluster: string;
  /** The full cluster configuration schema. */
  readonly schema: z.ZodType<C>;
  /** Every image the cluster's components may run (the catalog its pins are checked against). */
  readonly images: readonly ContainerImage[];
  /**
   * Composes the cluster's charts into `app` from its validated configuration. A method, so
   * that the spec of any cluster configuration is also a spec of the base configuration.
   */
  compose(app: App, config: C, context: PlatformContext): void;
  /**
   * Renders what is installed before the first sync (the bootstrap module), as files of the
   * cluster's folder that carry `header`, and the Helm charts it installs.
   *
   * @default - the cluster has no rendered bootstrap
   */
  bootstrap?(config: C, header: string): RenderedBootstrap;
  /**
   * The cluster's GitLab CI jobs beyond its bootstrap's (review environments), as files of its
   * folder that carry `header`; `.gitlab-ci.yml` includes them.
   *
   * @default - none
   */
  jobs?(config: C, header: string): readonly OutputFile[];
  /**
   * The review environment this spec renders, beside the cluster's own render.
   *
   * @default - the cluster's own render
   */
  readonly review?: ReviewEnvironment;
}

/** The bootstrap module of a cluster: files of `dist-manifests/<cluster>/` and the charts it installs. */
export interface RenderedBootstrap {
  readonly files: readonly OutputFile[];
  readonly charts: readonly ChartRef[];
}

/** Where to read and write; defaults follow the repository layout. */
export interface RenderLocations {
  /** @default `<workspace>/clusters/<cluster>/cluster.yaml` */
  readonly configFile?: string;
  /** @default `<workspace>/dist-manifests` */
  readonly outRoot?: string;
  /** @default - the nearest folder above the working directory with an `nx.json` */
  readonly workspaceRoot?: string;
}

/** The outcome of a render, in memory. */
export interface RenderResult {
  readonly objects: RenderedObject[];
  /** Files of `dist-manifests/<cluster>/`. */
  readonly files: OutputFile[];
  /** Files elsewhere in the repository, relative to its root. */
  readonly repositoryFiles: OutputFile[];
  readonly inventory: Inventory;
}

/** YAML 1.2 core floats, including those too large for a double (`41e0368803`). */
const CORE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const FLOAT_TAG = 'tag:yaml.org,2002:float';
const dumpFloat = DUMP_SCHEMA.tags.find((t) => t.tagName === FLOAT_TAG) as ScalarTagDefinition<number>;

/**
 * js-yaml's dump schema, except that a string any YAML 1.2 parser reads as a float is quoted
 * too: js-yaml takes a float that overflows (a revision hash such as `41e0368803`) for a string
 * and writes it plain, which the yaml library and others then read as infinity.
 */
const MANIFEST_SCHEMA = DUMP_SCHEMA.withTags({
  ...dumpFloat,
  resolve: (source: string, isExplicit: boolean, tagName: string) => {
    const value = dumpFloat.resolve(source, isExplicit, tagName);
    return value === NOT_RESOLVED && !isExplicit && CORE_FLOAT.test(source) ? Number(source) : value;
  },
});

/**
 * The YAML text of one manifest. js-yaml writes plain data at twice the speed of the yaml
 * library (the render's largest cost at 10,000 objects), and quotes every string that a YAML
 * 1.1 parser such as Kubernetes' or a YAML 1.2 parser would read as another type (`on`, `yes`,
 * `0x1f`, `1_000`, `41e0368803`).
 */
export function manifestYaml(manifest: unknown): string {
  return dump(manifest, { lineWidth: -1, noRefs: true, quoteStyle: 'double', schema: MANIFEST_SCHEMA });
}

/** The nearest folder at or above `start` that holds `nx.json`. */
export function findWorkspaceRoot(start: string): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no nx.json found at or above ${start}; run from inside the repository`);
    dir = parent;
  }
}

/**
 * Renders a cluster in memory: validates config, composes, synthesizes, checks. Writes nothing.
 * `secretsDir` null: the render takes no encrypted Secret (a review environment's are generated
 * when it is applied). `header` goes on top of every file.
 */
export function renderInMemory<C extends ClusterBaseConfig>(
  spec: ClusterRenderSpec<C>,
  config: C,
  configName = `clusters/${spec.cluster}/cluster.yaml`,
  secretsDir: string | null = join(findWorkspaceRoot(process.cwd()), 'clusters', spec.cluster, 'secrets'),
  header = `Generated by apps/${spec.cluster} from clusters/${spec.cluster}/cluster.yaml; do not edit, run 'npm run synth'.`,
): RenderResult {
  const secretsName = `${dirname(configName)}/secrets`;
  const sops = secretsDir === null ? { secrets: [], problems: [] } : readSopsSecrets(secretsDir, secretsName, config.secrets.ageRecipients);
  const versions = Object.fromEntries(sops.secrets.map((f) => [`${f.namespace}/${f.name}`, String(f.manifest.sops?.mac ?? '')]));
  const app = new App({ recordConstructMetadata: false });
  spec.compose(app, config, contextFromConfig(config, spec.images, versions, spec.review));
  const secrets = SecretRequirements.of(app).list();
  const secretProblems = [...sops.problems, ...matchSecrets(secrets, sops.secrets)];
  if (secretProblems.length > 0) throw new Error(`encrypted Secrets of cluster '${spec.cluster}' do not fit the render:\n${secretProblems.map((p) => `  - ${p}`).join('\n')}`);
  const objects = [...collectObjects(app), ...sops.secrets].sort((a, b) => compare(a.path, b.path));
  const unprovided = checkSecretsProvided(secrets, objects, config.external.secrets);
  if (unprovided.length > 0) {
    throw new ConfigError(configName, unprovided.map((p) => `external.secrets: ${p}; create it encrypted with 'npm run secrets -- create ${spec.cluster}', or declare it here if it is provided otherwise`));
  }
  const problems = checkRendered(objects);
  if (problems.length > 0) {
    throw new Error(`rendered objects break the platform's rules:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  const bootstrap = spec.bootstrap?.(config, header) ?? { files: [], charts: [] };
  const inventory = buildInventory(spec.cluster, config.kubernetesVersion, objects, secrets, SecretRequirements.of(app).vaultPaths(), bootstrap.charts);
  const files: OutputFile[] = [
    // Encrypted Secrets are copied byte for byte: their SOPS MAC covers what is in them.
    ...objects.map((o) => ({ path: o.path, content: 'verbatim' in o ? (o as SopsSecretFile).verbatim : `# ${header}\n${manifestYaml(o.manifest)}` })),
    ...bootstrap.files,
    ...(spec.jobs?.(config, header) ?? []),
    { path: 'inventory.json', content: `${JSON.stringify(inventory, null, 2)}\n` },
    { path: 'INVENTORY.md', content: inventoryMarkdown(inventory, header) },
  ];
  const repositoryFiles = RepositoryFiles.of(app)
    .list()
    .map((f) => ({ path: f.path, content: `# ${header}\n${f.content}` }));
  return { objects, files, repositoryFiles, inventory };
}

/** Composes the cluster's constructs without synthesizing them or reading any Secret file. */
function composeOnly<C extends ClusterBaseConfig>(spec: ClusterRenderSpec<C>, config: C) {
  const app = new App({ recordConstructMetadata: false });
  const context = contextFromConfig(config, spec.images, undefined, spec.review);
  spec.compose(app, config, context);
  return { app, context };
}

/** The Secrets a cluster's render refers to, without rendering or reading any Secret file. */
export function requiredSecrets<C extends ClusterBaseConfig>(spec: ClusterRenderSpec<C>, config: C): SecretRequirement[] {
  return SecretRequirements.of(composeOnly(spec, config).app).list();
}

/** The images a cluster runs, with its pins and registry mirrors applied, by catalog key. */
export function clusterImages<C extends ClusterBaseConfig>(spec: ClusterRenderSpec<C>, config: C): ImageRef[] {
  return composeOnly(spec, config).context.images.usedImages;
}

/** Loads the cluster's configuration; throws `ConfigError` naming file and key paths. */
export function loadClusterConfig<C extends ClusterBaseConfig>(
  spec: ClusterRenderSpec<C>,
  configFile: string,
  displayName: string,
): C {
  const config = loadConfigFile(configFile, spec.schema, displayName);
  if (config.name !== spec.cluster) {
    throw new ConfigError(displayName, [`name: expected "${spec.cluster}" (the cluster's folder and app), found the string ${JSON.stringify(config.name)}`]);
  }
  return config;
}

/** Loads, renders and atomically writes one cluster. Nothing is written unless all of it succeeded. */
export function renderCluster<C extends ClusterBaseConfig>(spec: ClusterRenderSpec<C>, locations: RenderLocations = {}): RenderResult {
  const root = locations.workspaceRoot ?? findWorkspaceRoot(process.cwd());
  const configFile = resolve(root, locations.configFile ?? join('clusters', spec.cluster, 'cluster.yaml'));
  const outRoot = resolve(root, locations.outRoot ?? 'dist-manifests');
  const displayName = relative(root, configFile) || configFile;
  const config = loadClusterConfig(spec, configFile, displayName.startsWith('..') ? configFile : displayName);
  const result = renderInMemory(spec, config, displayName.startsWith('..') ? configFile : displayName, join(dirname(configFile), 'secrets'));
  writeTreeAtomically(outRoot, spec.cluster, result.files);
  for (const f of result.repositoryFiles) writeFileAtomically(join(dirname(outRoot), f.path), f.content);
  return result;
}

/** How the render of one cluster ended, for the command line and for Nx. */
export interface ClusterRenderOutcome {
  readonly cluster: string;
  readonly success: boolean;
  /** The summary line, or the error saying what is wrong and where. */
  readonly message: string;
}

/**
 * Renders clusters one after another in this process (one Node start and one module load for
 * all of them). A failing cluster leaves its tree unchanged and does not stop the others.
 */
export function renderClusters(specs: readonly ClusterRenderSpec<ClusterBaseConfig>[], locations: RenderLocations = {}): ClusterRenderOutcome[] {
  return specs.map((spec) => {
    const started = process.hrtime.bigint();
    try {
      const result = renderCluster(spec, locations);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      return { cluster: spec.cluster, success: true, message: `rendered ${spec.cluster}: ${result.objects.length} objects in ${ms.toFixed(0)} ms` };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { cluster: spec.cluster, success: false, message: `render of cluster '${spec.cluster}' failed; dist-manifests/${spec.cluster} is unchanged.\n${message}` };
    }
  });
}

/** What the render command line asks for. */
export interface RenderArguments {
  readonly clusters: string[];
  readonly locations: RenderLocations;
}

const RENDER_USAGE = 'usage: render.js [--config <cluster.yaml>] [--out <dist-manifests root>] <cluster>...';

/** Parses `[--config <file>] [--out <dir>] <cluster>...`; throws with the usage on anything else. */
export function parseRenderArguments(argv: readonly string[]): RenderArguments {
  const clusters: string[] = [];
  const locations: { configFile?: string; outRoot?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if ((arg === '--config' || arg === '--out') && value !== undefined) {
      if (arg === '--config') locations.configFile = resolve(value);
      else locations.outRoot = resolve(value);
      i++;
    } else if (!arg.startsWith('-')) {
      clusters.push(arg);
    } else {
      throw new Error(`unknown argument '${arg}'; ${RENDER_USAGE}`);
    }
  }
  if (clusters.length === 0) throw new Error(`no cluster named; ${RENDER_USAGE}`);
  if (locations.configFile && clusters.length > 1) throw new Error(`--config names one cluster's file, not ${clusters.length}; ${RENDER_USAGE}`);
  return { clusters, locations };
}

/**
 * Command-line entry of the render. `specOf` finds each named cluster's spec (its app) and
 * throws, naming the known clusters, for any other name. Prints one line per cluster, or its
 * error, and returns the process exit code.
 */
export function runRenderCli(specOf: (cluster: string) => ClusterRenderSpec<ClusterBaseConfig>, argv: readonly string[]): number {
  let specs: ClusterRenderSpec<ClusterBaseConfig>[];
  let locations: RenderLocations;
  try {
    const args = parseRenderArguments(argv);
    specs = args.clusters.map(specOf);
    locations = args.locations;
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  }
  let exitCode = 0;
  for (const outcome of renderClusters(specs, locations)) {
    if (outcome.success) console.log(outcome.message);
    else {
      console.error(outcome.message);
      exitCode = 1;
    }
  }
  return exitCode;
}
