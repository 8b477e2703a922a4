// Plain text inside the cluster: in a stage or prod cluster, a client that reaches an in-cluster
// Service over http://, redis:// or ws:// needs a reviewed reason (plain-text-services.yaml), and
// a PostgreSQL client must verify the server (sslmode=verify-full with the internal CA).
// Scanned: container env values, commands and arguments (rendered and templated pods), and
// ConfigMap data, where the platform's config files carry their URLs. The gateway's own hop is
// read from the routes: each Service an HTTPRoute sends people to needs a BackendTLSPolicy, and
// an Ingress has no portable way to verify its backend at all.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { containersOf, describeObject, Failure, Json, ManifestDoc, podSpecOf } from './model';

/** `<service>.<namespace>` to the reason it may be reached in plain text. */
export type PlainTextServices = ReadonlyMap<string, string>;

export function loadPlainTextServices(file: string): PlainTextServices {
  const result = z.record(z.string().regex(/^[a-z0-9-]+\.[a-z0-9-]+$/, { error: 'expected <service>.<namespace>' }), z.string().min(20)).safeParse(parse(readFileSync(file, 'utf8')));
  if (!result.success) {
    throw new Error(`${file}: ${result.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ')}`);
  }
  return new Map(Object.entries(result.data));
}

/** A URL to an in-cluster Service (or one of its pods): scheme, service and namespace. */
const IN_CLUSTER_URL = /\b(https?|rediss?|wss?):\/\/(?:[^@/\s"']*@)?(?:[a-z0-9-]+\.)*?([a-z0-9-]+)\.([a-z0-9-]+)\.svc\b/g;
const PLAIN_SCHEMES = new Set(['http', 'redis', 'ws']);
const WEAK_SSLMODE = /\bsslmode=(disable|allow|prefer|require|verify-ca)\b/;
const LOOPBACK = /^(localhost|127\.0\.0\.1|::1|\/.*)$/;

/** The texts of an object worth scanning, each with the field it sits in. */
function texts(doc: ManifestDoc): [string, string][] {
  const found: [string, string][] = [];
  if (doc.obj.kind === 'ConfigMap') {
    for (const [key, value] of Object.entries(doc.obj.data ?? {})) if (typeof value === 'string') found.push([`data['${key}']`, value]);
  }
  const pod = podSpecOf(doc.obj);
  if (!pod) return found;
  for (const [at, c] of containersOf(pod.spec, pod.path)) {
    (c.command ?? []).forEach((v: unknown, j: number) => typeof v === 'string' && found.push([`${at}.command[${j}]`, v]));
    (c.args ?? []).forEach((v: unknown, j: number) => typeof v === 'string' && found.push([`${at}.args[${j}]`, v]));
    (c.env ?? []).forEach((e: Json, j: number) => typeof e.value === 'string' && found.push([`${at}.env[${j}]`, e.value]));
  }
  return found;
}

const isGatewayApi = (obj: Json) => typeof obj.apiVersion === 'string' && obj.apiVersion.startsWith('gateway.networking.k8s.io/');
const isService = (ref: Json) => (ref.group ?? '') === '' && (ref.kind ?? 'Service') === 'Service';

/**
 * Every route backend the gateway reaches in plain text: an HTTPRoute's Service without a
 * BackendTLSPolicy that targets it (the whole Service or the port the route uses), and every
 * Ingress backend.
 */
export function checkGatewayBackends(docs: ManifestDoc[]): Failure[] {
  const failures: Failure[] = [];
  const ports = new Map<string, Map<number, string | undefined>>();
  const protectedPorts = new Map<string, Set<string | undefined>>();
  for (const { obj } of docs) {
    const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
    if (obj.kind === 'Service' && obj.apiVersion === 'v1') ports.set(key, new Map((obj.spec?.ports ?? []).map((p: Json) => [p.port, p.name])));
    if (obj.kind !== 'BackendTLSPolicy' || !isGatewayApi(obj)) continue;
    for (const ref of obj.spec?.targetRefs ?? []) {
      if (!isService(ref)) continue;
      const target = `${obj.metadata?.namespace}/${ref.name}`;
      protectedPorts.set(target, (protectedPorts.get(target) ?? new Set()).add(ref.sectionName));
    }
  }
  const hint = 'render a BackendTLSPolicy for the Service (the access layer does when the cluster has inClusterTls and routing.api gateway) and serve the port with a certificate from the internal CA';
  for (const doc of docs) {
    const { obj } = doc;
    const fail = (field: string, message: string, why = hint) =>
      failures.push({ layer: 'policy', rule: 'tls/gateway-backend', cluster: doc.cluster, file: doc.file, object: describeObject(obj), field, message, hint: why });
    if (obj.kind === 'Ingress') {
      fail('spec', 'an Ingress reaches its backends in plain text', 'route it with Gateway API (routing.api gateway) and a BackendTLSPolicy: an Ingress cannot say portably how to verify a backend');
      continue;
    }
    if (obj.kind !== 'HTTPRoute' || !isGatewayApi(obj)) continue;
    (obj.spec?.rules ?? []).forEach((rule: Json, i: number) =>
      (rule.backendRefs ?? []).forEach((ref: Json, j: number) => {
        if (!isService(ref)) return;
        const service = `${ref.namespace ?? obj.metadata?.namespace}/${ref.name}`;
        const sections = protectedPorts.get(service);
        const portName = ports.get(service)?.get(ref.port);
        if (sections && (sections.has(undefined) || (portName !== undefined && sections.has(portName)))) return;
        fail(`spec.rules[${i}].backendRefs[${j}]`, `the gateway reaches Service ${service}:${ref.port} in plain text: no BackendTLSPolicy targets it`);
      }),
    );
  }
  return failures;
}

/** Every plain-text in-cluster URL not reviewed, and every PostgreSQL client that does not verify the server; records the entries used. */
export function checkPlainText(docs: ManifestDoc[], allowed: PlainTextServices, used: Set<string>): Failure[] {
  const failures: Failure[] = [];
  const fail = (doc: ManifestDoc, rule: string, field: string, message: string, hint: string) =>
    failures.push({ layer: 'policy', rule, cluster: doc.cluster, file: doc.file, object: describeObject(doc.obj), field, message, hint });
  for (const doc of docs) {
    for (const [field, text] of texts(doc)) {
      for (const m of text.matchAll(IN_CLUSTER_URL)) {
        const [url, scheme, service, namespace] = m;
        if (!PLAIN_SCHEMES.has(scheme)) continue;
        const entry = `${service}.${namespace}`;
        if (allowed.has(entry)) {
          used.add(entry);
          continue;
        }
        fail(doc, 'tls/plain-text', field, `'${url}' reaches Service ${namespace}/${service} in plain text`, `serve it over TLS with a certificate from the internal CA (ServerCertificate) and have clients verify it; if nothing secret travels, add '${entry}' with its reason to tools/validate/plain-text-services.yaml`);
      }
      const weak = WEAK_SSLMODE.exec(text);
      if (weak && !/(localhost|127\.0\.0\.1)[:/]/.test(text)) {
        fail(doc, 'tls/postgres', field, `a PostgreSQL connection with sslmode=${weak[1]}`, 'use sslmode=verify-full and sslrootcert=<the internal CA> (libpqTlsEnv)');
      }
    }
    const pod = podSpecOf(doc.obj);
    if (!pod) continue;
    for (const [at, c] of containersOf(pod.spec, pod.path)) {
      const env = new Map<string, string>((c.env ?? []).filter((e: Json) => typeof e.value === 'string').map((e: Json) => [e.name, e.value]));
      const host = env.get('PGHOST');
      if (host === undefined || LOOPBACK.test(host)) continue;
      if (env.get('PGSSLMODE') !== 'verify-full' || !env.get('PGSSLROOTCERT')) {
        fail(doc, 'tls/postgres', `${at}.env`, `container '${c.name}' connects to PostgreSQL at ${host} without verifying the server (PGSSLMODE '${env.get('PGSSLMODE') ?? 'prefer'}')`, 'take the environment from libpqEnv: the platform PostgreSQL speaks TLS, and PGSSLMODE=verify-full with PGSSLROOTCERT makes libpq check it');
      }
    }
  }
  return failures;
}
