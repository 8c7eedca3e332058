// SotW and Delta requests read from the wire agree with the full protobuf decoder, and keep their
// names as bytes that compare equal exactly when the encoded subscription is the same.
import assert from 'node:assert/strict';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { NodeSchema } from '../gen/envoy/config/core/v3/base_pb.js';
import { DeltaDiscoveryRequestSchema, DiscoveryRequestSchema } from '../gen/envoy/service/discovery/v3/discovery_pb.js';
import { readDeltaRequest, readSotwRequest } from '../pilot/xds/request-wire.js';
import { encodingOf, internNames, namesFromEncoding, namesList } from '../pilot/xds/subscriptions.js';

const encode = (init: Parameters<typeof create<typeof DiscoveryRequestSchema>>[1]) => Buffer.from(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, init)));

describe('SotW requests read from the wire', () => {
  it('reads what the full decoder reads: version, node, names, type, nonce', () => {
    const bytes = encode({
      versionInfo: 'v7',
      node: { id: 'sidecar~10.0.0.1~a.ns~ns.svc.cluster.local', cluster: 'a.ns' },
      resourceNames: ['outbound|80||a.ns.svc.cluster.local', 'outbound|80|v1|b.ns.svc.cluster.local', 'ünïcode'],
      typeUrl: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
      responseNonce: 'n-1',
    });
    const full = fromBinary(DiscoveryRequestSchema, bytes);
    const req = readSotwRequest(bytes);
    assert.equal(req.versionInfo, full.versionInfo);
    assert.equal(req.node?.id, full.node?.id);
    assert.equal(req.node?.cluster, 'a.ns');
    assert.deepEqual(req.resourceNames, full.resourceNames);
    assert.equal(req.typeUrl, full.typeUrl);
    assert.equal(req.responseNonce, full.responseNonce);
    assert.equal(req.errorDetail, undefined);
  });

  it('keeps no view of the request but its names: its memory may be reused once they are read', () => {
    // A node with a field this Envoy API version does not know (field 100): decoders keep such
    // fields as views of their input, and re-encoding the node writes them back.
    const known = Buffer.from(toBinary(NodeSchema, create(NodeSchema, { id: 'sidecar~10.0.0.1~a.ns~ns.svc.cluster.local', cluster: 'a.ns', metadata: { NAMESPACE: 'ns' } })));
    const node = Buffer.concat([known, Buffer.from([0xa2, 0x06, 0x02, 0x68, 0x69])]);
    const withNode = (rest: Buffer) => Buffer.concat([Buffer.from([0x12, node.length]), node, rest]);
    const wire = readSotwRequest(withNode(encode({ typeUrl: 't', resourceNames: ['a'] })));
    const full = readSotwRequest(withNode(encode({ typeUrl: 't', responseNonce: 'n', errorDetail: { message: 'bad' } })));
    for (const req of [wire, full]) {
      req.bytes.fill(0);
      assert.ok(Buffer.from(toBinary(NodeSchema, req.node!)).equals(node), 'the node, unknown field included, survives its request');
    }
    assert.equal(full.errorDetail?.message, 'bad');
  });

  it('names compare as bytes: equal for a repeated subscription, different otherwise', () => {
    const a = readSotwRequest(encode({ typeUrl: 't', responseNonce: '1', resourceNames: ['x', 'y'] }));
    const b = readSotwRequest(encode({ typeUrl: 't', responseNonce: '2', versionInfo: 'v2', resourceNames: ['x', 'y'] }));
    const c = readSotwRequest(encode({ typeUrl: 't', responseNonce: '2', resourceNames: ['x', 'z'] }));
    assert.ok(a.namesBytes.equals(b.namesBytes));
    assert.ok(!a.namesBytes.equals(c.namesBytes));
    assert.equal(readSotwRequest(encode({ typeUrl: 't' })).namesBytes.length, 0);
  });

  it('names split by another field still read in full (through the full decoder)', () => {
    // resource_names "x", type_url "t", resource_names "y": valid protobuf, unusual order.
    const req = readSotwRequest(Buffer.from([0x1a, 0x01, 0x78, 0x22, 0x01, 0x74, 0x1a, 0x01, 0x79]));
    assert.deepEqual(req.resourceNames, ['x', 'y']);
    assert.equal(req.typeUrl, 't');
  });

  it('a NACK goes through the full decoder and keeps its error detail', () => {
    const req = readSotwRequest(encode({ typeUrl: 't', responseNonce: '3', resourceNames: ['x'], errorDetail: { code: 3, message: 'bad listener' } }));
    assert.equal(req.errorDetail?.message, 'bad listener');
    assert.deepEqual(req.resourceNames, ['x']);
  });

  it('rejects truncated and malformed input', () => {
    const good = encode({ typeUrl: 'type.googleapis.com/x', resourceNames: ['abc'] });
    assert.throws(() => readSotwRequest(good.subarray(0, good.length - 2)));
    assert.throws(() => readSotwRequest(Buffer.from([0x0a, 0x02, 0xff, 0xfe])), 'invalid UTF-8 in version_info');
    assert.throws(() => readSotwRequest(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])));
  });
});

const encodeDelta = (init: Parameters<typeof create<typeof DeltaDiscoveryRequestSchema>>[1]) => Buffer.from(toBinary(DeltaDiscoveryRequestSchema, create(DeltaDiscoveryRequestSchema, init)));

describe('Delta requests read from the wire', () => {
  it('reads what the full decoder reads: node, type, subscribed and unsubscribed names, nonce', () => {
    const bytes = encodeDelta({
      node: { id: 'sidecar~10.0.0.2~b.ns~ns.svc.cluster.local' },
      typeUrl: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
      resourceNamesSubscribe: ['outbound|80||a.ns.svc.cluster.local', 'ünïcode'],
      resourceNamesUnsubscribe: ['gone'],
      responseNonce: 'n-2',
    });
    const full = fromBinary(DeltaDiscoveryRequestSchema, bytes);
    const req = readDeltaRequest(bytes);
    assert.equal(req.node?.id, full.node?.id);
    assert.equal(req.typeUrl, full.typeUrl);
    assert.deepEqual(req.resourceNamesSubscribe, full.resourceNamesSubscribe);
    assert.deepEqual(req.resourceNamesUnsubscribe, full.resourceNamesUnsubscribe);
    assert.equal(req.responseNonce, full.responseNonce);
    assert.deepEqual(req.initialResourceVersions, {});
    assert.ok(req.subscribeBytes.length > 0);
  });

  it('initial resource versions and NACKs go through the full decoder', () => {
    const resumed = readDeltaRequest(encodeDelta({ typeUrl: 't', resourceNamesSubscribe: ['a'], initialResourceVersions: { a: 'h1' } }));
    assert.deepEqual(resumed.initialResourceVersions, { a: 'h1' });
    assert.deepEqual(resumed.resourceNamesSubscribe, ['a']);
    const nack = readDeltaRequest(encodeDelta({ typeUrl: 't', responseNonce: '4', errorDetail: { code: 3, message: 'bad cluster' } }));
    assert.equal(nack.errorDetail?.message, 'bad cluster');
  });

  it('rejects truncated input', () => {
    const good = encodeDelta({ typeUrl: 'type.googleapis.com/x', resourceNamesSubscribe: ['abc'] });
    assert.throws(() => readDeltaRequest(good.subarray(0, good.length - 2)));
  });
});

describe('subscriptions found again from their encoding', () => {
  it('keeps copies of the encodings it remembers, never views of a request', () => {
    const request = encode({ typeUrl: 't', resourceNames: ['keep-1', 'keep-2', 'keep-3'] });
    const bytes = readSotwRequest(request).namesBytes;
    const original = Buffer.from(bytes);
    const names = namesFromEncoding(bytes, () => ['keep-1', 'keep-2', 'keep-3']);
    request.fill(0);
    assert.ok(encodingOf(names)?.equals(original), 'the remembered encoding survives its request');
    assert.equal(namesFromEncoding(original, () => assert.fail('found again from its bytes')), names);
  });

  it('equal bytes give the same interned set without decoding; other bytes decode', () => {
    const names = Array.from({ length: 50 }, (_, i) => `outbound|80||svc-${i}.ns.svc.cluster.local`);
    const bytes = () => readSotwRequest(encode({ typeUrl: 't', resourceNames: names })).namesBytes;
    let decoded = 0;
    const first = namesFromEncoding(bytes(), () => (decoded++, names));
    const again = namesFromEncoding(bytes(), () => (decoded++, names));
    assert.equal(again, first);
    assert.equal(decoded, 1, 'the second lookup compared bytes instead of decoding');
    assert.equal(first, internNames([...names].reverse()), 'the interned set of those names');
    const other = [...names.slice(1), 'outbound|80||svc-x.ns.svc.cluster.local'];
    const third = namesFromEncoding(readSotwRequest(encode({ typeUrl: 't', resourceNames: other })).namesBytes, () => (decoded++, other));
    assert.equal(decoded, 2);
    assert.deepEqual(namesList(third), other);
    // The same names in another order: the same set, and those bytes are recognised next time too.
    const reversed = [...names].reverse();
    const reversedBytes = () => readSotwRequest(encode({ typeUrl: 't', resourceNames: reversed })).namesBytes;
    assert.equal(namesFromEncoding(reversedBytes(), () => (decoded++, reversed)), first);
    assert.equal(namesFromEncoding(reversedBytes(), () => (decoded++, reversed)), first);
    assert.equal(decoded, 3, 'another order decodes once');
  });
});
