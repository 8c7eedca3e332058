// RDS for router proxies (Istio's buildGatewayHTTPRouteConfig): one route configuration per HTTP
// server group — `http.<port>` or `https.<port>.<port name>.<gateway>.<namespace>` — whose virtual
// hosts are the hosts the servers share with the VirtualServices bound to their gateway, named
// `<host>:<server port>` and matching exactly that host; `blackhole:<port>` (no routes, so 404)
// when nothing is bound; `require_tls: ALL` on the hosts of httpsRedirect servers.
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { RouteConfigurationSchema, type RouteConfiguration } from '../../../gen/envoy/config/route/v3/route_pb.js';
import { VirtualHost_TlsRequirementType, VirtualHostSchema, type Route, type VirtualHost } from '../../../gen/envoy/config/route/v3/route_components_pb.js';
import type { PushContext, ResolvedVirtualService } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { isVisibleTo, type Service } from '../../model/service.js';
import type { NamedResource, Watch } from '../generator.js';
import { domainName } from '../names.js';
import { isCatchAllMatch } from '../route/match.js';
import { routesForVirtualService, type RouteContext, type VirtualServiceRef } from '../route/translate.js';
import { routeContext } from '../route/vhosts.js';
import { hostIntersection } from '../../model/host.js';
import { gatewayService, resolveConfigHost, resolveGatewayName, serverHostsForNamespace, virtualServicesForGateway } from './config.js';
import { mergedGatewayFor, type MergedGateway } from './merge.js';

const MAX_DIRECT_RESPONSE_BODY = 1024 * 1024;

/**
 * The service a destination host names, for routes of a VirtualService (Istio's
 * buildNameToServiceMapForHTTPRoutes): the one in the VirtualService's own namespace when the
 * proxy may see it, else the one the proxy sees.
 */
function lookupFor(push: PushContext, proxy: Proxy, vsNamespace: string): (host: string) => Service | undefined {
  return (host) => {
    const own = push.registry.byHostname.get(host)?.find((s) => s.namespace === vsNamespace);
    if (own && isVisibleTo(own, proxy.namespace)) return own;
    return gatewayService(push, proxy.namespace, host);
  };
}

/** The VirtualService as route translation reads it, with `match.gateways` resolved to `ns/name`. */
export function gatewayVirtualServiceRef(vs: ResolvedVirtualService): VirtualServiceRef {
  const spec = vs.resource.spec;
  const http = spec.http?.map((h) =>
    h.match?.some((m) => m.gateways?.length)
      ? { ...h, match: h.match.map((m) => (m.gateways?.length ? { ...m, gateways: m.gateways.map((g) => resolveGatewayName(g, vs.namespace)) } : m)) }
      : h,
  );
  return { name: vs.resource.meta.name, namespace: vs.namespace, spec: http ? { ...spec, http } : spec, annotations: vs.resource.meta.annotations };
}

export function gatewayRouteContext(push: PushContext, proxy: Proxy, gatewayName: string, vsNamespace: string, isTls: boolean): RouteContext {
  return {
    ...routeContext(push, proxy, new Set([gatewayName])),
    lookupService: lookupFor(push, proxy, vsNamespace),
    isTls,
    resolveHost: (host, namespace) => resolveConfigHost(push, host, namespace),
  };
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Istio's route collapsing: hosts whose routes are the very same list (one VirtualService naming
 * several hosts) share one virtual host, named after the first of them alphabetically.
 */
function collapseDuplicateRoutes(byHost: Map<string, VirtualHost>): VirtualHost[] {
  const out: VirtualHost[] = [];
  for (const host of [...byHost.keys()].sort(compareNames)) {
    const vh = byHost.get(host)!;
    const same = out.find(
      (o) =>
        o.routes.length === vh.routes.length &&
        o.routes.every((r, i) => r === vh.routes[i]) &&
        o.includeRequestAttemptCount === vh.includeRequestAttemptCount &&
        o.requireTls === vh.requireTls,
    );
    if (same) same.domains.push(...vh.domains);
    else out.push(vh);
  }
  return out;
}

/** Catch-all routes go last, in order (Istio's SortVHostRoutes). */
function sortRoutes(routes: Route[]): Route[] {
  return [...routes.filter((r) => !isCatchAllMatch(r.match)), ...routes.filter((r) => isCatchAllMatch(r.match))];
}

function emptyRouteConfig(name: string): RouteConfiguration {
  return create(RouteConfigurationSchema, { name, virtualHosts: [], validateClusters: false });
}

export function gatewayRouteConfig(push: PushContext, proxy: Proxy, merged: MergedGateway | undefined, routeName: string): RouteConfiguration {
  const servers = merged?.serversByRouteName.get(routeName);
  // A gateway that was just removed: Envoy may still ask while draining.
  if (!merged || !servers?.length) return emptyRouteConfig(routeName);

  const vsByGateway = new Map<string, ResolvedVirtualService[]>();
  const routesByGatewayAndVs = new Map<string, Route[]>();
  const byHost = new Map<string, VirtualHost>();
  for (const gs of servers) {
    const { server, gatewayName } = gs;
    const port = server.port?.number ?? 0;
    const redirect = server.tls?.httpsRedirect === true;
    let virtualServices = vsByGateway.get(gatewayName);
    if (!virtualServices) vsByGateway.set(gatewayName, (virtualServices = virtualServicesForGateway(push, proxy.namespace, gatewayName)));

    for (const vs of virtualServices) {
      const vsHosts = (vs.resource.spec.hosts ?? []).map((h) => resolveConfigHost(push, h, vs.namespace));
      const hosts = hostIntersection(serverHostsForNamespace(server.hosts, vs.namespace), vsHosts);
      if (hosts.length === 0) continue;
      const key = `${gatewayName}\u0000${vs.namespace}/${vs.resource.meta.name}`;
      let routes = routesByGatewayAndVs.get(key);
      if (!routes) {
        const ctx = gatewayRouteContext(push, proxy, gatewayName, vs.namespace, server.tls !== undefined);
        routesByGatewayAndVs.set(key, (routes = routesForVirtualService(ctx, gatewayVirtualServiceRef(vs), port)));
      }
      // Istio: "no routes matched" — a VirtualService without HTTP routes for this port adds no host.
      if (routes.length === 0) continue;
      for (const raw of hosts) {
        const host = raw.toLowerCase();
        const existing = byHost.get(host);
        if (existing) {
          existing.routes.push(...routes);
          if (redirect) existing.requireTls = VirtualHost_TlsRequirementType.ALL;
          continue;
        }
        byHost.set(
          host,
          create(VirtualHostSchema, {
            name: domainName(host, port),
            domains: [host],
            routes: [...routes],
            includeRequestAttemptCount: true,
            requireTls: redirect ? VirtualHost_TlsRequirementType.ALL : VirtualHost_TlsRequirementType.NONE,
          }),
        );
      }
    }
    // httpsRedirect hosts no VirtualService routes still redirect.
    if (redirect) {
      for (const raw of server.hosts) {
        const host = raw.toLowerCase();
        const existing = byHost.get(host);
        if (existing) existing.requireTls = VirtualHost_TlsRequirementType.ALL;
        else byHost.set(host, create(VirtualHostSchema, { name: domainName(host, port), domains: [host], includeRequestAttemptCount: true, requireTls: VirtualHost_TlsRequirementType.ALL }));
      }
    }
  }

  let virtualHosts: VirtualHost[];
  if (byHost.size === 0) {
    virtualHosts = [create(VirtualHostSchema, { name: domainName('blackhole', servers[0]!.server.port?.number ?? 0), domains: ['*'], routes: [] })];
  } else {
    virtualHosts = collapseDuplicateRoutes(byHost);
    for (const vh of virtualHosts) vh.routes = sortRoutes(vh.routes);
  }
  virtualHosts.sort((a, b) => compareNames(a.name, b.name));
  return create(RouteConfigurationSchema, {
    name: routeName,
    virtualHosts,
    validateClusters: false,
    ignorePortInHostMatching: proxy.generator !== 'grpc',
    maxDirectResponseBodySizeBytes: MAX_DIRECT_RESPONSE_BODY,
  });
}

export function gatewayRoutes(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  const merged = mergedGatewayFor(push, proxy);
  const names = watch.wildcard && watch.names.length === 0 ? [...(merged?.serversByRouteName.keys() ?? [])] : watch.names;
  return names.map((name) => ({ name, resource: anyPack(RouteConfigurationSchema, gatewayRouteConfig(push, proxy, merged, name)) }));
}
