// One measurement of `npm run bench` (tools/bench.mjs), in a fresh Node process as in CI. Prints
// one JSON line: objects rendered, wall time inside the process and peak resident memory.
//   node dist/tools/bench-render.js scale <tenants> <out> [<cluster.yaml out>]
//                                                            prod plus <tenants> copies of its data
//                                                            services and MLflow (about 31 objects each);
//                                                            with a third argument, also writes prod's
//                                                            cluster.yaml naming the tenants' Secrets
//                                                            as external (for validating the render)
//   node dist/tools/bench-render.js clusters <workspace> <name>...   render those clusters of a
//                                                            generated workspace, one process
import { App } from 'cdk8s';
import { ClusterRenderSpec, findWorkspaceRoot, loadClusterConfig, PlatformContext, renderClusters, renderInMemory, requiredSecrets, writeTreeAtomically } from '@ml-platform/core';
import { MinioChart, MinioMode } from '@ml-platform/minio';
import { MlflowChart } from '@ml-platform/mlflow';
import { ClusterConfig, platformRenderSpec } from '@ml-platform/platform';
import { PostgresChart } from '@ml-platform/postgres';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

/** Prod's platform plus `tenants` more PostgreSQL + MinIO + MLflow stacks, each in its own namespaces. */
function scaledSpec(tenants: number): ClusterRenderSpec<ClusterConfig> {
  const base = platformRenderSpec('prod');
  return {
    ...base,
    compose(app: App, config: ClusterConfig, context: PlatformContext) {
      base.compose(app, config, context);
      for (let i = 0; i < tenants; i++) {
        const postgres = new PostgresChart(app, `postgres-${i}`, { context, storageSize: '10Gi', databases: ['mlflow'] });
        const minio = new MinioChart(app, `minio-${i}`, { context, mode: MinioMode.STANDALONE, storageSize: '10Gi', buckets: [{ name: 'mlflow', consumer: `mlflow-${i}` }] });
        new MlflowChart(app, `mlflow-${i}`, { context, database: postgres.database('mlflow'), artifacts: minio.bucket('mlflow') });
      }
    },
  };
}

function report(values: Record<string, number>): void {
  console.log(JSON.stringify({ ...values, peakMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
}

const [mode, ...args] = process.argv.slice(2);
const started = performance.now();
if (mode === 'scale') {
  const [tenants, out, configOut] = [Number(args[0]), args[1], args[2]];
  const root = findWorkspaceRoot(process.cwd());
  const spec = scaledSpec(tenants);
  const loaded = loadClusterConfig(spec, join(root, 'clusters/prod/cluster.yaml'), 'clusters/prod/cluster.yaml');
  // The tenants' Secrets would come from outside (their values are not in Git).
  const config = { ...loaded, external: { ...loaded.external, secrets: [...new Set([...loaded.external.secrets, ...requiredSecrets(spec, loaded).map((s) => s.name)])] } };
  const result = renderInMemory(spec, config, 'clusters/prod/cluster.yaml', join(root, 'clusters/prod/secrets'));
  writeTreeAtomically(out, 'prod', result.files);
  if (configOut) {
    const raw = parse(readFileSync(join(root, 'clusters/prod/cluster.yaml'), 'utf8'));
    raw.external.secrets = config.external.secrets;
    writeFileSync(configOut, stringify(raw));
  }
  report({ objects: result.objects.length, ms: performance.now() - started });
} else if (mode === 'clusters') {
  const [workspaceRoot, ...names] = args;
  const outcomes = renderClusters(names.map(platformRenderSpec), { workspaceRoot });
  const failed = outcomes.filter((o) => !o.success);
  if (failed.length > 0) throw new Error(failed.map((o) => o.message).join('\n'));
  report({ clusters: names.length, ms: performance.now() - started });
} else {
  throw new Error('usage: bench-render.js scale <tenants> <out> | clusters <workspace> <name>...');
}
