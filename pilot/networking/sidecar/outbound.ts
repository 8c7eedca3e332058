// Outbound listeners for Envoy sidecars, laid out as Istio lays them out:
// - HTTP service ports share `0.0.0.0_PORT`, matched by the HTTP inspector's ALPN, routed by RDS "PORT";
// - TCP/TLS ports get `VIP_PORT` (or `0.0.0.0_PORT` without a VIP) with tcp_proxy chains
//   (TLS chains match SNI); ports without a declared protocol get both (protocol sniffing);
// - whatever no chain matches falls through to the PassthroughFilterChain.
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { ListenerSchema, type Listener } from '../../../gen/envoy/config/listener/v3/listener_pb.js';
import { FilterChainMatchSchema, FilterChainSchema, FilterSchema, type Filter, type FilterChain } from '../../../gen/envoy/config/listener/v3/listener_components_pb.js';
import { TrafficDirection } from '../../../gen/envoy/config/core/v3/base_pb.js';
import { HttpConnectionManagerSchema } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { TcpProxySchema, TcpProxy_WeightedClusterSchema } from '../../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js';
import type * as net from '../../config/schema/networking.js';
import type { PushContext } from '../../model/push-context.js';
import { MESH_GATEWAY } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { hostMatches, resolveShortname } from '../../model/host.js';
import type { Protocol, Service, ServicePort } from '../../model/service.js';
import { adsConfigSource, duration } from '../envoy.js';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER, subsetKey } from '../names.js';
import { destinationCluster } from '../route/translate.js';
import { altVirtualHosts } from '../route/vhosts.js';
import { serviceAddressForProxy } from '../../model/addresses.js';
import { cidrRange, listenerFilter, PLAINTEXT_HTTP_ALPNS, socketAddress, WILDCARD } from './common.js';
import { outboundHttpFilters } from './dynamic-dns.js';
import { pathNormalizationFields } from '../path-normalization.js';

export { PLAINTEXT_HTTP_ALPNS };
export const PASSTHROUGH_FILTER_CHAIN = 'PassthroughFilterChain';

type ListenerProtocol = 'HTTP' | 'TCP' | 'AUTO';

/** Istio's listener protocol for a port protocol; undefined for UDP (no listener). */
export function listenerProtocol(p: Protocol): ListenerProtocol | undefined {
  switch (p) {
    case 'HTTP':
    case 'HTTP2':
    case 'GRPC':
    case 'GRPC-Web':
    case 'HTTP_PROXY':
      return 'HTTP';
    case 'TCP':
    case 'HTTPS':
    case 'TLS':
    case 'Mongo':
    case 'Redis':
    case 'MySQL':
      return 'TCP';
    case 'UnsupportedProtocol':
      return 'AUTO';
    default:
      return undefined;
  }
}

function isTlsProtocol(p: Protocol): boolean {
  return p === 'HTTPS' || p === 'TLS';
}

interface ChainOpts {
  sniHosts?: string[];
  destinationCidrs?: string[];
  applicationProtocols?: string[];
  transportProtocol?: string;
  /** RDS name for HTTP chains; network filters otherwise. */
  rds?: string;
  networkFilters?: Filter[];
}

interface ListenerEntry {
  bind: string;
  port: number;
  chains: ChainOpts[];
  /** The entry's protocol; becomes UnsupportedProtocol once HTTP and TCP share it. */
  protocol: Protocol;
}

function isMatchAll(c: ChainOpts): boolean {
  return (!c.sniHosts?.length || c.sniHosts.includes('*')) && !c.applicationProtocols?.length && !c.transportProtocol && !c.destinationCidrs?.length;
}

/** "10.1.2.3/16" → "10.1.0.0/16" (IPv6 too): CIDRs equal after masking are the same match. */
function maskedCidr(text: string): string {
  const [addr, len] = text.split('/');
  if (!addr) return text;
  const v6 = addr.includes(':');
  const width = v6 ? 128 : 32;
  let value: bigint;
  if (v6) {
    const [head, tail] = addr.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const tl = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl];
    if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return text;
    value = groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g, 16)), 0n);
  } else {
    const octets = addr.split('.');
    if (octets.length !== 4 || octets.some((o) => !/^\d+$/.test(o))) return text;
    value = octets.reduce((acc, o) => (acc << 8n) + BigInt(Number(o)), 0n);
  }
  const bits = len === undefined ? width : Number(len);
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
  return `${v6 ? 'v6' : 'v4'}:${(value & mask).toString(16)}/${bits}`;
}

function conflicts(a: ChainOpts, b: ChainOpts): boolean {
  if ((a.transportProtocol ?? '') !== (b.transportProtocol ?? '')) return false;
  if ((a.applicationProtocols ?? []).join(',') !== (b.applicationProtocols ?? []).join(',')) return false;
  const set = (xs: string[] | undefined, drop: (s: string) => boolean, norm = (s: string) => s) => [...new Set((xs ?? []).filter((x) => !drop(x)).map(norm))].sort().join(',');
  if (set(a.sniHosts, (s) => s === '*') !== set(b.sniHosts, (s) => s === '*')) return false;
  const unspecified = (s: string) => s === '*' || s.startsWith('0.0.0.0');
  return set(a.destinationCidrs, unspecified, maskedCidr) === set(b.destinationCidrs, unspecified, maskedCidr);
}

function tcpProxyFilter(statPrefix: string, cluster: string | { name: string; weight: number }[]): Filter {
  const proxy = create(TcpProxySchema, {
    statPrefix,
    clusterSpecifier:
      typeof cluster === 'string'
        ? { case: 'cluster', value: cluster }
        : { case: 'weightedClusters', value: create(TcpProxy_WeightedClusterSchema, { clusters: cluster.map((c) => ({ name: c.name, weight: c.weight })) }) },
  });
  return create(FilterSchema, { name: 'envoy.filters.network.tcp_proxy', configType: { case: 'typedConfig', value: anyPack(TcpProxySchema, proxy) } });
}

/** The tcp_proxy for a VirtualService tcp/tls route: one cluster, or weighted clusters. */
function routeFilters(push: PushContext, proxy: Proxy, vsNamespace: string, routes: { destination?: net.Destination; weight?: number }[], port: number): Filter[] {
  const clusterOf = (d: net.Destination | undefined) => {
    const dest = d?.host ? { ...d, host: resolveShortname(d.host, vsNamespace, push.domainSuffix) } : d;
    return destinationCluster(dest, dest?.host ? push.serviceForHostname(proxy, dest.host) : undefined, port);
  };
  if (routes.length === 1) {
    const c = clusterOf(routes[0]!.destination);
    return [tcpProxyFilter(c, c)];
  }
  const weighted = routes.filter((r) => (r.weight ?? 0) > 0).map((r) => ({ name: clusterOf(r.destination), weight: r.weight! }));
  return [tcpProxyFilter(`${vsNamespace}`, weighted)];
}

interface L4Match {
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  sourceNamespace?: string;
  destinationSubnets?: string[];
  sniHosts?: string[];
}

function l4Matches(m: L4Match | undefined, proxy: Proxy, port: number): boolean {
  if (!m) return true;
  const gatewayOk = !m.gateways?.length || m.gateways.includes(MESH_GATEWAY);
  const labelsOk = Object.entries(m.sourceLabels ?? {}).every(([k, v]) => proxy.labels[k] === v);
  const portOk = !m.port || m.port === port;
  const nsOk = !m.sourceNamespace || m.sourceNamespace === proxy.namespace;
  return gatewayOk && labelsOk && portOk && nsOk;
}

/** VirtualServices bound to the mesh whose hosts cover this service. */
function virtualServicesFor(push: PushContext, proxy: Proxy, svc: Service) {
  const allowed = push.sidecarScope(proxy).virtualServices;
  return push.virtualServices.filter(
    (vs) =>
      allowed.has(vs) && vs.gateways.includes(MESH_GATEWAY) && (vs.exportTo.has('*') || vs.exportTo.has(proxy.namespace)) && vs.hosts.some((h) => hostMatches(h, svc.hostname)),
  );
}

function defaultClusterPort(svc: Service, port: ServicePort): number {
  return svc.ports.length === 1 ? svc.ports[0]!.port : port.port;
}

function tlsChains(push: PushContext, proxy: Proxy, svc: Service, port: ServicePort, bind: string, cidrs: string[] | undefined): ChainOpts[] {
  if (!isTlsProtocol(port.protocol)) return [];
  const out: ChainOpts[] = [];
  const seen = new Set<string>();
  for (const vs of virtualServicesFor(push, proxy, svc)) {
    for (const tls of vs.resource.spec.tls ?? []) {
      if (!tls.route?.length) continue;
      for (const m of tls.match ?? []) {
        if (!l4Matches(m, proxy, port.port)) continue;
        const chainCidrs = m.destinationSubnets?.length ? m.destinationSubnets : cidrs;
        const key = `${(m.sniHosts ?? []).join(',')}|${(m.destinationSubnets ?? []).join(',')}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ sniHosts: m.sniHosts, destinationCidrs: chainCidrs, networkFilters: routeFilters(push, proxy, vs.namespace, tls.route, port.port) });
      }
    }
  }
  if (out.length) return out;
  const cluster = subsetKey('outbound', '', svc.hostname, defaultClusterPort(svc, port));
  const vip = serviceAddressForProxy(svc, proxy);
  const address = vip.includes('/') ? '' : vip;
  const needSni = !!cidrs?.length || !address || (address === WILDCARD && bind === WILDCARD);
  // ExternalName aliases of the service are server names for it too.
  const aliasNames = (svc.aliases ?? []).flatMap((a) => [a.hostname, ...altVirtualHosts(a.hostname, 0, proxy.dnsDomain)]);
  return [{ sniHosts: needSni ? [svc.hostname, ...aliasNames] : undefined, destinationCidrs: cidrs, networkFilters: [tcpProxyFilter(cluster, cluster)] }];
}

function tcpChains(push: PushContext, proxy: Proxy, svc: Service, port: ServicePort, cidrs: string[] | undefined): ChainOpts[] {
  if (isTlsProtocol(port.protocol)) return [];
  const out: ChainOpts[] = [];
  let defaultAdded = false;
  outer: for (const vs of virtualServicesFor(push, proxy, svc)) {
    for (const tcp of vs.resource.spec.tcp ?? []) {
      if (!tcp.route?.length) continue;
      if (!tcp.match?.length) {
        out.push({ destinationCidrs: cidrs, networkFilters: routeFilters(push, proxy, vs.namespace, tcp.route, port.port) });
        defaultAdded = true;
        break outer;
      }
      const subnets: string[] = [];
      for (const m of tcp.match) {
        if (!l4Matches(m, proxy, port.port)) continue;
        if (!m.destinationSubnets?.length) {
          out.push({ destinationCidrs: cidrs, networkFilters: routeFilters(push, proxy, vs.namespace, tcp.route, port.port) });
          defaultAdded = true;
          break outer;
        }
        subnets.push(...m.destinationSubnets);
      }
      if (subnets.length) {
        out.push({ destinationCidrs: subnets, networkFilters: routeFilters(push, proxy, vs.namespace, tcp.route, port.port) });
        if ([...subnets].sort().join(',') === [...(cidrs ?? [])].sort().join(',')) defaultAdded = true;
      }
    }
  }
  if (!defaultAdded) {
    const cluster = subsetKey('outbound', '', svc.hostname, defaultClusterPort(svc, port));
    out.push({ destinationCidrs: cidrs, networkFilters: [tcpProxyFilter(cluster, cluster)] });
  }
  return out;
}

function httpChain(svc: Service, port: ServicePort, bind: string, protocol: ListenerProtocol): ChainOpts {
  const rds = protocol === 'AUTO' && bind !== WILDCARD ? `${svc.hostname}:${port.port}` : String(port.port);
  return { rds };
}

function addServicePort(push: PushContext, proxy: Proxy, entries: Map<string, ListenerEntry>, svc: Service, port: ServicePort, bindOverride?: string): void {
  const lp = listenerProtocol(port.protocol);
  if (!lp) return;
  let bind = WILDCARD;
  let cidrs: string[] | undefined;
  if (lp !== 'HTTP') {
    bind = bindOverride ?? serviceAddressForProxy(svc, proxy);
    if (bind.includes('/')) {
      cidrs = [bind];
      bind = WILDCARD;
    }
  }
  const key = `${bind}_${port.port}`;
  const current = entries.get(key);
  let entryProtocol: Protocol = port.protocol;
  let chains: ChainOpts[];
  type Conflict = 'none' | 'HTTPOverTCP' | 'TCPOverHTTP' | 'TCPOverTCP' | 'TCPOverAuto' | 'AutoOverHTTP' | 'AutoOverTCP';
  let conflict: Conflict = 'none';
  const currentIsHttp = current ? listenerProtocol(current.protocol) === 'HTTP' : false;
  const currentIsTcp = current ? listenerProtocol(current.protocol) === 'TCP' : false;

  switch (lp) {
    case 'HTTP': {
      if (current) {
        if (currentIsTcp) conflict = 'HTTPOverTCP';
        else return;
      }
      const chain = httpChain(svc, port, bind, lp);
      if (bind === WILDCARD) {
        chain.applicationProtocols = [...PLAINTEXT_HTTP_ALPNS];
        chain.transportProtocol = 'raw_buffer';
        entryProtocol = 'UnsupportedProtocol';
      }
      chains = [chain];
      break;
    }
    case 'TCP':
      chains = [...tlsChains(push, proxy, svc, port, bind, cidrs), ...tcpChains(push, proxy, svc, port, cidrs)];
      if (current) conflict = currentIsHttp ? 'TCPOverHTTP' : currentIsTcp ? 'TCPOverTCP' : 'TCPOverAuto';
      break;
    case 'AUTO': {
      if (current && !currentIsHttp && !currentIsTcp) {
        conflict = 'TCPOverAuto';
        chains = [...tlsChains(push, proxy, svc, port, bind, cidrs), ...tcpChains(push, proxy, svc, port, cidrs)];
        break;
      }
      if (current) conflict = currentIsHttp ? 'AutoOverHTTP' : 'AutoOverTCP';
      const http = httpChain(svc, port, bind, lp);
      http.applicationProtocols = [...PLAINTEXT_HTTP_ALPNS];
      http.transportProtocol = 'raw_buffer';
      chains = [...tlsChains(push, proxy, svc, port, bind, cidrs), ...tcpChains(push, proxy, svc, port, cidrs), http];
      break;
    }
  }

  // Mongo and MySQL speak first from the server: a shared port would break them.
  const serverFirst = (p: Protocol) => p === 'Mongo' || p === 'MySQL';
  if (current && conflict !== 'none' && (serverFirst(port.protocol) || serverFirst(current.protocol)) && port.protocol !== current.protocol) return;

  switch (conflict) {
    case 'none':
    case 'AutoOverHTTP':
      entries.set(key, { bind, port: port.port, chains, protocol: entryProtocol });
      break;
    case 'HTTPOverTCP':
    case 'TCPOverHTTP':
    case 'AutoOverTCP':
      mergeChains(current!, chains);
      current!.protocol = 'UnsupportedProtocol';
      break;
    case 'TCPOverTCP':
    case 'TCPOverAuto':
      mergeChains(current!, chains);
      break;
  }
}

function mergeChains(entry: ListenerEntry, incoming: ChainOpts[]): void {
  for (const c of incoming) if (!entry.chains.some((e) => conflicts(e, c))) entry.chains.push(c);
}

/** The catch-all network filters: pass through (ALLOW_ANY) or black-hole (REGISTRY_ONLY). */
export function catchAllFilters(push: PushContext, proxy: Proxy): Filter[] {
  const cluster = push.sidecarScope(proxy).outboundTrafficPolicy === 'REGISTRY_ONLY' ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER;
  return [tcpProxyFilter(cluster, cluster)];
}

function toListener(push: PushContext, proxy: Proxy, entry: ListenerEntry): Listener {
  const name = `${entry.bind}_${entry.port}`;
  const listener = create(ListenerSchema, {
    name,
    address: socketAddress(entry.bind, entry.port),
    trafficDirection: TrafficDirection.OUTBOUND,
    continueOnListenerFiltersTimeout: true,
    bindToPort: false,
  });
  const needTls = entry.chains.some((c) => c.sniHosts?.length);
  const needHttp = entry.chains.some((c) => c.applicationProtocols?.length);
  if (needTls) listener.listenerFilters.push(listenerFilter('tls_inspector'));
  if (needHttp) listener.listenerFilters.push(listenerFilter('http_inspector'));
  listener.listenerFiltersTimeout = duration(0);

  let defaultChain: FilterChain | undefined;
  for (const opt of entry.chains) {
    const chain = create(FilterChainSchema, {});
    if (opt.rds !== undefined) {
      const hcm = create(HttpConnectionManagerSchema, {
        ...pathNormalizationFields(push.mesh.pathNormalization),
        statPrefix: `outbound_${name}`,
        routeSpecifier: { case: 'rds', value: { configSource: adsConfigSource(), routeConfigName: opt.rds } },
        httpFilters: outboundHttpFilters(push, proxy),
      });
      chain.filters = [create(FilterSchema, { name: 'envoy.filters.network.http_connection_manager', configType: { case: 'typedConfig', value: anyPack(HttpConnectionManagerSchema, hcm) } })];
    } else {
      chain.filters = opt.networkFilters ?? [];
    }
    if (isMatchAll(opt)) {
      defaultChain = chain;
      continue;
    }
    chain.filterChainMatch = create(FilterChainMatchSchema, {
      applicationProtocols: opt.applicationProtocols ?? [],
      transportProtocol: opt.transportProtocol ?? '',
      serverNames: opt.sniHosts?.length && !opt.sniHosts.includes('*') ? [...opt.sniHosts].sort() : [],
      prefixRanges: (opt.destinationCidrs ?? []).slice().sort().map(cidrRange).filter((r) => r.addressPrefix !== WILDCARD),
    });
    listener.filterChains.push(chain);
  }
  if (defaultChain && listener.filterChains.length === 0) {
    listener.filterChains = [defaultChain];
  } else if (defaultChain) {
    listener.defaultFilterChain = defaultChain;
  } else {
    listener.defaultFilterChain = create(FilterChainSchema, { name: PASSTHROUGH_FILTER_CHAIN, filterChainMatch: {}, filters: catchAllFilters(push, proxy) });
  }
  return listener;
}

export function outboundListeners(push: PushContext, proxy: Proxy, services: readonly Service[]): Listener[] {
  const entries = new Map<string, ListenerEntry>();
  for (const svc of services) {
    // ExternalName aliases get no listeners: the service they point at answers to their names.
    if (svc.resolution === 'Alias') continue;
    for (const port of svc.ports) {
      const lp = listenerProtocol(port.protocol);
      // Headless Kubernetes services: one listener per pod IP, so each pod's traffic keeps its identity.
      if (svc.resolution === 'Passthrough' && serviceAddressForProxy(svc, proxy) === WILDCARD && (lp === 'TCP' || lp === 'AUTO')) {
        const instances = push.endpoints(svc).filter((e) => e.servicePortName === port.name);
        if (svc.registry !== 'Kubernetes' && instances.length === 0 && !svc.selector) {
          addServicePort(push, proxy, entries, svc, port);
          continue;
        }
        for (const ep of instances) {
          if (!/^[\d.]+$/.test(ep.address) && !ep.address.includes(':')) continue;
          if (ep.address === proxy.ipAddresses[0]) continue;
          addServicePort(push, proxy, entries, svc, port, ep.address);
        }
        continue;
      }
      addServicePort(push, proxy, entries, svc, port);
    }
  }
  return [...entries.values()].map((e) => toListener(push, proxy, e));
}
