// Citadel's configuration: read once from Istio's environment variables (same names, same
// defaults as istiod), then overridable field by field by the caller (tests, isthmusd flags).
import { resolve } from 'node:path';

/** A JWT issuer trusted to vouch for workload identities (the JSON of Istio's `JWT_RULE`). */
export interface JwtRule {
  issuer: string;
  /** A token is accepted when one of its `aud` values is in this list. Empty: nothing is accepted (as Istio). */
  audiences: string[];
  /** Where the issuer's JWKS is fetched. Absent with no inline `jwks`: OIDC discovery from the issuer. */
  jwksUri?: string;
  /** Inline JWKS (a JSON string, as in Istio's JWTRule.jwks), for offline use. */
  jwks?: string;
}

export interface NamespacedName {
  namespace: string;
  name: string;
}

export interface CitadelConfig {
  /** SPIFFE trust domain of issued identities and organisation of the self-signed root. `TRUST_DOMAIN`. */
  trustDomain: string;
  /** Token issuers for bearer-token authentication. `JWT_RULE` (and `TOKEN_ISSUER`/`AUDIENCE` outside a cluster). */
  jwtRules: JwtRule[];
  /** Service accounts allowed to request certificates for other identities. `CA_TRUSTED_NODE_ACCOUNTS` (ns/sa,...). */
  trustedNodeAccounts: NamespacedName[];
  /** TTL of a workload certificate when the request asks for none. `DEFAULT_WORKLOAD_CERT_TTL` (24h). */
  defaultWorkloadCertTtlMs: number;
  /** Largest TTL a workload may ask for. `MAX_WORKLOAD_CERT_TTL` (90 days). */
  maxWorkloadCertTtlMs: number;
  /**
   * What happens to a request for more than the maximum: `reject` (Istio: InvalidArgument, TTL_ERROR)
   * or `clamp` (issue a certificate of the maximum lifetime). No Istio variable; option only.
   */
  ttlOverMax: 'reject' | 'clamp';
  /** Istio's plug-in CA folder (`cacerts` layout or kubernetes.io/tls layout). `ROOT_CA_DIR` (./etc/cacerts). */
  rootCaDir: string;
  /**
   * Where the self-signed root (ca-cert.pem, ca-key.pem) is kept across restarts, and where root-cert.pem is
   * written for the embedded mode. `ISTHMUS_CITADEL_DIR` (./var/citadel). Istio keeps the same material in the
   * `istio-ca-secret` Secret.
   */
  stateDir: string;
  /** Lifetime of the self-signed root, and of istiod's serving certificate. `CITADEL_SELF_SIGNED_CA_CERT_TTL` (10 years). */
  selfSignedCaCertTtlMs: number;
  /** RSA modulus of the self-signed root key. `CITADEL_SELF_SIGNED_CA_RSA_KEY_SIZE` (2048). */
  selfSignedCaRsaKeySize: number;
  /** How often the self-signed root is checked for rotation; <= 0 disables. `CITADEL_SELF_SIGNED_ROOT_CERT_CHECK_INTERVAL` (1h). */
  selfSignedRootCertCheckIntervalMs: number;
  /** The root is re-issued (same key) once less than this percentage of its life remains. `CITADEL_SELF_SIGNED_ROOT_CERT_GRACE_PERIOD_PERCENTILE` (20). */
  selfSignedRootCertGracePeriodPercentile: number;
  /** Lifetime of the 15012 serving certificate. Istio uses the self-signed CA TTL; option only. */
  servingCertTtlMs: number;
  /** The serving certificate is renewed when this fraction of its lifetime has passed (Istio: 0.5). */
  servingCertRenewRatio: number;
  /** istiod's namespace, used in its DNS names. `POD_NAMESPACE` (istio-system). */
  istiodNamespace: string;
  /** Control-plane revision; adds `istiod-<rev>.<ns>.svc`. `REVISION`. */
  revision: string;
  /** Extra serving-certificate DNS names. `ISTIOD_CUSTOM_HOST` (comma separated). */
  customHosts: string[];
  /** Host of the discovery address proxies dial (mesh config `discoveryAddress` without port). */
  discoveryHost: string;
  /** Largest accepted CSR (PEM characters); bigger requests fail InvalidArgument. Isthmus addition; option only. */
  maxCsrBytes: number;
}

const HOUR = 3600_000;

export const DEFAULTS = {
  trustDomain: 'cluster.local',
  defaultWorkloadCertTtlMs: 24 * HOUR,
  maxWorkloadCertTtlMs: 90 * 24 * HOUR,
  selfSignedCaCertTtlMs: 3650 * 24 * HOUR,
  selfSignedCaRsaKeySize: 2048,
  selfSignedRootCertCheckIntervalMs: HOUR,
  selfSignedRootCertGracePeriodPercentile: 20,
  rootCaDir: './etc/cacerts',
  stateDir: './var/citadel',
  istiodNamespace: 'istio-system',
  maxCsrBytes: 64 * 1024,
} as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads Citadel's configuration from Istio's environment variables, then applies `overrides`. */
export function loadCitadelConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<CitadelConfig> = {}): CitadelConfig {
  const str = (name: string, def: string): string => {
    const v = env[name];
    return v === undefined || v === '' ? def : v;
  };
  const dur = (name: string, defMs: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return defMs;
    try {
      return parseGoDuration(v);
    } catch (e) {
      throw new ConfigError(`${name}=${JSON.stringify(v)}: ${(e as Error).message}`);
    }
  };
  const int = (name: string, def: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return def;
    if (!/^-?\d+$/.test(v.trim())) throw new ConfigError(`${name}=${JSON.stringify(v)}: not an integer`);
    return Number.parseInt(v, 10);
  };

  const trustDomain = str('TRUST_DOMAIN', DEFAULTS.trustDomain);
  const jwtRules: JwtRule[] = [];
  if (env.JWT_RULE) jwtRules.push(parseJwtRule(env.JWT_RULE, 'JWT_RULE'));
  // istiod outside a cluster also trusts TOKEN_ISSUER (with AUDIENCE), discovered over OIDC.
  if (env.TOKEN_ISSUER && !env.KUBERNETES_SERVICE_HOST) {
    jwtRules.push({ issuer: env.TOKEN_ISSUER, audiences: env.AUDIENCE ? [env.AUDIENCE] : [] });
  }
  const istiodNamespace = str('POD_NAMESPACE', DEFAULTS.istiodNamespace);
  const selfSignedCaCertTtlMs = dur('CITADEL_SELF_SIGNED_CA_CERT_TTL', DEFAULTS.selfSignedCaCertTtlMs);
  const config: CitadelConfig = {
    trustDomain,
    jwtRules,
    trustedNodeAccounts: parseTrustedNodeAccounts(env.CA_TRUSTED_NODE_ACCOUNTS ?? ''),
    defaultWorkloadCertTtlMs: dur('DEFAULT_WORKLOAD_CERT_TTL', DEFAULTS.defaultWorkloadCertTtlMs),
    maxWorkloadCertTtlMs: dur('MAX_WORKLOAD_CERT_TTL', DEFAULTS.maxWorkloadCertTtlMs),
    ttlOverMax: 'reject',
    rootCaDir: resolve(str('ROOT_CA_DIR', DEFAULTS.rootCaDir)),
    stateDir: resolve(str('ISTHMUS_CITADEL_DIR', DEFAULTS.stateDir)),
    selfSignedCaCertTtlMs,
    selfSignedCaRsaKeySize: int('CITADEL_SELF_SIGNED_CA_RSA_KEY_SIZE', DEFAULTS.selfSignedCaRsaKeySize),
    selfSignedRootCertCheckIntervalMs: dur('CITADEL_SELF_SIGNED_ROOT_CERT_CHECK_INTERVAL', DEFAULTS.selfSignedRootCertCheckIntervalMs),
    selfSignedRootCertGracePeriodPercentile: int('CITADEL_SELF_SIGNED_ROOT_CERT_GRACE_PERIOD_PERCENTILE', DEFAULTS.selfSignedRootCertGracePeriodPercentile),
    servingCertTtlMs: selfSignedCaCertTtlMs,
    servingCertRenewRatio: 0.5,
    istiodNamespace,
    revision: str('REVISION', ''),
    customHosts: (env.ISTIOD_CUSTOM_HOST ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    discoveryHost: `istiod.${istiodNamespace}.svc`,
    maxCsrBytes: DEFAULTS.maxCsrBytes,
  };
  const merged: CitadelConfig = { ...config };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  validateConfig(merged);
  return merged;
}

function validateConfig(c: CitadelConfig): void {
  if (!c.trustDomain || /[/\s]/.test(c.trustDomain)) throw new ConfigError(`trust domain ${JSON.stringify(c.trustDomain)} is not a valid SPIFFE trust domain`);
  for (const [k, v] of [
    ['DEFAULT_WORKLOAD_CERT_TTL', c.defaultWorkloadCertTtlMs],
    ['MAX_WORKLOAD_CERT_TTL', c.maxWorkloadCertTtlMs],
    ['CITADEL_SELF_SIGNED_CA_CERT_TTL', c.selfSignedCaCertTtlMs],
    ['serving certificate TTL', c.servingCertTtlMs],
  ] as const) {
    if (!(v > 0)) throw new ConfigError(`${k} must be positive (got ${formatGoDuration(v)})`);
  }
  if (c.selfSignedCaRsaKeySize < 2048) {
    throw new ConfigError(`CITADEL_SELF_SIGNED_CA_RSA_KEY_SIZE: requested key size does not meet the minimum required size of 2048 (requested: ${c.selfSignedCaRsaKeySize})`);
  }
  if (!(c.servingCertRenewRatio > 0 && c.servingCertRenewRatio < 1)) throw new ConfigError('servingCertRenewRatio must be in (0, 1)');
}

/** Parses Istio's JWT_RULE: the JSON form of istio.security.v1beta1.JWTRule (snake_case or camelCase keys). */
export function parseJwtRule(text: string, source = 'JWT rule'): JwtRule {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${source}: failed to unmarshal JWT rule: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${source}: expected a JSON object`);
  const o = raw as Record<string, unknown>;
  const pick = (...names: string[]): unknown => {
    for (const n of names) if (o[n] !== undefined) return o[n];
    return undefined;
  };
  const issuer = pick('issuer');
  if (typeof issuer !== 'string' || issuer === '') throw new ConfigError(`${source}: "issuer" is required`);
  const audiences = pick('audiences') ?? [];
  if (!Array.isArray(audiences) || audiences.some((a) => typeof a !== 'string')) throw new ConfigError(`${source}: "audiences" must be a list of strings`);
  const jwksUri = pick('jwks_uri', 'jwksUri');
  if (jwksUri !== undefined && typeof jwksUri !== 'string') throw new ConfigError(`${source}: "jwks_uri" must be a string`);
  let jwks = pick('jwks');
  if (jwks !== undefined && typeof jwks === 'object' && jwks !== null) jwks = JSON.stringify(jwks); // accept an inline object too
  if (jwks !== undefined && typeof jwks !== 'string') throw new ConfigError(`${source}: "jwks" must be a JSON string`);
  const rule: JwtRule = { issuer, audiences: audiences as string[] };
  if (jwksUri) rule.jwksUri = jwksUri;
  if (jwks) rule.jwks = jwks as string;
  return rule;
}

/** CA_TRUSTED_NODE_ACCOUNTS: `ns/sa,ns/sa`; malformed entries are ignored, as Istio does. */
export function parseTrustedNodeAccounts(text: string): NamespacedName[] {
  const out: NamespacedName[] = [];
  for (const entry of text.split(',')) {
    const v = entry.trim();
    if (!v) continue;
    const slash = v.indexOf('/');
    if (slash < 0) continue;
    out.push({ namespace: v.slice(0, slash), name: v.slice(slash + 1) });
  }
  return out;
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: HOUR,
};

/** Parses a Go `time.Duration` string (`24h`, `2160h0m0s`, `1.5h`, `90m`, `300ms`) into milliseconds. */
export function parseGoDuration(text: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  const m = /^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(s);
  if (!m) throw new Error(`invalid duration ${JSON.stringify(text)} (expected a Go duration such as 24h or 90m)`);
  let total = 0;
  for (const part of m[2]!.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(part[1]) * UNIT_MS[part[2]!]!;
  return m[1] === '-' ? -total : total;
}

/** Formats milliseconds like Go's `time.Duration.String()` (`2160h0m0s`, `1m30s`, `500ms`). */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  let out: string;
  if (rest < 1000) {
    out = `${trimFloat(rest)}ms`;
  } else {
    const h = Math.floor(rest / HOUR);
    rest -= h * HOUR;
    const m = Math.floor(rest / 60_000);
    rest -= m * 60_000;
    const sec = `${trimFloat(rest / 1000)}s`;
    out = h > 0 ? `${h}h${m}m${sec}` : m > 0 ? `${m}m${sec}` : sec;
  }
  return neg ? `-${out}` : out;
}

function trimFloat(n: number): string {
  return Number(n.toFixed(9)).toString();
}
