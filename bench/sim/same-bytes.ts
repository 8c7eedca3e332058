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

export class KnownLists<T> {
  private readonly lists = new Map<string, KnownList<T>[]>();

  /**
   * One value per resource span (contiguous, in order): those of the longest run of leading
   * resources equal to a remembered list's are reused, the rest come from `derive`.
   */
  values(kind: string, buf: Buffer, spans: readonly Span[], derive: (span: Span) => T): Reuse<T> {
    const start = spans[0]?.start ?? 0;
    const end = spans[spans.length - 1]?.end ?? 0;
    if (end - start < MIN_BYTES) return { values: spans.map(derive), reused: 0 };
    let list = this.lists.get(kind);
    if (!list) this.lists.set(kind, (list = []));
    let best: KnownList<T> | undefined;
    let reused = 0;
    for (const known of list) {
      const n = known.resourcesWithin(known.commonPrefix(buf, start, end));
      if (n > reused) [best, reused] = [known, n];
    }
    const values = best ? best.values.slice(0, reused) : [];
    for (let i = reused; i < spans.length; i++) values.push(derive(spans[i]!));
    if (reused < spans.length / 2) {
      const known = new KnownList(Buffer.from(buf.subarray(start, end)), spans.map((s) => s.end - start), values.slice());
      if (list.length >= PER_KIND) list.shift();
      list.push(known);
      return { values, reused: spans.length, known };
    }
    return { values, reused, known: best };
  }
}
