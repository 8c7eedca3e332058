// Proxyless gRPC (node metadata GENERATOR=grpc): API listeners named after the target
// (`host:port`), per-service route configs, EDS clusters and endpoints, as Istio's grpcgen.
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { ListenerSchema } from '../../../gen/envoy/config/listener/v3/listener_pb.js';
import { RouteConfigurationSchema } from '../../../gen/envoy/config/route/v3/route_pb.js';
import { Cluster_DiscoveryType, ClusterSchema, type Cluster } from '../../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { HttpConnectionManagerSchema } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { RouterSchema } from '../../../gen/envoy/extensions/filters/http/router/v3/router_pb.js';
import { HTTPFaultSchema } from '../../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { servicePortByNumber, type Service } from '../../model/service.js';
import { adsConfigSource, TYPE } from '../envoy.js';
import { parseSubsetKey, subsetKey } from '../names.js';
import { applyGrpcCircuitBreakers, applyGrpcLoadBalancer, portTrafficPolicy, subsetTrafficPolicy } from '../cluster-policy.js';
import { loadAssignments } from '../endpoints.js';
import { destinationRuleLabelsKey, objectId, outboundViewKey } from '../view.js';
import { outboundVirtualHosts } from '../route/vhosts.js';
import type { GeneratorSet, NamedResource, Watch } from '../generator.js';
import { GRPC_INBOUND_LISTENER_PREFIX, grpcInboundListeners } from './inbound.js';
import { secretsGenerator } from '../sds/secrets.js';


interface RequestedHost {
  requestedNames: Set<string>;
  /** Empty: every port. */
  ports: Set<number>;
}

/** Maps each requested host (and its FQDN expansion) to the names and ports the client asked for. */
function listenerFilter(names: readonly string[], proxy: Proxy): Map<string, RequestedHost> {
  const filter = new Map<string, RequestedHost>();
  for (const name of names) {
    if (name.startsWith(GRPC_INBOUND_LISTENER_PREFIX)) continue;
    const colon = name.lastIndexOf(':');
    const hasPort = colon > 0 && /^\d+$/.test(name.slice(colon + 1));
    const requested = hasPort ? name.slice(0, colon) : name;
    const all = [requested];
    const fqdn = expandToFqdn(requested, proxy);
    if (fqdn) all.push(fqdn);
    for (const host of all) {
      let entry = filter.get(host);
      const existed = !!entry;
      if (!entry) filter.set(host, (entry = { requestedNames: new Set(), ports: new Set() }));
      entry.requestedNames.add(requested);
      if (hasPort && (!existed || entry.ports.size > 0)) entry.ports.add(Number(name.slice(colon + 1)));
      else if (!hasPort) entry.ports.clear();
    }
  }
  return filter;
}

/** `foo` → `foo.<ns>.svc.cluster.local`; `foo.<ns>` and `foo.<ns>.svc` likewise, as Istio expands them. */
function expandToFqdn(name: string, proxy: Proxy): string | undefined {
  if (!name.includes('.')) return `${name}.${proxy.dnsDomain}`;
  for (const suffix of [proxy.namespace, `${proxy.namespace}.svc`]) {
    if (name.endsWith(`.${suffix}`) && proxy.dnsDomain.startsWith(suffix)) {
      return `${name.slice(0, -suffix.length - 1)}.${proxy.dnsDomain}`;
    }
  }
  return undefined;
}

/** Output that depends on the names asked for and the proxy's scope (and DNS domain): shared by equal subscriptions. */
function shared(push: PushContext, proxy: Proxy, watch: Watch, kind: string, build: () => NamedResource[]): NamedResource[] {
  return watch.namesId ? push.memo(`grpc/${kind}|${push.sidecarScopeKey(proxy)}|${proxy.dnsDomain}|${destinationRuleLabelsKey(push, proxy)}|${watch.namesId}`, build) : build();
}

function listeners(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  // Server listeners follow the proxy's own labels; client listeners are shared.
  const inbound = grpcInboundListeners(push, proxy, watch.names);
  const outbound = shared(push, proxy, watch, 'lds', () => outboundListeners(push, proxy, watch));
  return inbound.length ? [...inbound, ...outbound] : outbound;
}

function outboundListeners(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  const filter = listenerFilter(watch.names, proxy);
  const out: NamedResource[] = [];
  const all = watch.names.length === 0;
  for (const svc of all ? push.servicesFor(proxy) : requestedServices(push, proxy, filter)) {
    const match = all ? { requestedNames: new Set([svc.hostname]), ports: new Set<number>() } : filter.get(svc.hostname)!;
    for (const requested of [...match.requestedNames].sort()) {
      for (const port of svc.ports) {
        if (match.ports.size && !match.ports.has(port.port)) continue;
        // A listener reads only the service's host, first address and port: it outlives pushes
        // that did not change the service (a VirtualService change regenerates LDS).
        out.push(push.durable(`grpc/l|${objectId(svc)}|${requested}|${port.port}`, () => outboundListener(svc, requested, port.port)));
      }
    }
  }
  return out;
}

/** Positions of a scope's services, to list looked-up services in scope order. */
const scopeOrder = new WeakMap<readonly Service[], Map<Service, number>>();

/** The services in the proxy's scope that the client asked for, in scope order (as a scan of the scope would find them). */
function requestedServices(push: PushContext, proxy: Proxy, filter: Map<string, RequestedHost>): Service[] {
  const found: Service[] = [];
  for (const host of filter.keys()) {
    const svc = push.serviceForHostname(proxy, host);
    if (svc) found.push(svc);
  }
  if (found.length < 2) return found;
  const services = push.servicesFor(proxy);
  let order = scopeOrder.get(services);
  if (!order) scopeOrder.set(services, (order = new Map(services.map((s, i) => [s, i]))));
  return found.sort((a, b) => order.get(a)! - order.get(b)!);
}

function outboundListener(svc: Service, requested: string, port: number): NamedResource {
  const name = `${requested}:${port}`;
  const hcm = create(HttpConnectionManagerSchema, {
    // gRPC ignores stat_prefix, but Envoy's schema requires one.
    statPrefix: name,
    httpFilters: [
      { name: 'envoy.filters.http.fault', configType: { case: 'typedConfig', value: anyPack(HTTPFaultSchema, create(HTTPFaultSchema)) } },
      { name: 'envoy.filters.http.router', configType: { case: 'typedConfig', value: anyPack(RouterSchema, create(RouterSchema)) } },
    ],
    routeSpecifier: {
      case: 'rds',
      value: { configSource: adsConfigSource(), routeConfigName: subsetKey('outbound', '', svc.hostname, port) },
    },
  });
  const listener = create(ListenerSchema, {
    name,
    address: {
      address: {
        case: 'socketAddress',
        value: { address: svc.addresses[0] ?? '0.0.0.0', portSpecifier: { case: 'portValue', value: port } },
      },
    },
    apiListener: { apiListener: anyPack(HttpConnectionManagerSchema, hcm) },
  });
  return { name, resource: anyPack(ListenerSchema, listener) };
}

function routes(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  const view = outboundViewKey(push, proxy);
  const out: NamedResource[] = [];
  for (const name of watch.names) {
    const key = parseSubsetKey(name);
    if (!key || key.port === 0) continue;
    out.push(
      push.memo(`grpc/rds|${view}|${name}`, () => {
        const svc = push.serviceForHostname(proxy, key.host);
        // Only this service's virtual host: gRPC subscribes per target, so unrelated services must not churn it.
        const virtualHosts = svc ? outboundVirtualHosts(push, proxy, key.port, [svc]) : [];
        // Virtual hosts are durable (route/vhosts.ts): unchanged ones keep their packed configuration too.
        return push.durable(`grpc/rds|${name}|${virtualHosts.map(objectId).join(',')}`, () => {
          const rc = create(RouteConfigurationSchema, { name, virtualHosts });
          return { name, resource: anyPack(RouteConfigurationSchema, rc) };
        });
      }),
    );
  }
  return out;
}

function edsCluster(name: string): Cluster {
  return create(ClusterSchema, {
    name,
    altStatName: `${name};`,
    clusterDiscoveryType: { case: 'type', value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { serviceName: name, edsConfig: adsConfigSource() },
  });
}

function clusters(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  return shared(push, proxy, watch, 'cds', () => buildClusters(push, proxy, watch));
}

function buildClusters(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  // gRPC asks for the default and subset clusters a route uses; group them by service port.
  const byDefault = new Map<string, Set<string>>();
  for (const name of watch.names) {
    const key = parseSubsetKey(name);
    if (!key) continue;
    const def = subsetKey(key.direction, '', key.host, key.port);
    let set = byDefault.get(def);
    if (!set) byDefault.set(def, (set = new Set()));
    set.add(name);
  }
  const out: Cluster[] = [];
  for (const [def, wanted] of byDefault) {
    const key = parseSubsetKey(def)!;
    const svc: Service | undefined = push.serviceForHostname(proxy, key.host);
    const port = svc && servicePortByNumber(svc, key.port);
    // ExternalName aliases have no clusters: their routes go to the service they name.
    if (!svc || !port || svc.resolution === 'Alias') continue;
    const dr = push.destinationRuleFor(proxy, svc)?.resource.spec;
    const policy = portTrafficPolicy(dr?.trafficPolicy, port);
    if (wanted.has(def)) {
      const c = edsCluster(def);
      applyGrpcLoadBalancer(c, policy?.loadBalancer);
      applyGrpcCircuitBreakers(c, policy?.connectionPool);
      out.push(c);
    }
    for (const subset of dr?.subsets ?? []) {
      const name = subsetKey('outbound', subset.name ?? '', key.host, key.port);
      if (!wanted.has(name)) continue;
      const c = edsCluster(name);
      const merged = subsetTrafficPolicy(policy, subset.trafficPolicy, port);
      applyGrpcLoadBalancer(c, merged?.loadBalancer);
      applyGrpcCircuitBreakers(c, merged?.connectionPool);
      out.push(c);
    }
  }
  return out.map((c) => ({ name: c.name, resource: anyPack(ClusterSchema, c) }));
}

export const grpcGenerators: GeneratorSet = {
  byType: {
    [TYPE.listener]: listeners,
    [TYPE.route]: routes,
    [TYPE.cluster]: clusters,
    [TYPE.endpoint]: loadAssignments,
    [TYPE.secret]: secretsGenerator,
  },
};
