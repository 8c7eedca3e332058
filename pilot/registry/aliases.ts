// Kubernetes ExternalName services as aliases (Istio's resolveServiceAliases): an ExternalName
// service naming another service's host takes that service's traffic. The alias gets no
// listeners, clusters or routes of its own; the concrete service learns its aliases, and answers
// to their names (virtual host domains, TLS server names). Chains of aliases are followed to the
// concrete service; a loop resolves to nothing (Kubernetes answers NXDOMAIN).
import type { Service, ServiceAlias } from '../model/service.js';

/** Sets `aliases` on every service some ExternalName service points at (services are fresh objects of one registry build). */
export function resolveServiceAliases(services: readonly Service[]): void {
  const pointsAt = new Map<Service, string>();
  const aliasByHost = new Map<string, string>();
  for (const svc of services) {
    if (svc.resolution !== 'Alias' || !svc.externalName) continue;
    pointsAt.set(svc, svc.externalName);
    // ExternalName is not namespaced: a host named by aliases of several namespaces is ambiguous (Istio: undefined).
    aliasByHost.set(svc.hostname, svc.externalName);
  }
  if (pointsAt.size === 0) return;

  const aliasesOf = new Map<string, ServiceAlias[]>();
  for (const [alias, first] of pointsAt) {
    let target: string | undefined = first;
    const seen = new Set([alias.hostname, first]);
    while (target !== undefined && aliasByHost.has(target)) {
      const next: string = aliasByHost.get(target)!;
      if (seen.has(next)) {
        target = undefined;
        break;
      }
      seen.add(next);
      target = next;
    }
    if (target === undefined) continue;
    let list = aliasesOf.get(target);
    if (!list) aliasesOf.set(target, (list = []));
    list.push({ hostname: alias.hostname, namespace: alias.namespace });
  }
  for (const list of aliasesOf.values()) {
    list.sort((a, b) => (a.namespace !== b.namespace ? (a.namespace < b.namespace ? -1 : 1) : a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  }
  for (const svc of services) {
    const list = aliasesOf.get(svc.hostname);
    if (list) svc.aliases = list;
  }
}
