// The load simulator's reuse of what it derived from resource lists (bench/sim/same-bytes.ts):
// leading resources byte-equal to a remembered list's reuse its values, and reuse stops exactly
// at the first resource that differs, wherever in it the difference is.
import assert from 'node:assert/strict';
import { KnownLists } from '../bench/sim/same-bytes.js';
import type { Span } from '../bench/sim/xds-scan.js';

/** Resources of `size` bytes laid end to end, each filled with its label's bytes. */
function list(labels: string[], size = 4096): { buf: Buffer; spans: Span[] } {
  const buf = Buffer.alloc(labels.length * size);
  const spans = labels.map((label, i) => {
    buf.fill(label, i * size, (i + 1) * size);
    return { start: i * size, end: (i + 1) * size };
  });
  return { buf, spans };
}

describe('load simulator: values derived once per identical run of resources', () => {
  const labelOf = (buf: Buffer) => (span: Span) => buf.toString('latin1', span.start, span.start + 1) + (span.end - span.start);

  it('reuses the leading resources equal to a remembered list and derives the rest', () => {
    const known = new KnownLists<string>();
    let derived = 0;
    const derive = (buf: Buffer) => (span: Span) => (derived++, labelOf(buf)(span));
    const a = list(['a', 'b', 'c', 'd', 'e', 'f']);
    const first = known.values('cds', a.buf, a.spans, derive(a.buf));
    assert.equal(derived, 6);
    assert.deepEqual(first.values, ['a4096', 'b4096', 'c4096', 'd4096', 'e4096', 'f4096']);

    const b = list(['a', 'b', 'c', 'd', 'x', 'y']);
    derived = 0;
    const second = known.values('cds', b.buf, b.spans, derive(b.buf));
    assert.equal(second.reused, 4);
    assert.equal(derived, 2, 'only the resources after the shared ones');
    assert.deepEqual(second.values, ['a4096', 'b4096', 'c4096', 'd4096', 'x4096', 'y4096']);
  });

  it('stops at the resource holding the first different byte, even its last byte', () => {
    const known = new KnownLists<string>();
    const a = list(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], 20_000);
    known.values('cds', a.buf, a.spans, labelOf(a.buf));
    const b = list(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], 20_000);
    b.buf[b.spans[5]!.end - 1] = 0x7a; // the last byte of the sixth resource
    let derived = 0;
    const r = known.values('cds', b.buf, b.spans, (span) => (derived++, labelOf(b.buf)(span)));
    assert.equal(r.reused, 5);
    assert.equal(derived, 3);
  });

  it('kinds are kept apart, and small lists are always derived', () => {
    const known = new KnownLists<string>();
    const a = list(['a', 'b', 'c', 'd', 'e']);
    known.values('cds', a.buf, a.spans, labelOf(a.buf));
    let derived = 0;
    known.values('lds', a.buf, a.spans, (span) => (derived++, labelOf(a.buf)(span)));
    assert.equal(derived, a.spans.length, 'nothing reused from the cds list with the same bytes');
    const small = list(['a', 'b'], 100);
    assert.equal(known.values('cds', small.buf, small.spans, labelOf(small.buf)).known, undefined);
  });
});
