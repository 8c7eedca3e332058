// Translation as pure functions of (PushContext, Proxy): names, domains and routes as Istio builds them.
import assert from 'node:assert/strict';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { envoyRegistry } from '../pilot/networking/registry.js';
import { proxyFromNode } from '../pilot/model/proxy.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { grpcGenerators } from '../pilot/networking/grpc/index.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import type { RouteConfiguration } from '../gen/envoy/config/route/v3/route_pb.js';
import type { Listener } from '../gen/envoy/config/listener/v3/listener_pb.js';
import type { Cluster } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { ClusterLoadAssignment } from '../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import type { Route } from '../gen/envoy/config/route/v3/route_components_pb.js';
import type { NamedResource } from '../pilot/networking/generator.js';
import { pushFromYaml } from './support/push.js';
import { kubeService, subsetsRule } from './support/meshfiles.js';

const unpack = <T>(r: NamedResource) => anyUnpack(r.resource, envoyRegistry()) as unknown as T;
const sidecar = (ns = 'default', ip = '10.9.9.9') => proxyFromNode({ id: `sidecar~${ip}~app.${ns}~${ns}.svc.cluster.local`, metadata: { NAMESPACE: ns } });
const grpcProxy = (ns = 'default') => proxyFromNode({ id: `sidecar~10.9.9.8~client.${ns}~${ns}.svc.cluster.local`, metadata: { GENERATOR: 'grpc', NAMESPACE: ns } });

function clusterOf(route: Route): string | { name: string; weight: number }[] {
  assert.equal(route.action.case, 'route');
  const spec = route.action.value.clusterSpecifier;
  if (spec.case === 'cluster') return spec.value;
  if (spec.case === 'weightedClusters') return spec.value.clusters.map((c) => ({ name: c.name, weight: c.weight ?? 0 }));
  throw new Error(`unexpected cluster specifier ${spec.case}`);
}

const MESH = [
  kubeService('reviews', 9080, [{ version: 'v1', port: 9081 }, { version: 'v2', port: 9082 }], 'default', 'http'),
  subsetsRule('reviews', ['v1', 'v2']),
  kubeService('details', 9080, [{ version: 'v1', port: 9083 }], 'other', 'http'),
].join('---\n');

describe('sidecar route configuration', () => {
  it('names virtual hosts host:port with Istio\'s domains (short names only in the same namespace) and a default route', () => {
    const push = pushFromYaml(MESH);
    const [rds] = sidecarGenerators.byType[TYPE.route]!(push, sidecar(), { typeUrl: TYPE.route, names: ['9080'], wildcard: false });
    const rc = unpack<RouteConfiguration>(rds!);
    assert.deepEqual(rc.virtualHosts.map((v) => v.name), ['details.other.svc.cluster.local:9080', 'reviews.default.svc.cluster.local:9080', 'allow_any']);
    const reviews = rc.virtualHosts[1]!;
    assert.deepEqual(reviews.domains, [
      'reviews.default.svc.cluster.local',
      'reviews.default.svc.cluster.local.',
      'reviews',
      'reviews.default.svc',
      'reviews.default',
      '10.96.80.3',
    ]);
    assert.deepEqual(rc.virtualHosts[0]!.domains, ['details.other.svc.cluster.local', 'details.other.svc.cluster.local.', 'details.other', 'details.other.svc', '10.96.80.2']);
    const route = reviews.routes[0]!;
    assert.equal(route.name, 'default');
    assert.equal(clusterOf(route), 'outbound|9080||reviews.default.svc.cluster.local');
    assert.equal(route.decorator?.operation, 'reviews.default.svc.cluster.local:9080/*');
    assert.equal(route.action.case === 'route' && route.action.value.retryPolicy?.numRetries, 2);
  });

  it('translates VirtualService matches in order, with one Envoy route per match and a weighted split', () => {
    const push = pushFromYaml(`${MESH}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - name: canary
    match:
    - {name: by-header, headers: {end-user: {exact: jason}}}
    - {name: by-path, uri: {prefix: /beta}, ignoreUriCase: true}
    route: [{destination: {host: reviews, subset: v2}}]
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 75}
    - {destination: {host: reviews.default.svc.cluster.local, subset: v2}, weight: 25}
    - {destination: {host: reviews, subset: v3}, weight: 0}
  - route: [{destination: {host: never}}]
`);
    const [rds] = sidecarGenerators.byType[TYPE.route]!(push, sidecar(), { typeUrl: TYPE.route, names: ['9080'], wildcard: false });
    const vh = unpack<RouteConfiguration>(rds!).virtualHosts.find((v) => v.name === 'reviews.default.svc.cluster.local:9080')!;
    assert.deepEqual(vh.routes.map((r) => r.name), ['canary.by-header', 'canary.by-path', '']);
    const [byHeader, byPath, split] = vh.routes as [Route, Route, Route];
    assert.equal(byHeader.match?.headers[0]?.name, 'end-user');
    assert.equal(byHeader.match?.headers[0]?.headerMatchSpecifier.case, 'stringMatch');
    assert.deepEqual(byPath.match?.pathSpecifier, { case: 'prefix', value: '/beta' });
    assert.equal(byPath.match?.caseSensitive, false);
    assert.equal(clusterOf(byPath), 'outbound|9080|v2|reviews.default.svc.cluster.local');
    assert.deepEqual(clusterOf(split), [
      { name: 'outbound|9080|v1|reviews.default.svc.cluster.local', weight: 75 },
      { name: 'outbound|9080|v2|reviews.default.svc.cluster.local', weight: 25 },
    ]);
    assert.equal(split.decorator?.operation, 'reviews:9080/*');
  });

  it('uses the service\'s own namespace DestinationRule, and the proxy\'s namespace one first', () => {
    const push = pushFromYaml(`${MESH}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: details-local, namespace: default}
spec:
  host: details.other.svc.cluster.local
  subsets: [{name: mine, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: details, namespace: other}
spec:
  host: details
  subsets: [{name: theirs, labels: {version: v1}}]
`);
    const names = (ns: string) =>
      sidecarGenerators.byType[TYPE.cluster]!(push, sidecar(ns), { typeUrl: TYPE.cluster, names: [], wildcard: true })
        .map((r) => r.name)
        .filter((n) => n.includes('details'));
    assert.deepEqual(names('default'), ['outbound|9080||details.other.svc.cluster.local', 'outbound|9080|mine|details.other.svc.cluster.local']);
    assert.deepEqual(names('other'), ['outbound|9080||details.other.svc.cluster.local', 'outbound|9080|theirs|details.other.svc.cluster.local']);
  });

  it('honours exportTo on services and VirtualServices', () => {
    const push = pushFromYaml(`${MESH.replace('metadata: {name: details, namespace: other}', 'metadata: {name: details, namespace: other, annotations: {networking.istio.io/exportTo: "."}}')}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-private, namespace: default}
spec:
  hosts: [reviews]
  exportTo: ["."]
  http: [{route: [{destination: {host: reviews, subset: v2}}]}]
`);
    const clusters = (ns: string) => sidecarGenerators.byType[TYPE.cluster]!(push, sidecar(ns), { typeUrl: TYPE.cluster, names: [], wildcard: true }).map((r) => r.name);
    assert.ok(!clusters('default').some((n) => n.includes('details')), 'details is private to its namespace');
    assert.ok(clusters('other').some((n) => n.includes('details')));
    const route = (ns: string) => {
      const [rds] = sidecarGenerators.byType[TYPE.route]!(push, sidecar(ns), { typeUrl: TYPE.route, names: ['9080'], wildcard: false });
      return clusterOf(unpack<RouteConfiguration>(rds!).virtualHosts.find((v) => v.name.startsWith('reviews'))!.routes[0]!);
    };
    assert.equal(route('default'), 'outbound|9080|v2|reviews.default.svc.cluster.local');
    assert.equal(route('other'), 'outbound|9080||reviews.default.svc.cluster.local');
  });
});

describe('sidecar listeners and clusters', () => {
  it('lays out virtualOutbound, virtualInbound, 0.0.0.0_PORT for HTTP and VIP_PORT for TCP', () => {
    const push = pushFromYaml(`${MESH}---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec: {clusterIP: 10.96.7.7, ports: [{name: tcp, port: 5432}]}
`);
    const listeners = sidecarGenerators.byType[TYPE.listener]!(push, sidecar('default', '127.0.0.1'), { typeUrl: TYPE.listener, names: [], wildcard: true }).map((r) => unpack<Listener>(r));
    assert.deepEqual(listeners.map((l) => l.name), ['10.96.7.7_5432', '0.0.0.0_9080', 'virtualOutbound', 'virtualInbound']);
    const inbound = listeners[3]!;
    // Istio's layout: the 15006 black hole, passthrough chains (PERMISSIVE: TLS and plaintext,
    // HTTP and TCP), then each service target port with its TLS and plaintext chains.
    assert.deepEqual(
      inbound.filterChains.map((c) => [c.name, c.filterChainMatch?.destinationPort ?? null, c.filterChainMatch?.transportProtocol, c.transportSocket ? 'mtls' : '']),
      [
        ['virtualInbound-blackhole', 15006, '', ''],
        ['virtualInbound-catchall-http', null, 'tls', 'mtls'],
        ['virtualInbound-catchall-http', null, 'raw_buffer', ''],
        ['virtualInbound', null, 'tls', 'mtls'],
        ['virtualInbound', null, 'raw_buffer', ''],
        ['virtualInbound', null, 'tls', ''],
        ['0.0.0.0_9081', 9081, 'tls', 'mtls'],
        ['0.0.0.0_9081', 9081, 'raw_buffer', ''],
        ['0.0.0.0_9082', 9082, 'tls', 'mtls'],
        ['0.0.0.0_9082', 9082, 'raw_buffer', ''],
      ],
    );
    assert.equal(listeners[2]!.useOriginalDst, true);
    assert.equal(listeners[1]!.bindToPort, false);
    // HTTP ports are matched by the HTTP inspector's ALPN; anything else falls through.
    assert.deepEqual(listeners[1]!.filterChains[0]!.filterChainMatch?.applicationProtocols, ['http/1.1', 'h2c']);
    assert.equal(listeners[1]!.defaultFilterChain?.name, 'PassthroughFilterChain');
  });

  it('builds EDS clusters per service port and subset, and BlackHole/Passthrough', () => {
    const push = pushFromYaml(MESH);
    const clusters = sidecarGenerators.byType[TYPE.cluster]!(push, sidecar(), { typeUrl: TYPE.cluster, names: [], wildcard: true }).map((r) => unpack<Cluster>(r));
    const reviews = clusters.find((c) => c.name === 'outbound|9080|v1|reviews.default.svc.cluster.local')!;
    assert.equal(reviews.edsClusterConfig?.serviceName, reviews.name);
    for (const n of ['BlackHoleCluster', 'PassthroughCluster', 'InboundPassthroughCluster']) assert.ok(clusters.some((c) => c.name === n), n);
  });
});

describe('endpoints', () => {
  it('selects subset endpoints by label and groups them by locality with weights', () => {
    const push = pushFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}]
  endpoints:
  - {address: 10.0.0.1, labels: {version: v1}, locality: r1/z1}
  - {address: 10.0.0.2, labels: {version: v1}, locality: r1/z1, weight: 3}
  - {address: 10.0.0.3, labels: {version: v2}, locality: r2/z2, ports: {http: 9000}}
---
${subsetsRule('api.internal', ['v1', 'v2'])}`);
    const eds = (name: string) => unpack<ClusterLoadAssignment>(sidecarGenerators.byType[TYPE.endpoint]!(push, sidecar(), { typeUrl: TYPE.endpoint, names: [name], wildcard: false })[0]!);
    const summary = (cla: ClusterLoadAssignment) =>
      cla.endpoints.map((l) => ({
        locality: `${l.locality?.region}/${l.locality?.zone}`,
        weight: l.loadBalancingWeight,
        eps: l.lbEndpoints.map((e) => (e.hostIdentifier.case === 'endpoint' && e.hostIdentifier.value.address?.address.case === 'socketAddress' ? `${e.hostIdentifier.value.address.address.value.address}:${e.hostIdentifier.value.address.address.value.portSpecifier.value}` : '?')),
      }));
    assert.deepEqual(summary(eds('outbound|80||api.internal')), [
      { locality: 'r1/z1', weight: 4, eps: ['10.0.0.1:8080', '10.0.0.2:8080'] },
      { locality: 'r2/z2', weight: 1, eps: ['10.0.0.3:9000'] },
    ]);
    assert.deepEqual(summary(eds('outbound|80|v2|api.internal')), [{ locality: 'r2/z2', weight: 1, eps: ['10.0.0.3:9000'] }]);
    assert.deepEqual(summary(eds('outbound|80|nope|api.internal')), []);
  });
});

describe('proxyless gRPC', () => {
  it('answers listener names as asked (short, namespaced or FQDN) with RDS named after the cluster', () => {
    const push = pushFromYaml(MESH);
    const lds = grpcGenerators.byType[TYPE.listener]!(push, grpcProxy(), { typeUrl: TYPE.listener, names: ['reviews:9080', 'details.other:9080', 'reviews.default.svc.cluster.local:9080'], wildcard: false });
    const listeners = lds.map((r) => unpack<Listener>(r));
    assert.deepEqual(listeners.map((l) => l.name).sort(), ['reviews.default.svc.cluster.local:9080', 'reviews:9080']);
    const [rds] = grpcGenerators.byType[TYPE.route]!(push, grpcProxy(), { typeUrl: TYPE.route, names: ['outbound|9080||reviews.default.svc.cluster.local'], wildcard: false });
    const vh = unpack<RouteConfiguration>(rds!).virtualHosts;
    assert.equal(vh.length, 1);
    assert.ok(vh[0]!.domains.includes('reviews:9080') && vh[0]!.domains.includes('reviews.default.svc.cluster.local:9080'), vh[0]!.domains.join(','));
  });

  it('builds only the requested clusters, with the DestinationRule load balancer', () => {
    const push = pushFromYaml(`${MESH}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}, connectionPool: {http: {http2MaxRequests: 7}}}
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
`.replace(subsetsRule('reviews', ['v1', 'v2']), ''));
    const cds = grpcGenerators.byType[TYPE.cluster]!(push, grpcProxy(), { typeUrl: TYPE.cluster, names: ['outbound|9080|v2|reviews.default.svc.cluster.local'], wildcard: false }).map((r) => unpack<Cluster>(r));
    assert.deepEqual(cds.map((c) => c.name), ['outbound|9080|v2|reviews.default.svc.cluster.local']);
    assert.equal(cds[0]!.lbPolicy, 1 /* LEAST_REQUEST */);
    assert.equal(cds[0]!.circuitBreakers?.thresholds[0]?.maxRequests, 7);
  });
});

describe('registry', () => {
  it('ServiceEntry workloadSelector picks WorkloadEntries by label in its namespace, with named ports', () => {
    const push = pushFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: vms, namespace: legacy}
spec:
  hosts: [vm.legacy.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: vm}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-1, namespace: legacy}
spec: {address: 192.168.0.10, labels: {app: vm, version: v1}, ports: {http: 8080}, serviceAccount: vm-sa}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: other, namespace: legacy}
spec: {address: 192.168.0.11, labels: {app: other}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-elsewhere, namespace: elsewhere}
spec: {address: 192.168.0.12, labels: {app: vm}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: dns, namespace: legacy}
spec:
  hosts: [db.example.com]
  resolution: DNS
  ports: [{number: 5432, name: tcp, protocol: TCP}]
`);
    const [svc] = push.registry.byHostname.get('vm.legacy.internal')!;
    assert.deepEqual(push.endpoints(svc!).map((e) => ({ address: e.address, port: e.endpointPort, sa: e.serviceAccount, workload: e.workload?.name })), [
      { address: '192.168.0.10', port: 8080, sa: 'vm-sa', workload: 'vm-1' },
    ]);
    const [dns] = push.registry.byHostname.get('db.example.com')!;
    assert.equal(dns!.resolution, 'DNSLB');
    assert.deepEqual(push.endpoints(dns!).map((e) => `${e.address}:${e.endpointPort}`), ['db.example.com:5432']);
    const clusters = sidecarGenerators.byType[TYPE.cluster]!(push, sidecar('legacy'), { typeUrl: TYPE.cluster, names: [], wildcard: true }).map((r) => unpack<Cluster>(r));
    const db = clusters.find((c) => c.name === 'outbound|5432||db.example.com')!;
    assert.equal(db.clusterDiscoveryType.case === 'type' && db.clusterDiscoveryType.value, 1 /* STRICT_DNS */);
    assert.equal(db.loadAssignment?.endpoints.length, 1);
  });
});

describe('upstream TLS (auto mTLS and DestinationRule tls)', () => {
  const mesh = `${kubeService('reviews', 9080, [{ version: 'v1', port: 9081 }], 'default', 'http').replace('labels: {app: reviews, version: v1}', 'labels: {app: reviews, version: v1, security.istio.io/tlsMode: istio}')}---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec: {hosts: [api.example.com], location: MESH_EXTERNAL, resolution: DNS, ports: [{number: 443, name: tls, protocol: TLS}]}
`;
  const clusters = (yaml: string) =>
    sidecarGenerators.byType[TYPE.cluster]!(pushFromYaml(yaml), sidecar(), { typeUrl: TYPE.cluster, names: [], wildcard: true }).map((r) => unpack<Cluster>(r));

  it('offers Istio mTLS to endpoints with a sidecar and plaintext to the others, per endpoint metadata', () => {
    const c = clusters(mesh).find((x) => x.name === 'outbound|9080||reviews.default.svc.cluster.local')!;
    assert.deepEqual(c.transportSocketMatches.map((m) => [m.name, m.match]), [['tlsMode-istio', { tlsMode: 'istio' }], ['tlsMode-disabled', {}]]);
    const tls = anyUnpack(c.transportSocketMatches[0]!.transportSocket!.configType.value as never, envoyRegistry()) as unknown as {
      sni: string;
      commonTlsContext: { alpnProtocols: string[]; validationContextType: { value: { defaultValidationContext: { matchSubjectAltNames: { matchPattern: { value: string } }[] } } } };
    };
    assert.equal(tls.sni, 'outbound_.9080_._.reviews.default.svc.cluster.local');
    assert.deepEqual(tls.commonTlsContext.alpnProtocols, ['istio-peer-exchange', 'istio']);
    assert.deepEqual(tls.commonTlsContext.validationContextType.value.defaultValidationContext.matchSubjectAltNames.map((m) => m.matchPattern.value), ['spiffe://cluster.local/ns/default/sa/default']);
    assert.equal(clusters(mesh).find((x) => x.name === 'outbound|443||api.example.com')!.transportSocketMatches.length, 0, 'no mTLS to a service outside the mesh');
    const eds = unpack<ClusterLoadAssignment>(sidecarGenerators.byType[TYPE.endpoint]!(pushFromYaml(mesh), sidecar(), { typeUrl: TYPE.endpoint, names: ['outbound|9080||reviews.default.svc.cluster.local'], wildcard: false })[0]!);
    assert.deepEqual(eds.endpoints[0]!.lbEndpoints[0]!.metadata?.filterMetadata['envoy.transport_socket_match'], { tlsMode: 'istio' });
  });

  it('follows the DestinationRule: DISABLE turns it off, ISTIO_MUTUAL always applies', () => {
    const dr = (mode: string) => `${mesh}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec: {host: reviews, trafficPolicy: {tls: {mode: ${mode}}}}
`;
    const off = clusters(dr('DISABLE')).find((x) => x.name === 'outbound|9080||reviews.default.svc.cluster.local')!;
    assert.equal(off.transportSocket, undefined);
    assert.equal(off.transportSocketMatches.length, 0);
    const on = clusters(dr('ISTIO_MUTUAL')).find((x) => x.name === 'outbound|9080||reviews.default.svc.cluster.local')!;
    assert.equal(on.transportSocket?.name, 'envoy.transport_sockets.tls');
    assert.equal(on.transportSocketMatches.length, 0);
  });
});

describe('DestinationRule connection pool and outlier detection', () => {
  it('become circuit breakers, HTTP protocol options and outlier detection on the cluster', () => {
    const push = pushFromYaml(`${MESH}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: details, namespace: other}
spec:
  host: details
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 7, connectTimeout: 3s}
      http: {http2MaxRequests: 50, http1MaxPendingRequests: 9, maxRequestsPerConnection: 1, idleTimeout: 15s}
    outlierDetection: {consecutive5xxErrors: 4, interval: 5s, baseEjectionTime: 1m, maxEjectionPercent: 30}
`);
    const c = sidecarGenerators.byType[TYPE.cluster]!(push, sidecar(), { typeUrl: TYPE.cluster, names: [], wildcard: true })
      .map((r) => unpack<Cluster>(r))
      .find((x) => x.name === 'outbound|9080||details.other.svc.cluster.local')!;
    const t = c.circuitBreakers!.thresholds[0]!;
    assert.deepEqual([t.maxConnections, t.maxPendingRequests, t.maxRequests, t.maxRetries], [7, 9, 50, 4294967295]);
    assert.equal(Number(c.connectTimeout!.seconds), 3);
    assert.deepEqual([c.outlierDetection!.consecutive5xx, c.outlierDetection!.enforcingConsecutive5xx, Number(c.outlierDetection!.baseEjectionTime!.seconds), c.outlierDetection!.maxEjectionPercent], [4, 100, 60, 30]);
    const opts = anyUnpack(c.typedExtensionProtocolOptions['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']!, envoyRegistry()) as unknown as { commonHttpProtocolOptions: { maxRequestsPerConnection: number; idleTimeout: { seconds: bigint } } };
    assert.equal(opts.commonHttpProtocolOptions.maxRequestsPerConnection, 1);
    assert.equal(Number(opts.commonHttpProtocolOptions.idleTimeout.seconds), 15);
  });
});

describe('CORS', () => {
  it('puts the VirtualService corsPolicy on the route for the CORS filter', () => {
    const push = pushFromYaml(`${MESH}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - corsPolicy: {allowOrigins: [{exact: "https://shop.example.com"}], allowMethods: [GET, PUT], exposeHeaders: [x-id], maxAge: 1h, unmatchedPreflights: IGNORE}
    route: [{destination: {host: reviews}}]
`);
    const [rds] = sidecarGenerators.byType[TYPE.route]!(push, sidecar(), { typeUrl: TYPE.route, names: ['9080'], wildcard: false });
    const route = unpack<RouteConfiguration>(rds!).virtualHosts.find((v) => v.name.startsWith('reviews'))!.routes[0]!;
    const cors = anyUnpack(route.typedPerFilterConfig['envoy.filters.http.cors']!, envoyRegistry()) as unknown as Record<string, unknown> & { allowOriginStringMatch: { matchPattern: { value: string } }[] };
    assert.deepEqual(
      [cors.allowOriginStringMatch.map((m) => m.matchPattern.value), cors.allowMethods, cors.exposeHeaders, cors.maxAge, cors.forwardNotMatchingPreflights],
      [['https://shop.example.com'], 'GET,PUT', 'x-id', '3600', false],
    );
  });
});

describe('delegate VirtualServices', () => {
  it('replace a delegating route with the delegate\'s routes, narrowed by the root match', () => {
    const push = pushFromYaml(`${MESH}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: root, namespace: default}
spec:
  hosts: [reviews]
  http:
  - name: api
    match: [{uri: {prefix: /api}}]
    delegate: {name: reviews-api, namespace: other}
  - route: [{destination: {host: reviews, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-api, namespace: other}
spec:
  http:
  - name: beta
    match: [{uri: {prefix: /api/beta}}]
    route: [{destination: {host: reviews.default.svc.cluster.local, subset: v2}}]
  - name: elsewhere
    match: [{uri: {prefix: /other}}]
    route: [{destination: {host: reviews.default.svc.cluster.local, subset: v1}}]
  - route: [{destination: {host: reviews.default.svc.cluster.local, subset: v1}}]
`);
    const [rds] = sidecarGenerators.byType[TYPE.route]!(push, sidecar(), { typeUrl: TYPE.route, names: ['9080'], wildcard: false });
    const vh = unpack<RouteConfiguration>(rds!).virtualHosts.find((v) => v.name.startsWith('reviews'))!;
    // "/other" contradicts the root's "/api" and is dropped; the catch-all delegate route inherits "/api".
    assert.deepEqual(
      vh.routes.map((r) => [r.name, r.match?.pathSpecifier.value, clusterOf(r)]),
      [
        ['api-beta', '/api/beta', 'outbound|9080|v2|reviews.default.svc.cluster.local'],
        ['api', '/api', 'outbound|9080|v1|reviews.default.svc.cluster.local'],
        ['', '/', 'outbound|9080|v1|reviews.default.svc.cluster.local'],
      ],
    );
  });
});
