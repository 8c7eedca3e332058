// Go error values and Go-style formatting, so that the texts of Istio's errors (which users see in
// logs and in the "deny due to bad CUSTOM action" fallback) come out byte-for-byte as istiod's.
//
// Istio accumulates errors with hashicorp/go-multierror; the text users see (and that we reproduce)
// depends on whether a value is a plain error or a multierror, so keep that distinction.
// Multierrors are flat: Append flattens one level and nothing here nests deeper.

export class MultiError {
  constructor(readonly errors: readonly string[]) {}
}
export type GoError = string | MultiError;

/** err.Error(): a plain error's own text, or go-multierror's default list format. */
export function errorText(err: GoError): string {
  if (typeof err === 'string') return err;
  if (err.errors.length === 1) return `1 error occurred:\n\t* ${err.errors[0]}\n\n`;
  return `${err.errors.length} errors occurred:\n\t${err.errors.map((e) => `* ${e}`).join('\n\t')}\n\n`;
}

/** multierror.Append: always a multierror, nils dropped, multierrors flattened. */
export function multiAppend(err: GoError | undefined, ...more: (GoError | undefined)[]): MultiError {
  const out: string[] = [];
  for (const e of [err, ...more]) {
    if (e === undefined) continue;
    if (typeof e === 'string') out.push(e);
    else out.push(...e.errors);
  }
  return new MultiError(out);
}

/** agent.AppendErrors: like Append, but a lone error stays as it is (plain stays plain). */
export function appendErrors(err: GoError | undefined, ...more: (GoError | undefined)[]): GoError | undefined {
  for (const e of more) {
    if (err === undefined) err = e;
    else if (e !== undefined) err = multiAppend(err, e);
  }
  return err;
}

/** multierror.Prefix: prefixes each member of a multierror, or the error itself. */
export function prefixError(err: GoError, prefix: string): GoError {
  return typeof err === 'string' ? `${prefix} ${err}` : new MultiError(err.errors.map((e) => `${prefix} ${e}`));
}

// Go's %q for strings and runes (strconv.Quote / QuoteRune), for messages identical to Istio's.
function goEscape(ch: string, quote: '"' | "'"): string {
  const cp = ch.codePointAt(0)!;
  switch (ch) {
    case '\x07': return '\\a';
    case '\b': return '\\b';
    case '\f': return '\\f';
    case '\n': return '\\n';
    case '\r': return '\\r';
    case '\t': return '\\t';
    case '\v': return '\\v';
    case '\\': return '\\\\';
  }
  if (ch === quote) return `\\${quote}`;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp !== 0x20 && /[\p{C}\p{Z}]/u.test(ch)) {
    return cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  }
  return ch;
}
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) out += goEscape(ch, '"');
  return `${out}"`;
}
export function goQuoteRune(ch: string): string {
  return `'${goEscape(ch, "'")}'`;
}
/** Go's %v of a []string. */
export function goList(items: readonly (string | number)[]): string {
  return `[${items.join(' ')}]`;
}
/** Go's byte-wise string order (sort.Strings). */
export function goCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// ---------------------------------------------------------------------------------------------
// strconv, as Istio's checks use it.

/** strconv.ParseInt(s, 10, 32): the value, or the error text. */
export function parseInt32(s: string): number | string {
  if (!/^[+-]?[0-9]+$/.test(s)) return `strconv.ParseInt: parsing ${goQuote(s)}: invalid syntax`;
  const v = BigInt(s);
  if (v < -2147483648n || v > 2147483647n) return `strconv.ParseInt: parsing ${goQuote(s)}: value out of range`;
  return Number(v);
}

/** strconv.Atoi succeeds (a decimal that fits in a 64-bit int). */
export function atoiOk(s: string): boolean {
  if (!/^[+-]?[0-9]+$/.test(s)) return false;
  const v = BigInt(s);
  return v >= -(2n ** 63n) && v < 2n ** 63n;
}
