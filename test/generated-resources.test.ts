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
import { gatewayGenerators } from '../pilot/networking/gateway/index.js';
import { parseYaml, formatConfigError } from '../pilot/config/parse.js';
import { MemoryConfigStore } from '../pilot/config/store.js';
import { buildServiceIndex } from '../pilot/registry/index.js';
import { defaultMeshConfig } from '../pilot/model/mesh.js';
import { PushContext as PushContextClass } from '../pilot/model/push-context.js';
import { ListenerSchema } from '../gen/envoy/config/listener/v3/listener_pb.js';
import { HttpConnectionManagerSchema } from '../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
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
    corsPolicy: {allowOrigins: [{exact: "https://a.example.com"}, {regex: "https://.*[.]b[.]com"}], allowMethods: [GET, POST], allowHeaders: [x-a], maxAge: 24h, allowCredentials: true}
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

/** One gateway with a server of every kind, and VirtualServices bound to it. */
const GATEWAYS = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ingress, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*/ratings.example.com", "./local.example.com"]
  - port: {number: 80, name: http-redirect, protocol: HTTP}
    hosts: [secure.example.com]
    tls: {httpsRedirect: true}
  - port: {number: 443, name: https-simple, protocol: HTTPS}
    hosts: [ratings.example.com]
    tls: {mode: SIMPLE, credentialName: ratings-cert, minProtocolVersion: TLSV1_2, cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256], subjectAltNames: [client.example.com]}
  - port: {number: 443, name: https-mutual, protocol: HTTPS}
    hosts: [mutual.example.com]
    tls: {mode: MUTUAL, serverCertificate: /etc/certs/cert.pem, privateKey: /etc/certs/key.pem, caCertificates: /etc/certs/ca.pem, subjectAltNames: [spiffe://cluster.local/ns/default/sa/client]}
  - port: {number: 443, name: https-istio, protocol: HTTPS}
    hosts: [istio.example.com]
    tls: {mode: ISTIO_MUTUAL}
  - port: {number: 443, name: https-optional, protocol: HTTPS}
    hosts: [optional.example.com]
    tls: {mode: OPTIONAL_MUTUAL, credentialName: optional-cert, insecureSkipVerify: true}
  - port: {number: 443, name: tls-passthrough, protocol: TLS}
    hosts: [passthrough.example.com]
    tls: {mode: PASSTHROUGH}
  - port: {number: 9443, name: tls-terminate, protocol: TLS}
    hosts: [mysql.example.com]
    tls: {mode: ISTIO_MUTUAL}
  - port: {number: 15443, name: tls-auto, protocol: TLS}
    hosts: ["*.local"]
    tls: {mode: AUTO_PASSTHROUGH}
  - port: {number: 31400, name: tcp, protocol: TCP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings-gw, namespace: default}
spec:
  hosts: [ratings.example.com, mutual.example.com, istio.example.com, optional.example.com, secure.example.com]
  gateways: [istio-system/ingress]
  http:
  - match: [{uri: {prefix: /v1}}]
    route: [{destination: {host: ratings, subset: v1}}]
  - match: [{uri: {exact: /moved}}]
    redirect: {uri: /new, port: 8443}
  - route: [{destination: {host: ratings, port: {number: 9080}}, weight: 90}, {destination: {host: ratings, subset: v2, port: {number: 9080}}, weight: 10}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: passthrough-gw, namespace: default}
spec:
  hosts: [passthrough.example.com]
  gateways: [istio-system/ingress]
  tls:
  - match: [{sniHosts: [passthrough.example.com]}]
    route: [{destination: {host: ratings, port: {number: 9080}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp-gw, namespace: default}
spec:
  hosts: ["*"]
  gateways: [istio-system/ingress]
  tcp:
  - match: [{port: 31400}]
    route: [{destination: {host: mysql, port: {number: 3306}}, weight: 50}, {destination: {host: mysql, port: {number: 3306}}, weight: 50}]
  - match: [{port: 9443}]
    route: [{destination: {host: mysql, port: {number: 3306}}}]
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

  describe('Envoy gateway (router)', () => {
    const parsed = parseYaml(`${exampleMesh()}\n---\n${FEATURES}\n---\n${GATEWAYS}`);
    assert.deepEqual(parsed.errors.map(formatConfigError), []);
    const store = new MemoryConfigStore();
    store.replaceAll(parsed.resources);
    const gwPush = new PushContextClass('test/gw', defaultMeshConfig(), 'cluster.local', buildServiceIndex(store, { domainSuffix: 'cluster.local' }), store);
    const router = proxyFromNode({
      id: 'router~10.0.0.50~istio-ingressgateway-abc.istio-system~istio-system.svc.cluster.local',
      metadata: { NAMESPACE: 'istio-system', LABELS: { istio: 'ingressgateway' } },
    });
    const gen = (typeUrl: string, names: string[], wildcard: boolean) => gatewayGenerators.byType[typeUrl]!(gwPush, router, { typeUrl, names, wildcard });
    const listeners = gen(TYPE.listener, [], true);
    const rdsNames = new Set<string>();
    for (const l of listeners) {
      const listener = anyUnpack(l.resource, ListenerSchema)!;
      for (const fc of listener.filterChains) {
        for (const f of fc.filters) {
          if (f.configType.case !== 'typedConfig') continue;
          const hcm = anyUnpack(f.configType.value, HttpConnectionManagerSchema);
          if (hcm?.routeSpecifier.case === 'rds') rdsNames.add(hcm.routeSpecifier.value.routeConfigName);
        }
      }
    }
    const clusters = gen(TYPE.cluster, [], true);
    const all = {
      listeners,
      clusters,
      // One name no server uses: answered with an empty route configuration.
      routes: gen(TYPE.route, [...rdsNames, 'http.9999'], false),
      endpoints: gen(TYPE.endpoint, clusters.map((c) => c.name).filter((n) => n.startsWith('outbound')), false),
    };
    it('covers every kind of gateway server', () => {
      assert.deepEqual(listeners.map((l) => l.name).sort(), ['0.0.0.0_15443', '0.0.0.0_31400', '0.0.0.0_443', '0.0.0.0_80', '0.0.0.0_9443'].sort());
      assert.ok(rdsNames.has('http.80') && rdsNames.has('https.443.https-simple.ingress.istio-system'), [...rdsNames].join(', '));
      assert.ok(clusters.some((c) => c.name.startsWith('outbound_.')), 'SNI-DNAT clusters for AUTO_PASSTHROUGH');
    });
    for (const [type, resources] of Object.entries(all)) {
      it(`${type}: every resource round-trips and satisfies validate.rules`, () => {
        assert.ok(resources.length > 0, `no ${type} generated`);
        assert.deepEqual(resources.flatMap(check), []);
      });
    }
  });

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
