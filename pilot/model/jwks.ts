// JSON Web Key Sets istiod holds for RequestAuthentication rules without inline keys: the
// resolver at the edge (bootstrap/jwks-resolver.ts) fetches them, and each push reads the
// snapshot it was built with, so translation stays a pure function of its inputs.
import type { RequestAuthentication } from '../config/schema/security.js';

/** What translation reads: the keys fetched for an issuer and JWKS URI ('' when found by OpenID discovery). */
export interface JwksSnapshot {
  get(issuer: string, jwksUri: string): string | undefined;
}

/** A key set istiod must fetch: by URI, or ('' URI) through the issuer's OpenID discovery. */
export interface JwksRule {
  issuer: string;
  jwksUri: string;
  timeoutSeconds: number;
}

/** What discovery needs of a JWKS fetcher: the keys now, and which key sets the config names. */
export interface JwksSource {
  snapshot(): JwksSnapshot;
  sync(rules: readonly JwksRule[]): void;
}

/** How long a JWKS fetch may take when the rule sets no `timeout` (Istio's default). */
export const DEFAULT_JWKS_TIMEOUT_SECONDS = 5;

export const NO_JWKS: JwksSnapshot = { get: () => undefined };

/**
 * Stands in for keys not (yet) fetched, so that Envoy rejects every token rather than accept
 * one unchecked: an RSA public key whose private half was generated for this project and
 * destroyed at once, so no token can ever verify against it.
 */
export const PUBLIC_ONLY_JWKS = JSON.stringify({ keys: [{ kty: 'RSA', e: 'AQAB', n: 'uYEpdguasrqdCiL10GDmKnhv2D9ktsWBuWBbex_J_XBx7Bse90fvNzQlwXRmNDHBSFpYyA-jfmmPD4r2YNFQ9FMjaAOkR-5IVN7MOcww1TE_joXlBEujEsbqBQ8sgwZMjN2coI9DDcv9gRv971RbZASZDai_WAxasiCtLtll5cm3plhkI25g0FO3x-poxeK08-q52aRMFcGhoXWDqQ1R_kVGcfBgVanG57mDX4_qNTGGsA-PMUfx8bxB40JTEt2QF09FapGFCsZrGwDOq4KYr1U6Gc2JmGYsCFsW2WKZMZs6aAroXxAWhShikJtlMVJe7D5f71nVfEb9zszC1e61oQ' }] });

export function jwksKey(issuer: string, jwksUri: string): string {
  return `${issuer}\n${jwksUri}`;
}

/**
 * The key sets istiod fetches for these RequestAuthentications: every rule without inline keys,
 * except that Envoy fetches those with a URI itself unless PILOT_JWT_ENABLE_REMOTE_JWKS is istiod
 * (hybrid mode may still fall back to istiod's copy, so it fetches them too).
 */
export function jwksToFetch(specs: readonly RequestAuthentication[], envoyFetches: boolean): JwksRule[] {
  const out = new Map<string, JwksRule>();
  for (const spec of specs) {
    for (const r of spec.jwtRules ?? []) {
      if (r.jwks || (envoyFetches && r.jwksUri)) continue;
      const rule = { issuer: r.issuer ?? '', jwksUri: r.jwksUri ?? '', timeoutSeconds: r.timeout?.seconds ?? DEFAULT_JWKS_TIMEOUT_SECONDS };
      out.set(jwksKey(rule.issuer, rule.jwksUri), rule);
    }
  }
  return [...out.values()];
}
