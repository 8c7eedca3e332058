// outboundTrafficPolicy ALLOW_ANY_DYNAMIC_DNS (mesh-wide, sidecars only): plaintext HTTP to hosts
// the mesh does not know is sent through Envoy's dynamic forward proxy, which resolves the Host
// header itself (through the Istio agent's DNS proxy when DNS capture is on); other unknown
// traffic passes through as with ALLOW_ANY. Istio's pieces, with its names:
// - the `AllowAnyDynamicDNSCluster` cluster (custom cluster type envoy.clusters.dynamic_forward_proxy);
// - the `envoy.filters.http.dynamic_forward_proxy` filter in every outbound HTTP connection manager;
// - the `allow_any_dynamic_dns` catch-all virtual host (and route) in outbound route configs;
// - on virtualOutbound, the HTTP inspector and a `virtualOutbound-catchall-tcp-http` chain.
// All of them share one DNS cache, `allow_any_dfp_dns_cache`.
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { Cluster_DnsLookupFamily, Cluster_LbPolicy, ClusterSchema, type Cluster } from '../../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { TypedExtensionConfigSchema } from '../../../gen/envoy/config/core/v3/extension_pb.js';
import { FilterChainSchema, FilterSchema, type FilterChain } from '../../../gen/envoy/config/listener/v3/listener_components_pb.js';
import { RouteConfigurationSchema } from '../../../gen/envoy/config/route/v3/route_pb.js';
import { VirtualHostSchema, type VirtualHost } from '../../../gen/envoy/config/route/v3/route_components_pb.js';
import { ClusterConfigSchema } from '../../../gen/envoy/extensions/clusters/dynamic_forward_proxy/v3/cluster_pb.js';
import { DnsCacheConfigSchema, type DnsCacheConfig } from '../../../gen/envoy/extensions/common/dynamic_forward_proxy/v3/dns_cache_pb.js';
import { FilterConfigSchema } from '../../../gen/envoy/extensions/filters/http/dynamic_forward_proxy/v3/dynamic_forward_proxy_pb.js';
import { HttpConnectionManagerSchema, HttpFilterSchema, type HttpFilter } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { CaresDnsResolverConfigSchema } from '../../../gen/envoy/extensions/network/dns_resolver/cares/v3/cares_dns_resolver_pb.js';
import { HttpProtocolOptionsSchema } from '../../../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js';
import { metadataBool } from '../../model/addresses.js';
import { allowAnyDynamicDnsMaxHosts, dualStack, ipv4OutboundForIpv6Clusters } from '../../model/features.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { applyConnectionPool } from '../cluster-policy.js';
import { duration } from '../envoy.js';
import { ALLOW_ANY_DFP_DNS_CACHE, ALLOW_ANY_DYNAMIC_DNS, ALLOW_ANY_DYNAMIC_DNS_CLUSTER } from '../names.js';
import { httpFilters, PLAINTEXT_HTTP_ALPNS, socketAddress } from './common.js';
import { pathNormalizationFields } from '../path-normalization.js';
import type { PathNormalization } from '../../model/mesh.js';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const DEFAULT_DNS_PROXY = { host: '127.0.0.1', port: 15053 };

/** Istio's IsAllowAnyDynamicDNSOutbound: the mode is the sidecar scope's, and gateways never use it. */
export function allowAnyDynamicDns(push: PushContext, proxy: Proxy): boolean {
  return proxy.type === 'sidecar' && push.sidecarScope(proxy).outboundTrafficPolicy === 'ALLOW_ANY_DYNAMIC_DNS';
}

/** Istio's SelectDNSLookupFamily over the INSTANCE_IPS metadata. */
function lookupFamily(proxy: Proxy): Cluster_DnsLookupFamily {
  const raw = proxy.metadata.INSTANCE_IPS;
  const ips = typeof raw === 'string' ? raw.split(',').filter(Boolean) : [];
  if (ips.length === 0) return Cluster_DnsLookupFamily.V4_ONLY;
  if (ips.every((ip) => /^\d{1,3}(\.\d{1,3}){3}$/.test(ip))) return Cluster_DnsLookupFamily.V4_ONLY;
  if (ips.every((ip) => ip.includes(':'))) return ipv4OutboundForIpv6Clusters() ? Cluster_DnsLookupFamily.ALL : Cluster_DnsLookupFamily.V6_ONLY;
  return dualStack() ? Cluster_DnsLookupFamily.ALL : Cluster_DnsLookupFamily.V4_ONLY;
}

/** DNS_PROXY_ADDR (`host:port`, `[v6]:port`) as Go's net.SplitHostPort reads it; the agent's default when unreadable. */
function dnsProxyAddress(proxy: Proxy): { host: string; port: number } {
  const raw = proxy.metadata.DNS_PROXY_ADDR;
  const text = typeof raw === 'string' ? raw : '';
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(text) ?? /^([^:[\]]*):([^:]*)$/.exec(text);
  if (!m) return DEFAULT_DNS_PROXY;
  const host = m[1] === 'localhost' ? '127.0.0.1' : m[1]!;
  const port = /^\d+$/.test(m[2]!) && Number(m[2]) <= 0xffffffff ? Number(m[2]) : DEFAULT_DNS_PROXY.port;
  return { host, port };
}

/** The shared DNS cache; with DNS capture, resolved through the Istio agent's DNS proxy. */
function dnsCacheConfig(proxy: Proxy): DnsCacheConfig {
  const cfg = create(DnsCacheConfigSchema, { name: ALLOW_ANY_DFP_DNS_CACHE, maxHosts: allowAnyDynamicDnsMaxHosts(), dnsLookupFamily: lookupFamily(proxy) });
  if (!metadataBool(proxy, 'DNS_CAPTURE')) return cfg;
  const { host, port } = dnsProxyAddress(proxy);
  cfg.typedDnsResolverConfig = create(TypedExtensionConfigSchema, {
    name: 'envoy.network.dns_resolver.cares',
    typedConfig: anyPack(CaresDnsResolverConfigSchema, create(CaresDnsResolverConfigSchema, { resolvers: [socketAddress(host, port)] })),
  });
  return cfg;
}

/** What of the proxy these resources depend on, beyond its Sidecar scope: part of shared-output keys. */
export function dynamicDnsViewKey(push: PushContext, proxy: Proxy): string {
  if (!allowAnyDynamicDns(push, proxy)) return '';
  const capture = metadataBool(proxy, 'DNS_CAPTURE') ? dnsProxyAddress(proxy) : undefined;
  return `dfp:${lookupFamily(proxy)}:${allowAnyDynamicDnsMaxHosts()}:${capture ? `${capture.host}:${capture.port}` : ''}`;
}

/** The HTTP filter every sidecar outbound connection manager gets in this mode. */
export function dynamicDnsHttpFilter(proxy: Proxy): HttpFilter {
  const config = create(FilterConfigSchema, { implementationSpecifier: { case: 'dnsCacheConfig', value: dnsCacheConfig(proxy) } });
  return create(HttpFilterSchema, { name: 'envoy.filters.http.dynamic_forward_proxy', configType: { case: 'typedConfig', value: anyPack(FilterConfigSchema, config) } });
}

/** The outbound HTTP filters for this proxy: the usual ones, plus the forward proxy in this mode. */
export function outboundHttpFilters(push: PushContext, proxy: Proxy): HttpFilter[] {
  return httpFilters(allowAnyDynamicDns(push, proxy) ? [dynamicDnsHttpFilter(proxy)] : []);
}

/** The catch-all virtual host of outbound route configs in this mode. */
export function dynamicDnsVirtualHost(): VirtualHost {
  return create(VirtualHostSchema, {
    name: ALLOW_ANY_DYNAMIC_DNS,
    domains: ['*'],
    routes: [
      {
        name: ALLOW_ANY_DYNAMIC_DNS,
        match: { pathSpecifier: { case: 'prefix', value: '/' } },
        action: { case: 'route', value: { clusterSpecifier: { case: 'cluster', value: ALLOW_ANY_DYNAMIC_DNS_CLUSTER }, timeout: duration(0), maxGrpcTimeout: duration(0) } },
      },
    ],
    includeRequestAttemptCount: true,
  });
}

/** virtualOutbound's chain for plaintext HTTP the HTTP inspector recognised (an inline route config). */
export function dynamicDnsFilterChain(proxy: Proxy, paths: PathNormalization): FilterChain {
  const routeConfig = create(RouteConfigurationSchema, {
    name: ALLOW_ANY_DYNAMIC_DNS,
    virtualHosts: [dynamicDnsVirtualHost()],
    validateClusters: false,
    maxDirectResponseBodySizeBytes: 1024 * 1024,
    ignorePortInHostMatching: true,
  });
  const hcm = create(HttpConnectionManagerSchema, {
    ...pathNormalizationFields(paths),
    statPrefix: `outbound_virtualOutbound_${ALLOW_ANY_DYNAMIC_DNS};`,
    routeSpecifier: { case: 'routeConfig', value: routeConfig },
    httpFilters: httpFilters([dynamicDnsHttpFilter(proxy)]),
  });
  return create(FilterChainSchema, {
    name: 'virtualOutbound-catchall-tcp-http',
    filterChainMatch: { applicationProtocols: [...PLAINTEXT_HTTP_ALPNS] },
    filters: [create(FilterSchema, { name: 'envoy.filters.network.http_connection_manager', configType: { case: 'typedConfig', value: anyPack(HttpConnectionManagerSchema, hcm) } })],
  });
}

/**
 * The forward proxy cluster: the connection pool of the PassthroughCluster (Istio's high limits),
 * the downstream's HTTP version upstream, and no upstream TLS (so Envoy needs allow_insecure_cluster_options).
 */
export function dynamicDnsCluster(push: PushContext, proxy: Proxy): Cluster {
  const config = create(ClusterConfigSchema, {
    clusterImplementationSpecifier: { case: 'dnsCacheConfig', value: dnsCacheConfig(proxy) },
    allowInsecureClusterOptions: true,
  });
  const c = create(ClusterSchema, {
    name: ALLOW_ANY_DYNAMIC_DNS_CLUSTER,
    lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED,
    clusterDiscoveryType: { case: 'clusterType', value: { name: 'envoy.clusters.dynamic_forward_proxy', typedConfig: anyPack(ClusterConfigSchema, config) } },
    connectTimeout: duration(push.mesh.connectTimeoutSeconds),
    altStatName: `${ALLOW_ANY_DYNAMIC_DNS_CLUSTER};`,
  });
  const http = create(HttpProtocolOptionsSchema, {
    commonHttpProtocolOptions: { idleTimeout: duration(300) },
    upstreamProtocolOptions: { case: 'useDownstreamProtocolConfig', value: { httpProtocolOptions: {}, http2ProtocolOptions: {} } },
  });
  applyConnectionPool(c, {}, undefined);
  c.typedExtensionProtocolOptions[HTTP_PROTOCOL_OPTIONS] = anyPack(HttpProtocolOptionsSchema, http);
  return c;
}
