// Merges bursts of change events into one push: fires after `afterMs` of quiet, or once
// `maxMs` have passed since the first event of the burst (Istio's PILOT_DEBOUNCE_AFTER / _MAX).

export interface DebounceOptions {
  afterMs: number;
  maxMs: number;
}

export class Debouncer<E> {
  private pending: E | undefined;
  private firstAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: DebounceOptions,
    private readonly merge: (a: E, b: E) => E,
    private readonly flush: (event: E, firstEventAt: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  push(event: E): void {
    if (this.pending === undefined) {
      this.pending = event;
      this.firstAt = this.now();
    } else {
      this.pending = this.merge(this.pending, event);
    }
    clearTimeout(this.timer);
    const sinceFirst = this.now() - this.firstAt;
    const wait = Math.max(0, Math.min(this.opts.afterMs, this.opts.maxMs - sinceFirst));
    this.timer = setTimeout(() => this.fire(), wait);
  }

  /** Fires any pending event now (used on shutdown and in tests). */
  flushNow(): void {
    if (this.pending !== undefined) this.fire();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.pending = undefined;
  }

  private fire(): void {
    clearTimeout(this.timer);
    const event = this.pending;
    this.pending = undefined;
    if (event !== undefined) this.flush(event, this.firstAt);
  }
}

/** Istio's duration env format ("100ms", "10s") → milliseconds. */
export function envDurationMs(value: string | undefined, fallbackMs: number): number {
  if (!value) return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new Error(`invalid duration ${JSON.stringify(value)}`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[unit]!;
}
