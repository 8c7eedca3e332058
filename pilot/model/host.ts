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

/** Istio's `host.Name.SubsetOf`: every name `n` covers is covered by `o` (`a.foo.com` ⊂ `*.foo.com` ⊂ `*`). */
export function hostSubsetOf(n: string, o: string): boolean {
  const nWild = n.startsWith('*');
  const oWild = o.startsWith('*');
  if (nWild) return oWild && n.length >= o.length && n.slice(1).endsWith(o.slice(1));
  if (oWild) return n.endsWith(o.slice(1));
  return n === o;
}

/** Istio's `host.Name.Matches`: either name covers the other. */
export function hostMatchesEither(n: string, o: string): boolean {
  return hostSubsetOf(n, o) || hostSubsetOf(o, n);
}

/** Istio's `host.Names.Intersection`: for each overlapping pair, the more specific name, once. */
export function hostIntersection(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  for (const x of a) {
    for (const y of b) {
      const pick = hostSubsetOf(x, y) ? x : hostSubsetOf(y, x) ? y : undefined;
      if (pick !== undefined && !out.includes(pick)) out.push(pick);
    }
  }
  return out;
}
