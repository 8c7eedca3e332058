// Formatting of float64 values the way Go's strconv.FormatFloat does ('e', 'f', 'g', shortest or
// with a precision), built on an exact decimal expansion so that rounding matches Go
// (round half to even on the exact binary value).

interface Digits { d: string; dp: number } // value = 0.d × 10^dp, d without leading/trailing zeros

/** The exact decimal digits of a finite, non-negative double. */
function exactDigits(x: number): Digits {
  if (x === 0) return { d: '', dp: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0), lo = view.getUint32(4);
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (bexp === 0) e = -1074;
  else { mant |= 1n << 52n; e = bexp - 1075; }
  let s: string, dp: number;
  if (e >= 0) {
    s = (mant << BigInt(e)).toString();
    dp = s.length;
  } else {
    s = (mant * 5n ** BigInt(-e)).toString();
    dp = s.length + e; // divide by 10^-e
  }
  return trim({ d: s, dp });
}

function trim(x: Digits): Digits {
  let d = x.d, dp = x.dp;
  let i = 0;
  while (i < d.length && d[i] === '0') i++;
  d = d.slice(i); dp -= i;
  let j = d.length;
  while (j > 0 && d[j - 1] === '0') j--;
  d = d.slice(0, j);
  if (d === '') dp = 0;
  return { d, dp };
}

/** Shortest digits that round-trip (JavaScript and Go agree on these). */
function shortestDigits(x: number): Digits {
  if (x === 0) return { d: '', dp: 0 };
  const s = x.toExponential(); // d.ddde±n
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s)!;
  const d = m[1] + (m[2] ?? '');
  return trim({ d, dp: Number(m[3]) + 1 });
}

/** Rounds to nd significant digits, half to even on the exact expansion. */
function roundTo(x: Digits, nd: number): Digits {
  if (nd < 0) return { d: '', dp: 0 };
  if (x.d.length <= nd) return x;
  const next = x.d.charCodeAt(nd) - 48;
  let up: boolean;
  if (next === 5 && nd + 1 === x.d.length) up = nd > 0 && (x.d.charCodeAt(nd - 1) - 48) % 2 === 1;
  else up = next >= 5;
  let d = x.d.slice(0, nd), dp = x.dp;
  if (up) {
    if (nd === 0) return { d: '1', dp: dp + 1 };
    const arr = d.split('').map(c => c.charCodeAt(0) - 48);
    let i = arr.length - 1;
    while (i >= 0 && arr[i] === 9) { arr[i] = 0; i--; }
    if (i < 0) { d = '1'; dp++; }
    else { arr[i]++; d = arr.join(''); }
  }
  return trim({ d, dp });
}

function digitAt(x: Digits, i: number): string {
  return i >= 0 && i < x.d.length ? x.d[i] : '0';
}

function fmtE(neg: boolean, x: Digits, prec: number, ch: 'e' | 'E'): string {
  let s = neg ? '-' : '';
  s += x.d.length ? x.d[0] : '0';
  if (prec > 0) {
    s += '.';
    for (let i = 1; i <= prec; i++) s += digitAt(x, i);
  }
  let exp = x.d.length ? x.dp - 1 : 0;
  s += ch;
  if (exp < 0) { s += '-'; exp = -exp; } else s += '+';
  s += exp < 10 ? '0' + exp : String(exp);
  return s;
}

function fmtF(neg: boolean, x: Digits, prec: number): string {
  let s = neg ? '-' : '';
  if (x.dp > 0) {
    for (let i = 0; i < x.dp; i++) s += digitAt(x, i);
  } else s += '0';
  if (prec > 0) {
    s += '.';
    for (let i = 0; i < prec; i++) s += digitAt(x, x.dp + i);
  }
  return s;
}

/**
 * strconv.FormatFloat(x, fmt, prec, 64) for fmt in e, E, f, F, g, G; prec < 0 means shortest.
 */
export function formatFloat(x: number, fmt: 'e' | 'E' | 'f' | 'F' | 'g' | 'G', prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  const ax = Math.abs(x);
  const shortest = prec < 0;
  let digs: Digits;
  if (shortest) {
    digs = shortestDigits(ax);
    switch (fmt) {
      case 'e': case 'E': prec = Math.max(digs.d.length - 1, 0); break;
      case 'f': case 'F': prec = Math.max(digs.d.length - digs.dp, 0); break;
      case 'g': case 'G': prec = digs.d.length; break;
    }
  } else {
    const exact = exactDigits(ax);
    switch (fmt) {
      case 'e': case 'E': digs = roundTo(exact, prec + 1); break;
      case 'f': case 'F': digs = roundTo(exact, exact.dp + prec); break;
      default: if (prec === 0) prec = 1; digs = roundTo(exact, prec); break;
    }
  }
  switch (fmt) {
    case 'e': case 'E': return fmtE(neg, digs, prec, fmt);
    case 'f': case 'F': return fmtF(neg, digs, prec);
    default: {
      const nd = digs.d.length;
      const dp = nd ? digs.dp : 1;
      let eprec = prec;
      if (eprec > nd && nd >= dp) eprec = nd;
      if (shortest) eprec = 6;
      const exp = dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (prec > nd) prec = nd;
        return fmtE(neg, digs, Math.max(prec - 1, 0), fmt === 'g' ? 'e' : 'E');
      }
      if (prec > dp) prec = nd;
      return fmtF(neg, nd ? digs : { d: '', dp: 1 }, Math.max(prec - dp, 0));
    }
  }
}

/** Go's encoding/json number format for a float64. */
export function jsonFloat(x: number): string {
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    let s = formatFloat(x, 'e', -1);
    // clean up e-09 to e-9
    const m = /^(.*e[+-])0(\d)$/.exec(s);
    if (m) s = m[1] + m[2];
    return s;
  }
  return formatFloat(x, 'f', -1);
}
