// What a worker derived from a list of resources, found again when another proxy receives a list
// that starts with the same bytes. Thousands of simulated proxies receive the same clusters
// followed by a few of their own (inbound clusters, the proxy's own listener): scanning each copy
// in JavaScript cost the simulator more CPU than isthmusd spent serving it. The shared prefix is
// found by comparing bytes (native memcmp), so a reuse is exact: no hash that could collide, and
// no trust in the server's version strings. Protobuf parsing is deterministic from the start of a
// list, so resources that end within equal leading bytes are the same resources.
import type { Span } from './xds-scan.js';

/** Lists smaller than this are cheap to scan and not worth keeping a copy of. */
const MIN_BYTES = 16 * 1024;
/** Lists remembered per kind (the views of one mesh are few). */
const PER_KIND = 8;
/** Bytes compared per step while looking for the first difference. */
const STEP = 64 * 1024;

export class KnownList<T> {
  /** Results that depend only on how many leading resources were reused (see `byPrefix`). */
  private readonly prefixes = new Map<number, unknown>();

  constructor(
    readonly bytes: Buffer,
    /** End of each resource, relative to the list's start. */
    readonly ends: number[],
    readonly values: T[],
  ) {}

  /** A value computed once per number of leading resources reused. */
  byPrefix<R>(count: number, compute: () => R): R {
    if (!this.prefixes.has(count)) this.prefixes.set(count, compute());
    return this.prefixes.get(count) as R;
  }

  /** How many leading bytes of `buf[start, end)` equal this list's. */
  commonPrefix(buf: Buffer, start: number, end: number): number {
    const max = Math.min(end - start, this.bytes.length);
    let equal = 0;
    while (equal < max) {
      const step = Math.min(STEP, max - equal);
      if (this.bytes.compare(buf, start + equal, start + equal + step, equal, equal + step) !== 0) break;
      equal += step;
    }
    if (equal === max) return equal;
    // The difference is within the next step: narrow it down by halves.
    let lo = equal;
    let hi = Math.min(equal + STEP, max);
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (this.bytes.compare(buf, start + lo, start + mid, lo, mid) === 0) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /** Leading resources that end within `bytes` bytes. */
  resourcesWithin(bytes: number): number {
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! <= bytes) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export interface Reuse<T> {
  /** One value per resource. */
  values: T[];
  /** How many leading values came from `known`. */
  reused: number;
  known?: KnownList<T>;
}

/** A run of resources at the start of a list that equals the start of a remembered list. */
export interface Prefix<T> {
  known: KnownList<T>;
  /** Where the run starts in the received buffer, how many resources it holds, where it ends. */
  start: number;
  count: number;
  end: number;
}

export class KnownLists<T> {
  private readonly lists = new Map<string, KnownList<T>[]>();

  /** The longest run of resources starting at `start` (a resource's tag) equal to the start of a remembered list. */
  prefix(kind: string, buf: Buffer, start: number): Prefix<T> | undefined {
    let best: Prefix<T> | undefined;
    for (const known of this.lists.get(kind) ?? []) {
      const count = known.resourcesWithin(known.commonPrefix(buf, start, buf.length));
      if (count > (best?.count ?? 0)) best = { known, start, count, end: start + known.ends[count - 1]! };
    }
    return best;
  }

  /**
   * One value per resource: those of `prefix` (if any) reused, then one from `derive` per span of
   * `rest` (the resources after it, contiguous, in order). A list mostly unlike any remembered
   * one is remembered.
   */
  values(kind: string, buf: Buffer, prefix: Prefix<T> | undefined, rest: readonly Span[], derive: (span: Span) => T): Reuse<T> {
    const reused = prefix?.count ?? 0;
    const values = prefix ? prefix.known.values.slice(0, reused) : [];
    for (const span of rest) values.push(derive(span));
    const start = prefix?.start ?? rest[0]?.start ?? 0;
    const end = rest.length ? rest[rest.length - 1]!.end : (prefix?.end ?? 0);
    if (end - start < MIN_BYTES || reused >= values.length / 2) return { values, reused, known: prefix?.known };
    const ends = [...(prefix ? prefix.known.ends.slice(0, reused) : []), ...rest.map((r) => r.end - start)];
    const known = new KnownList(Buffer.from(buf.subarray(start, end)), ends, values.slice());
    let list = this.lists.get(kind);
    if (!list) this.lists.set(kind, (list = []));
    if (list.length >= PER_KIND) list.shift();
    list.push(known);
    return { values, reused: values.length, known };
  }
}
