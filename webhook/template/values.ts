// The Go value model the template engine works on.
//
// Templates see JavaScript values; each is read as the Go value a Go program decoding the same
// data would hold:
//   undefined          -> the invalid reflect.Value ("no value": a missing map key, an unset variable)
//   null               -> a nil interface{} (a JSON/YAML null)
//   boolean            -> bool
//   string             -> string
//   number             -> float64 (what encoding/json and sigs.k8s.io/yaml give for every number;
//                         Istio's `.Values` are decoded that way)
//   bigint             -> int (Go's int, int32, int64 all behave the same in templates)
//   Array              -> []interface{} (or a typed slice, see goSlice)
//   plain object, Map  -> map[string]interface{} (or a typed map, see goMap)
//   goStruct(...) or an instance of a class -> a struct: its properties are fields, its function
//                         properties are methods (called with arguments like Go methods)
//   function           -> a func value (only `call` can invoke it)

export const GO_TYPE: unique symbol = Symbol.for('isthmus.gotemplate.type');

export type Kind =
  | 'invalid' | 'nil' | 'bool' | 'int' | 'float' | 'string'
  | 'slice' | 'map' | 'struct' | 'func';

interface TypeTag { kind: 'struct' | 'map' | 'slice'; name: string; nil?: boolean }

function tagOf(v: object): TypeTag | undefined {
  return (v as { [GO_TYPE]?: TypeTag })[GO_TYPE];
}

function setTag<T extends object>(v: T, tag: TypeTag): T {
  Object.defineProperty(v, GO_TYPE, { value: tag, enumerable: false, configurable: true, writable: true });
  return v;
}

/** Marks an object as a Go struct named `typeName` (e.g. `v1.ObjectMeta`, `*v1alpha1.ProxyConfig`). */
export function goStruct<T extends object>(typeName: string, fields: T): T {
  return setTag(fields, { kind: 'struct', name: typeName });
}

/**
 * A typed nil pointer (`(*v1alpha1.Tracing)(nil)`): false in conditions, prints `<nil>`, its methods
 * can still be called (protobuf getters are nil-safe), reading a field is Go's nil-pointer error.
 */
export function goNil<T extends object>(typeName: string, methods: T = {} as T): T {
  return setTag(methods, { kind: 'struct', name: typeName, nil: true });
}

/** Whether `v` is a typed nil pointer made by goNil. */
export function isNilPointer(v: unknown): boolean {
  return typeof v === 'object' && v !== null && tagOf(v)?.nil === true;
}

/** Marks an object as a typed Go map, e.g. `map[string]string` (Kubernetes labels/annotations). */
export function goMap<T extends object>(obj: T, typeName = 'map[string]string'): T {
  return setTag(obj, { kind: 'map', name: typeName });
}

/** Marks an array as a typed Go slice, e.g. `[]string`, `[]int`, `[]v1.Container`. */
export function goSlice<T extends unknown[]>(arr: T, typeName = '[]string'): T {
  return setTag(arr, { kind: 'slice', name: typeName });
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function isStruct(v: unknown): v is object {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Map) return false;
  const tag = tagOf(v);
  if (tag) return tag.kind === 'struct';
  return !isPlainObject(v);
}

export function isMap(v: unknown): v is Record<string, unknown> | Map<unknown, unknown> {
  if (v instanceof Map) return true;
  if (!isPlainObject(v)) return false;
  const tag = tagOf(v);
  return !tag || tag.kind === 'map';
}

export function kindOf(v: unknown): Kind {
  switch (typeof v) {
    case 'undefined': return 'invalid';
    case 'boolean': return 'bool';
    case 'string': return 'string';
    case 'number': return 'float';
    case 'bigint': return 'int';
    case 'function': return 'func';
    case 'object':
      if (v === null) return 'nil';
      if (Array.isArray(v)) return 'slice';
      if (isStruct(v)) return 'struct';
      return 'map';
    default: return 'invalid';
  }
}

/** The Go type name of a value, as `%T` prints it. */
export function typeName(v: unknown): string {
  switch (kindOf(v)) {
    case 'invalid': case 'nil': return '<nil>';
    case 'bool': return 'bool';
    case 'string': return 'string';
    case 'float': return 'float64';
    case 'int': return 'int';
    case 'func': return 'func(...) interface {}';
    case 'slice': return tagOf(v as object)?.name ?? '[]interface {}';
    case 'map': return tagOf(v as object)?.name ?? 'map[string]interface {}';
    case 'struct': {
      const tag = tagOf(v as object);
      if (tag) return tag.name;
      const ctor = (v as { constructor?: { name?: string } }).constructor;
      return ctor?.name ? `main.${ctor.name}` : 'struct {}';
    }
  }
}

/** The static type of a variable holding `v` when it comes out of a map[string]interface{} etc. */
export function elemTypeOfMap(m: unknown): string {
  const name = typeName(m);
  const i = name.indexOf(']');
  return name.startsWith('map[') && i > 0 ? name.slice(i + 1) : 'interface {}';
}

export function elemTypeOfSlice(s: unknown): string {
  const name = typeName(s);
  return name.startsWith('[]') ? name.slice(2) : 'interface {}';
}

/** The zero value of a Go type given by name (only the shapes this engine models). */
export function zeroOf(type: string): unknown {
  if (type === 'string') return '';
  if (type === 'bool') return false;
  if (/^u?int(8|16|32|64)?$/.test(type)) return 0n;
  if (type === 'float64' || type === 'float32') return 0;
  return null; // interfaces, maps, slices, pointers: nil
}

// ---- maps ----

export function mapKeys(m: Record<string, unknown> | Map<unknown, unknown>): unknown[] {
  return m instanceof Map ? [...m.keys()] : Object.keys(m);
}

export function mapHas(m: Record<string, unknown> | Map<unknown, unknown>, key: unknown): boolean {
  if (m instanceof Map) return m.has(key);
  return typeof key === 'string' && Object.prototype.hasOwnProperty.call(m, key);
}

export function mapGet(m: Record<string, unknown> | Map<unknown, unknown>, key: unknown): unknown {
  if (m instanceof Map) return m.get(key);
  return typeof key === 'string' && Object.prototype.hasOwnProperty.call(m, key) ? m[key] : undefined;
}

export function mapLen(m: Record<string, unknown> | Map<unknown, unknown>): number {
  return m instanceof Map ? m.size : Object.keys(m).length;
}

/** Compares map keys the way Go's fmtsort does (numbers numerically, strings bytewise, ...). */
export function compareKeys(a: unknown, b: unknown): number {
  const ka = kindOf(a), kb = kindOf(b);
  if ((ka === 'int' || ka === 'float') && (kb === 'int' || kb === 'float')) {
    const x = a as number | bigint, y = b as number | bigint;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (ka === 'string' && kb === 'string') return compareBytes(a as string, b as string);
  if (ka === 'bool' && kb === 'bool') return a === b ? 0 : a ? 1 : -1;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Bytewise (UTF-8) comparison of two strings, Go's string ordering. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!, y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

export function sortedEntries(m: Record<string, unknown> | Map<unknown, unknown>): [unknown, unknown][] {
  const entries: [unknown, unknown][] = m instanceof Map ? [...m.entries()] : Object.entries(m);
  return entries.sort((x, y) => compareKeys(x[0], y[0]));
}

// ---- structs ----

const objectProtoKeys = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Whether a struct has the field or method `name`. */
export function structHas(s: object, name: string): boolean {
  return name in s && !(objectProtoKeys.has(name) && !Object.prototype.hasOwnProperty.call(s, name));
}

/** The fields of a struct in declaration order (functions are methods, not fields). */
export function structFields(s: object): [string, unknown][] {
  return Object.entries(s).filter(([, v]) => typeof v !== 'function');
}

/** A method of a value, if it has one (only structs carry methods). */
export function methodOf(v: unknown, name: string): ((...args: unknown[]) => unknown) | undefined {
  if (!isStruct(v)) return undefined;
  if (!structHas(v, name)) return undefined;
  const f = (v as Record<string, unknown>)[name];
  return typeof f === 'function' ? (f as (...args: unknown[]) => unknown).bind(v) : undefined;
}

// ---- truth and emptiness ----

/** Go's template truth: false for the zero value of the type, [truth, ok]. */
export function isTrue(v: unknown): [boolean, boolean] {
  switch (kindOf(v)) {
    case 'invalid': case 'nil': return [false, true];
    case 'bool': return [v as boolean, true];
    case 'string': return [(v as string).length > 0, true];
    case 'int': return [(v as bigint) !== 0n, true];
    case 'float': return [(v as number) !== 0, true];
    case 'slice': return [(v as unknown[]).length > 0, true];
    case 'map': return [mapLen(v as Record<string, unknown>) > 0, true];
    case 'struct': return [!isNilPointer(v), true];
    case 'func': return [true, true];
  }
}

export function truth(v: unknown): boolean {
  return isTrue(v)[0];
}

/** UTF-8 length of a string (Go's len). */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export function isInt(v: unknown): v is bigint {
  return typeof v === 'bigint';
}

/** Converts a Go int (bigint) to a JS number index, checking range. */
export function toIndex(v: bigint): number {
  return Number(v);
}
