import { IConstruct } from 'constructs';

/**
 * The instance of a per-app registry (secret requirements, metrics targets, repository files)
 * for the app that `scope` belongs to, created on first use. Keyed by the construct tree's
 * root, so two apps rendered in one process never share state.
 */
export function registryOf<T>(registries: WeakMap<IConstruct, T>, scope: IConstruct, create: () => T): T {
  const root = scope.node.root;
  let registry = registries.get(root);
  if (!registry) {
    registry = create();
    registries.set(root, registry);
  }
  return registry;
}
