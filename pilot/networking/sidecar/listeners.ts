// LDS for Envoy sidecars: Istio's layout of capture listeners (virtualOutbound on 15001,
// virtualInbound on 15006) and per-port outbound listeners (`0.0.0.0_PORT` for HTTP,
// `VIP_PORT` for TCP) that the capture listeners hand connections to.
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { ListenerSchema, type Listener } from '../../../gen/envoy/config/listener/v3/listener_pb.js';
import { FilterChainMatchSchema, FilterChainSchema, type FilterChain } from '../../../gen/envoy/config/listener/v3/listener_components_pb.js';
import { TrafficDirection } from '../../../gen/envoy/config/core/v3/base_pb.js';
import { TcpProxySchema } from '../../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { BLACKHOLE_CLUSTER, VIRTUAL_OUTBOUND_LISTENER } from '../names.js';
import { concatResources, type NamedResource, type Watch } from '../generator.js';
import { listenerFilter, socketAddress } from './common.js';
import { allowAnyDynamicDns, dynamicDnsFilterChain, dynamicDnsViewKey } from './dynamic-dns.js';
import { addressViewKey } from '../../model/addresses.js';
import { catchAllFilters, outboundListeners } from './outbound.js';
import { virtualInboundResource } from './inbound.js';
import { outboundViewKey } from '../view.js';

export const VIRTUAL_OUTBOUND_PORT = 15001;
export const VIRTUAL_INBOUND_PORT = 15006;

function tcpProxyChain(name: string, cluster: string, statPrefix = cluster): FilterChain {
  return create(FilterChainSchema, {
    name,
    filters: [
      {
        name: 'envoy.filters.network.tcp_proxy',
        configType: { case: 'typedConfig', value: anyPack(TcpProxySchema, create(TcpProxySchema, { statPrefix, clusterSpecifier: { case: 'cluster', value: cluster } })) },
      },
    ],
  });
}

/**
 * Port 15001 itself is black-holed, so connections can never loop back into the capture listener.
 * With ALLOW_ANY_DYNAMIC_DNS, the HTTP inspector sends plaintext HTTP to the forward proxy chain.
 */
function virtualOutbound(push: PushContext, proxy: Proxy): Listener {
  const blackhole = tcpProxyChain('virtualOutbound-blackhole', BLACKHOLE_CLUSTER);
  blackhole.filterChainMatch = create(FilterChainMatchSchema, { destinationPort: VIRTUAL_OUTBOUND_PORT });
  const dynamicDns = allowAnyDynamicDns(push, proxy);
  return create(ListenerSchema, {
    name: VIRTUAL_OUTBOUND_LISTENER,
    address: socketAddress('0.0.0.0', VIRTUAL_OUTBOUND_PORT),
    useOriginalDst: true,
    trafficDirection: TrafficDirection.OUTBOUND,
    listenerFilters: dynamicDns ? [listenerFilter('http_inspector')] : [],
    filterChains: [
      blackhole,
      ...(dynamicDns ? [dynamicDnsFilterChain(proxy, push.mesh.pathNormalization)] : []),
      create(FilterChainSchema, { name: 'virtualOutbound-catchall-tcp', filters: catchAllFilters(push, proxy) }),
    ],
  });
}

export function sidecarListeners(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  // Istio's order: outbound listeners, virtualOutbound, then inbound. The outbound side is the
  // same for every proxy with the same view; the inbound side follows the proxy's own services.
  // Auto-allocated service addresses and the forward proxy's DNS settings follow the proxy's metadata.
  const view = `${outboundViewKey(push, proxy)}|${addressViewKey(proxy)}|${dynamicDnsViewKey(push, proxy)}`;
  const outbound = push.memo(`lds/outbound|${view}`, () =>
    [...outboundListeners(push, proxy, push.servicesFor(proxy)), virtualOutbound(push, proxy)].map((l) => ({ name: l.name, resource: anyPack(ListenerSchema, l) })),
  );
  const all = concatResources(outbound, [virtualInboundResource(push, proxy)]);
  const wanted = watch.wildcard ? undefined : new Set(watch.names);
  return wanted ? all.filter((l) => wanted.has(l.name)) : all;
}
