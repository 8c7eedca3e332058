// Objects a push takes over from the push before when their content is unchanged. Output kept
// across pushes (PushContext.durable) is keyed by the identity of its inputs, so an unchanged
// service, VirtualService or DestinationRule must be the very same object in the next push.
// Taking an object over only ever depends on equal content, so it is safe whatever changed.

/** Whether two lists hold the very same objects in the same order. */
export function sameElements<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Structural equality of config-shaped values: primitives, arrays, plain objects, Sets, Maps.
 * Order counts everywhere (object keys, Set and Map entries): translation emits some maps in
 * their written order (query parameter matches), so a reordered object is a changed one.
 */
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
  if (a instanceof Set || a instanceof Map) {
    const other = b as Set<unknown> | Map<unknown, unknown>;
    if (a.size !== other.size) return false;
    const theirs = other.entries();
    for (const [k, v] of a.entries()) {
      const [ok, ov] = theirs.next().value as [unknown, unknown];
      if (k !== ok || !deepEqual(v, ov)) return false;
    }
    return true;
  }
  // Only plain objects (parsed config, registry records) are compared by their keys.
  if (Object.getPrototypeOf(a) !== Object.prototype && Object.getPrototypeOf(a) !== null) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i] || !deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
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
