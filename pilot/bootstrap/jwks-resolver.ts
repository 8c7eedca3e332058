// Fetches the JSON Web Key Sets that RequestAuthentication rules name by `jwksUri` (or, without
// one, find through the issuer's OpenID discovery document), as istiod does in its default
// PILOT_JWT_ENABLE_REMOTE_JWKS=false mode, so proxies get the keys inline. Fetches run in the
// background: a push built before a key arrives carries a key nothing verifies against (tokens
// are refused, never accepted unchecked), and the key's arrival or change triggers a new push.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { jwksKey, type JwksRule, type JwksSnapshot, type JwksSource } from '../model/jwks.js';

export interface JwksResolverOptions {
  /** Called when keys arrived or changed: the next push must carry them. */
  onChange: () => void;
  log: { warn: (obj: object, msg: string) => void; info?: (obj: object, msg: string) => void };
  /** PILOT_JWT_PUB_KEY_REFRESH_INTERVAL (Istio's default 20 minutes). */
  refreshMs?: number;
  /** How soon a failed fetch is tried again (Istio: one minute). */
  retryFailedMs?: number;
  /** Attempts per fetch, and the pause between them. */
  attempts?: number;
  attemptPauseMs?: number;
  /** BLOCKED_CIDRS_IN_JWKS_URIS: ranges never fetched from, besides link-local and cloud metadata addresses. */
  blockedCidrs?: string[];
  fetch?: typeof fetch;
}

interface Entry {
  rule: JwksRule;
  /** The JWKS as fetched; undefined until a fetch succeeded. */
  keys?: string;
  inFlight?: Promise<void>;
  failedAt?: number;
}

const OPENID_SUFFIX = '/.well-known/openid-configuration';

/** Addresses a JWKS fetch must never reach: link-local (cloud metadata lives there) and well-known metadata hosts. */
function blockedAddress(ip: string, extra: readonly { base: bigint; bits: number; v6: boolean }[]): string | undefined {
  const v6 = isIP(ip) === 6;
  const lower = ip.toLowerCase();
  if (!v6 && ip.startsWith('169.254.')) return 'link-local';
  if (v6 && /^fe[89ab]/.test(lower)) return 'link-local';
  if (ip === '100.100.100.200' || lower === 'fd00:ec2::254') return 'a known cloud metadata address';
  const value = toBigInt(ip);
  for (const c of extra) {
    if (c.v6 !== v6) continue;
    const width = v6 ? 128 : 32;
    if (value >> BigInt(width - c.bits) === c.base >> BigInt(width - c.bits)) return 'in a blocked CIDR range';
  }
  return undefined;
}

function toBigInt(ip: string): bigint {
  if (isIP(ip) === 4) return ip.split('.').reduce((a, p) => (a << 8n) + BigInt(Number(p)), 0n);
  const [head, tail = ''] = ip.split('::');
  const parts = (s: string) => (s ? s.split(':') : []);
  const h = parts(head!);
  const t = parts(tail);
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.reduce((a, g) => (a << 16n) + BigInt(parseInt(g || '0', 16)), 0n);
}

function parseCidr(text: string): { base: bigint; bits: number; v6: boolean } | undefined {
  const [addr, bits] = text.trim().split('/');
  const family = isIP(addr ?? '');
  if (!family) return undefined;
  const max = family === 6 ? 128 : 32;
  const n = bits === undefined ? max : Number(bits);
  if (!(n >= 0 && n <= max)) return undefined;
  return { base: toBigInt(addr!), bits: n, v6: family === 6 };
}

/** A JSON object with a `keys` array: anything else is refused, so no fetched page ends up in proxy config. */
function jwksFormatError(body: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (e) {
    return `not valid JSON: ${(e as Error).message}`;
  }
  if (!doc || typeof doc !== 'object' || !('keys' in doc)) return 'missing "keys" field';
  if (!Array.isArray((doc as { keys: unknown }).keys)) return '"keys" is not an array';
  return undefined;
}

/** Key sets equal up to the order of their keys (by `kid`) push nothing. */
function sameKeys(a: string, b: string): boolean {
  if (a === b) return true;
  const canon = (s: string) => {
    const keys = (JSON.parse(s) as { keys: { kid?: string }[] }).keys.map((k) => JSON.stringify(k)).sort();
    return JSON.stringify(keys);
  };
  try {
    return canon(a) === canon(b);
  } catch {
    return false;
  }
}

export class JwksResolver implements JwksSource {
  private readonly entries = new Map<string, Entry>();
  private readonly blocked: { base: bigint; bits: number; v6: boolean }[];
  private readonly timer: NodeJS.Timeout;
  private readonly fetchFn: typeof fetch;
  private closed = false;

  constructor(private readonly opts: JwksResolverOptions) {
    this.fetchFn = opts.fetch ?? fetch;
    this.blocked = (opts.blockedCidrs ?? []).map((c) => {
      const parsed = parseCidr(c);
      if (!parsed) opts.log.warn({ cidr: c }, 'ignoring an invalid range in BLOCKED_CIDRS_IN_JWKS_URIS');
      return parsed;
    }).filter((c): c is NonNullable<typeof c> => !!c);
    const retryFailed = opts.retryFailedMs ?? 60_000;
    let lastRefresh = Date.now();
    // One timer: failed fetches are retried every `retryFailedMs`, all keys refreshed every `refreshMs`.
    this.timer = setInterval(() => {
      const now = Date.now();
      const full = now - lastRefresh >= (opts.refreshMs ?? 20 * 60_000);
      if (full) lastRefresh = now;
      for (const e of this.entries.values()) if (full || (e.failedAt !== undefined && now - e.failedAt >= retryFailed)) this.start(e);
    }, Math.min(retryFailed, opts.refreshMs ?? 20 * 60_000));
    this.timer.unref();
  }

  /** The keys as they are now, for one push. */
  snapshot(): JwksSnapshot {
    const keys = new Map<string, string>();
    for (const [k, e] of this.entries) if (e.keys !== undefined) keys.set(k, e.keys);
    return { get: (issuer, uri) => keys.get(jwksKey(issuer, uri)) };
  }

  /** The rules the config names now: new ones are fetched, ones no longer named are forgotten. */
  sync(rules: readonly JwksRule[]): void {
    const wanted = new Map(rules.map((r) => [jwksKey(r.issuer, r.jwksUri), r]));
    for (const k of [...this.entries.keys()]) if (!wanted.has(k)) this.entries.delete(k);
    for (const [k, rule] of wanted) {
      const known = this.entries.get(k);
      if (known) {
        known.rule = rule;
        continue;
      }
      const e: Entry = { rule };
      this.entries.set(k, e);
      this.start(e);
    }
  }

  /** Resolves when no fetch is running (tests wait on it). */
  async settled(): Promise<void> {
    for (;;) {
      const running = [...this.entries.values()].map((e) => e.inFlight).filter((p): p is Promise<void> => !!p);
      if (!running.length) return;
      await Promise.all(running);
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  private start(e: Entry): void {
    if (e.inFlight || this.closed) return;
    e.inFlight = this.refresh(e).finally(() => (e.inFlight = undefined));
  }

  private async refresh(e: Entry): Promise<void> {
    const { issuer, jwksUri, timeoutSeconds } = e.rule;
    try {
      const uri = jwksUri || (await this.discoverJwksUri(issuer, timeoutSeconds));
      const body = await this.get(uri, timeoutSeconds);
      const bad = jwksFormatError(body);
      if (bad) throw new Error(`content fetched from ${JSON.stringify(uri)} is not a valid JWKS: ${bad}`);
      e.failedAt = undefined;
      if (this.entries.get(jwksKey(issuer, jwksUri)) !== e) return; // forgotten meanwhile
      const changed = e.keys === undefined || !sameKeys(e.keys, body);
      e.keys = body;
      if (changed) {
        this.opts.log.info?.({ issuer, jwksUri: uri }, 'JWKS fetched');
        this.opts.onChange();
      }
    } catch (err) {
      // Keys fetched before stay in use; istiod keeps them too.
      e.failedAt = Date.now();
      this.opts.log.warn({ issuer, jwksUri, err: (err as Error).message }, 'JWKS fetch failed: tokens for this issuer are refused until it succeeds');
    }
  }

  private async discoverJwksUri(issuer: string, timeoutSeconds: number): Promise<string> {
    if (!issuer) throw new Error('jwksURI and issuer are both empty');
    const doc = JSON.parse(await this.get(issuer.replace(/\/$/, '') + OPENID_SUFFIX, timeoutSeconds)) as { jwks_uri?: unknown };
    if (typeof doc.jwks_uri !== 'string') throw new Error(`invalid jwks_uri ${JSON.stringify(doc.jwks_uri)} in openID discovery configuration`);
    return doc.jwks_uri;
  }

  /** GET with retries; refuses addresses a JWKS server must not have. */
  private async get(uri: string, timeoutSeconds: number): Promise<string> {
    const url = new URL(uri);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported scheme in ${JSON.stringify(uri)}`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
    for (const ip of addresses) {
      const why = blockedAddress(ip, this.blocked);
      if (why) throw new Error(`connection blocked: resolved IP ${ip} is ${why}`);
    }
    const attempts = this.opts.attempts ?? 3;
    let last: Error | undefined;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, this.opts.attemptPauseMs ?? 1000));
      try {
        const res = await this.fetchFn(uri, { signal: AbortSignal.timeout(timeoutSeconds * 1000), redirect: 'error' });
        const body = await res.text();
        if (res.status < 200 || res.status >= 300) throw new Error(`status ${res.status}, message ${JSON.stringify(body).slice(0, 100)}`);
        return body;
      } catch (err) {
        last = err as Error;
      }
    }
    throw last ?? new Error('no attempt made');
  }
}
