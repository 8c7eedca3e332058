// RE2 regular expressions (Go's regexp, Envoy's safe_regex) as JavaScript RegExps: one
// translation shared by the PGV checker (pilot/xds/pgv.ts) and config validation.

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
const MAX_CACHED = 10_000;

/** Compiles an RE2 pattern to an equivalent JS RegExp (cached). Throws Re2Error. */
export function re2ToRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (re === undefined) {
    try {
      re = translate(pattern);
    } catch (e) {
      re = e instanceof Re2Error ? e : new Re2Error(String(e));
    }
    // Patterns come from config, even from requests (previews, admission): keep the cache bounded.
    if (compiled.size >= MAX_CACHED) compiled.clear();
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
