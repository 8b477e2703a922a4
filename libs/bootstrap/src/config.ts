import { z } from 'zod';
import { EXACT_CHART_VERSION, HelmChart } from '@ml-platform/core';

/** Which chart serves the cluster's routes: the Gateway API or Ingress controller the access layer expects. */
export const ROUTING_CONTROLLERS = ['envoy-gateway', 'traefik', 'external'] as const;
export type RoutingController = (typeof ROUTING_CONTROLLERS)[number];

/** The `bootstrap` section of cluster.yaml, keyed by the charts the catalog holds. */
export function bootstrapConfigSchema(charts: readonly HelmChart[]) {
  const keys = charts.map((c) => c.key) as [string, ...string[]];
  return z
    .strictObject({
      chartMirror: z
        .string()
        .regex(/^(oci|https):\/\/\S+[^/\s]$/, { error: 'expected oci://<registry>/<path> or https://<Helm repository>, without a trailing /' })
        .optional()
        .describe("The site's chart mirror, which holds every chart under its upstream name. Required when registryMirrors is set (an air-gapped site)."),
      routingController: z
        .enum(ROUTING_CONTROLLERS)
        .optional()
        .describe('The controller the bootstrap installs for routing.api: envoy-gateway (gateway, the default there), traefik (ingress, the default there), or external (installed otherwise; the module leaves it out).'),
      charts: z
        .partialRecord(
          z.enum(keys),
          z.strictObject({
            version: z.string().regex(EXACT_CHART_VERSION, { error: 'expected an exact chart version such as 1.19.2 or v1.19.2, not a range or latest' }).describe('Chart version to install instead of the catalog version.'),
          }),
        )
        .default({})
        .describe('Per-chart version pins for staged rollout (dev, then stage, then prod).'),
    })
    .prefault({})
    .describe('The bootstrap module rendered into dist-manifests/<cluster>/bootstrap/ (docs/bootstrap.md): the operators and first secrets installed before the first sync.');
}

export type BootstrapConfig = z.output<ReturnType<typeof bootstrapConfigSchema>>;

/** The routing controller a cluster's bootstrap installs: its own choice, else the default for its routing API. */
export function routingControllerOf(bootstrap: BootstrapConfig, routingApi: 'gateway' | 'ingress'): RoutingController {
  return bootstrap.routingController ?? (routingApi === 'gateway' ? 'envoy-gateway' : 'traefik');
}

/** What the bootstrap checks beyond its own section, read from the rest of cluster.yaml. */
export interface BootstrapContext {
  readonly routingApi: 'gateway' | 'ingress';
  readonly registryMirrors: Readonly<Record<string, string>>;
}

/** Problems of the section against the rest of the file, as key paths and messages. */
export function bootstrapIssues(bootstrap: BootstrapConfig, context: BootstrapContext): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const controller = routingControllerOf(bootstrap, context.routingApi);
  const serves: Record<RoutingController, 'gateway' | 'ingress' | undefined> = { 'envoy-gateway': 'gateway', traefik: 'ingress', external: undefined };
  if (serves[controller] && serves[controller] !== context.routingApi) {
    issues.push({ path: ['bootstrap', 'routingController'], message: `expected a controller for routing.api ${context.routingApi}: ${controller} serves ${serves[controller]} (or external, when it is installed otherwise)` });
  }
  if (Object.keys(context.registryMirrors).length > 0 && !bootstrap.chartMirror) {
    issues.push({ path: ['bootstrap', 'chartMirror'], message: "expected the site's chart mirror (oci:// or https://): registryMirrors makes this cluster air-gapped, so it cannot install charts from their upstream repositories" });
  }
  return issues;
}
