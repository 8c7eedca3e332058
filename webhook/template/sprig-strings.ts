// Sprig's string, encoding, path, regex and conversion functions (Masterminds/sprig v3,
// TxtFuncMap), with the same argument order and edge cases.

import { createHash, randomInt, randomUUID } from 'node:crypto';
import { FuncError } from './errors.js';
import { sprintf } from './fmt.js';
import { def, type FuncDef } from './funcs.js';
import { isStruct, methodOf, kindOf, goSlice, goMap } from './values.js';

const S = 'string', I = 'int', A = 'interface {}';

/** Sprig's strval: strings as is, Stringers through String(), anything else with %v. */
export function strval(v: unknown): string {
  if (typeof v === 'string') return v;
  if (isStruct(v)) {
    const m = methodOf(v, 'Error') ?? methodOf(v, 'String');
    if (m) return String(m());
  }
  return sprintf('%v', v);
}

/** Sprig's strslice (toStrings): a list's elements as strings, nils dropped. */
export function strslice(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter(x => x !== null && x !== undefined).map(strval);
  if (v === null || v === undefined) return [];
  return [strval(v)];
}

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');
const unicodeSpace = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;
const isSpaceRune = (c: string): boolean => unicodeSpace.test(c);

/** strings.TrimSpace */
export function trimSpace(s: string): string {
  const cs = [...s];
  let i = 0, j = cs.length;
  while (i < j && isSpaceRune(cs[i])) i++;
  while (j > i && isSpaceRune(cs[j - 1])) j--;
  return cs.slice(i, j).join('');
}

/** strings.Trim with a cutset. */
export function trimCutset(s: string, cutset: string): string {
  const set = new Set([...cutset]);
  const cs = [...s];
  let i = 0, j = cs.length;
  while (i < j && set.has(cs[i])) i++;
  while (j > i && set.has(cs[j - 1])) j--;
  return cs.slice(i, j).join('');
}

function isSeparator(c: string): boolean {
  const cp = c.codePointAt(0)!;
  if (cp <= 0x7f) return !/[0-9a-zA-Z_]/.test(c);
  if (/[\p{L}\p{Nd}]/u.test(c)) return false;
  return isSpaceRune(c);
}

/** strings.Title (deprecated in Go but what Sprig uses). */
export function title(s: string): string {
  let prev = ' ', out = '';
  for (const c of s) {
    out += isSeparator(prev) ? c.toUpperCase() : c;
    prev = c;
  }
  return out;
}

function byteSlice(s: string, a: number, b?: number): string {
  return bytes(s).subarray(a, b).toString('utf8');
}

function trunc(c: bigint, s: string): string {
  const n = Number(c), len = bytes(s).length;
  if (n < 0 && len + n > 0) return byteSlice(s, len + n);
  if (n >= 0 && len > n) return byteSlice(s, 0, n);
  return s;
}

function substring(start: bigint, end: bigint, s: string): string {
  const a = Number(start), b = Number(end), len = bytes(s).length;
  if (a < 0) {
    if (b > len || b < 0) throw new FuncError(`runtime error: slice bounds out of range [:${b}] with length ${len}`);
    return byteSlice(s, 0, b);
  }
  if (b < 0 || b > len) {
    if (a > len) throw new FuncError(`runtime error: slice bounds out of range [${a}:${len}]`);
    return byteSlice(s, a);
  }
  if (a > b) throw new FuncError(`runtime error: slice bounds out of range [${a}:${b}]`);
  return byteSlice(s, a, b);
}

function abbreviateFull(str: string, offset: number, maxWidth: number): string {
  if (str === '') return '';
  if (maxWidth < 4) return '';
  const len = bytes(str).length;
  if (len <= maxWidth) return str;
  if (offset > len) offset = len;
  if (len - offset < maxWidth - 3) offset = len - (maxWidth - 3);
  if (offset <= 4) return byteSlice(str, 0, maxWidth - 3) + '...';
  if (maxWidth < 7) return '';
  if (offset + maxWidth - 3 < len) return '...' + abbreviateFull(byteSlice(str, offset), 0, maxWidth - 3);
  return '...' + byteSlice(str, len - (maxWidth - 3));
}

function swapCase(s: string): string {
  // goutils' title-casing after whitespace equals upper-casing except for a few digraphs.
  let out = '';
  for (const c of s) {
    const lower = c.toLowerCase(), upper = c.toUpperCase();
    if (c !== lower && c === upper) out += lower;
    else if (c !== upper) out += upper;
    else out += c;
  }
  return out;
}

function words(s: string): string[] {
  return s
    .replace(/([\p{Ll}\p{Nd}])(\p{Lu})/gu, '$1 $2')
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1 $2')
    .split(/[^\p{L}\p{Nd}]+/u)
    .filter(Boolean);
}

function wrapCustom(str: string, width: number, nl: string, wrapLong: boolean): string {
  if (str === '') return '';
  if (width < 1) width = 1;
  const lines = str.split(/\r?\n/);
  const out: string[] = [];
  for (const line of lines) {
    let rest = line;
    const parts: string[] = [];
    while ([...rest].length > width) {
      const cs = [...rest];
      let cut = cs.slice(0, width + 1).lastIndexOf(' ');
      if (cut <= 0) {
        if (wrapLong) cut = width;
        else {
          const sp = cs.indexOf(' ', width);
          if (sp < 0) break;
          cut = sp;
        }
        parts.push(cs.slice(0, cut).join(''));
        rest = cs.slice(cs[cut] === ' ' ? cut + 1 : cut).join('');
      } else {
        parts.push(cs.slice(0, cut).join(''));
        rest = cs.slice(cut + 1).join('');
      }
    }
    parts.push(rest);
    out.push(parts.join(nl));
  }
  return out.join(nl);
}

function adler32(s: string): number {
  let a = 1, b = 0;
  for (const x of bytes(s)) { a = (a + x) % 65521; b = (b + a) % 65521; }
  return ((b << 16) | a) >>> 0;
}

function b64dec(s: string): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return 'illegal base64 data at input byte ' + badB64(s);
  return Buffer.from(s, 'base64').toString('utf8');
}

function badB64(s: string): number {
  const i = s.search(/[^A-Za-z0-9+/=]/);
  return i >= 0 ? i : Math.floor(s.length / 4) * 4;
}

const b32alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function b32enc(s: string): string {
  const b = bytes(s);
  let bits = 0, val = 0, out = '';
  for (const x of b) {
    val = (val << 8) | x; bits += 8;
    while (bits >= 5) { out += b32alpha[(val >>> (bits - 5)) & 31]; bits -= 5; }
  }
  if (bits > 0) out += b32alpha[(val << (5 - bits)) & 31];
  while (out.length % 8) out += '=';
  return out;
}

function b32dec(s: string): string {
  const clean = s.replace(/=+$/, '');
  let bits = 0, val = 0;
  const out: number[] = [];
  for (let i = 0; i < clean.length; i++) {
    const idx = b32alpha.indexOf(clean[i]);
    if (idx < 0) return `illegal base32 data at input byte ${i}`;
    val = (val << 5) | idx; bits += 5;
    if (bits >= 8) { out.push((val >>> (bits - 8)) & 255); bits -= 8; }
  }
  return Buffer.from(out).toString('utf8');
}

// ---- paths (Go's path package) ----

export function pathClean(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length && parts[parts.length - 1] !== '..') parts.pop();
      else if (!rooted) parts.push('..');
    } else parts.push(seg);
  }
  const out = (rooted ? '/' : '') + parts.join('/');
  return out === '' ? '.' : out;
}

export function pathBase(p: string): string {
  if (p === '') return '.';
  p = p.replace(/\/+$/, '');
  if (p === '') return '/';
  return p.slice(p.lastIndexOf('/') + 1);
}

export function pathDir(p: string): string {
  const i = p.lastIndexOf('/');
  return pathClean(p.slice(0, i + 1));
}

export function pathExt(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== '/'; i--) if (p[i] === '.') return p.slice(i);
  return '';
}

// ---- regular expressions (Go RE2 syntax mapped onto JS) ----

export function goRegex(re: string, global = false): RegExp {
  let flags = 'u' + (global ? 'g' : '');
  const m = /^\(\?([imsU]+)\)/.exec(re);
  if (m) {
    re = re.slice(m[0].length);
    for (const f of m[1]) if ('ims'.includes(f) && !flags.includes(f)) flags += f;
  }
  re = re.replace(/\\z/g, '$(?![\\s\\S])').replace(/\\A/g, '^').replace(/\(\?P</g, '(?<');
  try {
    return new RegExp(re, flags);
  } catch (e) {
    throw new FuncError(`error parsing regexp: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Go's regexp Expand for ReplaceAllString templates ($1, ${1}, $name, ${name}, $$). */
function expand(template: string, m: RegExpExecArray): string {
  return template.replace(/\$(\$|\{(\w+)\}|(\w+))/g, (_all, tok: string, braced?: string, bare?: string) => {
    if (tok === '$') return '$';
    const name = braced ?? bare!;
    if (/^\d+$/.test(name)) return m[Number(name)] ?? '';
    return m.groups?.[name] ?? '';
  });
}

export function regexReplaceAll(re: string, s: string, repl: string, literal: boolean): string {
  const r = goRegex(re, true);
  return s.replace(r, (...args: unknown[]) => {
    if (literal) return repl;
    const groups = typeof args[args.length - 1] === 'object' ? args[args.length - 1] : undefined;
    const m = args.slice(0, typeof groups === 'object' ? -3 : -2) as string[];
    const arr = Object.assign(m, { groups }) as unknown as RegExpExecArray;
    return expand(repl, arr);
  });
}

function findAll(re: string, s: string, n: bigint): string[] {
  const out: string[] = [];
  if (n === 0n) return out;
  for (const m of s.matchAll(goRegex(re, true))) {
    out.push(m[0]);
    if (n > 0n && out.length >= Number(n)) break;
  }
  return out;
}

function regexSplit(re: string, s: string, n: bigint): string[] {
  if (n === 0n) return [];
  if (re.length > 0 && s.length === 0) return [''];
  const r = goRegex(re, true);
  const out: string[] = [];
  let beg = 0;
  for (const m of s.matchAll(r)) {
    if (n > 0n && out.length === Number(n) - 1) break;
    const end = m.index!;
    if (m[0].length === 0 && end === 0) continue;
    out.push(s.slice(beg, end));
    beg = end + m[0].length;
  }
  out.push(s.slice(beg));
  return out;
}

function randomString(n: bigint, chars: string): string {
  let s = '';
  for (let i = 0n; i < n; i++) s += chars[randomInt(chars.length)];
  return s;
}

function mapStrings(parts: string[]): Record<string, string> {
  const res: Record<string, string> = {};
  parts.forEach((v, i) => { res['_' + i] = v; });
  return res;
}

function goSplitN(s: string, sep: string, n: number): string[] {
  if (n === 0) return [];
  if (n < 0) return sep === '' ? [...s] : s.split(sep);
  if (sep === '') {
    const cs = [...s];
    return cs.length <= n ? cs : [...cs.slice(0, n - 1), cs.slice(n - 1).join('')];
  }
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const i = rest.indexOf(sep);
    if (i < 0) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + sep.length);
  }
  out.push(rest);
  return out;
}

/** os.ExpandEnv */
function expandEnv(s: string, env: Record<string, string | undefined>): string {
  return s.replace(/\$(\{([^}]*)\}|([A-Za-z0-9_]+|[*#$@!?\-0-9]))/g, (_a, _t, braced?: string, bare?: string) => env[braced ?? bare!] ?? '');
}

export function sprigStringFuncs(env: Record<string, string | undefined>): Record<string, FuncDef> {
  const indent = (n: bigint, v: string): string => {
    const pad = ' '.repeat(Math.max(0, Number(n)));
    return pad + v.split('\n').join('\n' + pad);
  };
  return {
    hello: def([], () => 'Hello!'),
    abbrev: def([I, S], (w: bigint, s: string) => (w < 4n ? s : abbreviateFull(s, 0, Number(w)))),
    abbrevboth: def([I, I, S], (l: bigint, r: bigint, s: string) =>
      (r < 4n || (l > 0n && r < 7n) ? s : abbreviateFull(s, Number(l), Number(r)))),
    trunc: def([I, S], trunc),
    trim: def([S], trimSpace),
    upper: def([S], (s: string) => s.toUpperCase()),
    lower: def([S], (s: string) => s.toLowerCase()),
    title: def([S], title),
    untitle: def([S], (s: string) => (s ? [...s][0].toLowerCase() + [...s].slice(1).join('') : s)),
    substr: def([I, I, S], substring),
    repeat: def([I, S], (n: bigint, s: string) => {
      if (n < 0n) throw new FuncError('strings: negative Repeat count');
      return s.repeat(Number(n));
    }),
    trimall: def([S, S], (a: string, b: string) => trimCutset(b, a)),
    trimAll: def([S, S], (a: string, b: string) => trimCutset(b, a)),
    trimSuffix: def([S, S], (a: string, b: string) => (a && b.endsWith(a) ? b.slice(0, b.length - a.length) : b)),
    trimPrefix: def([S, S], (a: string, b: string) => (a && b.startsWith(a) ? b.slice(a.length) : b)),
    nospace: def([S], (s: string) => [...s].filter(c => !isSpaceRune(c)).join('')),
    initials: def([S], (s: string) => {
      let gap = true, out = '';
      for (const c of s) { if (isSpaceRune(c)) gap = true; else if (gap) { out += c; gap = false; } }
      return out;
    }),
    randAlphaNum: def([I], (n: bigint) => randomString(n, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')),
    randAlpha: def([I], (n: bigint) => randomString(n, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz')),
    randAscii: def([I], (n: bigint) => randomString(n, Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join(''))),
    randNumeric: def([I], (n: bigint) => randomString(n, '0123456789')),
    swapcase: def([S], swapCase),
    shuffle: def([S], (s: string) => {
      const cs = [...s];
      for (let i = cs.length - 1; i > 0; i--) { const j = randomInt(i + 1); [cs[i], cs[j]] = [cs[j], cs[i]]; }
      return cs.join('');
    }),
    snakecase: def([S], (s: string) => words(s).map(w => w.toLowerCase()).join('_')),
    kebabcase: def([S], (s: string) => words(s).map(w => w.toLowerCase()).join('-')),
    camelcase: def([S], (s: string) => s.split('_').map(w => (w ? w[0].toUpperCase() + w.slice(1).toLowerCase() : '')).join('')),
    wrap: def([I, S], (l: bigint, s: string) => wrapCustom(s, Number(l), '\n', false)),
    wrapWith: def([I, S, S], (l: bigint, sep: string, s: string) => wrapCustom(s, Number(l), sep, true)),
    contains: def([S, S], (sub: string, s: string) => s.includes(sub)),
    hasPrefix: def([S, S], (sub: string, s: string) => s.startsWith(sub)),
    hasSuffix: def([S, S], (sub: string, s: string) => s.endsWith(sub)),
    quote: def([], (...xs: unknown[]) =>
      xs.filter(x => x !== null && x !== undefined).map(x => sprintf('%q', strval(x))).join(' '), A),
    squote: def([], (...xs: unknown[]) =>
      xs.filter(x => x !== null && x !== undefined).map(x => sprintf("'%v'", x)).join(' '), A),
    cat: def([], (...xs: unknown[]) => {
      const v = xs.filter(x => x !== null && x !== undefined);
      return sprintf(trimSpace('%v '.repeat(v.length)), ...v);
    }, A),
    indent: def([I, S], indent),
    nindent: def([I, S], (n: bigint, v: string) => '\n' + indent(n, v)),
    replace: def([S, S, S], (o: string, n: string, src: string) => (o === '' ? n + [...src].join(n) + (src ? n : '') : src.split(o).join(n))),
    plural: def([S, S, I], (one: string, many: string, n: bigint) => (n === 1n ? one : many)),
    sha1sum: def([S], (s: string) => createHash('sha1').update(s).digest('hex')),
    sha256sum: def([S], (s: string) => createHash('sha256').update(s).digest('hex')),
    adler32sum: def([S], (s: string) => String(adler32(s))),
    toString: def([A], strval),
    split: def([S, S], (sep: string, s: string) => goMap(mapStrings(goSplitN(s, sep, -1)))),
    splitList: def([S, S], (sep: string, s: string) => goSlice(goSplitN(s, sep, -1))),
    splitn: def([S, I, S], (sep: string, n: bigint, s: string) => goMap(mapStrings(goSplitN(s, sep, Number(n))))),
    toStrings: def([A], (v: unknown) => goSlice(strslice(v))),
    join: def([S, A], (sep: string, v: unknown) => strslice(v).join(sep)),
    sortAlpha: def([A], (v: unknown) => {
      if (kindOf(v) !== 'slice') return goSlice([strval(v)]);
      return goSlice(strslice(v).sort((a, b) => Buffer.compare(bytes(a), bytes(b))));
    }),
    b64enc: def([S], (s: string) => Buffer.from(s, 'utf8').toString('base64')),
    b64dec: def([S], b64dec),
    b32enc: def([S], b32enc),
    b32dec: def([S], b32dec),
    base: def([S], pathBase),
    dir: def([S], pathDir),
    clean: def([S], pathClean),
    ext: def([S], pathExt),
    isAbs: def([S], (p: string) => p.startsWith('/')),
    osBase: def([S], pathBase),
    osDir: def([S], pathDir),
    osClean: def([S], pathClean),
    osExt: def([S], pathExt),
    osIsAbs: def([S], (p: string) => p.startsWith('/')),
    env: def([S], (k: string) => env[k] ?? ''),
    expandenv: def([S], (s: string) => expandEnv(s, env)),
    regexMatch: def([S, S], (re: string, s: string) => { try { return goRegex(re).test(s); } catch { return false; } }),
    mustRegexMatch: def([S, S], (re: string, s: string) => goRegex(re).test(s)),
    regexFindAll: def([S, S, I], findAll),
    mustRegexFindAll: def([S, S, I], findAll),
    regexFind: def([S, S], (re: string, s: string) => goRegex(re).exec(s)?.[0] ?? ''),
    mustRegexFind: def([S, S], (re: string, s: string) => goRegex(re).exec(s)?.[0] ?? ''),
    regexReplaceAll: def([S, S, S], (re: string, s: string, r: string) => regexReplaceAll(re, s, r, false)),
    mustRegexReplaceAll: def([S, S, S], (re: string, s: string, r: string) => regexReplaceAll(re, s, r, false)),
    regexReplaceAllLiteral: def([S, S, S], (re: string, s: string, r: string) => regexReplaceAll(re, s, r, true)),
    mustRegexReplaceAllLiteral: def([S, S, S], (re: string, s: string, r: string) => regexReplaceAll(re, s, r, true)),
    regexSplit: def([S, S, I], regexSplit),
    mustRegexSplit: def([S, S, I], regexSplit),
    regexQuoteMeta: def([S], (s: string) => s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&')),
    uuidv4: def([], () => randomUUID()),
    fail: def([S], (msg: string) => { throw new FuncError(msg); }),
  };
}
