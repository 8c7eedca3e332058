// LDS for router proxies (Istio's buildGatewayListeners / buildGatewayListener): one bound
// listener `<bind>_<port>` per listening port of the merged gateway (bind 0.0.0.0 unless a server
// binds an address), holding the chains of every server group on it; a TLS inspector when any chain
// matches SNI or offers ALPN; a listener whose servers yield no chain is left out.
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { ListenerSchema, type Listener } from '../../../gen/envoy/config/listener/v3/listener_pb.js';
import { FilterChainMatchSchema, FilterChainSchema, type FilterChain } from '../../../gen/envoy/config/listener/v3/listener_components_pb.js';
import { TrafficDirection } from '../../../gen/envoy/config/core/v3/base_pb.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { duration } from '../envoy.js';
import type { NamedResource, Watch } from '../generator.js';
import { downstreamTlsSocket } from '../tls.js';
import { listenerFilter, socketAddress, WILDCARD } from '../sidecar/common.js';
import { serverPortChains, type ChainContext, type ChainOpts } from './chains.js';
import { mergedGatewayFor, serverPortKey, type MergedGateway } from './merge.js';

/** Istio's default gateway transport socket connect timeout (slow TLS handshakes). */
const TRANSPORT_SOCKET_CONNECT_TIMEOUT_SECONDS = 15;

export function listenerName(bind: string, port: number): string {
  return `${bind}_${port}`;
}

function isMatchAll(c: ChainOpts): boolean {
  return (!c.sniHosts?.length || c.sniHosts.includes('*')) && !c.applicationProtocols?.length;
}

function toFilterChain(c: ChainOpts): FilterChain {
  const chain = create(FilterChainSchema, {
    filters: c.networkFilters ?? [],
    transportSocketConnectTimeout: duration(TRANSPORT_SOCKET_CONNECT_TIMEOUT_SECONDS),
  });
  if (!isMatchAll(c)) {
    chain.filterChainMatch = create(FilterChainMatchSchema, {
      applicationProtocols: c.applicationProtocols ?? [],
      serverNames: c.sniHosts?.length && !c.sniHosts.includes('*') ? [...c.sniHosts].sort() : [],
    });
  }
  if (c.tlsContext) chain.transportSocket = downstreamTlsSocket(c.tlsContext);
  return chain;
}

function buildListener(name: string, bind: string, port: number, chains: ChainOpts[]): Listener {
  const listener = create(ListenerSchema, {
    name,
    address: socketAddress(bind, port),
    trafficDirection: TrafficDirection.OUTBOUND,
    filterChains: chains.map(toFilterChain),
  });
  if (chains.some((c) => c.sniHosts?.length || c.tlsContext?.commonTlsContext?.alpnProtocols.length)) {
    listener.listenerFilters.push(listenerFilter('tls_inspector'));
  }
  return listener;
}

/** The gateway's listeners, in the order their ports were first declared. */
export function buildGatewayListeners(push: PushContext, proxy: Proxy, merged: MergedGateway | undefined): Listener[] {
  if (!merged) return [];
  const ctx: ChainContext = { push, proxy, merged, tlsHostsByPort: new Map() };
  const byName = new Map<string, { bind: string; port: number; chains: ChainOpts[] }>();
  for (const sp of merged.serverPorts) {
    const bind = sp.bind || WILDCARD;
    const name = listenerName(bind, sp.number);
    const servers = merged.mergedServers.get(serverPortKey(sp));
    if (!servers) continue;
    const chains = serverPortChains(ctx, sp, servers, `outbound_${name}_`);
    const entry = byName.get(name);
    if (entry) entry.chains.push(...chains);
    else byName.set(name, { bind, port: sp.number, chains });
  }
  const out: Listener[] = [];
  // Istio omits a listener with no chains ("must have more than 0 chains").
  for (const [name, e] of byName) if (e.chains.length) out.push(buildListener(name, e.bind, e.port, e.chains));
  return out;
}

export function gatewayListeners(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  const all = buildGatewayListeners(push, proxy, mergedGatewayFor(push, proxy));
  const wanted = watch.wildcard ? undefined : new Set(watch.names);
  return all.filter((l) => !wanted || wanted.has(l.name)).map((l) => ({ name: l.name, resource: anyPack(ListenerSchema, l) }));
}
