// The load simulator's reuse of what it derived from resource lists (bench/sim/same-bytes.ts):
// leading resources byte-equal to a remembered list's reuse its values, and reuse stops exactly
// at the first resource that differs, wherever in it the difference is.
import assert from 'node:assert/strict';
import { KnownLists, type Reuse } from '../bench/sim/same-bytes.js';
import { readSotwResponse, type Span } from '../bench/sim/xds-scan.js';
import { create, toBinary } from '@bufbuild/protobuf';
import { DiscoveryResponseSchema } from '../gen/envoy/service/discovery/v3/discovery_pb.js';

/** Resources of `size` bytes laid end to end, each filled with its label's bytes. */
function list(labels: string[], size = 4096): { buf: Buffer; spans: Span[] } {
  const buf = Buffer.alloc(labels.length * size);
  const spans = labels.map((label, i) => {
    buf.fill(label, i * size, (i + 1) * size);
    return { start: i * size, end: (i + 1) * size };
  });
  return { buf, spans };
}

/** What the simulator does with a response: reuse the known leading run, derive the rest. */
function valuesOf<T>(known: KnownLists<T>, kind: string, l: { buf: Buffer; spans: Span[] }, derive: (span: Span) => T): Reuse<T> {
  const prefix = known.prefix(kind, l.buf, l.spans[0]!.start);
  return known.values(kind, l.buf, prefix, l.spans.slice(prefix?.count ?? 0), derive);
}

describe('load simulator: values derived once per identical run of resources', () => {
  const labelOf = (buf: Buffer) => (span: Span) => buf.toString('latin1', span.start, span.start + 1) + (span.end - span.start);

  it('reuses the leading resources equal to a remembered list and derives the rest', () => {
    const known = new KnownLists<string>();
    let derived = 0;
    const derive = (buf: Buffer) => (span: Span) => (derived++, labelOf(buf)(span));
    const a = list(['a', 'b', 'c', 'd', 'e', 'f']);
    const first = valuesOf(known, 'cds', a, derive(a.buf));
    assert.equal(derived, 6);
    assert.deepEqual(first.values, ['a4096', 'b4096', 'c4096', 'd4096', 'e4096', 'f4096']);

    const b = list(['a', 'b', 'c', 'd', 'x', 'y']);
    derived = 0;
    const second = valuesOf(known, 'cds', b, derive(b.buf));
    assert.equal(second.reused, 4);
    assert.equal(derived, 2, 'only the resources after the shared ones');
    assert.deepEqual(second.values, ['a4096', 'b4096', 'c4096', 'd4096', 'x4096', 'y4096']);
  });

  it('stops at the resource holding the first different byte, even its last byte', () => {
    const known = new KnownLists<string>();
    const a = list(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], 20_000);
    valuesOf(known, 'cds', a, labelOf(a.buf));
    const b = list(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], 20_000);
    b.buf[b.spans[5]!.end - 1] = 0x7a; // the last byte of the sixth resource
    let derived = 0;
    const r = valuesOf(known, 'cds', b, (span) => (derived++, labelOf(b.buf)(span)));
    assert.equal(r.reused, 5);
    assert.equal(derived, 3);
  });

  it('kinds are kept apart, and small lists are always derived', () => {
    const known = new KnownLists<string>();
    const a = list(['a', 'b', 'c', 'd', 'e']);
    valuesOf(known, 'cds', a, labelOf(a.buf));
    let derived = 0;
    valuesOf(known, 'lds', a, (span) => (derived++, labelOf(a.buf)(span)));
    assert.equal(derived, a.spans.length, 'nothing reused from the cds list with the same bytes');
    const small = list(['a', 'b'], 100);
    assert.equal(valuesOf(known, 'cds', small, labelOf(small.buf)).known, undefined);
  });
});

describe('load simulator: reading a response past a known run of resources', () => {
  it('skips from the first resource to where `skip` says and still reads the envelope after it', () => {
    const resources = ['a', 'b', 'c', 'd'].map((n) => ({ $typeName: 'google.protobuf.Any' as const, typeUrl: 'type.googleapis.com/x', value: Buffer.from(n.repeat(100)) }));
    const buf = Buffer.from(toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, { versionInfo: 'v1', resources, typeUrl: 'type.googleapis.com/x', nonce: 'n1' })));
    const all = readSotwResponse(buf);
    assert.equal(all.resources.length, 4);
    let asked: [number, string] | undefined;
    const env = readSotwResponse(buf, { skip: (start, typeUrl) => ((asked = [start, typeUrl]), all.resources[1]!.end) });
    assert.deepEqual(asked, [all.resources[0]!.start, ''], 'asked at the first resource, before the type (written after the resources here)');
    assert.deepEqual(env.skipped, { start: all.resources[0]!.start, end: all.resources[1]!.end });
    assert.deepEqual(env.resources, all.resources.slice(2));
    assert.deepEqual([env.version, env.typeUrl, env.nonce], ['v1', 'type.googleapis.com/x', 'n1']);
    // Concatenated messages merge: the type URL first, as isthmusd writes it.
    const typeFirst = Buffer.concat([toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, { typeUrl: 'type.googleapis.com/x' })), toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, { resources }))]);
    const envelopeOnly = readSotwResponse(typeFirst, { wants: () => false });
    assert.deepEqual(envelopeOnly.resources, [], 'resources of an unwanted type (known before them) are not listed');
  });

  it('reads lengths of one, two, three and four varint bytes', () => {
    const sizes = [5, 200, 20_000, 3_000_000];
    const resources = sizes.map((n) => ({ $typeName: 'google.protobuf.Any' as const, typeUrl: 'type.googleapis.com/x', value: Buffer.alloc(n, 7) }));
    const version = 'v'.repeat(300);
    const buf = Buffer.from(toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, { versionInfo: version, resources, typeUrl: 'type.googleapis.com/x', nonce: 'n'.repeat(130) })));
    const env = readSotwResponse(buf);
    assert.deepEqual([env.version, env.typeUrl, env.nonce], [version, 'type.googleapis.com/x', 'n'.repeat(130)]);
    assert.equal(env.resources.length, sizes.length);
    env.resources.forEach((span, i) => assert.ok(span.end - span.start > sizes[i]!, `resource ${i} spans its ${sizes[i]} value bytes`));
  });
});
