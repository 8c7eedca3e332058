// Go's fmt package (Sprint, Sprintln, Sprintf) over the engine's value model.

import { formatFloat } from './floatfmt.js';
import {
  kindOf, typeName, sortedEntries, structFields, methodOf, isStruct, isNilPointer,
} from './values.js';

let intNumbers = false;

/** While set, integral JS numbers print as Go ints (the executor's `intNumbers` option). */
export function setIntNumbers(on: boolean): boolean {
  const prev = intNumbers;
  intNumbers = on;
  return prev;
}

const isPrintRe = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function isPrint(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7f;
  return isPrintRe.test(String.fromCodePoint(cp));
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function quoteRune(cp: number, quote: string, asciiOnly: boolean): string {
  if (cp === quote.charCodeAt(0) || cp === 0x5c) return '\\' + String.fromCodePoint(cp);
  if (asciiOnly ? cp < 0x80 && isPrint(cp) : isPrint(cp)) return String.fromCodePoint(cp);
  switch (cp) {
    case 7: return '\\a';
    case 8: return '\\b';
    case 12: return '\\f';
    case 10: return '\\n';
    case 13: return '\\r';
    case 9: return '\\t';
    case 11: return '\\v';
  }
  if (cp < 0x20 || cp === 0x7f) return '\\x' + hex(cp, 2);
  if (cp >= 0xd800 && cp <= 0xdfff) return '\\ufffd';
  if (cp < 0x10000) return '\\u' + hex(cp, 4);
  return '\\U' + hex(cp, 8);
}

/** strconv.Quote (or QuoteToASCII). */
export function quote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) out += quoteRune(ch.codePointAt(0)!, '"', asciiOnly);
  return out + '"';
}

/** strconv.QuoteRune. */
export function quoteRuneLiteral(cp: number, asciiOnly = false): string {
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0) cp = 0xfffd;
  return "'" + quoteRune(cp, "'", asciiOnly) + "'";
}

/** Whether strconv.CanBackquote would accept s. */
function canBackquote(s: string): boolean {
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0x60 || cp === 0xfeff) return false;
    if (cp < 0x20 && cp !== 9) return false;
    if (cp === 0x7f) return false;
  }
  return true;
}

interface Flags {
  plus: boolean; minus: boolean; sharp: boolean; space: boolean; zero: boolean;
  wid?: number; prec?: number; plusV: boolean; sharpV: boolean;
}

function noFlags(): Flags {
  return { plus: false, minus: false, sharp: false, space: false, zero: false, plusV: false, sharpV: false };
}

class Printer {
  out = '';
  f: Flags = noFlags();

  private padding(n: number, zero: boolean): string {
    return n > 0 ? (zero ? '0' : ' ').repeat(n) : '';
  }

  pad(s: string): void {
    const w = this.f.wid;
    if (w === undefined) { this.out += s; return; }
    const n = w - [...s].length;
    if (n <= 0) { this.out += s; return; }
    if (this.f.minus) this.out += s + this.padding(n, false);
    else this.out += this.padding(n, this.f.zero) + s;
  }

  padString(s: string): void {
    if (this.f.prec !== undefined) s = [...s].slice(0, this.f.prec).join('');
    this.pad(s);
  }

  badVerb(verb: string, arg: unknown): void {
    const saved = this.f;
    this.out += '%!' + verb + '(';
    this.f = noFlags();
    if (arg === undefined || arg === null) this.out += '<nil>';
    else { this.out += typeName(arg) + '='; this.printArg(arg, 'v', 0); }
    this.out += ')';
    this.f = saved;
  }

  fmtInteger(v: bigint, verb: string, arg: unknown): void {
    const f = this.f;
    const neg = v < 0n;
    const abs = neg ? -v : v;
    let digits: string;
    let prefix = '';
    switch (verb) {
      case 'v': case 'd': digits = abs.toString(10); break;
      case 'b': digits = abs.toString(2); if (f.sharp) prefix = '0b'; break;
      case 'o': digits = abs.toString(8); if (f.sharp) prefix = '0'; break;
      case 'O': digits = abs.toString(8); prefix = '0o'; break;
      case 'x': digits = abs.toString(16); if (f.sharp) prefix = '0x'; break;
      case 'X': digits = abs.toString(16).toUpperCase(); if (f.sharp) prefix = '0X'; break;
      case 'c': this.pad(String.fromCodePoint(validRune(v))); return;
      case 'q': this.pad(quoteRuneLiteral(Number(v), f.plus)); return;
      case 'U': {
        let s = 'U+' + abs.toString(16).toUpperCase().padStart(4, '0');
        if (f.sharp && v <= 0x10ffffn && isPrint(Number(v))) s += " '" + String.fromCodePoint(Number(v)) + "'";
        this.pad(s);
        return;
      }
      default: this.badVerb(verb, arg); return;
    }
    if (f.prec !== undefined) {
      if (f.prec === 0 && v === 0n) { this.pad(''); return; }
      digits = digits.padStart(f.prec, '0');
    } else if (f.zero && f.wid !== undefined && !f.minus) {
      const sign = neg || f.plus || f.space ? 1 : 0;
      digits = digits.padStart(f.wid - sign - prefix.length, '0');
    }
    if (prefix === '0' && digits.startsWith('0')) prefix = '';
    const sign = neg ? '-' : f.plus ? '+' : f.space ? ' ' : '';
    const saved = f.zero;
    f.zero = false;
    this.pad(sign + prefix + digits);
    f.zero = saved;
  }

  fmtFloat(v: number, verb: string, arg: unknown): void {
    const f = this.f;
    let fc: 'e' | 'E' | 'f' | 'F' | 'g' | 'G';
    let prec: number;
    switch (verb) {
      case 'v': fc = 'g'; prec = f.prec ?? -1; break;
      case 'g': case 'G': fc = verb; prec = f.prec ?? -1; break;
      case 'e': case 'E': case 'f': case 'F': fc = verb; prec = f.prec ?? 6; break;
      default: this.badVerb(verb, arg); return;
    }
    let num = formatFloat(v, fc, prec);
    if (f.sharp && verb !== 'v' && !/[IN]/.test(num)) {
      // %#g and friends keep the decimal point (and trailing zeros for %g).
      if (!num.includes('.')) {
        const i = num.search(/[eE]/);
        num = i < 0 ? num + '.' : num.slice(0, i) + '.' + num.slice(i);
      }
    }
    if (num[0] !== '-' && num[0] !== '+') num = '+' + num;
    if (f.space && num[0] === '+' && !f.plus) num = ' ' + num.slice(1);
    if (num[1] === 'I' || num[1] === 'N') {
      const oldZero = f.zero;
      f.zero = false;
      if (num[1] === 'N' && !f.space && !f.plus) num = num.slice(1);
      this.pad(num);
      f.zero = oldZero;
      return;
    }
    if (f.plus || num[0] !== '+') {
      if (f.zero && !f.minus && f.wid !== undefined && f.wid > num.length) {
        this.out += num[0] + '0'.repeat(f.wid - num.length) + num.slice(1);
        return;
      }
      this.pad(num);
      return;
    }
    this.pad(num.slice(1));
  }

  fmtString(s: string, verb: string, arg: unknown): void {
    const f = this.f;
    switch (verb) {
      case 'v':
        if (f.sharpV) { this.pad(quote(s)); return; }
        this.padString(s); return;
      case 's': this.padString(s); return;
      case 'q':
        if (f.prec !== undefined) s = [...s].slice(0, f.prec).join('');
        if (f.sharp && canBackquote(s)) { this.pad('`' + s + '`'); return; }
        this.pad(quote(s, f.plus)); return;
      case 'x': case 'X': {
        let bytes = Buffer.from(s, 'utf8');
        if (f.prec !== undefined) bytes = bytes.subarray(0, f.prec);
        const parts: string[] = [];
        for (const b of bytes) {
          let h = hex(b, 2);
          if (verb === 'X') h = h.toUpperCase();
          if (f.sharp) h = (verb === 'X' ? '0X' : '0x') + h;
          parts.push(h);
        }
        this.pad(parts.join(f.space ? ' ' : ''));
        return;
      }
      default: this.badVerb(verb, arg);
    }
  }

  /** Stringer / error support, as fmt's handleMethods. */
  handleMethods(arg: unknown, verb: string): boolean {
    if (!isStruct(arg) || this.f.sharpV) return false;
    if (!'vsxXq'.includes(verb)) return false;
    const m = methodOf(arg, 'Error') ?? methodOf(arg, 'String');
    if (!m) return false;
    let s: unknown;
    try { s = m(); } catch (e) {
      this.out += `%!${verb}(PANIC=String method: ${e instanceof Error ? e.message : String(e)})`;
      return true;
    }
    this.fmtString(String(s), verb, arg);
    return true;
  }

  printArg(arg: unknown, verb: string, depth: number): void {
    if (intNumbers && typeof arg === 'number' && Number.isInteger(arg)) arg = BigInt(arg);
    const k = kindOf(arg);
    if (k === 'invalid' || k === 'nil') {
      if (depth > 0 || verb === 'v') this.pad('<nil>');
      else this.badVerb(verb, arg);
      return;
    }
    if (verb === 'T') { this.fmtString(typeName(arg), 's', arg); return; }
    if (verb === 'p') { this.badVerb(verb, arg); return; }
    switch (k) {
      case 'bool':
        if (verb === 't' || verb === 'v') this.padString(arg ? 'true' : 'false');
        else this.badVerb(verb, arg);
        return;
      case 'int': this.fmtInteger(arg as bigint, verb, arg); return;
      case 'float': this.fmtFloat(arg as number, verb, arg); return;
      case 'string': this.fmtString(arg as string, verb, arg); return;
      case 'func': this.pad(verb === 'v' ? '0x0' : ''); return;
    }
    if (isNilPointer(arg)) {
      if (verb === 'v' || verb === 's') this.pad('<nil>');
      else this.badVerb(verb, arg);
      return;
    }
    if (this.handleMethods(arg, verb)) return;
    const f = this.f;
    if (k === 'slice') {
      const arr = arg as unknown[];
      if (f.sharpV) {
        this.out += typeName(arg) + '{';
        arr.forEach((e, i) => { if (i) this.out += ', '; this.printArg(e, verb, depth + 1); });
        this.out += '}';
        return;
      }
      this.out += '[';
      arr.forEach((e, i) => { if (i) this.out += ' '; this.printArg(e, verb, depth + 1); });
      this.out += ']';
      return;
    }
    if (k === 'map') {
      const entries = sortedEntries(arg as Record<string, unknown>);
      this.out += f.sharpV ? typeName(arg) + '{' : 'map[';
      entries.forEach(([key, val], i) => {
        if (i) this.out += f.sharpV ? ', ' : ' ';
        this.printArg(key, verb, depth + 1);
        this.out += ':';
        this.printArg(val, verb, depth + 1);
      });
      this.out += f.sharpV ? '}' : ']';
      return;
    }
    // struct
    if (f.sharpV) this.out += typeName(arg);
    this.out += '{';
    structFields(arg as object).forEach(([name, val], i) => {
      if (i) this.out += f.sharpV ? ', ' : ' ';
      if (f.plusV || f.sharpV) this.out += name + ':';
      this.printArg(val, verb, depth + 1);
    });
    this.out += '}';
  }
}

function validRune(v: bigint): number {
  if (v < 0n || v > 0x10ffffn || (v >= 0xd800n && v <= 0xdfffn)) return 0xfffd;
  return Number(v);
}

function isStringArg(a: unknown): boolean {
  return typeof a === 'string';
}

/** fmt.Sprint */
export function sprint(...args: unknown[]): string {
  const p = new Printer();
  let prevString = false;
  args.forEach((arg, i) => {
    const isStr = isStringArg(arg);
    if (i > 0 && !isStr && !prevString) p.out += ' ';
    p.f = noFlags();
    p.printArg(arg, 'v', 0);
    prevString = isStr;
  });
  return p.out;
}

/** fmt.Sprintln */
export function sprintln(...args: unknown[]): string {
  const p = new Printer();
  args.forEach((arg, i) => {
    if (i > 0) p.out += ' ';
    p.f = noFlags();
    p.printArg(arg, 'v', 0);
  });
  return p.out + '\n';
}

/** fmt.Sprintf */
export function sprintf(format: string, ...args: unknown[]): string {
  const p = new Printer();
  let argNum = 0;
  let reordered = false;
  let goodArgNum = true;
  const n = format.length;
  let i = 0;

  // Parses an optional [n] argument index at position i.
  const argIndex = (): void => {
    if (i >= n || format[i] !== '[') return;
    reordered = true;
    const close = format.indexOf(']', i);
    const num = close < 0 ? NaN : Number(format.slice(i + 1, close));
    if (close < 0 || !/^\d+$/.test(format.slice(i + 1, close)) || num < 1 || num > args.length) {
      goodArgNum = false;
      i = close < 0 ? n : close + 1;
      return;
    }
    argNum = num - 1;
    i = close + 1;
  };
  const intFromArg = (): number | undefined => {
    if (argNum >= args.length) return undefined;
    const a = args[argNum++];
    if (typeof a === 'bigint' && a >= -1000000n && a <= 1000000n) return Number(a);
    return undefined;
  };

  while (i < n) {
    const pct = format.indexOf('%', i);
    if (pct < 0) { p.out += format.slice(i); break; }
    p.out += format.slice(i, pct);
    i = pct + 1;
    p.f = noFlags();
    const f = p.f;
    flags: for (; i < n; i++) {
      switch (format[i]) {
        case '#': f.sharp = true; break;
        case '0': f.zero = !f.minus; break;
        case '+': f.plus = true; break;
        case '-': f.minus = true; f.zero = false; break;
        case ' ': f.space = true; break;
        default: break flags;
      }
    }
    goodArgNum = true;
    argIndex();
    // width
    if (i < n && format[i] === '*') {
      i++;
      const w = intFromArg();
      if (w === undefined) p.out += '%!(BADWIDTH)';
      else { f.wid = w; if (w < 0) { f.minus = true; f.zero = false; f.wid = -w; } }
    } else {
      const m = /^\d+/.exec(format.slice(i));
      if (m) { f.wid = Number(m[0]); i += m[0].length; }
    }
    // precision
    if (i < n && format[i] === '.') {
      i++;
      argIndex();
      if (i < n && format[i] === '*') {
        i++;
        const pr = intFromArg();
        if (pr === undefined || pr < 0) { p.out += '%!(BADPREC)'; f.prec = undefined; }
        else f.prec = pr;
      } else {
        const m = /^\d+/.exec(format.slice(i));
        f.prec = m ? Number(m[0]) : 0;
        if (m) i += m[0].length;
      }
    }
    argIndex();
    if (i >= n) { p.out += '%!(NOVERB)'; break; }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') { p.out += '%'; continue; }
    if (!goodArgNum) { p.out += '%!' + verb + '(BADINDEX)'; continue; }
    if (argNum >= args.length) { p.out += '%!' + verb + '(MISSING)'; continue; }
    if (verb === 'v') {
      if (f.sharp) { f.sharp = false; f.sharpV = true; }
      if (f.plus) { f.plus = false; f.plusV = true; }
    }
    if (verb === 'w') { p.printArg(args[argNum++], 'v', 0); continue; }
    p.printArg(args[argNum++], verb, 0);
  }
  if (!reordered && argNum < args.length) {
    p.f = noFlags();
    p.out += '%!(EXTRA ';
    for (let j = argNum; j < args.length; j++) {
      if (j > argNum) p.out += ', ';
      const a = args[j];
      if (a === undefined || a === null) p.out += '<nil>';
      else { p.out += typeName(a) + '='; p.printArg(a, 'v', 0); }
    }
    p.out += ')';
  }
  return p.out;
}
