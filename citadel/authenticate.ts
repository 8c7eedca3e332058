// Who is asking for a certificate. Authenticators are tried in order and the first that succeeds
// decides the caller, as Istio's authentication manager does: the client certificate first (a
// workload renewing with a certificate this CA issued), then bearer JWTs (JWT_RULE), then any
// authenticators the caller adds (e.g. Kubernetes TokenReview).
import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import * as x509 from './x509.js';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import type { JwtRule } from './config.js';
import { bytes, certificateIdentities } from './pki.js';

export type AuthSource = 'ClientCertificate' | 'IDToken' | string;

export interface Caller {
  source: AuthSource;
  /** Identities the certificate will carry (SPIFFE URIs for workloads). */
  identities: string[];
  /** Kubernetes details when known (from a service-account token). */
  kubernetes?: { namespace: string; serviceAccount: string; podName?: string; podUid?: string };
}

/** What an authenticator sees of a call. */
export interface AuthContext {
  metadata: Metadata;
  /** DER of the client certificate, present only when it verified against the mesh roots. */
  peerCertificate?: Buffer;
  peer: string;
}

export interface Authenticator {
  readonly type: string;
  /** Resolves the caller, or rejects with the reason (logged, never sent to the client). */
  authenticate(ctx: AuthContext): Promise<Caller>;
}

/** Any grpc-js server call (unary or stream): what authentication needs of it. */
export type AuthenticatableCall = Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getPeer' | 'getAuthContext'>;

export function authContextOf(call: AuthenticatableCall): AuthContext {
  const auth = call.getAuthContext?.();
  const raw = auth?.sslPeerCertificate?.raw;
  return { metadata: call.metadata, peerCertificate: raw && raw.length ? raw : undefined, peer: call.getPeer() };
}

export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
  constructor(readonly failures: string[]) {
    super(failures.length ? failures.join('; ') : 'no authenticator configured');
  }
}

/** Runs the authenticators in order; the first success wins. */
export async function authenticate(ctx: AuthContext, authenticators: Authenticator[]): Promise<Caller> {
  const failures: string[] = [];
  for (const a of authenticators) {
    try {
      const caller = await a.authenticate(ctx);
      if (caller.identities.length > 0) return caller;
      failures.push(`Authenticator ${a.type}: no identity`);
    } catch (e) {
      failures.push(`Authenticator ${a.type}: ${(e as Error).message}`);
    }
  }
  throw new AuthenticationError(failures);
}

/**
 * Identities from the verified client certificate's SAN (Istio's ClientCertAuthenticator). grpc-js only
 * exposes the peer certificate when the TLS handshake verified it against the configured roots.
 */
export class ClientCertAuthenticator implements Authenticator {
  readonly type = 'ClientCertAuthenticator';
  async authenticate(ctx: AuthContext): Promise<Caller> {
    if (!ctx.peerCertificate) throw new Error('no verified client certificate is presented');
    const cert = new x509.X509Certificate(bytes(ctx.peerCertificate));
    // No Kubernetes details: as in Istio, a certificate-authenticated caller cannot impersonate.
    return { source: 'ClientCertificate', identities: certificateIdentities(cert) };
  }
}

/** The bearer token of the `authorization` metadata (Istio's ExtractBearerToken). */
export function extractBearerToken(md: Metadata): string {
  const values = md.get('authorization');
  if (values.length === 0) throw new Error('no HTTP authorization header exists');
  for (const v of values) {
    const s = typeof v === 'string' ? v : v.toString('utf8');
    if (s.startsWith('Bearer ')) return s.slice('Bearer '.length);
  }
  throw new Error('no bearer token exists in HTTP authorization header');
}

// Asymmetric JWS algorithms only: an HMAC secret or `none` never authenticates a workload.
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/**
 * Bearer JWTs from one issuer (Istio's JwtAuthenticator for JWT_RULE): signature against the issuer's keys
 * (inline `jwks`, `jwks_uri`, or OIDC discovery), issuer, expiry, an audience in the rule's list, and
 * `sub` = `system:serviceaccount:<ns>:<sa>`, which becomes `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`.
 */
export class JwtAuthenticator implements Authenticator {
  readonly type = 'IDTokenAuthenticator';
  private keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(readonly rule: JwtRule, private readonly trustDomain: () => string, private readonly fetchImpl: typeof fetch = fetch) {
    if (rule.jwks) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(rule.jwks);
      } catch (e) {
        throw new Error(`JWT rule for ${rule.issuer}: jwks is not valid JSON: ${(e as Error).message}`);
      }
      this.keys = Promise.resolve(createLocalJWKSet(parsed as Parameters<typeof createLocalJWKSet>[0]));
    }
  }

  private keySet(): Promise<JWTVerifyGetKey> {
    if (!this.keys) {
      const p = this.rule.jwksUri ? Promise.resolve(createRemoteJWKSet(new URL(this.rule.jwksUri))) : this.discover();
      this.keys = p;
      p.catch(() => {
        if (this.keys === p) this.keys = undefined; // retry discovery on the next request
      });
    }
    return this.keys;
  }

  private async discover(): Promise<JWTVerifyGetKey> {
    const url = `${this.rule.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const res = await this.fetchImpl(url, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`OIDC discovery at ${url} failed: HTTP ${res.status}`);
    const doc = (await res.json()) as { issuer?: string; jwks_uri?: string };
    if (doc.issuer !== this.rule.issuer) throw new Error(`OIDC discovery: issuer did not match the issuer returned by provider, expected "${this.rule.issuer}" got "${doc.issuer}"`);
    if (!doc.jwks_uri) throw new Error(`OIDC discovery at ${url}: no jwks_uri`);
    return createRemoteJWKSet(new URL(doc.jwks_uri));
  }

  async authenticate(ctx: AuthContext): Promise<Caller> {
    let token: string;
    try {
      token = extractBearerToken(ctx.metadata);
    } catch (e) {
      throw new Error(`ID token extraction error: ${(e as Error).message}`);
    }
    let payload: Record<string, unknown>;
    try {
      const res = await jwtVerify(token, await this.keySet(), {
        issuer: this.rule.issuer,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp'],
      });
      payload = res.payload as Record<string, unknown>;
    } catch (e) {
      throw new Error(`failed to verify the JWT token (error ${describeJoseError(e)})`);
    }
    const sub = typeof payload.sub === 'string' ? payload.sub : '';
    const parts = sub.split(':');
    if (!sub.startsWith('system:serviceaccount') || parts.length !== 4 || parts[0] !== 'system' || parts[1] !== 'serviceaccount' || !parts[2] || !parts[3]) {
      throw new Error(`invalid sub ${sub}`);
    }
    const aud = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud.filter((a): a is string => typeof a === 'string') : [];
    if (!aud.some((a) => this.rule.audiences.includes(a))) throw new Error(`invalid audiences [${aud.join(' ')}]`);
    const namespace = parts[2];
    const serviceAccount = parts[3];
    return {
      source: 'IDToken',
      identities: [spiffeUri(this.trustDomain(), namespace, serviceAccount)],
      kubernetes: { namespace, serviceAccount },
    };
  }
}

function describeJoseError(e: unknown): string {
  if (e instanceof joseErrors.JWTExpired) return `oidc: token is expired (exp ${String(e.payload.exp)})`;
  if (e instanceof joseErrors.JWTClaimValidationFailed) return `oidc: ${e.claim === 'iss' ? 'id token issued by a different provider' : e.message}`;
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return 'failed to verify signature: failed to verify id token signature';
  if (e instanceof joseErrors.JWKSNoMatchingKey) return 'failed to verify signature: no key in the issuer JWKS matches the token';
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return `oidc: ${e.message}`;
  if (e instanceof joseErrors.JWSInvalid || e instanceof joseErrors.JWTInvalid) return `oidc: malformed jwt: ${e.message}`;
  return (e as Error)?.message ?? String(e);
}

export function spiffeUri(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

export interface SpiffeIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

/** Parses `spiffe://<td>/ns/<ns>/sa/<sa>` (Istio's spiffe.ParseIdentity); undefined when malformed. */
export function parseSpiffeIdentity(s: string): SpiffeIdentity | undefined {
  if (!s.startsWith('spiffe://')) return undefined;
  const parts = s.slice('spiffe://'.length).split('/');
  if (parts.length !== 5 || parts[1] !== 'ns' || parts[3] !== 'sa' || !parts[0] || !parts[2] || !parts[4]) return undefined;
  return { trustDomain: parts[0], namespace: parts[2], serviceAccount: parts[4] };
}
