// What a proxy sees, narrowed by the Sidecar resource that applies to it: Istio picks the oldest
// Sidecar in the proxy's namespace whose workloadSelector matches, else the namespace's Sidecar
// without selector, else the root namespace's; without any, the proxy sees everything exported
// to its namespace.
import type { Resource } from '../config/resource.js';
import type * as net from '../config/schema/networking.js';
import { hostMatches } from './host.js';
import type { OutboundTrafficPolicyMode } from './mesh.js';
import type { Proxy } from './proxy.js';
import type { ResolvedVirtualService } from './push-context.js';
import { deriveService, labelsMatch, type Service } from './service.js';

export interface EgressHost {
  /** `*` any namespace, `~` none, else a namespace. */
  namespace: string;
  host: string;
}

export interface SidecarScope {
  sidecar?: Resource<net.Sidecar>;
  /** One host list per egress listener; the catch-all (portless) one last. */
  egressHosts: EgressHost[][];
  services: Service[];
  byHost: Map<string, Service>;
  virtualServices: Set<ResolvedVirtualService>;
  /** The Sidecar's policy when it sets one (its mode defaults to REGISTRY_ONLY), else the mesh's. */
  outboundTrafficPolicy: OutboundTrafficPolicyMode;
  ingress: NonNullable<net.Sidecar['ingress']>;
}

function older(a: Resource, b: Resource): boolean {
  const ta = a.meta.creationTimestamp ?? '';
  const tb = b.meta.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb;
  return `${a.meta.namespace}/${a.meta.name}` < `${b.meta.namespace}/${b.meta.name}`;
}

export function selectSidecar(sidecars: readonly Resource<net.Sidecar>[], proxy: Proxy, rootNamespace: string): Resource<net.Sidecar> | undefined {
  let bySelector: Resource<net.Sidecar> | undefined;
  let nsDefault: Resource<net.Sidecar> | undefined;
  let rootDefault: Resource<net.Sidecar> | undefined;
  for (const sc of sidecars) {
    const selector = sc.spec.workloadSelector?.labels;
    const hasSelector = !!selector && Object.keys(selector).length > 0;
    if (sc.meta.namespace === proxy.namespace) {
      if (hasSelector) {
        if (labelsMatch(selector, proxy.labels) && (!bySelector || older(sc, bySelector))) bySelector = sc;
      } else if (!nsDefault || older(sc, nsDefault)) nsDefault = sc;
    } else if (sc.meta.namespace === rootNamespace && !hasSelector && (!rootDefault || older(sc, rootDefault))) {
      rootDefault = sc;
    }
  }
  return bySelector ?? nsDefault ?? rootDefault;
}

/** Egress hosts as `namespace/host`, with `.` meaning the namespace the scope is built for. */
export function parseEgressHosts(hosts: readonly string[], sidecarNamespace: string): EgressHost[] {
  return hosts.map((h) => {
    const slash = h.indexOf('/');
    const ns = slash < 0 ? '*' : h.slice(0, slash);
    return { namespace: ns === '.' ? sidecarNamespace : ns, host: slash < 0 ? h : h.slice(slash + 1) };
  });
}

function hostSelected(hosts: readonly EgressHost[], namespace: string, hostname: string): boolean {
  return hosts.some((e) => e.namespace !== '~' && (e.namespace === '*' || e.namespace === namespace) && hostMatches(e.host, hostname));
}

/** Destination hosts of a VirtualService with the ports named for each (0: some destination names none). */
function virtualServiceDestinations(vs: ResolvedVirtualService, configNamespace: string, resolveHost: (host: string, namespace: string) => string): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  const add = (d: net.Destination | undefined) => {
    if (!d?.host) return;
    const host = resolveHost(d.host, vs.namespace);
    let ports = out.get(host);
    if (!ports) out.set(host, (ports = new Set()));
    ports.add(d.port?.number ?? 0);
  };
  const spec = vs.resource.spec;
  for (const h of spec.http ?? []) {
    // Routes reserved for callers of another namespace bring in nothing.
    const sourceNamespaces = (h.match ?? []).map((m) => m.sourceNamespace).filter((n) => !!n);
    if (sourceNamespaces.length && !sourceNamespaces.includes(configNamespace)) continue;
    for (const r of h.route ?? []) add(r.destination);
    add(h.mirror);
    for (const m of h.mirrors ?? []) add(m.destination);
  }
  for (const t of [...(spec.tcp ?? []), ...(spec.tls ?? [])]) for (const r of t.route ?? []) add(r.destination);
  return out;
}

/** The service narrowed to the ports a listener or VirtualService uses; undefined when none match. */
function withPorts(svc: Service, keep: (port: number) => boolean): Service | undefined {
  const ports = svc.ports.filter((p) => keep(p.port));
  if (ports.length === svc.ports.length) return svc;
  return ports.length ? deriveService(svc, { ports }) : undefined;
}

/** Only the ExternalName aliases whose own names the egress hosts import answer for the service. */
function withImportedAliases(svc: Service, hosts: readonly EgressHost[]): Service {
  if (!svc.aliases?.length) return svc;
  const aliases = svc.aliases.filter((a) => hostSelected(hosts, svc.namespace, a.hostname));
  return aliases.length === svc.aliases.length ? svc : deriveService(svc, { aliases });
}

export function buildSidecarScope(
  sidecar: Resource<net.Sidecar> | undefined,
  configNamespace: string,
  visible: readonly Service[],
  virtualServices: readonly ResolvedVirtualService[],
  meshPolicy: OutboundTrafficPolicyMode,
  resolveHost: (host: string, namespace: string) => string = (h) => h,
): SidecarScope {
  const egress = sidecar?.spec.egress ?? [];
  const egressHosts = egress.map((e) => parseEgressHosts(e.hosts ?? [], configNamespace));
  const allHosts = egressHosts.flat();
  const selectsVs = (hosts: readonly EgressHost[], v: ResolvedVirtualService) =>
    v.hosts.some((h) => hosts.some((e) => e.namespace !== '~' && (e.namespace === '*' || e.namespace === v.namespace) && (hostMatches(e.host, h) || hostMatches(h, e.host))));
  const services = sidecar ? visible.filter((s) => hostSelected(allHosts, s.namespace, s.hostname)).map((s) => withImportedAliases(s, allHosts)) : [...visible];
  if (sidecar) inferVirtualServiceDestinations(configNamespace, egress, egressHosts, services, visible, virtualServices, selectsVs, resolveHost);
  const vs = new Set(sidecar ? virtualServices.filter((v) => selectsVs(allHosts, v)) : virtualServices);
  return {
    sidecar,
    egressHosts,
    services,
    byHost: new Map(services.map((s) => [s.hostname, s])),
    virtualServices: vs,
    outboundTrafficPolicy: sidecar?.spec.outboundTrafficPolicy ? (sidecar.spec.outboundTrafficPolicy.mode ?? 'REGISTRY_ONLY') : meshPolicy,
    ingress: sidecar?.spec.ingress ?? [],
  };
}

/**
 * Istio adds the services a selected VirtualService routes to, even when the egress hosts leave
 * them out: the one of the proxy's namespace, else the one visible to it (Istio picks the first
 * visible namespace alphabetically; the visible list here prefers the oldest definition), narrowed to the egress listener's port, or to the ports the VirtualService names. A host
 * already in scope keeps its service.
 */
function inferVirtualServiceDestinations(
  configNamespace: string,
  egress: NonNullable<net.Sidecar['egress']>,
  egressHosts: EgressHost[][],
  services: Service[],
  visible: readonly Service[],
  virtualServices: readonly ResolvedVirtualService[],
  selectsVs: (hosts: readonly EgressHost[], v: ResolvedVirtualService) => boolean,
  resolveHost: (host: string, namespace: string) => string,
): void {
  const added = new Set(services.map((s) => s.hostname));
  // `visible` holds one service per host name, the proxy namespace's own first.
  const byHost = new Map(visible.map((s) => [s.hostname, s]));
  for (let i = 0; i < egress.length; i++) {
    const listenerPort = egress[i]!.port?.number;
    for (const v of virtualServices) {
      if (!selectsVs(egressHosts[i]!, v)) continue;
      for (const [host, ports] of virtualServiceDestinations(v, configNamespace, resolveHost)) {
        if (added.has(host)) continue;
        const svc = byHost.get(host);
        if (!svc) continue;
        const narrowed = listenerPort ? withPorts(svc, (p) => p === listenerPort) : ports.has(0) ? svc : withPorts(svc, (p) => ports.has(p));
        if (!narrowed) continue;
        services.push(narrowed);
        added.add(host);
      }
    }
  }
}
