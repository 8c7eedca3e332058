// SotW requests read from the wire agree with the full protobuf decoder, and keep their names
// as bytes that compare equal exactly when the encoded subscription is the same.
import assert from 'node:assert/strict';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { DiscoveryRequestSchema } from '../gen/envoy/service/discovery/v3/discovery_pb.js';
import { readSotwRequest } from '../pilot/xds/request-wire.js';

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

  it('names compare as bytes: equal for a repeated subscription, different otherwise', () => {
    const a = readSotwRequest(encode({ typeUrl: 't', responseNonce: '1', resourceNames: ['x', 'y'] }));
    const b = readSotwRequest(encode({ typeUrl: 't', responseNonce: '2', versionInfo: 'v2', resourceNames: ['x', 'y'] }));
    const c = readSotwRequest(encode({ typeUrl: 't', responseNonce: '2', resourceNames: ['x', 'z'] }));
    assert.ok(a.namesBytes.equals(b.namesBytes));
    assert.ok(!a.namesBytes.equals(c.namesBytes));
    assert.equal(readSotwRequest(encode({ typeUrl: 't' })).namesBytes.length, 0);
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
