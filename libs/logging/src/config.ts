import { z } from 'zod';
import { quantity, quantityValue, replicas, resources as resourcesSchema, storage } from '@ml-platform/core';

/** How Elasticsearch gets the virtual memory areas its memory-mapped index files need. */
export const MMAP_MODES = ['off', 'nodeSysctl'] as const;

const days = (what: string) =>
  z.int({ error: `expected a whole number of days for ${what}` }).superRefine((value, ctx) => {
    if (value < 1) ctx.addIssue({ code: 'custom', message: `expected at least 1 day, found ${value}: ${what} is counted in whole days` });
  });

/** The `components.logging` section of cluster.yaml. */
export const loggingConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe('Render Elasticsearch, Kibana and the log shipper on every node.'),
    retention: days('log retention').default(14).describe('Days a log line stays searchable; older indices are deleted by the lifecycle policy.'),
    elasticsearch: z
      .strictObject({
        replicas: replicas.default(1).describe('Nodes: 1, or 3 or more (master-eligible data nodes, one per Kubernetes node).'),
        indexReplicas: z.int().min(0).optional().describe('Replica shards of each log index; default 1 with three or more nodes, 0 with one.'),
        heap: quantity.default('1Gi').describe('JVM heap of each node: at most half its memory limit (Lucene uses the rest through the page cache) and at most 31Gi.'),
        resources: z.optional(resourcesSchema).describe('Default 500m/2Gi requested, 2 CPU/2Gi limit.'),
        storage: storage.describe('The data volume of each node.'),
        mmap: z
          .enum(MMAP_MODES)
          .default('off')
          .describe("'off': node.store.allow_mmap false, no node preparation, slower searches. 'nodeSysctl': memory-mapped index files, faster; every node must set vm.max_map_count=1048576 (docs/logging.md)."),
      })
      .describe('Elasticsearch, a StatefulSet without an operator.'),
    kibana: z
      .strictObject({
        replicas: replicas.default(1),
        resources: z.optional(resourcesSchema).describe('Default 250m/1Gi requested, 1 CPU/1536Mi limit.'),
      })
      .prefault({})
      .describe('Kibana, behind the sign-in proxy.'),
    shipper: z
      .strictObject({
        resources: z.optional(resourcesSchema).describe('Default 100m/256Mi requested, 1 CPU/512Mi limit, per node.'),
        buffer: z
          .strictObject({
            size: quantity.default('1Gi').describe('What the shipper queues on the node\'s disk while Elasticsearch is away; when full it stops reading and the lines wait in the container logs.'),
            volume: quantity.default('4Gi').describe('Space reserved for the buffer on every node (docs/logging.md): the queue, its compaction copy and the read offsets.'),
          })
          .prefault({}),
      })
      .prefault({})
      .describe('The OpenTelemetry Collector on every node, tailing the container logs.'),
    snapshots: z
      .strictObject({
        schedule: z.string().min(1).default('0 30 1 * * ?').describe('When snapshots are taken, as an Elasticsearch cron expression (seconds first), in UTC.'),
        retention: days('snapshot retention').default(30).describe('Days a snapshot is kept (at least 5 are always kept).'),
      })
      .optional()
      .describe('Nightly snapshots of the log indices to a MinIO bucket (needs components.minio).'),
  })
  .superRefine((logging, ctx) => {
    const es = logging.elasticsearch;
    if (es.replicas === 2) {
      ctx.addIssue({ code: 'custom', path: ['elasticsearch', 'replicas'], message: 'expected 1, or 3 or more, found 2: two master-eligible nodes lose their quorum when either stops' });
    }
    if (es.indexReplicas !== undefined && es.indexReplicas >= es.replicas) {
      ctx.addIssue({
        code: 'custom',
        path: ['elasticsearch', 'indexReplicas'],
        message: `expected at most ${es.replicas - 1} with ${es.replicas} node${es.replicas > 1 ? 's' : ''}, found ${es.indexReplicas}: a replica shard is never placed on its primary's node, so the indices would stay yellow`,
      });
    }
    const limit = es.resources?.limits.memory ?? '2Gi';
    if (quantityValue(es.heap) > quantityValue(limit) / 2) {
      ctx.addIssue({ code: 'custom', path: ['elasticsearch', 'heap'], message: `expected at most half the memory limit (${limit}), found ${es.heap}: Lucene needs the rest as page cache` });
    }
    if (quantityValue(es.heap) > quantityValue('31Gi')) {
      ctx.addIssue({ code: 'custom', path: ['elasticsearch', 'heap'], message: `expected at most 31Gi, found ${es.heap}: above it the JVM loses compressed object pointers` });
    }
    const buffer = logging.shipper.buffer;
    if (quantityValue(buffer.size) > quantityValue(buffer.volume) / 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['shipper', 'buffer', 'size'],
        message: `expected at most half of shipper.buffer.volume (${buffer.volume}), found ${buffer.size}: compacting the queue writes a copy of it beside the original`,
      });
    }
  })
  .describe('Central logging: Elasticsearch, Kibana and a log shipper on every node.');

export type LoggingConfig = z.output<typeof loggingConfigSchema>;
