/** The part-of value every object of this platform carries. */
export const PART_OF = 'ml-platform';
/** The managed-by value: the rendered YAML is produced by cdk8s, never by hand. */
export const MANAGED_BY = 'cdk8s';

/** Keys of the standard Kubernetes recommended labels. */
export const LabelKeys = {
  NAME: 'app.kubernetes.io/name',
  INSTANCE: 'app.kubernetes.io/instance',
  COMPONENT: 'app.kubernetes.io/component',
  PART_OF: 'app.kubernetes.io/part-of',
  VERSION: 'app.kubernetes.io/version',
  MANAGED_BY: 'app.kubernetes.io/managed-by',
} as const;

/** The label a namespace gets from the API server; network policies select namespaces by it. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/**
 * Who a set of pods is. `name` is the application (e.g. `minio` or `minio-bootstrap`),
 * `instance` the installation it belongs to (e.g. `minio`). Selectors use exactly these two
 * labels, so a selector never depends on cdk8s internals.
 */
export interface WorkloadIdentity {
  readonly name: string;
  readonly instance: string;
  /** What the workload does within its instance, e.g. `database`, `bootstrap`. */
  readonly component: string;
  /** The version of the software it runs (the image version). */
  readonly version: string;
}

/** The selector labels for a workload: name and instance, nothing else. */
export function selectorLabels(identity: Pick<WorkloadIdentity, 'name' | 'instance'>): Record<string, string> {
  return { [LabelKeys.NAME]: identity.name, [LabelKeys.INSTANCE]: identity.instance };
}

/** All standard labels for objects that belong to a workload. */
export function workloadLabels(identity: WorkloadIdentity): Record<string, string> {
  return {
    ...selectorLabels(identity),
    [LabelKeys.COMPONENT]: identity.component,
    [LabelKeys.PART_OF]: PART_OF,
    [LabelKeys.VERSION]: toLabelValue(identity.version),
    [LabelKeys.MANAGED_BY]: MANAGED_BY,
  };
}

/**
 * Turns a version (an image tag) into a valid label value: at most 63 characters of
 * `[A-Za-z0-9._-]`, starting and ending alphanumeric.
 */
export function toLabelValue(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
}
