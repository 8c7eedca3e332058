// Route configurations of proxies in different namespaces share the virtual hosts that are the
// same for both (third parties' services), keep apart those that differ (a namespace's own short
// names), and a sniffed port's copy never changes the shared ones; inbound listeners share all but
// the service name.
import assert from 'node:assert/strict';
import { equals, fromBinary, toBinary, toJsonString } from '@bufbuild/protobuf';
import { ListenerSchema, type Listener } from '../gen/envoy/config/listener/v3/listener_pb.js';
import { FilterChainSchema } from '../gen/envoy/config/listener/v3/listener_components_pb.js';
import { ClusterSchema, type Cluster } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import { envoyRegistry } from '../pilot/networking/registry.js';
import type { RouteConfiguration } from '../gen/envoy/config/route/v3/route_pb.js';
import { VirtualHostSchema, type Route } from '../gen/envoy/config/route/v3/route_components_pb.js';
import { proxyFromNode } from '../pilot/model/proxy.js';
import { packWithItems, TYPE } from '../pilot/networking/envoy.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import type { PushContext } from '../pilot/model/push-context.js';
import { pushFromYaml } from './support/push.js';

const pushWith = (yaml: string, previous: PushContext) => pushFromYaml(yaml, previous.mesh, previous);
import { generate, resourceProblems, unpack } from './support/resources.js';

const service = (name: string, ns: string, ip: string) => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec:
  clusterIP: ${ip}
  ports:
  - {name: http, port: 80}`;

const yaml = [service('a', 'a', '10.96.0.1'), service('b', 'b', '10.96.0.2'), service('c', 'c', '10.96.0.3')].join('\n---\n');
const proxyIn = (ns: string) => proxyFromNode({ id: `sidecar~10.1.0.9~app.${ns}~${ns}.svc.cluster.local`, metadata: { NAMESPACE: ns } });

describe('route configurations shared between namespaces', () => {
  it('third-party virtual hosts are the same bytes; a namespace gets short names only for its own services', () => {
    const push = pushFromYaml(yaml);
    const [ra, rb] = ['a', 'b'].map((ns) => generate(sidecarGenerators, push, proxyIn(ns), TYPE.route, ['80'])[0]!);
    for (const r of [ra, rb]) assert.deepEqual(resourceProblems(r), []);
    const [a, b] = [ra, rb].map((r) => unpack<RouteConfiguration>(r));
    const vhost = (rc: RouteConfiguration, name: string) => rc.virtualHosts.find((v) => v.name === name)!;
    const c80 = 'c.c.svc.cluster.local:80';
    assert.ok(Buffer.from(toBinary(VirtualHostSchema, vhost(a, c80))).equals(Buffer.from(toBinary(VirtualHostSchema, vhost(b, c80)))));
    assert.ok(vhost(a, c80).domains.includes('c.c'));
    assert.ok(!vhost(a, c80).domains.includes('c'));
    assert.ok(vhost(a, 'a.a.svc.cluster.local:80').domains.includes('a'), "a proxy's own namespace answers to the bare name");
    assert.ok(!vhost(b, 'a.a.svc.cluster.local:80').domains.includes('a'), 'another namespace does not');
    assert.ok(vhost(b, 'b.b.svc.cluster.local:80').domains.includes('b'));
    assert.deepEqual(
      a.virtualHosts.map((v) => v.name),
      ['a.a.svc.cluster.local:80', 'b.b.svc.cluster.local:80', 'c.c.svc.cluster.local:80', 'allow_any'],
    );
    assert.equal(a.name, '80');
    assert.equal(a.validateClusters, false);
    assert.equal(a.ignorePortInHostMatching, true);
  });

  it("a sniffed port's route configuration matches any host without touching the shared virtual host", () => {
    const push = pushFromYaml(yaml);
    const proxy = proxyIn('a');
    const sniffed = unpack<RouteConfiguration>(generate(sidecarGenerators, push, proxy, TYPE.route, ['c.c.svc.cluster.local:80'])[0]!);
    assert.deepEqual(sniffed.virtualHosts.map((v) => v.domains), [['*']]);
    const shared = unpack<RouteConfiguration>(generate(sidecarGenerators, push, proxy, TYPE.route, ['80'])[0]!);
    assert.ok(shared.virtualHosts.find((v) => v.name === 'c.c.svc.cluster.local:80')!.domains.includes('c.c.svc.cluster.local'));
  });

  it('inbound listeners of services on the same port differ only in the route decorator naming each service', () => {
    const workload = (name: string, ip: string) => `${service(name, 'a', ip.replace('10.1.', '10.96.'))}
---
apiVersion: v1
kind: Pod
metadata: {name: ${name}-0, namespace: a, labels: {app: ${name}}}
status: {podIP: ${ip}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-x, namespace: a, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: http, port: 80}]
endpoints:
- addresses: [${ip}]
  targetRef: {kind: Pod, name: ${name}-0, namespace: a}`;
    const push = pushFromYaml([workload('x', '10.1.0.1'), workload('y', '10.1.0.2')].join('\n---\n'));
    const inboundOf = (pod: string, ip: string) => {
      const proxy = proxyFromNode({ id: `sidecar~${ip}~${pod}.a~a.svc.cluster.local`, metadata: { NAMESPACE: 'a', LABELS: { app: pod.split('-')[0]! } } });
      const [r] = generate(sidecarGenerators, push, proxy, TYPE.listener, ['virtualInbound']);
      assert.deepEqual(resourceProblems(r!), []);
      return unpack<Listener>(r!);
    };
    const [x, y] = [inboundOf('x-0', '10.1.0.1'), inboundOf('y-0', '10.1.0.2')];
    const json = (l: Listener) => toJsonString(ListenerSchema, l, { registry: envoyRegistry() });
    const operations = (l: Listener) =>
      l.filterChains.filter((c) => c.name === '0.0.0.0_80').map((c) => toJsonString(FilterChainSchema, c, { registry: envoyRegistry() }).match(/"operation":"([^"]+)"/)?.[1]);
    assert.deepEqual(operations(x), ['x.a.svc.cluster.local:80/*', 'x.a.svc.cluster.local:80/*']);
    assert.deepEqual(operations(y), ['y.a.svc.cluster.local:80/*', 'y.a.svc.cluster.local:80/*']);
    assert.equal(json(x).replaceAll('x.a.svc', 'y.a.svc'), json(y), 'nothing else differs');
    const inboundService = (pod: string, ip: string) => {
      const proxy = proxyFromNode({ id: `sidecar~${ip}~${pod}.a~a.svc.cluster.local`, metadata: { NAMESPACE: 'a', LABELS: { app: pod.split('-')[0]! } } });
      const c = unpack<Cluster>(generate(sidecarGenerators, push, proxy, TYPE.cluster, ['inbound|80||'])[0]!);
      return toJsonString(ClusterSchema, c, { registry: envoyRegistry() }).match(/"host":"([^"]+)"/)?.[1];
    };
    assert.deepEqual([inboundService('x-0', '10.1.0.1'), inboundService('y-0', '10.1.0.2')], ['x.a.svc.cluster.local', 'y.a.svc.cluster.local'], 'inbound clusters name their own service');
  });

  it('a workload whose inbound inputs did not change keeps its listener and inbound clusters across pushes; a new mTLS mode rebuilds the listener', () => {
    const pod = `${yaml}
---
apiVersion: v1
kind: Pod
metadata: {name: a-0, namespace: a, labels: {app: a}}
status: {podIP: 10.1.0.5}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: a-x, namespace: a, labels: {kubernetes.io/service-name: a}}
addressType: IPv4
ports: [{name: http, port: 80}]
endpoints:
- addresses: [10.1.0.5]
  targetRef: {kind: Pod, name: a-0, namespace: a}`;
    const strict = `${pod}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: a}
spec: {mtls: {mode: STRICT}}`;
    const proxy = proxyFromNode({ id: 'sidecar~10.1.0.5~a-0.a~a.svc.cluster.local', metadata: { NAMESPACE: 'a', LABELS: { app: 'a' } } });
    const inbound = (push: PushContext) => generate(sidecarGenerators, push, proxy, TYPE.listener, ['virtualInbound'])[0]!;
    const inboundCluster = (push: PushContext) => generate(sidecarGenerators, push, proxy, TYPE.cluster, ['inbound|80||'])[0]!;
    const first = pushFromYaml(pod);
    const built = inbound(first);
    const cluster = inboundCluster(first);
    assert.deepEqual(resourceProblems(cluster), []);
    const second = pushWith(pod, first);
    assert.equal(inbound(second), built, 'the very same resource, not rebuilt');
    assert.equal(inboundCluster(second), cluster, 'the inbound cluster too');
    const third = pushWith(strict, second);
    assert.notEqual(inbound(third), built);
    assert.ok(!unpack<Listener>(inbound(third)).filterChains.some((c) => c.name === '0.0.0.0_80' && c.filterChainMatch?.transportProtocol === 'raw_buffer'), 'STRICT: no plaintext chain for the port');
    const otherMesh = pushFromYaml(pod, { protocolDetectionTimeoutSeconds: 5 }, first);
    assert.notEqual(inbound(otherMesh), built, 'another mesh config is not carried over');
  });

  it('packing with shared items decodes to the message toBinary would have made', () => {
    const push = pushFromYaml(yaml);
    const proxy = proxyIn('a');
    const [inbound] = generate(sidecarGenerators, push, proxy, TYPE.listener, ['virtualInbound']);
    assert.deepEqual(resourceProblems(inbound!), []);
    const listener = unpack<Listener>(inbound!);
    assert.ok(listener.filterChains.length > 0);
    const whole = Buffer.from(toBinary(ListenerSchema, listener));
    const head = { ...listener, filterChains: [] };
    const chains = listener.filterChains.map((c) => ({ ...c }));
    const first = packWithItems(ListenerSchema, head, ListenerSchema.field.filterChains, chains);
    const again = packWithItems(ListenerSchema, head, ListenerSchema.field.filterChains, [...chains]);
    assert.ok(whole.equals(Buffer.from(first.value)), 'a first packing is plain toBinary');
    assert.ok(whole.equals(Buffer.from(again.value)), 'packing from encoded items makes the same bytes (versions stay stable)');
    assert.ok(equals(ListenerSchema, fromBinary(ListenerSchema, again.value), listener));
    assert.throws(() => packWithItems(ListenerSchema, listener, ListenerSchema.field.name, []), /not a repeated message field/);
  });

  it("a VirtualService's routes are shared unless they read the caller: a sourceNamespace match keeps them apart", () => {
    const vs = (name: string, host: string, match: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: c}
spec:
  hosts: [${host}]
  http:
  - ${match}route: [{destination: {host: c, subset: v2}}]
  - route: [{destination: {host: c}}]`;
    const push = pushFromYaml([yaml, vs('to-c', 'c', 'match: [{uri: {prefix: /v2}}]\n    '), service('d', 'c', '10.96.0.4'), vs('to-d', 'd', 'match: [{sourceNamespace: a}]\n    ')].join('\n---\n'));
    const [a, b] = ['a', 'b'].map((ns) => unpack<RouteConfiguration>(generate(sidecarGenerators, push, proxyIn(ns), TYPE.route, ['80'])[0]!));
    const routes = (rc: RouteConfiguration, vhost: string) => rc.virtualHosts.find((v) => v.name === vhost)!.routes;
    const c = 'c.c.svc.cluster.local:80';
    const d = 'd.c.svc.cluster.local:80';
    assert.equal(routes(a, c).length, 2);
    assert.deepEqual(routes(a, c), routes(b, c));
    const cluster = (r: Route) => (r.action.case === 'route' && r.action.value.clusterSpecifier.case === 'cluster' ? r.action.value.clusterSpecifier.value : '');
    assert.deepEqual(routes(a, d).map(cluster), ['outbound|80|v2|c.c.svc.cluster.local'], 'namespace a matches the source namespace (a catch-all for it)');
    assert.deepEqual(routes(b, d).map(cluster), ['outbound|80||c.c.svc.cluster.local'], 'namespace b does not');
  });
});
