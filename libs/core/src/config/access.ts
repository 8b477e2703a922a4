import { z } from 'zod';
import { cidr, dnsLabel, dnsSubdomain, replicas, resources } from './fields';

/** A GitLab group by its full path, as GitLab puts it in the `groups` claim. */
export const gitlabGroup = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, { error: 'expected a GitLab group path such as ml/data-scientists' });

/** How people's requests reach the UIs: the controller installed at bootstrap and the TLS source. */
export const routingSchema = z
  .strictObject({
    api: z
      .enum(['gateway', 'ingress'])
      .default('gateway')
      .describe('gateway: a Gateway API Gateway with a listener per host and an HTTPRoute per UI. ingress: a networking.k8s.io/v1 Ingress per UI.'),
    className: dnsSubdomain.describe('gatewayClassName (api gateway) or ingressClassName (api ingress) of the controller installed at bootstrap.'),
    controller: z
      .strictObject({
        namespace: dnsLabel.describe("Namespace of the controller's proxy pods."),
        podLabels: z
          .record(z.string(), z.string())
          .refine((labels) => Object.keys(labels).length > 0, { error: 'expected at least one label' })
          .describe("Labels of the controller's proxy pods: only they may reach a UI."),
      })
      .describe('Where the gateway or ingress controller runs; NetworkPolicies let exactly its pods in.'),
    tls: z
      .strictObject({
        clusterIssuer: dnsSubdomain.optional().describe('cert-manager ClusterIssuer that signs one certificate per host (an internal CA or ACME on the intranet).'),
        secretName: dnsSubdomain
          .optional()
          .describe('An existing TLS Secret (tls.crt, tls.key) valid for every host, e.g. a wildcard; provided outside Git in the namespace of each route.'),
      })
      .superRefine((tls, ctx) => {
        if ((tls.clusterIssuer === undefined) === (tls.secretName === undefined)) {
          ctx.addIssue({ code: 'custom', path: [], message: 'expected exactly one of clusterIssuer and secretName' });
        }
      })
      .describe('Where the certificates come from. Plain HTTP only redirects to HTTPS.'),
    hosts: z
      .record(dnsLabel, dnsSubdomain)
      .default({})
      .describe('Host per UI where it is not <ui>.<baseDomain>, e.g. { grafana: metrics.example.internal }.'),
  })
  .describe('How people reach the UIs: routes, hosts and TLS.');

/** GitLab as the OpenID Connect provider of every UI. */
export const ssoSchema = z
  .strictObject({
    gitlab: z
      .strictObject({
        url: z
          .string()
          .regex(/^https:\/\/[a-z0-9.-]+(:[0-9]+)?$/, { error: 'expected the https:// base URL of the GitLab instance, without a path' })
          .describe('GitLab instance, the OIDC issuer.'),
        cidrs: z.array(cidr).min(1).describe('Addresses of the GitLab instance (or its load balancer), as CIDRs: sign-in calls it on 443.'),
        clientId: z
          .string()
          .regex(/^[A-Za-z0-9]{16,128}$/, { error: "expected the GitLab application's Application ID" })
          .describe("Application ID of this cluster's GitLab application (docs/access.md); its secret is the Secret sso-gitlab, key client-secret."),
        caConfigMap: dnsSubdomain
          .optional()
          .describe("ConfigMap with key ca.crt, the CA that signed GitLab's certificate, in every namespace that signs people in (list it under external.configMaps). Without it the images' own CA bundles are trusted."),
      })
      .describe('GitLab as the OpenID Connect provider.'),
    proxy: z
      .strictObject({
        replicas: replicas.default(2).describe('Replicas of each UI\'s oauth2-proxy; 2 or more get a PodDisruptionBudget (sessions live in the cookie, so any replica serves any request).'),
        resources: resources.optional().describe('Requests and limits of each oauth2-proxy; default 10m/32Mi requested, 200m/128Mi limit.'),
      })
      .prefault({})
      .describe('The sign-in proxy in front of each UI without sign-in of its own.'),
  })
  .describe('Single sign-on for every UI.');

/** Who may use and who may administer one UI. */
export const uiAccessSchema = z
  .strictObject({
    users: z.array(gitlabGroup).min(1, { error: 'expected at least one GitLab group: a UI nobody may use is a UI to disable' }).describe('GitLab groups whose members may use the UI.'),
    admins: z.array(gitlabGroup).default([]).describe('GitLab groups whose members administer it (where the UI has roles; they may also use it).'),
    editors: z
      .array(gitlabGroup)
      .default([])
      .describe('GitLab groups whose members create content for the others (where the UI has such a role: Superset\'s Alpha builds datasets, charts and dashboards); they may also use it.'),
  })
  .describe('Who may reach one UI.');

/** Access per UI, by UI name. */
export const accessSchema = z.record(dnsLabel, uiAccessSchema).describe('Per UI (mlflow, grafana, ...): the GitLab groups that may use it and administer it. Nobody else gets in.');

export type RoutingConfig = z.output<typeof routingSchema>;
export type SsoConfig = z.output<typeof ssoSchema>;
export type UiAccessConfig = z.output<typeof uiAccessSchema>;
