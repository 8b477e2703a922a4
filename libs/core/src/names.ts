const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Throws unless `value` is an RFC 1123 DNS label (what Kubernetes requires for the names of
 * Namespaces and Services). Names are API: they appear in other objects and in people's heads.
 */
export function assertDnsLabel(value: string, what: string): string {
  if (value.length > 63 || !DNS_LABEL.test(value)) {
    throw new Error(
      `${what} '${value}' is not a valid DNS label: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
  return value;
}

/** True when `value` is an RFC 1123 DNS label. */
export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS_LABEL.test(value);
}
