// Objects a push takes over from the push before when their content is unchanged. Output kept
// across pushes (PushContext.durable) is keyed by the identity of its inputs, so an unchanged
// service, VirtualService or DestinationRule must be the very same object in the next push.
// Taking an object over only ever depends on equal content, so it is safe whatever changed.

/** Structural equality of config-shaped values: primitives, arrays, plain objects, Sets, Maps. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return Number.isNaN(a) && Number.isNaN(b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (a.length !== other.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], other[i])) return false;
    return true;
  }
  if (a instanceof Set) {
    const other = b as Set<unknown>;
    if (a.size !== other.size) return false;
    for (const v of a) if (!other.has(v)) return false;
    return true;
  }
  if (a instanceof Map) {
    const other = b as Map<unknown, unknown>;
    if (a.size !== other.size) return false;
    for (const [k, v] of a) if (!other.has(k) || !deepEqual(v, other.get(k))) return false;
    return true;
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/**
 * One push's objects of a kind by key. `of` hands back the previous push's object for a key when
 * it equals the new one. Only the previous push's table is read (never older ones): a table holds
 * no reference to the one before it, so old pushes' objects are not kept alive.
 */
export class Canon<T> {
  readonly table = new Map<string, T>();

  constructor(private readonly previous?: ReadonlyMap<string, T>) {}

  of(key: string, value: T): T {
    // A key seen twice in one push (never expected) keeps both objects apart.
    if (this.table.has(key)) return value;
    const before = this.previous?.get(key);
    const out = before !== undefined && (before === value || deepEqual(before, value)) ? before : value;
    this.table.set(key, out);
    return out;
  }
}
