// Go literal syntax: strconv.Unquote for template strings and character constants, and
// strconv.ParseInt / ParseFloat with base prefixes and underscores.

class SyntaxErr extends Error {}

const fail = (): never => { throw new SyntaxErr('invalid syntax'); };

/** strconv.Unquote for "..." and `...` literals. Throws on invalid syntax. */
export function unquote(s: string): string {
  if (s.startsWith('`')) {
    if (s.length < 2 || !s.endsWith('`')) fail();
    return s.slice(1, -1).replace(/\r/g, '');
  }
  return unquoteQuoted(s, '"');
}

/** strconv.Unquote for "..." and '...' literals (escapes may produce raw bytes). */
export function unquoteQuoted(s: string, q: string): string {
  if (s.length < 2 || s[0] !== q || s[s.length - 1] !== q) fail();
  const body = s.slice(1, -1);
  const bytes: number[] = [];
  const pushStr = (x: string): void => { for (const b of Buffer.from(x, 'utf8')) bytes.push(b); };
  const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
  for (let i = 0; i < body.length;) {
    const c = body[i];
    if (c === q && q === '"') fail();
    if (c !== '\\') {
      const ch = String.fromCodePoint(body.codePointAt(i)!);
      pushStr(ch);
      i += ch.length;
      continue;
    }
    const e = body[i + 1];
    i += 2;
    if (e in simple) { pushStr(simple[e]); continue; }
    if (e === q) { pushStr(q); continue; }
    if (e === 'x' || e === 'u' || e === 'U') {
      const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const h = body.slice(i, i + len);
      if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== len) fail();
      i += len;
      const v = parseInt(h, 16);
      if (e === 'x') bytes.push(v);
      else {
        if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) fail();
        pushStr(String.fromCodePoint(v));
      }
      continue;
    }
    if (e >= '0' && e <= '7') {
      const o = body.slice(i - 1, i + 2);
      if (!/^[0-7]{3}$/.test(o)) fail();
      const v = parseInt(o, 8);
      if (v > 255) fail();
      bytes.push(v);
      i += 2;
      continue;
    }
    fail();
  }
  return Buffer.from(bytes).toString('utf8');
}

/** strconv.ParseInt(text, 0, 64) without the range check (returns a bigint). */
export function parseGoInt(text: string): bigint | undefined {
  let s = text, neg = false;
  if (s.startsWith('+') || s.startsWith('-')) { neg = s[0] === '-'; s = s.slice(1); }
  let base = 10, digits = s;
  if (/^0[xX]/.test(s)) { base = 16; digits = s.slice(2); }
  else if (/^0[oO]/.test(s)) { base = 8; digits = s.slice(2); }
  else if (/^0[bB]/.test(s)) { base = 2; digits = s.slice(2); }
  else if (/^0\d/.test(s) || /^0_/.test(s)) { base = 8; digits = s.slice(1); }
  // underscores only between digits (or after a base prefix)
  if (digits.includes('_')) {
    if (/__|_$/.test(digits) || (base === 10 && digits.startsWith('_'))) return undefined;
    digits = digits.replace(/_/g, '');
  }
  const re = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^\d+$/, 16: /^[0-9a-fA-F]+$/ }[base as 2 | 8 | 10 | 16];
  if (!re.test(digits)) return undefined;
  const prefix = { 2: '0b', 8: '0o', 10: '', 16: '0x' }[base as 2 | 8 | 10 | 16];
  const v = BigInt(prefix + digits);
  return neg ? -v : v;
}

/** strconv.ParseFloat(text, 64) for Go literal syntax. */
export function parseGoFloat(text: string): number | undefined {
  let s = text.replace(/_/g, '');
  let neg = false;
  if (s.startsWith('+') || s.startsWith('-')) { neg = s[0] === '-'; s = s.slice(1); }
  let v: number;
  const hexm = /^0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/.exec(s);
  if (hexm) {
    const int = hexm[1] || '', frac = hexm[2] || '';
    if (!int && !frac) return undefined;
    const mant = parseInt((int + frac) || '0', 16);
    v = mant * 2 ** (Number(hexm[3]) - 4 * frac.length);
  } else if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    v = Number(s);
  } else if (/^(inf|infinity)$/i.test(s)) v = Infinity;
  else if (/^nan$/i.test(s)) v = NaN;
  else return undefined;
  return neg ? -v : v;
}
