import { z } from 'zod';
import { dnsLabel, imageReference, podScaling, resources } from '@ml-platform/core';

/** The prefix of a Dash app's UI key, host and workloads: app `churn` runs as `dash-churn`. */
export const DASH_APP_PREFIX = 'dash-';

/** One Dash app in cluster.yaml. */
export const dashAppSchema = z
  .strictObject({
    name: dnsLabel.max(40).describe('The app: Deployment, Service and Prometheus job dash-<name>, host dash-<name>.<baseDomain>, UI key dash-<name> under access.'),
    reference: z.boolean().default(false).describe("Run the platform's reference app (services/churn-dashboard: churn by contract type from the analytics database) instead of an image of your own."),
    image: imageReference.optional().describe('The image of a Dash app your team builds to the contract in docs/dash.md (gunicorn on $PORT, /healthz, /readyz, /metrics).'),
    wsgi: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected module:attribute, e.g. app:server' })
      .default('app:server')
      .describe("The app's Flask server for gunicorn (Dash's app.server), as module:attribute in the image's working directory or on its PYTHONPATH."),
    purpose: z.string().min(1).max(120).optional().describe('What people use the app for, shown in the inventory; default: the reference app\'s, or "Dash app <name>".'),
    workers: z.int().min(1).max(16).default(2).describe('gunicorn workers per pod (WEB_CONCURRENCY); each holds the app and its data in memory.'),
    replicas: podScaling,
    resources: resources.optional().describe('Each pod; default 100m/256Mi requested, 1 CPU/1Gi limit.'),
    analytics: z.boolean().default(true).describe('Read the analytics database through its read-only role (PG* environment); list dash under components.postgres.analytics.readers.'),
  })
  .superRefine((app, ctx) => {
    if (!app.reference && !app.image) {
      ctx.addIssue({ code: 'custom', path: ['image'], message: "expected the app's image (registry, repository, tag), or reference: true for the platform's reference app" });
    }
    if (app.reference && app.image) {
      ctx.addIssue({ code: 'custom', path: ['image'], message: 'expected no image while reference is true: the reference app runs the image this repository builds' });
    }
  });

/** The `components.dash` section of cluster.yaml. */
export const dashConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe('Render the Dash apps, each behind GitLab sign-in on a host of its own.'),
    apps: z.array(dashAppSchema).min(1, { error: 'expected at least one app: without apps, set enabled: false' }).describe('The apps, each a Deployment of its image.'),
  })
  .superRefine((dash, ctx) => {
    const seen = new Set<string>();
    dash.apps.forEach((a, i) => {
      if (seen.has(a.name)) ctx.addIssue({ code: 'custom', path: ['apps', i, 'name'], message: `expected a name of its own: ${a.name} is used by an earlier app` });
      seen.add(a.name);
    });
  })
  .describe('Dash apps: interactive Python front ends over the platform\'s data.');

export type DashConfig = z.output<typeof dashConfigSchema>;
export type DashAppConfig = z.output<typeof dashAppSchema>;

/** The UI key, host prefix, workload name and Prometheus job of an app. */
export function dashAppName(name: string): string {
  return `${DASH_APP_PREFIX}${name}`;
}
