// Kubernetes resource quantities (`100m`, `1Gi`, `2e3`): parsing and the canonical form Go's
// resource.Quantity serializes to (so `2000m` round-trips to `"2"` and `1024Mi` to `1Gi`, as in
// every object the API server or istioctl prints).

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export class QuantityError extends Error {}

const FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const DEC_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BIN_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DEC_BY_EXP = new Map(Object.entries(DEC_SUFFIX).map(([k, v]) => [v, k]));
const BIN_BY_EXP = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/** A parsed quantity: value = mantissa × 10^exp10, exactly (after rounding up to nano units). */
export interface Quantity {
  mantissa: bigint;
  exp10: number;
  format: QuantityFormat;
  /** The input string when Go keeps it verbatim (already canonical). */
  verbatim?: string;
}

const pow10 = (n: number): bigint => 10n ** BigInt(n);

/** resource.ParseQuantity. Throws QuantityError with Go's messages. */
export function parseQuantity(str: string): Quantity {
  if (str.length === 0) throw new QuantityError(FORMAT_ERROR);
  if (str === '0') return { mantissa: 0n, exp10: 0, format: 'DecimalSI', verbatim: '0' };
  const m = /^([+-]?)(0*)(\d*)(?:\.(\d*))?(.*)$/.exec(str);
  if (!m) throw new QuantityError(FORMAT_ERROR);
  const positive = m[1] !== '-';
  const num = m[3] === '' ? '0' : m[3];
  const denom = m[4] ?? '';
  const suffix = m[5];
  if (!/^[eEinumkKMGTP]*[-+]?\d*$/.test(suffix)) throw new QuantityError(FORMAT_ERROR);

  let base: 2 | 10, exponent: number, format: QuantityFormat;
  if (suffix in DEC_SUFFIX) {
    base = 10; exponent = DEC_SUFFIX[suffix]; format = 'DecimalSI';
  } else if (suffix in BIN_SUFFIX) {
    base = 2; exponent = BIN_SUFFIX[suffix]; format = 'BinarySI';
  } else if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E') && /^[-+]?\d+$/.test(suffix.slice(1))) {
    base = 10; exponent = Number.parseInt(suffix.slice(1), 10); format = 'DecimalExponent';
  } else {
    throw new QuantityError("unable to parse quantity's suffix");
  }

  const digits = BigInt(num + denom);
  let mantissa: bigint, exp10: number;
  if (base === 10) {
    mantissa = digits; exp10 = exponent - denom.length;
  } else {
    mantissa = digits << BigInt(exponent); exp10 = -denom.length;
  }
  if (!positive) mantissa = -mantissa;

  // Go keeps the input string when it is already in canonical form.
  let verbatim: string | undefined;
  const shifted = num + denom;
  if (format !== 'BinarySI') {
    const scale = exponent - denom.length;
    if (18 - shifted.length >= 0 && scale >= -9 && digits <= 9223372036854775807n &&
        scale % 3 === 0 && !shifted.endsWith('000') && shifted[0] !== '0') verbatim = str;
  } else if (exponent >= 0 && denom.length === 0) {
    const precision = 15 - num.length - Math.trunc(exponent * 3 / 10) - 1;
    if (precision >= 0 && exponent % 10 === 0 && (digits & 7n) !== 0n) verbatim = str;
  }

  // Round non-zero values up (away from zero) to nano units.
  if (exp10 < -9) {
    const div = pow10(-9 - exp10);
    const abs = mantissa < 0n ? -mantissa : mantissa;
    let q = abs / div;
    if (abs % div !== 0n) q += 1n;
    mantissa = mantissa < 0n ? -q : q;
    exp10 = -9;
  }
  if (format === 'BinarySI' && mantissa > 0n && compare(mantissa, exp10, 1n) < 0) format = 'DecimalSI';
  return { mantissa, exp10, format, verbatim };
}

/** Compares mantissa×10^exp with an integer. */
function compare(mantissa: bigint, exp10: number, n: bigint): number {
  const [a, b] = exp10 >= 0 ? [mantissa * pow10(exp10), n] : [mantissa, n * pow10(-exp10)];
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Quantity.String(): the canonical form. */
export function formatQuantity(q: Quantity): string {
  if (q.verbatim !== undefined) return q.verbatim;
  if (q.mantissa === 0n) return '0';
  let format = q.format;
  if (format === 'BinarySI') {
    if (compare(q.mantissa, q.exp10, -1024n) > 0 && compare(q.mantissa, q.exp10, 1024n) < 0) format = 'DecimalSI';
    else if (q.exp10 < 0 && q.mantissa % pow10(-q.exp10) !== 0n) format = 'DecimalSI';
  }
  if (format === 'BinarySI') {
    let v = q.exp10 >= 0 ? q.mantissa * pow10(q.exp10) : q.mantissa / pow10(-q.exp10);
    let e = 0;
    while (v % 1024n === 0n && v !== 0n) { v /= 1024n; e++; }
    return `${v}${BIN_BY_EXP[e] ?? ''}`;
  }
  let m = q.mantissa, e = q.exp10;
  while (m % 10n === 0n) { m /= 10n; e++; }
  const r = ((e % 3) + 3) % 3;
  m *= pow10(r); e -= r;
  if (e === 0) return m.toString();
  if (format === 'DecimalSI') {
    const s = DEC_BY_EXP.get(e);
    if (s !== undefined) return `${m}${s}`;
  }
  return `${m}e${e}`;
}

/** Canonicalizes a quantity as Go's JSON round trip does (strings and numbers accepted). */
export function canonicalQuantity(v: string | number): string {
  const s = typeof v === 'number' ? numberText(v) : v.trim();
  return formatQuantity(parseQuantity(s));
}

function numberText(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return BigInt(n).toString();
  return String(n).replace('e+', 'e');
}
