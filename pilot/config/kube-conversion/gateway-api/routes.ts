// HTTPRoute, GRPCRoute, TCPRoute and TLSRoute → VirtualServices (Istio's route collections):
// one VirtualService per parent and hostname, HTTP/gRPC ones merged by key across routes,
// annotated `internal.istio.io/route-semantics: gateway` and `internal.istio.io/parents`.
import type { Resource } from '../../resource.js';
import type { BackendRef, GRPCRouteSpec, HTTPRouteSpec, TCPRouteSpec, TLSRouteSpec } from '../../schema/gateway-api.js';
import type * as net from '../../schema/networking.js';
import { hostIntersection, hostMatchesEither } from '../../../model/host.js';
import {
  ANNOTATION, compareCreation, derivedResource, KUBERNETES_GATEWAY_NAME, origin,
  type DerivedFrom, type DerivedResource,
} from '../common.js';
import { buildDestination, isInvalidBackend, type ConfigError } from './backends.js';
import type { ConversionContext } from './context.js';
import type { GatewayResult } from './gateways.js';
import { convertGRPCRule, convertHTTPRule, sortHTTPRoutes, type ConvertedRule } from './http.js';
import { acceptedParents, hostnameAllowedByIsolation, isMesh, parentRefNamespace, routeParents, type RouteParent } from './parents.js';

function routeMeta(kind: string, obj: Resource): Record<string, string> {
  return { [ANNOTATION.parents]: `${kind}/${obj.meta.name}.${obj.meta.namespace}`, [ANNOTATION.routeSemantics]: 'gateway' };
}

interface Conversion<T> {
  error?: ConfigError;
  routes: T[];
}

/** Istio's computeRoute/convertRules: a hard error drops every route; soft errors keep them. */
function convertAll<T>(items: Iterable<{ route?: T; error?: ConfigError }>): Conversion<T> {
  const res: Conversion<T> = { routes: [] };
  for (const it of items) {
    if (!it.route) return { routes: [], ...(it.error ? { error: it.error } : {}) };
    if (it.error) res.error = it.error;
    res.routes.push(it.route);
  }
  return res;
}

function meshAndGateway<T>(parents: RouteParent[], convert: (mesh: boolean) => Conversion<T>): { mesh: Conversion<T>; gw: Conversion<T> } {
  const empty = { routes: [] };
  const needMesh = parents.some(isMesh);
  const needGw = parents.some((p) => !isMesh(p));
  return { mesh: needMesh ? convert(true) : empty, gw: needGw ? convert(false) : empty };
}

/** The hosts a mesh parent (Service or ServiceEntry) stands for. */
function meshHosts(ctx: ConversionContext, p: RouteParent, routeNamespace: string): string[] {
  const ns = parentRefNamespace(p, routeNamespace);
  if (p.internalKind === 'ServiceEntry') return [...(ctx.serviceEntry(ns, p.ref.name ?? '')?.spec.hosts ?? [])];
  return [`${p.ref.name}.${ns}.svc.${ctx.domainSuffix}`];
}

function cloneRoute<T>(r: T): T {
  return structuredClone(r);
}

/** Copies of mesh routes that match only on the parent's port (a match-less route gains one). */
function boundToPort<R extends { match?: { port?: number }[] }>(routes: R[], port: number): R[] {
  return routes.map((r) => {
    const c = cloneRoute(r);
    for (const m of c.match ?? []) m.port = port;
    if (!c.match?.length) c.match = [{ port }] as R['match'];
    return c;
  });
}

/** A VirtualService before merging, with its merge key (Istio's RouteWithKey). */
export interface KeyedVirtualService {
  key: string;
  config: DerivedResource<net.VirtualService>;
}

function* httpRules<R extends { matches?: unknown[] }>(rules: R[] | undefined): Generator<{ rule: R; pos: number }> {
  for (const [pos, r] of (rules ?? []).entries()) {
    if (!r.matches?.length) {
      yield { rule: r, pos };
      continue;
    }
    for (const m of r.matches) yield { rule: { ...r, matches: [m] }, pos };
  }
}

function keyedHttpVirtualServices(
  ctx: ConversionContext,
  obj: Resource<{ hostnames?: string[] }>,
  kind: 'HTTPRoute' | 'GRPCRoute',
  parents: RouteParent[],
  converted: { mesh: Conversion<net.HTTPRoute>; gw: Conversion<net.HTTPRoute> },
): KeyedVirtualService[] {
  const out: KeyedVirtualService[] = [];
  let count = 0;
  for (const parent of acceptedParents(parents)) {
    let routeKey = parent.internalName;
    let vsHosts = obj.spec.hostnames?.length ? [...obj.spec.hostnames] : ['*'];
    let routes = converted.gw.routes;
    if (isMesh(parent)) {
      routes = converted.mesh.routes;
      routeKey = obj.meta.namespace;
      if (parent.ref.port !== undefined) {
        routes = boundToPort(routes, parent.ref.port);
        routeKey += `/${parent.ref.port}`;
      }
      vsHosts = meshHosts(ctx, parent, obj.meta.namespace);
    }
    if (routes.length === 0) continue;
    for (const h of vsHosts) {
      if (!hostnameAllowedByIsolation(parent, h)) continue;
      sortHTTPRoutes(routes);
      out.push({
        key: `${routeKey}/${h}`,
        config: routeVirtualService(obj, kind, '', count, { hosts: [h], gateways: [parent.internalName], http: routes }),
      });
      count++;
    }
  }
  return out;
}

/** The VirtualService a route becomes for one host of one parent; `infix` marks TCP and TLS routes (`~tcp`, `~tls`). */
function routeVirtualService(obj: Resource, kind: string, infix: string, index: number, spec: net.VirtualService): DerivedResource<net.VirtualService> {
  return derivedResource<net.VirtualService>(
    'VirtualService',
    {
      name: `${obj.meta.name}${infix}~${index}~${KUBERNETES_GATEWAY_NAME}`,
      namespace: obj.meta.namespace,
      annotations: routeMeta(kind, obj),
      creationTimestamp: obj.meta.creationTimestamp,
    },
    spec,
    [origin(obj)],
  );
}

type RuleConverter<R> = (ctx: ConversionContext, rule: R, obj: Resource, pos: number, enforceRefGrant: boolean) => ConvertedRule;

/** HTTPRoutes and GRPCRoutes become VirtualServices the same way; only their rules differ. */
function httpLikeVirtualServices<R extends { matches?: unknown[] }>(
  ctx: ConversionContext,
  gateways: GatewayResult,
  kind: 'HTTPRoute' | 'GRPCRoute',
  convertRule: RuleConverter<R>,
): KeyedVirtualService[] {
  const out: KeyedVirtualService[] = [];
  for (const obj of ctx.store.list<HTTPRouteSpec | GRPCRouteSpec>(kind)) {
    const parents = routeParents(ctx, gateways, obj, kind, obj.spec.hostnames ?? []);
    const converted = meshAndGateway(parents, (mesh) =>
      convertAll<net.HTTPRoute>(
        (function* (): Generator<ConvertedRule> {
          for (const { rule, pos } of httpRules(obj.spec.rules as R[] | undefined)) yield convertRule(ctx, rule, obj, pos, !mesh);
        })(),
      ),
    );
    out.push(...keyedHttpVirtualServices(ctx, obj, kind, parents, converted));
  }
  return out;
}

export function httpRouteVirtualServices(ctx: ConversionContext, gateways: GatewayResult): KeyedVirtualService[] {
  return httpLikeVirtualServices(ctx, gateways, 'HTTPRoute', convertHTTPRule);
}

export function grpcRouteVirtualServices(ctx: ConversionContext, gateways: GatewayResult): KeyedVirtualService[] {
  return httpLikeVirtualServices(ctx, gateways, 'GRPCRoute', convertGRPCRule);
}

/** Istio's mergeHTTPRoutes: one VirtualService per key, routes of the oldest route first, then sorted. */
export function mergeHttpVirtualServices(keyed: KeyedVirtualService[]): DerivedResource<net.VirtualService>[] {
  const byKey = new Map<string, DerivedResource<net.VirtualService>[]>();
  for (const k of keyed) {
    let list = byKey.get(k.key);
    if (!list) byKey.set(k.key, (list = []));
    list.push(k.config);
  }
  const out: DerivedResource<net.VirtualService>[] = [];
  for (const [key, configs] of byKey) {
    const name = key.replaceAll('/', '~');
    if (configs.length === 1) {
      const base = configs[0]!;
      out.push({ ...base, meta: { ...base.meta, name } });
      continue;
    }
    configs.sort(compareCreation);
    const base = configs[0]!;
    const http: net.HTTPRoute[] = [...(base.spec.http ?? [])];
    let parentsAnn = base.meta.annotations[ANNOTATION.parents] ?? '';
    const from: DerivedFrom[] = [...base.derivedFrom];
    for (const c of configs.slice(1)) {
      http.push(...(c.spec.http ?? []));
      parentsAnn = `${parentsAnn},${c.meta.annotations[ANNOTATION.parents] ?? ''}`;
      from.push(...c.derivedFrom);
    }
    sortHTTPRoutes(http);
    out.push({
      ...base,
      meta: { ...base.meta, name, annotations: { ...base.meta.annotations, [ANNOTATION.parents]: parentsAnn } },
      spec: { ...base.spec, http },
      derivedFrom: from,
    });
  }
  return out;
}

// ---- TCP and TLS ----

function tcpWeightSum(refs: BackendRef[] | undefined): number {
  return (refs ?? []).reduce((s, r) => s + (r.weight ?? 1), 0);
}

const ZERO_WEIGHT: net.TCPRoute['route'] = [{ destination: { host: 'internal.cluster.local', subset: 'zero-weight', port: { number: 65535 } } }];

function tcpDestinations(
  ctx: ConversionContext,
  refs: BackendRef[] | undefined,
  ns: string,
  enforceRefGrant: boolean,
  kind: string,
): { routes?: NonNullable<net.TCPRoute['route']>; invalid?: ConfigError; error?: ConfigError } {
  if (!refs) return {};
  const action = refs.filter((r) => (r.weight ?? 1) !== 0);
  const weights = action.length === 1 ? [0] : action.map((r) => r.weight ?? 1);
  let invalid: ConfigError | undefined;
  const out: NonNullable<net.TCPRoute['route']> = [];
  for (const [i, fwd] of action.entries()) {
    const d = buildDestination(ctx, fwd, ns, enforceRefGrant, kind);
    if (d.error) {
      if (isInvalidBackend(d.error)) invalid = d.error;
      else return { error: d.error };
    }
    out.push({ destination: d.destination ?? {}, ...(weights[i] ? { weight: weights[i] } : {}) });
  }
  return { routes: out, ...(invalid ? { invalid } : {}) };
}

export function tcpRouteVirtualServices(ctx: ConversionContext, gateways: GatewayResult): DerivedResource<net.VirtualService>[] {
  const out: DerivedResource<net.VirtualService>[] = [];
  for (const obj of ctx.store.list<TCPRouteSpec>('TCPRoute')) {
    const parents = routeParents(ctx, gateways, obj, 'TCPRoute', []);
    const converted = meshAndGateway(parents, (mesh) =>
      convertAll<net.TCPRoute>(
        (obj.spec.rules ?? []).map((r) => {
          if (tcpWeightSum(r.backendRefs) === 0) return { route: { route: structuredClone(ZERO_WEIGHT) } };
          const d = tcpDestinations(ctx, r.backendRefs, obj.meta.namespace, !mesh, 'TCPRoute');
          if (d.error) return { error: d.error };
          return { route: d.routes ? { route: d.routes } : {}, ...(d.invalid ? { error: d.invalid } : {}) };
        }),
      ),
    );
    let count = 0;
    for (const parent of acceptedParents(parents)) {
      let routes = converted.gw.routes;
      let vsHosts = ['*'];
      if (isMesh(parent)) {
        routes = converted.mesh.routes;
        if (parent.ref.port !== undefined) {
          routes = boundToPort(routes, parent.ref.port);
        }
        vsHosts = meshHosts(ctx, parent, obj.meta.namespace);
      }
      for (const h of vsHosts) {
        out.push(
          routeVirtualService(obj, 'TCPRoute', '~tcp', count, { hosts: [h], gateways: [parent.internalName], tcp: routes }),
        );
        count++;
      }
    }
  }
  return out;
}

function tlsMatch(hostnames: string[] | undefined): NonNullable<net.TLSRoute['match']> {
  return [{ sniHosts: hostnames?.length ? [...hostnames] : ['*'] }];
}

export function tlsRouteVirtualServices(ctx: ConversionContext, gateways: GatewayResult): DerivedResource<net.VirtualService>[] {
  const out: DerivedResource<net.VirtualService>[] = [];
  for (const obj of ctx.store.list<TLSRouteSpec>('TLSRoute')) {
    const parents = routeParents(ctx, gateways, obj, 'TLSRoute', obj.spec.hostnames ?? []);
    const converted = meshAndGateway(parents, (mesh) =>
      convertAll<net.TLSRoute>(
        (obj.spec.rules ?? []).map((r) => {
          if (tcpWeightSum(r.backendRefs) === 0) return { route: { route: structuredClone(ZERO_WEIGHT) } };
          const d = tcpDestinations(ctx, r.backendRefs, obj.meta.namespace, !mesh, 'TLSRoute');
          if (d.error) return { error: d.error };
          const route: net.TLSRoute = { match: tlsMatch(obj.spec.hostnames) };
          if (d.routes) route.route = d.routes;
          return { route, ...(d.invalid ? { error: d.invalid } : {}) };
        }),
      ),
    );
    let count = 0;
    for (const parent of acceptedParents(parents)) {
      let routes = converted.gw.routes;
      let vsHosts = obj.spec.hostnames?.length ? [...obj.spec.hostnames] : ['*'];
      if (isMesh(parent)) {
        routes = converted.mesh.routes;
        vsHosts = meshHosts(ctx, parent, obj.meta.namespace);
        const port = parent.ref.port;
        routes = routes.map((r) => {
          const c = cloneRoute(r);
          if (c.match?.length === 1 && c.match[0]!.sniHosts?.length === 1 && c.match[0]!.sniHosts[0] === '*') c.match[0]!.sniHosts = [...vsHosts];
          if (port !== undefined) for (const m of c.match ?? []) m.port = port;
          return c;
        });
      } else if (parent.hostname !== '') {
        vsHosts = hostIntersection(vsHosts, [parent.hostname]);
        routes = constrainToListenerHost(routes, parent.hostname);
      }
      for (const vsHost of vsHosts) {
        const filtered = isMesh(parent) ? compatibleRoutesForHost(routes, vsHost) : routes;
        out.push(
          routeVirtualService(obj, 'TLSRoute', '~tls', count, { hosts: [vsHost], gateways: [parent.internalName], tls: filtered }),
        );
        count++;
      }
    }
  }
  return out;
}

function compatibleRoutesForHost(routes: net.TLSRoute[], parentHost: string): net.TLSRoute[] {
  return routes.map((r) => {
    if (r.match?.length === 1 && (r.match[0]!.sniHosts?.length ?? 0) > 1) {
      const c = cloneRoute(r);
      c.match![0]!.sniHosts = (c.match![0]!.sniHosts ?? []).filter((h) => hostMatchesEither(parentHost, h));
      return c;
    }
    return r;
  });
}

function constrainToListenerHost(routes: net.TLSRoute[], listenerHost: string): net.TLSRoute[] {
  const out: net.TLSRoute[] = [];
  for (const r of routes) {
    const c = cloneRoute(r);
    for (const m of c.match ?? []) m.sniHosts = hostIntersection(m.sniHosts ?? [], [listenerHost]);
    if ((c.match ?? []).some((m) => (m.sniHosts?.length ?? 0) > 0) || !c.match?.length) out.push(c);
  }
  return out;
}
