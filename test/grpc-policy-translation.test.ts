// Traffic policy for proxyless gRPC, field by field, as Istio's grpcgen builds it: DestinationRule
// settings on clusters (pilot/pkg/networking/grpcgen/cds.go applyTrafficPolicy: TLS, the load
// balancer and circuit_breakers max_requests, nothing else), and the retry and timeout fields of
// routes (the sidecar's BuildSidecarOutboundVirtualHosts, which grpcgen's rds.go reuses).
//
// Outlier detection has no end-to-end test on purpose: grpcgen never sends outlier_detection to
// gRPC clients, and even if it did, gRPC (gRFC A50, grpc-js-xds) implements only success-rate and
// failure-percentage ejection, while a DestinationRule's outlierDetection can only express
// consecutive errors (consecutive5xxErrors, consecutiveGatewayErrors, ...), which gRPC ignores.
// There is no behaviour to observe, so the generated cluster is checked instead.
import assert from 'node:assert/strict';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { envoyRegistry } from '../pilot/networking/registry.js';
import { proxyFromNode } from '../pilot/model/proxy.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { grpcGenerators } from '../pilot/networking/grpc/index.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import { Cluster_LbPolicy, type Cluster } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { RouteConfiguration } from '../gen/envoy/config/route/v3/route_pb.js';
import type { RouteAction } from '../gen/envoy/config/route/v3/route_components_pb.js';
import type { NamedResource } from '../pilot/networking/generator.js';
import { pushFromYaml } from './support/push.js';
import { kubeService } from './support/meshfiles.js';

const unpack = (r: NamedResource) => anyUnpack(r.resource, envoyRegistry()) as unknown as Cluster;
const unpackRoutes = (r: NamedResource) => anyUnpack(r.resource, envoyRegistry()) as unknown as RouteConfiguration;
const grpcProxy = proxyFromNode({ id: 'sidecar~10.9.9.8~client.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } });
const sidecar = proxyFromNode({ id: 'sidecar~10.9.9.9~app.default~default.svc.cluster.local', metadata: { NAMESPACE: 'default' } });

const HOST = 'echo.default.svc.cluster.local';
const SERVICE = kubeService('echo', 7070, [{ version: 'v1', port: 7071 }, { version: 'v2', port: 7072 }]);

/** The gRPC clusters (default and subsets v1, v2) for a DestinationRule with this trafficPolicy and these subset policies. */
function grpcClusters(trafficPolicy: string, subsetPolicies: Record<string, string> = {}): Record<string, Cluster> {
  const subset = (v: string) => `  - name: ${v}\n    labels: {version: ${v}}\n${subsetPolicies[v] ? `    trafficPolicy: ${subsetPolicies[v]}\n` : ''}`;
  const push = pushFromYaml(`${SERVICE}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo, namespace: default}
spec:
  host: echo
  trafficPolicy: ${trafficPolicy}
  subsets:
${subset('v1')}${subset('v2')}`);
  const names = ['', 'v1', 'v2'].map((s) => `outbound|7070|${s}|${HOST}`);
  const out: Record<string, Cluster> = {};
  for (const r of grpcGenerators.byType[TYPE.cluster]!(push, grpcProxy, { typeUrl: TYPE.cluster, names, wildcard: false })) {
    const c = unpack(r);
    out[c.name.split('|')[2] || 'default'] = c;
  }
  assert.deepEqual(Object.keys(out).sort(), ['default', 'v1', 'v2']);
  return out;
}

describe('proxyless gRPC clusters from DestinationRule traffic policy (grpcgen)', () => {
  it('never carry outlier detection, while a sidecar\'s cluster for the same rule does', () => {
    const policy = '{outlierDetection: {consecutive5xxErrors: 3, interval: 5s, baseEjectionTime: 30s, maxEjectionPercent: 50}}';
    for (const c of Object.values(grpcClusters(policy, { v1: '{outlierDetection: {consecutiveGatewayErrors: 2}}' }))) {
      assert.equal(c.outlierDetection, undefined, c.name);
      assert.equal(c.commonLbConfig?.healthyPanicThreshold, undefined, c.name);
    }
    // The rule itself is read: the sidecar's cluster gets Envoy's outlier detection from it.
    const push = pushFromYaml(`${SERVICE}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo, namespace: default}
spec: {host: echo, trafficPolicy: ${policy}}
`);
    const sidecarCluster = sidecarGenerators.byType[TYPE.cluster]!(push, sidecar, { typeUrl: TYPE.cluster, names: [], wildcard: true })
      .map(unpack)
      .find((c) => c.name === `outbound|7070||${HOST}`);
    assert.equal(sidecarCluster?.outlierDetection?.consecutive5xx, 3);
  });

  it('keep round robin for RANDOM, PASSTHROUGH and LEAST_CONN, and take LEAST_REQUEST and consistent hashes', () => {
    const lb = (simple: string) => `{loadBalancer: {simple: ${simple}}}`;
    const c = grpcClusters(lb('RANDOM'), { v1: lb('PASSTHROUGH'), v2: lb('LEAST_CONN') });
    for (const name of ['default', 'v1', 'v2']) {
      assert.equal(c[name]!.lbPolicy, Cluster_LbPolicy.ROUND_ROBIN, name);
      assert.equal(c[name]!.lbConfig.case, undefined, name);
    }
    const d = grpcClusters(lb('ROUND_ROBIN'), { v1: lb('LEAST_REQUEST') });
    assert.equal(d.default!.lbPolicy, Cluster_LbPolicy.ROUND_ROBIN);
    assert.equal(d.v1!.lbPolicy, Cluster_LbPolicy.LEAST_REQUEST);
    assert.equal(d.v2!.lbPolicy, Cluster_LbPolicy.ROUND_ROBIN);

    // ApplyRingHashLoadBalancer: the deprecated minimumRingSize defaults to 1024; ringHash sends only an explicit size.
    const ring = grpcClusters('{loadBalancer: {consistentHash: {httpHeaderName: x-user}}}', {
      v1: '{loadBalancer: {consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 64}}}}',
      v2: '{loadBalancer: {consistentHash: {httpHeaderName: x-user, ringHash: {}}}}',
    });
    const minSize = (x: Cluster) => (x.lbConfig.case === 'ringHashLbConfig' ? x.lbConfig.value.minimumRingSize : undefined);
    assert.deepEqual([ring.default!, ring.v1!, ring.v2!].map((x) => [x.lbPolicy, minSize(x)]), [
      [Cluster_LbPolicy.RING_HASH, 1024n],
      [Cluster_LbPolicy.RING_HASH, 64n],
      [Cluster_LbPolicy.RING_HASH, undefined],
    ]);
  });

  it('take http2MaxRequests as circuit_breakers max_requests and no other connection pool limit', () => {
    const c = grpcClusters('{connectionPool: {tcp: {maxConnections: 5}, http: {http2MaxRequests: 9, http1MaxPendingRequests: 4, maxRetries: 2}}}', {
      v1: '{connectionPool: {http: {http2MaxRequests: 100}}}',
      v2: '{connectionPool: {tcp: {maxConnections: 7}}}',
    });
    const thresholds = (x: Cluster) => x.circuitBreakers?.thresholds.map((t) => ({ maxRequests: t.maxRequests, maxConnections: t.maxConnections, maxPendingRequests: t.maxPendingRequests, maxRetries: t.maxRetries }));
    assert.deepEqual(thresholds(c.default!), [{ maxRequests: 9, maxConnections: undefined, maxPendingRequests: undefined, maxRetries: undefined }]);
    assert.deepEqual(thresholds(c.v1!), [{ maxRequests: 100, maxConnections: undefined, maxPendingRequests: undefined, maxRetries: undefined }]);
    // A subset's connectionPool replaces the rule's as a whole: no http2MaxRequests, no circuit breaker.
    assert.equal(c.v2!.circuitBreakers, undefined);
  });
});

describe('proxyless gRPC routes: retries and timeouts (grpcgen)', () => {
  /** The route actions of echo's route configuration, by route name. */
  function actions(extra: string): Record<string, RouteAction> {
    const push = pushFromYaml(`${SERVICE}---\n${extra}`);
    const [rds] = grpcGenerators.byType[TYPE.route]!(push, grpcProxy, { typeUrl: TYPE.route, names: [`outbound|7070||${HOST}`], wildcard: false });
    const out: Record<string, RouteAction> = {};
    for (const r of unpackRoutes(rds!).virtualHosts.flatMap((v) => v.routes)) if (r.action.case === 'route') out[r.name] = r.action.value;
    return out;
  }
  const predicates = (a: RouteAction) => a.retryPolicy?.retryHostPredicate.map((p) => p.name);

  it('without a VirtualService: Istio\'s default retry policy and no timeout, as for any proxy, even under a consistent hash', () => {
    const a = actions('apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: echo, namespace: default}\nspec: {host: echo, trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}}\n').default!;
    assert.equal(a.hashPolicy[0]?.policySpecifier.case, 'header');
    assert.equal(a.retryPolicy?.numRetries, 2);
    assert.equal(a.retryPolicy?.retryOn, 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes');
    assert.equal(a.retryPolicy?.hostSelectionRetryMaxAttempts, 5n);
    assert.deepEqual(predicates(a), ['envoy.retry_host_predicates.previous_hosts']);
    // BuildDefaultHTTPOutboundRoute calls setTimeout without the proxy: max_grpc_timeout, not max_stream_duration.
    assert.equal(a.timeout?.seconds, 0n);
    assert.equal(a.maxGrpcTimeout?.seconds, 0n);
    assert.equal(a.maxStreamDuration, undefined);
  });

  it('with a VirtualService: its timeout as max_stream_duration, its retries, none for attempts 0', () => {
    const a = actions(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
  - name: off
    match: [{headers: {x-r: {exact: off}}}]
    retries: {attempts: 0}
    route: [{destination: {host: echo}}]
  - name: three
    match: [{headers: {x-r: {exact: three}}}]
    retries: {attempts: 3, retryOn: "unavailable,503"}
    timeout: 1.5s
    route: [{destination: {host: echo}}]
  - name: plain
    route: [{destination: {host: echo}}]
`);
    assert.equal(a.off!.retryPolicy, undefined);
    assert.equal(a.three!.retryPolicy?.numRetries, 3);
    assert.equal(a.three!.retryPolicy?.retryOn, 'unavailable,retriable-status-codes');
    assert.deepEqual(a.three!.retryPolicy?.retriableStatusCodes, [503]);
    assert.deepEqual([a.three!.maxStreamDuration?.maxStreamDuration?.seconds, a.three!.maxStreamDuration?.maxStreamDuration?.nanos], [1n, 500000000]);
    assert.equal(a.three!.maxGrpcTimeout, undefined);
    assert.equal(a.plain!.retryPolicy?.numRetries, 2);
    assert.equal(a.plain!.maxStreamDuration?.maxStreamDuration?.seconds, 0n);
  });
});
