// Filter chains of gateway listeners, one set per merged server group (Istio's
// buildGatewayTCPBasedFilterChains): one HTTP connection manager for plaintext HTTP servers,
// an HCM with a TLS context per terminating HTTPS server (matched by SNI), tcp_proxy chains for
// TCP servers and TLS servers that terminate, SNI chains per VirtualService tls route for
// PASSTHROUGH, and per-cluster SNI chains for AUTO_PASSTHROUGH.
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { FilterSchema, type Filter } from '../../../gen/envoy/config/listener/v3/listener_components_pb.js';
import {
  HttpConnectionManager_ForwardClientCertDetails,
  HttpConnectionManagerSchema,
} from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { TcpProxy_WeightedClusterSchema, TcpProxySchema } from '../../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js';
import type { DownstreamTlsContext } from '../../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import type * as net from '../../config/schema/networking.js';
import type { PushContext, ResolvedVirtualService } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { isHttpProtocol, parseProtocol } from '../../model/service.js';
import { hostMatchesEither, hostSubsetOf } from '../../model/host.js';
import { adsConfigSource } from '../envoy.js';
import { destinationCluster } from '../route/translate.js';
import { httpFilters } from '../sidecar/common.js';
import { securityFilters, type SecurityFilters } from '../security-filters.js';
import { pathNormalizationFields } from '../path-normalization.js';
import type { PathNormalization } from '../../model/mesh.js';
import {
  gatewayService,
  type GatewayServerSpec,
  isHttpsServerWithTlsTermination,
  isPassthroughServer,
  isTcpServerWithTlsTermination,
  PARENT_NAMES_ANNOTATION,
  resolveConfigHost,
  resolveGatewayName,
  tlsMode,
  virtualServicesForGateway,
} from './config.js';
import { checkDuplicateHosts, type GatewayServer, type MergedGateway, type MergedServers, type ServerPort } from './merge.js';
import { gatewayTlsContext } from './tls.js';

/** Every ALPN Istio's mTLS clients offer (AUTO_PASSTHROUGH only lets those through). */
export const ALL_ISTIO_MTLS_ALPNS = ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'];

/** One filter chain before it becomes Envoy's: what it matches, its TLS context and what it runs. */
export interface ChainOpts {
  sniHosts?: string[];
  applicationProtocols?: string[];
  tlsContext?: DownstreamTlsContext;
  /** RDS name for an HTTP connection manager; network filters otherwise. */
  rds?: string;
  /** The HCM's stat prefix when the server names one (HTTPS servers use their `name`). */
  statPrefix?: string;
  networkFilters?: Filter[];
}

export interface ChainContext {
  push: PushContext;
  proxy: Proxy;
  merged: MergedGateway;
  /** listener port → SNI host → bind, shared by every passthrough chain of the proxy. */
  tlsHostsByPort: Map<number, Map<string, string>>;
}

/** The HTTP connection manager of a gateway chain (Istio's buildGatewayConnectionManager). */
export function gatewayHcm(statPrefix: string, rds: string, security: SecurityFilters, paths: PathNormalization): Filter {
  const hcm = create(HttpConnectionManagerSchema, {
    ...pathNormalizationFields(paths),
    statPrefix,
    routeSpecifier: { case: 'rds', value: { configSource: adsConfigSource(), routeConfigName: rds } },
    httpFilters: httpFilters([], security.http),
    useRemoteAddress: true,
    xffNumTrustedHops: 0,
    forwardClientCertDetails: HttpConnectionManager_ForwardClientCertDetails.SANITIZE_SET,
    setCurrentClientCertDetails: { subject: true, cert: true, dns: true, uri: true },
    httpProtocolOptions: {},
  });
  return create(FilterSchema, { name: 'envoy.filters.network.http_connection_manager', configType: { case: 'typedConfig', value: anyPack(HttpConnectionManagerSchema, hcm) } });
}

export function tcpProxyFilter(statPrefix: string, cluster: string | { name: string; weight: number }[]): Filter {
  const proxy = create(TcpProxySchema, {
    statPrefix,
    clusterSpecifier:
      typeof cluster === 'string'
        ? { case: 'cluster', value: cluster }
        : { case: 'weightedClusters', value: create(TcpProxy_WeightedClusterSchema, { clusters: cluster.map((c) => ({ name: c.name, weight: c.weight })) }) },
  });
  return create(FilterSchema, { name: 'envoy.filters.network.tcp_proxy', configType: { case: 'typedConfig', value: anyPack(TcpProxySchema, proxy) } });
}

type RouteDestination = { destination?: net.Destination; weight?: number };

/**
 * Istio's buildOutboundNetworkFilters: a tcp_proxy to the one destination's cluster (port from the
 * destination, else the service's only port, else the server's), or weighted clusters; behind
 * the gateway's authorization filters.
 */
function networkFilters(ctx: ChainContext, vs: ResolvedVirtualService, routes: RouteDestination[], serverPort: number): Filter[] {
  const proxy = tcpProxyFilters(ctx, vs, routes, serverPort);
  return proxy.length ? [...securityFilters(ctx.push, ctx.proxy).tcp, ...proxy] : [];
}

function tcpProxyFilters(ctx: ChainContext, vs: ResolvedVirtualService, routes: RouteDestination[], serverPort: number): Filter[] {
  const clusterOf = (d: net.Destination | undefined) => {
    const dest = d?.host ? { ...d, host: resolveConfigHost(ctx.push, d.host, vs.namespace) } : d;
    return destinationCluster(dest, dest?.host ? gatewayService(ctx.push, ctx.proxy.namespace, dest.host) : undefined, serverPort);
  };
  if (routes.length === 1) {
    const c = clusterOf(routes[0]!.destination);
    return [tcpProxyFilter(c, c)];
  }
  const weighted = routes.filter((r) => (r.weight ?? 0) > 0).map((r) => ({ name: clusterOf(r.destination), weight: r.weight! }));
  if (weighted.length === 0) return [];
  return [tcpProxyFilter(`${vs.resource.meta.name}.${vs.namespace}`, weighted)];
}

/**
 * Istio's pickMatchingGatewayHosts: does any VirtualService host overlap a server host (hosts
 * qualified `ns/host` only count for VirtualServices of that namespace)?
 */
function matchesServerHosts(server: GatewayServerSpec, vs: ResolvedVirtualService): boolean {
  const vsHosts = vs.resource.spec.hosts ?? [];
  return vsHosts.some((vh) =>
    server.hosts.some((gh) => {
      const slash = gh.indexOf('/');
      if (slash >= 0 && gh.slice(0, slash) !== vs.namespace) return false;
      return hostMatchesEither(slash >= 0 ? gh.slice(slash + 1) : gh, vh);
    }),
  );
}

interface L4Match {
  port?: number;
  gateways?: string[];
}

/** Istio's l4SingleMatch for gateways: the match's port is the server's, and its gateways (if any) name this one. */
function l4Matches(m: L4Match, server: net.Server, gatewayName: string, vsNamespace: string): boolean {
  const portOk = !m.port || m.port === server.port?.number;
  const gatewayOk = !m.gateways?.length || m.gateways.some((g) => resolveGatewayName(g, vsNamespace) === gatewayName);
  return portOk && gatewayOk;
}

/** TCP routes of the VirtualServices bound to the gateway; TLSRoute-made VirtualServices' tls routes when the server terminates. */
function tcpRouteFilters(ctx: ChainContext, gs: GatewayServer): Filter[] {
  const { server, gatewayName } = gs;
  const serverPort = server.port?.number ?? 0;
  for (const vs of virtualServicesForGateway(ctx.push, ctx.proxy.namespace, gatewayName)) {
    if (!matchesServerHosts(server, vs)) continue;
    for (const tcp of vs.resource.spec.tcp ?? []) {
      const matches = tcp.match ?? [];
      if (matches.length && !matches.some((m) => l4Matches(m, server, gatewayName, vs.namespace))) continue;
      if (!tcp.route?.length) continue;
      return networkFilters(ctx, vs, tcp.route, serverPort);
    }
    const parents = vs.resource.meta.annotations[PARENT_NAMES_ANNOTATION];
    if (parents?.startsWith('TLSRoute/') && !isPassthroughServer(server)) {
      for (const tls of vs.resource.spec.tls ?? []) {
        for (const m of tls.match ?? []) {
          if (l4Matches(m, server, gatewayName, vs.namespace)) return networkFilters(ctx, vs, tls.route ?? [], serverPort);
        }
      }
    }
  }
  return [];
}

/** PASSTHROUGH: one SNI chain per VirtualService tls match (duplicate SNI names on a port are skipped). */
function tlsRouteChains(ctx: ChainContext, gs: GatewayServer, listenerPort: number): ChainOpts[] {
  const { server, gatewayName } = gs;
  const out: ChainOpts[] = [];
  for (const vs of virtualServicesForGateway(ctx.push, ctx.proxy.namespace, gatewayName)) {
    if (!matchesServerHosts(server, vs)) continue;
    for (const tls of vs.resource.spec.tls ?? []) {
      if (!tls.route?.length) continue;
      for (const m of tls.match ?? []) {
        if (!l4Matches(m, server, gatewayName, vs.namespace)) continue;
        let known = ctx.tlsHostsByPort.get(listenerPort);
        if (!known) ctx.tlsHostsByPort.set(listenerPort, (known = new Map()));
        if (checkDuplicateHosts(m.sniHosts ?? [], server.bind ?? '', known).length) continue;
        out.push({ sniHosts: [...(m.sniHosts ?? [])], networkFilters: networkFilters(ctx, vs, tls.route, server.port?.number ?? 0) });
      }
    }
  }
  return out;
}

/** `outbound_.<port>_.<subset>_.<host>`: the SNI an Istio client sends, and the SNI-DNAT cluster it reaches. */
export function dnsSrvSubsetKey(subset: string, host: string, port: number): string {
  return `outbound_.${port}_.${subset}_.${host}`;
}

/** The services and subsets an AUTO_PASSTHROUGH server forwards to, by their SNI names. */
export function autoPassthroughTargets(push: PushContext, proxy: Proxy, hosts: readonly string[]): { cluster: string; service: string; port: number; subset: string }[] {
  const out: { cluster: string; service: string; port: number; subset: string }[] = [];
  for (const svc of push.servicesVisibleTo(proxy.namespace)) {
    if (svc.meshExternal) continue;
    if (!hosts.some((h) => hostSubsetOf(svc.hostname, h))) continue;
    const dr = push.destinationRuleFor(proxy, svc)?.resource.spec;
    for (const port of svc.ports) {
      if (port.protocol === 'UDP') continue;
      out.push({ cluster: dnsSrvSubsetKey('', svc.hostname, port.port), service: svc.hostname, port: port.port, subset: '' });
      for (const subset of dr?.subsets ?? []) {
        if (subset.name) out.push({ cluster: dnsSrvSubsetKey(subset.name, svc.hostname, port.port), service: svc.hostname, port: port.port, subset: subset.name });
      }
    }
  }
  return out;
}

/** Istio's createGatewayTCPFilterChainOpts for one non-HTTP server. */
function tcpServerChains(ctx: ChainContext, gs: GatewayServer, listenerPort: number): ChainOpts[] {
  const { server } = gs;
  if (!server.tls) {
    const filters = tcpRouteFilters(ctx, gs);
    return filters.length ? [{ networkFilters: filters }] : [];
  }
  if (!isPassthroughServer(server)) {
    const filters = tcpRouteFilters(ctx, gs);
    if (!filters.length) return [];
    return [{ sniHosts: ctx.merged.tlsServerInfo.get(gs)?.sniHosts ?? [], tlsContext: gatewayTlsContext(server, isTcpServerWithTlsTermination(server)), networkFilters: filters }];
  }
  // Istio leaves authorization off AUTO_PASSTHROUGH chains: the mTLS they carry ends at the destination.
  if (tlsMode(server) === 'AUTO_PASSTHROUGH') {
    return autoPassthroughTargets(ctx.push, ctx.proxy, ctx.merged.tlsServerInfo.get(gs)?.sniHosts ?? []).map((t) => ({
      sniHosts: [t.cluster],
      applicationProtocols: [...ALL_ISTIO_MTLS_ALPNS],
      networkFilters: [tcpProxyFilter(t.cluster, t.cluster)],
    }));
  }
  return tlsRouteChains(ctx, gs, listenerPort);
}

/** The chains of one server port's servers, in server order. */
export function serverPortChains(ctx: ChainContext, sp: ServerPort, servers: MergedServers, defaultStatPrefix: string): ChainOpts[] {
  if (isHttpProtocol(parseProtocol(sp.protocol))) {
    return [{ rds: servers.routeName, networkFilters: [gatewayHcm(defaultStatPrefix, servers.routeName, securityFilters(ctx.push, ctx.proxy), ctx.push.mesh.pathNormalization)] }];
  }
  const out: ChainOpts[] = [];
  for (const gs of servers.servers) {
    if (isHttpsServerWithTlsTermination(gs.server)) {
      const rds = ctx.merged.tlsServerInfo.get(gs)?.routeName ?? '';
      out.push({
        sniHosts: ctx.merged.tlsServerInfo.get(gs)?.sniHosts ?? [],
        tlsContext: gatewayTlsContext(gs.server, false),
        rds,
        networkFilters: [gatewayHcm(gs.server.name || defaultStatPrefix, rds, securityFilters(ctx.push, ctx.proxy), ctx.push.mesh.pathNormalization)],
      });
    } else {
      out.push(...tcpServerChains(ctx, gs, sp.number));
    }
  }
  return out;
}
