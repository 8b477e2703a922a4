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
 */
export const POD_SECURITY_EXCEPTIONS: Readonly<Record<string, { level: PodSecurityLevel; reason: string }>> = {
  'node-exporter': {
    level: PodSecurityLevel.PRIVILEGED,
    reason:
      "node-exporter reads the node's /proc, /sys and root filesystem through hostPath volumes and reports its network interfaces and processes from the host network and PID namespaces; baseline forbids all three. Its container stays non-root, read-only, without capabilities or privilege escalation, and the namespace holds nothing else.",
  },
};

/** The enforced level for a namespace: `restricted` unless it has an exception. */
export function podSecurityLevelFor(namespace: string): PodSecurityLevel {
  return POD_SECURITY_EXCEPTIONS[namespace]?.level ?? PodSecurityLevel.RESTRICTED;
}
