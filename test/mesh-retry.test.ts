// MeshConfig defaultHttpRetryPolicy: the retries of routes whose VirtualService sets none, and of
// routes without a VirtualService (Istio's route.go and BuildDefaultHTTPOutboundRoute).
import assert from 'node:assert/strict';
import type { RouteConfiguration } from '../gen/envoy/config/route/v3/route_pb.js';
import { meshConfigFromJson } from '../pilot/model/mesh-json.js';
import { proxyFromNode } from '../pilot/model/proxy.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import { kubeService } from './support/meshfiles.js';
import { pushFromYaml } from './support/push.js';
import { generate, resourceProblems, unpack } from './support/resources.js';

const proxy = proxyFromNode({ id: 'sidecar~10.9.9.9~app.default~default.svc.cluster.local', metadata: { NAMESPACE: 'default' } });
const MESH = [kubeService('plain', 8080, [{ version: 'v1', port: 8080 }], 'default', 'http'), kubeService('routed', 8080, [{ version: 'v1', port: 8080 }], 'default', 'http')].join('\n---\n');
const vs = (retries: string) => `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: routed, namespace: default}
spec:
  hosts: [routed]
  http:
  - ${retries ? `retries: ${retries}\n    ` : ''}route:
    - destination: {host: routed}`;

function retriesByHost(yaml: string, mesh: Parameters<typeof pushFromYaml>[1]) {
  const push = pushFromYaml(yaml, mesh);
  const [rds] = generate(sidecarGenerators, push, proxy, TYPE.route, ['8080']);
  assert.deepEqual(resourceProblems(rds!), []);
  const rc = unpack<RouteConfiguration>(rds!);
  const out = new Map<string, { numRetries?: number; retryOn?: string } | undefined>();
  for (const vh of rc.virtualHosts) {
    const r = vh.routes[0]!;
    const p = r.action.case === 'route' ? r.action.value.retryPolicy : undefined;
    out.set(vh.name.split('.')[0]!, p && { numRetries: p.numRetries, retryOn: p.retryOn });
  }
  return out;
}

describe('MeshConfig defaultHttpRetryPolicy', () => {
  const meshRetries = meshConfigFromJson({ defaultHttpRetryPolicy: { attempts: 5, retryOn: 'gateway-error,503' } });

  it('is read from the mesh config with the VirtualService retries schema', () => {
    assert.deepEqual(meshRetries.errors, []);
    assert.deepEqual(meshRetries.mesh.defaultHttpRetryPolicy, { attempts: 5, retryOn: 'gateway-error,503' });
    assert.notDeepEqual(meshConfigFromJson({ defaultHttpRetryPolicy: { attempts: 'many' } }).errors, []);
  });

  it('applies to routes without retries of their own, with and without a VirtualService', () => {
    const got = retriesByHost(MESH + vs(''), meshRetries.mesh);
    assert.deepEqual(got.get('plain'), { numRetries: 5, retryOn: 'gateway-error,retriable-status-codes' });
    assert.deepEqual(got.get('routed'), { numRetries: 5, retryOn: 'gateway-error,retriable-status-codes' });
  });

  it("never overrides a VirtualService's own retries, and Istio's default stays without it", () => {
    const own = retriesByHost(MESH + vs('{attempts: 1, retryOn: reset}'), meshRetries.mesh);
    assert.deepEqual(own.get('routed'), { numRetries: 1, retryOn: 'reset' });
    const builtIn = retriesByHost(MESH + vs(''), {});
    assert.deepEqual(builtIn.get('plain'), { numRetries: 2, retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes' });
  });
});
