// Kubernetes objects as Go sees them. Istio decodes every object into its Go type and encodes it
// back, so what injection emits is what Go's encoding/json makes of it: unknown fields dropped,
// omitempty zero values dropped, non-pointer structs always present (`resources: {}`,
// `status: {}`), quantities canonical. This module reproduces that round trip from the field
// tables in gen/k8s-types.ts, gives strategic-merge-patch metadata for each field, and builds the
// Go-struct views injection templates read (`.Spec.Containers`, `$c.Ports`...).

import { goMap, goSlice, goStruct } from '../../template/index.js';
import { K8S_STRUCTS } from '../gen/k8s-types.js';
import { OPENSHIFT_STRUCTS } from './openshift.js';
import { canonicalQuantity, QuantityError } from './quantity.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface Field {
  go: string;
  json: string;
  type: string;
  omitempty: boolean;
  omitzero: boolean;
  inline: boolean;
  strategies: string[];
  mergeKey: string;
}

export interface StructDef {
  name: string;
  /** The Go type name without its package (for error messages). */
  short: string;
  fields: Field[];
  /** Fields with embedded (inline) structs expanded in place, as encoding/json sees them. */
  flat: Field[];
  byJson: Map<string, number>;
  byFold: Map<string, number>;
}

const EXTRA_STRUCTS: Record<string, readonly (readonly string[])[]> = {
  'meta.ListMeta': [
    ['SelfLink', 'selfLink', 'string', 'o'],
    ['ResourceVersion', 'resourceVersion', 'string', 'o'],
    ['Continue', 'continue', 'string', 'o'],
    ['RemainingItemCount', 'remainingItemCount', '*int64', 'o'],
  ],
};

const TABLES = { ...K8S_STRUCTS, ...OPENSHIFT_STRUCTS, ...EXTRA_STRUCTS };
const structs = new Map<string, StructDef>();

export function structDef(name: string): StructDef | undefined {
  const cached = structs.get(name);
  if (cached) return cached;
  const table = TABLES[name];
  if (!table) return undefined;
  const fields: Field[] = table.map(([go, json, type, flags = '', ps = '', pk = '']) => ({
    go, json, type,
    omitempty: flags.includes('o'), omitzero: flags.includes('z'), inline: flags.includes('i'),
    strategies: ps ? ps.split(',') : [], mergeKey: pk,
  }));
  const def: StructDef = { name, short: name.split('.').pop() ?? name, fields, flat: [], byJson: new Map(), byFold: new Map() };
  structs.set(name, def);
  for (const f of fields) {
    if (f.inline) def.flat.push(...(structDef(f.type)?.flat ?? []));
    else def.flat.push(f);
  }
  def.flat.forEach((f, i) => {
    if (!def.byJson.has(f.json)) def.byJson.set(f.json, i);
    const fold = f.json.toLowerCase();
    if (!def.byFold.has(fold)) def.byFold.set(fold, i);
  });
  return def;
}

/** The Go type name (`%T`) of a table type: `v1.Container`, `*v1.Probe`, `[]v1.EnvVar`. */
export function goTypeName(type: string): string {
  if (type.startsWith('*')) return '*' + goTypeName(type.slice(1));
  if (type.startsWith('[]')) return '[]' + goTypeName(type.slice(2));
  if (type.startsWith('map[')) return 'map[string]' + goTypeName(type.slice(4, -1));
  switch (type) {
    case 'Quantity': return 'resource.Quantity';
    case 'IntOrString': return 'intstr.IntOrString';
    case 'Time': return 'v1.Time';
    case 'Duration': return 'v1.Duration';
    case 'Raw': case 'Any': return 'interface {}';
    case 'bytes': return '[]uint8';
  }
  const dot = type.indexOf('.');
  return dot > 0 ? 'v1.' + type.slice(dot + 1) : type;
}

export class DecodeError extends Error {}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'number') return `number ${numberString(v)}`;
  return typeof v;
}

function numberString(n: number): string {
  return Number.isInteger(n) ? String(n) : String(n);
}

interface Ctx {
  keepUnknown: boolean;
  path: string[];
  struct: string;
}

function fail(ctx: Ctx, v: unknown, type: string): never {
  const kind = jsonKind(v).replace(/^number .*/, typeof v === 'number' && !Number.isInteger(v) ? `number ${v}` : 'number');
  const where = ctx.path.length ? `Go struct field ${ctx.struct}.${ctx.path.join('.')}` : 'Go value';
  throw new DecodeError(`json: cannot unmarshal ${kind} into ${where} of type ${goTypeName(type)}`);
}

const INT_RANGE: Record<string, [number, number]> = {
  int32: [-2147483648, 2147483647], uint32: [0, 4294967295], int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Go's json.Unmarshal into `type` followed by json.Marshal: returns the JSON Go would emit for a
 * field of this type holding `v` (`undefined`: the field was absent). Throws DecodeError with
 * Go's message when `v` has the wrong shape.
 */
export function roundTrip(type: string, v: unknown, opts: { keepUnknown?: boolean } = {}): Json {
  const name = type.replace(/^[*[\]]+/, '').split('.').pop() ?? type;
  return rt(type, v, { keepUnknown: opts.keepUnknown ?? false, path: [], struct: name });
}

function rt(type: string, v: unknown, ctx: Ctx): Json {
  if (type.startsWith('*')) {
    if (v === undefined || v === null) return null;
    return rt(type.slice(1), v, ctx);
  }
  if (type.startsWith('[]')) {
    if (v === undefined || v === null) return null;
    if (!Array.isArray(v)) fail(ctx, v, type);
    const elem = type.slice(2);
    return v.map(x => rt(elem, x, ctx));
  }
  if (type.startsWith('map[')) {
    if (v === undefined || v === null) return null;
    if (!isObject(v)) fail(ctx, v, type);
    const elem = type.slice(4, -1) || 'string';
    const out: JsonObject = {};
    for (const k of Object.keys(v).sort()) out[k] = rt(elem, v[k], ctx);
    return out;
  }
  switch (type) {
    case 'string':
      if (v === undefined || v === null) return '';
      // sigs.k8s.io/yaml turns YAML scalars that parsed as bool/number back into text for string fields
      if (typeof v === 'boolean') return String(v);
      if (typeof v === 'number') return String(v);
      if (typeof v !== 'string') fail(ctx, v, type);
      return v;
    case 'bool':
      if (v === undefined || v === null) return false;
      if (typeof v !== 'boolean') fail(ctx, v, type);
      return v;
    case 'int32': case 'int64': case 'uint32': case 'uint64': {
      if (v === undefined || v === null) return 0;
      if (typeof v !== 'number') fail(ctx, v, type);
      const [lo, hi] = INT_RANGE[type] ?? INT_RANGE.int64;
      if (!Number.isInteger(v) || v < lo || v > hi) fail(ctx, v, type);
      return v;
    }
    case 'float64':
      if (v === undefined || v === null) return 0;
      if (typeof v !== 'number') fail(ctx, v, type);
      return v;
    case 'bytes':
      if (v === undefined || v === null) return null;
      if (typeof v !== 'string') fail(ctx, v, type);
      return v;
    case 'Quantity':
      if (v === undefined || v === null) return '0';
      if (typeof v !== 'string' && typeof v !== 'number') fail(ctx, v, type);
      try {
        return canonicalQuantity(v);
      } catch (e) {
        if (e instanceof QuantityError) throw new DecodeError(e.message);
        throw e;
      }
    case 'IntOrString':
      if (v === undefined || v === null) return 0;
      if (typeof v === 'string') return v;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) fail(ctx, v, type);
      return v;
    case 'Time': case 'Duration':
      if (v === undefined || v === null) return null;
      if (typeof v !== 'string') fail(ctx, v, type);
      return v;
    case 'Raw': case 'Any':
      return v === undefined ? null : (v as Json);
  }
  const def = structDef(type);
  if (!def) return v === undefined ? null : (v as Json);
  if (v !== undefined && v !== null && !isObject(v)) fail(ctx, v, type);
  return rtStruct(def, (v ?? {}) as Record<string, unknown>, ctx);
}

function rtStruct(def: StructDef, obj: Record<string, unknown>, ctx: Ctx): JsonObject {
  const values: unknown[] = new Array(def.flat.length);
  const unknown: [string, unknown][] = [];
  for (const [k, x] of Object.entries(obj)) {
    const i = def.byJson.get(k) ?? def.byFold.get(k.toLowerCase());
    if (i === undefined) unknown.push([k, x]);
    else values[i] = x;
  }
  const out: JsonObject = {};
  const outer = ctx.struct;
  ctx.struct = def.short;
  const flat = def.flat;
  for (let i = 0; i < flat.length; i++) {
    const f = flat[i];
    ctx.path.push(f.json);
    const val = rt(f.type, values[i], ctx);
    ctx.path.pop();
    if (f.omitzero && isZero(f.type, val)) continue;
    if (f.omitempty && isEmpty(f.type, val)) continue;
    out[f.json] = val;
  }
  ctx.struct = outer;
  if (ctx.keepUnknown) for (const [k, x] of unknown) if (x !== undefined) out[k] = x as Json;
  return out;
}

/** encoding/json's omitempty test on an encoded value of `type`. */
export function isEmpty(type: string, v: Json): boolean {
  if (v === null) return true;
  if (type.startsWith('*')) return false;
  if (type.startsWith('[]')) return Array.isArray(v) && v.length === 0;
  if (type.startsWith('map[')) return isObject(v) && Object.keys(v).length === 0;
  switch (type) {
    case 'string': case 'bytes': return v === '';
    case 'bool': return v === false;
    case 'int32': case 'int64': case 'uint32': case 'uint64': case 'float64': return v === 0;
    case 'Raw': case 'Any': return false;
    default: return false; // structs (Quantity, IntOrString, Time too) are never empty
  }
}

function isZero(type: string, v: Json): boolean {
  if (type === 'Time') return v === null;
  if (structDef(type)) return isObject(v) && Object.entries(v).every(([, x]) => x === null || x === '' || x === 0 || x === false);
  return isEmpty(type, v);
}

// ---- strategic merge patch metadata ----

/** Schema position for strategic merge: a struct, a map (values of `elem`), or opaque. */
export type PatchSchema =
  | { kind: 'struct'; def: StructDef }
  | { kind: 'map'; elem: string }
  | { kind: 'opaque' };

export function patchSchema(type: string): PatchSchema {
  const t = type.replace(/^\*/, '');
  if (t.startsWith('map[')) return { kind: 'map', elem: t.slice(4, -1) };
  if (t.startsWith('[]')) return patchSchema(t.slice(2));
  const def = structDef(t);
  return def ? { kind: 'struct', def } : { kind: 'opaque' };
}

export interface PatchMeta {
  schema: PatchSchema;
  strategies: string[];
  mergeKey: string;
}

const OPAQUE: PatchMeta = { schema: { kind: 'opaque' }, strategies: [], mergeKey: '' };

/** LookupPatchMetadataForStruct / ForSlice: the field `key` of the struct (or map) at `schema`. */
export function lookupPatchMeta(schema: PatchSchema, key: string): PatchMeta {
  if (schema.kind === 'map') return { schema: patchSchema(schema.elem), strategies: [], mergeKey: '' };
  if (schema.kind !== 'struct') return OPAQUE;
  const i = schema.def.byJson.get(key);
  if (i === undefined) return OPAQUE;
  const f = schema.def.flat[i];
  return { schema: patchSchema(f.type), strategies: f.strategies, mergeKey: f.mergeKey };
}

// ---- Go views for templates ----

/** A Go struct view of an encoded value of `type`, the way injection templates see it. */
export function goView(type: string, v: Json | undefined): unknown {
  if (type.startsWith('*')) {
    if (v === undefined || v === null) return null;
    return goView(type.slice(1), v);
  }
  if (type.startsWith('[]')) {
    const elem = type.slice(2);
    const arr = Array.isArray(v) ? v.map(x => goView(elem, x)) : [];
    return goSlice(arr, goTypeName(type));
  }
  if (type.startsWith('map[')) {
    const elem = type.slice(4, -1) || 'string';
    const out: Record<string, unknown> = {};
    if (isObject(v)) for (const [k, x] of Object.entries(v)) out[k] = goView(elem, x);
    return goMap(out, goTypeName(type));
  }
  switch (type) {
    case 'string': return typeof v === 'string' ? v : '';
    case 'bool': return v === true;
    case 'int32': case 'int64': case 'uint32': case 'uint64': return BigInt(typeof v === 'number' ? Math.trunc(v) : 0);
    case 'float64': return typeof v === 'number' ? v : 0;
    case 'Quantity': {
      const s = typeof v === 'string' ? v : '0';
      return goStruct('resource.Quantity', { String: () => s, toJSON: () => s });
    }
    case 'IntOrString': {
      const isStr = typeof v === 'string';
      return goStruct('intstr.IntOrString', {
        Type: isStr ? 1n : 0n,
        IntVal: BigInt(isStr || typeof v !== 'number' ? 0 : v),
        StrVal: isStr ? v : '',
        String: () => (isStr ? v : String(v ?? 0)),
        toJSON: () => v ?? 0,
      });
    }
    case 'Time': case 'Duration': case 'Raw': case 'Any': case 'bytes':
      return v ?? null;
  }
  const def = structDef(type);
  if (!def) return v ?? null;
  const obj = isObject(v) ? v : {};
  const fields: Record<string, unknown> = {};
  for (const f of def.fields) {
    if (f.inline) {
      const embedded = goView(f.type, obj) as Record<string, unknown>;
      fields[f.go] = embedded;
      // promoted fields
      for (const [k, x] of Object.entries(embedded)) if (!(k in fields) && typeof x !== 'function') fields[k] = x;
    } else {
      fields[f.go] = goView(f.type, obj[f.json]);
    }
  }
  const json = obj;
  Object.defineProperty(fields, 'toJSON', { value: () => json, enumerable: true });
  return goStruct(goTypeName(type), fields);
}
