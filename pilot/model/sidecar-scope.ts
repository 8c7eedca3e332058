// What a proxy sees, narrowed by the Sidecar resource that applies to it: Istio picks the oldest
// Sidecar in the proxy's namespace whose workloadSelector matches, else the namespace's Sidecar
// without selector, else the root namespace's; without any, the proxy sees everything exported
// to its namespace.
import type { Resource } from '../config/resource.js';
import type * as net from '../config/schema/networking.js';
import { hostMatches } from './host.js';
import type { Proxy } from './proxy.js';
import type { ResolvedVirtualService } from './push-context.js';
import { labelsMatch, type Service } from './service.js';

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
  outboundTrafficPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY';
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

/** Egress hosts as `namespace/host`, with `.` meaning the Sidecar's own namespace. */
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

export function buildSidecarScope(
  sidecar: Resource<net.Sidecar> | undefined,
  visible: readonly Service[],
  virtualServices: readonly ResolvedVirtualService[],
  meshPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY',
): SidecarScope {
  const egressHosts = (sidecar?.spec.egress ?? []).map((e) => parseEgressHosts(e.hosts ?? [], sidecar!.meta.namespace));
  const allHosts = egressHosts.flat();
  const services = sidecar ? visible.filter((s) => hostSelected(allHosts, s.namespace, s.hostname)) : [...visible];
  const vs = new Set(
    sidecar
      ? virtualServices.filter((v) => v.hosts.some((h) => allHosts.some((e) => e.namespace !== '~' && (e.namespace === '*' || e.namespace === v.namespace) && (hostMatches(e.host, h) || hostMatches(h, e.host)))))
      : virtualServices,
  );
  return {
    sidecar,
    egressHosts,
    services,
    byHost: new Map(services.map((s) => [s.hostname, s])),
    virtualServices: vs,
    outboundTrafficPolicy: sidecar?.spec.outboundTrafficPolicy?.mode ?? meshPolicy,
    ingress: sidecar?.spec.ingress ?? [],
  };
}
