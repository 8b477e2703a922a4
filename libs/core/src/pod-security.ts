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
export const POD_SECURITY_EXCEPTIONS: Readonly<Record<string, { level: PodSecurityLevel; reason: string; runsAsRoot?: boolean }>> = {
  'node-exporter': {
    level: PodSecurityLevel.PRIVILEGED,
    reason:
      "node-exporter reads the node's /proc, /sys and root filesystem through hostPath volumes and reports its network interfaces and processes from the host network and PID namespaces; baseline forbids all three. Its container stays non-root, read-only, without capabilities or privilege escalation, and the namespace holds nothing else.",
  },
  'log-shipper': {
    level: PodSecurityLevel.PRIVILEGED,
    runsAsRoot: true,
    reason:
      "The log shipper reads every container's log from the node (/var/log/pods, a read-only hostPath) and keeps its read offsets and its queue in a hostPath folder of its own (/var/lib/ml-platform/log-shipper), so that a restart or an upgrade loses no line; baseline forbids hostPath. It runs as root because the container runtime writes the logs as root's files (0640), but with every capability dropped, no privilege escalation, a read-only root filesystem and seccomp RuntimeDefault; the namespace holds nothing else.",
  },
};

/** Whether pods in `namespace` may run as root (UID 0, still without capabilities): only with an exception that says so. */
export function rootAllowedIn(namespace: string): boolean {
  return POD_SECURITY_EXCEPTIONS[namespace]?.runsAsRoot === true;
}

/** The enforced level for a namespace: `restricted` unless it has an exception. */
export function podSecurityLevelFor(namespace: string): PodSecurityLevel {
  return POD_SECURITY_EXCEPTIONS[namespace]?.level ?? PodSecurityLevel.RESTRICTED;
}
