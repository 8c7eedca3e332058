// Keys for sharing generated config between proxies within one push (`PushContext.memo`): a key
// names everything about a proxy that a piece of output depends on, so proxies with equal keys
// get the very same packed resources (generated, serialized and hashed once).
import type { PushContext } from '../model/push-context.js';
import type { Proxy } from '../model/proxy.js';

const ids = new WeakMap<object, number>();
let nextId = 0;

/** A process-unique number for an object (config resources and services are immutable per push). */
export function objectId(o: object | undefined): number {
  if (!o) return 0;
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = ++nextId));
  return id;
}

/**
 * The first list built in this push with exactly these elements (the same objects in the same
 * order). Views whose keys differ (say, one per namespace) often assemble identical lists from
 * shared pieces; returning one array lets the xDS server encode, diff and hold it once for all.
 */
export function sharedList<T extends object>(push: PushContext, kind: string, list: T[]): T[] {
  if (list.length < 2) return list;
  return push.memo(`shared|${kind}|${list.map(objectId).join(',')}`, () => list);
}

function hasSourceLabels(matches: readonly { sourceLabels?: Record<string, string> }[] | undefined): boolean {
  return !!matches?.some((m) => m.sourceLabels && Object.keys(m.sourceLabels).length > 0);
}

/** Whether any VirtualService matches on the caller's labels (then outbound routes depend on them). */
function routesDependOnLabels(push: PushContext): boolean {
  return push.memo('view/sourceLabels', () =>
    push.virtualServices.some((vs) => {
      const spec = vs.resource.spec;
      return (
        spec.http?.some((h) => hasSourceLabels(h.match)) ||
        spec.tcp?.some((t) => hasSourceLabels(t.match)) ||
        spec.tls?.some((t) => hasSourceLabels(t.match))
      );
    }),
  );
}

/** The proxy's labels as a key (order-independent). */
export function labelsKey(proxy: Proxy): string {
  return JSON.stringify(Object.entries(proxy.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The proxy's labels when some DestinationRule has a workloadSelector (then which rule applies
 * to a service depends on them), else '': output built from DestinationRules is shared between
 * proxies whose keys include this.
 */
export function destinationRuleLabelsKey(push: PushContext, proxy: Proxy): string {
  return push.destinationRulesDependOnLabels ? labelsKey(proxy) : '';
}

/** Pod addresses of headless services: a proxy at one of them gets no listener for itself. */
function headlessAddresses(push: PushContext): ReadonlySet<string> {
  return push.memo('view/headless', () => {
    const out = new Set<string>();
    for (const svc of push.registry.services) {
      if (svc.resolution !== 'Passthrough') continue;
      for (const ep of push.endpoints(svc)) out.add(ep.address);
    }
    return out;
  });
}

/**
 * What outbound listeners and routes depend on: generator and node type, Sidecar scope
 * (namespace included), DNS domain (short host names), and the labels and address only where
 * config makes them matter (VirtualService `sourceLabels`, DestinationRule `workloadSelector`, headless services' own pods).
 */
export function outboundViewKey(push: PushContext, proxy: Proxy): string {
  // Routes read DestinationRules too (consistent-hash keys).
  const labels = routesDependOnLabels(push) ? labelsKey(proxy) : destinationRuleLabelsKey(push, proxy);
  const ip = proxy.ipAddresses[0] && headlessAddresses(push).has(proxy.ipAddresses[0]) ? proxy.ipAddresses[0] : '';
  return `${proxy.generator}|${proxy.type}|${push.sidecarScopeKey(proxy)}|${proxy.dnsDomain}|${labels}|${ip}`;
}
