// String formats and regular expressions for the protoc-gen-validate checker (pgv.ts).
//
// Semantics follow PGV's reference (Go) implementation: IP addresses as Go's net.ParseIP,
// hostnames/emails as PGV's helpers, URIs as Go's net/url.Parse, patterns as RE2 searched
// (unanchored, like Go's regexp.MatchString).

/** Thrown for an RE2 pattern this translator cannot express as a JS RegExp (or an invalid one). */
export class Re2Error extends Error {}

// ---------------------------------------------------------------------------------------------
// RE2 -> JS RegExp.
//
// Differences handled here:
//  - matching is by code point (the `u` flag), like RE2 on UTF-8 text;
//  - `.` excludes only "\n" in RE2 (JS also excludes "\r", U+2028, U+2029): emitted as [^\n];
//  - `^`/`$` are text anchors in RE2 even before a final "\n"; with (?m) they are line anchors
//    around "\n" only: emitted as lookarounds, so JS's `m` flag is never used;
//  - \s is [\t\n\f\r ] in RE2 (JS \s is Unicode-wide); \d, \w, \b are ASCII in both but are
//    emitted explicitly; \A, \z, \Q...\E, \x{...}, \a, \v, octal escapes, (?P<name>...),
//    [[:posix:]] classes and \pN / \p{Script} are translated;
//  - flags s, m, U are tracked per group; `i` only as a whole-pattern flag (JS RegExp on
//    Node 20 has no inline modifiers), a scoped (?i) change is rejected;
//  - RE2 rejects lookarounds and backreferences, and so does this translator.
// ---------------------------------------------------------------------------------------------

type Range = [number, number];

const MAX_CP = 0x10ffff;
const DIGIT: Range[] = [[0x30, 0x39]];
const WORD: Range[] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
const SPACE: Range[] = [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]];
const POSIX: Record<string, Range[]> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: DIGIT,
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: WORD,
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};
const UNICODE_CATEGORIES = new Set(['C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu',
  'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl', 'No', 'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps',
  'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs', 'Any']);

function complement(ranges: Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return out;
}

/** A code point as a JS (u-mode) pattern atom that is literal inside and outside classes. */
function lit(cp: number): string {
  const c = String.fromCodePoint(cp);
  return /[0-9A-Za-z]/.test(c) ? c : `\\u{${cp.toString(16)}}`;
}

function classBody(ranges: Range[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? lit(lo) : `${lit(lo)}-${lit(hi)}`)).join('');
}

interface Flags { s: boolean; m: boolean; U: boolean; i: boolean }

const compiled = new Map<string, RegExp | Re2Error>();

/** Compiles an RE2 pattern to an equivalent JS RegExp (cached). Throws Re2Error. */
export function re2ToRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (re === undefined) {
    try {
      re = translate(pattern);
    } catch (e) {
      re = e instanceof Re2Error ? e : new Re2Error(String(e));
    }
    compiled.set(pattern, re);
  }
  if (re instanceof Re2Error) throw re;
  return re;
}

function translate(pattern: string): RegExp {
  const cps = Array.from(pattern, (c) => c.codePointAt(0)!);
  let i = 0;
  const peek = (k = 0): number | undefined => cps[i + k];
  const ch = (k = 0): string => (cps[i + k] === undefined ? '' : String.fromCodePoint(cps[i + k]!));
  const fail = (why: string): never => {
    throw new Re2Error(`unsupported or invalid RE2 pattern ${JSON.stringify(pattern)}: ${why}`);
  };

  const parseFlags = (start: Flags): { flags: Flags; end: string } => {
    const f = { ...start };
    let neg = false;
    let any = false;
    for (;;) {
      const c = ch();
      i++;
      if (c === '-') { if (neg) fail('bad flag syntax'); neg = true; continue; }
      if (c === 'i' || c === 's' || c === 'm' || c === 'U') { f[c] = !neg; any = true; continue; }
      // Go rejects "(?)" and a trailing "-" as in "(?i-)".
      if ((c === ':' || c === ')') && (any || c === ':') && !(neg && cps[i - 2] === 0x2d)) return { flags: f, end: c };
      return fail('bad flag syntax');
    }
  };

  let cur: Flags = { s: false, m: false, U: false, i: false };
  // A leading (?flags) applies to the whole pattern: that is where `i` can go (JS flag).
  if (ch() === '(' && ch(1) === '?' && /^[imsU-]+\)/.test(pattern.slice(2))) {
    i = 2;
    cur = parseFlags(cur).flags;
  }
  const globalI = cur.i;
  const stack: Flags[] = [];
  let out = '';

  // Reads an escape after "\" that denotes one code point (shared by atoms and classes).
  const singleEscape = (c: string): number | undefined => {
    switch (c) {
      case 'a': return 0x07;
      case 'f': return 0x0c;
      case 'n': return 0x0a;
      case 'r': return 0x0d;
      case 't': return 0x09;
      case 'v': return 0x0b;
      case 'x': {
        if (ch() === '{') {
          const close = cps.indexOf(0x7d, i);
          const hex = close < 0 ? '' : String.fromCodePoint(...cps.slice(i + 1, close));
          if (!/^[0-9A-Fa-f]+$/.test(hex) || parseInt(hex, 16) > MAX_CP) fail('bad \\x{...} escape');
          i = close + 1;
          return parseInt(hex, 16);
        }
        const hex = ch() + ch(1);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) fail('bad \\x escape');
        i += 2;
        return parseInt(hex, 16);
      }
    }
    if (c >= '0' && c <= '7') {
      // \0.. is octal; \1-\7 alone would be a backreference, which RE2 does not support.
      if (c !== '0' && !(ch() >= '0' && ch() <= '7')) fail('backreferences are not supported');
      let digits = c;
      while (digits.length < 3 && ch() >= '0' && ch() <= '7') { digits += ch(); i++; }
      return parseInt(digits, 8);
    }
    const cp = c.codePointAt(0)!;
    if (cp < 0x80 && !/[0-9A-Za-z]/.test(c)) return cp; // escaped punctuation
    return undefined;
  };

  const unicodeClass = (negated: boolean): string => {
    let name: string;
    if (ch() === '{') {
      const close = cps.indexOf(0x7d, i);
      if (close < 0) fail('bad \\p{...}');
      name = String.fromCodePoint(...cps.slice(i + 1, close));
      i = close + 1;
    } else {
      name = ch();
      i++;
    }
    if (name.startsWith('^')) { negated = !negated; name = name.slice(1); }
    if (!/^[A-Za-z_]+$/.test(name)) fail(`bad unicode class ${name}`);
    const prop = UNICODE_CATEGORIES.has(name) ? name : `Script=${name}`;
    return `\\${negated ? 'P' : 'p'}{${prop}}`;
  };

  const perlRanges = (c: string): Range[] | undefined => {
    const base = c.toLowerCase() === 'd' ? DIGIT : c.toLowerCase() === 'w' ? WORD : c.toLowerCase() === 's' ? SPACE : undefined;
    if (!base) return undefined;
    return c === c.toUpperCase() ? complement(base) : base;
  };

  const parseClass = (): string => {
    // Called after "[".
    let body = '';
    let negated = false;
    if (ch() === '^') { negated = true; i++; }
    let first = true;
    const classAtom = (): { cp?: number; text?: string } => {
      const c = ch();
      if (c === '') fail('missing closing ]');
      if (c === '[' && ch(1) === ':') {
        const rest = String.fromCodePoint(...cps.slice(i));
        const m = /^\[:(\^?)([a-z]+):\]/.exec(rest);
        if (m) {
          const ranges = POSIX[m[2]!];
          if (!ranges) fail(`unknown POSIX class ${m[2]}`);
          i += m[0].length;
          return { text: classBody(m[1] ? complement(ranges!) : ranges!) };
        }
      }
      i++;
      if (c !== '\\') return { cp: c.codePointAt(0)! };
      const e = ch();
      i++;
      const perl = perlRanges(e);
      if (perl) return { text: classBody(perl) };
      if (e === 'p' || e === 'P') return { text: unicodeClass(e === 'P') };
      const cp = singleEscape(e);
      if (cp === undefined) fail(`invalid escape \\${e} in class`);
      return { cp: cp! };
    };
    for (;;) {
      if (ch() === ']' && !first) { i++; break; }
      first = false;
      const lo = classAtom();
      if (lo.cp !== undefined && ch() === '-' && ch(1) !== ']' && ch(1) !== '') {
        i++;
        const hi = classAtom();
        if (hi.cp === undefined || hi.cp < lo.cp) fail('invalid character class range');
        body += `${lit(lo.cp)}-${lit(hi.cp!)}`;
      } else {
        body += lo.text ?? lit(lo.cp!);
      }
    }
    return `[${negated ? '^' : ''}${body}]`;
  };

  const quantifierSuffix = (): string => {
    let lazy = false;
    if (ch() === '?') { lazy = true; i++; }
    return lazy !== cur.U ? '?' : '';
  };

  while (i < cps.length) {
    const c = ch();
    i++;
    switch (c) {
      case '\\': {
        const e = ch();
        i++;
        if (e === '') fail('trailing backslash');
        const perl = perlRanges(e);
        if (perl) { out += `[${classBody(perl)}]`; break; }
        if (e === 'p' || e === 'P') { out += unicodeClass(e === 'P'); break; }
        if (e === 'A') { out += '(?<![\\s\\S])'; break; }
        if (e === 'z') { out += '(?![\\s\\S])'; break; }
        if (e === 'b' || e === 'B') { out += `\\${e}`; break; }
        if (e === 'Q') {
          while (i < cps.length && !(ch() === '\\' && ch(1) === 'E')) { out += lit(peek()!); i++; }
          if (i < cps.length) i += 2;
          break;
        }
        const cp = singleEscape(e);
        if (cp === undefined) fail(`invalid or unsupported escape \\${e}`);
        out += lit(cp!);
        break;
      }
      case '[':
        out += parseClass();
        break;
      case '(':
        stack.push(cur);
        if (ch() !== '?') { out += '('; break; }
        i++;
        if ((ch() === 'P' && ch(1) === '<') || (ch() === '<' && ch(1) !== '=' && ch(1) !== '!')) {
          // Named group: kept as a plain capturing group.
          const close = cps.indexOf(0x3e, i);
          if (close < 0) fail('bad named group');
          i = close + 1;
          out += '(';
        } else if (ch() === '=' || ch() === '!' || ch() === '<') {
          fail('lookaround assertions are not supported by RE2');
        } else {
          const { flags, end } = parseFlags(cur);
          if (flags.i !== globalI) fail('a case-insensitivity flag that does not cover the whole pattern');
          if (end === ')') {
            stack.pop(); // (?flags) sets flags up to the end of the enclosing group
            cur = flags;
          } else {
            cur = flags;
            out += '(?:';
          }
        }
        break;
      case ')':
        if (!stack.length) fail('unexpected )');
        cur = stack.pop()!;
        out += ')';
        break;
      case '.':
        out += cur.s ? '[\\s\\S]' : '[^\\n]';
        break;
      case '^':
        out += cur.m ? '(?<![^\\n])' : '(?<![\\s\\S])';
        break;
      case '$':
        out += cur.m ? '(?![^\\n])' : '(?![\\s\\S])';
        break;
      case '*': case '+': case '?':
        out += c + quantifierSuffix();
        break;
      case '{': {
        const m = /^(\d+)(,(\d*))?\}/.exec(String.fromCodePoint(...cps.slice(i, i + 16)));
        if (!m) { out += lit(0x7b); break; } // not a repetition: a literal "{"
        const min = Number(m[1]);
        const max = m[3] ? Number(m[3]) : undefined;
        if (min > 1000 || (max ?? 0) > 1000) fail('repetition count above 1000');
        if (max !== undefined && max < min) fail('invalid repeat count');
        i += m[0].length;
        out += `{${m[0]}` + quantifierSuffix();
        break;
      }
      case '|':
        out += '|';
        break;
      default:
        out += lit(c.codePointAt(0)!);
    }
  }
  if (stack.length) fail('missing )');
  try {
    return new RegExp(out, globalI ? 'iu' : 'u');
  } catch (e) {
    return fail((e as Error).message);
  }
}

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
