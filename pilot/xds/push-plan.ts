// Which xDS types a config change can affect, per proxy (like Istio's per-generator
// "needs push" checks): a push regenerates only those, everything else the proxy already holds
// stays as it is. Unknown or mixed changes push everything.
import type { ConfigEvent } from '../config/store.js';
import type { PushContext } from '../model/push-context.js';
import type { Proxy } from '../model/proxy.js';
import type { IstioEndpoint, Service } from '../model/service.js';
import { TYPE } from '../networking/envoy.js';
import { serviceIdentities } from '../networking/upstream-tls.js';
import { CA_SUFFIX, credentialBaseName } from '../networking/sds/resource-names.js';

export interface PushPlan {
  /** `full`: every watched type; `routes`: LDS and RDS; `listeners`: LDS; `eds`: endpoints only (except the proxies listed); `secrets`: SDS; `none`: nothing. */
  scope: 'full' | 'routes' | 'listeners' | 'eds' | 'secrets' | 'none';
  /** Types to regenerate for a proxy (given the names it watches of a type); undefined: all it watches. */
  select?: (proxy: Proxy, watched?: (typeUrl: string) => ReadonlySet<string> | undefined) => ReadonlySet<string> | undefined;
}

const ROUTES = new Set<string>([TYPE.listener, TYPE.route]);
const LISTENERS = new Set<string>([TYPE.listener]);
/** Kinds that only shape the filters of listeners (and fetched JWKS, pushed as RequestAuthentication). */
const LISTENER_FILTER_KINDS = new Set(['AuthorizationPolicy', 'RequestAuthentication']);
const ENDPOINTS = new Set<string>([TYPE.endpoint]);
const SECRETS = new Set<string>([TYPE.secret]);
const NOTHING: ReadonlySet<string> = new Set<string>();

function vsKey(meta: { namespace: string; name: string }): string {
  return `${meta.namespace}/${meta.name}`;
}
const ENDPOINT_KINDS = new Set(['EndpointSlice', 'Pod']);
/**
 * Kinds read only through the service registry and the Gateway API and Ingress conversions. In a
 * cluster they change all the time for reasons of their own (application ConfigMaps, Secrets,
 * node labels): a change that moves neither pushes nothing.
 */
const SUPPORT_KINDS = new Set(['ConfigMap', 'Secret', 'Namespace', 'Node']);
/** The push kind for answers of Kubernetes RBAC about reading Secrets. */
export const SECRET_ACCESS = 'SecretAccess';

const FULL: PushPlan = { scope: 'full' };

/**
 * Addresses whose endpoints of one service differ before and after: the workloads there serve
 * the service differently (or no longer, or newly) and need their inbound config rebuilt. Other
 * pods of the service keep theirs.
 */
function movedAddresses(before: readonly IstioEndpoint[], after: readonly IstioEndpoint[]): string[] {
  const byAddress = (eps: readonly IstioEndpoint[]) => {
    const m = new Map<string, string[]>();
    for (const ep of eps) {
      const list = m.get(ep.address) ?? [];
      list.push(JSON.stringify(ep));
      m.set(ep.address, list);
    }
    return m;
  };
  const a = byAddress(before);
  const b = byAddress(after);
  const out: string[] = [];
  for (const address of new Set([...a.keys(), ...b.keys()])) {
    if ((a.get(address) ?? []).sort().join('\n') !== (b.get(address) ?? []).sort().join('\n')) out.push(address);
  }
  return out;
}

/**
 * Endpoint-only changes of ordinary Kubernetes services (a VIP, client-side load balancing):
 * the addresses that came or went, or undefined when the change reaches further than EDS
 * (services added or redefined, headless or DNS services, changed workload identities, which
 * clusters carry as SANs).
 */
/**
 * The SDS names a change of these Secrets and ConfigMaps can alter (as istiod relates them): each
 * object under every prefix, with and without `-cacert`; `kubernetes://NAME` only for proxies
 * of the object's namespace (`short`, by namespace).
 */
function credentialNames(changed: ReadonlySet<string>): { full: Set<string>; short: Map<string, Set<string>> } {
  const full = new Set<string>();
  const short = new Map<string, Set<string>>();
  for (const key of changed) {
    const [kind, namespace, name] = key.split('/') as [string, string, string];
    const base = credentialBaseName(name);
    for (const n of [base, `${base}${CA_SUFFIX}`]) {
      if (kind === 'ConfigMap') {
        full.add(`configmap://${namespace}/${n}`);
      } else if (kind === 'Secret') {
        full.add(`kubernetes://${namespace}/${n}`);
        full.add(`kubernetes-gateway://${namespace}/${n}`);
        if (!short.has(namespace)) short.set(namespace, new Set());
        short.get(namespace)!.add(`kubernetes://${n}`);
      }
    }
  }
  return { full, short };
}

/** Everything of a service that output reads (not where it came from, nor when it was made). */
const serviceKey = (s: Service) =>
  JSON.stringify([s.hostname, s.namespace, s.registry, s.resolution, s.addresses, s.ports, s.meshExternal, [...s.exportTo].sort(), s.labels, s.selector, s.externalName, s.aliases, s.autoAllocatedAddresses, s.trafficDistribution]);

/** Whether two pushes have the same services, endpoints and converted Kubernetes config. */
/** The converted config's content, computed once per push however many plans compare it. */
const derivedKeys = new WeakMap<PushContext, string>();
function derivedKey(push: PushContext): string {
  let key = derivedKeys.get(push);
  if (key === undefined) derivedKeys.set(push, (key = JSON.stringify(push.derived)));
  return key;
}

function sameInputs(prev: PushContext, next: PushContext): boolean {
  if (prev.derived !== next.derived && derivedKey(prev) !== derivedKey(next)) return false;
  const a = prev.registry.services;
  const b = next.registry.services;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    // The same service object may still have other endpoints.
    if (a[i] !== b[i] && serviceKey(a[i]!) !== serviceKey(b[i]!)) return false;
    const before = prev.endpoints(a[i]!);
    const after = next.endpoints(b[i]!);
    if (before !== after && JSON.stringify(before) !== JSON.stringify(after)) return false;
  }
  return true;
}

function endpointChange(prev: PushContext, next: PushContext): { addresses: Set<string>; hosts: Set<string> } | undefined {
  const a = prev.registry.services;
  const b = next.registry.services;
  if (a.length !== b.length) return undefined;
  const addresses = new Set<string>();
  const hosts = new Set<string>();
  const epKey = (eps: readonly IstioEndpoint[]) => JSON.stringify(eps);
  for (let i = 0; i < a.length; i++) {
    const before = a[i]!;
    const after = b[i]!;
    const epsBefore = prev.endpoints(before);
    const epsAfter = next.endpoints(after);
    // The registry hands back the previous push's list when the endpoints are equal.
    if (epsBefore === epsAfter || epKey(epsBefore) === epKey(epsAfter)) continue;
    if (serviceKey(before) !== serviceKey(after)) return undefined;
    if (after.registry !== 'Kubernetes' || after.resolution !== 'ClientSideLB' || after.addresses.length === 0) return undefined;
    if (serviceIdentities(prev, before).join() !== serviceIdentities(next, after).join()) return undefined;
    for (const address of movedAddresses(epsBefore, epsAfter)) addresses.add(address);
    hosts.add(after.hostname);
  }
  return { addresses, hosts };
}

function scopeServicesKey(push: PushContext, proxy: Proxy): string {
  return JSON.stringify(push.sidecarScope(proxy).services.map((s) => [s.namespace, s.hostname, s.ports.map((p) => p.port)]));
}

export function planPush(prev: PushContext, next: PushContext, event: ConfigEvent): PushPlan {
  const kinds = [...event.kinds];
  if (kinds.length === 0) return FULL;
  if (kinds.every((k) => k === 'VirtualService')) {
    // VirtualServices shape sidecar and proxyless listeners and routes, never their clusters
    // or endpoints; gateways take everything (their clusters follow routes).
    // A Sidecar-scoped proxy also sees the services its VirtualServices route to: when those
    // change, so do its clusters.
    const scopeMoved = new Map<string, boolean>();
    const scopeChanged = (proxy: Proxy): boolean => {
      if (next.sidecars.length === 0 && prev.sidecars.length === 0) return false;
      const key = next.sidecarScopeKey(proxy);
      let moved = scopeMoved.get(key);
      if (moved === undefined) scopeMoved.set(key, (moved = scopeServicesKey(prev, proxy) !== scopeServicesKey(next, proxy)));
      return moved;
    };
    // Like Istio's per-proxy config dependencies: a proxy whose scope held none of the changed
    // VirtualServices, before or after, gets nothing. Delegates are merged into their roots and
    // are not in any scope by name: a delegate change goes to every proxy.
    const changed = new Set([...event.changed].filter((k) => k.startsWith('VirtualService/')).map((k) => k.slice('VirtualService/'.length)));
    const roots = (push: PushContext) => new Set(push.virtualServices.map((vs) => vsKey(vs.resource.meta)));
    const prevRoots = roots(prev);
    const nextRoots = roots(next);
    const allRoots = changed.size > 0 && [...changed].every((k) => prevRoots.has(k) || nextRoots.has(k));
    const dependsMemo = new Map<string, boolean>();
    const depends = (proxy: Proxy): boolean => {
      if (!allRoots) return true;
      const key = next.sidecarScopeKey(proxy);
      let d = dependsMemo.get(key);
      if (d === undefined) {
        const inScope = (push: PushContext) => [...push.sidecarScope(proxy).virtualServices].some((vs) => changed.has(vsKey(vs.resource.meta)));
        dependsMemo.set(key, (d = inScope(prev) || inScope(next)));
      }
      return d;
    };
    return {
      scope: 'routes',
      select: (proxy) => (proxy.type === 'router' || scopeChanged(proxy) ? undefined : depends(proxy) ? ROUTES : NOTHING),
    };
  }
  if (kinds.every((k) => SUPPORT_KINDS.has(k)) && sameInputs(prev, next)) {
    // Secrets and ConfigMaps are also served as SDS credentials: proxies get the names they
    // watch again (the server sends only those that changed).
    if (!kinds.includes('Secret') && !kinds.includes('ConfigMap')) return { scope: 'none', select: () => NOTHING };
    const related = credentialNames(event.changed);
    return {
      scope: 'secrets',
      select: (proxy, watched) => {
        const names = watched?.(TYPE.secret);
        if (!names) return NOTHING;
        const own = related.short.get(proxy.verifiedIdentity?.namespace ?? '');
        for (const n of names) if (related.full.has(n) || own?.has(n)) return SECRETS;
        return NOTHING;
      },
    };
  }
  // A service account's right to read Secrets changed (RBAC, learnt by SubjectAccessReview).
  if (kinds.every((k) => k === SECRET_ACCESS)) return { scope: 'secrets', select: () => SECRETS };
  if (kinds.every((k) => LISTENER_FILTER_KINDS.has(k))) {
    // Authorization and JWT filters live in listeners only, for every kind of proxy.
    return { scope: 'listeners', select: () => LISTENERS };
  }
  if (kinds.every((k) => ENDPOINT_KINDS.has(k))) {
    const change = endpointChange(prev, next);
    if (!change) return FULL;
    // Pod writes that move no endpoint (annotations, phases nothing reads) push nothing; the
    // full comparison runs only then, not on every endpoint push.
    if (change.hosts.size === 0 && sameInputs(prev, next)) return { scope: 'none', select: () => NOTHING };
    const { addresses, hosts } = change;
    // A proxy that sees none of the services gets nothing (Sidecar scoping makes that common).
    const seesMemo = new Map<string, boolean>();
    const sees = (proxy: Proxy): boolean => {
      const key = next.sidecarScopeKey(proxy);
      let d = seesMemo.get(key);
      if (d === undefined) seesMemo.set(key, (d = next.sidecarScope(proxy).services.some((s) => hosts.has(s.hostname))));
      return d;
    };
    // Proxies at those addresses serve the services: their inbound listeners and clusters change too.
    return {
      scope: 'eds',
      select: (proxy) => (proxy.type === 'router' || proxy.ipAddresses.some((ip) => addresses.has(ip)) ? undefined : sees(proxy) ? ENDPOINTS : NOTHING),
    };
  }
  return FULL;
}
