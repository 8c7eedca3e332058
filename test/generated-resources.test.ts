// Every resource the generators emit, for sidecars and proxyless gRPC alike, is held to Envoy's
// own protos: it round-trips through the wire format, every Any names a known type, and it
// satisfies the validate.rules (PGV) annotations read from Envoy's descriptors.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { equals, fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { anyUnpack, type Any } from '@bufbuild/protobuf/wkt';
import { validateMessage, formatViolations } from '../pilot/xds/pgv.js';
import { envoyRegistry } from '../pilot/networking/registry.js';
import { proxyFromNode, type Proxy } from '../pilot/model/proxy.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { grpcGenerators } from '../pilot/networking/grpc/index.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import type { GeneratorSet, NamedResource } from '../pilot/networking/generator.js';
import type { PushContext } from '../pilot/model/push-context.js';
import { ROOT } from './support/isthmusd.js';
import { pushFromYaml } from './support/push.js';

const FEATURES = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: default}
spec:
  hosts: [ratings]
  http:
  - name: everything
    match:
    - uri: {regex: "/v[0-9]+/.*"}
      headers: {x-user: {prefix: test}, x-any: {}}
      method: {exact: GET}
      queryParams: {debug: {exact: "1"}}
      withoutHeaders: {x-skip: {exact: "yes"}}
      ignoreUriCase: true
      name: m1
    rewrite: {uri: /new, authority: ratings.internal}
    timeout: 2.5s
    retries: {attempts: 3, perTryTimeout: 1s, retryOn: "5xx,503,gateway-error", retryRemoteLocalities: true}
    fault:
      delay: {fixedDelay: 100ms, percentage: {value: 10.5}}
      abort: {httpStatus: 503, percentage: {value: 1}}
    mirror: {host: ratings, subset: v1}
    mirrorPercentage: {value: 25}
    headers:
      request: {set: {x-a: "1"}, add: {x-b: "2"}, remove: [x-c]}
      response: {set: {x-d: "3"}}
    route:
    - destination: {host: ratings, subset: v1}
      weight: 70
      headers: {request: {set: {x-subset: v1}}}
    - destination: {host: ratings, subset: v2}
      weight: 30
  - match: [{uri: {exact: /old}}]
    redirect: {uri: /new, authority: example.com, redirectCode: 302, port: 8443, scheme: https}
  - match: [{uri: {prefix: /teapot}}]
    directResponse: {status: 418, body: {string: "short and stout"}}
  - match: [{uri: {prefix: /grpc}}]
    fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 50}}}
    route: [{destination: {host: ratings}}]
  - route: [{destination: {host: ratings, port: {number: 9080}}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: default}
spec:
  host: ratings
  trafficPolicy:
    loadBalancer: {consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 2048}}}
    connectionPool: {http: {http2MaxRequests: 100, http1MaxPendingRequests: 10, maxRequestsPerConnection: 5, idleTimeout: 30s}, tcp: {maxConnections: 20, connectTimeout: 2s}}
    outlierDetection: {consecutive5xxErrors: 3, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
  - name: v2
    labels: {version: v2}
---
apiVersion: v1
kind: Service
metadata: {name: mysql, namespace: default}
spec:
  clusterIP: 10.96.3.3
  ports: [{name: tcp-mysql, port: 3306}]
---
apiVersion: v1
kind: Service
metadata: {name: headless, namespace: default}
spec:
  clusterIP: None
  ports: [{name: http, port: 8080}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: inline, namespace: default}
spec:
  hosts: [inline.example.com]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8000, name: http, protocol: HTTP}]
  endpoints:
  - {address: 10.2.0.1, labels: {version: v1}, locality: us-east/a/1}
  - {address: 10.2.0.2, labels: {version: v2}, locality: us-west/b/2, weight: 3, ports: {http: 8001}}
`;

function exampleMesh(): string {
  const dir = join(ROOT, 'examples');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n---\n');
}

function schemaOf(any: Any): DescMessage {
  const desc = envoyRegistry().getMessage(any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1));
  assert.ok(desc, `type URL ${any.typeUrl} is not in the registry`);
  return desc;
}

/** Checks one generated resource; returns a description of every problem found. */
function check(r: NamedResource): string[] {
  const problems: string[] = [];
  const schema = schemaOf(r.resource);
  const msg = anyUnpack(r.resource, envoyRegistry());
  if (!msg) return [`${r.name}: cannot unpack ${r.resource.typeUrl}`];
  const again = fromBinary(schema, toBinary(schema, msg));
  if (!equals(schema, msg, again)) problems.push(`${r.name}: does not survive an encode/decode round trip`);
  const violations = validateMessage(schema, msg);
  if (violations.length) problems.push(`${r.name}: ${formatViolations(violations)}`);
  return problems;
}

/** Generates everything a proxy would fetch: wildcard or the names the previous type referenced. */
function generateAll(push: PushContext, proxy: Proxy, gens: GeneratorSet, listenerNames: string[]): Record<string, NamedResource[]> {
  const wildcard = proxy.generator !== 'grpc';
  const gen = (typeUrl: string, names: string[]) => gens.byType[typeUrl]!(push, proxy, { typeUrl, names, wildcard: wildcard && (typeUrl === TYPE.listener || typeUrl === TYPE.cluster) });
  const listeners = gen(TYPE.listener, listenerNames);
  const clusters = gen(TYPE.cluster, proxy.generator === 'grpc' ? push.servicesVisibleTo(proxy.namespace).flatMap((s) => s.ports.flatMap((p) => [`outbound|${p.port}||${s.hostname}`, `outbound|${p.port}|v1|${s.hostname}`, `outbound|${p.port}|v2|${s.hostname}`])) : []);
  const routeNames = proxy.generator === 'grpc' ? push.servicesVisibleTo(proxy.namespace).flatMap((s) => s.ports.map((p) => `outbound|${p.port}||${s.hostname}`)) : [...new Set(push.servicesVisibleTo(proxy.namespace).flatMap((s) => s.ports.map((p) => String(p.port))))];
  return {
    listeners,
    clusters,
    routes: gen(TYPE.route, routeNames),
    endpoints: gen(TYPE.endpoint, clusters.map((c) => c.name)),
  };
}

describe('generated resources conform to Envoy protos and validate.rules', () => {
  const push = pushFromYaml(`${exampleMesh()}\n---\n${FEATURES}`);
  const sidecar = proxyFromNode({ id: 'sidecar~127.0.0.1~echo-v1-5d8f7.default~default.svc.cluster.local', metadata: { NAMESPACE: 'default' } });
  const grpc = proxyFromNode({ id: 'sidecar~10.0.0.9~client.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } });

  for (const [label, proxy, gens] of [['Envoy sidecar', sidecar, sidecarGenerators], ['proxyless gRPC', grpc, grpcGenerators]] as const) {
    describe(label, () => {
      const grpcListenerNames = push.servicesVisibleTo('default').flatMap((s) => s.ports.map((p) => `${s.hostname}:${p.port}`)).concat(['echo:7070', 'ratings.default:9080']);
      const all = generateAll(push, proxy, gens, label === 'proxyless gRPC' ? grpcListenerNames : []);
      for (const [type, resources] of Object.entries(all)) {
        it(`${type}: every resource round-trips and satisfies validate.rules`, () => {
          assert.ok(resources.length > 0, `no ${type} generated`);
          const problems = resources.flatMap(check);
          assert.deepEqual(problems, []);
        });
      }
    });
  }

  it('the checker itself catches a broken resource (so the checks above can fail)', () => {
    const routes = sidecarGenerators.byType[TYPE.route]!(push, sidecar, { typeUrl: TYPE.route, names: ['9080'], wildcard: false });
    const rc = anyUnpack(routes[0]!.resource, envoyRegistry()) as unknown as { virtualHosts: { domains: string[] }[] };
    rc.virtualHosts[0]!.domains = [];
    const rcSchema = schemaOf(routes[0]!.resource);
    const bad = check({ name: '9080', resource: { ...routes[0]!.resource, value: toBinary(rcSchema, rc as never) } });
    assert.equal(bad.length, 1);
    assert.match(bad[0]!, /virtual_hosts\[0\]\.domains.*repeated\.min_items/);
  });
});
