// Generated config kept across pushes (PushContext.durable): bounded by PILOT_XDS_CACHE_SIZE.
// Two generations instead of an exact LRU list, so that a hit (the common case, thousands per
// proxy during a cold start) is one map lookup and reorders nothing.

export class DurableCache {
  /** Entries used since the last rotation. */
  private recent = new Map<string, unknown>();
  /** Entries of the generation before: moved back to `recent` when used, dropped at the next rotation if not. */
  private older = new Map<string, unknown>();
  readonly stats = { hits: 0, misses: 0, evictions: 0 };
  private readonly generation: number;

  /** At most `limit` entries: a generation rotates when it holds half of them. */
  constructor(limit: number) {
    this.generation = Math.max(1, Math.floor(limit / 2));
  }

  get size(): number {
    return this.recent.size + this.older.size;
  }

  get<T>(key: string, build: () => T): T {
    const found = this.recent.get(key);
    if (found !== undefined || this.recent.has(key)) {
      this.stats.hits++;
      return found as T;
    }
    if (this.older.has(key)) {
      this.stats.hits++;
      const value = this.older.get(key) as T;
      this.older.delete(key);
      this.put(key, value);
      return value;
    }
    this.stats.misses++;
    const value = build();
    this.put(key, value);
    return value;
  }

  private put(key: string, value: unknown): void {
    this.recent.set(key, value);
    if (this.recent.size < this.generation) return;
    this.stats.evictions += this.older.size;
    this.older = this.recent;
    this.recent = new Map();
  }
}
