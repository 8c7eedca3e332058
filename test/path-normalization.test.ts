// Every HTTP connection manager of sidecars and gateways normalizes paths as the mesh says
// (Istio's default BASE: RFC 3986 normalization), so path-based AuthorizationPolicies see the
// path the application will: `/public/../admin` is `/admin`.
import assert from 'node:assert/strict';
import type { Listener } from '../gen/envoy/config/listener/v3/listener_pb.js';
import { HttpConnectionManager_PathWithEscapedSlashesAction as Escaped } from '../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { meshConfigFromJson } from '../pilot/model/mesh-json.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { gatewayGenerators } from '../pilot/networking/gateway/index.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import { pushFromYaml } from './support/push.js';
import { generate, unpack } from './support/resources.js';
import { hcmOf, HTTP_GATEWAY, ingressRouter, REVIEWS_ENTRY, reviewsSidecar } from './support/security-fixtures.js';


/** [listener/chain, normalizePath, mergeSlashes, escaped slashes action] of every HTTP connection manager. */
function settings(mesh: Parameters<typeof pushFromYaml>[1]): [string, boolean | undefined, boolean, Escaped][] {
  const push = pushFromYaml(`${REVIEWS_ENTRY}\n---\n${HTTP_GATEWAY}`, mesh);
  const router = ingressRouter();
  const listeners = [...generate(sidecarGenerators, push, reviewsSidecar(), TYPE.listener), ...generate(gatewayGenerators, push, router, TYPE.listener)].map((r) => unpack<Listener>(r));
  const out: [string, boolean | undefined, boolean, Escaped][] = [];
  for (const l of listeners) {
    for (const c of l.filterChains) {
      const hcm = hcmOf(c.filters);
      if (hcm) out.push([`${l.name}/${c.name}`, hcm.normalizePath, hcm.mergeSlashes, hcm.pathWithEscapedSlashesAction]);
    }
  }
  return out;
}

describe('path normalization on HTTP connection managers', () => {
  it('normalizes paths everywhere by default (BASE)', () => {
    const all = settings({});
    assert.ok(all.some(([n]) => n.startsWith('virtualInbound/')) && all.some(([n]) => n.startsWith('0.0.0.0_80/')) && all.some(([n]) => n.startsWith('0.0.0.0_9080/')), JSON.stringify(all.map(([n]) => n)));
    for (const [name, normalize, merge, escaped] of all) assert.deepEqual([normalize, merge, escaped], [true, false, Escaped.KEEP_UNCHANGED], name);
  });

  it('follows MeshConfig pathNormalization', () => {
    const read = (normalization: unknown) => {
      const { mesh, errors } = meshConfigFromJson({ pathNormalization: { normalization } });
      assert.deepEqual(errors, []);
      return mesh.pathNormalization;
    };
    assert.equal(read('DEFAULT'), 'BASE');
    assert.equal(read(1), 'NONE');
    assert.deepEqual(meshConfigFromJson({ pathNormalization: { normalization: 'SOMETIMES' } }).errors, ['pathNormalization.normalization: unknown value "SOMETIMES"']);
    assert.deepEqual(meshConfigFromJson({ pathNormalization: 'NONE' }).errors, ['pathNormalization: not an object, e.g. {normalization: MERGE_SLASHES}']);
    assert.equal(meshConfigFromJson({ pathNormalization: { normalization: null } }).mesh.pathNormalization, 'BASE');
    for (const [name, normalize] of settings({ pathNormalization: read('NONE') })) assert.equal(normalize, false, name);
    for (const [name, normalize, merge, escaped] of settings({ pathNormalization: read('DECODE_AND_MERGE_SLASHES') })) {
      assert.deepEqual([normalize, merge, escaped], [true, true, Escaped.UNESCAPE_AND_FORWARD], name);
    }
  });
});
