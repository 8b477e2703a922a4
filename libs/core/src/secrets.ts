import { Construct } from 'constructs';
import { assertDnsLabel } from './names';
import { registryOf } from './app-registry';

/**
 * The shape a program needs a generated value in, where plain alphanumeric characters do not do.
 * `npm run secrets` makes the value up accordingly.
 */
export interface SecretValueFormat {
  /**
   * `hex`: `bytes` random bytes, hex-encoded (JupyterHub's cookie secret is 32 bytes, hex);
   * `base64url`: URL-safe base64 with padding (Airflow's Fernet key is 32 bytes so encoded).
   */
  readonly encoding: 'hex' | 'base64url';
  readonly bytes: number;
}

/**
 * A reference to one key of a Kubernetes Secret, by name. The render never knows the value:
 * the Secret is provided by the cluster's secrets backend (SOPS-encrypted manifests or Vault)
 * in every namespace that reads it.
 */
export class SecretKeyRef {
  /**
   * @param secretName the Secret's name, the same in every namespace that needs it
   * @param key the key within the Secret
   * @param description what the value is, for the people and tools that provision it
   * @param format the shape a generated value must have; default: alphanumeric characters
   */
  public static of(secretName: string, key: string, description: string, format?: SecretValueFormat): SecretKeyRef {
    return new SecretKeyRef(assertDnsLabel(secretName, 'secret name'), key, description, format);
  }

  private constructor(
    public readonly secretName: string,
    public readonly key: string,
    public readonly description: string,
    public readonly format?: SecretValueFormat,
  ) {
    if (format && !(Number.isInteger(format.bytes) && format.bytes >= 16)) {
      throw new Error(`secret key '${key}' of '${secretName}': a generated value needs at least 16 random bytes, got ${format.bytes}`);
    }
    if (!/^[-._a-zA-Z0-9]+$/.test(key)) {
      throw new Error(`secret key '${key}' of '${secretName}' is invalid: use letters, digits, '-', '_' and '.'`);
    }
  }
}

/** One Secret the cluster needs: which keys, in which namespaces. */
export interface SecretRequirement {
  readonly name: string;
  /** Namespaces that must each hold a copy with identical values, sorted. */
  readonly namespaces: string[];
  /** Keys with what each holds and, where it matters, the shape of a generated value; sorted by key. */
  readonly keys: { readonly key: string; readonly description: string; readonly format?: SecretValueFormat }[];
}

const REGISTRIES = new WeakMap<Construct, SecretRequirements>();

/**
 * The Secrets a cluster's render refers to. Every secret reference that goes into a manifest
 * is recorded here, so the render can list what the cluster needs (and, with a secrets
 * backend, fail when something is missing).
 */
export class SecretRequirements {
  /** The registry of the app that `scope` belongs to. */
  public static of(scope: Construct): SecretRequirements {
    return registryOf(REGISTRIES, scope, () => new SecretRequirements());
  }

  private readonly secrets = new Map<string, { namespaces: Set<string>; keys: Map<string, { description: string; format?: SecretValueFormat }> }>();

  private constructor() {
    // One registry per app: obtain it with SecretRequirements.of(scope).
  }

  /** Records that `namespace` reads `ref`. */
  public require(ref: SecretKeyRef, namespace: string): void {
    let entry = this.secrets.get(ref.secretName);
    if (!entry) {
      entry = { namespaces: new Set(), keys: new Map() };
      this.secrets.set(ref.secretName, entry);
    }
    entry.namespaces.add(namespace);
    const known = entry.keys.get(ref.key);
    if (known !== undefined && (known.description !== ref.description || JSON.stringify(known.format) !== JSON.stringify(ref.format))) {
      throw new Error(
        `secret '${ref.secretName}' key '${ref.key}' is described both as '${known.description}' and as '${ref.description}' (or with two formats); one key must hold one value`,
      );
    }
    entry.keys.set(ref.key, { description: ref.description, format: ref.format });
  }

  private readonly fromVault = new Map<string, { keys: Set<string>; namespaces: Set<string> }>();

  /** Records that `namespace` reads `ref` from Vault at `path` (no Kubernetes Secret exists for it). */
  public requireFromVault(ref: SecretKeyRef, path: string, namespace: string): void {
    const entry = this.fromVault.get(path) ?? { keys: new Set<string>(), namespaces: new Set<string>() };
    entry.keys.add(ref.key);
    entry.namespaces.add(namespace);
    this.fromVault.set(path, entry);
  }

  /** Vault KV paths the render reads, with their keys and the namespaces (Vault roles) that read them. */
  public vaultPaths(): { path: string; keys: string[]; namespaces: string[] }[] {
    return [...this.fromVault.entries()]
      .sort(([a], [b]) => compare(a, b))
      .map(([path, e]) => ({ path, keys: [...e.keys].sort(compare), namespaces: [...e.namespaces].sort(compare) }));
  }

  /** Everything required, sorted by name, for the inventory. */
  public list(): SecretRequirement[] {
    return [...this.secrets.entries()]
      .sort(([a], [b]) => compare(a, b))
      .map(([name, entry]) => ({
        name,
        namespaces: [...entry.namespaces].sort(compare),
        keys: [...entry.keys.entries()].sort(([a], [b]) => compare(a, b)).map(([key, { description, format }]) => (format ? { key, description, format } : { key, description })),
      }));
  }
}

/** Locale-independent string order, so output is identical on every machine. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The keys of a Git deploy token Secret (`username`, `password`), as Flux, Argo CD and git-sync
 * read it: one description, so one Secret can serve all of them.
 */
export function gitDeployToken(secretName: string): { readonly username: SecretKeyRef; readonly password: SecretKeyRef } {
  return {
    username: SecretKeyRef.of(secretName, 'username', 'user name of a read-only Git deploy token (read_repository)'),
    password: SecretKeyRef.of(secretName, 'password', 'a read-only Git deploy token (read_repository)'),
  };
}
