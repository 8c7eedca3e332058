// The inbound side of a sidecar, as Istio builds it: one `virtualInbound` listener (15006) whose
// filter chains match the destination port of each service the proxy serves, with TLS and
// plaintext variants chosen by the workload's PeerAuthentication (mTLS) mode, plus passthrough
// chains for ports no service declares.
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { ListenerSchema, type Listener } from '../../../gen/envoy/config/listener/v3/listener_pb.js';
import {
  FilterChainMatchSchema,
  FilterChainSchema,
  FilterSchema,
  ListenerFilterChainMatchPredicateSchema,
  type Filter,
  type FilterChain,
  type ListenerFilter,
  type ListenerFilterChainMatchPredicate,
} from '../../../gen/envoy/config/listener/v3/listener_components_pb.js';
import { TrafficDirection } from '../../../gen/envoy/config/core/v3/base_pb.js';
import { HttpConnectionManagerSchema, HttpFilterSchema } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { RouterSchema } from '../../../gen/envoy/extensions/filters/http/router/v3/router_pb.js';
import { TcpProxySchema } from '../../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js';
import { RouteConfigurationSchema, type RouteConfiguration } from '../../../gen/envoy/config/route/v3/route_pb.js';
import { DecoratorSchema, RouteActionSchema, RouteSchema, RetryPolicySchema } from '../../../gen/envoy/config/route/v3/route_components_pb.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { effectiveMtls, mtlsForPort, type EffectiveMtls, type MtlsMode } from '../../model/authn.js';
import { parseProtocol, type Protocol } from '../../model/service.js';
import { duration, packWithItems } from '../envoy.js';
import { BLACKHOLE_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER, subsetKey, VIRTUAL_INBOUND_LISTENER } from '../names.js';
import { downstreamTlsSocket, inboundMtlsContext, serverTlsContext, type ServerTls } from '../tls.js';
import { listenerFilter, socketAddress, WILDCARD } from './common.js';
import { proxyServiceInstances } from './instances.js';
import { listenerProtocol, PLAINTEXT_HTTP_ALPNS } from './outbound.js';
import type { NamedResource } from '../generator.js';
import { NO_SECURITY_FILTERS, securityFilters, type SecurityFilters } from '../security-filters.js';
import { pathNormalizationFields } from '../path-normalization.js';
import type { PathNormalization } from '../../model/mesh.js';

export const VIRTUAL_INBOUND_PORT = 15006;
const MTLS_HTTP_ALPNS = ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'];
const ALL_ISTIO_MTLS_ALPNS = ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'];
const MTLS_TCP_WITH_MX_ALPNS = ['istio-peer-exchange', 'istio'];

type ChainProtocol = 'HTTP' | 'TCP';

interface MatchOption {
  alpn?: string[];
  transport: 'tls' | 'raw_buffer';
  protocol: ChainProtocol;
  tls?: boolean;
}

/** Which chains a port gets, by listener protocol and mTLS mode (Istio's filter chain options). */
function matchOptions(mode: MtlsMode, protocol: 'HTTP' | 'TCP' | 'AUTO'): MatchOption[] {
  const plainHttp: MatchOption = { protocol: 'HTTP', transport: 'raw_buffer' };
  const plainTcp: MatchOption = { protocol: 'TCP', transport: 'raw_buffer' };
  switch (protocol) {
    case 'HTTP':
      if (mode === 'STRICT') return [{ protocol: 'HTTP', transport: 'tls', tls: true }];
      if (mode === 'PERMISSIVE') return [{ alpn: ALL_ISTIO_MTLS_ALPNS, transport: 'tls', protocol: 'HTTP', tls: true }, plainHttp];
      return [plainHttp];
    case 'AUTO':
      if (mode === 'STRICT') {
        return [
          { alpn: MTLS_HTTP_ALPNS, protocol: 'HTTP', transport: 'tls', tls: true },
          { protocol: 'TCP', transport: 'tls', tls: true },
        ];
      }
      if (mode === 'PERMISSIVE') {
        return [
          { alpn: MTLS_HTTP_ALPNS, transport: 'tls', protocol: 'HTTP', tls: true },
          { alpn: PLAINTEXT_HTTP_ALPNS, protocol: 'HTTP', transport: 'raw_buffer' },
          { alpn: MTLS_TCP_WITH_MX_ALPNS, transport: 'tls', protocol: 'TCP', tls: true },
          plainTcp,
          { transport: 'tls', protocol: 'TCP' },
        ];
      }
      return [{ alpn: PLAINTEXT_HTTP_ALPNS, protocol: 'HTTP', transport: 'raw_buffer' }, plainTcp];
    case 'TCP':
      if (mode === 'STRICT') return [{ protocol: 'TCP', transport: 'tls', tls: true }];
      if (mode === 'PERMISSIVE') return [{ alpn: ALL_ISTIO_MTLS_ALPNS, transport: 'tls', protocol: 'TCP', tls: true }, { transport: 'tls', protocol: 'TCP' }, plainTcp];
      return [plainTcp];
  }
}

interface ChainConfig {
  clusterName: string;
  /** Address in the chain name: 0.0.0.0 for services, the pod IP for Sidecar ingress listeners. */
  bind: string;
  /** TLS terminated on a Sidecar ingress port (its `tls`), used when mTLS is DISABLE there. */
  tls?: ServerTls;
  /** The service port (0 for passthrough), used in virtual host names. */
  servicePort: number;
  /** The port traffic arrives on; 0 matches any port. */
  targetPort: number;
  protocol: Protocol;
  hostname: string;
  passthrough: boolean;
  /** The mesh's path normalization (part of every cache key that holds the chain). */
  paths: PathNormalization;
}

function chainName(cc: ChainConfig, protocol: ChainProtocol): string {
  if (cc.passthrough) return protocol === 'HTTP' ? 'virtualInbound-catchall-http' : VIRTUAL_INBOUND_LISTENER;
  return `${cc.bind}_${cc.targetPort}`;
}

function inboundRoute(cc: ChainConfig) {
  const action = create(RouteActionSchema, {
    clusterSpecifier: { case: 'cluster', value: cc.clusterName },
    timeout: duration(0),
    maxStreamDuration: { maxStreamDuration: duration(0), grpcTimeoutHeaderMax: duration(0) },
  });
  // Retrying gRPC streams on reset-before-request breaks them, so gRPC ports get no retries.
  if (cc.protocol !== 'GRPC') action.retryPolicy = create(RetryPolicySchema, { numRetries: 2, retryOn: 'reset-before-request' });
  return create(RouteSchema, {
    name: 'default',
    match: { pathSpecifier: { case: 'prefix', value: '/' } },
    action: { case: 'route', value: action },
  });
}

/** The connection manager of an inbound HTTP chain, without the route's decorator (the one part naming the service). */
function inboundHcm(cc: ChainConfig, security: SecurityFilters) {
  const routeConfig = create(RouteConfigurationSchema, {
    name: cc.clusterName,
    virtualHosts: [{ name: `inbound|http|${cc.servicePort}`, domains: ['*'], routes: [inboundRoute(cc)] }],
    validateClusters: false,
  });
  return create(HttpConnectionManagerSchema, {
    ...pathNormalizationFields(cc.paths),
    statPrefix: cc.passthrough ? cc.clusterName : `inbound_${WILDCARD}_${cc.targetPort}`,
    routeSpecifier: { case: 'routeConfig', value: routeConfig },
    httpFilters: [...security.http, create(HttpFilterSchema, { name: 'envoy.filters.http.router', configType: { case: 'typedConfig', value: anyPack(RouterSchema, create(RouterSchema)) } })],
    http2ProtocolOptions: cc.protocol === 'HTTP2' || cc.protocol === 'GRPC' ? {} : undefined,
  });
}

/**
 * Connection managers by everything but the service name: a thousand services on the same port
 * differ only in their route's decorator, so the rest is built once (the messages are never
 * changed; each service gets shallow copies down to its route).
 */
const hcmTemplates = new Map<string, ReturnType<typeof inboundHcm>>();

function httpFilters(cc: ChainConfig, security: SecurityFilters) {
  const key = `${cc.clusterName}|${cc.servicePort}|${cc.targetPort}|${cc.protocol}|${cc.passthrough}|${cc.paths}|${security.key}`;
  let template = hcmTemplates.get(key);
  if (!template) {
    if (hcmTemplates.size > 1024) hcmTemplates.clear();
    hcmTemplates.set(key, (template = inboundHcm(cc, security)));
  }
  const rc = template.routeSpecifier.value as RouteConfiguration;
  const vh = rc.virtualHosts[0]!;
  const route = { ...vh.routes[0]!, decorator: create(DecoratorSchema, { operation: `${cc.hostname}:${cc.servicePort}/*` }) };
  const hcm = { ...template, routeSpecifier: { case: 'routeConfig' as const, value: { ...rc, virtualHosts: [{ ...vh, routes: [route] }] } } };
  return [create(FilterSchema, { name: 'envoy.filters.network.http_connection_manager', configType: { case: 'typedConfig', value: anyPack(HttpConnectionManagerSchema, hcm) } })];
}

/** A tcp_proxy to the cluster, behind the workload's authorization filters. */
function tcpFilters(cluster: string, security: SecurityFilters) {
  const proxy = create(TcpProxySchema, { statPrefix: cluster, clusterSpecifier: { case: 'cluster', value: cluster } });
  return [...security.tcp, create(FilterSchema, { name: 'envoy.filters.network.tcp_proxy', configType: { case: 'typedConfig', value: anyPack(TcpProxySchema, proxy) } })];
}

/** After TLS termination HTTPS carries HTTP and TLS carries TCP. */
function afterTlsTermination(p: Protocol): Protocol {
  return p === 'HTTPS' ? 'HTTP' : p === 'TLS' ? 'TCP' : p;
}

function chainsFor(cc: ChainConfig, mode: MtlsMode, security: SecurityFilters): FilterChain[] {
  if (cc.tls && mode === 'DISABLE') {
    // The Sidecar's own TLS replaces mesh mTLS on this port.
    const terminated = { ...cc, protocol: afterTlsTermination(cc.protocol) };
    const protocol: ChainProtocol = listenerProtocol(terminated.protocol) === 'HTTP' ? 'HTTP' : 'TCP';
    return [
      create(FilterChainSchema, {
        name: chainName(terminated, protocol),
        filterChainMatch: create(FilterChainMatchSchema, { transportProtocol: 'tls', destinationPort: cc.targetPort }),
        filters: protocol === 'HTTP' ? httpFilters(terminated, security) : tcpFilters(cc.clusterName, security),
        transportSocket: downstreamTlsSocket(serverTlsContext(cc.tls)),
      }),
    ];
  }
  const lp = listenerProtocol(cc.protocol) ?? 'TCP';
  // The TLS and plaintext variants of a port carry the same filters: built (and packed) once.
  let http: Filter[] | undefined;
  let tcp: Filter[] | undefined;
  return matchOptions(mode, lp).map((opt) =>
    create(FilterChainSchema, {
      name: chainName(cc, opt.protocol),
      filterChainMatch: create(FilterChainMatchSchema, {
        applicationProtocols: opt.alpn ?? [],
        transportProtocol: opt.transport,
        destinationPort: cc.targetPort > 0 ? cc.targetPort : undefined,
      }),
      filters: opt.protocol === 'HTTP' ? (http ??= httpFilters(cc, security)) : (tcp ??= tcpFilters(cc.clusterName, security)),
      transportSocket: opt.tls && mode !== 'DISABLE' ? downstreamTlsSocket(inboundMtlsContext(opt.protocol)) : undefined,
    }),
  );
}

/** One chain config per port the proxy's services send it traffic on (lowest port first). */
function serviceChainConfigs(push: PushContext, proxy: Proxy): ChainConfig[] {
  const byPort = new Map<number, ChainConfig>();
  for (const inst of proxyServiceInstances(push, proxy)) {
    const target = inst.endpoint.endpointPort;
    if (byPort.has(target)) continue;
    byPort.set(target, {
      clusterName: subsetKey('inbound', '', '', target),
      bind: WILDCARD,
      servicePort: inst.port.port,
      targetPort: target,
      protocol: inst.port.protocol,
      hostname: inst.service.hostname,
      passthrough: false,
      paths: push.mesh.pathNormalization,
    });
  }
  return [...byPort.values()].sort((a, b) => a.targetPort - b.targetPort);
}

function passthroughChains(push: PushContext, mtls: EffectiveMtls, servicePorts: Set<number>, security: SecurityFilters): FilterChain[] {
  // Traffic sent to the inbound port itself is a loop: dropped, whatever the policies say.
  const blackhole = create(FilterChainSchema, {
    name: 'virtualInbound-blackhole',
    filterChainMatch: { destinationPort: VIRTUAL_INBOUND_PORT },
    filters: tcpFilters(BLACKHOLE_CLUSTER, NO_SECURITY_FILTERS),
  });
  const out = [blackhole];
  // The whole-workload mode for any port, then port-level modes for ports no service declares.
  const settings: { port: number; mode: MtlsMode }[] = [{ port: 0, mode: mtls.mode }];
  for (const [port, mode] of [...mtls.perPort].sort(([a], [b]) => a - b)) if (!servicePorts.has(port)) settings.push({ port, mode });
  for (const s of settings) {
    const cc: ChainConfig = {
      clusterName: INBOUND_PASSTHROUGH_CLUSTER,
      bind: WILDCARD,
      servicePort: 0,
      targetPort: s.port,
      protocol: 'UnsupportedProtocol',
      hostname: '',
      passthrough: true,
      paths: push.mesh.pathNormalization,
    };
    out.push(...chainsFor(cc, s.mode, security));
  }
  return out;
}

function portPredicate(ports: number[]): ListenerFilterChainMatchPredicate {
  const ranges = ports.map((p) => create(ListenerFilterChainMatchPredicateSchema, { rule: { case: 'destinationPortRange', value: { start: p, end: p + 1 } } }));
  if (ranges.length === 1) return ranges[0]!;
  return create(ListenerFilterChainMatchPredicateSchema, { rule: { case: 'orMatch', value: { rules: ranges } } });
}

/** TLS and HTTP inspectors run only on the ports whose chains need them. */
function inspectorFilters(chains: FilterChain[]): ListenerFilter[] {
  const byPort = new Map<number, { tls: boolean; http: boolean }>();
  for (const c of chains) {
    const port = c.filterChainMatch?.destinationPort ?? 0;
    const i = byPort.get(port) ?? { tls: false, http: false };
    i.tls ||= c.filterChainMatch?.transportProtocol === 'tls';
    i.http ||= (c.filterChainMatch?.applicationProtocols ?? []).some((a) => a === 'http/1.1' || a === 'h2c');
    byPort.set(port, i);
  }
  const out: ListenerFilter[] = [];
  const ports = [...byPort.keys()].sort((a, b) => a - b);
  if ([...byPort.values()].some((i) => i.tls)) {
    const tls = listenerFilter('tls_inspector');
    if (byPort.get(0)?.tls) {
      const off = ports.filter((p) => p !== 0 && !byPort.get(p)!.tls);
      if (off.length) tls.filterDisabled = portPredicate(off);
    } else {
      const on = ports.filter((p) => p !== 0 && byPort.get(p)!.tls);
      if (on.length) tls.filterDisabled = create(ListenerFilterChainMatchPredicateSchema, { rule: { case: 'notMatch', value: portPredicate(on) } });
    }
    out.push(tls);
  }
  if ([...byPort.values()].some((i) => i.http)) {
    const http = listenerFilter('http_inspector');
    const off = ports.filter((p) => !byPort.get(p)!.http);
    if (off.length) http.filterDisabled = portPredicate(off);
    out.push(http);
  }
  return out;
}

/** A Sidecar with ingress listeners replaces the service-derived chains with its own. */
function sidecarChainConfigs(push: PushContext, proxy: Proxy): ChainConfig[] | undefined {
  const scope = push.sidecarScope(proxy);
  if (!scope.ingress.length) return undefined;
  const bind = proxy.ipAddresses.find(isGlobalUnicast) ?? WILDCARD;
  const byPort = new Map<number, ChainConfig>();
  for (const i of scope.ingress) {
    const port = i.port?.number;
    if (!port || byPort.has(port)) continue;
    byPort.set(port, {
      clusterName: subsetKey('inbound', '', '', port),
      bind: i.bind || bind,
      servicePort: port,
      targetPort: port,
      protocol: parseProtocol(i.port?.protocol),
      hostname: `${scope.sidecar!.meta.name}.${scope.sidecar!.meta.namespace}`,
      passthrough: false,
      paths: push.mesh.pathNormalization,
      tls: i.tls && process.env.ENABLE_TLS_ON_SIDECAR_INGRESS === 'true' ? i.tls : undefined,
    });
  }
  return [...byPort.values()].sort((a, b) => a.targetPort - b.targetPort);
}

/** Not loopback, link-local or unspecified: an address other hosts can reach. */
export function isGlobalUnicast(ip: string): boolean {
  if (ip.includes(':')) return !(ip === '::' || ip === '::1' || ip.toLowerCase().startsWith('fe80'));
  const [a, b] = ip.split('.').map(Number) as [number, number];
  return !(a === 0 || a === 127 || (a === 169 && b === 254) || a >= 224);
}

export function virtualInboundListener(push: PushContext, proxy: Proxy): Listener {
  const mtls = effectiveMtls(push.peerAuthentications, push.mesh.rootNamespace, proxy.namespace, proxy.labels);
  const configs = sidecarChainConfigs(push, proxy) ?? serviceChainConfigs(push, proxy);
  return buildVirtualInbound(push, mtls, configs, securityFilters(push, proxy));
}

/**
 * The packed `virtualInbound` listener, shared by every proxy with the same inputs (mTLS modes
 * and chain configs: proxies of the same service, usually) within a push and, while those
 * inputs stay, in the pushes after it.
 */
export function virtualInboundResource(push: PushContext, proxy: Proxy): NamedResource {
  const mtls = effectiveMtls(push.peerAuthentications, push.mesh.rootNamespace, proxy.namespace, proxy.labels);
  const configs = sidecarChainConfigs(push, proxy) ?? serviceChainConfigs(push, proxy);
  const modes = mtlsKey(mtls);
  const security = securityFilters(push, proxy);
  // Keyed by value (modes, authorization policies and chain configs), so the listener also
  // outlives the push: the next push's proxies of an unchanged workload get it without
  // rebuilding (see PushContext.durable).
  return push.durable(`lds/virtualInbound|${modes}|${security.key}|${JSON.stringify(configs)}`, () => {
    // The passthrough chains depend only on the mTLS modes, policies and service ports: every
    // workload of one kind has the same, so they are built (and encoded, see packWithItems) once.
    const ports = new Set(configs.map((c) => c.targetPort));
    const passthrough = push.durable(`lds/virtualInbound/passthrough|${modes}|${security.key}|${[...ports].sort((a, b) => a - b).join(',')}`, () =>
      passthroughChains(push, mtls, ports, security),
    );
    const listener = buildVirtualInbound(push, mtls, configs, security, passthrough);
    return { name: VIRTUAL_INBOUND_LISTENER, resource: packWithItems(ListenerSchema, { ...listener, filterChains: [] }, ListenerSchema.field.filterChains, listener.filterChains) };
  });
}

function mtlsKey(mtls: EffectiveMtls): string {
  return `${mtls.mode}|${[...mtls.perPort].map(([p, m]) => `${p}=${m}`).join(',')}`;
}

function buildVirtualInbound(
  push: PushContext,
  mtls: EffectiveMtls,
  configs: ChainConfig[],
  security: SecurityFilters,
  passthrough = passthroughChains(push, mtls, new Set(configs.map((c) => c.targetPort)), security),
): Listener {
  const chains = [...passthrough, ...configs.flatMap((cc) => chainsFor(cc, mtlsForPort(mtls, cc.targetPort), security))];
  return create(ListenerSchema, {
    name: VIRTUAL_INBOUND_LISTENER,
    address: socketAddress(WILDCARD, VIRTUAL_INBOUND_PORT),
    trafficDirection: TrafficDirection.INBOUND,
    continueOnListenerFiltersTimeout: true,
    listenerFilters: [listenerFilter('original_dst'), ...inspectorFilters(chains)],
    listenerFiltersTimeout: duration(push.mesh.protocolDetectionTimeoutSeconds),
    filterChains: chains,
  });
}
