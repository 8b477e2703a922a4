// The log shipper's collector configuration, loaded by the collector built from the same
// components at the image's release (tools/otelcol/builder.yaml): unknown or misspelt options,
// bad values, operator expressions that do not compile, pipelines naming missing components.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { SHIPPER_CONFIG_FILE } from '@ml-platform/logging';
import { describeObject, Failure, Json, ManifestDoc } from './model';
import { essentials, run, ToolResults } from './programs';

/** What the pod's environment gives the configuration; stand-ins, fixed so results cache. */
const STAND_IN_ENV = { K8S_NODE_NAME: 'node-1', POD_IP: '127.0.0.1' };
/** The queue folder is a hostPath in the pod; the check points it at a folder of its own. */
const STATE = join(tmpdir(), 'ml-platform-log-shipper-check-state');

/** True when a cluster renders a log shipper configuration. */
export const isShipperConfig = (d: ManifestDoc) => d.obj.kind === 'ConfigMap' && typeof d.obj.data?.[SHIPPER_CONFIG_FILE] === 'string' && d.obj.metadata?.name === 'log-shipper-config';

export async function checkShipperConfigs(docs: ManifestDoc[], collector: string, cache: ToolResults | undefined): Promise<Failure[]> {
  const failures: Failure[] = [];
  await Promise.all(
    docs.filter(isShipperConfig).map(async (doc) => {
      const field = `data['${SHIPPER_CONFIG_FILE}']`;
      const fail = (message: string) =>
        failures.push({ layer: 'logging', rule: 'logging/shipper-config', cluster: doc.cluster, file: doc.file, object: describeObject(doc.obj), field, message, hint: 'fix the option in libs/logging/src/shipper-config.ts' });
      let config: Json;
      try {
        config = parse(doc.obj.data[SHIPPER_CONFIG_FILE]);
      } catch (err) {
        fail(`not valid YAML: ${(err as Error).message.split('\n')[0]}`);
        return;
      }
      const storage = config?.extensions?.file_storage;
      if (storage) {
        mkdirSync(STATE, { recursive: true });
        storage.directory = STATE;
        if (storage.compaction) storage.compaction.directory = STATE;
      }
      const dir = mkdtempSync(join(tmpdir(), 'ml-platform-otelcol-'));
      try {
        // Files the configuration reads through the file provider (the password) are mounted
        // in the pod only; a stand-in in the staging folder, by a relative path, keeps results cacheable.
        const exporter = config?.exporters?.elasticsearch;
        if (typeof exporter?.password === 'string' && /^\$\{file:.+\}$/.test(exporter.password)) {
          writeFileSync(join(dir, 'password'), 'stand-in\n');
          exporter.password = '${file:password}';
        }
        writeFileSync(join(dir, SHIPPER_CONFIG_FILE), stringify(config));
        const result = await run(collector, ['validate', `--config=${SHIPPER_CONFIG_FILE}`], dir, cache, undefined, STAND_IN_ENV);
        if (!result.ok) fail(`otelcol validate: ${essentials(result.output)}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
  );
  return failures;
}
