// Which parents a route attaches to (Istio's extractParentReferenceInfo / referenceAllowed):
// Gateway and ListenerSet listeners, or the mesh for Service and ServiceEntry parents (GAMMA).
import type { Resource } from '../../resource.js';
import type { ParentReference } from '../../schema/gateway-api.js';
import { hostMatchesEither, hostSubsetOf } from '../../../model/host.js';
import { compareStrings, isWildcard } from '../common.js';
import { normalizeReference, type ConversionContext } from './context.js';
import { MESH_CONTROLLER, parentKeyString, type GatewayResult, type ParentInfo, type ParentKey } from './gateways.js';

export const MESH = 'mesh';

const MESH_PARENT: ParentInfo = {
  internalName: MESH,
  allowedKinds: ['HTTPRoute', 'GRPCRoute', 'TCPRoute', 'TLSRoute'],
  hostnames: [],
  originalHostname: '',
  sectionName: '',
  port: 0,
  protocol: '',
};

export interface RouteParent {
  internalName: string;
  /** Store kind of the referenced parent (KubernetesGateway, ListenerSet, Service, ServiceEntry). */
  internalKind: string;
  denied?: { reason: string; message: string };
  ref: ParentReference;
  /** The listener's hostname, if any. */
  hostname: string;
  bannedHostnames: Set<string>;
  parentKey: ParentKey;
  parentSection: string;
}

export function isMesh(p: RouteParent): boolean {
  return p.internalName === MESH;
}

const ALLOWED_PARENTS = new Set(['KubernetesGateway', 'Service', 'ServiceEntry', 'ListenerSet']);

/** A waypoint for the Service/ServiceEntry that another controller (not Istio's) manages. */
function waypointManagedByAnotherController(ctx: ConversionContext, key: ParentKey): boolean {
  let labels: Record<string, string> | undefined;
  if (key.kind === 'Service') labels = ctx.kubeService(key.namespace, key.name)?.meta.labels;
  else if (key.kind === 'ServiceEntry') labels = ctx.serviceEntry(key.namespace, key.name)?.meta.labels;
  if (!labels) return false;
  let waypoint = labels['istio.io/use-waypoint'];
  if (waypoint === undefined) {
    const nsLabels = ctx.namespace(key.namespace);
    if (!nsLabels) return false;
    labels = nsLabels;
    waypoint = labels['istio.io/use-waypoint'];
  }
  if (!waypoint || waypoint.toLowerCase() === 'none') return false;
  const waypointNs = labels['istio.io/use-waypoint-namespace'] || key.namespace;
  const gw = ctx.store.get<{ gatewayClassName?: string }>('KubernetesGateway', waypointNs, waypoint);
  if (!gw) return false;
  const cls = ctx.store.get<{ controllerName?: string }>('GatewayClass', '', gw.spec.gatewayClassName ?? '');
  if (!cls) return false;
  return cls.spec.controllerName !== MESH_CONTROLLER && cls.spec.controllerName !== ctx.features.managedGatewayController;
}

function referenceAllowed(
  ctx: ConversionContext,
  parent: ParentInfo,
  routeKind: string,
  key: ParentKey,
  ref: ParentReference,
  hostnames: string[],
  localNamespace: string,
): RouteParent['denied'] {
  if (key.kind === 'Service') {
    if (!ctx.kubeService(key.namespace, key.name)) return { reason: 'NotAccepted', message: `parent service: "${key.name}" not found` };
  } else if (key.kind === 'ServiceEntry') {
    if (!ctx.serviceEntry(key.namespace, key.name)) return { reason: 'NotAccepted', message: `parent service entry: "${key.name}" not found` };
  } else {
    if (ref.port && ref.port !== parent.port) return { reason: 'NotAccepted', message: `port ${ref.port} not found` };
    if (ref.sectionName && ref.sectionName !== parent.sectionName) return { reason: 'NotAccepted', message: `sectionName "${ref.sectionName}" not found` };
    const routeHosts = hostnames.length ? hostnames : ['*'];
    if (parent.hostnames.length) {
      let matched = false;
      let hostMatched = false;
      outer: for (const rh of routeHosts) {
        for (const ph of parent.hostnames) {
          const slash = ph.indexOf('/');
          const [pns, phost] = slash >= 0 ? [ph.slice(0, slash), ph.slice(slash + 1)] : ['*', ph];
          const hostnameMatch = hostMatchesEither(phost, rh);
          const namespaceMatch = pns === '*' || pns === localNamespace;
          hostMatched ||= hostnameMatch;
          if (hostnameMatch && namespaceMatch) {
            matched = true;
            break outer;
          }
        }
      }
      if (!matched) {
        if (hostMatched) {
          return {
            reason: 'NotAllowedByListeners',
            message: `hostnames matched parent hostname "${parent.originalHostname}", but namespace "${localNamespace}" is not allowed by the parent`,
          };
        }
        return { reason: 'NoMatchingListenerHostname', message: `no hostnames matched parent hostname "${parent.originalHostname}"` };
      }
    }
  }
  if (!parent.allowedKinds.includes(routeKind)) return { reason: 'NotAllowedByListeners', message: `kind ${routeKind} is not allowed` };
  return undefined;
}

function parentRefString(ref: ParentReference, ns: string): string {
  return `${ref.group ?? 'gateway.networking.k8s.io'}/${ref.kind ?? 'Gateway'}/${ref.name ?? ''}/${ref.sectionName ?? ''}/${ref.port ?? 0}.${ref.namespace ?? ns}`;
}

/** Istio's `extractParentReferenceInfo`: every (parent ref × listener) pair, with why it is denied if it is. */
export function routeParents(
  ctx: ConversionContext,
  gateways: GatewayResult,
  route: Resource<{ parentRefs?: ParentReference[] }>,
  routeKind: string,
  hostnames: string[],
): RouteParent[] {
  const ns = route.meta.namespace;
  const out: { key: string; p: RouteParent }[] = [];
  for (const ref of route.spec.parentRefs ?? []) {
    const kind = normalizeReference(ref.group, ref.kind, { group: 'gateway.networking.k8s.io', kind: 'Gateway' });
    if (!ALLOWED_PARENTS.has(kind)) continue;
    const key: ParentKey = { kind, name: ref.name ?? '', namespace: ref.namespace ?? ns };
    let current: ParentInfo[];
    if (kind === 'Service' || kind === 'ServiceEntry') {
      if (waypointManagedByAnotherController(ctx, key)) continue;
      current = [MESH_PARENT];
    } else current = gateways.parents.get(parentKeyString(key)) ?? [];
    for (const pr of current) {
      const banned = new Set<string>();
      for (const other of current) {
        if (other === pr || other.port !== pr.port || other.protocol !== pr.protocol) continue;
        banned.add(other.originalHostname);
      }
      banned.delete(pr.originalHostname);
      const denied = referenceAllowed(ctx, pr, routeKind, key, ref, hostnames, ns);
      out.push({
        key: parentRefString(ref, ns),
        p: {
          internalName: pr.internalName,
          internalKind: kind,
          ...(denied ? { denied } : {}),
          ref,
          hostname: pr.originalHostname,
          bannedHostnames: banned,
          parentKey: key,
          parentSection: pr.sectionName,
        },
      });
    }
  }
  out.sort((a, b) => compareStrings(a.key, b.key));
  return out.map((o) => o.p);
}

/** Istio's `filteredReferences`: accepted parents, ordered by internal name. */
export function acceptedParents(parents: RouteParent[]): RouteParent[] {
  return parents.filter((p) => !p.denied).sort((a, b) => compareStrings(a.internalName, b.internalName));
}

/** Istio's `hostnameAllowedByIsolation`: a more specific listener on the same port takes the host. */
export function hostnameAllowedByIsolation(p: RouteParent, routeHost: string): boolean {
  const ours = p.hostname;
  if (ours.length > 0 && !isWildcard(ours)) return true;
  if (ours.length > 0 && !hostMatchesEither(routeHost, ours)) return false;
  for (const check of p.bannedHostnames) {
    if (ours.length > check.length) continue;
    if (hostSubsetOf(routeHost, check)) return false;
  }
  return true;
}

/** The namespace a mesh parent reference points into. */
export function parentRefNamespace(p: RouteParent, routeNamespace: string): string {
  return p.ref.namespace ?? routeNamespace;
}
