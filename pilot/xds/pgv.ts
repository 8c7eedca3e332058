// A checker for protoc-gen-validate (PGV) `validate.rules` annotations, read at run time from
// the protobuf-es descriptors generated into gen/ (protobuf-es keeps custom options in the
// embedded descriptors; proto/generate.mjs restores the validate.proto fields the npm snapshot
// lacks). Semantics follow PGV's docs and its reference (Go) templates:
//  - rules on implicit-presence scalars apply to the zero value too (unless ignore_empty);
//    proto3 `optional` scalars and oneof members only when set;
//  - embedded messages are validated when set, unless `message.skip`; `message.required`
//    demands presence; wrapper types (google.protobuf.UInt32Value, ...) carry the rules of the
//    wrapped scalar and are checked when set;
//  - a message field with `any`/`duration`/`timestamp` rules is not recursed into (PGV
//    renders those templates instead of the embedded-message one);
//  - `in` takes precedence over `not_in` when both are given (PGV forbids both);
//  - `(validate.disabled)` and `(validate.ignored)` messages are not validated;
//  - string formats as in Go: patterns are searched (unanchored, like regexp.MatchString; the
//    C++ templates Envoy runs use RE2::FullMatch, which only differs for unanchored patterns,
//    and Envoy's own patterns are all anchored), `ipv4` accepts IPv4-mapped IPv6 text and
//    `ipv6` rejects it (net.ParseIP + To4), hostnames may end with one dot.
// Beyond PGV (which never looks inside google.protobuf.Any): a set Any is unpacked with the
// registry and its content validated; a type URL missing from the registry is a violation
// (`any.unknown_type`), undecodable content too (`any.malformed`).
//
// Rule ids are PGV's field paths (`string.min_len`, `uint32.lte`, `message.required`,
// `oneof.required`, ...). A two-sided range reports the bound that failed; a value inside an
// exclusive range (upper bound <= lower bound) reports `<family>.<lower>_<upper>_exclusive`.
import {
  fromBinary, getOption, hasOption, isFieldSet, toBinary,
  type DescEnum, type DescField, type DescMessage, type DescOneof, type Message,
  type MessageShape, type Registry,
} from '@bufbuild/protobuf';
import { reflect, type ReflectList, type ReflectMap, type ReflectMessage } from '@bufbuild/protobuf/reflect';
import type { Any, Duration, Timestamp } from '@bufbuild/protobuf/wkt';
import { envoyRegistry } from '../networking/registry.js';
import {
  KnownRegex, disabled, file_validate_validate, ignored, required as oneofRequiredExt, rules as rulesExt,
  type AnyRules, type BytesRules, type DurationRules, type EnumRules, type FieldRules,
  type MapRules, type RepeatedRules, type StringRules, type TimestampRules,
} from '../../gen/validate/validate_pb.js';
import {
  HEADER_STRING, HTTP_HEADER_NAME, HTTP_HEADER_VALUE, emailError, hostnameError, isIPv4Bytes,
  isUuid, parseIP, parseUrl, utf8Length,
} from './pgv-formats.js';
import { re2ToRegExp } from '../util/re2.js';

export { Re2Error, re2ToRegExp } from '../util/re2.js';

export interface PgvViolation {
  /** Proto field names from the validated message, e.g. `virtual_hosts[0].routes[2].match.prefix`. */
  path: string;
  /** The PGV rule, e.g. `string.min_len`, `oneof.required`, `any.unknown_type`. */
  rule: string;
  message: string;
  /** Set when the violation is about a map key rather than its value (`map.keys` rules). */
  forKey?: true;
}

export interface PgvOptions {
  /** Clock for timestamp `lt_now`/`gt_now`/`within` (default: the current time). */
  now?: () => Date;
}

/** Thrown by assertValid. */
export class PgvValidationError extends Error {
  constructor(readonly typeName: string, readonly violations: PgvViolation[]) {
    super(`${typeName}: ${violations.length} validation error(s): ${formatViolations(violations)}`);
    this.name = 'PgvValidationError';
  }
}

export function formatViolations(violations: readonly PgvViolation[]): string {
  return violations
    .map((v) => `${v.path || '<root>'}${v.forKey ? ' (key)' : ''}: ${v.message} [${v.rule}]`)
    .join('; ');
}

export { envoyRegistry };

/**
 * Checks `message` against the PGV rules of `schema` (recursively) and returns every violation.
 * `registry` resolves the types packed in google.protobuf.Any (default: envoyRegistry()).
 */
export function validateMessage<Desc extends DescMessage>(
  schema: Desc, message: MessageShape<Desc>, registry?: Registry, options?: PgvOptions,
): PgvViolation[] {
  const ctx = new Ctx(registry ?? envoyRegistry(), options?.now);
  validateMsg(ctx, reflect(schema, message, false), '');
  return ctx.out;
}

/** Like validateMessage, but throws a PgvValidationError listing the violations, if any. */
export function assertValid<Desc extends DescMessage>(
  schema: Desc, message: MessageShape<Desc>, registry?: Registry, options?: PgvOptions,
): void {
  const violations = validateMessage(schema, message, registry, options);
  if (violations.length) throw new PgvValidationError(schema.typeName, violations);
}

// ---------------------------------------------------------------------------------------------

class Ctx {
  readonly out: PgvViolation[] = [];
  private nowNs?: bigint;
  constructor(readonly registry: Registry, private readonly clock?: () => Date) {}
  now(): bigint {
    this.nowNs ??= BigInt((this.clock?.() ?? new Date()).getTime()) * 1_000_000n;
    return this.nowNs;
  }
}

type Elem =
  | { kind: 'scalar' }
  | { kind: 'enum'; enum: DescEnum }
  | { kind: 'message'; message: DescMessage };

/** Where violations go: the path, and whether the value is a map key. */
interface Sink { ctx: Ctx; path: string; forKey?: boolean }

function report(s: Sink, rule: string, message: string): void {
  const v: PgvViolation = { path: s.path, rule, message };
  if (s.forKey) v.forKey = true;
  s.ctx.out.push(v);
}

const join = (path: string, name: string): string => (path ? `${path}.${name}` : name);

const fieldRulesCache = new WeakMap<DescField, FieldRules | null>();
function fieldRules(f: DescField): FieldRules | undefined {
  let r = fieldRulesCache.get(f);
  if (r === undefined) {
    r = hasOption(f, rulesExt) ? getOption(f, rulesExt) : null;
    fieldRulesCache.set(f, r);
  }
  return r ?? undefined;
}

const skipCache = new WeakMap<DescMessage, boolean>();
function messageSkipped(m: DescMessage): boolean {
  let s = skipCache.get(m);
  if (s === undefined) {
    s = getOption(m, disabled) || getOption(m, ignored);
    skipCache.set(m, s);
  }
  return s;
}

const oneofRequiredCache = new WeakMap<DescOneof, boolean>();
function oneofRequired(o: DescOneof): boolean {
  let r = oneofRequiredCache.get(o);
  if (r === undefined) {
    r = getOption(o, oneofRequiredExt);
    oneofRequiredCache.set(o, r);
  }
  return r;
}

/**
 * What validating a message type involves: its fields with rules or with a message type that
 * may need validation (others are skipped), its oneofs. Undefined when there is nothing to do.
 */
interface Plan { fields: DescField[]; oneofs: DescOneof[] }
const plans = new WeakMap<DescMessage, Plan | null | 'pending'>();

function planOf(desc: DescMessage): Plan | undefined {
  const cached = plans.get(desc);
  if (cached === 'pending') return { fields: [], oneofs: [] }; // a recursive type: assume a visit is needed
  if (cached !== undefined) return cached ?? undefined;
  plans.set(desc, 'pending');
  let plan: Plan | null = null;
  // Other well-known types carry no rules (and Struct trees can be large): not walked.
  if (!messageSkipped(desc) && !desc.typeName.startsWith('google.protobuf.')) {
    const fields = desc.fields.filter((f) => !f.oneof && needsVisit(f));
    const oneofs = desc.oneofs.filter((o) => oneofRequired(o) || o.fields.some(needsVisit));
    if (fields.length || oneofs.length) plan = { fields, oneofs };
  }
  plans.set(desc, plan);
  return plan ?? undefined;
}

function needsVisit(f: DescField): boolean {
  if (fieldRules(f)) return true;
  const m = f.message;
  return m !== undefined && (m.typeName === 'google.protobuf.Any' || planOf(m) !== undefined);
}

const RULE_SCHEMAS = new Map(file_validate_validate.messages.map((m) => [m.typeName, m]));
const presentCache = new WeakMap<Message, ReadonlySet<string>>();

/** The fields explicitly set in a (proto2) validate.*Rules message, by local name. */
function present(r: Message): ReadonlySet<string> {
  let p = presentCache.get(r);
  if (!p) {
    const desc = RULE_SCHEMAS.get(r.$typeName);
    p = new Set(desc ? desc.fields.filter((f) => isFieldSet(r, f)).map((f) => f.localName) : []);
    presentCache.set(r, p);
  }
  return p;
}

function validateMsg(ctx: Ctx, rm: ReflectMessage, path: string): void {
  const desc = rm.desc;
  if (desc.typeName === 'google.protobuf.Any') {
    validateAnyContent(ctx, rm.message as Any, path);
    return;
  }
  const plan = planOf(desc);
  if (!plan) return;
  for (const f of plan.fields) validateField(ctx, rm, f, path);
  for (const o of plan.oneofs) {
    const selected = rm.oneofCase(o);
    if (selected) validateField(ctx, rm, selected, path);
    else if (oneofRequired(o)) report({ ctx, path: join(path, o.name) }, 'oneof.required', 'value is required');
  }
}

function validateField(ctx: Ctx, rm: ReflectMessage, f: DescField, path: string): void {
  const fr = fieldRules(f);
  const sink: Sink = { ctx, path: join(path, f.name) };
  switch (f.fieldKind) {
    case 'scalar':
    case 'enum':
      // proto3 `optional` fields have explicit presence: rules apply only when set.
      if (!fr || (f.proto.proto3Optional && !rm.isSet(f))) return;
      checkValue(sink, f.fieldKind === 'enum' ? { kind: 'enum', enum: f.enum } : { kind: 'scalar' }, fr, rm.get(f));
      return;
    case 'message':
      checkMessage(sink, f.message, fr, rm.isSet(f) ? rm.get(f) : undefined);
      return;
    case 'list':
      checkList(sink, f, fr, rm.get(f));
      return;
    case 'map': {
      const raw = (rm.message as unknown as Record<string, Record<string, unknown>>)[f.localName] ?? {};
      checkMap(sink, f, fr, rm.get(f), raw);
      return;
    }
  }
}

/** A value of a singular field, a list item, a map key or a map value. */
function checkValue(s: Sink, elem: Elem, fr: FieldRules | undefined, value: unknown): void {
  if (elem.kind === 'message') {
    checkMessage(s, elem.message, fr, value as ReflectMessage | undefined);
    return;
  }
  if (!fr) return;
  const t = fr.type;
  if (elem.kind === 'enum') {
    if (t.case === 'enum') enumRules(s, elem.enum, t.value, value as number);
    return;
  }
  switch (t.case) {
    case 'string':
      if (typeof value === 'string') stringRules(s, t.value, value);
      return;
    case 'bytes':
      if (value instanceof Uint8Array) bytesRules(s, t.value, value);
      return;
    case 'bool':
      if (present(t.value).has('const') && value !== t.value.const) {
        report(s, 'bool.const', `value must equal ${t.value.const}`);
      }
      return;
    default:
      if (t.case && NUMERIC.has(t.case) && (typeof value === 'number' || typeof value === 'bigint')) {
        numericRules(s, t.case, t.value as NumericRules, value);
      }
  }
}

const WRAPPERS = new Set(['google.protobuf.DoubleValue', 'google.protobuf.FloatValue',
  'google.protobuf.Int64Value', 'google.protobuf.UInt64Value', 'google.protobuf.Int32Value',
  'google.protobuf.UInt32Value', 'google.protobuf.BoolValue', 'google.protobuf.StringValue',
  'google.protobuf.BytesValue']);
const WRAPPED_RULES = new Set(['float', 'double', 'int32', 'int64', 'uint32', 'uint64', 'bool', 'string', 'bytes']);

/** A message-typed value; `rm` is undefined when the field is not set. */
function checkMessage(s: Sink, md: DescMessage, fr: FieldRules | undefined, rm: ReflectMessage | undefined): void {
  const t = fr?.type;
  const skip = fr?.message?.skip ?? false;
  if (t?.case && WRAPPED_RULES.has(t.case) && WRAPPERS.has(md.typeName)) {
    if (rm) checkValue(s, { kind: 'scalar' }, fr, rm.get(md.fields[0]!));
    else if (fr?.message?.required) report(s, 'message.required', 'value is required and must not be nil.');
    return;
  }
  switch (t?.case) {
    case 'any':
      anyRules(s, t.value, md, rm);
      if (rm && !skip && md.typeName === 'google.protobuf.Any') validateAnyContent(s.ctx, rm.message as Any, s.path);
      return;
    case 'duration':
      durationRules(s, t.value, md, rm);
      return;
    case 'timestamp':
      timestampRules(s, t.value, md, rm);
      return;
  }
  // The embedded-message template (also used when no rules are given).
  if (!rm) {
    if (fr?.message?.required) report(s, 'message.required', 'value is required');
    return;
  }
  if (!skip) validateMsg(s.ctx, rm, s.path);
}

function validateAnyContent(ctx: Ctx, any: Any, path: string): void {
  const url = any.typeUrl;
  const name = url.slice(url.lastIndexOf('/') + 1);
  const desc = name ? ctx.registry.getMessage(name) : undefined;
  if (!desc) {
    report({ ctx, path }, 'any.unknown_type', `type URL ${JSON.stringify(url)} is not a known message type`);
    return;
  }
  let msg: Message;
  try {
    msg = fromBinary(desc, any.value);
  } catch (e) {
    report({ ctx, path }, 'any.malformed', `cannot decode ${desc.typeName}: ${(e as Error).message}`);
    return;
  }
  validateMsg(ctx, reflect(desc, msg, false), path);
}

function elemOf(f: DescField & { fieldKind: 'list' | 'map' }): Elem {
  const kind = f.fieldKind === 'list' ? f.listKind : f.mapKind;
  if (kind === 'message') return { kind, message: f.message! };
  if (kind === 'enum') return { kind, enum: f.enum! };
  return { kind: 'scalar' };
}

function sizeRule(s: Sink, rule: string, size: number, min: bigint | undefined, max: bigint | undefined, noun: string): void {
  const lo = min === undefined ? undefined : Number(min);
  const hi = max === undefined ? undefined : Number(max);
  const what = lo !== undefined && lo === hi ? `exactly ${lo} ${noun}(s)`
    : lo !== undefined && hi !== undefined ? `between ${lo} and ${hi} ${noun}s, inclusive`
    : lo !== undefined ? `at least ${lo} ${noun}(s)` : `no more than ${hi} ${noun}(s)`;
  if (lo !== undefined && size < lo) report(s, `${rule}.min_${noun === 'item' ? 'items' : 'pairs'}`, `value must contain ${what}`);
  if (hi !== undefined && size > hi) report(s, `${rule}.max_${noun === 'item' ? 'items' : 'pairs'}`, `value must contain ${what}`);
}

function checkList(s: Sink, f: DescField & { fieldKind: 'list' }, fr: FieldRules | undefined, list: ReflectList): void {
  const rr: RepeatedRules | undefined = fr?.type.case === 'repeated' ? fr.type.value : undefined;
  const elem = elemOf(f);
  if (!rr) {
    if (elem.kind === 'message') for (const [i, item] of list.entries()) checkValue(at(s, `[${i}]`), elem, undefined, item);
    return;
  }
  if (rr.ignoreEmpty && list.size === 0) return;
  const p = present(rr);
  sizeRule(s, 'repeated', list.size, p.has('minItems') ? rr.minItems : undefined, p.has('maxItems') ? rr.maxItems : undefined, 'item');
  const seen: unknown[] = [];
  const keys = new Set<unknown>();
  for (const [i, item] of list.entries()) {
    const is = at(s, `[${i}]`);
    if (rr.unique) {
      if (isDuplicate(item, keys, seen)) report(is, 'repeated.unique', 'repeated value must contain unique items');
    }
    checkValue(is, elem, rr.items, item);
  }
}

/** Go map-key equality: bytes by content, NaN never equal, messages (beyond PGV) by content. */
function isDuplicate(item: unknown, keys: Set<unknown>, seen: unknown[]): boolean {
  if (typeof item === 'number' && Number.isNaN(item)) return false;
  let key: unknown = item;
  if (item instanceof Uint8Array) key = `b:${Buffer.from(item).toString('latin1')}`;
  else if (typeof item === 'object' && item !== null) {
    const m = (item as ReflectMessage).message;
    const dup = seen.some((o) => equalsMessage((item as ReflectMessage).desc, (o as ReflectMessage).message, m));
    seen.push(item);
    return dup;
  } else if (typeof item === 'number' && Object.is(item, -0)) key = 0;
  if (keys.has(key)) return true;
  keys.add(key);
  return false;
}

/** Structural equality through the (deterministic for a given object) binary encoding. */
function equalsMessage(desc: DescMessage, a: Message, b: Message): boolean {
  return Buffer.from(toBinary(desc, a)).equals(Buffer.from(toBinary(desc, b)));
}

const at = (s: Sink, suffix: string, forKey?: boolean): Sink => ({ ctx: s.ctx, path: s.path + suffix, forKey });

function checkMap(s: Sink, f: DescField & { fieldKind: 'map' }, fr: FieldRules | undefined, map: ReflectMap, raw: Record<string, unknown>): void {
  const mr: MapRules | undefined = fr?.type.case === 'map' ? fr.type.value : undefined;
  const elem = elemOf(f);
  if (!mr && elem.kind !== 'message') return;
  if (mr?.ignoreEmpty && map.size === 0) return;
  if (mr) {
    const p = present(mr);
    sizeRule(s, 'map', map.size, p.has('minPairs') ? mr.minPairs : undefined, p.has('maxPairs') ? mr.maxPairs : undefined, 'pair');
  }
  const entries = [...map.entries()].sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0));
  for (const [key, value] of entries) {
    const suffix = `[${typeof key === 'string' ? JSON.stringify(key) : String(key)}]`;
    const vs = at(s, suffix);
    // A sparse entry (possible only in a hand-built message) has no value to validate.
    const sparse = raw[String(key)] == null;
    if (mr?.noSparse && sparse) report(vs, 'map.no_sparse', 'value cannot be sparse, all pairs must be non-nil');
    if (mr?.keys) checkValue(at(s, suffix, true), { kind: 'scalar' }, mr.keys, key);
    checkValue(vs, elem, mr?.values, sparse ? undefined : value);
  }
}

// --- numbers ---------------------------------------------------------------------------------

type Num = number | bigint;
interface NumericRules extends Message {
  ignoreEmpty: boolean; const: Num; lt: Num; lte: Num; gt: Num; gte: Num; in: Num[]; notIn: Num[];
}
const NUMERIC = new Set(['float', 'double', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64',
  'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);

// eslint-disable-next-line eqeqeq
const numEq = (a: Num, b: Num): boolean => (typeof a === typeof b ? a === b : a == b);
const fmtList = <T>(xs: readonly T[], show: (x: T) => string): string => `[${xs.map(show).join(', ')}]`;

function numericRules(s: Sink, family: string, r: NumericRules, v: Num): void {
  const p = present(r);
  if (r.ignoreEmpty && numEq(v, 0)) return;
  if (p.has('const') && !numEq(v, r.const)) report(s, `${family}.const`, `value must equal ${r.const}`);
  checkRange(s, family, v, {
    lt: p.has('lt') ? r.lt : undefined, lte: p.has('lte') ? r.lte : undefined,
    gt: p.has('gt') ? r.gt : undefined, gte: p.has('gte') ? r.gte : undefined,
  }, String);
  if (r.in.length || r.notIn.length) inRules(s, family, r.in, r.notIn, (x) => numEq(v, x), String);
}

function inRules<T>(s: Sink, family: string, inList: readonly T[], notIn: readonly T[], eq: (x: T) => boolean, show: (x: T) => string): void {
  if (inList.length) {
    if (!inList.some(eq)) report(s, `${family}.in`, `value must be in list ${fmtList(inList, show)}`);
  } else if (notIn.length && notIn.some(eq)) {
    report(s, `${family}.not_in`, `value must not be in list ${fmtList(notIn, show)}`);
  }
}

interface Bounds<T> { lt?: T; lte?: T; gt?: T; gte?: T }

/**
 * PGV's lt/lte/gt/gte logic. An upper bound above the lower bound makes an inclusive range;
 * otherwise the range is exclusive (the value must lie outside it). Comparisons mirror PGV's,
 * so NaN passes them as it does in Go.
 */
function checkRange<T extends Num>(s: Sink, family: string, v: T, b: Bounds<T>, show: (x: T) => string): void {
  const upper = b.lt !== undefined ? 'lt' : b.lte !== undefined ? 'lte' : undefined;
  const lower = b.gt !== undefined ? 'gt' : b.gte !== undefined ? 'gte' : undefined;
  const hi = upper && b[upper]!;
  const lo = lower && b[lower]!;
  const failsUpper = upper !== undefined && (upper === 'lt' ? v >= hi! : v > hi!);
  const failsLower = lower !== undefined && (lower === 'gt' ? v <= lo! : v < lo!);
  if (upper && lower) {
    if (hi! > lo!) {
      if (failsLower || failsUpper) {
        report(s, `${family}.${failsLower ? lower : upper}`, `value must be inside range ${lower === 'gt' ? '(' : '['}${show(lo!)}, `
          + `${show(hi!)}${upper === 'lt' ? ')' : ']'}`);
      }
    } else if (failsUpper && failsLower) {
      // An exclusive range: v fails both bounds, so it lies in the excluded band.
      report(s, `${family}.${lower}_${upper}_exclusive`, `value must be outside range ${upper === 'lt' ? '[' : '('}${show(hi!)}, `
        + `${show(lo!)}${lower === 'gt' ? ']' : ')'}`);
    }
  } else if (failsUpper) {
    report(s, `${family}.${upper}`, `value must be less than ${upper === 'lte' ? 'or equal to ' : ''}${show(hi!)}`);
  } else if (failsLower) {
    report(s, `${family}.${lower}`, `value must be greater than ${lower === 'gte' ? 'or equal to ' : ''}${show(lo!)}`);
  }
}

// --- enums, strings, bytes -------------------------------------------------------------------

function enumName(e: DescEnum, n: number): string {
  return e.values.find((x) => x.number === n)?.name ?? String(n);
}

function enumRules(s: Sink, e: DescEnum, r: EnumRules, v: number): void {
  if (present(r).has('const') && v !== r.const) report(s, 'enum.const', `value must equal ${enumName(e, r.const)}`);
  if (r.in.length || r.notIn.length) inRules(s, 'enum', r.in, r.notIn, (x) => x === v, (x) => enumName(e, x));
  if (r.definedOnly && !e.values.some((x) => x.number === v)) {
    report(s, 'enum.defined_only', 'value must be one of the defined enum values');
  }
}

function lengthRules(s: Sink, family: string, n: number, len: bigint | undefined, min: bigint | undefined,
  max: bigint | undefined, names: [string, string, string], unit: string): void {
  if (len !== undefined) {
    if (n !== Number(len)) report(s, `${family}.${names[0]}`, `value length must be ${len} ${unit}`);
    return;
  }
  const what = min !== undefined && max !== undefined
    ? (min === max ? `${min} ${unit}` : `between ${min} and ${max} ${unit}, inclusive`)
    : min !== undefined ? `at least ${min} ${unit}` : `at most ${max} ${unit}`;
  if (min !== undefined && n < Number(min)) report(s, `${family}.${names[1]}`, `value length must be ${what}`);
  if (max !== undefined && n > Number(max)) report(s, `${family}.${names[2]}`, `value length must be ${what}`);
}

function patternRule(s: Sink, rule: string, pattern: string, text: string): void {
  let re: RegExp;
  try {
    re = re2ToRegExp(pattern);
  } catch (e) {
    report(s, rule, `cannot evaluate regex pattern ${JSON.stringify(pattern)}: ${(e as Error).message}`);
    return;
  }
  if (!re.test(text)) report(s, rule, `value does not match regex pattern ${JSON.stringify(pattern)}`);
}

function runeCount(v: string): number {
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < v.length) {
      const d = v.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) i++;
    }
    n++;
  }
  return n;
}

function stringRules(s: Sink, r: StringRules, v: string): void {
  if (r.ignoreEmpty && v === '') return;
  const p = present(r);
  if (p.has('const') && v !== r.const) report(s, 'string.const', `value must equal ${JSON.stringify(r.const)}`);
  if (r.in.length || r.notIn.length) inRules(s, 'string', r.in, r.notIn, (x) => x === v, (x) => JSON.stringify(x));
  if (p.has('len') || p.has('minLen') || p.has('maxLen')) {
    lengthRules(s, 'string', runeCount(v), p.has('len') ? r.len : undefined, p.has('minLen') ? r.minLen : undefined,
      p.has('maxLen') ? r.maxLen : undefined, ['len', 'min_len', 'max_len'], 'runes');
  }
  if (p.has('lenBytes') || p.has('minBytes') || p.has('maxBytes')) {
    lengthRules(s, 'string', utf8Length(v), p.has('lenBytes') ? r.lenBytes : undefined, p.has('minBytes') ? r.minBytes : undefined,
      p.has('maxBytes') ? r.maxBytes : undefined, ['len_bytes', 'min_bytes', 'max_bytes'], 'bytes');
  }
  if (p.has('prefix') && !v.startsWith(r.prefix)) report(s, 'string.prefix', `value does not have prefix ${JSON.stringify(r.prefix)}`);
  if (p.has('suffix') && !v.endsWith(r.suffix)) report(s, 'string.suffix', `value does not have suffix ${JSON.stringify(r.suffix)}`);
  if (p.has('contains') && !v.includes(r.contains)) report(s, 'string.contains', `value does not contain substring ${JSON.stringify(r.contains)}`);
  if (p.has('notContains') && v.includes(r.notContains)) report(s, 'string.not_contains', `value contains substring ${JSON.stringify(r.notContains)}`);
  const wk = r.wellKnown;
  if (wk.case !== undefined && wk.case !== 'wellKnownRegex' && wk.value) {
    const fail = report.bind(undefined, s);
    switch (wk.case) {
      case 'ip':
        if (!parseIP(v)) fail('string.ip', 'value must be a valid IP address');
        break;
      case 'ipv4': {
        const ip = parseIP(v);
        if (!ip || !isIPv4Bytes(ip)) fail('string.ipv4', 'value must be a valid IPv4 address');
        break;
      }
      case 'ipv6': {
        const ip = parseIP(v);
        if (!ip || isIPv4Bytes(ip)) fail('string.ipv6', 'value must be a valid IPv6 address');
        break;
      }
      case 'email': {
        const e = emailError(v);
        if (e) fail('string.email', `value must be a valid email address: ${e}`);
        break;
      }
      case 'hostname': {
        const e = hostnameError(v);
        if (e) fail('string.hostname', `value must be a valid hostname: ${e}`);
        break;
      }
      case 'address':
        if (hostnameError(v) && !parseIP(v)) fail('string.address', 'value must be a valid hostname, or ip address');
        break;
      case 'uri': {
        const u = parseUrl(v);
        if ('error' in u) fail('string.uri', `value must be a valid URI: ${u.error}`);
        else if (!u.scheme) fail('string.uri', 'value must be absolute');
        break;
      }
      case 'uriRef': {
        const u = parseUrl(v);
        if ('error' in u) fail('string.uri_ref', `value must be a valid URI: ${u.error}`);
        break;
      }
      case 'uuid':
        if (!isUuid(v)) fail('string.uuid', 'value must be a valid UUID');
        break;
    }
  }
  if (wk.case === 'wellKnownRegex' && (wk.value === KnownRegex.HTTP_HEADER_NAME || wk.value === KnownRegex.HTTP_HEADER_VALUE)) {
    // `strict` defaults to true; `strict: false` only forbids NUL, CR and LF.
    const re = r.strict === false ? HEADER_STRING : wk.value === KnownRegex.HTTP_HEADER_NAME ? HTTP_HEADER_NAME : HTTP_HEADER_VALUE;
    if (!re.test(v)) {
      const what = r.strict === false ? 'must not contain NUL, CR or LF' : `must be a valid HTTP header ${wk.value === KnownRegex.HTTP_HEADER_NAME ? 'name' : 'value'}`;
      report(s, 'string.well_known_regex', `value ${what} (${KnownRegex[wk.value]})`);
    }
  }
  if (p.has('pattern')) patternRule(s, 'string.pattern', r.pattern, v);
}

const bytesEq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const hex = (b: Uint8Array): string => JSON.stringify(Array.from(b, (x) => `\\x${x.toString(16).padStart(2, '0')}`).join(''));
function indexOfBytes(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(Buffer.from(needle.buffer, needle.byteOffset, needle.byteLength));
}

function bytesRules(s: Sink, r: BytesRules, v: Uint8Array): void {
  if (r.ignoreEmpty && v.length === 0) return;
  const has = (n: string) => present(r).has(n);
  lengthRules(s, 'bytes', v.length, has('len') ? r.len : undefined, has('minLen') ? r.minLen : undefined,
    has('maxLen') ? r.maxLen : undefined, ['len', 'min_len', 'max_len'], 'bytes');
  if (has('prefix') && !bytesEq(v.subarray(0, r.prefix.length), r.prefix)) report(s, 'bytes.prefix', `value does not have prefix ${hex(r.prefix)}`);
  if (has('suffix') && !(v.length >= r.suffix.length && bytesEq(v.subarray(v.length - r.suffix.length), r.suffix))) {
    report(s, 'bytes.suffix', `value does not have suffix ${hex(r.suffix)}`);
  }
  if (has('contains') && indexOfBytes(v, r.contains) < 0) report(s, 'bytes.contains', `value does not contain ${hex(r.contains)}`);
  if (r.in.length || r.notIn.length) inRules(s, 'bytes', r.in, r.notIn, (x) => bytesEq(x, v), hex);
  if (has('const') && !bytesEq(v, r.const)) report(s, 'bytes.const', `value must equal ${hex(r.const)}`);
  const wk = r.wellKnown;
  if (wk.case && wk.value) {
    const ok = wk.case === 'ip' ? v.length === 4 || v.length === 16
      : wk.case === 'ipv4' ? isIPv4Bytes(v)
      : v.length === 16 && !isIPv4Bytes(v);
    if (!ok) report(s, `bytes.${wk.case}`, `value must be a valid ${{ ip: 'IP', ipv4: 'IPv4', ipv6: 'IPv6' }[wk.case]} address`);
  }
  if (has('pattern')) patternRule(s, 'bytes.pattern', r.pattern, new TextDecoder().decode(v));
}

// --- well-known types ------------------------------------------------------------------------

function anyRules(s: Sink, r: AnyRules, md: DescMessage, rm: ReflectMessage | undefined): void {
  if (r.required && !rm) report(s, 'any.required', 'value is required');
  if (!rm || md.typeName !== 'google.protobuf.Any') return;
  const url = (rm.message as Any).typeUrl;
  if (r.in.length) {
    if (!r.in.includes(url)) report(s, 'any.in', `type URL must be in list ${fmtList(r.in, (x) => JSON.stringify(x))}`);
  } else if (r.notIn.includes(url)) {
    report(s, 'any.not_in', `type URL must not be in list ${fmtList(r.notIn, (x) => JSON.stringify(x))}`);
  }
}

const NS = 1_000_000_000n;
const NS_INT = 1_000_000_000;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const nanos = (d: Duration | Timestamp): bigint => d.seconds * NS + BigInt(d.nanos);
/** Go's Duration.AsDuration saturates at the int64 nanosecond range. */
const durationNs = (d: Duration): bigint => {
  const n = nanos(d);
  return n < INT64_MIN ? INT64_MIN : n > INT64_MAX ? INT64_MAX : n;
};

function formatDuration(ns: bigint): string {
  const neg = ns < 0n;
  const abs = neg ? -ns : ns;
  const frac = (abs % NS).toString().padStart(9, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${abs / NS}${frac ? `.${frac}` : ''}s`;
}

function formatTimestamp(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const d = new Date(Number(ms));
  const frac = (((ns % NS) + NS) % NS).toString().padStart(9, '0').replace(/0+$/, '');
  return Number.isNaN(d.getTime()) ? `${ns}ns` : d.toISOString().replace(/\.\d+Z$/, `${frac ? `.${frac}` : ''}Z`);
}

function durationRules(s: Sink, r: DurationRules, md: DescMessage, rm: ReflectMessage | undefined): void {
  if (r.required && !rm) report(s, 'duration.required', 'value is required');
  const hasChecks = r.const || r.lt || r.lte || r.gt || r.gte || r.in.length || r.notIn.length;
  if (!rm || md.typeName !== 'google.protobuf.Duration' || !hasChecks) return;
  const d = rm.message as Duration;
  const validSign = !(d.seconds < 0n && d.nanos > 0) && !(d.seconds > 0n && d.nanos < 0);
  if (d.seconds < -315_576_000_000n || d.seconds > 315_576_000_000n || d.nanos <= -NS_INT || d.nanos >= NS_INT || !validSign) {
    report(s, 'duration.valid', 'value is not a valid duration');
    return;
  }
  const v = durationNs(d);
  const opt = (x: Duration | undefined) => (x ? durationNs(x) : undefined);
  if (r.const && v !== durationNs(r.const)) report(s, 'duration.const', `value must equal ${formatDuration(durationNs(r.const))}`);
  checkRange(s, 'duration', v, { lt: opt(r.lt), lte: opt(r.lte), gt: opt(r.gt), gte: opt(r.gte) }, formatDuration);
  inRules(s, 'duration', r.in.map((x) => durationNs(x)), r.notIn.map((x) => durationNs(x)), (x) => x === v, formatDuration);
}

function timestampRules(s: Sink, r: TimestampRules, md: DescMessage, rm: ReflectMessage | undefined): void {
  if (r.required && !rm) report(s, 'timestamp.required', 'value is required');
  const hasChecks = r.const || r.lt || r.lte || r.gt || r.gte || r.ltNow || r.gtNow || r.within;
  if (!rm || md.typeName !== 'google.protobuf.Timestamp' || !hasChecks) return;
  const t = rm.message as Timestamp;
  if (t.seconds < -62_135_596_800n || t.seconds > 253_402_300_799n || t.nanos < 0 || t.nanos >= NS_INT) {
    report(s, 'timestamp.valid', 'value is not a valid timestamp');
    return;
  }
  const v = nanos(t);
  if (r.const && v !== nanos(r.const)) report(s, 'timestamp.const', `value must equal ${formatTimestamp(nanos(r.const))}`);
  if (r.lt || r.lte || r.gt || r.gte) {
    const opt = (x: Timestamp | undefined) => (x ? nanos(x) : undefined);
    checkRange(s, 'timestamp', v, { lt: opt(r.lt), lte: opt(r.lte), gt: opt(r.gt), gte: opt(r.gte) }, formatTimestamp);
    return;
  }
  const within = r.within ? durationNs(r.within) : undefined;
  const now = (r.ltNow || r.gtNow || within !== undefined) ? s.ctx.now() : 0n;
  const w = within === undefined ? '' : ` within ${formatDuration(within)}`;
  if (r.ltNow) {
    if (v >= now) report(s, 'timestamp.lt_now', `value must be less than now${w}`);
    else if (within !== undefined && v < now - within) report(s, 'timestamp.within', `value must be less than now${w}`);
  } else if (r.gtNow) {
    if (v <= now) report(s, 'timestamp.gt_now', `value must be greater than now${w}`);
    else if (within !== undefined && v > now + within) report(s, 'timestamp.within', `value must be greater than now${w}`);
  } else if (within !== undefined && (v >= now + within || v <= now - within)) {
    report(s, 'timestamp.within', `value must be within ${formatDuration(within)} of now`);
  }
}
