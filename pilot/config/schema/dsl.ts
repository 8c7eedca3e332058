// A small schema language for Istio/Kubernetes resources in their proto-JSON form.
//
// One schema per kind is the single source of truth: it parses untyped YAML into typed values
// (reporting unknown fields, wrong types and invalid values with their path), it yields the
// TypeScript type through `Infer`, and it can describe itself as OpenAPI for generated CRDs.
//
// Two kinds of findings come out of a parse:
//  - type issues (`issues`): the value cannot be read as the proto message at all (unknown
//    field, wrong JSON type, unknown enum value, bad duration, two members of a oneof). The
//    parse yields no value. Istio's webhook fails the same way when it converts the object.
//  - constraint issues (`constraints`): the value reads fine but breaks a rule of the CRD's
//    structural schema (minLength, pattern, maximum, required, CEL `x-kubernetes-validations`,
//    null where the schema is not nullable). The value is still returned; the API server (and
//    Isthmus' config loading) rejects the object before any webhook sees it.

export type PathSegment = string | number;
export type Severity = 'error' | 'warning';
export interface Issue {
  path: PathSegment[];
  message: string;
  /** Absent means `error`. A resource with only warnings is accepted. */
  severity?: Severity;
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
  /** CRD-level findings (see the header comment). */
  constraints: Issue[];
  path: PathSegment[];
}

/** Marks an object that was `null` in the input (Go: a nil message inside a list or map). */
const NULL_MARK: unique symbol = Symbol('null');

/** True when a message value was written as `null` (e.g. a map entry `tag: null`). */
export function isNullMessage(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[NULL_MARK] === true;
}

function nullMessage<T extends object>(v: T): T {
  Object.defineProperty(v, NULL_MARK, { value: true, enumerable: false });
  return v;
}

interface Constraint<T> {
  api: OpenApi;
  check(value: T): string | undefined;
}

/** A CEL rule of the CRD (`x-kubernetes-validations`), with its TypeScript implementation. */
export interface Rule<T> {
  message: string;
  /** The CEL expression for generated CRDs. */
  cel?: string;
  /** Returns true when the value satisfies the rule. */
  test(value: T): boolean;
}

export abstract class Schema<T> {
  declare readonly _type: T;
  description?: string;
  /** May be written as `null` (a proto wrapper or nullable field) without a CRD error. */
  nullable = false;
  protected readonly constraintList: Constraint<T>[] = [];
  protected readonly rules: Rule<T>[] = [];

  /** Reads the value; returns undefined after recording at least one type issue. */
  protected abstract read(value: unknown, ctx: Ctx): T | undefined;
  protected abstract baseOpenapi(): OpenApi;
  /** The OpenAPI `type` for messages about nulls. */
  abstract readonly typeName: string;

  /** Returns the parsed value, or undefined after recording at least one type issue. */
  parse(value: unknown, ctx: Ctx): T | undefined {
    const parsed = this.read(value, ctx);
    if (parsed === undefined) return undefined;
    for (const c of this.constraintList) {
      const problem = c.check(parsed);
      if (problem) constraint(ctx, problem);
    }
    for (const r of this.rules) {
      if (!r.test(parsed)) constraint(ctx, r.message);
    }
    return parsed;
  }

  openapi(): OpenApi {
    const api: OpenApi = { ...this.baseOpenapi() };
    for (const c of this.constraintList) Object.assign(api, c.api);
    if (this.nullable) api.nullable = true;
    if (this.rules.length) {
      api['x-kubernetes-validations'] = this.rules.map((r) => ({ rule: r.cel ?? '', message: r.message }));
    }
    return api;
  }

  describe(text: string): this {
    this.description = text;
    return this;
  }

  allowNull(): this {
    this.nullable = true;
    return this;
  }

  /** Adds a CRD-level constraint with its OpenAPI keyword(s). */
  constrain(api: OpenApi, check: (value: T) => string | undefined): this {
    this.constraintList.push({ api, check });
    return this;
  }

  /** Adds a CRD CEL rule (`x-kubernetes-validations`). */
  rule(message: string, test: (value: T) => boolean, cel?: string): this {
    this.rules.push({ message, test, cel });
    return this;
  }

  /** The CRD messages of this schema's own rules and constraints (for comparisons with CRDs). */
  ruleMessages(): string[] {
    return this.rules.map((r) => r.message);
  }

  /** Adds a value check run after a successful structural parse; a failure is a type issue. */
  refine(check: (value: T) => string | undefined): Schema<T> {
    return new Refined(this, check);
  }
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

function fail(ctx: Ctx, message: string): undefined {
  ctx.issues.push({ path: [...ctx.path], message });
  return undefined;
}

function constraint(ctx: Ctx, message: string, extra: PathSegment[] = []): void {
  ctx.constraints.push({ path: [...ctx.path, ...extra], message });
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

class Refined<T> extends Schema<T> {
  readonly typeName: string;
  constructor(private readonly inner: Schema<T>, private readonly check: (value: T) => string | undefined) {
    super();
    this.typeName = inner.typeName;
    this.nullable = inner.nullable;
  }
  protected read(value: unknown, ctx: Ctx): T | undefined {
    const parsed = this.inner.parse(value, ctx);
    if (parsed === undefined) return undefined;
    const problem = this.check(parsed);
    return problem ? fail(ctx, problem) : parsed;
  }
  protected baseOpenapi(): OpenApi {
    return this.inner.openapi();
  }
}

export class StringSchema extends Schema<string> {
  readonly typeName = 'string';
  protected read(value: unknown, ctx: Ctx): string | undefined {
    return typeof value === 'string' ? value : fail(ctx, `expected string, got ${typeName(value)}`);
  }
  protected baseOpenapi(): OpenApi {
    return { type: 'string' };
  }
  minLength(n: number): this {
    return this.constrain({ minLength: n }, (v) => ([...v].length < n ? `should be at least ${n} chars long` : undefined));
  }
  maxLength(n: number): this {
    return this.constrain({ maxLength: n }, (v) => ([...v].length > n ? `may not be longer than ${n}` : undefined));
  }
  /** An ECMA-262 pattern, as Kubernetes evaluates OpenAPI patterns (unanchored search). */
  pattern(source: string): this {
    const re = new RegExp(source, 'u');
    return this.constrain({ pattern: source }, (v) => (re.test(v) ? undefined : `should match '${source}'`));
  }
  format(name: string): this {
    return this.constrain({ format: name }, () => undefined);
  }
}

class BoolSchema extends Schema<boolean> {
  readonly typeName = 'boolean';
  protected read(value: unknown, ctx: Ctx): boolean | undefined {
    return typeof value === 'boolean' ? value : fail(ctx, `expected boolean, got ${typeName(value)}`);
  }
  protected baseOpenapi(): OpenApi {
    return { type: 'boolean' };
  }
}

interface IntRange {
  min: number;
  max: number;
  format: string;
}

function numericBounds<T extends Schema<number>>(schema: T, min?: number, max?: number): T {
  if (min !== undefined) schema.constrain({ minimum: min }, (v) => (v < min ? `should be greater than or equal to ${min}` : undefined));
  if (max !== undefined) schema.constrain({ maximum: max }, (v) => (v > max ? `should be less than or equal to ${max}` : undefined));
  return schema;
}

export class IntSchema extends Schema<number> {
  readonly typeName = 'integer';
  constructor(readonly range: IntRange) {
    super();
  }
  protected read(value: unknown, ctx: Ctx): number | undefined {
    // proto-JSON accepts integers as numbers or as decimal strings.
    let n = value;
    if (typeof value === 'string' && /^-?\d+$/.test(value)) n = Number(value);
    if (typeof n !== 'number' || !Number.isInteger(n)) return fail(ctx, `expected integer, got ${typeName(value)}`);
    if (n < this.range.min || n > this.range.max) {
      return fail(ctx, `value ${n} is out of range for ${this.range.format} (${this.range.min}..${this.range.max})`);
    }
    return n;
  }
  protected baseOpenapi(): OpenApi {
    const { format, min, max } = this.range;
    // Kubernetes CRDs state unsigned 32-bit ranges as bounds and the others as a format.
    if (format === 'uint32') return { type: 'integer', minimum: 0, maximum: max };
    if (format === 'uint64') return { type: 'integer', minimum: min };
    return { type: 'integer', format };
  }
  bounds(min?: number, max?: number): this {
    return numericBounds(this, min, max);
  }
}

export class NumberSchema extends Schema<number> {
  readonly typeName = 'number';
  protected read(value: unknown, ctx: Ctx): number | undefined {
    return typeof value === 'number' && Number.isFinite(value) ? value : fail(ctx, `expected number, got ${typeName(value)}`);
  }
  protected baseOpenapi(): OpenApi {
    return { type: 'number', format: 'double' };
  }
  bounds(min?: number, max?: number): this {
    return numericBounds(this, min, max);
  }
}

export class EnumSchema<E extends string> extends Schema<E> {
  readonly typeName = 'string';
  constructor(readonly values: readonly E[]) {
    super();
  }
  protected read(value: unknown, ctx: Ctx): E | undefined {
    if (typeof value === 'string' && (this.values as readonly string[]).includes(value)) return value as E;
    return fail(ctx, `Unsupported value: ${JSON.stringify(value)}: supported values: ${this.values.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  protected baseOpenapi(): OpenApi {
    return { type: 'string', enum: [...this.values] };
  }
}

/** Go duration syntax (what Istio users write: "1s", "500ms", "1h30m"), kept as seconds. */
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

export class DurationSchema extends Schema<Duration> {
  readonly typeName = 'string';
  protected read(value: unknown, ctx: Ctx): Duration | undefined {
    if (typeof value !== 'string') return fail(ctx, `expected duration string, got ${typeName(value)}`);
    const seconds = parseDuration(value);
    if (seconds === undefined) return fail(ctx, `invalid duration ${JSON.stringify(value)}`);
    return { text: value, seconds };
  }
  protected baseOpenapi(): OpenApi {
    return { type: 'string' };
  }
  /** The CRDs' rule on most durations: at least one millisecond. */
  atLeast1ms(): this {
    return this.rule('must be a valid duration greater than 1ms', (d) => d.seconds >= 1e-3 - 1e-12, "duration(self) >= duration('1ms')");
  }
}

export class ListSchema<T> extends Schema<T[]> {
  readonly typeName = 'array';
  private listType?: 'set' | 'map';
  private mapKeys?: string[];
  constructor(readonly item: Schema<T>) {
    super();
  }
  protected read(value: unknown, ctx: Ctx): T[] | undefined {
    if (value === null) return [];
    if (!Array.isArray(value)) return fail(ctx, `expected list, got ${typeName(value)}`);
    const out: T[] = [];
    let ok = true;
    value.forEach((v, i) => {
      ctx.path.push(i);
      if (v === null && !this.item.nullable) constraint(ctx, `in body must be of type ${this.item.typeName}: "null"`);
      const parsed = this.item.parse(v, ctx);
      ctx.path.pop();
      if (parsed === undefined) ok = false;
      else out.push(parsed);
    });
    if (ok && this.listType) {
      const seen = new Set<string>();
      out.forEach((v, i) => {
        const key = this.listType === 'set' ? JSON.stringify(v) : JSON.stringify(this.mapKeys!.map((k) => (v as Record<string, unknown>)[k]));
        if (seen.has(key)) constraint(ctx, `Duplicate value: ${key}`, [i]);
        seen.add(key);
      });
    }
    return ok ? out : undefined;
  }
  protected baseOpenapi(): OpenApi {
    const api: OpenApi = { type: 'array', items: this.item.openapi() };
    if (this.listType) api['x-kubernetes-list-type'] = this.listType;
    if (this.mapKeys) api['x-kubernetes-list-map-keys'] = [...this.mapKeys];
    return api;
  }
  minItems(n: number): this {
    return this.constrain({ minItems: n }, (v) => (v.length < n ? `should have at least ${n} items` : undefined));
  }
  maxItems(n: number): this {
    return this.constrain({ maxItems: n }, (v) => (v.length > n ? `must have at most ${n} items` : undefined));
  }
  /** `x-kubernetes-list-type: set`: no duplicate items. */
  set(): this {
    this.listType = 'set';
    return this;
  }
  /** `x-kubernetes-list-type: map`: items unique by these keys. */
  mapBy(...keys: string[]): this {
    this.listType = 'map';
    this.mapKeys = keys;
    return this;
  }
}

export class MapSchema<T> extends Schema<Record<string, T>> {
  readonly typeName = 'object';
  constructor(readonly value: Schema<T>) {
    super();
  }
  protected read(value: unknown, ctx: Ctx): Record<string, T> | undefined {
    if (value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) return fail(ctx, `expected map, got ${typeName(value)}`);
    const out: Record<string, T> = {};
    let ok = true;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      ctx.path.push(k);
      if (v === null && !this.value.nullable) constraint(ctx, `in body must be of type ${this.value.typeName}: "null"`);
      const parsed = this.value.parse(v, ctx);
      ctx.path.pop();
      if (parsed === undefined) ok = false;
      else out[k] = parsed;
    }
    return ok ? out : undefined;
  }
  protected baseOpenapi(): OpenApi {
    return { type: 'object', additionalProperties: this.value.openapi() };
  }
  minProperties(n: number): this {
    return this.constrain({ minProperties: n }, (v) => (Object.keys(v).length < n ? `should have at least ${n} properties` : undefined));
  }
  maxProperties(n: number): this {
    return this.constrain({ maxProperties: n }, (v) => (Object.keys(v).length > n ? `should have at most ${n} properties` : undefined));
  }
}

/** google.protobuf.Struct: any JSON object, kept as written. */
export class AnyJsonSchema extends Schema<unknown> {
  readonly typeName = 'object';
  protected read(value: unknown): unknown {
    return value;
  }
  override parse(value: unknown, ctx: Ctx): unknown {
    // Returns `undefined` for an absent value without it being an error.
    const v = this.read(value);
    for (const r of this.rules) if (!r.test(v)) constraint(ctx, r.message);
    return v;
  }
  protected baseOpenapi(): OpenApi {
    return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  }
}

type Fields = Record<string, Schema<unknown>>;
export type ObjectOf<F extends Fields> = { [K in keyof F]?: Infer<F[K]> };

export interface ObjectOptions {
  /** Groups of fields of which at most one may be set (a proto oneof). */
  oneOf?: string[][];
  /** Fields that must be present (a CRD constraint). */
  required?: string[];
  /** Messages for missing required fields, by field (default: Kubernetes' "Required value"). */
  requiredMessages?: Record<string, string>;
  /** Kubernetes objects carry many fields Isthmus does not read: keep unknown fields silently. */
  allowUnknown?: boolean;
  /** Other names a field is known by in the CRD (e.g. `jwks_uri` for `jwksUri`), alias -> field. */
  aliases?: Record<string, string>;
}

function snakeToCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export class ObjectSchema<F extends Fields> extends Schema<ObjectOf<F>> {
  readonly typeName = 'object';
  constructor(readonly fields: F, readonly options: ObjectOptions = {}) {
    super();
  }
  protected read(value: unknown, ctx: Ctx): ObjectOf<F> | undefined {
    if (value === null) return nullMessage({}) as ObjectOf<F>;
    if (typeof value !== 'object' || Array.isArray(value)) return fail(ctx, `expected object, got ${typeName(value)}`);
    const out: Record<string, unknown> = {};
    let ok = true;
    for (const [rawKey, v] of Object.entries(value as Record<string, unknown>)) {
      // proto-JSON accepts the original snake_case field names as well as lowerCamelCase.
      const key = rawKey in this.fields ? rawKey : (this.options.aliases?.[rawKey] ?? snakeToCamel(rawKey));
      const field = this.fields[key];
      ctx.path.push(rawKey);
      if (!field) {
        if (!this.options.allowUnknown) {
          fail(ctx, `unknown field "${rawKey}"`);
          ok = false;
        }
      } else if (key in out) {
        fail(ctx, `field "${key}" is set twice`);
        ok = false;
      } else if (v === null) {
        // Go reads `null` as "unset"; the CRD schema rejects it unless the field is nullable.
        if (!field.nullable) constraint(ctx, `in body must be of type ${field.typeName}: "null"`);
        if (field instanceof AnyJsonSchema) out[key] = null;
      } else {
        const parsed = field.parse(v, ctx);
        if (parsed === undefined && !(field instanceof AnyJsonSchema)) ok = false;
        else if (parsed !== undefined) out[key] = parsed;
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
    if (!ok) return undefined;
    for (const req of this.options.required ?? []) {
      if (out[req] === undefined) constraint(ctx, this.options.requiredMessages?.[req] ?? 'Required value', [req]);
    }
    return out as ObjectOf<F>;
  }
  protected baseOpenapi(): OpenApi {
    const properties: Record<string, OpenApi> = {};
    for (const [k, s] of Object.entries(this.fields)) {
      properties[k] = s.description ? { ...s.openapi(), description: s.description } : s.openapi();
    }
    for (const [alias, k] of Object.entries(this.options.aliases ?? {})) properties[alias] = properties[k]!;
    const api: OpenApi = { type: 'object', properties };
    if (this.options.required?.length) api.required = [...this.options.required];
    if (this.options.allowUnknown) api['x-kubernetes-preserve-unknown-fields'] = true;
    return api;
  }
}

/** Kubernetes IntOrString (Service targetPort). */
class IntOrStringSchema extends Schema<number | string> {
  readonly typeName = 'string';
  protected read(value: unknown, ctx: Ctx): number | string | undefined {
    if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) return value;
    return fail(ctx, `expected integer or string, got ${typeName(value)}`);
  }
  protected baseOpenapi(): OpenApi {
    return { 'x-kubernetes-int-or-string': true };
  }
}

class LazySchema<T> extends Schema<T> {
  private resolved?: Schema<T>;
  readonly typeName = 'object';
  constructor(private readonly get: () => Schema<T>) {
    super();
  }
  private get inner(): Schema<T> {
    return (this.resolved ??= this.get());
  }
  protected read(value: unknown, ctx: Ctx): T | undefined {
    return this.inner.parse(value, ctx);
  }
  protected baseOpenapi(): OpenApi {
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

export interface ParseOutcome<T> {
  value?: T;
  /** Type issues: present exactly when `value` is undefined. */
  issues: Issue[];
  /** CRD constraint violations (the value is still returned). */
  constraints: Issue[];
}

/** Parses `value` with `schema`; returns the value or the issues found. */
export function parseWith<T>(schema: Schema<T>, value: unknown, path: PathSegment[] = []): ParseOutcome<T> {
  const ctx: Ctx = { issues: [], constraints: [], path: [...path] };
  const parsed = schema.parse(value, ctx);
  if (parsed === undefined && ctx.issues.length === 0) ctx.issues.push({ path, message: 'invalid value' });
  return parsed === undefined
    ? { issues: ctx.issues, constraints: ctx.constraints }
    : { value: parsed, issues: ctx.issues, constraints: ctx.constraints };
}
