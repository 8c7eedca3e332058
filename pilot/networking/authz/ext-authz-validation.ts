// Istio's agent validation of envoyExtAuthzHttp / envoyExtAuthzGrpc providers
// (pkg/config/validation/agent.ValidateExtensionProviderEnvoyExtAuthz*) and of provider names, as
// istiod applies it before building the filters. Error texts are Istio's, so they include what
// Go's net/url and net/netip would say; the parts of those packages the checks need are here too.

import { StatusCodeSchema } from '../../../gen/envoy/type/v3/http_status_pb.js';
import { appendErrors, atoiOk, type GoError, goQuote, goQuoteRune, parseInt32 } from './go-errors.js';

// ---------------------------------------------------------------------------------------------
// The pieces of Go's standard library the checks lean on.

/** netip.ParseAddr accepts `s` (dotted IPv4 without leading zeros, or IPv6 with an optional zone). */
function isIpAddr(s: string): boolean {
  for (const ch of s) {
    if (ch === '.') return isIpv4(s);
    if (ch === ':') return isIpv6(s);
    if (ch === '%') return false;
  }
  return false;
}
function isIpv4(s: string): boolean {
  const fields = s.split('.');
  return fields.length === 4 && fields.every((f) => /^(0|[1-9][0-9]{0,2})$/.test(f) && Number(f) <= 255);
}
function isIpv6(input: string): boolean {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) {
    if (zone === s.length - 1) return false;
    s = s.slice(0, zone);
  }
  let ellipsis = false;
  if (s.startsWith('::')) {
    ellipsis = true;
    s = s.slice(2);
    if (s === '') return true;
  }
  let bytes = 0;
  while (bytes < 16) {
    const m = /^[0-9a-fA-F]*/.exec(s)![0];
    if (m.length === 0 || m.length > 4) return false;
    if (s[m.length] === '.') {
      // An embedded IPv4 address takes the last four bytes.
      if ((!ellipsis && bytes !== 12) || bytes + 4 > 16 || !isIpv4(s)) return false;
      s = '';
      bytes += 4;
      break;
    }
    bytes += 2;
    s = s.slice(m.length);
    if (s === '') break;
    if (s[0] !== ':' || s.length === 1) return false;
    s = s.slice(1);
    if (s[0] === ':') {
      if (ellipsis) return false;
      ellipsis = true;
      s = s.slice(1);
      if (s === '') break;
    }
  }
  if (s !== '') return false;
  return ellipsis ? bytes < 16 : bytes === 16;
}

const HEX = /^[0-9a-fA-F]$/;
/** Characters Go's URL parser refuses unescaped in a host (url.shouldEscape in host mode). */
function hostCharInvalid(c: string): boolean {
  if (/[a-zA-Z0-9]/.test(c)) return false;
  return !"-_.~!$&'()*+,;=:[]<>\"".includes(c);
}
type Mode = 'path' | 'fragment' | 'host' | 'zone' | 'userinfo';
/** url.unescape's validation: the error text, or undefined. */
function unescapeError(s: string, mode: Mode): string | undefined {
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (c === '%') {
      if (i + 2 >= s.length || !HEX.test(s[i + 1]!) || !HEX.test(s[i + 2]!)) {
        return `invalid URL escape ${goQuote(s.slice(i, i + 3))}`;
      }
      const esc = s.slice(i, i + 3);
      if (mode === 'host' && parseInt(s[i + 1]!, 16) < 8 && esc !== '%25') return `invalid URL escape ${goQuote(esc)}`;
      if (mode === 'zone') {
        const v = String.fromCharCode(parseInt(esc.slice(1), 16));
        if (esc !== '%25' && v !== ' ' && v.charCodeAt(0) < 0x80 && hostCharInvalid(v)) return `invalid URL escape ${goQuote(esc)}`;
        if (esc !== '%25' && v.charCodeAt(0) >= 0x80) return `invalid URL escape ${goQuote(esc)}`;
      }
      i += 3;
      continue;
    }
    if ((mode === 'host' || mode === 'zone') && c.charCodeAt(0) < 0x80 && hostCharInvalid(c)) {
      return `invalid character ${goQuote(c)} in host name`;
    }
    i++;
  }
  return undefined;
}
function validOptionalPort(p: string): boolean {
  return p === '' || /^:[0-9]*$/.test(p);
}
function hostError(host: string): string | undefined {
  if (host.startsWith('[')) {
    const i = host.lastIndexOf(']');
    if (i < 0) return "missing ']' in host";
    const colonPort = host.slice(i + 1);
    if (!validOptionalPort(colonPort)) return `invalid port ${goQuote(colonPort)} after host`;
    const zone = host.slice(0, i).indexOf('%25');
    if (zone >= 0) {
      return unescapeError(host.slice(0, zone), 'host') ?? unescapeError(host.slice(zone, i), 'zone') ?? unescapeError(host.slice(i), 'host');
    }
  } else {
    const i = host.lastIndexOf(':');
    if (i >= 0 && !validOptionalPort(host.slice(i))) return `invalid port ${goQuote(host.slice(i))} after host`;
  }
  return unescapeError(host, 'host');
}
function authorityError(authority: string): string | undefined {
  const at = authority.lastIndexOf('@');
  const err = hostError(at < 0 ? authority : authority.slice(at + 1));
  if (err !== undefined || at < 0) return err;
  const userinfo = authority.slice(0, at);
  if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo)) return 'net/url: invalid userinfo';
  const colon = userinfo.indexOf(':');
  if (colon < 0) return unescapeError(userinfo, 'userinfo');
  return unescapeError(userinfo.slice(0, colon), 'userinfo') ?? unescapeError(userinfo.slice(colon + 1), 'userinfo');
}
/** Go's url.Parse(raw): the error text (`parse "raw": reason`), or undefined when it parses. */
export function urlParseError(raw: string): string | undefined {
  const hash = raw.indexOf('#');
  const u = hash < 0 ? raw : raw.slice(0, hash);
  const reason = ((): string | undefined => {
    if (/[\x00-\x1f\x7f]/.test(u)) return 'net/url: invalid control character in URL';
    if (u === '*') return undefined;
    let scheme = '';
    let rest = u;
    for (let i = 0; i < u.length; i++) {
      const c = u[i]!;
      if (/[a-zA-Z]/.test(c)) continue;
      if (/[0-9+\-.]/.test(c)) {
        if (i === 0) break;
        continue;
      }
      if (c === ':') {
        if (i === 0) return 'missing protocol scheme';
        scheme = u.slice(0, i);
        rest = u.slice(i + 1);
      }
      break;
    }
    if (rest.endsWith('?') && rest.split('?').length === 2) rest = rest.slice(0, -1);
    else if (rest.includes('?')) rest = rest.slice(0, rest.indexOf('?'));
    if (!rest.startsWith('/')) {
      if (scheme !== '') return undefined;
      const slash = rest.indexOf('/');
      if ((slash < 0 ? rest : rest.slice(0, slash)).includes(':')) return 'first path segment in URL cannot contain colon';
    }
    if ((scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
      let authority = rest.slice(2);
      rest = '';
      const slash = authority.indexOf('/');
      if (slash >= 0) {
        rest = authority.slice(slash);
        authority = authority.slice(0, slash);
      }
      const err = authorityError(authority);
      if (err !== undefined) return err;
    }
    return unescapeError(rest, 'path');
  })();
  if (reason !== undefined) return `parse ${goQuote(u)}: ${reason}`;
  if (hash >= 0) {
    const fragErr = unescapeError(raw.slice(hash + 1), 'fragment');
    if (fragErr !== undefined) return `parse ${goQuote(raw)}: ${fragErr}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Istio's hostname checks (agent validation, labels package).

const DNS1123_LABEL = '[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?';
const DNS1123_LABEL_RE = new RegExp(`^${DNS1123_LABEL}$`);
const WILDCARD_LABEL_RE = new RegExp(`^(\\*|(\\*|\\*-)?${DNS1123_LABEL})$`);
const isDns1123Label = (v: string): boolean => v.length <= 63 && DNS1123_LABEL_RE.test(v);
const isWildcardDns1123Label = (v: string): boolean => v.length <= 63 && WILDCARD_LABEL_RE.test(v);

function dns1123Preconditions(name: string): string | undefined {
  if (Buffer.byteLength(name, 'utf8') > 255) return `domain name ${goQuote(name)} too long (max 255)`;
  if (name.length === 0) return 'empty domain name not allowed';
  return undefined;
}
function dns1123LabelsError(domain: string): string | undefined {
  const parts = domain.split('.');
  const tld = parts[parts.length - 1]!;
  if (atoiOk(tld)) return `domain name ${goQuote(domain)} invalid (top level domain ${goQuote(tld)} cannot be all-numeric)`;
  for (let i = 0; i < parts.length; i++) {
    const label = parts[i]!;
    // A trailing dot (`istio.io.`) is allowed.
    if (i === parts.length - 1 && label === '') return undefined;
    if (!isDns1123Label(label)) return `domain name ${goQuote(domain)} invalid (label ${goQuote(label)} invalid)`;
  }
  return undefined;
}
function fqdnError(fqdn: string): string | undefined {
  return dns1123Preconditions(fqdn) ?? dns1123LabelsError(fqdn);
}
function wildcardDomainError(domain: string): string | undefined {
  const pre = dns1123Preconditions(domain);
  if (pre !== undefined) return pre;
  const dot = domain.indexOf('.');
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (!isWildcardDns1123Label(first)) return `domain name ${goQuote(domain)} invalid (label ${goQuote(first)} invalid)`;
  return dot < 0 ? undefined : dns1123LabelsError(domain.slice(dot + 1));
}
/** The host half of `<namespace>/<host>` as Sidecar egress hosts are checked (not a gateway). */
function sidecarHostPartError(hostname: string): GoError | undefined {
  let errs: GoError | undefined;
  if (hostname !== '*' && !hostname.includes('.')) errs = appendErrors(errs, 'short names (non FQDN) are not allowed');
  const err = wildcardDomainError(hostname);
  if (err !== undefined) {
    // Istio appends it once for "not a gateway" and again for "not an IP", so it may appear twice.
    errs = appendErrors(errs, err);
    if (!isIpAddr(hostname)) errs = appendErrors(errs, err);
  }
  if (hostname.includes('*') && hostname.length !== 1 && !hostname.startsWith('*.')) {
    errs = appendErrors(errs, `partial wildcard ${goQuote(hostname)} not allowed`);
  }
  return errs;
}
function namespaceSlashHostnameError(hostname: string): GoError | undefined {
  const slash = hostname.indexOf('/');
  if (slash < 0) return 'host must be of form namespace/dnsName';
  const ns = hostname.slice(0, slash);
  const host = hostname.slice(slash + 1);
  let errs: GoError | undefined;
  if (ns.length === 0 || host.length === 0) errs = appendErrors(errs, 'config namespace and dnsName in host entry cannot be empty');
  const bare = ns.startsWith('~') ? ns.slice(1) : ns;
  if (bare !== '' && bare !== '*' && bare !== '.' && !isDns1123Label(bare)) {
    errs = appendErrors(errs, `invalid namespace value ${goQuote(ns)} in sidecar`);
  }
  return appendErrors(errs, sidecarHostPartError(host));
}
function providerServiceError(service: string): GoError | undefined {
  if (service === '') return 'service must not be empty';
  if (!service.includes('/')) {
    if (fqdnError(service) !== undefined && !isIpAddr(service)) return `invalid service fmt ${service}: ${service} is not a valid IP`;
    return undefined;
  }
  return namespaceSlashHostnameError(service);
}

function portError(port: number): string | undefined {
  return port >= 1 && port <= 65535 ? undefined : `port number ${port} must be in the range 1..65535`;
}

/** Envoy's StatusCode enum, by number, in number order (Go prints its name map sorted). */
export const STATUS_NAMES = new Map([...StatusCodeSchema.values].sort((a, b) => a.number - b.number).map((v) => [v.number, v.name]));
export const statusCodes = (): number[] => [...STATUS_NAMES.keys()];
/** Go's %v of envoy's StatusCode_name map. */
const statusMap = (): string => `map[${[...STATUS_NAMES].map(([n, name]) => `${n}:${name}`).join(' ')}]`;
function statusOnErrorCheck(status: string): string | undefined {
  if (status === '') return undefined;
  const code = parseInt32(status);
  if (typeof code === 'string') return `invalid statusOnError value ${status}: ${code}`;
  if (!STATUS_NAMES.has(code)) return `unsupported statusOnError value ${status}, supported values: ${statusMap()}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Validation as istiod applies it before building (agent.ValidateExtensionProviderEnvoyExtAuthz*).

/** The fields of a provider (of either kind) that the checks look at. */
interface CheckedFields {
  service: string;
  port: number;
  statusOnError: string;
}

export function validateHttpProvider(cfg: CheckedFields & { pathPrefix: string }): GoError | undefined {
  let errs: GoError | undefined;
  errs = appendErrors(errs, portError(cfg.port));
  errs = appendErrors(errs, providerServiceError(cfg.service));
  errs = appendErrors(errs, statusOnErrorCheck(cfg.statusOnError));
  if (cfg.pathPrefix !== '') {
    const parseErr = urlParseError(cfg.pathPrefix);
    if (parseErr !== undefined) errs = appendErrors(errs, `invalid pathPrefix ${cfg.pathPrefix}: ${parseErr}`);
    if (!cfg.pathPrefix.startsWith('/')) errs = appendErrors(errs, `pathPrefix should begin with \`/\` but found ${goQuote(cfg.pathPrefix)}`);
  }
  return errs;
}
export function validateGrpcProvider(cfg: CheckedFields): GoError | undefined {
  let errs: GoError | undefined;
  const port = portError(cfg.port);
  errs = appendErrors(errs, port === undefined ? undefined : `invalid service port: ${port}`);
  errs = appendErrors(errs, providerServiceError(cfg.service));
  return appendErrors(errs, statusOnErrorCheck(cfg.statusOnError));
}

/** Istio's provider names: DNS-1123-label-like, as they end up in metadata keys and policy names. */
export function providerNameError(name: string): string | undefined {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) return 'provider name cannot be empty';
  if (bytes > 63) return `provider name too long (max 63 characters): ${bytes}`;
  let pos = 0;
  for (const c of name) {
    if (!/^[a-z0-9-]$/.test(c)) {
      if (/^[A-Z]$/.test(c)) return `uppercase letters not allowed (use lowercase): character ${goQuoteRune(c)} at position ${pos}`;
      return `invalid character ${goQuoteRune(c)} at position ${pos} (only lowercase letters, digits, and hyphens allowed)`;
    }
    pos += Buffer.byteLength(c, 'utf8');
  }
  if (name.startsWith('-') || name.endsWith('-')) return 'provider name cannot start or end with hyphen';
  return undefined;
}
