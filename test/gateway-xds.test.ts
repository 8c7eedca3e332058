// What a router proxy receives: listeners and filter chains per gateway server, TLS contexts,
// gateway route configurations (virtual host names and domains, blackhole, httpsRedirect), clusters
// and endpoints — checked on the resources themselves and by walking calls through them.
import assert from 'node:assert/strict';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { parseYaml, formatConfigError } from '../pilot/config/parse.js';
import { MemoryConfigStore } from '../pilot/config/store.js';
import { buildServiceIndex } from '../pilot/registry/index.js';
import { defaultMeshConfig } from '../pilot/model/mesh.js';
import { PushContext } from '../pilot/model/push-context.js';
import { proxyFromNode, type Proxy } from '../pilot/model/proxy.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { envoyRegistry } from '../pilot/networking/registry.js';
import { gatewayGenerators } from '../pilot/networking/gateway/index.js';
import { generatorsFor } from '../pilot/networking/generators.js';
import { grpcGenerators } from '../pilot/networking/grpc/index.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import { DiscoveryService } from '../pilot/xds/discovery.js';
import { generateSimulationConfig } from '../pilot/simulation/config.js';
import { Simulation, downstreamTlsContext, extractHcm, extractTcpProxy } from '../pilot/simulation/engine.js';
import type { Call } from '../pilot/simulation/call.js';
import type { Listener } from '../gen/envoy/config/listener/v3/listener_pb.js';
import type { RouteConfiguration } from '../gen/envoy/config/route/v3/route_pb.js';
import type { Cluster } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { ClusterLoadAssignment } from '../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { VirtualHost_TlsRequirementType } from '../gen/envoy/config/route/v3/route_components_pb.js';
import type { NamedResource } from '../pilot/networking/generator.js';

function gatewayPush(yaml: string, configDomain?: string): PushContext {
  const parsed = parseYaml(yaml);
  assert.deepEqual(parsed.errors.map(formatConfigError), []);
  const store = new MemoryConfigStore();
  store.replaceAll(parsed.resources);
  return new PushContext('test/gw', defaultMeshConfig(), 'cluster.local', buildServiceIndex(store, { domainSuffix: 'cluster.local' }), store, configDomain === undefined ? {} : { configDomain });
}

const router = (labels: Record<string, string> = { istio: 'ingressgateway' }): Proxy =>
  proxyFromNode({ id: 'router~10.0.0.50~gw-abc.istio-system~istio-system.svc.cluster.local', metadata: { NAMESPACE: 'istio-system', LABELS: labels } });

const unpack = <T>(r: NamedResource) => anyUnpack(r.resource, envoyRegistry()) as unknown as T;

function generate<T>(push: PushContext, proxy: Proxy, typeUrl: string, names: string[] = []): T[] {
  return gatewayGenerators.byType[typeUrl]!(push, proxy, { typeUrl, names, wildcard: names.length === 0 }).map((r) => unpack<T>(r));
}

function run(push: PushContext, call: Call, proxy = router()) {
  return new Simulation(generateSimulationConfig(push, proxy, gatewayGenerators), { fidelity: 'istio' }).run(call);
}

const MESH = `
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  clusterIP: 10.96.1.1
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec:
  clusterIP: 10.96.1.2
  ports: [{name: tcp, port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: headless, namespace: default}
spec:
  clusterIP: None
  ports: [{name: http, port: 8080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews.default.svc.cluster.local
  subsets: [{name: v1, labels: {version: v1}}]
---
`;

const GATEWAY = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*.example.com"]
  - port: {number: 80, name: http-legacy, protocol: HTTP}
    hosts: [legacy.example.org]
    tls: {httpsRedirect: true}
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [shop.example.com, Admin.example.com]
    tls: {mode: SIMPLE, credentialName: shop-cert}
  - port: {number: 443, name: https-files, protocol: HTTPS}
    hosts: [files.example.com]
    tls: {mode: MUTUAL, serverCertificate: /certs/tls.crt, privateKey: /certs/tls.key, caCertificates: /certs/ca.crt}
  - port: {number: 443, name: https-mesh, protocol: HTTPS}
    hosts: [mesh.example.com]
    tls: {mode: ISTIO_MUTUAL}
  - port: {number: 443, name: tls, protocol: TLS}
    hosts: [db.example.com, other.example.com]
    tls: {mode: PASSTHROUGH}
  - port: {number: 5432, name: tcp, protocol: TCP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: default}
spec:
  hosts: [shop.example.com, www.example.com]
  gateways: [istio-system/web]
  http:
  - match: [{uri: {prefix: /api}}]
    route: [{destination: {host: reviews, subset: v1}}]
  - route: [{destination: {host: reviews}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: admin, namespace: default}
spec:
  hosts: [Admin.example.com]
  gateways: [istio-system/web]
  http:
  - route: [{destination: {host: reviews.default.svc.cluster.local, port: {number: 9080}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: mesh-only, namespace: default}
spec:
  hosts: [www.example.com]
  http:
  - route: [{destination: {host: headless}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db-tls, namespace: default}
spec:
  hosts: [db.example.com]
  gateways: [istio-system/web]
  tls:
  - match: [{sniHosts: [db.example.com], port: 443}]
    route: [{destination: {host: db}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db-tcp, namespace: default}
spec:
  hosts: ["*"]
  gateways: [istio-system/web]
  tcp:
  - match: [{port: 5432}]
    route: [{destination: {host: db}}]
`;

describe('gateway generators are chosen for router proxies', () => {
  it('generatorsFor: gRPC by metadata, routers by node type, sidecars otherwise; the xDS server agrees', () => {
    const sidecar = proxyFromNode({ id: 'sidecar~10.0.0.1~a.default~default.svc.cluster.local' });
    const grpc = proxyFromNode({ id: 'sidecar~10.0.0.1~a.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc' } });
    assert.equal(generatorsFor(router()), gatewayGenerators);
    assert.equal(generatorsFor(sidecar), sidecarGenerators);
    assert.equal(generatorsFor(grpc), grpcGenerators);
    const pick = DiscoveryService.prototype.generatorsFor as (this: unknown, p: Proxy) => unknown;
    assert.equal(pick.call(undefined, router()), gatewayGenerators);
  });
});

describe('gateway listeners', () => {
  const push = gatewayPush(MESH + GATEWAY);
  const listeners = generate<Listener>(push, router(), TYPE.listener);
  const byName = new Map(listeners.map((l) => [l.name, l]));

  it('one bound 0.0.0.0_<port> listener per port, no capture listeners', () => {
    assert.deepEqual(listeners.map((l) => l.name), ['0.0.0.0_80', '0.0.0.0_443', '0.0.0.0_5432']);
    for (const l of listeners) {
      assert.equal(l.bindToPort, undefined, 'gateways bind (Envoy default)');
      assert.equal(l.address?.address.case === 'socketAddress' && l.address.address.value.address, '0.0.0.0');
    }
  });

  it('plaintext HTTP: one unnamed chain without match, an HCM on RDS http.80, no TLS inspector', () => {
    const l = byName.get('0.0.0.0_80')!;
    assert.equal(l.filterChains.length, 1);
    assert.equal(l.filterChains[0]!.name, '');
    assert.equal(l.filterChains[0]!.filterChainMatch, undefined);
    const hcm = extractHcm(l.filterChains[0]!)!;
    assert.equal(hcm.routeSpecifier.case === 'rds' && hcm.routeSpecifier.value.routeConfigName, 'http.80');
    assert.equal(hcm.statPrefix, 'outbound_0.0.0.0_80_');
    assert.equal(hcm.useRemoteAddress, true);
    assert.equal(hcm.httpFilters.at(-1)!.name, 'envoy.filters.http.router');
    assert.equal(l.listenerFilters.length, 0);
  });

  it('443: an SNI chain per terminating server with its own RDS and TLS context, then passthrough SNI chains', () => {
    const l = byName.get('0.0.0.0_443')!;
    assert.deepEqual(l.listenerFilters.map((f) => f.name), ['envoy.filters.listener.tls_inspector']);
    assert.deepEqual(l.filterChains.map((c) => c.filterChainMatch?.serverNames), [['Admin.example.com', 'shop.example.com'], ['files.example.com'], ['mesh.example.com'], ['db.example.com']]);
    const rds = l.filterChains.map((c) => {
      const h = extractHcm(c);
      return h?.routeSpecifier.case === 'rds' ? h.routeSpecifier.value.routeConfigName : extractTcpProxy(c)?.clusterSpecifier.value;
    });
    assert.deepEqual(rds, ['https.443.https.web.istio-system', 'https.443.https-files.web.istio-system', 'https.443.https-mesh.web.istio-system', 'outbound|5432||db.default.svc.cluster.local']);
    assert.equal(l.filterChains[3]!.transportSocket, undefined, 'passthrough does not terminate TLS');
    for (const c of l.filterChains) assert.equal(c.transportSocketConnectTimeout?.seconds, 15n);
  });

  it('TLS contexts: credentialName as kubernetes:// over ADS, files as file-cert/file-root, ISTIO_MUTUAL as default/ROOTCA', () => {
    const [simple, files, mesh] = byName.get('0.0.0.0_443')!.filterChains.map((c) => downstreamTlsContext(c));
    assert.equal(simple!.requireClientCertificate, false);
    assert.deepEqual(simple!.commonTlsContext!.alpnProtocols, ['h2', 'http/1.1']);
    const sds = simple!.commonTlsContext!.tlsCertificateSdsSecretConfigs[0]!;
    assert.equal(sds.name, 'kubernetes://shop-cert');
    assert.equal(sds.sdsConfig?.configSourceSpecifier.case, 'ads');
    assert.equal(simple!.commonTlsContext!.validationContextType.case, undefined);

    assert.equal(files!.requireClientCertificate, true);
    assert.equal(files!.commonTlsContext!.tlsCertificateSdsSecretConfigs[0]!.name, 'file-cert:/certs/tls.crt~/certs/tls.key');
    const v = files!.commonTlsContext!.validationContextType;
    assert.equal(v.case, 'combinedValidationContext');
    assert.equal(v.case === 'combinedValidationContext' && v.value.validationContextSdsSecretConfig?.name, 'file-root:/certs/ca.crt');

    assert.equal(mesh!.requireClientCertificate, true);
    assert.equal(mesh!.commonTlsContext!.tlsCertificateSdsSecretConfigs[0]!.name, 'default');
    const mv = mesh!.commonTlsContext!.validationContextType;
    assert.equal(mv.case === 'combinedValidationContext' && mv.value.validationContextSdsSecretConfig?.name, 'ROOTCA');
  });

  it('TCP: a tcp_proxy chain from the bound VirtualService tcp route', () => {
    const l = byName.get('0.0.0.0_5432')!;
    assert.equal(l.filterChains.length, 1);
    assert.equal(extractTcpProxy(l.filterChains[0]!)?.clusterSpecifier.value, 'outbound|5432||db.default.svc.cluster.local');
  });

  it('a TCP server with nothing bound yields no listener at all (as Istio: no chains, no listener)', () => {
    const lone = gatewayPush(`${MESH}
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: tcp, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 31400, name: tcp, protocol: TCP}, hosts: ["*"]}]
`);
    assert.deepEqual(generate<Listener>(lone, router(), TYPE.listener), []);
    assert.equal(run(lone, { port: 31400, protocol: 'tcp' }).error?.name, 'ErrNoListener');
  });

  it('AUTO_PASSTHROUGH: an SNI chain per mesh service port and subset, matching Istio mTLS ALPNs', () => {
    const ew = gatewayPush(`${MESH}
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: eastwest, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 15443, name: tls, protocol: TLS}, hosts: ["*.local"], tls: {mode: AUTO_PASSTHROUGH}}]
`);
    const [l] = generate<Listener>(ew, router(), TYPE.listener);
    const sni = l!.filterChains.map((c) => c.filterChainMatch!.serverNames[0]);
    assert.deepEqual([...sni].sort(), [
      'outbound_.5432_._.db.default.svc.cluster.local',
      'outbound_.8080_._.headless.default.svc.cluster.local',
      'outbound_.9080_._.reviews.default.svc.cluster.local',
      'outbound_.9080_.v1_.reviews.default.svc.cluster.local',
    ]);
    assert.ok(l!.filterChains[0]!.filterChainMatch!.applicationProtocols.includes('istio'));
    const clusters = generate<Cluster>(ew, router(), TYPE.cluster).map((c) => c.name);
    for (const name of sni) assert.ok(clusters.includes(name!), `${name} cluster`);
    const [cla] = generate<ClusterLoadAssignment>(ew, router(), TYPE.endpoint, ['outbound_.9080_._.reviews.default.svc.cluster.local']);
    assert.equal(cla!.clusterName, 'outbound_.9080_._.reviews.default.svc.cluster.local');
  });
});

describe('gateway routes', () => {
  const push = gatewayPush(MESH + GATEWAY);
  const route = (name: string) => generate<RouteConfiguration>(push, router(), TYPE.route, [name])[0]!;

  it('virtual hosts <host>:<server port> for hosts shared by server and bound VirtualService, one exact domain each', () => {
    const rc = route('http.80');
    assert.deepEqual(
      rc.virtualHosts.map((v) => [v.name, v.domains]),
      [
        ['admin.example.com:80', ['admin.example.com']],
        ['legacy.example.org:80', ['legacy.example.org']],
        ['shop.example.com:80', ['shop.example.com', 'www.example.com']],
      ],
    );
    assert.equal(rc.ignorePortInHostMatching, true);
    assert.equal(rc.validateClusters, false);
  });

  it('routes come from the route translation, in VirtualService order; mesh-only VirtualServices do not apply', () => {
    const shop = route('http.80').virtualHosts.find((v) => v.name === 'shop.example.com:80')!;
    const clusters = shop.routes.map((r) => (r.action.case === 'route' && r.action.value.clusterSpecifier.case === 'cluster' ? r.action.value.clusterSpecifier.value : ''));
    assert.deepEqual(clusters, ['outbound|9080|v1|reviews.default.svc.cluster.local', 'outbound|9080||reviews.default.svc.cluster.local']);
  });

  it('httpsRedirect: a virtual host requiring TLS even without routes', () => {
    const legacy = route('http.80').virtualHosts.find((v) => v.name === 'legacy.example.org:80')!;
    assert.equal(legacy.requireTls, VirtualHost_TlsRequirementType.ALL);
    assert.equal(legacy.routes.length, 0);
    assert.equal(run(push, { port: 80, protocol: 'http', hostHeader: 'legacy.example.org' }).error?.name, 'ErrTLSRedirect');
  });

  it('HTTPS route names carry server port name, gateway and namespace; hosts are lower-cased', () => {
    const rc = route('https.443.https.web.istio-system');
    assert.deepEqual(rc.virtualHosts.map((v) => [v.name, v.domains]), [
      ['admin.example.com:443', ['admin.example.com']],
      ['shop.example.com:443', ['shop.example.com']],
    ]);
  });

  it('blackhole:<port> (no routes) when no VirtualService binds the server; empty config for unknown names', () => {
    const rc = route('https.443.https-files.web.istio-system');
    assert.deepEqual(rc.virtualHosts.map((v) => [v.name, v.domains, v.routes.length]), [['blackhole:443', ['*'], 0]]);
    const unknown = route('http.9999');
    assert.equal(unknown.name, 'http.9999');
    assert.deepEqual(unknown.virtualHosts, []);
  });

  it('short destination hosts resolve in the VirtualService namespace with the config domain', () => {
    const harness = gatewayPush(MESH + GATEWAY, '');
    const rc = generate<RouteConfiguration>(harness, router(), TYPE.route, ['http.80'])[0]!;
    const shop = rc.virtualHosts.find((v) => v.name === 'shop.example.com:80')!;
    const last = shop.routes.at(-1)!;
    assert.equal(last.action.case === 'route' && last.action.value.clusterSpecifier.value, 'outbound|80||reviews.default');
  });
});

describe('calls through a gateway', () => {
  const push = gatewayPush(MESH + GATEWAY);
  it('walks HTTP, HTTPS, passthrough and TCP calls to their clusters', () => {
    let r = run(push, { port: 80, protocol: 'http', hostHeader: 'www.example.com', path: '/api/x' });
    assert.deepEqual([r.error?.name, r.listener, r.routeConfig, r.virtualHost, r.cluster], [undefined, '0.0.0.0_80', 'http.80', 'shop.example.com:80', 'outbound|9080|v1|reviews.default.svc.cluster.local']);
    r = run(push, { port: 80, protocol: 'http', hostHeader: 'nope.example.com' });
    assert.equal(r.error?.name, 'ErrNoVirtualHost');
    r = run(push, { port: 443, protocol: 'http', tls: 'tls', hostHeader: 'shop.example.com' });
    assert.deepEqual([r.error?.name, r.routeConfig, r.virtualHost], [undefined, 'https.443.https.web.istio-system', 'shop.example.com:443']);
    r = run(push, { port: 443, protocol: 'http', hostHeader: 'shop.example.com', sni: 'shop.example.com' });
    assert.equal(r.error?.name, 'ErrTLSError');
    // ISTIO_MUTUAL takes mTLS (then finds no route: nothing is bound to that host), and refuses plain TLS.
    r = run(push, { port: 443, protocol: 'http', tls: 'mtls', sni: 'mesh.example.com', hostHeader: 'mesh.example.com' });
    assert.deepEqual([r.error?.name, r.virtualHost], ['ErrNoRoute', 'blackhole:443']);
    r = run(push, { port: 443, protocol: 'http', tls: 'tls', sni: 'mesh.example.com', hostHeader: 'mesh.example.com' });
    assert.equal(r.error?.name, 'ErrMTLSError');
    r = run(push, { port: 443, protocol: 'tcp', tls: 'tls', sni: 'db.example.com' });
    assert.deepEqual([r.error?.name, r.cluster], [undefined, 'outbound|5432||db.default.svc.cluster.local']);
    r = run(push, { port: 5432, protocol: 'tcp' });
    assert.equal(r.cluster, 'outbound|5432||db.default.svc.cluster.local');
    r = run(push, { port: 8080, protocol: 'http' });
    assert.equal(r.error?.name, 'ErrNoListener');
  });

  it('port translation: listeners on the target port, virtual hosts keep the server port', () => {
    const translated = gatewayPush(`${MESH}${GATEWAY}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ingress, namespace: istio-system}
spec:
  hosts: [istio-ingressgateway.istio-system.svc.cluster.local]
  ports: [{number: 80, targetPort: 8080, name: http, protocol: HTTP}, {number: 443, targetPort: 8443, name: https, protocol: HTTPS}]
  resolution: STATIC
  location: MESH_INTERNAL
  endpoints: [{address: 10.0.0.50}]
`);
    assert.deepEqual(generate<Listener>(translated, router(), TYPE.listener).map((l) => l.name), ['0.0.0.0_8080', '0.0.0.0_8443', '0.0.0.0_5432']);
    const r = run(translated, { port: 8080, protocol: 'http', hostHeader: 'shop.example.com' });
    assert.deepEqual([r.listener, r.routeConfig, r.virtualHost], ['0.0.0.0_8080', 'http.8080', 'shop.example.com:80']);
    const s = run(translated, { port: 8443, protocol: 'http', tls: 'tls', hostHeader: 'shop.example.com' });
    assert.deepEqual([s.listener, s.routeConfig, s.virtualHost], ['0.0.0.0_8443', 'https.443.https.web.istio-system', 'shop.example.com:443']);
  });
});

describe('gateways are not scoped by Sidecar resources', () => {
  it('a root-namespace Sidecar limiting egress leaves gateway endpoints and routes alone', () => {
    const push = gatewayPush(`${MESH}${GATEWAY}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: istio-system}
spec:
  egress: [{hosts: ["./*"]}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8000, name: http, protocol: HTTP}]
  endpoints: [{address: 10.3.0.1}, {address: 10.3.0.2}]
`);
    const [cla] = generate<ClusterLoadAssignment>(push, router(), TYPE.endpoint, ['outbound|8000||api.internal']);
    assert.equal(cla!.endpoints.flatMap((l) => l.lbEndpoints).length, 2);
  });
});

describe('gateway clusters', () => {
  const push = gatewayPush(MESH + GATEWAY);
  const clusters = generate<Cluster>(push, router(), TYPE.cluster);
  it('outbound clusters (subsets too) and BlackHoleCluster; no inbound or passthrough clusters; headless gets EDS', () => {
    const names = clusters.map((c) => c.name);
    assert.ok(names.includes('outbound|9080||reviews.default.svc.cluster.local'));
    assert.ok(names.includes('outbound|9080|v1|reviews.default.svc.cluster.local'));
    assert.ok(names.includes('BlackHoleCluster'));
    assert.ok(!names.some((n) => n.startsWith('inbound') || n === 'PassthroughCluster' || n === 'InboundPassthroughCluster'));
    assert.ok(!names.some((n) => n.startsWith('outbound_.')), 'SNI-DNAT clusters only with AUTO_PASSTHROUGH');
    const headless = clusters.find((c) => c.name === 'outbound|8080||headless.default.svc.cluster.local')!;
    assert.equal(headless.clusterDiscoveryType.case === 'type' && headless.clusterDiscoveryType.value, 3 /* EDS */);
  });
});
