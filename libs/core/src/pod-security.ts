/**
 * Pod Security Standard levels.
 * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/
 */
export enum PodSecurityLevel {
  RESTRICTED = 'restricted',
  BASELINE = 'baseline',
  PRIVILEGED = 'privileged',
}

/**
 * The one place where a namespace may run below `restricted`, each with its reason.
 * Reviewers look here; a chart cannot lower its own level without an entry.
 * Empty so far: node-exporter and the log shipper will need host access.
 */
export const POD_SECURITY_EXCEPTIONS: Readonly<Record<string, { level: PodSecurityLevel; reason: string }>> = {};

/** The enforced level for a namespace: `restricted` unless it has an exception. */
export function podSecurityLevelFor(namespace: string): PodSecurityLevel {
  return POD_SECURITY_EXCEPTIONS[namespace]?.level ?? PodSecurityLevel.RESTRICTED;
}
