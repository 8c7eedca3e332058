// xDS responses encoded from shared parts decode, with the full protobuf decoder, to exactly the
// resources, names, versions and removals they were planned from, whether a part is written in
// place (small) or copied from its once-encoded block (large, shared between responses).
import assert from 'node:assert/strict';
import { fromBinary } from '@bufbuild/protobuf';
import { type Any } from '@bufbuild/protobuf/wkt';
import { DeltaDiscoveryResponseSchema, DiscoveryResponseSchema } from '../gen/envoy/service/discovery/v3/discovery_pb.js';
import type { NamedResource } from '../pilot/networking/generator.js';
import { contentHash, deltaDiscoveryResponse, discoveryResponse, serializeResponse } from '../pilot/xds/encode.js';

const TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

function resource(name: string, size: number): NamedResource {
  const value = Buffer.alloc(size, name.length % 251);
  value.write(name);
  return { name, resource: { $typeName: 'google.protobuf.Any', typeUrl: TYPE, value } as Any };
}

const part = (prefix: string, n: number, size = 40) => Array.from({ length: n }, (_, i) => resource(`${prefix}-${i}`, size + i * 37));

describe('xDS response encoding from shared parts', () => {
  const shared = part('outbound', 20, 200); // encoded once as a block
  const own = part('inbound', 2); // written in place
  const huge = [resource('big', 300_000)]; // one resource with a multi-byte length

  it('SotW: every resource of every part, in order, with version, type and nonce', () => {
    for (const parts of [[shared, own], [own, [], shared, huge], [shared]]) {
      const bytes = discoveryResponse(TYPE, '2026-11-24T00:00:00Z/7', 'nonce-1', parts).toBuffer();
      const msg = fromBinary(DiscoveryResponseSchema, bytes);
      assert.equal(msg.versionInfo, '2026-11-24T00:00:00Z/7');
      assert.equal(msg.typeUrl, TYPE);
      assert.equal(msg.nonce, 'nonce-1');
      const expected = parts.flat();
      assert.equal(msg.resources.length, expected.length);
      msg.resources.forEach((a, i) => {
        assert.equal(a.typeUrl, TYPE);
        assert.ok(Buffer.from(a.value).equals(Buffer.from(expected[i]!.resource.value)), `resource ${i} differs`);
      });
    }
  });

  it('a block is reused: two responses sharing a part differ only in their header', () => {
    const a = discoveryResponse(TYPE, 'v1', 'n1', [shared]).toBuffer();
    const b = discoveryResponse(TYPE, 'v1', 'n2', [shared]).toBuffer();
    assert.equal(a.length, b.length);
    assert.ok(a.subarray(a.length - 200).equals(b.subarray(b.length - 200)));
    assert.ok(!a.equals(b));
  });

  it('a gRPC frame is the prefix and the message, with shared blocks as chunks of their own (not copies)', () => {
    for (const parts of [[shared, own], [own, shared, own], [shared], [own], [shared, huge, shared]]) {
      const a = discoveryResponse(TYPE, 'v1', 'n1', parts);
      const b = deltaDiscoveryResponse(TYPE, 'v2', 'n2', parts, ['gone']);
      for (const r of [a, b]) {
        const chunks = r.grpcFrame();
        assert.ok(chunks.every((c) => c.length > 0), 'no empty chunks');
        const frame = Buffer.concat(chunks);
        assert.equal(frame[0], 0);
        assert.equal(frame.readUInt32BE(1), r.size);
        assert.ok(frame.subarray(5).equals(r.toBuffer()));
      }
    }
    const one = discoveryResponse(TYPE, 'v1', 'n1', [own, shared]).grpcFrame();
    const two = discoveryResponse(TYPE, 'v2', 'n2', [shared]).grpcFrame();
    const blocksOf = (chunks: Buffer[]) => chunks.filter((c) => c.length > 1000);
    assert.equal(blocksOf(one).length, 1);
    assert.equal(blocksOf(one)[0], blocksOf(two)[0], 'the same block object in both frames');
    const value = huge[0]!.resource.value;
    const withHuge = discoveryResponse(TYPE, 'v3', 'n3', [own, huge]).grpcFrame();
    assert.ok(withHuge.some((c) => c.buffer === value.buffer && c.byteOffset === value.byteOffset && c.length === value.length), 'a large resource is a chunk of its own, not a copy');
  });

  it('Delta: names, content-hash versions, resources and removed names', () => {
    const removed = ['gone-1', 'gone-ü'];
    const bytes = deltaDiscoveryResponse(TYPE, 'v9', 'n9', [own, shared], removed).toBuffer();
    const msg = fromBinary(DeltaDiscoveryResponseSchema, bytes);
    assert.equal(msg.systemVersionInfo, 'v9');
    assert.equal(msg.typeUrl, TYPE);
    assert.equal(msg.nonce, 'n9');
    assert.deepEqual(msg.removedResources, removed);
    const expected = [...own, ...shared];
    assert.deepEqual(msg.resources.map((r) => r.name), expected.map((r) => r.name));
    assert.deepEqual(msg.resources.map((r) => r.version), expected.map((r) => contentHash(r.resource)));
    msg.resources.forEach((r, i) => assert.ok(Buffer.from(r.resource!.value).equals(Buffer.from(expected[i]!.resource.value))));
  });

  it('serializes into a reused buffer that holds exactly the planned bytes', () => {
    const r = discoveryResponse(TYPE, 'v1', 'n1', [shared, own]);
    const viaScratch = Buffer.from(serializeResponse(r));
    assert.equal(viaScratch.length, r.size);
    assert.ok(viaScratch.equals(r.toBuffer()));
    const empty = fromBinary(DiscoveryResponseSchema, serializeResponse(discoveryResponse(TYPE, 'v2', 'n2', [])));
    assert.equal(empty.resources.length, 0);
    assert.equal(empty.versionInfo, 'v2');
  });
});
