// The Secrets of a review environment, made when its job applies it: none of them is in Git.
import { LabelKeys, PART_OF, REVIEW_LABEL } from '@ml-platform/core';
import { ReviewRender } from '@ml-platform/platform';
import { generateValue, valuesFromInput } from '../secrets/manage';

/** The CI variable a review's job copies Secret `name` from (one `key=value` line per key). */
export function copiedSecretVariable(name: string): string {
  return `REVIEW_SECRET_${name.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * Every Secret `review` reads, in each namespace that reads it, as Kubernetes manifests: fresh
 * random values (one set per Secret, the same in every namespace), or, for the Secrets its base
 * cluster also gets from outside Git, the values in their CI variables (`copiedSecretVariable`).
 * Throws, naming the variables and keys, when one is missing.
 */
export function reviewSecrets(review: ReviewRender, env: Readonly<Record<string, string | undefined>>): object[] {
  const missing = review.copied.filter((name) => !env[copiedSecretVariable(name)]);
  if (missing.length) {
    const keysOf = (name: string) => review.secrets.find((s) => s.name === name)?.keys.map((k) => k.key).join(', ');
    throw new Error(`review '${review.slug}' copies ${missing.length} Secret(s) its base cluster gets from outside Git; set these CI variables (masked, one key=value line per key):\n${missing.map((n) => `  - ${copiedSecretVariable(n)}: keys ${keysOf(n)}`).join('\n')}`);
  }
  return review.secrets.flatMap((secret) => {
    const keys = secret.keys.map((k) => k.key);
    const values = review.copied.includes(secret.name)
      ? valuesFromInput(env[copiedSecretVariable(secret.name)] as string, keys)
      : Object.fromEntries(secret.keys.map((k) => [k.key, generateValue(k.key, k.format)]));
    const absent = keys.filter((k) => values[k] === undefined);
    if (absent.length) throw new Error(`${copiedSecretVariable(secret.name)}: expected a line for each key (${keys.join(', ')}), found none for ${absent.join(', ')}`);
    return secret.namespaces.map((namespace) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: secret.name, namespace, labels: { [LabelKeys.PART_OF]: PART_OF, [REVIEW_LABEL]: review.slug } },
      type: 'Opaque',
      stringData: Object.fromEntries(keys.map((k) => [k, values[k]])),
    }));
  });
}
