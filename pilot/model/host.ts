// Istio host names: short names, FQDNs and wildcards.

/** Resolves a short name (`reviews`) in `namespace`; names with a dot are taken as FQDNs, as Istio does. */
export function resolveShortname(host: string, namespace: string, domainSuffix: string): string {
  if (host === '*' || host.startsWith('*') || host.includes('.')) return host;
  return `${host}.${namespace}.svc.${domainSuffix}`;
}

/** Does the (possibly wildcard) config host `pattern` cover the concrete or wildcard `host`? */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === host || pattern === '*') return true;
  if (pattern.startsWith('*')) {
    const suffix = pattern.slice(1);
    if (host.startsWith('*')) return host.slice(1).endsWith(suffix);
    return host.endsWith(suffix);
  }
  return false;
}

/** Either name matches the other (for selecting config when both sides may be wildcards). */
export function hostsOverlap(a: string, b: string): boolean {
  return hostMatches(a, b) || hostMatches(b, a);
}

/** Higher is more specific: exact names beat wildcards, longer wildcards beat shorter ones. */
export function hostSpecificity(pattern: string): number {
  return pattern.startsWith('*') ? pattern.length : Number.MAX_SAFE_INTEGER;
}
