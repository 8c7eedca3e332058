// String formats for the protoc-gen-validate checker (pgv.ts); RE2 patterns are in
// pilot/util/re2.ts.
//
// Semantics follow PGV's reference (Go) implementation: IP addresses as Go's net.ParseIP,
// hostnames/emails as PGV's helpers, URIs as Go's net/url.Parse, patterns as RE2 searched
// (unanchored, like Go's regexp.MatchString).

// ---------------------------------------------------------------------------------------------
// Well-known string formats.
// ---------------------------------------------------------------------------------------------

export const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

function parseIPv4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    // Go rejects leading zeros ("010"), as ambiguous with octal notation.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out.push(Number(p));
  }
  return out;
}

/** Go's net.ParseIP: 16 bytes (IPv4 as IPv4-mapped IPv6), or undefined. No zones. */
export function parseIP(s: string): Uint8Array | undefined {
  const v4 = parseIPv4(s);
  if (v4) return new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]);
  if (!s.includes(':')) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string, last: boolean): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let k = 0; k < items.length; k++) {
      const g = items[k]!;
      if (last && k === items.length - 1 && g.includes('.')) {
        const b = parseIPv4(g);
        if (!b) return undefined;
        out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(g)) {
        out.push(parseInt(g, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1]!, true) : [];
  if (!head || !tail) return undefined;
  const n = head.length + tail.length;
  if (halves.length === 1 ? n !== 8 : n > 7) return undefined;
  const all = [...head, ...new Array<number>(8 - n).fill(0), ...tail];
  return new Uint8Array(all.flatMap((g) => [g >> 8, g & 0xff]));
}

/** Go's net.IP.To4() != nil for a 4- or 16-byte address. */
export function isIPv4Bytes(ip: Uint8Array): boolean {
  if (ip.length === 4) return true;
  return ip.length === 16 && ip.slice(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;
}

/** PGV's hostname check (RFC 1034 labels, ASCII only, one trailing dot allowed). */
export function hostnameError(host: string): string | undefined {
  const s = (host.endsWith('.') ? host.slice(0, -1) : host).toLowerCase();
  if (utf8Length(host) > 253) return 'hostname cannot exceed 253 characters';
  for (const part of s.split('.')) {
    const l = utf8Length(part);
    if (l === 0 || l > 63) return 'hostname part must be non-empty and cannot exceed 63 characters';
    if (part.startsWith('-')) return 'hostname parts cannot begin with hyphens';
    if (part.endsWith('-')) return 'hostname parts cannot end with hyphens';
    const bad = /[^a-z0-9-]/u.exec(part);
    if (bad) return `hostname parts can only contain alphanumeric characters or hyphens, got ${JSON.stringify(bad[0])}`;
  }
  return undefined;
}

// RFC 5322 atext, plus non-ASCII (RFC 6532), as Go's net/mail accepts.
const ATOM = "[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~\\u0080-\\u{10ffff}]+";
const DOT_ATOM = new RegExp(`^${ATOM}(?:\\.${ATOM})*$`, 'u');
const QUOTED = /^"((?:[^"\\\r\n]|\\[\x20-\x7e\t])*)"$/u;

function parseAddrSpec(spec: string): { local: string; domain: string } | undefined {
  const at = spec.lastIndexOf('@');
  if (at <= 0) return undefined;
  const localRaw = spec.slice(0, at);
  const domain = spec.slice(at + 1);
  let local: string;
  const q = QUOTED.exec(localRaw);
  if (q) local = q[1]!.replace(/\\(.)/gu, '$1');
  else if (DOT_ATOM.test(localRaw)) local = localRaw;
  else return undefined;
  if (!DOT_ATOM.test(domain)) return undefined;
  return { local, domain };
}

/**
 * PGV's email check: Go's net/mail.ParseAddress (an addr-spec, or `Name <addr-spec>`), then
 * at most 254 bytes, a local part of at most 64 bytes and a valid hostname as domain.
 * Comments (CFWS) and obsolete syntax, which net/mail also accepts, are not supported.
 */
export function emailError(addr: string): string | undefined {
  const s = addr.trim();
  let spec = parseAddrSpec(s);
  if (!spec) {
    const m = /^(.*?)\s*<([^<>]*)>$/su.exec(s);
    const name = m?.[1]?.trim() ?? '';
    const phraseOk = name === '' || name.split(/\s+/u).every((w) => DOT_ATOM.test(w) || QUOTED.test(w));
    if (m && phraseOk) spec = parseAddrSpec(m[2]!);
  }
  if (!spec) return 'mail: invalid address';
  const full = `${spec.local}@${spec.domain}`;
  if (utf8Length(full) > 254) return 'email addresses cannot exceed 254 characters';
  if (utf8Length(spec.local) > 64) return 'email address local phrase cannot exceed 64 characters';
  return hostnameError(spec.domain);
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const isUuid = (s: string): boolean => UUID.test(s);

// HTTP header regexes of PGV's well_known_regex. Note that PGV's header-name class contains
// the range "+-." (0x2B-0x2E), so a comma is accepted; we keep that for fidelity.
export const HTTP_HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+,\-.^_|~`]+$/u;
export const HTTP_HEADER_VALUE = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/u;
export const HEADER_STRING = /^[^\u0000\u000A\u000D]*$/u;

// --- Go net/url.Parse ---------------------------------------------------------------------

const HOST_OK = /[0-9A-Za-z\-._~!$&'()*+,;=:[\]<>"]/;
const USERINFO_OK = /^[0-9A-Za-z\-._:~!$&'()*+,;=%@]*$/;

function unescapeError(s: string, mode: 'path' | 'host' | 'zone' | 'user' | 'fragment'): string | undefined {
  for (let k = 0; k < s.length; k++) {
    const c = s[k]!;
    if (c === '%') {
      const hex = s.slice(k + 1, k + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return `invalid URL escape ${JSON.stringify(s.slice(k, k + 3))}`;
      // RFC 6874: in a host only %25 or escapes of non-ASCII bytes.
      if (mode === 'host' && parseInt(hex[0]!, 16) < 8 && hex !== '25') {
        return `invalid URL escape ${JSON.stringify(s.slice(k, k + 3))}`;
      }
      k += 2;
    } else if ((mode === 'host' || mode === 'zone') && c.charCodeAt(0) < 0x80 && !HOST_OK.test(c)) {
      return `invalid character ${JSON.stringify(c)} in host name`;
    }
  }
  return undefined;
}

const validOptionalPort = (p: string): boolean => p === '' || /^:[0-9]*$/.test(p);

function parseHostError(host: string): string | undefined {
  if (host.startsWith('[')) {
    const close = host.lastIndexOf(']');
    if (close < 0) return "missing ']' in host";
    if (!validOptionalPort(host.slice(close + 1))) return `invalid port after host`;
    const zone = host.slice(0, close).indexOf('%25');
    if (zone >= 0) {
      return unescapeError(host.slice(0, zone), 'host') ?? unescapeError(host.slice(zone, close), 'zone')
        ?? unescapeError(host.slice(close), 'host');
    }
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0 && !validOptionalPort(host.slice(colon))) return `invalid port ${JSON.stringify(host.slice(colon))} after host`;
  }
  return unescapeError(host, 'host');
}

/** Mirrors Go's url.Parse: the error text, or the (lower-cased) scheme ("" if relative). */
export function parseUrl(raw: string): { error: string } | { scheme: string } {
  const hash = raw.indexOf('#');
  const rest0 = hash < 0 ? raw : raw.slice(0, hash);
  if (hash >= 0) {
    const e = unescapeError(raw.slice(hash + 1), 'fragment');
    if (e) return { error: e };
  }
  if (/[\u0000-\u001f\u007f]/.test(rest0)) return { error: 'invalid control character in URL' };
  if (rest0 === '*') return { scheme: '' };
  let scheme = '';
  let rest = rest0;
  const sm = /^[A-Za-z][A-Za-z0-9+\-.]*:/.exec(rest0);
  if (rest0.startsWith(':')) return { error: 'missing protocol scheme' };
  if (sm) {
    scheme = sm[0].slice(0, -1).toLowerCase();
    rest = rest0.slice(sm[0].length);
  }
  if (rest.endsWith('?') && rest.indexOf('?') === rest.length - 1) rest = rest.slice(0, -1);
  else if (rest.includes('?')) rest = rest.slice(0, rest.indexOf('?'));
  if (!rest.startsWith('/')) {
    if (scheme !== '') return { scheme }; // opaque, e.g. "mailto:x"
    const segment = rest.split('/')[0]!;
    if (segment.includes(':')) return { error: 'first path segment in URL cannot contain colon' };
  }
  if (rest.startsWith('//') && (scheme !== '' || !rest.startsWith('///'))) {
    let authority = rest.slice(2);
    const slash = authority.indexOf('/');
    rest = slash < 0 ? '' : authority.slice(slash);
    if (slash >= 0) authority = authority.slice(0, slash);
    const at = authority.lastIndexOf('@');
    const e = parseHostError(authority.slice(at + 1));
    if (e) return { error: e };
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      if (!USERINFO_OK.test(userinfo)) return { error: 'invalid userinfo' };
      const colon = userinfo.indexOf(':');
      for (const part of colon < 0 ? [userinfo] : [userinfo.slice(0, colon), userinfo.slice(colon + 1)]) {
        const ue = unescapeError(part, 'user');
        if (ue) return { error: ue };
      }
    }
  }
  const pe = unescapeError(rest, 'path');
  return pe ? { error: pe } : { scheme };
}
