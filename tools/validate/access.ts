// The access layer: rules over the routes (HTTPRoute, Ingress) and the sign-in proxies'
// configuration, loaded by the real oauth2-proxy. Nothing is reachable from outside without
// signing in. A route must lead to oauth2-proxy, or to a UI that signs people in with GitLab
// itself and says so (ml-platform.io/sign-in: oidc, set by the access layer for such UIs only).
// A public endpoint is a reviewed exception (tools/validate/exceptions.yaml) with its reason.
// Two routes for the same host fail too: which one wins depends on the controller.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'smol-toml';
import { ACCESS_ANNOTATIONS, SignIn } from '@ml-platform/core';
import { OAUTH2_PROXY_CONFIG_KEY } from '@ml-platform/access';
import { describeObject, Failure, Json, ManifestDoc, podSpecOf, selects } from './model';
import { essentials, run, ToolResults } from './programs';

/** The image repository of the sign-in proxy. */
const SIGN_IN_IMAGE = /(^|\/)oauth2-proxy\/oauth2-proxy(:|@|$)/;

interface Backend {
  readonly field: string;
  readonly service: string;
  readonly port?: number;
}

/** The hosts and backend Services of a route. */
function routeOf(obj: Json): { hosts: [string, string][]; backends: Backend[] } | undefined {
  if (obj.kind === 'HTTPRoute' && String(obj.apiVersion).startsWith('gateway.networking.k8s.io/')) {
    return {
      hosts: (obj.spec?.hostnames ?? []).map((h: string, i: number) => [h, `spec.hostnames[${i}]`]),
      backends: (obj.spec?.rules ?? []).flatMap((r: Json, i: number) =>
        (r.backendRefs ?? [])
          .map((b: Json, j: number) => ({ ref: b, field: `spec.rules[${i}].backendRefs[${j}]` }))
          .filter(({ ref }: { ref: Json }) => (ref.kind ?? 'Service') === 'Service' && (ref.group ?? '') === '')
          .map(({ ref, field }: { ref: Json; field: string }) => ({ field, service: ref.name, port: ref.port })),
      ),
    };
  }
  if (obj.kind === 'Ingress' && obj.apiVersion === 'networking.k8s.io/v1') {
    const rules: Json[] = obj.spec?.rules ?? [];
    const backends: Backend[] = rules.flatMap((r: Json, i: number) =>
      (r.http?.paths ?? []).map((p: Json, j: number) => ({ field: `spec.rules[${i}].http.paths[${j}].backend.service`, service: p.backend?.service?.name, port: p.backend?.service?.port?.number })),
    );
    const fallback = obj.spec?.defaultBackend?.service;
    if (fallback) backends.push({ field: 'spec.defaultBackend.service', service: fallback.name, port: fallback.port?.number });
    return { hosts: rules.map((r: Json, i: number) => [r.host ?? '*', `spec.rules[${i}].host`]), backends };
  }
  return undefined;
}

export function checkAccess(docs: ManifestDoc[]): Failure[] {
  const failures: Failure[] = [];
  const services = new Map(docs.filter((d) => d.obj.kind === 'Service').map((d) => [`${d.obj.metadata?.namespace}/${d.obj.metadata?.name}`, d.obj]));
  const pods = docs.flatMap((d) => {
    const pod = podSpecOf(d.obj);
    return pod ? [{ namespace: d.obj.metadata?.namespace as string, labels: pod.labels, images: [...(pod.spec.containers ?? [])].map((c: Json) => String(c.image)) }] : [];
  });
  const seen = new Map<string, string>();
  for (const doc of docs) {
    const route = routeOf(doc.obj);
    if (!route) continue;
    const ns: string = doc.obj.metadata?.namespace ?? '';
    const fail = (rule: string, field: string, message: string, hint: string) =>
      failures.push({ layer: 'access', rule, cluster: doc.cluster, file: doc.file, object: describeObject(doc.obj), field, message, hint });
    // A route that only redirects (no backends) shares its hosts with the routes that serve them.
    for (const [host, field] of route.backends.length > 0 ? route.hosts : []) {
      const other = seen.get(host);
      if (other) fail('access/duplicate-host', field, `host ${host} is also routed by ${other}`, 'give each UI its own host (routing.hosts in cluster.yaml)');
      else seen.set(host, describeObject(doc.obj));
    }
    const ownSignIn = doc.obj.metadata?.annotations?.[ACCESS_ANNOTATIONS.signIn] === SignIn.OIDC;
    for (const b of route.backends) {
      const service = services.get(`${ns}/${b.service}`);
      if (!service) continue; // The references layer reports a Service that does not exist.
      const selected = pods.filter((p) => p.namespace === ns && selects({ matchLabels: service.spec?.selector }, p.labels));
      const behindProxy = selected.length > 0 && selected.every((p) => p.images.some((i) => SIGN_IN_IMAGE.test(i)));
      if (!behindProxy && !ownSignIn) {
        fail(
          'access/unguarded-route',
          b.field,
          `Service ${ns}/${b.service} is reachable from outside without signing in: its pods are not oauth2-proxy and the route does not declare the UI's own GitLab sign-in`,
          "expose the UI through the access layer (AccessLayer.expose) so oauth2-proxy guards it, or, for an endpoint that must be public, add a reviewed exception for access/unguarded-route with the reason",
        );
      }
    }
  }
  return failures;
}

/** Debian's bundle of public CAs (ca-certificates). */
const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** Stand-ins for the secret files the config names, for the check only: fixed, so results cache. */
const STAND_IN = { client: createHash('sha256').update('client secret stand-in').digest('hex').slice(0, 40), cookie: createHash('sha256').update('cookie secret stand-in').digest('hex').slice(0, 32) };

/**
 * Loads every rendered oauth2-proxy configuration with the oauth2-proxy release the image runs
 * (`--config-test`: unknown or misspelt options, bad values; GitLab is not contacted). The
 * secret files it names exist only in the pod, so the staged copy points at stand-ins.
 */
export async function checkSignInConfigs(docs: ManifestDoc[], oauth2Proxy: string, cache: ToolResults | undefined): Promise<Failure[]> {
  const failures: Failure[] = [];
  const configs = docs.filter((d) => d.obj.kind === 'ConfigMap' && typeof d.obj.data?.[OAUTH2_PROXY_CONFIG_KEY] === 'string');
  await Promise.all(
    configs.map(async (doc) => {
      const field = `data['${OAUTH2_PROXY_CONFIG_KEY}']`;
      const fail = (message: string) =>
        failures.push({ layer: 'access', rule: 'access/sign-in-config', cluster: doc.cluster, file: doc.file, object: describeObject(doc.obj), field, message, hint: 'fix the option in libs/access/src/oauth2-proxy.ts (oauth2ProxyConfig)' });
      let config: Record<string, unknown>;
      try {
        config = parse(doc.obj.data[OAUTH2_PROXY_CONFIG_KEY]);
      } catch (err) {
        fail(`not valid TOML: ${(err as Error).message.split('\n')[0]}`);
        return;
      }
      const dir = mkdtempSync(join(tmpdir(), 'ml-platform-oauth2-proxy-'));
      try {
        writeFileSync(join(dir, 'client-secret'), STAND_IN.client);
        writeFileSync(join(dir, 'cookie-secret'), STAND_IN.cookie);
        const staged: Record<string, unknown> = { ...config };
        if ('client_secret_file' in config) staged.client_secret_file = 'client-secret';
        if ('cookie_secret_file' in config) staged.cookie_secret_file = 'cookie-secret';
        if (Array.isArray(config.provider_ca_files)) {
          // The CA is mounted from a ConfigMap made at bootstrap; any real PEM bundle stands in.
          if (!existsSync(SYSTEM_CA_BUNDLE)) throw new Error(`${SYSTEM_CA_BUNDLE} is missing: install the ca-certificates package, whose bundle stands in for GitLab's CA in the oauth2-proxy check`);
          copyFileSync(SYSTEM_CA_BUNDLE, join(dir, 'gitlab-ca.crt'));
          staged.provider_ca_files = config.provider_ca_files.map(() => 'gitlab-ca.crt');
        }
        writeFileSync(join(dir, OAUTH2_PROXY_CONFIG_KEY), stringify(staged));
        const result = await run(oauth2Proxy, [`--config=${OAUTH2_PROXY_CONFIG_KEY}`, '--config-test'], dir, cache);
        if (!result.ok) fail(`oauth2-proxy --config-test: ${essentials(result.output)}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
  );
  return failures;
}
