// What gateway translation reads from config: the Gateway resources of a push, in Istio's order,
// gateway names as VirtualServices name them, the VirtualServices bound to one gateway, and the
// small predicates Istio asks of a gateway server (pkg/config/gateway).
import type { Resource } from '../../config/resource.js';
import type * as net from '../../config/schema/networking.js';
import { MESH_GATEWAY, type PushContext, type ResolvedVirtualService } from '../../model/push-context.js';
import { isHttpProtocol, parseProtocol, type Protocol, type Service } from '../../model/service.js';

/** `internal.istio.io/gateway-service`: the gateway applies to instances of these services (comma separated). */
export const GATEWAY_SERVICE_ANNOTATION = 'internal.istio.io/gateway-service';
/** `internal.istio.io/parent-namespace`: the namespace the gateway-service hostnames live in, when not the Gateway's. */
export const PARENT_NAMESPACE_ANNOTATION = 'internal.istio.io/parent-namespace';
/** `internal.istio.io/parents`: the Gateway API route a generated VirtualService came from (`TLSRoute/name.ns`). */
export const PARENT_NAMES_ANNOTATION = 'internal.istio.io/parents';
/** `internal.istio.io/route-semantics: gateway`: a VirtualService generated from the Gateway API. */
export const ROUTE_SEMANTICS_ANNOTATION = 'internal.istio.io/route-semantics';

type GatewayResource = Resource<net.Gateway>;

/** Istio's `ResolveShortnameToFQDN` with the push's config domain: FQDNs, wildcards and IPs stay as they are. */
export function resolveConfigHost(push: PushContext, host: string, namespace: string): string {
  if (!host || host === '*' || host.includes('.') || host.includes(':')) return host;
  const domain = push.configDomain;
  return `${host}${namespace ? `.${namespace}` : ''}${domain ? `.svc.${domain}` : ''}`;
}

/** Istio's `configCompareByCreationTime`: creation time, then name, then namespace. */
export function compareByCreation(a: { meta: { creationTimestamp?: string; name: string; namespace: string } }, b: typeof a): number {
  const ta = a.meta.creationTimestamp ? Date.parse(a.meta.creationTimestamp) : 0;
  const tb = b.meta.creationTimestamp ? Date.parse(b.meta.creationTimestamp) : 0;
  if (ta !== tb) return (Number.isNaN(ta) ? 0 : ta) - (Number.isNaN(tb) ? 0 : tb);
  if (a.meta.name !== b.meta.name) return a.meta.name < b.meta.name ? -1 : 1;
  return a.meta.namespace < b.meta.namespace ? -1 : a.meta.namespace > b.meta.namespace ? 1 : 0;
}

const sortedGateways = new WeakMap<readonly GatewayResource[], GatewayResource[]>();

/** The push's Gateways, oldest first (Istio's `initGateways`). */
export function gatewaysOf(push: PushContext): readonly GatewayResource[] {
  const list = push.gateways;
  let sorted = sortedGateways.get(list);
  if (!sorted) sortedGateways.set(list, (sorted = [...list].sort(compareByCreation)));
  return sorted;
}

/**
 * A gateway reference as a VirtualService writes it, resolved to `namespace/name` (Istio's
 * `resolveGatewayName`): short names live in the VirtualService's namespace, `./name` too, and the
 * legacy FQDN form `name.ns.svc.cluster.local` means `ns/name`.
 */
export function resolveGatewayName(name: string, namespace: string): string {
  if (name === MESH_GATEWAY) return name;
  const slash = name.indexOf('/');
  if (slash < 0) {
    const dot = name.indexOf('.');
    if (dot < 0) return `${namespace}/${name}`;
    const rest = name.slice(dot + 1);
    const next = rest.indexOf('.');
    return `${next < 0 ? rest : rest.slice(0, next)}/${name.slice(0, dot)}`;
  }
  return name.slice(0, slash) === '.' ? `${namespace}/${name.slice(slash + 1)}` : name;
}

/** The gateways a VirtualService binds to, resolved; `mesh` when it names none. */
export function virtualServiceGateways(vs: ResolvedVirtualService): string[] {
  const names = vs.resource.spec.gateways?.length ? vs.resource.spec.gateways : [MESH_GATEWAY];
  return names.map((g) => resolveGatewayName(g, vs.namespace));
}

function usesGatewaySemantics(vs: ResolvedVirtualService): boolean {
  return vs.resource.meta.annotations[ROUTE_SEMANTICS_ANNOTATION] === 'gateway';
}

/**
 * Istio's `VirtualServicesForGateway`: the VirtualServices bound to `gateway` that a proxy in
 * `proxyNamespace` may use. Private ones (exported only to their own namespace) first, then those
 * exported to the proxy's namespace, then public ones (Gateway API routes of the proxy's own
 * namespace before the rest); each group oldest first.
 */
export function virtualServicesForGateway(push: PushContext, proxyNamespace: string, gateway: string): ResolvedVirtualService[] {
  const privateOnes: ResolvedVirtualService[] = [];
  const exported: ResolvedVirtualService[] = [];
  const publicOnes: ResolvedVirtualService[] = [];
  const ordered = [...push.virtualServices].sort((a, b) => compareByCreation(a.resource, b.resource));
  for (const vs of ordered) {
    if (!virtualServiceGateways(vs).includes(gateway)) continue;
    if (vs.exportTo.has('*')) publicOnes.push(vs);
    else if (vs.exportTo.has('~')) continue;
    else if (vs.exportTo.has(proxyNamespace)) (vs.namespace === proxyNamespace ? privateOnes : exported).push(vs);
  }
  const ownRoutes = publicOnes.filter((vs) => usesGatewaySemantics(vs) && vs.namespace === proxyNamespace);
  return [...privateOnes, ...exported, ...ownRoutes, ...publicOnes.filter((vs) => !ownRoutes.includes(vs))];
}

// ---- servers ----

/** A server whose host list is always present (sanitized). */
export type GatewayServerSpec = net.Server & { hosts: string[] };

export function serverProtocol(server: net.Server): Protocol {
  return parseProtocol(server.port?.protocol);
}

/** The server's TLS mode; PASSTHROUGH (the proto's zero value) when `tls` names none. */
export function tlsMode(server: net.Server): NonNullable<net.ServerTLSSettings['mode']> | undefined {
  return server.tls ? (server.tls.mode ?? 'PASSTHROUGH') : undefined;
}

/** PASSTHROUGH or AUTO_PASSTHROUGH: the gateway forwards TLS by SNI without terminating it. */
export function isPassthroughServer(server: net.Server): boolean {
  const mode = tlsMode(server);
  return mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH';
}

/** A non-HTTP server with TLS settings (termination or passthrough). */
export function isTlsServer(server: net.Server): boolean {
  return server.tls !== undefined && !isHttpProtocol(serverProtocol(server));
}

/** HTTP, or HTTPS that the gateway terminates. */
export function isHttpServer(server: net.Server): boolean {
  const p = serverProtocol(server);
  return isHttpProtocol(p) || (p === 'HTTPS' && !isPassthroughServer(server));
}

export function isHttpsServerWithTlsTermination(server: net.Server): boolean {
  return server.tls !== undefined && serverProtocol(server) === 'HTTPS' && !isPassthroughServer(server);
}

/** A TCP/TLS (not HTTP or HTTPS) server that terminates TLS. */
export function isTcpServerWithTlsTermination(server: net.Server): boolean {
  if (isPassthroughServer(server)) return false;
  const p = serverProtocol(server);
  return !isHttpProtocol(p) && p !== 'HTTPS';
}

/**
 * Istio's `sanitizeServerHostNamespace`: `./host` becomes `<gateway namespace>/host`, `*\/host`
 * becomes `host`, and `*\/*` makes the whole list `*`. Returns the server itself when nothing changes.
 */
export function sanitizeServerHosts(server: net.Server, namespace: string): GatewayServerSpec {
  const given = server.hosts ?? [];
  if (!given.some((h) => h.includes('/'))) return { ...server, hosts: given };
  const hosts: string[] = [];
  for (const h of given) {
    const slash = h.indexOf('/');
    if (slash < 0) {
      hosts.push(h);
      continue;
    }
    const ns = h.slice(0, slash);
    const name = h.slice(slash + 1);
    if (ns === '.') hosts.push(`${namespace}/${name}`);
    else if (ns === '*') {
      if (name === '*') return { ...server, hosts: ['*'] };
      hosts.push(name);
    } else hosts.push(h);
  }
  return { ...server, hosts };
}

/** The SNI names a TLS server matches: its hosts without namespace, deduplicated and sorted. */
export function sniHostsForServer(server: net.Server): string[] {
  if (!server.tls) return [];
  const out = new Set<string>();
  for (const h of server.hosts ?? []) out.add(h.includes('/') ? h.split('/')[1]! : h);
  return [...out].sort();
}

/**
 * The RDS name of a server (Istio's `gatewayRDSRouteName`): `http.<port>` for HTTP servers (shared
 * by every HTTP server on the port), `https.<port>.<port name>.<gateway>.<namespace>` for HTTPS
 * servers the gateway terminates, with `.<bind>` when the server binds an address; none otherwise.
 */
export function gatewayRouteName(server: net.Server, port: number, gateway: { name: string; namespace: string }): string {
  const p = serverProtocol(server);
  const bind = server.bind ? `.${server.bind}` : '';
  if (isHttpProtocol(p)) return `http.${port}${bind}`;
  if (p === 'HTTPS' && !isPassthroughServer(server)) return `https.${server.port?.number ?? 0}.${server.port?.name ?? ''}.${gateway.name}.${gateway.namespace}${bind}`;
  return '';
}

/**
 * The hosts of a server (`ns/host`, `*\/host` or `host`) that apply to a VirtualService in
 * `namespace`, without their namespace part (Istio's `host.NamesForNamespace`).
 */
export function serverHostsForNamespace(hosts: readonly string[], namespace: string): string[] {
  const out: string[] = [];
  for (const h of hosts) {
    const slash = h.indexOf('/');
    if (slash < 0) out.push(h);
    else if (h.slice(0, slash) === namespace || h.slice(0, slash) === '*') out.push(h.slice(slash + 1));
  }
  return out;
}


// ---- services a gateway sees ----

const visibleByNamespace = new WeakMap<PushContext, Map<string, Map<string, Service>>>();

/**
 * The service a gateway in `namespace` sees for a hostname. Gateways see every service exported to
 * their namespace: Sidecar resources never scope them (Istio's DefaultSidecarScopeForGateway).
 */
export function gatewayService(push: PushContext, namespace: string, hostname: string): Service | undefined {
  let perNs = visibleByNamespace.get(push);
  if (!perNs) visibleByNamespace.set(push, (perNs = new Map()));
  let byHost = perNs.get(namespace);
  if (!byHost) perNs.set(namespace, (byHost = new Map(push.servicesVisibleTo(namespace).map((s) => [s.hostname, s]))));
  return byHost.get(hostname);
}
