// The matching primitives Envoy applies: CIDR ranges, TLS server names, virtual-host domains,
// string / header / query-parameter matchers and RE2-style regexes.
import type { HeaderMatcher, QueryParameterMatcher } from '../../gen/envoy/config/route/v3/route_components_pb.js';
import type { StringMatcher } from '../../gen/envoy/type/matcher/v3/string_pb.js';
import { Re2Error, re2ToRegExp } from '../util/re2.js';

export interface ParsedIp {
  bits: 32 | 128;
  value: bigint;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

/** Parses an IPv4 or IPv6 literal (brackets and a zone are tolerated). */
export function parseIp(text: string): ParsedIp | undefined {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const zone = t.indexOf('%');
  if (zone >= 0) t = t.slice(0, zone);
  if (!t.includes(':')) {
    const v = parseIpv4(t);
    return v === undefined ? undefined : { bits: 32, value: v };
  }
  let groups: string[];
  const lastColon = t.lastIndexOf(':');
  let tail: bigint | undefined;
  if (t.slice(lastColon + 1).includes('.')) {
    tail = parseIpv4(t.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    t = `${t.slice(0, lastColon + 1)}0:0`;
  }
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return undefined;
    groups = [...head, ...Array<string>(missing).fill('0'), ...rest];
  } else groups = head;
  if (groups.length !== 8) return undefined;
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail !== undefined) v = (v & ~0xffffffffn) | tail;
  return { bits: 128, value: v };
}

/** Does `prefix/len` contain `address`? Different families never match. */
export function cidrContains(prefix: string, len: number, address: string): boolean {
  const p = parseIp(prefix);
  const a = parseIp(address);
  if (!p || !a || p.bits !== a.bits || len < 0 || len > p.bits) return false;
  const shift = BigInt(p.bits - len);
  return p.value >> shift === a.value >> shift;
}

/**
 * How well a TLS server name pattern matches an SNI: exact beats any wildcard, longer wildcards
 * beat shorter ones (`*.b.example.com` before `*.example.com`); 0 is no match. `*.x.com` does not
 * match `x.com` itself; `*` matches anything (Istio's host semantics).
 */
export function serverNameRank(pattern: string, sni: string): number {
  if (pattern === sni) return Number.MAX_SAFE_INTEGER;
  if (pattern.startsWith('*')) {
    if (sni.startsWith('*')) return sni.length >= pattern.length && sni.slice(1).endsWith(pattern.slice(1)) ? pattern.length : 0;
    return sni.endsWith(pattern.slice(1)) ? pattern.length : 0;
  }
  return 0;
}

const fallbackCache = new Map<string, RegExp>();

/**
 * An RE2 pattern as a JavaScript RegExp, through the shared RE2 translator (pilot/util/re2.ts;
 * Go's and Envoy's semantics). `anchored` gives Envoy's full-match semantics; unanchored is Go's
 * `MatchString`. Patterns the translator refuses get a best-effort direct translation.
 */
export function re2(pattern: string, anchored: boolean): RegExp {
  const source = anchored ? `^(?:${pattern})$` : pattern;
  try {
    return re2ToRegExp(source);
  } catch (e) {
    if (!(e instanceof Re2Error)) throw e;
  }
  let re = fallbackCache.get(source);
  if (!re) {
    let src = pattern;
    let flags = '';
    const inline = /^\(\?([imsU]+)\)/.exec(src);
    if (inline) {
      src = src.slice(inline[0].length);
      for (const f of ['i', 's', 'm']) if (inline[1]!.includes(f)) flags += f;
    }
    src = src.replace(/\(\?P</g, '(?<').replace(/\\z/g, '$').replace(/\\A/g, '^');
    re = new RegExp(anchored ? `^(?:${src})$` : src, flags);
    fallbackCache.set(source, re);
  }
  return re;
}

export function matchString(m: StringMatcher | undefined, value: string): boolean {
  if (!m) return true;
  const ci = m.ignoreCase;
  const v = ci ? value.toLowerCase() : value;
  const norm = (s: string) => (ci ? s.toLowerCase() : s);
  switch (m.matchPattern.case) {
    case 'exact':
      return v === norm(m.matchPattern.value);
    case 'prefix':
      return v.startsWith(norm(m.matchPattern.value));
    case 'suffix':
      return v.endsWith(norm(m.matchPattern.value));
    case 'contains':
      return v.includes(norm(m.matchPattern.value));
    case 'safeRegex':
      return re2(m.matchPattern.value.regex, true).test(value);
    default:
      return false;
  }
}

/** Headers as Envoy sees them: lower-cased names, repeated values joined with a comma. */
export type RequestHeaders = Map<string, string>;

/** Envoy's `HeaderUtility::matchHeaders`, including invert_match and treat_missing_header_as_empty. */
export function matchHeader(m: HeaderMatcher, headers: RequestHeaders): boolean {
  const present = headers.get(m.name.toLowerCase());
  const spec = m.headerMatchSpecifier;
  if (present === undefined && !m.treatMissingHeaderAsEmpty) {
    const isPresent = spec.case === 'presentMatch';
    return m.invertMatch ? isPresent && spec.value : isPresent && !spec.value;
  }
  const value = present ?? '';
  let match: boolean;
  switch (spec.case) {
    case undefined:
      match = true;
      break;
    case 'exactMatch':
      match = spec.value === '' || value === spec.value;
      break;
    case 'safeRegexMatch':
      match = re2(spec.value.regex, true).test(value);
      break;
    case 'rangeMatch': {
      const n = /^-?\d+$/.test(value) ? BigInt(value) : undefined;
      match = n !== undefined && n >= spec.value.start && n < spec.value.end;
      break;
    }
    case 'presentMatch':
      match = spec.value;
      break;
    case 'prefixMatch':
      match = value.startsWith(spec.value);
      break;
    case 'suffixMatch':
      match = value.endsWith(spec.value);
      break;
    case 'containsMatch':
      match = value.includes(spec.value);
      break;
    case 'stringMatch':
      match = matchString(spec.value, value);
      break;
  }
  return match !== m.invertMatch;
}

/** The first value of each query parameter of a `:path`. */
export function queryParams(path: string): Map<string, string> {
  const out = new Map<string, string>();
  const q = path.indexOf('?');
  if (q < 0) return out;
  const text = path.slice(q + 1).split('#')[0]!;
  for (const pair of text.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s.replace(/\+/g, ' '));
      } catch {
        return s;
      }
    };
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    if (!out.has(name)) out.set(name, eq < 0 ? '' : decode(pair.slice(eq + 1)));
  }
  return out;
}

export function matchQueryParameter(m: QueryParameterMatcher, params: Map<string, string>): boolean {
  const value = params.get(m.name);
  if (value === undefined) return false;
  const spec = m.queryParameterMatchSpecifier;
  if (spec.case === 'presentMatch') return true;
  if (spec.case === 'stringMatch') return matchString(spec.value, value);
  return true;
}

/** `host[:port]` without the port (IPv6 literals keep their brackets). */
export function stripPort(host: string): { host: string; port?: string } {
  const m = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(host);
  return m ? { host: m[1]!, port: m[2]! } : { host };
}
