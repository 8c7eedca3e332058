// A small schema language for Istio/Kubernetes resources in their proto-JSON form.
//
// One schema per kind is the single source of truth: it parses untyped YAML into typed values
// (reporting unknown fields, wrong types and invalid values with their path), it yields the
// TypeScript type through `Infer`, and it can describe itself as OpenAPI for generated CRDs.

export type PathSegment = string | number;
export interface Issue {
  path: PathSegment[];
  message: string;
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export type OpenApi = Record<string, unknown>;

export interface Ctx {
  issues: Issue[];
  path: PathSegment[];
}

export abstract class Schema<T> {
  declare readonly _type: T;
  description?: string;
  /** Returns the parsed value, or undefined after recording at least one issue. */
  abstract parse(value: unknown, ctx: Ctx): T | undefined;
  abstract openapi(): OpenApi;

  describe(text: string): this {
    this.description = text;
    return this;
  }

  /** Adds a value check run after a successful structural parse. */
  refine(check: (value: T) => string | undefined): Schema<T> {
    return new Refined(this, check);
  }
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

function fail(ctx: Ctx, message: string): undefined {
  ctx.issues.push({ path: [...ctx.path], message });
  return undefined;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

class Refined<T> extends Schema<T> {
  constructor(private readonly inner: Schema<T>, private readonly check: (value: T) => string | undefined) {
    super();
  }
  parse(value: unknown, ctx: Ctx): T | undefined {
    const parsed = this.inner.parse(value, ctx);
    if (parsed === undefined) return undefined;
    const problem = this.check(parsed);
    return problem ? fail(ctx, problem) : parsed;
  }
  openapi(): OpenApi {
    return this.inner.openapi();
  }
}

class StringSchema extends Schema<string> {
  parse(value: unknown, ctx: Ctx): string | undefined {
    return typeof value === 'string' ? value : fail(ctx, `expected string, got ${typeName(value)}`);
  }
  openapi(): OpenApi {
    return { type: 'string' };
  }
}

class BoolSchema extends Schema<boolean> {
  parse(value: unknown, ctx: Ctx): boolean | undefined {
    return typeof value === 'boolean' ? value : fail(ctx, `expected boolean, got ${typeName(value)}`);
  }
  openapi(): OpenApi {
    return { type: 'boolean' };
  }
}

interface IntRange {
  min: number;
  max: number;
  format: string;
}

class IntSchema extends Schema<number> {
  constructor(private readonly range: IntRange) {
    super();
  }
  parse(value: unknown, ctx: Ctx): number | undefined {
    // proto-JSON accepts integers as numbers or as decimal strings.
    let n = value;
    if (typeof value === 'string' && /^-?\d+$/.test(value)) n = Number(value);
    if (typeof n !== 'number' || !Number.isInteger(n)) return fail(ctx, `expected integer, got ${typeName(value)}`);
    if (n < this.range.min || n > this.range.max) {
      return fail(ctx, `value ${n} is out of range for ${this.range.format} (${this.range.min}..${this.range.max})`);
    }
    return n;
  }
  openapi(): OpenApi {
    const api: OpenApi = { type: 'integer', format: this.range.format };
    if (this.range.min === 0) api.minimum = 0;
    return api;
  }
}

class NumberSchema extends Schema<number> {
  parse(value: unknown, ctx: Ctx): number | undefined {
    return typeof value === 'number' && Number.isFinite(value) ? value : fail(ctx, `expected number, got ${typeName(value)}`);
  }
  openapi(): OpenApi {
    return { type: 'number', format: 'double' };
  }
}

class EnumSchema<E extends string> extends Schema<E> {
  constructor(readonly values: readonly E[]) {
    super();
  }
  parse(value: unknown, ctx: Ctx): E | undefined {
    if (typeof value === 'string' && (this.values as readonly string[]).includes(value)) return value as E;
    return fail(ctx, `invalid value ${JSON.stringify(value)}, expected one of ${this.values.join(', ')}`);
  }
  openapi(): OpenApi {
    return { type: 'string', enum: [...this.values] };
  }
}

/** Go duration syntax (what Istio users write: "1s", "500ms", "1h30m"), kept as milliseconds. */
export interface Duration {
  text: string;
  seconds: number;
}

const DURATION_UNITS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };

export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    consumed = re.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? total : undefined;
}

class DurationSchema extends Schema<Duration> {
  parse(value: unknown, ctx: Ctx): Duration | undefined {
    if (typeof value !== 'string') return fail(ctx, `expected duration string, got ${typeName(value)}`);
    const seconds = parseDuration(value);
    if (seconds === undefined) return fail(ctx, `invalid duration ${JSON.stringify(value)}`);
    return { text: value, seconds };
  }
  openapi(): OpenApi {
    return { type: 'string' };
  }
}

class ListSchema<T> extends Schema<T[]> {
  constructor(private readonly item: Schema<T>) {
    super();
  }
  parse(value: unknown, ctx: Ctx): T[] | undefined {
    if (value === null) return [];
    if (!Array.isArray(value)) return fail(ctx, `expected list, got ${typeName(value)}`);
    const out: T[] = [];
    let ok = true;
    value.forEach((v, i) => {
      ctx.path.push(i);
      const parsed = this.item.parse(v, ctx);
      ctx.path.pop();
      if (parsed === undefined) ok = false;
      else out.push(parsed);
    });
    return ok ? out : undefined;
  }
  openapi(): OpenApi {
    return { type: 'array', items: this.item.openapi() };
  }
}

class MapSchema<T> extends Schema<Record<string, T>> {
  constructor(private readonly value: Schema<T>) {
    super();
  }
  parse(value: unknown, ctx: Ctx): Record<string, T> | undefined {
    if (value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) return fail(ctx, `expected map, got ${typeName(value)}`);
    const out: Record<string, T> = {};
    let ok = true;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      ctx.path.push(k);
      const parsed = this.value.parse(v, ctx);
      ctx.path.pop();
      if (parsed === undefined) ok = false;
      else out[k] = parsed;
    }
    return ok ? out : undefined;
  }
  openapi(): OpenApi {
    return { type: 'object', additionalProperties: this.value.openapi() };
  }
}

/** google.protobuf.Struct / Value: any JSON. */
class AnyJsonSchema extends Schema<unknown> {
  parse(value: unknown): unknown {
    return value;
  }
  openapi(): OpenApi {
    return { 'x-kubernetes-preserve-unknown-fields': true };
  }
}

type Fields = Record<string, Schema<unknown>>;
export type ObjectOf<F extends Fields> = { [K in keyof F]?: Infer<F[K]> };

export interface ObjectOptions {
  /** Groups of fields of which at most one may be set (a proto oneof). */
  oneOf?: string[][];
  /** Fields that must be present. */
  required?: string[];
  /** Kubernetes objects carry many fields Isthmus does not read: keep unknown fields silently. */
  allowUnknown?: boolean;
}

function snakeToCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export class ObjectSchema<F extends Fields> extends Schema<ObjectOf<F>> {
  constructor(readonly fields: F, readonly options: ObjectOptions = {}) {
    super();
  }
  parse(value: unknown, ctx: Ctx): ObjectOf<F> | undefined {
    if (value === null) return {} as ObjectOf<F>;
    if (typeof value !== 'object' || Array.isArray(value)) return fail(ctx, `expected object, got ${typeName(value)}`);
    const out: Record<string, unknown> = {};
    let ok = true;
    for (const [rawKey, v] of Object.entries(value as Record<string, unknown>)) {
      // proto-JSON accepts the original snake_case field names as well as lowerCamelCase.
      const key = rawKey in this.fields ? rawKey : snakeToCamel(rawKey);
      const field = this.fields[key];
      ctx.path.push(rawKey);
      if (!field) {
        if (!this.options.allowUnknown) {
          fail(ctx, `unknown field "${rawKey}"`);
          ok = false;
        }
      } else if (v !== null || field instanceof AnyJsonSchema) {
        const parsed = field.parse(v, ctx);
        if (parsed === undefined && !(field instanceof AnyJsonSchema)) ok = false;
        else out[key] = parsed;
      }
      ctx.path.pop();
    }
    for (const group of this.options.oneOf ?? []) {
      const set = group.filter((f) => out[f] !== undefined);
      if (set.length > 1) {
        fail(ctx, `only one of ${group.join(', ')} may be set (got ${set.join(', ')})`);
        ok = false;
      }
    }
    for (const req of this.options.required ?? []) {
      if (out[req] === undefined) {
        ctx.path.push(req);
        fail(ctx, 'required field is missing');
        ctx.path.pop();
        ok = false;
      }
    }
    return ok ? (out as ObjectOf<F>) : undefined;
  }
  openapi(): OpenApi {
    const properties: Record<string, OpenApi> = {};
    for (const [k, s] of Object.entries(this.fields)) {
      properties[k] = s.description ? { ...s.openapi(), description: s.description } : s.openapi();
    }
    const api: OpenApi = { type: 'object', properties };
    if (this.options.required?.length) api.required = [...this.options.required];
    if (this.options.allowUnknown) api['x-kubernetes-preserve-unknown-fields'] = true;
    return api;
  }
}

/** Kubernetes IntOrString (Service targetPort). */
class IntOrStringSchema extends Schema<number | string> {
  parse(value: unknown, ctx: Ctx): number | string | undefined {
    if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) return value;
    return fail(ctx, `expected integer or string, got ${typeName(value)}`);
  }
  openapi(): OpenApi {
    return { 'x-kubernetes-int-or-string': true };
  }
}

class LazySchema<T> extends Schema<T> {
  private resolved?: Schema<T>;
  constructor(private readonly get: () => Schema<T>) {
    super();
  }
  private get inner(): Schema<T> {
    return (this.resolved ??= this.get());
  }
  parse(value: unknown, ctx: Ctx): T | undefined {
    return this.inner.parse(value, ctx);
  }
  openapi(): OpenApi {
    return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  }
}

export const s = {
  string: () => new StringSchema(),
  bool: () => new BoolSchema(),
  int32: () => new IntSchema({ min: -2147483648, max: 2147483647, format: 'int32' }),
  uint32: () => new IntSchema({ min: 0, max: 4294967295, format: 'uint32' }),
  int64: () => new IntSchema({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, format: 'int64' }),
  uint64: () => new IntSchema({ min: 0, max: Number.MAX_SAFE_INTEGER, format: 'uint64' }),
  double: () => new NumberSchema(),
  enum: <E extends string>(...values: E[]) => new EnumSchema<E>(values),
  duration: () => new DurationSchema(),
  list: <T>(item: Schema<T>) => new ListSchema<T>(item),
  map: <T>(value: Schema<T>) => new MapSchema<T>(value),
  object: <F extends Fields>(fields: F, options?: ObjectOptions) => new ObjectSchema<F>(fields, options),
  json: () => new AnyJsonSchema(),
  intOrString: () => new IntOrStringSchema(),
  lazy: <T>(get: () => Schema<T>) => new LazySchema<T>(get),
};

/** Parses `value` with `schema`; returns the value or the issues found. */
export function parseWith<T>(schema: Schema<T>, value: unknown, path: PathSegment[] = []): { value?: T; issues: Issue[] } {
  const ctx: Ctx = { issues: [], path: [...path] };
  const parsed = schema.parse(value, ctx);
  if (parsed === undefined && ctx.issues.length === 0) ctx.issues.push({ path, message: 'invalid value' });
  return parsed === undefined ? { issues: ctx.issues } : { value: parsed, issues: ctx.issues };
}
