import { z } from 'zod';
import { quantity, quantityValue, resources as resourcesSchema, storage } from '@ml-platform/core';

/** What Redis evicts when it reaches maxMemory (redis.conf maxmemory-policy). */
export const EVICTION_POLICIES = ['noeviction', 'volatile-lru', 'allkeys-lru', 'volatile-ttl'] as const;

/** The `components.redis` section of cluster.yaml. */
export const redisConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe('Render Redis, the platform\'s cache and message broker.'),
    storage: storage.describe('The volume the append-only file lives on (the queues survive a restart).'),
    resources: z
      .optional(resourcesSchema)
      .describe('Default 50m/256Mi requested, 500m/512Mi limit. The memory limit must leave room above maxMemory.'),
    maxMemory: quantity.default('384Mi').describe('What Redis may hold before it evicts (maxmemory); at most 3/4 of the memory limit.'),
    evictionPolicy: z
      .enum(EVICTION_POLICIES)
      .default('volatile-lru')
      .describe('What goes first at maxMemory. volatile-lru evicts only keys with an expiry (caches) and never a queued task.'),
  })
  .superRefine((redis, ctx) => {
    const limit = redis.resources?.limits?.memory ?? '512Mi';
    if (quantityValue(redis.maxMemory) > quantityValue(limit) * 0.75) {
      ctx.addIssue({ code: 'custom', path: ['maxMemory'], message: `expected at most 3/4 of the memory limit (${limit}), found ${redis.maxMemory}: Redis needs the rest for its buffers and the append-only file's rewrite` });
    }
  })
  .describe('Redis: one server with a password, an append-only file on a volume, and metrics.');

export type RedisConfig = z.output<typeof redisConfigSchema>;
