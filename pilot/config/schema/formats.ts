// String formats as Istio's Go code reads them: IP addresses and prefixes (net/netip), URLs
// (net/url Parse and ParseRequestURI), host:port pairs (net.SplitHostPort).

export type IPFamily = 4 | 6;

function parseIPv4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  return parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

function parseIPv6(s: string): boolean {
  if (s.length === 0) return false;
  let groups = 0;
  let ellipsis = false;
  let rest = s;
  if (rest.startsWith('::')) {
    ellipsis = true;
    rest = rest.slice(2);
    if (rest === '') return true;
  }
  for (;;) {
    // An embedded IPv4 address takes the last 32 bits.
    const m = /^([0-9a-fA-F]{1,4})/.exec(rest);
    const dot = rest.indexOf('.');
    const colon = rest.indexOf(':');
    if (dot >= 0 && (colon < 0 || dot < colon)) {
      if (!parseIPv4(rest) || groups > 6) return false;
      groups += 2;
      rest = '';
      break;
    }
    if (!m) return false;
    groups++;
    rest = rest.slice(m[1]!.length);
    if (rest === '') break;
    if (!rest.startsWith(':')) return false;
    rest = rest.slice(1);
    if (rest.startsWith(':')) {
      if (ellipsis) return false;
      ellipsis = true;
      rest = rest.slice(1);
      if (rest === '') break;
    } else if (rest === '') return false;
    if (groups > 8) return false;
  }
  return ellipsis ? groups < 8 : groups === 8;
}

/** netip.ParseAddr: the address family, or undefined. IPv6 zones (`%eth0`) are accepted. */
export function parseAddr(s: string): IPFamily | undefined {
  if (s.includes(':')) {
    const pct = s.indexOf('%');
    if (pct >= 0) {
      if (pct === s.length - 1) return undefined;
      s = s.slice(0, pct);
    }
    return parseIPv6(s) ? 6 : undefined;
  }
  return parseIPv4(s) ? 4 : undefined;
}

export const isIPAddress = (s: string): boolean => parseAddr(s) !== undefined;

/** netip.ParsePrefix: "addr/bits" without a zone. */
export function isIPPrefix(s: string): boolean {
  const slash = s.lastIndexOf('/');
  if (slash < 0) return false;
  const addr = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  if (addr.includes('%')) return false;
  const family = parseAddr(addr);
  if (!family || !/^(0|[1-9][0-9]*)$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

export interface GoUrl {
  scheme: string;
  opaque: string;
  user?: string;
  host: string;
  path: string;
  rawQuery: string;
  fragment: string;
}

function getScheme(raw: string): { scheme: string; rest: string } | { error: string } {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return { scheme: '', rest: raw };
      continue;
    }
    if (c === ':') {
      if (i === 0) return { error: 'missing protocol scheme' };
      return { scheme: raw.slice(0, i), rest: raw.slice(i + 1) };
    }
    return { scheme: '', rest: raw };
  }
  return { scheme: '', rest: raw };
}

const isHex = (c: string | undefined) => c !== undefined && /[0-9A-Fa-f]/.test(c);

type EscapeMode = 'path' | 'host' | 'zone' | 'user' | 'fragment' | 'query';

// RFC 3986 characters the host part may carry unescaped (net/url's shouldEscape for hosts).
const HOST_OK = /[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"]/;

function unescapeError(s: string, mode: EscapeMode): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '%') {
      if (!isHex(s[i + 1]) || !isHex(s[i + 2])) return `invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`;
      if (mode === 'host' && parseInt(s[i + 1]!, 16) < 8 && s.slice(i, i + 3) !== '%25') {
        return `invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`;
      }
      i += 2;
    } else if (mode === 'host' && c.charCodeAt(0) < 0x80 && !HOST_OK.test(c)) {
      return `invalid character ${JSON.stringify(c)} in host name`;
    }
  }
  return undefined;
}

const USERINFO_OK = /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/;

function parseHost(host: string): string | undefined {
  if (host.startsWith('[')) {
    const close = host.lastIndexOf(']');
    if (close < 0) return 'missing \']\' in host';
    const port = host.slice(close + 1);
    if (port !== '' && !/^:[0-9]*$/.test(port)) return `invalid port ${JSON.stringify(port)} after host`;
    return unescapeError(host.slice(0, close + 1), 'host');
  }
  const colon = host.lastIndexOf(':');
  if (colon >= 0) {
    const port = host.slice(colon);
    if (!/^:[0-9]*$/.test(port)) return `invalid port ${JSON.stringify(port)} after host`;
  }
  return unescapeError(host, 'host');
}

function parse(raw: string, viaRequest: boolean): GoUrl | { error: string } {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(raw)) return { error: 'net/url: invalid control character in URL' };
  if (raw === '' && viaRequest) return { error: 'empty url' };
  const url: GoUrl = { scheme: '', opaque: '', host: '', path: '', rawQuery: '', fragment: '' };
  if (raw === '*') return { ...url, path: '*' };
  const sch = getScheme(raw);
  if ('error' in sch) return sch;
  url.scheme = sch.scheme.toLowerCase();
  let rest = sch.rest;
  if (rest.endsWith('?') && rest.split('?').length === 2) rest = rest.slice(0, -1);
  else {
    const q = rest.indexOf('?');
    if (q >= 0) {
      url.rawQuery = rest.slice(q + 1);
      rest = rest.slice(0, q);
    }
  }
  if (!rest.startsWith('/')) {
    if (url.scheme !== '') {
      url.opaque = rest;
      return url;
    }
    if (viaRequest) return { error: 'invalid URI for request' };
    const seg = rest.split('/')[0]!;
    if (seg.includes(':')) return { error: 'first path segment in URL cannot contain colon' };
  }
  if ((url.scheme !== '' || (!viaRequest && !rest.startsWith('///'))) && rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    const authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    rest = slash < 0 ? '' : rest.slice(slash);
    const at = authority.lastIndexOf('@');
    let host = authority;
    if (at >= 0) {
      const user = authority.slice(0, at);
      if (!USERINFO_OK.test(user)) return { error: 'net/url: invalid userinfo' };
      const e = unescapeError(user, 'user');
      if (e) return { error: e };
      url.user = user;
      host = authority.slice(at + 1);
    }
    const e = parseHost(host);
    if (e) return { error: e };
    url.host = host;
  }
  const e = unescapeError(rest, 'path');
  if (e) return { error: e };
  url.path = rest;
  return url;
}

/** Go's url.Parse. */
export function goUrlParse(raw: string): GoUrl | { error: string } {
  const hash = raw.indexOf('#');
  const main = hash < 0 ? raw : raw.slice(0, hash);
  const u = parse(main, false);
  if ('error' in u) return u;
  if (hash >= 0) {
    const frag = raw.slice(hash + 1);
    const e = unescapeError(frag, 'fragment');
    if (e) return { error: e };
    u.fragment = frag;
  }
  return u;
}

/** Go's url.ParseRequestURI (no fragment splitting; absolute URI or absolute path). */
export function goUrlParseRequestURI(raw: string): GoUrl | { error: string } {
  return parse(raw, true);
}

/** The port of a parsed URL's host ("" when absent), as url.URL.Port(). */
export function urlPort(u: GoUrl): string {
  const colon = u.host.lastIndexOf(':');
  if (colon < 0) return '';
  const port = u.host.slice(colon + 1);
  if (u.host.startsWith('[') && !u.host.slice(0, colon).endsWith(']')) return '';
  return /^[0-9]*$/.test(port) ? port : '';
}

/** The hostname of a parsed URL (without port and IPv6 brackets). */
export function urlHostname(u: GoUrl): string {
  let h = u.host;
  if (h.startsWith('[')) {
    const close = h.indexOf(']');
    return close < 0 ? h.slice(1) : h.slice(1, close);
  }
  const colon = h.lastIndexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  return h;
}

/** net.SplitHostPort. */
export function splitHostPort(hostport: string): { host: string; port: string } | { error: string } {
  const missingPort = { error: `address ${hostport}: missing port in address` };
  const tooMany = { error: `address ${hostport}: too many colons in address` };
  const i = hostport.lastIndexOf(':');
  if (i < 0) return missingPort;
  let host: string;
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0) return { error: `address ${hostport}: missing ']' in address` };
    if (end + 1 === hostport.length) return missingPort;
    if (end + 1 !== i) return hostport[end + 1] === ':' ? tooMany : missingPort;
    host = hostport.slice(1, end);
    if (hostport.slice(end + 1).includes('[') || hostport.slice(end + 1).includes(']')) return { error: `address ${hostport}: unexpected ']' in address` };
  } else {
    host = hostport.slice(0, i);
    if (host.includes(':')) return tooMany;
    if (host.includes('[') || host.includes(']')) return { error: `address ${hostport}: unexpected '[' in address` };
  }
  return { host, port: hostport.slice(i + 1) };
}
