import { z } from 'zod';
import { replicas, resources as resourcesSchema } from '@ml-platform/core';

/** The `components.superset` section of cluster.yaml. */
export const supersetConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe('Render Superset: web server, Celery worker and beat, and the start-up Job (needs postgres with an analytics database and redis).'),
    web: z
      .strictObject({
        replicas: replicas.default(1).describe('Web server pods; 2 or more get a PodDisruptionBudget and spread across nodes.'),
        workers: z.int().min(1).max(16).default(2).describe('gunicorn worker processes per pod (SERVER_WORKER_AMOUNT); each holds Superset in memory (about 300 MiB).'),
        threads: z.int().min(1).max(64).default(8).describe('Threads per gunicorn worker (SERVER_THREADS_AMOUNT).'),
        resources: resourcesSchema.optional().describe('Default 250m/1Gi requested, 1 CPU/2Gi limit.'),
      })
      .prefault({}),
    worker: z
      .strictObject({
        replicas: replicas.default(1).describe('Celery worker pods (SQL Lab queries run asynchronously here); 2 or more get a PodDisruptionBudget.'),
        concurrency: z.int().min(1).max(32).default(2).describe('Queries each worker pod runs at once (celery --concurrency).'),
        resources: resourcesSchema.optional().describe('Default 250m/1Gi requested, 1 CPU/2Gi limit.'),
      })
      .prefault({}),
    beat: z.strictObject({ resources: resourcesSchema.optional().describe('Default 50m/256Mi requested, 250m/512Mi limit.') }).prefault({}),
    queryLogRetention: z.int().min(7).max(3650).default(90).describe('Days SQL Lab\'s query history and the action log are kept; beat prunes older rows every night.'),
  })
  .describe('Superset: SQL dashboards over the analytics database, signed in with GitLab.');

export type SupersetConfig = z.output<typeof supersetConfigSchema>;
