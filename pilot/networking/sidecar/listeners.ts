// LDS for Envoy sidecars: Istio's layout of capture listeners (virtualOutbound on 15001,
// virtualInbound on 15006) and per-port outbound listeners (`0.0.0.0_PORT` for HTTP,
// `VIP_PORT` for TCP) that the capture listeners hand connections to.
import { create } from '@bufbuild/protobuf';
import { anyPack, type Any } from '@bufbuild/protobuf/wkt';
import { ListenerSchema, type Listener } from '../../../gen/envoy/config/listener/v3/listener_pb.js';
import { FilterChainMatchSchema, FilterChainSchema, type FilterChain } from '../../../gen/envoy/config/listener/v3/listener_components_pb.js';
import { TrafficDirection } from '../../../gen/envoy/config/core/v3/base_pb.js';
import {
  HttpConnectionManagerSchema,
  HttpFilterSchema,
  type HttpFilter,
} from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { RouterSchema } from '../../../gen/envoy/extensions/filters/http/router/v3/router_pb.js';
import { HTTPFaultSchema } from '../../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js';
import { CorsSchema } from '../../../gen/envoy/extensions/filters/http/cors/v3/cors_pb.js';
import { TcpProxySchema } from '../../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js';
import { OriginalDstSchema } from '../../../gen/envoy/extensions/filters/listener/original_dst/v3/original_dst_pb.js';
import { RouteConfigurationSchema } from '../../../gen/envoy/config/route/v3/route_pb.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { isHttpProtocol, type Protocol } from '../../model/service.js';
import { adsConfigSource } from '../envoy.js';
import {
  BLACKHOLE_CLUSTER,
  INBOUND_PASSTHROUGH_CLUSTER_IPV4,
  PASSTHROUGH_CLUSTER,
  subsetKey,
  VIRTUAL_INBOUND_LISTENER,
  VIRTUAL_OUTBOUND_LISTENER,
} from '../names.js';
import { defaultOutboundRoute } from '../route/translate.js';
import type { NamedResource, Watch } from '../generator.js';
import { proxyServiceInstances } from './instances.js';

export const VIRTUAL_OUTBOUND_PORT = 15001;
export const VIRTUAL_INBOUND_PORT = 15006;

function httpFilter(name: string, config: Any): HttpFilter {
  return create(HttpFilterSchema, { name, configType: { case: 'typedConfig', value: config } });
}

function httpFilters(): HttpFilter[] {
  return [
    httpFilter('envoy.filters.http.fault', anyPack(HTTPFaultSchema, create(HTTPFaultSchema))),
    httpFilter('envoy.filters.http.cors', anyPack(CorsSchema, create(CorsSchema))),
    httpFilter('envoy.filters.http.router', anyPack(RouterSchema, create(RouterSchema))),
  ];
}

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

function socketAddress(address: string, port: number) {
  return { address: { case: 'socketAddress' as const, value: { address, portSpecifier: { case: 'portValue' as const, value: port } } } };
}

function isTcpOnly(p: Protocol): boolean {
  // Ports without a declared protocol are forwarded as TCP: bytes always arrive intact.
  return !isHttpProtocol(p);
}

function outboundListeners(push: PushContext, proxy: Proxy): Listener[] {
  const httpPorts = new Set<number>();
  const out: Listener[] = [];
  const tcpNames = new Set<string>();
  for (const svc of push.servicesVisibleTo(proxy.namespace)) {
    for (const port of svc.ports) {
      if (port.protocol === 'UDP') continue;
      if (!isTcpOnly(port.protocol)) {
        httpPorts.add(port.port);
        continue;
      }
      const address = svc.addresses[0] ?? '0.0.0.0';
      const name = `${address}_${port.port}`;
      if (tcpNames.has(name)) continue;
      tcpNames.add(name);
      const cluster = subsetKey('outbound', '', svc.hostname, port.port);
      out.push(
        create(ListenerSchema, {
          name,
          address: socketAddress(address, port.port),
          bindToPort: false,
          trafficDirection: TrafficDirection.OUTBOUND,
          filterChains: [tcpProxyChain('', cluster)],
        }),
      );
    }
  }
  for (const port of [...httpPorts].sort((a, b) => a - b)) {
    const name = `0.0.0.0_${port}`;
    if (tcpNames.has(name)) continue;
    const hcm = create(HttpConnectionManagerSchema, {
      statPrefix: `outbound_${name}`,
      routeSpecifier: { case: 'rds', value: { configSource: adsConfigSource(), routeConfigName: String(port) } },
      httpFilters: httpFilters(),
    });
    out.push(
      create(ListenerSchema, {
        name,
        address: socketAddress('0.0.0.0', port),
        bindToPort: false,
        trafficDirection: TrafficDirection.OUTBOUND,
        filterChains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', configType: { case: 'typedConfig', value: anyPack(HttpConnectionManagerSchema, hcm) } }] }],
      }),
    );
  }
  return out;
}

function virtualOutbound(push: PushContext): Listener {
  const catchAll = push.mesh.outboundTrafficPolicy === 'REGISTRY_ONLY' ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER;
  return create(ListenerSchema, {
    name: VIRTUAL_OUTBOUND_LISTENER,
    address: socketAddress('0.0.0.0', VIRTUAL_OUTBOUND_PORT),
    useOriginalDst: true,
    trafficDirection: TrafficDirection.OUTBOUND,
    filterChains: [tcpProxyChain('virtualOutbound-catchall-tcp', catchAll)],
  });
}

function virtualInbound(push: PushContext, proxy: Proxy): Listener {
  const chains: FilterChain[] = [];
  const seen = new Set<number>();
  for (const inst of proxyServiceInstances(push, proxy)) {
    const port = inst.endpoint.endpointPort;
    if (seen.has(port)) continue;
    seen.add(port);
    const cluster = subsetKey('inbound', '', '', port);
    const match = create(FilterChainMatchSchema, { destinationPort: port });
    if (isTcpOnly(inst.port.protocol)) {
      const chain = tcpProxyChain(`inbound_0.0.0.0_${port}`, cluster);
      chain.filterChainMatch = match;
      chains.push(chain);
      continue;
    }
    const routeConfig = create(RouteConfigurationSchema, {
      name: cluster,
      virtualHosts: [{ name: `inbound|http|${port}`, domains: ['*'], routes: [defaultOutboundRoute(cluster, `${inst.service.hostname}:${inst.port.port}/*`, undefined)] }],
      validateClusters: false,
    });
    const hcm = create(HttpConnectionManagerSchema, {
      statPrefix: `inbound_0.0.0.0_${port}`,
      routeSpecifier: { case: 'routeConfig', value: routeConfig },
      httpFilters: httpFilters(),
    });
    chains.push(
      create(FilterChainSchema, {
        name: `inbound_0.0.0.0_${port}`,
        filterChainMatch: match,
        filters: [{ name: 'envoy.filters.network.http_connection_manager', configType: { case: 'typedConfig', value: anyPack(HttpConnectionManagerSchema, hcm) } }],
      }),
    );
  }
  chains.push(tcpProxyChain(VIRTUAL_INBOUND_LISTENER, INBOUND_PASSTHROUGH_CLUSTER_IPV4));
  return create(ListenerSchema, {
    name: VIRTUAL_INBOUND_LISTENER,
    address: socketAddress('0.0.0.0', VIRTUAL_INBOUND_PORT),
    useOriginalDst: true,
    trafficDirection: TrafficDirection.INBOUND,
    listenerFilters: [{ name: 'envoy.filters.listener.original_dst', configType: { case: 'typedConfig', value: anyPack(OriginalDstSchema, create(OriginalDstSchema)) } }],
    filterChains: chains,
  });
}

export function sidecarListeners(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  const all = [virtualOutbound(push), virtualInbound(push, proxy), ...outboundListeners(push, proxy)];
  const wanted = watch.wildcard ? undefined : new Set(watch.names);
  return all.filter((l) => !wanted || wanted.has(l.name)).map((l) => ({ name: l.name, resource: anyPack(ListenerSchema, l) }));
}
