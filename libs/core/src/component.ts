import { Construct } from 'constructs';
import { z } from 'zod';
import { PlatformContext } from './context';
import { ContainerImage } from './images';

/** What a component's `build` receives: the cluster and the component's own cluster.yaml section. */
export interface ComponentBuildProps<C> {
  readonly context: PlatformContext;
  readonly config: C;
}

/**
 * Everything the platform needs from one component library, declared once and exported from its
 * index: its section of cluster.yaml, the images it runs and, for a component that uses no other
 * component, how to build it. A component that takes handles from others (a database, a bucket)
 * leaves `build` out: the platform composition builds it and passes what it uses, in one place.
 * The Secrets a component needs are not listed here: its charts declare each where they refer to
 * it (`SecretReference`), and the render fails naming any that no cluster provides.
 */
export interface ComponentDefinition<K extends string = string, S extends z.ZodType = z.ZodType> {
  /** The component's key under `components:` in cluster.yaml and its chart id, e.g. `mlflow`. */
  readonly key: K;
  /** Its section of cluster.yaml; `enabled` switches it on. Optional sections may be left out. */
  readonly configSchema: S;
  /** Every image its charts run. */
  readonly images: readonly ContainerImage[];
  /**
   * The web UIs it serves people when enabled: their keys under cluster.yaml's `access:` and
   * their host prefixes. A component whose UIs depend on its section (one per model service)
   * gives a function of that section.
   *
   * @default - none
   */
  readonly webUis?: readonly string[] | ((config: NonNullable<z.output<S>>) => readonly string[]);
  /**
   * Builds the component when its section is enabled.
   *
   * @default - the platform composition builds it (it uses other components' handles)
   */
  readonly build?: (scope: Construct, props: ComponentBuildProps<NonNullable<z.output<S>>>) => void;
}

/** Declares a component; throws when its key is not a camelCase word or an image is listed twice. */
export function defineComponent<const K extends string, S extends z.ZodType>(definition: ComponentDefinition<K, S>): ComponentDefinition<K, S> {
  if (!/^[a-z]([a-zA-Z0-9]*)$/.test(definition.key)) {
    throw new Error(`component key '${definition.key}' must be a camelCase word (it is a key of cluster.yaml's components section)`);
  }
  imagesOf([definition]);
  return definition;
}

/**
 * The UIs `definition` serves under its cluster.yaml section `section`: the fixed ones always
 * (so access entries may name them before the component is switched on), the ones that depend on
 * the section when it is present.
 */
export function componentWebUis(definition: ComponentDefinition, section: unknown): readonly string[] {
  const uis = definition.webUis ?? [];
  if (typeof uis !== 'function') return uis;
  return section === undefined || section === null ? [] : uis(section as never);
}

/** The cluster.yaml `components` shape of a list of definitions: each key to its section. */
export type ComponentsShape<D extends readonly ComponentDefinition[]> = { [E in D[number] as E['key']]: E['configSchema'] };

/** The `components` section of cluster.yaml for `definitions`, strict: an unknown component is an error. */
export function componentsSchemaOf<const D extends readonly ComponentDefinition[]>(definitions: D) {
  const keys = definitions.map((d) => d.key);
  const twice = keys.filter((k, i) => keys.indexOf(k) !== i);
  if (twice.length > 0) throw new Error(`component '${twice[0]}' is listed twice in the platform`);
  const shape = Object.fromEntries(definitions.map((d) => [d.key, d.configSchema])) as ComponentsShape<D>;
  return z.strictObject(shape).describe('Components of the platform, each switched on or off per cluster.');
}

/** Every image of `definitions`, in their order; throws naming both components when two declare one key. */
export function imagesOf(definitions: readonly Pick<ComponentDefinition, 'key' | 'images'>[]): ContainerImage[] {
  const owner = new Map<string, string>();
  const images: ContainerImage[] = [];
  for (const d of definitions) {
    for (const image of d.images) {
      const other = owner.get(image.key);
      if (other) throw new Error(`image '${image.key}' is declared by component '${other}' and by '${d.key}'; give each image one owner and one key`);
      owner.set(image.key, d.key);
      images.push(image);
    }
  }
  return images;
}
