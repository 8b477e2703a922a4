import { z } from 'zod';
import { dnsLabel, quantity, resources as resourcesSchema, storage } from '@ml-platform/core';

/** A duration such as `90s`, `30m` or `2h`, in seconds. */
const duration = z
  .string()
  .regex(/^[0-9]+(s|m|h|d)$/, { error: 'expected a duration such as 30m, 1h or 2d' })
  .transform((d) => Number.parseInt(d, 10) * { s: 1, m: 60, h: 3600, d: 86400 }[d.slice(-1) as 's' | 'm' | 'h' | 'd']);

/** One server size people choose from when they start their notebook server. */
export const profileSchema = z
  .strictObject({
    slug: dnsLabel.describe('Machine name of the profile, e.g. small; the spawner form sends it.'),
    displayName: z.string().min(1).describe('What people see in the list, e.g. "Small: 1 CPU, 4 GiB".'),
    description: z.string().min(1).optional().describe('One line under the name.'),
    default: z.boolean().default(false).describe('Preselected in the list; at most one profile.'),
    resources: resourcesSchema.describe('CPU and memory the notebook server is guaranteed (requests) and may use (limits).'),
    gpus: z.int().min(1).max(16).optional().describe("GPUs per server; needs the cluster's gpuNodes, whose selector and tolerations the profile gets."),
  })
  .describe('A notebook server size.');

/** The `components.jupyterhub` section of cluster.yaml. */
export const jupyterhubConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe('Render JupyterHub and the notebook servers it spawns (needs postgres, minio and mlflow).'),
    hub: z.strictObject({ resources: resourcesSchema.optional().describe('Default 100m/512Mi requested, 1 CPU/1Gi limit.') }).prefault({}),
    proxy: z.strictObject({ resources: resourcesSchema.optional().describe('Default 50m/128Mi requested, 500m/256Mi limit.') }).prefault({}),
    culler: z
      .strictObject({
        timeout: duration.default(3600).describe('Stop a notebook server idle this long (its home volume stays).'),
        every: duration.default(600).describe('How often to look for idle servers.'),
      })
      .prefault({})
      .describe('The idle culler, a hub service.'),
    home: storage.describe("Each user's home volume (/home/jovyan), created at first start and kept when the server stops."),
    profiles: z
      .array(profileSchema)
      .min(1, { error: 'expected at least one profile: people choose a server size from them' })
      .superRefine((profiles, ctx) => {
        const slugs = profiles.map((p) => p.slug);
        slugs.forEach((s, i) => {
          if (slugs.indexOf(s) !== i) ctx.addIssue({ code: 'custom', path: [i, 'slug'], message: `expected a slug of its own: '${s}' is used twice` });
        });
        if (profiles.filter((p) => p.default).length > 1) ctx.addIssue({ code: 'custom', path: [], message: 'expected at most one profile with default: true' });
      })
      .describe('The server sizes people choose from.'),
    spark: z
      .strictObject({
        executors: z
          .strictObject({
            instances: z.int().min(1).max(64).default(2).describe('Executors a session starts unless the notebook asks otherwise.'),
            cores: z.int().min(1).max(16).default(1).describe('CPU cores per executor (request and limit).'),
            memory: z.string().regex(/^[0-9]+(Mi|Gi)$/, { error: 'expected a size such as 2Gi or 512Mi' }).default('2Gi').describe('JVM heap per executor; Spark adds its overhead on top.'),
          })
          .prefault({}),
        quota: z
          .strictObject({
            cpu: quantity.describe('CPU all executors of all notebooks may hold at once.'),
            memory: quantity.describe('Memory all executors may hold at once.'),
            pods: z.int().min(1).describe('Executor pods at once.'),
          })
          .describe('The ResourceQuota of the executors namespace: what notebooks together may take from the cluster.'),
      })
      .describe('Spark from notebooks: executors on Kubernetes, in their own namespace.'),
  })
  .describe('JupyterHub: notebook servers for people, wired to MLflow, MinIO and Spark.');

export type JupyterHubConfig = z.output<typeof jupyterhubConfigSchema>;
export type NotebookProfileConfig = z.output<typeof profileSchema>;
