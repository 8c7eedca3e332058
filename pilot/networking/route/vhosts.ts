// Outbound virtual hosts for one listener port: one per service (or VirtualService host),
// with Istio's domain list, VirtualService routes where one applies and a default route otherwise.
import { create } from '@bufbuild/protobuf';
import { VirtualHostSchema, type Route, type VirtualHost } from '../../../gen/envoy/config/route/v3/route_components_pb.js';
import { MESH_GATEWAY, type PushContext, type ResolvedVirtualService } from '../../model/push-context.js';
import type { ResolvedDestinationRule } from '../../model/destination-rules.js';
import { hostMatches, resolveShortname } from '../../model/host.js';
import type { Proxy } from '../../model/proxy.js';
import type { Service } from '../../model/service.js';
import { addressViewKey, serviceAddressesForProxy } from '../../model/addresses.js';
import { sameElements } from '../../model/canonical.js';
import { labelsKey, objectId } from '../view.js';
import { domainName, ipv6Compliant, subsetKey } from '../names.js';
import { defaultOutboundRoute, routesForVirtualService, type RouteContext } from './translate.js';
import { hashPolicy } from './hash.js';
import { portTrafficPolicy, subsetTrafficPolicy } from '../cluster-policy.js';

/** Where the domains come from: a registry service, or a VirtualService host with no service. */
interface VhostSource {
  hostname: string;
  service?: Service;
  routes: Route[];
}

export function routeContext(push: PushContext, proxy: Proxy, gateways = new Set([MESH_GATEWAY])): RouteContext {
  return {
    proxy,
    domainSuffix: push.domainSuffix,
    lookupService: (h) => push.serviceForHostname(proxy, h),
    gateways,
    meshRetries: push.mesh.defaultHttpRetryPolicy,
    hashFor: (dest, listenerPort) => {
      const svc = dest.host ? push.serviceForHostname(proxy, dest.host) : undefined;
      return svc ? serviceHash(push, proxy, svc, dest.port?.number ?? listenerPort, dest.subset) : undefined;
    },
  };
}

/** The DestinationRule's consistent-hash key for a service port (subset policy over port policy over rule). */
function serviceHash(push: PushContext, proxy: Proxy, svc: Service, portNumber: number, subsetName?: string) {
  const dr = push.destinationRuleFor(proxy, svc)?.resource.spec;
  if (!dr) return undefined;
  const port = svc.ports.find((p) => p.port === portNumber);
  let policy = portTrafficPolicy(dr.trafficPolicy, port);
  const subset = subsetName ? dr.subsets?.find((s) => s.name === subsetName) : undefined;
  if (subset) policy = subsetTrafficPolicy(policy, subset.trafficPolicy, port);
  return hashPolicy(policy?.loadBalancer?.consistentHash);
}

/**
 * What one view's virtual hosts on one port were built from, per service, so that the next push
 * rebuilds only the rows whose inputs are other objects. Every other input is fixed by the view
 * key the caller names it by (see `viewRows`). Weak keys: rows of services that are gone die
 * with them. Holds a few entries per view, port and service besides the route configurations
 * themselves (many namespaces or label-dependent views multiply it). Services a Sidecar narrows
 * or a same-host merge builds are kept across pushes too (`deriveService`), so they hit as well.
 */
interface ViewRows {
  /** Domains depend on the service alone within a view. */
  domains: WeakMap<Service, ServiceDomains>;
  /** Default routes of unclaimed services, with the DestinationRule they read. */
  defaults: WeakMap<Service, { dr: ResolvedDestinationRule | undefined; routes: Route[] }>;
  /** The virtual host made of a service's domains and routes. */
  vhosts: WeakMap<Service, { domains: string[]; routes: Route[]; vhost: VirtualHost }>;
  /** The last call's sequence of domain lists (host names for sources without a service) and what each kept. */
  last?: { seq: readonly unknown[]; kept: (string[] | undefined)[] };
}

/**
 * The row cache of a view and port; `view` must determine everything `outboundVirtualHosts`
 * reads of the proxy. It lives in the durable cache, so it ends with the mesh config.
 */
export function viewRows(push: PushContext, view: string, port: number): ViewRows {
  return push.durable(`vh/rows|${view}|${port}`, () => ({ domains: new WeakMap(), defaults: new WeakMap(), vhosts: new WeakMap() }));
}

/**
 * Virtual hosts for services listening on `port`. Envoy sidecars get domains without the port
 * suffix (Envoy strips it on outbound), proxyless gRPC with and without it, as Istio does.
 */
export function outboundVirtualHosts(push: PushContext, proxy: Proxy, port: number, services: readonly Service[], rows?: ViewRows): VirtualHost[] {
  const ctx = routeContext(push, proxy);
  const domainView = `${proxy.generator === 'grpc'}|${addressViewKey(proxy)}`;
  const domainsOf = (svc: Service): ServiceDomains => {
    let d = rows?.domains.get(svc);
    if (!d) {
      d = sharedServiceDomains(push, svc, port, proxy, domainView);
      rows?.domains.set(svc, d);
    }
    return d;
  };
  const defaultRoutesOf = (svc: Service): Route[] => {
    if (!rows) return defaultServiceRoutes(push, proxy, svc, port);
    const dr = push.destinationRuleFor(proxy, svc);
    const row = rows.defaults.get(svc);
    if (row && row.dr === dr) return row.routes;
    const routes = defaultServiceRoutes(push, proxy, svc, port, dr);
    rows.defaults.set(svc, { dr, routes });
    return routes;
  };
  const onPort = services.filter((s) => s.ports.some((p) => p.port === port && isHttpOrSniffed(p.protocol)));
  const claimed = new Map<ResolvedVirtualService, Service[]>();
  const unclaimed: Service[] = [];
  for (const svc of onPort) {
    const vs = push.virtualServiceForProxy(proxy, svc);
    if (vs) {
      let list = claimed.get(vs);
      if (!list) claimed.set(vs, (list = []));
      list.push(svc);
    } else unclaimed.push(svc);
  }

  const sources: VhostSource[] = [];
  // VirtualServices whose hosts name no service still get virtual hosts on port 80, as in Istio.
  const allowed = push.sidecarScope(proxy).virtualServices;
  const vsList =
    port === 80
      ? push.virtualServices.filter((vs) => allowed.has(vs) && vs.gateways.includes(MESH_GATEWAY) && (vs.exportTo.has('*') || vs.exportTo.has(proxy.namespace)))
      : [...claimed.keys()];
  for (const vs of vsList) {
    const routes = sharedVirtualServiceRoutes(push, proxy, ctx, vs, port);
    const svcs = claimed.get(vs) ?? [];
    if (routes.length === 0) {
      unclaimed.push(...svcs);
      continue;
    }
    if (port === 80) {
      for (const h of vs.hosts) {
        if (!onPort.some((s) => hostMatches(h, s.hostname))) sources.push({ hostname: h, routes });
      }
    }
    for (const svc of svcs) sources.push({ hostname: svc.hostname, service: svc, routes });
  }
  for (const svc of unclaimed) {
    // An alias answers through the service it names (its domains are on that service's virtual host).
    if (svc.resolution === 'Alias') continue;
    sources.push({ hostname: svc.hostname, service: svc, routes: defaultRoutesOf(svc) });
  }

  const lists = sources.map((src) => (src.service ? domainsOf(src.service) : hostOnlyDomains(src.hostname, port, proxy)));
  // What each source keeps of its domains depends on the sources' hosts and domain lists alone:
  // a view whose sequence of them is unchanged (a route edit) takes the last answer.
  const seq = sources.map((src, i) => (src.service ? lists[i]! : src.hostname));
  let kept = rows?.last && sameElements(rows.last.seq, seq) ? rows.last.kept : undefined;
  if (!kept) {
    kept = keptDomains(sources, lists, port);
    if (rows) rows.last = { seq, kept };
  }
  const out: VirtualHost[] = [];
  sources.forEach((src, i) => {
    const unique = kept[i];
    if (!unique) return;
    const { domains } = lists[i]!;
    const build = () => create(VirtualHostSchema, { name: domainName(src.hostname, port), domains: unique, routes: src.routes, includeRequestAttemptCount: true });
    // A service's routes and domains come from durable memos (see below): shared pieces make a
    // shared virtual host, and one encoding of it (sidecar/routes.ts), in this push and the next.
    if (!src.service || unique !== domains) {
      out.push(build());
      return;
    }
    const row = rows?.vhosts.get(src.service);
    if (row && row.domains === domains && row.routes === src.routes) {
      out.push(row.vhost);
      return;
    }
    // The domains object determines the name (it is keyed by the service and port).
    const vhost = push.durable(`vh|${objectId(domains)}|${objectId(src.routes)}`, build);
    rows?.vhosts.set(src.service, { domains, routes: src.routes, vhost });
    out.push(vhost);
  });
  return out;
}

/** A VirtualService host with no service behind it answers to its own name (gRPC: and host:port). */
function hostOnlyDomains(hostname: string, port: number, proxy: Proxy): ServiceDomains {
  return { domains: proxy.generator === 'grpc' ? [ipv6Compliant(hostname), domainName(hostname, port)] : [ipv6Compliant(hostname)], altHosts: [] };
}

/**
 * Per source, the domains its virtual host keeps (undefined: no virtual host). The first source
 * of a name wins, a domain goes to the first virtual host that claims it (case-insensitively),
 * and a short name is dropped where it is some other service's FQDN. A list with nothing
 * dropped is returned as the same array.
 */
function keptDomains(sources: readonly VhostSource[], lists: readonly ServiceDomains[], port: number): (string[] | undefined)[] {
  const usedNames = new Set<string>();
  const usedDomains = new Set<string>();
  const knownFqdn = new Set<string>();
  for (const src of sources) if (src.service) knownFqdn.add(src.hostname).add(domainName(src.hostname, port));
  return sources.map((src, i) => {
    const name = domainName(src.hostname, port);
    if (usedNames.has(name)) return undefined;
    usedNames.add(name);
    const { domains, altHosts } = lists[i]!;
    const unique = domains.filter((d) => {
      const lower = d.toLowerCase();
      if (usedDomains.has(lower)) return false;
      if (altHosts.includes(d) && knownFqdn.has(d)) return false;
      usedDomains.add(lower);
      return true;
    });
    if (unique.length === 0) return undefined;
    return unique.length === domains.length ? domains : unique;
  });
}

/** Hosts a VirtualService's HTTP routes send or mirror to, as written. */
function destinationHosts(spec: ResolvedVirtualService['resource']['spec']): string[] {
  const hosts = new Set<string>();
  for (const http of spec.http ?? []) {
    for (const r of http.route ?? []) if (r.destination?.host) hosts.add(r.destination.host);
    if (http.mirror?.host) hosts.add(http.mirror.host);
    for (const m of http.mirrors ?? []) if (m.destination?.host) hosts.add(m.destination.host);
  }
  return [...hosts];
}

/**
 * A VirtualService's routes on a port, shared between proxies for which they come out the same.
 * Translation reads the proxy only through source matches (namespace, labels), its generator,
 * and the service and DestinationRule each destination host resolves to for it.
 */
function sharedVirtualServiceRoutes(push: PushContext, proxy: Proxy, ctx: RouteContext, vs: ResolvedVirtualService, port: number): Route[] {
  const spec = vs.resource.spec;
  const matches = (spec.http ?? []).flatMap((h) => h.match ?? []);
  const namespace = matches.some((m) => m.sourceNamespace) ? proxy.namespace : '';
  const labels = matches.some((m) => m.sourceLabels && Object.keys(m.sourceLabels).length > 0) ? labelsKey(proxy) : '';
  const destinations = destinationHosts(spec).map((h) => {
    const svc = push.serviceForHostname(proxy, resolveShortname(h, vs.namespace, push.domainSuffix));
    return `${objectId(svc)}:${objectId(svc && push.destinationRuleFor(proxy, svc))}`;
  });
  return push.durable(`vh/vs|${objectId(vs)}|${port}|${proxy.generator}|${namespace}|${labels}|${destinations.join(',')}`, () =>
    routesForVirtualService(ctx, { name: vs.resource.meta.name, namespace: vs.namespace, spec, annotations: vs.resource.meta.annotations }, port),
  );
}

/** A service port's default route (no VirtualService), shared by views that pick the same DestinationRule. */
function defaultServiceRoutes(push: PushContext, proxy: Proxy, svc: Service, port: number, dr = push.destinationRuleFor(proxy, svc)): Route[] {
  return push.durable(`vh/default|${objectId(svc)}|${port}|${objectId(dr)}`, () => {
    const cluster = subsetKey('outbound', '', svc.hostname, port);
    return [defaultOutboundRoute(cluster, `${svc.hostname}:${port}/*`, push.mesh.defaultHttpRetryPolicy, serviceHash(push, proxy, svc, port))];
  });
}

/**
 * `serviceDomains`, shared between proxies for which it is the same: same generator, addresses
 * and, per host, the same relation of the host to the proxy's DNS domain (its own namespace or
 * another), so one namespace's proxies and another's share the virtual hosts of third parties.
 */
function sharedServiceDomains(push: PushContext, svc: Service, port: number, proxy: Proxy, domainView: string): ServiceDomains {
  const hosts = [svc.hostname, ...(svc.aliases ?? []).map((a) => a.hostname)];
  const relation = hosts.map((h) => altVirtualHostsKey(h, proxy.dnsDomain)).join(',');
  return push.durable(`vh/domains|${objectId(svc)}|${port}|${domainView}|${relation}`, () => serviceDomains(svc, port, proxy));
}

type ServiceDomains = { domains: string[]; altHosts: string[] };

function isHttpOrSniffed(p: string): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-Web' || p === 'HTTP_PROXY' || p === 'UnsupportedProtocol';
}

/** Istio's domain list for a service: FQDN, absolute FQDN, Kubernetes short forms and VIPs. */
export function serviceDomains(svc: Service, port: number, proxy: Proxy): { domains: string[]; altHosts: string[] } {
  // Envoy sidecars match on the host without port; proxyless gRPC sends host:port.
  const withPort = proxy.generator === 'grpc';
  const add = (list: string[], host: string) => {
    list.push(ipv6Compliant(host));
    if (withPort) list.push(domainName(host, port));
  };
  const domains: string[] = [];
  const altHosts: string[] = [];
  // The service's own names, then those of the ExternalName services aliasing it.
  for (const host of [svc.hostname, ...(svc.aliases ?? []).map((a) => a.hostname)]) {
    add(domains, host);
    const alt = altVirtualHosts(host, withPort ? port : 0, proxy.dnsDomain);
    domains.push(...alt);
    altHosts.push(...alt);
  }
  if (svc.resolution === 'Passthrough' && svc.registry === 'Kubernetes') {
    for (const d of [...domains]) domains.push(`*.${d}`);
  }
  for (const vip of serviceAddressesForProxy(svc, proxy)) if (vip && vip !== '0.0.0.0' && !vip.includes('/')) add(domains, vip);
  return { domains, altHosts };
}

/** What of `proxyDomain` `altVirtualHosts(hostname, …)` reads: equal keys give equal names. */
export function altVirtualHostsKey(hostname: string, proxyDomain: string): string {
  const at = proxyDomain.indexOf('.svc.');
  if (at < 0) return proxyDomain;
  const svcAt = hostname.indexOf('.svc.');
  const dot = hostname.indexOf('.');
  const sameNamespace = svcAt > 0 && dot >= 0 && hostname.slice(dot + 1, svcAt) === proxyDomain.slice(0, at);
  return `${proxyDomain.slice(at + 1)}|${sameNamespace}`;
}

/** Istio's GenerateAltVirtualHosts: the other names a host answers to for a proxy of `proxyDomain` (port 0: without port). */
export function altVirtualHosts(hostname: string, port: number, proxyDomain: string): string[] {
  const out: string[] = [];
  const add = (h: string) => {
    out.push(h);
    if (port) out.push(domainName(h, port));
  };
  // The absolute form ("name.ns.svc.cluster.local.") is on by default in Istio.
  if (!/^[\d.]+$/.test(hostname) && !hostname.includes(':')) out.push(`${hostname}.`);
  if (port) out.push(domainName(`${hostname}.`, port));

  if (proxyDomain.includes('.svc.')) {
    const proxyNs = proxyDomain.slice(0, proxyDomain.indexOf('.svc.'));
    const clusterDomain = proxyDomain.slice(proxyDomain.indexOf('.svc.') + 1);
    if (!hostname.endsWith(clusterDomain)) return out;
    const svcAt = hostname.indexOf('.svc.');
    if (svcAt <= 0) return out;
    const dot = hostname.indexOf('.');
    if (dot + 1 >= hostname.length || dot + 1 > svcAt) return out;
    const nameNs = hostname.slice(0, svcAt);
    if (hostname.slice(dot + 1, svcAt) === proxyNs) {
      add(hostname.slice(0, dot));
      add(`${nameNs}.svc`);
      add(nameNs);
    } else {
      add(nameNs);
      add(`${nameNs}.svc`);
    }
    return out;
  }
  // Outside Kubernetes: the part of the host not shared with the proxy's domain.
  const hostParts = hostname.split('.');
  const domainParts = proxyDomain.split('.');
  let shared = 0;
  while (shared < Math.min(hostParts.length, domainParts.length) && hostParts[hostParts.length - 1 - shared] === domainParts[domainParts.length - 1 - shared]) shared++;
  if (shared === 0) return out;
  const unique = hostParts.slice(0, hostParts.length - shared);
  if (unique.length === 0) return out;
  add(unique.join('.'));
  if (unique.length === 2) add(`${unique.join('.')}.${hostParts[hostParts.length - shared]}`);
  return out;
}
