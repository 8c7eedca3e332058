// Delegate VirtualServices: a root VirtualService's http route with `delegate` is replaced by the
// delegate's routes, each match narrowed by the root's (Istio's mergeVirtualServicesIfNeeded).
// A delegate match that contradicts every root match drops that delegate route.
import type { Resource } from '../config/resource.js';
import type * as net from '../config/schema/networking.js';

type StringMatch = net.StringMatch | undefined;

function conflict(root: StringMatch, leaf: StringMatch): boolean {
  if (!root || !leaf) return false;
  if (root.regex) return !!(leaf.regex || leaf.prefix || leaf.exact);
  if (leaf.regex) return !!(root.regex || root.prefix || root.exact);
  if (root.exact) return !!leaf.prefix || leaf.exact !== root.exact;
  if (root.prefix) {
    if (leaf.prefix) return !leaf.prefix.startsWith(root.prefix);
    if (leaf.exact) return !leaf.exact.startsWith(root.prefix);
  }
  return true;
}

function matchesConflict(root: net.HTTPMatchRequest, leaf: net.HTTPMatchRequest): boolean {
  for (const f of ['uri', 'scheme', 'method', 'authority'] as const) if (conflict(root[f], leaf[f])) return true;
  for (const f of ['headers', 'withoutHeaders', 'queryParams'] as const) {
    for (const [k, v] of Object.entries(leaf[f] ?? {})) if (conflict(root[f]?.[k], v)) return true;
  }
  if (!!root.ignoreUriCase !== !!leaf.ignoreUriCase) return true;
  if (root.port && leaf.port && root.port !== leaf.port) return true;
  if (root.sourceNamespace && leaf.sourceNamespace !== root.sourceNamespace) return true;
  for (const [k, v] of Object.entries(leaf.sourceLabels ?? {})) if (root.sourceLabels?.[k] !== undefined && root.sourceLabels[k] !== v) return true;
  if (root.gateways?.length && leaf.gateways?.length) {
    if (root.gateways.length < leaf.gateways.length || leaf.gateways.some((g) => !root.gateways!.includes(g))) return true;
  }
  return false;
}

function joinNames(root: string | undefined, leaf: string | undefined): string | undefined {
  if (!leaf) return root;
  return root ? `${root}-${leaf}` : leaf;
}

function mergeMatch(root: net.HTTPMatchRequest, leaf: net.HTTPMatchRequest): net.HTTPMatchRequest {
  return {
    ...leaf,
    name: joinNames(root.name, leaf.name),
    uri: leaf.uri ?? root.uri,
    scheme: leaf.scheme ?? root.scheme,
    method: leaf.method ?? root.method,
    authority: leaf.authority ?? root.authority,
    headers: { ...root.headers, ...leaf.headers },
    withoutHeaders: { ...root.withoutHeaders, ...leaf.withoutHeaders },
    queryParams: { ...root.queryParams, ...leaf.queryParams },
    port: leaf.port || root.port,
    sourceLabels: { ...root.sourceLabels, ...leaf.sourceLabels },
    sourceNamespace: leaf.sourceNamespace || root.sourceNamespace,
    gateways: leaf.gateways?.length ? leaf.gateways : root.gateways,
    statPrefix: leaf.statPrefix || root.statPrefix,
  };
}

/** The delegate route narrowed by the root route, or undefined when their matches contradict. */
function mergeRoute(root: net.HTTPRoute, leaf: net.HTTPRoute): net.HTTPRoute | undefined {
  let match = leaf.match;
  if (root.match?.length && leaf.match?.length) {
    const merged: net.HTTPMatchRequest[] = [];
    for (const sub of leaf.match) {
      const compatible = root.match.filter((r) => !matchesConflict(r, sub));
      if (!compatible.length) return undefined;
      merged.push(...compatible.map((r) => mergeMatch(r, sub)));
    }
    match = merged;
  } else if (root.match?.length) {
    match = root.match;
  }
  return {
    ...leaf,
    match,
    name: joinNames(root.name, leaf.name),
    rewrite: leaf.rewrite ?? root.rewrite,
    directResponse: leaf.directResponse ?? root.directResponse,
    timeout: leaf.timeout ?? root.timeout,
    retries: leaf.retries ?? root.retries,
    fault: leaf.fault ?? root.fault,
    mirror: leaf.mirror ?? root.mirror,
    mirrorPercent: leaf.mirrorPercent ?? root.mirrorPercent,
    mirrorPercentage: leaf.mirrorPercentage ?? root.mirrorPercentage,
    corsPolicy: leaf.corsPolicy ?? root.corsPolicy,
    mirrors: leaf.mirrors ?? root.mirrors,
    headers: leaf.headers ?? root.headers,
  };
}

/**
 * Replaces delegating routes of root VirtualServices with their delegates' routes. Delegates are
 * looked up by name in the named (or the root's) namespace and must be exported to the root's
 * namespace; a missing delegate contributes no routes.
 */
export function mergeDelegates(all: readonly Resource<net.VirtualService>[]): Resource<net.VirtualService>[] {
  const byKey = new Map(all.map((r) => [`${r.meta.namespace}/${r.meta.name}`, r]));
  return all.map((vs) => {
    const http = vs.spec.http ?? [];
    if (!http.some((h) => h.delegate)) return vs;
    const merged: net.HTTPRoute[] = [];
    for (const route of http) {
      if (!route.delegate) {
        merged.push(route);
        continue;
      }
      const ns = route.delegate.namespace || vs.meta.namespace;
      const delegate = byKey.get(`${ns}/${route.delegate.name ?? ''}`);
      if (!delegate || delegate.spec.hosts?.length) continue;
      const exportTo = delegate.spec.exportTo ?? [];
      if (exportTo.length && !exportTo.some((e) => e === '*' || e === vs.meta.namespace || (e === '.' && ns === vs.meta.namespace))) continue;
      const { delegate: _d, ...root } = route;
      for (const leaf of delegate.spec.http ?? []) {
        const m = mergeRoute(root, leaf);
        if (m) merged.push(m);
      }
    }
    return { ...vs, spec: { ...vs.spec, http: merged } };
  });
}
