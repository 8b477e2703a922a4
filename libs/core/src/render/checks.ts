import { SecretRequirement } from '../secrets';
import { isClusterScoped, RenderedObject } from './collect';

/** The label cdk8s-plus gives the pods of a workload it selects by address: never stable. */
const CDK8S_ADDRESS_LABEL = 'cdk8s.io/metadata.addr';

/** True when `key` is a key anywhere in `value` (labels and selectors sit at many depths). */
function holdsKey(value: unknown, key: string): boolean {
  if (Array.isArray(value)) return value.some((v) => holdsKey(v, key));
  if (value === null || typeof value !== 'object') return false;
  for (const [k, v] of Object.entries(value)) if (k === key || holdsKey(v, key)) return true;
  return false;
}

/**
 * Invariants the render itself guarantees before anything is written. Deeper validation
 * (schemas, policy, references, a real API server) runs over the written tree in CI.
 */
export function checkRendered(objects: readonly RenderedObject[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, RenderedObject>();
  for (const o of objects) {
    const where = `${o.path} (${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name})`;
    const other = seen.get(o.path);
    if (other) problems.push(`${where}: another object renders to the same file (${other.kind} ${other.namespace}/${other.name}); give them distinct names`);
    seen.set(o.path, o);
    if (o.kind === 'Secret' && !o.manifest.sops) {
      problems.push(`${where}: the render must never write a plaintext Secret; reference it with SecretKeyRef and keep its values SOPS-encrypted under clusters/<cluster>/secrets/`);
    }
    if (isClusterScoped(o.kind) && o.namespace) problems.push(`${where}: cluster-scoped kind carries metadata.namespace '${o.namespace}'`);
    if (!isClusterScoped(o.kind) && !o.namespace) problems.push(`${where}: namespaced kind has no metadata.namespace`);
    if (holdsKey(o.manifest, CDK8S_ADDRESS_LABEL)) {
      problems.push(`${where}: carries the cdk8s-internal label cdk8s.io/metadata.addr; select by app.kubernetes.io/name and instance`);
    }
  }
  return problems;
}

/**
 * Every Secret the render refers to must reach the cluster: rendered (SOPS-encrypted) or
 * declared under `external.secrets` in cluster.yaml. Names what is missing and who needs it.
 */
export function checkSecretsProvided(required: readonly SecretRequirement[], objects: readonly RenderedObject[], external: readonly string[]): string[] {
  const rendered = new Set(objects.filter((o) => o.kind === 'Secret').map((o) => `${o.namespace}/${o.name}`));
  const missing = required.filter((s) => !external.includes(s.name) && s.namespaces.some((ns) => !rendered.has(`${ns}/${s.name}`)));
  return missing.map(
    (s) =>
      `secret '${s.name}' (keys ${s.keys.map((k) => k.key).join(', ')}; namespaces ${s.namespaces.join(', ')}) is needed but neither rendered nor listed here`,
  );
}
