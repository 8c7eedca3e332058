// An HTTP(S) GET for URLs that come from config: the address is checked when the connection is
// made (each address the name resolves to, in the lookup the socket itself uses, so a name
// cannot resolve to an allowed address for a check and a blocked one for the connection),
// redirects are refused, and the body is bounded.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { blockedReason, type IpRange } from './blocked-addresses.js';

const MAX_BODY_BYTES = 1 << 20;

export type Lookup = typeof dnsLookup;

export interface GuardedGetOptions {
  timeoutMs: number;
  blocked: readonly IpRange[];
  signal?: AbortSignal;
  /** Name resolution (dns.lookup unless a test stands in for it). */
  lookup?: Lookup;
  /** Trusted roots for https (default: Node's bundled ones). */
  ca?: readonly string[];
  /** JWKS_RESOLVER_INSECURE_SKIP_VERIFY: accept any server certificate. */
  insecureSkipVerify?: boolean;
}

function blockedError(why: string): Error {
  return Object.assign(new Error(`connection blocked: resolved IP ${why}`), { code: 'EBLOCKED' });
}

/** Resolves like dns.lookup, but fails when any address the name has is blocked. */
function guardedLookup(blocked: readonly IpRange[], resolve: Lookup) {
  return (hostname: string, options: LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const list = addresses as LookupAddress[];
      for (const a of list) {
        const why = blockedReason(a.address, blocked);
        if (why) return callback(blockedError(why), '');
      }
      if (options.all) return callback(null, list);
      if (!list.length) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/** The body of a 2xx answer; anything else (including redirects) is an error. */
export function guardedGet(uri: string, o: GuardedGetOptions): Promise<string> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return Promise.reject(new Error(`invalid URL ${JSON.stringify(uri)}`));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new Error(`unsupported scheme in ${JSON.stringify(uri)}`));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // A literal address is connected to without a lookup: check it here.
  if (isIP(host)) {
    const why = blockedReason(host, o.blocked);
    if (why) return Promise.reject(blockedError(why));
  }
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const tlsOptions = url.protocol === 'https:' ? { ca: o.ca ? [...o.ca] : undefined, rejectUnauthorized: !o.insecureSkipVerify, minVersion: 'TLSv1.2' as const } : {};
    const req = request(url, { method: 'GET', signal: o.signal, timeout: o.timeoutMs, lookup: guardedLookup(o.blocked, o.lookup ?? dnsLookup) as never, ...tlsOptions }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error(`response larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) reject(new Error(`status ${status}, message ${JSON.stringify(body).slice(0, 100)}`));
        else resolve(body);
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${o.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
