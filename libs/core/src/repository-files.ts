import { Construct } from 'constructs';
import { compare } from './secrets';
import { registryOf } from './app-registry';

const REGISTRIES = new WeakMap<Construct, RepositoryFiles>();

/**
 * Files a cluster's render writes outside `dist-manifests/<cluster>/`, relative to the
 * repository root (e.g. the GitLab agent's `.gitlab/agents/<name>/config.yaml`). The drift
 * check covers them like the manifests.
 */
export class RepositoryFiles {
  /** The registry of the app that `scope` belongs to. */
  public static of(scope: Construct): RepositoryFiles {
    return registryOf(REGISTRIES, scope, () => new RepositoryFiles());
  }

  private readonly files = new Map<string, string>();

  private constructor() {
    // One registry per app: obtain it with RepositoryFiles.of(scope).
  }

  /** Adds a file; a path may be written by one construct only. */
  public add(path: string, content: string): void {
    if (path.startsWith('/') || path.split('/').includes('..') || path.startsWith('dist-manifests/')) {
      throw new Error(`repository file '${path}' must be a relative path outside dist-manifests/`);
    }
    if (this.files.has(path)) throw new Error(`repository file '${path}' is written twice`);
    this.files.set(path, content);
  }

  /** Every file, sorted by path. */
  public list(): { path: string; content: string }[] {
    return [...this.files.entries()].sort(([a], [b]) => compare(a, b)).map(([path, content]) => ({ path, content }));
  }
}
