// Sprig's default/empty, list, dict, number, JSON and reflection functions.

import { FuncError } from './errors.js';
import { def, type FuncDef } from './funcs.js';
import { fromGoJson, toGoJson } from './encoding.js';
import { parseGoInt } from './literals.js';
import { strval } from './sprig-strings.js';
import {
  kindOf, typeName, isMap, mapKeys, mapGet, mapHas, goSlice, structFields, GO_TYPE,
} from './values.js';

const A = 'interface {}', S = 'string', I = 'int', M = 'map[string]interface {}', B = 'bool';

/** Sprig's empty: the zero value of its type (nil, "", 0, false, empty list or map). */
export function empty(v: unknown): boolean {
  switch (kindOf(v)) {
    case 'invalid': case 'nil': return true;
    case 'slice': return (v as unknown[]).length === 0;
    case 'map': return mapKeys(v as Record<string, unknown>).length === 0;
    case 'string': return v === '';
    case 'bool': return !v;
    case 'int': return v === 0n;
    case 'float': return v === 0;
    default: return false;
  }
}

/** spf13/cast ToInt64 (errors give 0). */
export function toInt64(v: unknown): bigint {
  switch (kindOf(v)) {
    case 'int': return v as bigint;
    case 'float': {
      const f = v as number;
      return Number.isFinite(f) ? BigInt(Math.trunc(f)) : -(2n ** 63n);
    }
    case 'bool': return v ? 1n : 0n;
    case 'string': {
      const n = parseGoInt(trimZeroDecimal(v as string));
      return n !== undefined && n >= -(2n ** 63n) && n < 2n ** 63n ? n : 0n;
    }
    default: return 0n;
  }
}

function trimZeroDecimal(s: string): string {
  let foundZero = false;
  for (let i = s.length; i > 0; i--) {
    const c = s[i - 1];
    if (c === '.') { if (foundZero) return s.slice(0, i - 1); } else if (c === '0') foundZero = true;
    else return s;
  }
  return s;
}

/** spf13/cast ToFloat64. */
export function toFloat64(v: unknown): number {
  switch (kindOf(v)) {
    case 'int': return Number(v as bigint);
    case 'float': return v as number;
    case 'bool': return v ? 1 : 0;
    case 'string': {
      const s = v as string;
      if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) || /^[+-]?(inf|infinity|nan)$/i.test(s)) {
        return /nan/i.test(s) ? NaN : /inf/i.test(s) ? (s.startsWith('-') ? -Infinity : Infinity) : Number(s);
      }
      return 0;
    }
    default: return 0;
  }
}

/** reflect.DeepEqual over the value model. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (typeName(a) !== typeName(b)) return false;
  const k = kindOf(a);
  if (k === 'float') return a === b;
  if (k === 'slice') {
    const x = a as unknown[], y = b as unknown[];
    return x.length === y.length && x.every((e, i) => deepEqual(e, y[i]));
  }
  if (k === 'map') {
    const ka = mapKeys(a as Record<string, unknown>), kb = mapKeys(b as Record<string, unknown>);
    return ka.length === kb.length &&
      ka.every(key => mapHas(b as Record<string, unknown>, key) &&
        deepEqual(mapGet(a as Record<string, unknown>, key), mapGet(b as Record<string, unknown>, key)));
  }
  if (k === 'struct') {
    const fa = structFields(a as object), fb = structFields(b as object);
    return fa.length === fb.length && fa.every(([n, v], i) => fb[i][0] === n && deepEqual(v, fb[i][1]));
  }
  return false;
}

/** The elements of a slice, or the error Sprig's reflection-based list functions give. */
function listOf(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) throw new FuncError('runtime error: invalid memory address or nil pointer dereference');
  if (!Array.isArray(v)) throw new FuncError(`${what} ${reflectKind(v)}`);
  return v;
}

/** reflect.Kind names, as Sprig's kindOf prints them. */
export function reflectKind(v: unknown): string {
  switch (kindOf(v)) {
    case 'invalid': case 'nil': return 'invalid';
    case 'bool': return 'bool';
    case 'int': return 'int';
    case 'float': return 'float64';
    case 'string': return 'string';
    case 'slice': return 'slice';
    case 'map': return 'map';
    case 'struct': return typeName(v).startsWith('*') ? 'ptr' : 'struct';
    case 'func': return 'func';
  }
}

function deepCopy(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out = v.map(deepCopy);
    const tag = (v as { [GO_TYPE]?: unknown })[GO_TYPE];
    if (tag) Object.defineProperty(out, GO_TYPE, { value: tag, enumerable: false, configurable: true, writable: true });
    return out;
  }
  if (isMap(v) && !(v instanceof Map)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = deepCopy(x);
    const tag = (v as { [GO_TYPE]?: unknown })[GO_TYPE];
    if (tag) Object.defineProperty(out, GO_TYPE, { value: tag, enumerable: false, configurable: true, writable: true });
    return out;
  }
  return v;
}

/** mergo.Merge / MergeWithOverwrite over maps, as Sprig's merge and mergeOverwrite use it. */
function mergeInto(dst: Record<string, unknown>, src: Record<string, unknown>, overwrite: boolean): void {
  for (const [k, sv] of Object.entries(src)) {
    const has = Object.prototype.hasOwnProperty.call(dst, k);
    const dv = dst[k];
    if (has && isMap(dv) && isMap(sv) && !(dv instanceof Map) && !(sv instanceof Map)) {
      mergeInto(dv as Record<string, unknown>, sv as Record<string, unknown>, overwrite);
    } else if (!has || empty(dv) || (overwrite && !empty(sv))) {
      dst[k] = sv;
    }
  }
}

const decimalDigits = (x: number): { n: bigint; scale: number } => {
  const s = String(x);
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(s);
  if (!m) return { n: 0n, scale: 0 };
  let digits = m[2] + (m[3] ?? '');
  let scale = (m[3] ?? '').length - Number(m[4] ?? 0);
  if (scale < 0) { digits += '0'.repeat(-scale); scale = 0; }
  return { n: BigInt(m[1] + digits), scale };
};

/** shopspring/decimal arithmetic on the shortest decimal form of each float, as Sprig's *f functions. */
function decimalOp(first: unknown, rest: unknown[], op: 'add' | 'sub' | 'mul' | 'div'): number {
  let acc = decimalDigits(toFloat64(first));
  for (const r of rest) {
    const d = decimalDigits(toFloat64(r));
    const scale = Math.max(acc.scale, d.scale);
    const an = acc.n * 10n ** BigInt(scale - acc.scale), dn = d.n * 10n ** BigInt(scale - d.scale);
    switch (op) {
      case 'add': acc = { n: an + dn, scale }; break;
      case 'sub': acc = { n: an - dn, scale }; break;
      case 'mul': acc = { n: acc.n * d.n, scale: acc.scale + d.scale }; break;
      case 'div': {
        if (dn === 0n) throw new FuncError('decimal division by 0');
        const prec = 16;
        const num = an * 10n ** BigInt(prec + 1);
        let q = num / dn;
        q = (q + (q >= 0n ? 5n : -5n)) / 10n;
        acc = { n: q, scale: prec };
      }
    }
  }
  const neg = acc.n < 0n;
  const digits = (neg ? -acc.n : acc.n).toString().padStart(acc.scale + 1, '0');
  return Number((neg ? '-' : '') + digits.slice(0, digits.length - acc.scale) + '.' + digits.slice(digits.length - acc.scale));
}

function untilStep(start: bigint, stop: bigint, step: bigint): bigint[] {
  const v: bigint[] = [];
  if (stop < start) {
    if (step >= 0n) return v;
    for (let i = start; i > stop; i += step) v.push(i);
    return v;
  }
  if (step <= 0n) return v;
  for (let i = start; i < stop; i += step) v.push(i);
  return v;
}

function seq(...p: bigint[]): string {
  let r: bigint[];
  switch (p.length) {
    case 1: { const inc = p[0] < 1n ? -1n : 1n; r = untilStep(1n, p[0] + inc, inc); break; }
    case 2: { const st = p[1] < p[0] ? -1n : 1n; r = untilStep(p[0], p[1] + st, st); break; }
    case 3: {
      const inc = p[2] < p[0] ? -1n : 1n;
      if (inc < 0n && p[1] > 0n) return '';
      r = untilStep(p[0], p[2] + inc, p[1]);
      break;
    }
    default: return '';
  }
  return r.join(' ');
}

function round(a: unknown, p: bigint, ...rOpt: number[]): number {
  const roundOn = rOpt.length ? rOpt[0] : 0.5;
  const val = toFloat64(a);
  const pow = 10 ** Number(p);
  const digit = pow * val;
  const div = digit - Math.trunc(digit);
  return (div >= roundOn ? Math.ceil(digit) : Math.floor(digit)) / pow;
}

function dig(...ps: unknown[]): unknown {
  if (ps.length < 3) throw new FuncError('dig needs at least three arguments');
  let dict = ps[ps.length - 1];
  const d = ps[ps.length - 2];
  const keys = ps.slice(0, -2).map(k => {
    if (typeof k !== 'string') throw new FuncError(`interface conversion: interface {} is ${typeName(k)}, not string`);
    return k;
  });
  for (let i = 0; i < keys.length; i++) {
    if (!isMap(dict) || typeName(dict) !== M) {
      throw new FuncError(`interface conversion: interface {} is ${typeName(dict)}, not map[string]interface {}`);
    }
    if (!mapHas(dict, keys[i])) return d;
    const step = mapGet(dict, keys[i]);
    if (i === keys.length - 1) return step;
    dict = step;
  }
  return d;
}

export function sprigDataFuncs(): Record<string, FuncDef> {
  const list = (...v: unknown[]): unknown[] => v.map(x => (x === undefined ? null : x));
  const mustList = (fn: (l: unknown[], ...rest: any[]) => unknown, what: string) =>
    (l: unknown, ...rest: unknown[]): unknown => fn(listOf(l, what), ...rest);
  const f: Record<string, FuncDef> = {
    default: def([A], (d: unknown, ...given: unknown[]) => (given.length === 0 || empty(given[0]) ? d : given[0]), A),
    empty: def([A], empty),
    coalesce: def([], (...v: unknown[]) => v.find(x => !empty(x)) ?? null, A),
    all: def([], (...v: unknown[]) => v.every(x => !empty(x)), A),
    any: def([], (...v: unknown[]) => v.some(x => !empty(x)), A),
    ternary: def([A, A, B], (vt: unknown, vf: unknown, v: boolean) => (v ? vt : vf)),
    fromJson: def([S], (s: string) => { try { return fromGoJson(s); } catch { return null; } }),
    mustFromJson: def([S], fromGoJson),
    toJson: def([A], (v: unknown) => { try { return toGoJson(v); } catch { return ''; } }),
    mustToJson: def([A], (v: unknown) => toGoJson(v)),
    toPrettyJson: def([A], (v: unknown) => { try { return toGoJson(v, { indent: '  ' }); } catch { return ''; } }),
    mustToPrettyJson: def([A], (v: unknown) => toGoJson(v, { indent: '  ' })),
    toRawJson: def([A], (v: unknown) => toGoJson(v, { escapeHTML: false })),
    mustToRawJson: def([A], (v: unknown) => toGoJson(v, { escapeHTML: false })),
    deepCopy: def([A], deepCopy),
    mustDeepCopy: def([A], deepCopy),
    typeOf: def([A], typeName),
    typeIs: def([S, A], (t: string, v: unknown) => t === typeName(v)),
    typeIsLike: def([S, A], (t: string, v: unknown) => t === typeName(v) || '*' + t === typeName(v)),
    kindOf: def([A], reflectKind),
    kindIs: def([S, A], (t: string, v: unknown) => t === reflectKind(v)),
    deepEqual: def([A, A], deepEqual),
    // numbers
    atoi: def([S], (s: string) => (/^[+-]?\d+$/.test(s) ? BigInt(s) : 0n)),
    int64: def([A], toInt64),
    int: def([A], toInt64),
    float64: def([A], toFloat64),
    toDecimal: def([A], (v: unknown) => {
      const s = strval(v);
      return /^[+-]?[0-7]+$/.test(s) ? BigInt(s.replace(/^([+-]?)/, '$10o')) : 0n;
    }),
    seq: def([], seq, I),
    until: def([I], (n: bigint) => goSlice(untilStep(0n, n, n < 0n ? -1n : 1n), '[]int')),
    untilStep: def([I, I, I], (a: bigint, b: bigint, s: bigint) => goSlice(untilStep(a, b, s), '[]int')),
    add1: def([A], (i: unknown) => toInt64(i) + 1n),
    add: def([], (...xs: unknown[]) => xs.reduce<bigint>((a, b) => a + toInt64(b), 0n), A),
    sub: def([A, A], (a: unknown, b: unknown) => toInt64(a) - toInt64(b)),
    div: def([A, A], (a: unknown, b: unknown) => {
      const d = toInt64(b);
      if (d === 0n) throw new FuncError('runtime error: integer divide by zero');
      return toInt64(a) / d;
    }),
    mod: def([A, A], (a: unknown, b: unknown) => {
      const d = toInt64(b);
      if (d === 0n) throw new FuncError('runtime error: integer divide by zero');
      return toInt64(a) % d;
    }),
    mul: def([A], (a: unknown, ...v: unknown[]) => v.reduce<bigint>((x, y) => x * toInt64(y), toInt64(a)), A),
    add1f: def([A], (i: unknown) => decimalOp(i, [1n], 'add')),
    addf: def([], (...i: unknown[]) => decimalOp(0, i, 'add'), A),
    subf: def([A], (a: unknown, ...v: unknown[]) => decimalOp(a, v, 'sub'), A),
    divf: def([A], (a: unknown, ...v: unknown[]) => decimalOp(a, v, 'div'), A),
    mulf: def([A], (a: unknown, ...v: unknown[]) => decimalOp(a, v, 'mul'), A),
    max: def([A], (a: unknown, ...i: unknown[]) => i.reduce<bigint>((m, b) => (toInt64(b) > m ? toInt64(b) : m), toInt64(a)), A),
    biggest: def([A], (a: unknown, ...i: unknown[]) => i.reduce<bigint>((m, b) => (toInt64(b) > m ? toInt64(b) : m), toInt64(a)), A),
    min: def([A], (a: unknown, ...i: unknown[]) => i.reduce<bigint>((m, b) => (toInt64(b) < m ? toInt64(b) : m), toInt64(a)), A),
    maxf: def([A], (a: unknown, ...i: unknown[]) => i.reduce<number>((m, b) => Math.max(m, toFloat64(b)), toFloat64(a)), A),
    minf: def([A], (a: unknown, ...i: unknown[]) => i.reduce<number>((m, b) => Math.min(m, toFloat64(b)), toFloat64(a)), A),
    floor: def([A], (a: unknown) => Math.floor(toFloat64(a))),
    ceil: def([A], (a: unknown) => Math.ceil(toFloat64(a))),
    round: def([A, I], round, 'float64'),
    // lists
    list: def([], list, A),
    tuple: def([], list, A),
    append: def([A, A], mustList((l, v) => [...l, v], 'Cannot push on type')),
    push: def([A, A], mustList((l, v) => [...l, v], 'Cannot push on type')),
    mustAppend: def([A, A], mustList((l, v) => [...l, v], 'Cannot push on type')),
    mustPush: def([A, A], mustList((l, v) => [...l, v], 'Cannot push on type')),
    prepend: def([A, A], mustList((l, v) => [v, ...l], 'Cannot prepend on type')),
    mustPrepend: def([A, A], mustList((l, v) => [v, ...l], 'Cannot prepend on type')),
    first: def([A], mustList(l => (l.length ? l[0] : null), 'Cannot find first on type')),
    mustFirst: def([A], mustList(l => (l.length ? l[0] : null), 'Cannot find first on type')),
    last: def([A], mustList(l => (l.length ? l[l.length - 1] : null), 'Cannot find last on type')),
    mustLast: def([A], mustList(l => (l.length ? l[l.length - 1] : null), 'Cannot find last on type')),
    rest: def([A], mustList(l => l.slice(1), 'Cannot find rest on type')),
    mustRest: def([A], mustList(l => l.slice(1), 'Cannot find rest on type')),
    initial: def([A], mustList(l => l.slice(0, -1), 'Cannot find initial on type')),
    mustInitial: def([A], mustList(l => l.slice(0, -1), 'Cannot find initial on type')),
    reverse: def([A], mustList(l => [...l].reverse(), 'Cannot find reverse on type')),
    mustReverse: def([A], mustList(l => [...l].reverse(), 'Cannot find reverse on type')),
    compact: def([A], mustList(l => l.filter(x => !empty(x)), 'Cannot compact on type')),
    mustCompact: def([A], mustList(l => l.filter(x => !empty(x)), 'Cannot compact on type')),
    uniq: def([A], mustList(l => l.filter((x, i) => l.findIndex(y => deepEqual(x, y)) === i), 'Cannot find uniq on type')),
    mustUniq: def([A], mustList(l => l.filter((x, i) => l.findIndex(y => deepEqual(x, y)) === i), 'Cannot find uniq on type')),
    without: def([A], mustList((l, ...o: unknown[]) => l.filter(x => !o.some(y => deepEqual(x, y))), 'Cannot find without on type'), A),
    mustWithout: def([A], mustList((l, ...o: unknown[]) => l.filter(x => !o.some(y => deepEqual(x, y))), 'Cannot find without on type'), A),
    has: def([A, A], (needle: unknown, hay: unknown) => (hay === null || hay === undefined ? false : listOf(hay, 'Cannot find has on type').some(x => deepEqual(needle, x)))),
    mustHas: def([A, A], (needle: unknown, hay: unknown) => (hay === null || hay === undefined ? false : listOf(hay, 'Cannot find has on type').some(x => deepEqual(needle, x)))),
    slice: def([A], (l: unknown, ...idx: unknown[]) => {
      const arr = listOf(l, 'list should be type of slice or array but');
      if (arr.length === 0) return null;
      const start = idx.length > 0 ? Number(toInt64(idx[0])) : 0;
      const end = idx.length > 1 ? Number(toInt64(idx[1])) : arr.length;
      if (start < 0 || end > arr.length || start > end) throw new FuncError(`reflect: slice index out of range`);
      return arr.slice(start, end);
    }, A),
    concat: def([], (...lists: unknown[]) => {
      const res: unknown[] = [];
      for (const l of lists) {
        if (!Array.isArray(l)) throw new FuncError(`Cannot concat type ${reflectKind(l)} as list`);
        res.push(...l);
      }
      return res;
    }, A),
    chunk: def([I, A], (size: bigint, l: unknown) => {
      const arr = listOf(l, 'Cannot chunk type');
      const n = Number(size), out: unknown[][] = [];
      for (let i = 0; i < arr.length; i += n) out.push(arr.slice(i, i + n));
      return out;
    }),
    // dicts
    dict: def([], (...v: unknown[]) => {
      const d: Record<string, unknown> = {};
      for (let i = 0; i < v.length; i += 2) d[strval(v[i])] = i + 1 < v.length ? v[i + 1] : '';
      return d;
    }, A),
    get: def([M, S], (d: Record<string, unknown>, k: string) => (mapHas(d, k) ? mapGet(d, k) : '')),
    set: def([M, S, A], (d: Record<string, unknown>, k: string, v: unknown) => { d[k] = v; return d; }),
    unset: def([M, S], (d: Record<string, unknown>, k: string) => { delete d[k]; return d; }),
    hasKey: def([M, S], (d: Record<string, unknown>, k: string) => mapHas(d, k)),
    pluck: def([S], (k: string, ...ds: Record<string, unknown>[]) => ds.filter(d => mapHas(d, k)).map(d => mapGet(d, k)), M),
    keys: def([], (...ds: Record<string, unknown>[]) => goSlice(ds.flatMap(d => mapKeys(d) as string[])), M),
    pick: def([M], (d: Record<string, unknown>, ...ks: string[]) => {
      const r: Record<string, unknown> = {};
      for (const k of ks) if (mapHas(d, k)) r[k] = mapGet(d, k);
      return r;
    }, S),
    omit: def([M], (d: Record<string, unknown>, ...ks: string[]) => {
      const r: Record<string, unknown> = {};
      for (const k of mapKeys(d) as string[]) if (!ks.includes(k)) r[k] = mapGet(d, k);
      return r;
    }, S),
    merge: def([M], (dst: Record<string, unknown>, ...src: Record<string, unknown>[]) => { for (const s of src) mergeInto(dst, s, false); return dst; }, M),
    mustMerge: def([M], (dst: Record<string, unknown>, ...src: Record<string, unknown>[]) => { for (const s of src) mergeInto(dst, s, false); return dst; }, M),
    mergeOverwrite: def([M], (dst: Record<string, unknown>, ...src: Record<string, unknown>[]) => { for (const s of src) mergeInto(dst, s, true); return dst; }, M),
    mustMergeOverwrite: def([M], (dst: Record<string, unknown>, ...src: Record<string, unknown>[]) => { for (const s of src) mergeInto(dst, s, true); return dst; }, M),
    values: def([M], (d: Record<string, unknown>) => mapKeys(d).map(k => mapGet(d, k))),
    dig: def([], dig, A),
  };
  return f;
}

