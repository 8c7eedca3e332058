// The mesh's trust domain and its aliases (MeshConfig trustDomain, trustDomainAliases). A
// policy naming `cluster.local/ns/foo/sa/bar` must keep matching after the mesh moves to a new
// trust domain, so principals are rewritten into every domain of the bundle.

/** Trust domains that default to the local cluster's and so always count as the mesh's own. */
const CLUSTER_LOCAL = 'cluster.local';

/** `td/ns/<ns>/sa/<sa>`: five parts, the first the trust domain ("*" leaves it unconstrained). */
function spiffeParts(principal: string): string[] | undefined {
  const parts = principal.split('/');
  return parts.length === 5 ? parts : undefined;
}

export class TrustDomainBundle {
  /** The mesh's trust domain first, then its aliases. */
  readonly trustDomains: readonly string[];

  constructor(trustDomains: readonly string[]) {
    this.trustDomains = trustDomains;
  }

  static forMesh(trustDomain: string, aliases: readonly string[] = []): TrustDomainBundle {
    return new TrustDomainBundle([trustDomain, ...aliases]);
  }

  /**
   * Each principal whose trust domain is the mesh's (or an alias, or cluster.local) becomes one
   * principal per trust domain of the bundle. Others, and wildcards, are kept as written.
   */
  replaceAliases(principals: readonly string[]): string[] {
    const out: string[] = [];
    for (const principal of principals) {
      const parts = spiffeParts(principal);
      if (!parts || parts[0] === '*') {
        out.push(principal);
        continue;
      }
      const domain = parts[0]!;
      if (!domainInList(domain, this.trustDomains) && domain !== CLUSTER_LOCAL) {
        out.push(principal);
        continue;
      }
      const variants: string[] = [];
      for (const td of this.trustDomains) {
        const v = suffixMatches(td, domain) ? principal : [td, ...parts.slice(1)].join('/');
        if (!variants.includes(v)) variants.push(v);
      }
      out.push(...variants);
    }
    return out;
  }

  /** A trust domain of the bundle stands for all of them. */
  expandAliases(values: readonly string[]): string[] {
    const out: string[] = [];
    for (const v of values) {
      for (const x of this.trustDomains.includes(v) ? this.trustDomains : [v]) if (!out.includes(x)) out.push(x);
    }
    return out;
  }
}

/** Either side may be a pattern with `*` at one end ("*" matches anything). */
function domainInList(domain: string, list: readonly string[]): boolean {
  return list.some((s) => domain === s || s === '*' || prefixMatches(domain, s) || prefixMatches(s, domain) || suffixMatches(domain, s) || suffixMatches(s, domain));
}

function prefixMatches(value: string, pattern: string): boolean {
  return pattern.endsWith('*') && value.startsWith(pattern.slice(0, -1));
}

function suffixMatches(value: string, pattern: string): boolean {
  return pattern.startsWith('*') && value.endsWith(pattern.slice(1));
}
