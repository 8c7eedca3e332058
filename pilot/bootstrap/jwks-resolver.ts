// Fetches the JSON Web Key Sets that RequestAuthentication rules name by `jwksUri` (or, without
// one, find through the issuer's OpenID discovery document), as istiod does in its default
// PILOT_JWT_ENABLE_REMOTE_JWKS=false mode, so proxies get the keys inline. Fetches run in the
// background: a push built before a key arrives carries a key nothing verifies against (tokens
// are refused, never accepted unchecked), and the key's arrival or change triggers a new push.
import { existsSync, readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { jwksKey, type JwksRule, type JwksSnapshot, type JwksSource } from '../model/jwks.js';
import { parseCidr, type IpRange } from './blocked-addresses.js';
import { guardedGet, type Lookup } from './guarded-get.js';

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
  /** Keys that could not be refreshed for this long are dropped (Istio: a week), so a rotated-out key is not trusted forever. */
  evictAfterMs?: number;
  /** Name resolution, for tests. */
  lookup?: Lookup;
  /** Roots trusted besides the usual ones (istiod reads /cacerts/extra.pem), for identity providers with a private CA. */
  extraCaFile?: string;
  /** JWKS_RESOLVER_INSECURE_SKIP_VERIFY. */
  insecureSkipVerify?: boolean;
}

interface Entry {
  rule: JwksRule;
  /** The JWKS as fetched; undefined until a fetch succeeded. */
  keys?: string;
  inFlight?: Promise<void>;
  failedAt?: number;
  /** When the keys were last fetched successfully. */
  fetchedAt?: number;
}

const OPENID_SUFFIX = '/.well-known/openid-configuration';

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

/** PILOT_JWT_PUB_KEY_REFRESH_INTERVAL's default. */
export const DEFAULT_JWKS_REFRESH_MS = 20 * 60_000;

export class JwksResolver implements JwksSource {
  private readonly entries = new Map<string, Entry>();
  private readonly blocked: IpRange[];
  private readonly timer: NodeJS.Timeout;
  /** Ends in-flight fetches and pauses on close. */
  private readonly aborter = new AbortController();
  /** Trusted roots for https: Node's, plus the extra bundle when there is one. */
  private readonly ca: readonly string[] | undefined;

  constructor(private readonly opts: JwksResolverOptions) {
    this.blocked = (opts.blockedCidrs ?? []).flatMap((c) => {
      const parsed = parseCidr(c);
      if (!parsed) opts.log.warn({ cidr: c }, 'ignoring an invalid range in BLOCKED_CIDRS_IN_JWKS_URIS');
      return parsed ? [parsed] : [];
    });
    const extraCa = opts.extraCaFile && existsSync(opts.extraCaFile) ? readFileSync(opts.extraCaFile, 'utf8') : undefined;
    this.ca = extraCa ? [...rootCertificates, extraCa] : undefined;
    const refresh = opts.refreshMs ?? DEFAULT_JWKS_REFRESH_MS;
    const retryFailed = opts.retryFailedMs ?? 60_000;
    const evictAfter = opts.evictAfterMs ?? 7 * 24 * 3600_000;
    let lastRefresh = Date.now();
    // One timer: failed fetches are retried every `retryFailedMs`, all keys refreshed every
    // `refreshMs`, and keys not refreshed for `evictAfterMs` dropped.
    this.timer = setInterval(() => {
      const now = Date.now();
      const full = now - lastRefresh >= refresh;
      if (full) lastRefresh = now;
      let evicted = false;
      for (const e of this.entries.values()) {
        if (e.keys !== undefined && e.fetchedAt !== undefined && now - e.fetchedAt > evictAfter) {
          e.keys = undefined;
          evicted = true;
          opts.log.warn({ issuer: e.rule.issuer, jwksUri: e.rule.jwksUri }, 'JWKS not refreshed for too long: dropped, tokens for this issuer are refused');
        }
        if (full || (e.failedAt !== undefined && now - e.failedAt >= retryFailed)) this.start(e);
      }
      if (evicted) opts.onChange();
    }, Math.min(retryFailed, refresh));
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
    clearInterval(this.timer);
    this.aborter.abort();
  }

  private get closed(): boolean {
    return this.aborter.signal.aborted;
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
      // Forgotten meanwhile, or shut down: nothing to push.
      if (this.closed || this.entries.get(jwksKey(issuer, jwksUri)) !== e) return;
      e.failedAt = undefined;
      e.fetchedAt = Date.now();
      const changed = e.keys === undefined || !sameKeys(e.keys, body);
      e.keys = body;
      if (changed) {
        this.opts.log.info?.({ issuer, jwksUri: uri }, 'JWKS fetched');
        this.opts.onChange();
      }
    } catch (err) {
      if (this.closed) return;
      // Keys fetched before stay in use (until evicted); istiod keeps them too.
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

  /** GET with retries; addresses a JWKS server must not have are refused when connecting. */
  private async get(uri: string, timeoutSeconds: number): Promise<string> {
    const attempts = this.opts.attempts ?? 3;
    const signal = this.aborter.signal;
    let last: Error | undefined;
    for (let i = 0; i < attempts && !signal.aborted; i++) {
      if (i > 0) await pause(this.opts.attemptPauseMs ?? 1000, signal);
      try {
        return await guardedGet(uri, { timeoutMs: timeoutSeconds * 1000, blocked: this.blocked, signal, lookup: this.opts.lookup, ca: this.ca, insecureSkipVerify: this.opts.insecureSkipVerify });
      } catch (err) {
        last = err as Error;
        // A blocked address stays blocked: no point asking again.
        if ((err as { code?: string }).code === 'EBLOCKED') break;
      }
    }
    throw last ?? new Error('closed');
  }
}

/** Waits `ms`, or less when `signal` aborts; never keeps the process alive. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    t.unref();
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
