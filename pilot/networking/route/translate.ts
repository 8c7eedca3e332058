// VirtualService HTTP routes → Envoy routes, following Istio's translation rule by rule.
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import {
  DecoratorSchema,
  DirectResponseActionSchema,
  RedirectAction_RedirectResponseCode,
  RedirectActionSchema,
  RetryPolicy_RetryBackOffSchema,
  RetryPolicy_RetryHostPredicateSchema,
  RetryPolicy_RetryPrioritySchema,
  RetryPolicySchema,
  RouteAction_ClusterNotFoundResponseCode,
  RouteAction_MaxStreamDurationSchema,
  RouteAction_RequestMirrorPolicySchema,
  WeightedClusterSchema,
  RouteActionSchema,
  RouteSchema,
  WeightedCluster_ClusterWeightSchema,
  type RetryPolicy,
  type Route,
  type RouteAction,
  type RouteAction_HashPolicy,
} from '../../../gen/envoy/config/route/v3/route_components_pb.js';
import { HeaderValueOption_HeaderAppendAction, HeaderValueOptionSchema, type HeaderValueOption } from '../../../gen/envoy/config/core/v3/base_pb.js';
import { FractionalPercent_DenominatorType, FractionalPercentSchema, type FractionalPercent } from '../../../gen/envoy/type/v3/percent_pb.js';
import { FaultAbortSchema, HTTPFaultSchema, type HTTPFault } from '../../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js';
import { FaultDelaySchema } from '../../../gen/envoy/extensions/filters/common/fault/v3/fault_pb.js';
import { RegexMatchAndSubstituteSchema } from '../../../gen/envoy/type/matcher/v3/regex_pb.js';
import { PreviousHostsPredicateSchema } from '../../../gen/envoy/extensions/retry/host/previous_hosts/v3/previous_hosts_pb.js';
import { PreviousPrioritiesConfigSchema } from '../../../gen/envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config_pb.js';
import type * as net from '../../config/schema/networking.js';
import { resolveShortname } from '../../model/host.js';
import type { Proxy } from '../../model/proxy.js';
import type { Service } from '../../model/service.js';
import { duration } from '../envoy.js';
import { DEFAULT_ROUTE_NAME, parseSubsetKey, subsetKey } from '../names.js';
import { isCatchAllMatch, toStringMatcher, translateRouteMatch } from './match.js';
import { CorsPolicySchema, type CorsPolicy } from '../../../gen/envoy/extensions/filters/http/cors/v3/cors_pb.js';
import { StringMatcherSchema } from '../../../gen/envoy/type/matcher/v3/string_pb.js';

export const FAULT_FILTER = 'envoy.filters.http.fault';
export const CORS_FILTER = 'envoy.filters.http.cors';

/** VirtualService corsPolicy → the CORS filter's per-route policy, as Istio translates it. */
export function translateCors(cors: net.HTTPRoute['corsPolicy']): CorsPolicy | undefined {
  if (!cors) return undefined;
  const origins = cors.allowOrigins
    ? cors.allowOrigins.map((m) => toStringMatcher(m)).filter((m) => m !== undefined)
    : (cors.allowOrigin ?? []).map((o) => create(StringMatcherSchema, { matchPattern: { case: 'exact', value: o } }));
  return create(CorsPolicySchema, {
    allowOriginStringMatch: origins,
    allowMethods: (cors.allowMethods ?? []).join(','),
    allowHeaders: (cors.allowHeaders ?? []).join(','),
    exposeHeaders: (cors.exposeHeaders ?? []).join(','),
    maxAge: cors.maxAge ? String(Math.floor(cors.maxAge.seconds)) : '',
    allowCredentials: cors.allowCredentials,
    // Unmatched preflights are forwarded unless the policy says IGNORE (Envoy's pre-1.30 default).
    forwardNotMatchingPreflights: cors.unmatchedPreflights !== 'IGNORE',
    filterEnabled: { defaultValue: { numerator: 100, denominator: FractionalPercent_DenominatorType.HUNDRED } },
  });
}

export interface RouteContext {
  proxy: Proxy;
  domainSuffix: string;
  /** Finds the service a destination host names, as the proxy sees it. */
  lookupService: (hostname: string) => Service | undefined;
  /** Gateway names the routes are built for (`mesh` for sidecars). */
  gateways: Set<string>;
  /** Routes of a gateway server with TLS settings: a redirect that sets a port defaults to `https`. */
  isTls?: boolean;
  /** Resolves a destination's short host name in the VirtualService's namespace (default: `resolveShortname` with `domainSuffix`). */
  resolveHost?: (host: string, namespace: string) => string;
  /** The consistent-hash key the DestinationRule of a destination asks for, if any. */
  hashFor?: (dest: net.Destination, listenerPort: number) => RouteAction_HashPolicy | undefined;
  /** MeshConfig `defaultHttpRetryPolicy`: the retries of routes that set none. */
  meshRetries?: net.HTTPRoute['retries'];
}

/** Everything needed to translate one VirtualService's HTTP routes. */
export interface VirtualServiceRef {
  name: string;
  namespace: string;
  spec: net.VirtualService;
  /** The VirtualService's annotations: `internal.istio.io/route-semantics` changes translation. */
  annotations?: Record<string, string>;
}

/**
 * Istio's UseGatewaySemantics / UseIngressSemantics: VirtualServices generated from the Gateway
 * API or from Ingress (`internal.istio.io/route-semantics`).
 */
export function routeSemantics(vs: VirtualServiceRef): 'gateway' | 'ingress' | undefined {
  const v = vs.annotations?.['internal.istio.io/route-semantics'];
  return v === 'gateway' || v === 'ingress' ? v : undefined;
}

const DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';

function previousHostsPredicate() {
  return create(RetryPolicy_RetryHostPredicateSchema, {
    name: 'envoy.retry_host_predicates.previous_hosts',
    configType: { case: 'typedConfig', value: anyPack(PreviousHostsPredicateSchema, create(PreviousHostsPredicateSchema)) },
  });
}

/** Istio's default outbound retry policy, or the VirtualService's. */
export function retryPolicy(input: net.HTTPRoute['retries'], consistentHash: boolean): RetryPolicy | undefined {
  const policy = create(RetryPolicySchema, {
    numRetries: 2,
    retryOn: DEFAULT_RETRY_ON,
    hostSelectionRetryMaxAttempts: 5n,
    retryHostPredicate: consistentHash ? [] : [previousHostsPredicate()],
  });
  if (!input) return policy;
  if ((input.attempts ?? 0) <= 0) return undefined;
  policy.numRetries = input.attempts;
  if (input.retryOn) {
    const { retryOn, statusCodes } = parseRetryOn(input.retryOn);
    policy.retryOn = retryOn;
    policy.retriableStatusCodes = statusCodes;
    if (statusCodes.length && !retryOn.split(',').includes('retriable-status-codes')) policy.retryOn += ',retriable-status-codes';
  }
  if (input.perTryTimeout) policy.perTryTimeout = duration(input.perTryTimeout.seconds);
  if (input.retryIgnorePreviousHosts !== undefined) {
    policy.retryHostPredicate = input.retryIgnorePreviousHosts ? [previousHostsPredicate()] : [];
  }
  if (input.retryRemoteLocalities) {
    policy.retryPriority = create(RetryPolicy_RetryPrioritySchema, {
      name: 'envoy.retry_priorities.previous_priorities',
      configType: { case: 'typedConfig', value: anyPack(PreviousPrioritiesConfigSchema, create(PreviousPrioritiesConfigSchema, { updateFrequency: 2 })) },
    });
  }
  if (input.backoff) policy.retryBackOff = create(RetryPolicy_RetryBackOffSchema, { baseInterval: duration(input.backoff.seconds) });
  return policy;
}

/** `retryOn` mixes Envoy policies and HTTP status codes ("5xx,503,gateway-error"). */
function parseRetryOn(text: string): { retryOn: string; statusCodes: number[] } {
  const policies: string[] = [];
  const statusCodes: number[] = [];
  for (const raw of text.split(',')) {
    const token = raw.trim();
    if (!token) continue;
    if (/^\d+$/.test(token)) statusCodes.push(Number(token));
    else policies.push(token);
  }
  return { retryOn: policies.join(','), statusCodes };
}

function headerOptions(headers: Record<string, string> | undefined, append: boolean): { options: HeaderValueOption[]; authority?: string } {
  let authority: string | undefined;
  const options: HeaderValueOption[] = [];
  for (const key of Object.keys(headers ?? {}).sort()) {
    const value = headers![key]!;
    const lower = key.toLowerCase();
    if (lower === ':authority' || lower === 'host') authority = value;
    // Pseudo-headers and Host cannot be modified by Envoy.
    if (key.startsWith(':') || lower === 'host') continue;
    options.push(
      create(HeaderValueOptionSchema, {
        header: { key, value },
        appendAction: append ? HeaderValueOption_HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD : HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
      }),
    );
  }
  return { options, authority };
}

interface HeaderOps {
  requestAdd: HeaderValueOption[];
  responseAdd: HeaderValueOption[];
  requestRemove: string[];
  responseRemove: string[];
  authority?: string;
}

export function headerOperations(h: net.Headers): HeaderOps {
  const reqSet = headerOptions(h.request?.set, false);
  const reqAdd = headerOptions(h.request?.add, true);
  const dropInternal = (keys: string[] | undefined) => (keys ?? []).filter((k) => !k.startsWith(':') && k.toLowerCase() !== 'host');
  return {
    requestAdd: [...reqSet.options, ...reqAdd.options],
    responseAdd: [...headerOptions(h.response?.set, false).options, ...headerOptions(h.response?.add, true).options],
    requestRemove: dropInternal(h.request?.remove),
    responseRemove: dropInternal(h.response?.remove),
    authority: reqSet.authority ?? reqAdd.authority,
  };
}

/** The cluster a destination names: its port, else the service's only port, else the listener's. */
export function destinationCluster(dest: net.Destination | undefined, svc: Service | undefined, listenerPort: number): string {
  if (!dest?.host) return 'UnknownService';
  let port = listenerPort;
  if (dest.port?.number) port = dest.port.number;
  else if (svc && svc.ports.length === 1) port = svc.ports[0]!.port;
  // An ExternalName alias routes to the service it names (one hop, as Istio).
  return subsetKey('outbound', dest.subset ?? '', svc?.externalName || dest.host, port);
}

function fractionalPercent(percent: number): FractionalPercent {
  return create(FractionalPercentSchema, { numerator: Math.trunc(percent * 10000), denominator: FractionalPercent_DenominatorType.MILLION });
}

function integerPercent(percent: number): FractionalPercent {
  return create(FractionalPercentSchema, { numerator: percent, denominator: FractionalPercent_DenominatorType.HUNDRED });
}

/** Only the gRPC status names Istio accepts, by their numeric codes. */
const GRPC_STATUS: Record<string, number> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

export function translateFault(fault: net.HTTPRoute['fault']): HTTPFault | undefined {
  if (!fault) return undefined;
  const out = create(HTTPFaultSchema);
  if (fault.delay?.fixedDelay) {
    out.delay = create(FaultDelaySchema, {
      percentage: fault.delay.percentage ? fractionalPercent(fault.delay.percentage.value ?? 0) : integerPercent(fault.delay.percent ?? 0),
      faultDelaySecifier: { case: 'fixedDelay', value: duration(fault.delay.fixedDelay.seconds) },
    });
  }
  const abort = fault.abort;
  if (abort && (abort.httpStatus !== undefined || abort.grpcStatus !== undefined)) {
    out.abort = create(FaultAbortSchema, {
      percentage: abort.percentage ? fractionalPercent(abort.percentage.value ?? 0) : undefined,
      errorType:
        abort.httpStatus !== undefined
          ? { case: 'httpStatus', value: abort.httpStatus }
          : { case: 'grpcStatus', value: GRPC_STATUS[abort.grpcStatus!] ?? 2 },
    });
  }
  return out.delay || out.abort ? out : undefined;
}

function setTimeout(action: RouteAction, timeout: net.HTTPRoute['timeout'], proxy: Proxy | undefined): void {
  action.timeout = duration(timeout?.seconds ?? 0);
  if (proxy?.generator === 'grpc') {
    // gRPC's xDS client reads max_stream_duration, not the deprecated max_grpc_timeout.
    action.maxStreamDuration = create(RouteAction_MaxStreamDurationSchema, { maxStreamDuration: action.timeout });
  } else {
    action.maxGrpcTimeout = action.timeout;
  }
}

function sourceMatches(match: net.HTTPMatchRequest | undefined, ctx: RouteContext): boolean {
  if (!match) return true;
  if (match.gateways?.length) return match.gateways.some((g) => ctx.gateways.has(g));
  for (const [k, v] of Object.entries(match.sourceLabels ?? {})) if (ctx.proxy.labels[k] !== v) return false;
  return !match.sourceNamespace || match.sourceNamespace === ctx.proxy.namespace;
}

function routeOperation(route: Route, vsName: string, port: number): string {
  const m = route.match;
  let path = '/*';
  switch (m?.pathSpecifier.case) {
    case 'prefix':
      path = `${m.pathSpecifier.value}*`;
      break;
    case 'path':
      path = m.pathSpecifier.value;
      break;
    case 'safeRegex':
      path = m.pathSpecifier.value.regex;
      break;
  }
  const cluster = route.action.case === 'route' && route.action.value.clusterSpecifier.case === 'cluster' ? route.action.value.clusterSpecifier.value : '';
  const parsed = parseSubsetKey(cluster);
  return parsed ? `${parsed.host}:${parsed.port}${path}` : `${vsName}:${port}${path}`;
}

export function translateRoute(
  ctx: RouteContext,
  vs: VirtualServiceRef,
  http: net.HTTPRoute,
  match: net.HTTPMatchRequest | undefined,
  listenPort: number,
): Route | undefined {
  if (match?.port && match.port !== listenPort) return undefined;
  if (!sourceMatches(match, ctx)) return undefined;

  const out = create(RouteSchema, {
    name: match?.name ? `${http.name ?? ''}.${match.name}` : (http.name ?? ''),
    match: translateRouteMatch(match),
  });
  // Ingress and Gateway API prefixes match whole path segments (`/foo` matches `/foo/bar`, not `/foobar`).
  const pm = out.match?.pathSpecifier;
  if (routeSemantics(vs) && pm?.case === 'prefix' && pm.value !== '/') {
    out.match!.pathSpecifier = { case: 'pathSeparatedPrefix', value: pm.value.endsWith('/') ? pm.value.slice(0, -1) : pm.value };
  }
  if (match?.statPrefix) out.statPrefix = match.statPrefix;

  let authority: string | undefined;
  if (http.headers) {
    const ops = headerOperations(http.headers);
    out.requestHeadersToAdd = ops.requestAdd;
    out.responseHeadersToAdd = ops.responseAdd;
    out.requestHeadersToRemove = ops.requestRemove;
    out.responseHeadersToRemove = ops.responseRemove;
    authority = ops.authority;
  }

  if (http.redirect) {
    if (!applyRedirect(out, http.redirect, listenPort, ctx.isTls === true)) return out;
  } else if (http.directResponse) {
    const body = http.directResponse.body;
    out.action = {
      case: 'directResponse',
      value: create(DirectResponseActionSchema, {
        status: http.directResponse.status ?? 0,
        body:
          body?.string !== undefined
            ? { specifier: { case: 'inlineString', value: body.string } }
            : body?.bytes !== undefined
              ? { specifier: { case: 'inlineBytes', value: Buffer.from(body.bytes, 'base64') } }
              : undefined,
      }),
    };
  } else {
    applyDestinations(ctx, vs, http, out, authority, listenPort);
  }

  out.decorator = create(DecoratorSchema, { operation: routeOperation(out, vs.name, listenPort) });
  const fault = translateFault(http.fault);
  if (fault) out.typedPerFilterConfig[FAULT_FILTER] = anyPack(HTTPFaultSchema, fault);
  const cors = translateCors(http.corsPolicy);
  if (cors) out.typedPerFilterConfig[CORS_FILTER] = anyPack(CorsPolicySchema, cors);
  return out;
}

function applyRedirect(out: Route, redirect: net.HTTPRoute['redirect'] & object, port: number, isTls: boolean): boolean {
  const codes: Record<number, RedirectAction_RedirectResponseCode> = {
    0: RedirectAction_RedirectResponseCode.MOVED_PERMANENTLY,
    301: RedirectAction_RedirectResponseCode.MOVED_PERMANENTLY,
    302: RedirectAction_RedirectResponseCode.FOUND,
    303: RedirectAction_RedirectResponseCode.SEE_OTHER,
    307: RedirectAction_RedirectResponseCode.TEMPORARY_REDIRECT,
    308: RedirectAction_RedirectResponseCode.PERMANENT_REDIRECT,
  };
  const responseCode = codes[redirect.redirectCode ?? 0];
  if (responseCode === undefined) return false;
  let portRedirect = 0;
  if (redirect.derivePort === 'FROM_REQUEST_PORT') portRedirect = port;
  else if (redirect.port !== undefined) portRedirect = redirect.port;
  if (redirect.port !== undefined || redirect.derivePort !== undefined) {
    const scheme = redirect.scheme || (isTls ? 'https' : 'http');
    if ((portRedirect === 80 && scheme === 'http') || (portRedirect === 443 && scheme === 'https')) portRedirect = 0;
  }
  out.action = {
    case: 'redirect',
    value: create(RedirectActionSchema, {
      hostRedirect: redirect.authority ?? '',
      portRedirect,
      pathRewriteSpecifier: redirect.prefixRewrite ? { case: 'prefixRewrite', value: redirect.prefixRewrite } : { case: 'pathRedirect', value: redirect.uri ?? '' },
      schemeRewriteSpecifier: redirect.scheme ? { case: 'schemeRedirect', value: redirect.scheme } : { case: undefined },
      responseCode,
    }),
  };
  return true;
}

function applyDestinations(ctx: RouteContext, vs: VirtualServiceRef, http: net.HTTPRoute, out: Route, authority: string | undefined, listenPort: number): void {
  const action = create(RouteActionSchema);
  setTimeout(action, http.timeout, ctx.proxy);
  // Gateway API: invalid backends answer 500.
  if (routeSemantics(vs) === 'gateway') action.clusterNotFoundResponseCode = RouteAction_ClusterNotFoundResponseCode.INTERNAL_SERVER_ERROR;
  out.action = { case: 'route', value: action };

  const resolve = (d: net.Destination | undefined): net.Destination | undefined =>
    d?.host ? { ...d, host: ctx.resolveHost ? ctx.resolveHost(d.host, vs.namespace) : resolveShortname(d.host, vs.namespace, ctx.domainSuffix) } : d;
  const clusterFor = (d: net.Destination | undefined) => {
    const dest = resolve(d);
    return destinationCluster(dest, dest?.host ? ctx.lookupService(dest.host) : undefined, listenPort);
  };

  if (http.rewrite) {
    const regex = http.rewrite.uriRegexRewrite;
    if (regex) {
      action.regexRewrite = create(RegexMatchAndSubstituteSchema, {
        pattern: { regex: regex.match ?? '' },
        substitution: regex.rewrite ?? '',
      });
    } else if (http.rewrite.uri === '/' && routeSemantics(vs) === 'gateway') {
      // Gateway API's "remove the prefix": keep a `/` when the whole path goes.
      const prefix = out.match?.pathSpecifier.case === 'pathSeparatedPrefix' ? out.match.pathSpecifier.value : '';
      action.regexRewrite = create(RegexMatchAndSubstituteSchema, {
        pattern: { regex: `^${prefix.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&')}(/?)(.*)` },
        substitution: '/\\2',
      });
    } else if (http.rewrite.uri) {
      action.prefixRewrite = http.rewrite.uri;
    }
    if (http.rewrite.authority) authority = http.rewrite.authority;
  }
  if (authority) action.hostRewriteSpecifier = { case: 'hostRewriteLiteral', value: authority };

  const mirrors: { dest: net.Destination; percent?: FractionalPercent }[] = [];
  if (http.mirror) {
    const pct = http.mirrorPercentage
      ? (http.mirrorPercentage.value ?? 0) > 0 ? fractionalPercent(http.mirrorPercentage.value!) : undefined
      : http.mirrorPercent !== undefined
        ? http.mirrorPercent > 0 ? integerPercent(http.mirrorPercent) : undefined
        : integerPercent(100);
    if (pct) mirrors.push({ dest: http.mirror, percent: pct });
  }
  for (const m of http.mirrors ?? []) {
    const pct = m.percentage ? ((m.percentage.value ?? 0) > 0 ? fractionalPercent(m.percentage.value!) : undefined) : integerPercent(100);
    if (pct && m.destination) mirrors.push({ dest: m.destination, percent: pct });
  }
  for (const m of mirrors) {
    action.requestMirrorPolicies.push(
      create(RouteAction_RequestMirrorPolicySchema, {
        cluster: clusterFor(m.dest),
        runtimeFraction: { defaultValue: m.percent },
        traceSampled: false,
      }),
    );
  }

  const routes = http.route ?? [];
  const hashes = routes.map((r) => (ctx.hashFor && r.destination ? ctx.hashFor(resolve(r.destination)!, listenPort) : undefined)).filter((h) => h !== undefined);
  action.hashPolicy = hashes;
  if (routes.length === 1) {
    const dst = routes[0]!;
    action.clusterSpecifier = { case: 'cluster', value: clusterFor(dst.destination) };
    if (dst.headers) {
      const ops = headerOperations(dst.headers);
      out.requestHeadersToAdd.push(...ops.requestAdd);
      out.requestHeadersToRemove.push(...ops.requestRemove);
      out.responseHeadersToAdd.push(...ops.responseAdd);
      out.responseHeadersToRemove.push(...ops.responseRemove);
      if (ops.authority && action.hostRewriteSpecifier.case === undefined) {
        action.hostRewriteSpecifier = { case: 'hostRewriteLiteral', value: ops.authority };
      }
    }
  } else {
    const clusters = routes
      .filter((d) => (d.weight ?? 0) !== 0)
      .map((d) => {
        const cw = create(WeightedCluster_ClusterWeightSchema, { name: clusterFor(d.destination), weight: d.weight ?? 0 });
        if (d.headers) {
          const ops = headerOperations(d.headers);
          cw.requestHeadersToAdd = ops.requestAdd;
          cw.requestHeadersToRemove = ops.requestRemove;
          cw.responseHeadersToAdd = ops.responseAdd;
          cw.responseHeadersToRemove = ops.responseRemove;
          if (ops.authority) cw.hostRewriteSpecifier = { case: 'hostRewriteLiteral', value: ops.authority };
        }
        return cw;
      });
    action.clusterSpecifier = { case: 'weightedClusters', value: create(WeightedClusterSchema, { clusters }) };
  }
  action.retryPolicy = retryPolicy(http.retries ?? ctx.meshRetries, routes.length === 1 && hashes.length > 0);
}

/** All routes of one VirtualService for a listener port; stops after a catch-all, as Envoy never reaches past it. */
export function routesForVirtualService(ctx: RouteContext, vs: VirtualServiceRef, listenPort: number): Route[] {
  const out: Route[] = [];
  for (const http of vs.spec.http ?? []) {
    let catchAll = false;
    if (!http.match?.length) {
      const r = translateRoute(ctx, vs, http, undefined, listenPort);
      if (r) out.push(r);
      catchAll = true;
    } else {
      for (const m of http.match) {
        const r = translateRoute(ctx, vs, http, m, listenPort);
        if (!r) continue;
        out.push(r);
        if (isCatchAllMatch(r.match)) {
          catchAll = true;
          break;
        }
      }
    }
    if (catchAll) break;
  }
  return out;
}

/**
 * The route used when no VirtualService applies: everything to the service's cluster. As Istio's
 * BuildDefaultHTTPOutboundRoute, for every proxy type (proxyless gRPC too): the default retry policy
 * with its previous-hosts predicate even under a consistent hash, and `max_grpc_timeout` 0s.
 */
export function defaultOutboundRoute(cluster: string, operation: string, meshRetries: net.HTTPRoute['retries'], hash?: RouteAction_HashPolicy): Route {
  const action = create(RouteActionSchema, { clusterSpecifier: { case: 'cluster', value: cluster }, hashPolicy: hash ? [hash] : [] });
  action.retryPolicy = retryPolicy(meshRetries, false);
  setTimeout(action, undefined, undefined);
  return create(RouteSchema, {
    name: DEFAULT_ROUTE_NAME,
    match: translateRouteMatch(undefined),
    decorator: { operation },
    action: { case: 'route', value: action },
  });
}
