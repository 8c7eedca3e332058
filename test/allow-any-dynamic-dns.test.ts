// Mesh outboundTrafficPolicy ALLOW_ANY_DYNAMIC_DNS: Istio's dynamic forward proxy resources for
// sidecars (cluster, HTTP filter, catch-all virtual host, virtualOutbound HTTP chain), by name and
// shape, valid by Envoy's protos, and followed by the simulation.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import type { Cluster } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import { Cluster_DnsLookupFamily, Cluster_LbPolicy } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { Listener } from '../gen/envoy/config/listener/v3/listener_pb.js';
import type { RouteConfiguration } from '../gen/envoy/config/route/v3/route_pb.js';
import { ClusterConfigSchema } from '../gen/envoy/extensions/clusters/dynamic_forward_proxy/v3/cluster_pb.js';
import type { DnsCacheConfig } from '../gen/envoy/extensions/common/dynamic_forward_proxy/v3/dns_cache_pb.js';
import { FilterConfigSchema } from '../gen/envoy/extensions/filters/http/dynamic_forward_proxy/v3/dynamic_forward_proxy_pb.js';
import { HttpConnectionManagerSchema, type HttpConnectionManager } from '../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { CaresDnsResolverConfigSchema } from '../gen/envoy/extensions/network/dns_resolver/cares/v3/cares_dns_resolver_pb.js';
import { HttpProtocolOptionsSchema } from '../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js';
import { loadMeshConfig } from '../pilot/bootstrap/mesh.js';
import { meshConfigFromJson } from '../pilot/model/mesh-json.js';
import type { OutboundTrafficPolicyMode } from '../pilot/model/mesh.js';
import { proxyFromNode, type Proxy } from '../pilot/model/proxy.js';
import type { PushContext } from '../pilot/model/push-context.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { gatewayGenerators } from '../pilot/networking/gateway/index.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import { generateSimulationConfig } from '../pilot/simulation/config.js';
import { Simulation } from '../pilot/simulation/engine.js';
import { pushFromYaml } from './support/push.js';
import { generate, resourceProblems, unpack } from './support/resources.js';

const MESH = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se, namespace: default}
spec:
  hosts: [istio.io]
  addresses: [1.2.3.4]
  location: MESH_EXTERNAL
  resolution: DNS
  ports:
  - {name: http, number: 80, protocol: HTTP}
  - {name: tcp, number: 82, protocol: TCP}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  clusterIP: 10.96.0.9
  ports: [{name: http, port: 9080}]
`;

function sidecar(metadata: Record<string, string> = {}, ip = '10.1.1.1'): Proxy {
  return proxyFromNode({ id: `sidecar~${ip}~app.default~default.svc.cluster.local`, metadata: { NAMESPACE: 'default', INSTANCE_IPS: ip, ...metadata } });
}

const pushWith = (mode: OutboundTrafficPolicyMode, extra = '') => pushFromYaml(`${MESH}${extra}`, { outboundTrafficPolicy: mode });
const clusters = (push: PushContext, proxy: Proxy) => generate(sidecarGenerators, push, proxy, TYPE.cluster).map((r) => unpack<Cluster>(r));
const listeners = (push: PushContext, proxy: Proxy) => generate(sidecarGenerators, push, proxy, TYPE.listener).map((r) => unpack<Listener>(r));
const routeConfig = (push: PushContext, proxy: Proxy, name: string) => unpack<RouteConfiguration>(generate(sidecarGenerators, push, proxy, TYPE.route, [name])[0]!);

function hcmOf(l: Listener, chainName?: string): HttpConnectionManager {
  const chain = chainName ? l.filterChains.find((c) => c.name === chainName) : (l.filterChains[0] ?? l.defaultFilterChain);
  assert.ok(chain, `${l.name} has no chain ${chainName ?? ''}`);
  const f = chain.filters.find((x) => x.name === 'envoy.filters.network.http_connection_manager');
  assert.ok(f && f.configType.case === 'typedConfig');
  return anyUnpack(f.configType.value, HttpConnectionManagerSchema)!;
}

function dfpCacheOfCluster(c: Cluster): { cache: DnsCacheConfig; allowInsecure: boolean } {
  assert.equal(c.clusterDiscoveryType.case, 'clusterType');
  const ct = c.clusterDiscoveryType.value;
  assert.equal(ct.name, 'envoy.clusters.dynamic_forward_proxy');
  const cfg = anyUnpack(ct.typedConfig!, ClusterConfigSchema)!;
  assert.equal(cfg.clusterImplementationSpecifier.case, 'dnsCacheConfig');
  return { cache: cfg.clusterImplementationSpecifier.value, allowInsecure: cfg.allowInsecureClusterOptions };
}

function dfpCacheOfHcm(hcm: HttpConnectionManager): DnsCacheConfig {
  const names = hcm.httpFilters.map((f) => f.name);
  const at = names.indexOf('envoy.filters.http.dynamic_forward_proxy');
  assert.ok(at >= 0, `no forward proxy filter in ${names.join(', ')}`);
  assert.equal(names[names.length - 1], 'envoy.filters.http.router');
  assert.equal(at, names.length - 2, 'the forward proxy filter comes just before the router');
  const f = hcm.httpFilters[at]!;
  assert.equal(f.configType.case, 'typedConfig');
  const cfg = anyUnpack(f.configType.value, FilterConfigSchema)!;
  assert.equal(cfg.implementationSpecifier.case, 'dnsCacheConfig');
  return cfg.implementationSpecifier.value;
}

describe('mesh config: outboundTrafficPolicy ALLOW_ANY_DYNAMIC_DNS', () => {
  it('is read by name and by number, and an unknown mode is an error', () => {
    assert.equal(meshConfigFromJson({ outboundTrafficPolicy: { mode: 'ALLOW_ANY_DYNAMIC_DNS' } }).mesh.outboundTrafficPolicy, 'ALLOW_ANY_DYNAMIC_DNS');
    assert.equal(meshConfigFromJson({ outboundTrafficPolicy: { mode: 3 } }).mesh.outboundTrafficPolicy, 'ALLOW_ANY_DYNAMIC_DNS');
    assert.equal(meshConfigFromJson({ outboundTrafficPolicy: {} }).mesh.outboundTrafficPolicy, 'REGISTRY_ONLY');
    const bad = meshConfigFromJson({ outboundTrafficPolicy: { mode: 'ANYTHING' } });
    assert.deepEqual(bad.errors, ['outboundTrafficPolicy.mode: unknown value "ANYTHING"']);
    assert.equal(bad.mesh.outboundTrafficPolicy, 'ALLOW_ANY');
    const other = meshConfigFromJson({ connectTimeout: '2.5s', enableTracing: true });
    assert.equal(other.mesh.connectTimeoutSeconds, 2.5);
    assert.deepEqual(other.ignored, ['enableTracing']);
  });

  it('isthmusd reads it from the mesh config file, and keeps Istio\'s defaults for a file Istio rejects', () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-mesh-'));
    const warnings: string[] = [];
    const log = { info: () => {}, warn: (_o: unknown, m?: string) => void warnings.push(m ?? '') } as unknown as Parameters<typeof loadMeshConfig>[1];
    try {
      writeFileSync(join(dir, 'mesh'), 'outboundTrafficPolicy:\n  mode: ALLOW_ANY_DYNAMIC_DNS\nrootNamespace: mesh-root\n');
      const mesh = loadMeshConfig(join(dir, 'mesh'), log);
      assert.deepEqual([mesh.outboundTrafficPolicy, mesh.rootNamespace], ['ALLOW_ANY_DYNAMIC_DNS', 'mesh-root']);
      writeFileSync(join(dir, 'bad'), 'outboundTrafficPolicy:\n  mode: SOMETIMES\n');
      assert.equal(loadMeshConfig(join(dir, 'bad'), log).outboundTrafficPolicy, 'ALLOW_ANY');
      assert.equal(warnings.length, 1);
      assert.equal(loadMeshConfig(join(dir, 'absent'), log).outboundTrafficPolicy, 'ALLOW_ANY');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sidecar resources with ALLOW_ANY_DYNAMIC_DNS', () => {
  const push = pushWith('ALLOW_ANY_DYNAMIC_DNS');
  const proxy = sidecar();

  it('adds AllowAnyDynamicDNSCluster: a dynamic forward proxy cluster with the shared DNS cache', () => {
    const all = clusters(push, proxy);
    const c = all.find((x) => x.name === 'AllowAnyDynamicDNSCluster');
    assert.ok(c, `clusters: ${all.map((x) => x.name).join(', ')}`);
    assert.ok(all.some((x) => x.name === 'PassthroughCluster') && all.some((x) => x.name === 'BlackHoleCluster'));
    assert.equal(c.lbPolicy, Cluster_LbPolicy.CLUSTER_PROVIDED);
    assert.equal(c.altStatName, 'AllowAnyDynamicDNSCluster;');
    assert.equal(c.connectTimeout?.seconds, 10n);
    const { cache, allowInsecure } = dfpCacheOfCluster(c);
    assert.equal(allowInsecure, true);
    assert.equal(cache.name, 'allow_any_dfp_dns_cache');
    assert.equal(cache.maxHosts, 1024);
    assert.equal(cache.dnsLookupFamily, Cluster_DnsLookupFamily.V4_ONLY);
    assert.equal(cache.typedDnsResolverConfig, undefined, 'without DNS capture Envoy resolves on its own');
    const http = anyUnpack(c.typedExtensionProtocolOptions['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']!, HttpProtocolOptionsSchema)!;
    assert.equal(http.upstreamProtocolOptions.case, 'useDownstreamProtocolConfig');
    assert.equal(http.commonHttpProtocolOptions?.idleTimeout?.seconds, 300n);
    assert.equal(c.circuitBreakers?.thresholds[0]?.maxConnections, 4294967295);
  });

  it('sends plaintext HTTP on virtualOutbound through the HTTP inspector to an inline allow_any_dynamic_dns route', () => {
    const vo = listeners(push, proxy).find((l) => l.name === 'virtualOutbound')!;
    assert.deepEqual(vo.listenerFilters.map((f) => f.name), ['envoy.filters.listener.http_inspector']);
    assert.deepEqual(vo.filterChains.map((c) => c.name), ['virtualOutbound-blackhole', 'virtualOutbound-catchall-tcp-http', 'virtualOutbound-catchall-tcp']);
    assert.deepEqual(vo.filterChains[1]!.filterChainMatch?.applicationProtocols, ['http/1.1', 'h2c']);
    const hcm = hcmOf(vo, 'virtualOutbound-catchall-tcp-http');
    assert.equal(hcm.statPrefix, 'outbound_virtualOutbound_allow_any_dynamic_dns;');
    assert.equal(hcm.routeSpecifier.case, 'routeConfig');
    const rc = hcm.routeSpecifier.value;
    assert.equal(rc.name, 'allow_any_dynamic_dns');
    assert.equal(rc.ignorePortInHostMatching, true);
    assert.deepEqual(rc.virtualHosts.map((v) => [v.name, v.domains]), [['allow_any_dynamic_dns', ['*']]]);
    assert.equal(dfpCacheOfHcm(hcm).name, 'allow_any_dfp_dns_cache');
  });

  it('routes unknown hosts of outbound route configs to the forward proxy, and adds its filter to every outbound HTTP listener', () => {
    const rc = routeConfig(push, proxy, '80');
    const last = rc.virtualHosts[rc.virtualHosts.length - 1]!;
    assert.equal(last.name, 'allow_any_dynamic_dns');
    assert.deepEqual(last.domains, ['*']);
    const route = last.routes[0]!;
    assert.equal(route.name, 'allow_any_dynamic_dns');
    assert.equal(route.match?.pathSpecifier.case, 'prefix');
    assert.ok(route.action.case === 'route' && route.action.value.clusterSpecifier.case === 'cluster');
    assert.equal(route.action.value.clusterSpecifier.value, 'AllowAnyDynamicDNSCluster');
    assert.equal(route.action.value.timeout?.seconds, 0n);
    assert.ok(rc.virtualHosts.some((v) => v.name === 'istio.io:80'), 'known hosts keep their own virtual host');

    for (const name of ['0.0.0.0_80', '0.0.0.0_9080']) {
      const l = listeners(push, proxy).find((x) => x.name === name)!;
      assert.equal(dfpCacheOfHcm(hcmOf(l)).name, 'allow_any_dfp_dns_cache');
    }
    // TCP still falls through to the PassthroughCluster.
    const tcp = listeners(push, proxy).find((x) => x.name === '1.2.3.4_82')!;
    assert.equal(tcp.filterChains.length, 1);
  });

  it('points the DNS cache at the Istio agent when DNS is captured, and follows the proxy\'s IP family', () => {
    const captured = sidecar({ DNS_CAPTURE: 'true', DNS_PROXY_ADDR: 'localhost:15054' });
    const { cache } = dfpCacheOfCluster(clusters(push, captured).find((x) => x.name === 'AllowAnyDynamicDNSCluster')!);
    assert.equal(cache.typedDnsResolverConfig?.name, 'envoy.network.dns_resolver.cares');
    const cares = anyUnpack(cache.typedDnsResolverConfig!.typedConfig!, CaresDnsResolverConfigSchema)!;
    const addr = cares.resolvers[0]?.address;
    assert.ok(addr?.case === 'socketAddress');
    assert.deepEqual([addr.value.address, addr.value.portSpecifier.value], ['127.0.0.1', 15054]);
    const filterCache = dfpCacheOfHcm(hcmOf(listeners(push, captured).find((l) => l.name === 'virtualOutbound')!, 'virtualOutbound-catchall-tcp-http'));
    assert.equal(filterCache.typedDnsResolverConfig?.name, 'envoy.network.dns_resolver.cares', 'the filter and the cluster share one cache config');

    // An unreadable address falls back to the agent's default; IPv6-only proxies look up AAAA.
    const fallback = sidecar({ DNS_CAPTURE: 'true', DNS_PROXY_ADDR: 'nonsense' }, 'fd00::1');
    const other = dfpCacheOfCluster(clusters(push, fallback).find((x) => x.name === 'AllowAnyDynamicDNSCluster')!).cache;
    assert.equal(other.dnsLookupFamily, Cluster_DnsLookupFamily.V6_ONLY);
    const fb = anyUnpack(other.typedDnsResolverConfig!.typedConfig!, CaresDnsResolverConfigSchema)!.resolvers[0]!.address;
    assert.ok(fb.case === 'socketAddress' && fb.value.address === '127.0.0.1' && fb.value.portSpecifier.value === 15053);

    // Proxies of one push with different DNS settings do not share each other's output.
    assert.equal(dfpCacheOfCluster(clusters(push, proxy).find((x) => x.name === 'AllowAnyDynamicDNSCluster')!).cache.typedDnsResolverConfig, undefined);
  });

  it('sizes the cache from PILOT_ALLOW_ANY_DYNAMIC_DNS_MAX_HOSTS', () => {
    process.env.PILOT_ALLOW_ANY_DYNAMIC_DNS_MAX_HOSTS = '64';
    try {
      const c = clusters(pushWith('ALLOW_ANY_DYNAMIC_DNS'), proxy).find((x) => x.name === 'AllowAnyDynamicDNSCluster')!;
      assert.equal(dfpCacheOfCluster(c).cache.maxHosts, 64);
    } finally {
      delete process.env.PILOT_ALLOW_ANY_DYNAMIC_DNS_MAX_HOSTS;
    }
  });

  it('passes Envoy\'s validate.rules', () => {
    const captured = sidecar({ DNS_CAPTURE: 'true' });
    const resources = [
      ...generate(sidecarGenerators, push, captured, TYPE.cluster),
      ...generate(sidecarGenerators, push, captured, TYPE.listener),
      ...generate(sidecarGenerators, push, captured, TYPE.route, ['80', '9080']),
    ];
    assert.deepEqual(resources.flatMap(resourceProblems), []);
  });

  it('is walked by the simulation: plaintext HTTP to the forward proxy, TLS and TCP passed through', () => {
    const sim = new Simulation(generateSimulationConfig(push, proxy), { fidelity: 'istio' });
    const http = sim.run({ port: 81, protocol: 'http', hostHeader: 'example.com' });
    assert.deepEqual([http.error, http.listener, http.filterChain, http.virtualHost, http.cluster], [null, 'virtualOutbound', 'virtualOutbound-catchall-tcp-http', 'allow_any_dynamic_dns', 'AllowAnyDynamicDNSCluster']);
    const known = sim.run({ port: 80, protocol: 'http', hostHeader: 'example.com' });
    assert.deepEqual([known.listener, known.routeConfig, known.cluster], ['0.0.0.0_80', '80', 'AllowAnyDynamicDNSCluster']);
    assert.equal(sim.run({ port: 81, protocol: 'http', tls: 'tls', hostHeader: 'example.com' }).cluster, 'PassthroughCluster');
    assert.equal(sim.run({ port: 81, protocol: 'tcp' }).cluster, 'PassthroughCluster');
  });
});

describe('where ALLOW_ANY_DYNAMIC_DNS does not apply', () => {
  it('ALLOW_ANY and REGISTRY_ONLY build none of it', () => {
    for (const mode of ['ALLOW_ANY', 'REGISTRY_ONLY'] as const) {
      const push = pushWith(mode);
      const proxy = sidecar();
      assert.ok(!clusters(push, proxy).some((c) => c.name === 'AllowAnyDynamicDNSCluster'), mode);
      const vo = listeners(push, proxy).find((l) => l.name === 'virtualOutbound')!;
      assert.deepEqual(vo.listenerFilters, [], mode);
      assert.deepEqual(vo.filterChains.map((c) => c.name), ['virtualOutbound-blackhole', 'virtualOutbound-catchall-tcp'], mode);
      const names = hcmOf(listeners(push, proxy).find((l) => l.name === '0.0.0.0_80')!).httpFilters.map((f) => f.name);
      assert.ok(!names.includes('envoy.filters.http.dynamic_forward_proxy'), mode);
      const rc = routeConfig(push, proxy, '80');
      assert.equal(rc.virtualHosts[rc.virtualHosts.length - 1]!.name, mode === 'ALLOW_ANY' ? 'allow_any' : 'block_all');
    }
  });

  it('a Sidecar resource\'s own policy replaces the mesh\'s (its mode defaulting to REGISTRY_ONLY)', () => {
    const push = pushWith('ALLOW_ANY_DYNAMIC_DNS', `---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  outboundTrafficPolicy: {}
`);
    const proxy = sidecar();
    assert.ok(!clusters(push, proxy).some((c) => c.name === 'AllowAnyDynamicDNSCluster'));
    const rc = routeConfig(push, proxy, '80');
    assert.equal(rc.virtualHosts[rc.virtualHosts.length - 1]!.name, 'block_all');
  });

  it('gateways never use it', () => {
    const push = pushWith('ALLOW_ANY_DYNAMIC_DNS');
    const router = proxyFromNode({ id: 'router~10.0.0.50~gw.istio-system~istio-system.svc.cluster.local', metadata: { NAMESPACE: 'istio-system', LABELS: { istio: 'ingressgateway' } } });
    const names = generate(gatewayGenerators, push, router, TYPE.cluster).map((r) => r.name);
    assert.ok(!names.includes('AllowAnyDynamicDNSCluster'), names.join(', '));
  });
});
