// Push debouncing merges a burst of changes into one push (PILOT_DEBOUNCE_AFTER / _MAX).
import assert from 'node:assert/strict';
import { Debouncer, envDurationMs } from '../pilot/xds/debounce.js';

describe('debouncer', () => {
  const merge = (a: Set<string>, b: Set<string>) => new Set([...a, ...b]);

  it('fires once for a burst, with every event merged', async () => {
    const fired: string[][] = [];
    const d = new Debouncer<Set<string>>({ afterMs: 30, maxMs: 10_000 }, merge, (e) => fired.push([...e].sort()));
    d.push(new Set(['a']));
    d.push(new Set(['b']));
    d.push(new Set(['a', 'c']));
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(fired, [['a', 'b', 'c']]);
  });

  it('does not let a steady stream of events postpone the push past the maximum', () => {
    let clock = 0;
    const fired: number[] = [];
    const d = new Debouncer<Set<string>>({ afterMs: 100, maxMs: 250 }, merge, () => fired.push(clock), () => clock);
    // With a fake clock, the wait handed to the timer shrinks as the burst ages.
    const waits: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((_fn: () => void, ms: number) => {
      waits.push(ms);
      return realSetTimeout(() => {}, 0);
    }) as typeof setTimeout;
    try {
      for (clock = 0; clock <= 240; clock += 60) d.push(new Set([String(clock)]));
    } finally {
      globalThis.setTimeout = realSetTimeout;
      d.stop();
    }
    assert.deepEqual(waits, [100, 100, 100, 70, 10]);
  });

  it('reads Istio duration values', () => {
    assert.equal(envDurationMs('100ms', 1), 100);
    assert.equal(envDurationMs('10s', 1), 10_000);
    assert.equal(envDurationMs(undefined, 7), 7);
    assert.throws(() => envDurationMs('soon', 1), /invalid duration "soon"/);
  });
});
