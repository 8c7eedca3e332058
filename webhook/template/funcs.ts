// Template functions: typed signatures (so argument checks behave like Go's reflection-based
// calls) and Go's builtin functions (and, or, not, len, index, slice, print*, html, js, urlquery,
// call, eq, ne, lt, le, gt, ge).

import { FuncError } from './errors.js';
import { sprint, sprintf, sprintln } from './fmt.js';
import {
  kindOf, typeName, truth, isStruct, isPlainObject, mapGet, mapHas, elemTypeOfMap, zeroOf, byteLength,
  structFields, GO_TYPE,
} from './values.js';

/**
 * A Go parameter type. Recognised shapes: 'interface {}' (any value), 'reflect.Value' (the raw
 * value, including "no value"), 'string', 'bool', 'int', 'int64', 'float64', 'map[K]V', '[]T',
 * and struct / pointer type names such as 'v1.ObjectMeta' or '*v1alpha1.MeshConfig'.
 */
export type GoType = string;

export type Fn = (...args: any[]) => unknown;

export interface FuncDef {
  /** Types of the fixed parameters. */
  params: GoType[];
  /** Element type of the trailing variadic parameter, if any. */
  variadic?: GoType;
  fn: Fn;
}

export type FuncMap = Record<string, Fn | FuncDef>;

/** Declares a typed function: `def(['int', 'string'], (n, s) => ...)`. */
export function def(params: GoType[], fn: Fn, variadic?: GoType): FuncDef {
  return { params, fn, variadic };
}

export function toFuncDef(f: Fn | FuncDef): FuncDef {
  if (typeof f === 'function') return { params: [], variadic: 'interface {}', fn: f };
  return f;
}

export type TypeClass = 'any' | 'reflect' | 'string' | 'bool' | 'int' | 'float' | 'map' | 'slice' | 'struct' | 'pointer';

export function classify(t: GoType): TypeClass {
  if (t === 'interface {}' || t === 'any') return 'any';
  if (t === 'reflect.Value') return 'reflect';
  if (t === 'string') return 'string';
  if (t === 'bool') return 'bool';
  if (/^u?int(8|16|32|64)?$/.test(t)) return 'int';
  if (t === 'float64' || t === 'float32') return 'float';
  if (t.startsWith('map[')) return 'map';
  if (t.startsWith('[]')) return 'slice';
  if (t.startsWith('*') || t === 'proto.Message') return 'pointer';
  return 'struct';
}

export function canBeNil(t: GoType): boolean {
  const c = classify(t);
  return c === 'any' || c === 'reflect' || c === 'map' || c === 'slice' || c === 'pointer';
}

/** The zero value used when "no value" or nil is passed for a nillable parameter. */
export function nilFor(t: GoType): unknown {
  switch (classify(t)) {
    case 'map': return t === 'map[string]interface {}' ? {} : markMap({}, t);
    case 'slice': return [];
    case 'reflect': return undefined;
    default: return null;
  }
}

function markMap(o: object, t: string): object {
  Object.defineProperty(o, GO_TYPE, { value: { kind: 'map', name: t }, enumerable: false, configurable: true, writable: true });
  return o;
}

/**
 * Checks that `v` can be passed as a parameter of type `t` (Go's validateType); returns the value to
 * pass, or an error message.
 */
export function checkArg(v: unknown, t: GoType): { ok: true; value: unknown } | { ok: false; msg: string } {
  const c = classify(t);
  if (c === 'reflect') return { ok: true, value: v };
  if (v === undefined) {
    if (canBeNil(t)) return { ok: true, value: nilFor(t) };
    return { ok: false, msg: `invalid value; expected ${t}` };
  }
  const k = kindOf(v);
  const wrong = { ok: false as const, msg: `wrong type for value; expected ${t}; got ${v === null ? 'interface {}' : typeName(v)}` };
  switch (c) {
    case 'any': return { ok: true, value: v };
    case 'string': return k === 'string' ? { ok: true, value: v } : wrong;
    case 'bool': return k === 'bool' ? { ok: true, value: v } : wrong;
    case 'int': return k === 'int' ? { ok: true, value: v } : wrong;
    case 'float': return k === 'float' ? { ok: true, value: v } : wrong;
    case 'map': {
      if (k === 'nil') return { ok: true, value: nilFor(t) };
      if (k !== 'map') return wrong;
      const have = typeName(v);
      if (have === t) return { ok: true, value: v };
      // A map decoded from JSON/YAML is map[string]interface{}; accept it for a map[string]string
      // parameter when every value is a string (Go would need the exact type).
      if (t === 'map[string]string' && have === 'map[string]interface {}' && isPlainObject(v) &&
          Object.values(v).every(x => typeof x === 'string')) {
        return { ok: true, value: v };
      }
      return wrong;
    }
    case 'slice': {
      if (k === 'nil') return { ok: true, value: [] };
      if (k !== 'slice') return wrong;
      if (t === '[]string' && typeName(v) !== '[]string' && !(v as unknown[]).every(x => typeof x === 'string')) return wrong;
      return { ok: true, value: v };
    }
    case 'pointer':
      if (k === 'nil') return { ok: true, value: null };
      return k === 'struct' || k === 'map' ? { ok: true, value: v } : wrong;
    case 'struct':
      return k === 'struct' || k === 'map' ? { ok: true, value: v } : wrong;
  }
}

// ---- comparison ----

type BasicKind = 'bool' | 'int' | 'float' | 'string' | 'invalid';

function basicKind(v: unknown): BasicKind {
  switch (kindOf(v)) {
    case 'bool': return 'bool';
    case 'int': return 'int';
    case 'float': return 'float';
    case 'string': return 'string';
    default: return 'invalid';
  }
}

const errBadComparisonType = 'invalid type for comparison';
const errBadComparison = 'incompatible types for comparison';
const errNoComparison = 'missing argument for comparison';

function deref(v: unknown): unknown {
  return v === null ? undefined : v;
}

export function eq(arg1: unknown, ...arg2: unknown[]): boolean {
  arg1 = deref(arg1);
  if (arg2.length === 0) throw new FuncError(errNoComparison);
  const k1 = basicKind(arg1);
  for (let arg of arg2) {
    arg = deref(arg);
    const k2 = basicKind(arg);
    let t = false;
    if (k1 !== k2) {
      if (arg1 !== undefined && arg !== undefined) throw new FuncError(errBadComparison);
    } else if (k1 !== 'invalid') {
      t = arg1 === arg;
    } else {
      const ka = kindOf(arg1), kb = kindOf(arg);
      if (ka !== kb && ka !== 'invalid' && kb !== 'invalid') {
        throw new FuncError(`non-comparable types ${sprintf('%s', arg1)}: ${typeName(arg1)}, ${typeName(arg)}: ${sprint(arg)}`);
      }
      if (arg1 === undefined || arg === undefined) t = arg1 === arg;
      else if (kb === 'map' || kb === 'slice' || kb === 'func') {
        throw new FuncError(`non-comparable type ${sprintf('%s', arg)}: ${typeName(arg)}`);
      } else t = structEqual(arg1, arg);
    }
    if (t) return true;
  }
  return false;
}

function structEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!isStruct(a) || !isStruct(b) || typeName(a) !== typeName(b)) return false;
  const fa = structFields(a), fb = structFields(b);
  return fa.length === fb.length && fa.every(([k, v], i) => fb[i][0] === k && (v === fb[i][1] || structEqual(v, fb[i][1])));
}

export function lt(a: unknown, b: unknown): boolean {
  a = deref(a); b = deref(b);
  const k1 = basicKind(a), k2 = basicKind(b);
  if (k1 === 'invalid' || k2 === 'invalid') throw new FuncError(errBadComparisonType);
  if (k1 !== k2) throw new FuncError(errBadComparison);
  if (k1 === 'bool') throw new FuncError(errBadComparisonType);
  if (k1 === 'string') return Buffer.compare(Buffer.from(a as string), Buffer.from(b as string)) < 0;
  return (a as number) < (b as number);
}

export function le(a: unknown, b: unknown): boolean {
  return lt(a, b) || eq(a, b);
}

// ---- index / slice / len ----

function indexArg(index: unknown, cap: number): number {
  index = deref(index);
  if (index === undefined) throw new FuncError('cannot index slice/array with nil');
  if (typeof index !== 'bigint') throw new FuncError(`cannot index slice/array with type ${typeName(index)}`);
  if (index < 0n || index > BigInt(cap)) throw new FuncError(`index out of range: ${index}`);
  return Number(index);
}

export function index(item: unknown, ...indexes: unknown[]): unknown {
  item = deref(item);
  if (item === undefined) throw new FuncError('index of untyped nil');
  for (let idx of indexes) {
    idx = deref(idx);
    if (item === null || item === undefined) throw new FuncError('index of nil pointer');
    const k = kindOf(item);
    if (k === 'slice' || k === 'string') {
      if (k === 'string') {
        const bytes = Buffer.from(item as string, 'utf8');
        const x = indexArg(idx, bytes.length);
        if (x >= bytes.length) throw new FuncError('reflect: string index out of range');
        item = BigInt(bytes[x]);
      } else {
        const arr = item as unknown[];
        const x = indexArg(idx, arr.length);
        if (x >= arr.length) throw new FuncError('reflect: slice index out of range');
        item = arr[x];
        if (item === undefined) item = null;
      }
    } else if (k === 'map') {
      const m = item as Record<string, unknown>;
      if (!(m instanceof Map)) {
        if (idx === undefined) throw new FuncError('value is nil; should be of type string');
        if (typeof idx !== 'string') throw new FuncError(`value has type ${typeName(idx)}; should be string`);
      }
      item = mapHas(m, idx) ? mapGet(m, idx) : zeroOf(elemTypeOfMap(m));
      if (item === undefined) item = null;
    } else {
      throw new FuncError(`can't index item of type ${typeName(item)}`);
    }
  }
  return item;
}

export function goSliceFn(item: unknown, ...indexes: unknown[]): unknown {
  item = deref(item);
  if (item === undefined) throw new FuncError('slice of untyped nil');
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`);
  const k = kindOf(item);
  let len: number;
  if (k === 'string') {
    if (indexes.length === 3) throw new FuncError('cannot 3-index slice a string');
    len = byteLength(item as string);
  } else if (k === 'slice') len = (item as unknown[]).length;
  else throw new FuncError(`can't slice item of type ${typeName(item)}`);
  const idx = [0, len, len];
  indexes.forEach((x, i) => { idx[i] = indexArg(x, len); });
  if (idx[0] > idx[1]) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1] > idx[2]) throw new FuncError(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (k === 'string') return Buffer.from(item as string, 'utf8').subarray(idx[0], idx[1]).toString('utf8');
  const out = (item as unknown[]).slice(idx[0], idx[1]);
  const tag = (item as { [GO_TYPE]?: unknown })[GO_TYPE];
  if (tag) Object.defineProperty(out, GO_TYPE, { value: tag, enumerable: false, configurable: true, writable: true });
  return out;
}

export function length(item: unknown): bigint {
  if (item === undefined) throw new FuncError('reflect: call of reflect.Value.Type on zero Value');
  if (item === null) throw new FuncError('len of nil pointer');
  switch (kindOf(item)) {
    case 'string': return BigInt(byteLength(item as string));
    case 'slice': return BigInt((item as unknown[]).length);
    case 'map': return BigInt(item instanceof Map ? item.size : Object.keys(item as object).length);
  }
  throw new FuncError(`len of type ${typeName(item)}`);
}

// ---- escaping ----

function printable(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(...args.map(a => (a === undefined ? null : a)));
}

export function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, c => ({ '\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' }[c]!));
}

const jsUnprintable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

export function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '\\': out += '\\\\'; continue;
      case "'": out += "\\'"; continue;
      case '"': out += '\\"'; continue;
      case '<': out += '\\u003C'; continue;
      case '>': out += '\\u003E'; continue;
      case '&': out += '\\u0026'; continue;
      case '=': out += '\\u003D'; continue;
    }
    if (cp < 0x20) out += '\\u00' + cp.toString(16).toUpperCase().padStart(2, '0');
    else if (cp < 0x80 || jsUnprintable.test(ch)) out += ch;
    else out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

/** url.QueryEscape */
export function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function call(fn: unknown, ...args: unknown[]): unknown {
  fn = deref(fn);
  if (fn === undefined) throw new FuncError('call of nil');
  if (typeof fn !== 'function') throw new FuncError(`non-function of type ${typeName(fn)}`);
  return (fn as Fn)(...args);
}

/** The names `and` and `or` are evaluated lazily by the executor; these are their signatures. */
export const AND_OR = new Set(['and', 'or']);

export function builtinFuncs(): Record<string, FuncDef> {
  const R = 'reflect.Value', A = 'interface {}';
  return {
    and: def([R], () => undefined, R),
    or: def([R], () => undefined, R),
    not: def([R], (a: unknown) => !truth(a)),
    call: def([R], call, R),
    html: def([], (...a: unknown[]) => htmlEscape(printable(a)), A),
    js: def([], (...a: unknown[]) => jsEscape(printable(a)), A),
    urlquery: def([], (...a: unknown[]) => queryEscape(printable(a)), A),
    index: def([R], index, R),
    slice: def([R], goSliceFn, R),
    len: def([R], length),
    print: def([], sprint, A),
    printf: def(['string'], sprintf, A),
    println: def([], sprintln, A),
    eq: def([R], eq, R),
    ne: def([R, R], (a: unknown, b: unknown) => !eq(a, b)),
    lt: def([R, R], lt),
    le: def([R, R], le),
    gt: def([R, R], (a: unknown, b: unknown) => !le(a, b)),
    ge: def([R, R], (a: unknown, b: unknown) => !lt(a, b)),
  };
}

