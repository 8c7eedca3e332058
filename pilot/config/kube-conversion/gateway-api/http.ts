// HTTPRoute and GRPCRoute rules → Istio HTTP routes (Istio's convertHTTPRoute / convertGRPCRoute).
import type {
  GRPCRouteMatch, GRPCRouteRule, HTTPBackendRef, HTTPHeaderFilter, HTTPRequestMirrorFilter, HTTPRouteFilter, HTTPRouteMatch, HTTPRouteRule,
} from '../../schema/gateway-api.js';
import type * as net from '../../schema/networking.js';
import type { Resource } from '../../resource.js';
import { durationOf, goDurationSeconds } from '../common.js';
import { buildDestination, isInvalidBackend, REASON, type ConfigError, type InferencePoolConfig } from './backends.js';
import type { ConversionContext } from './context.js';

export interface ConvertedRule {
  /** Undefined on a hard error (the whole route is rejected). */
  route?: net.HTTPRoute;
  error?: ConfigError;
  inferencePool?: InferencePoolConfig;
}

function joinErrors(a: ConfigError | undefined, b: ConfigError | undefined): ConfigError | undefined {
  if (!b) return a;
  if (!a) return b;
  return { reason: a.reason, message: `${a.message}; ${b.message}` };
}

function isValidHeaderValue(v: string): boolean {
  for (const c of Buffer.from(v, 'utf8')) {
    if (c === 0x09 || (c >= 0x20 && c !== 0x7f)) continue;
    return false;
  }
  return true;
}

function headerListToMap(list: { name?: string; value?: string }[] | undefined): Record<string, string> | undefined {
  if (!list?.length) return undefined;
  const out: Record<string, string> = {};
  for (const h of list) {
    const k = (h.name ?? '').toLowerCase();
    if (k in out) continue; // "Subsequent entries with an equivalent header name MUST be ignored"
    out[k] = h.value ?? '';
  }
  return out;
}

/** A Request- or ResponseHeaderModifier filter set on the route's headers; an invalid one is an error. */
function applyHeaderModifier(vs: net.HTTPRoute, f: HTTPRouteFilter): ConfigError | undefined {
  const request = f.type === 'RequestHeaderModifier';
  const h = headerOperations(request ? f.requestHeaderModifier : f.responseHeaderModifier);
  if (h.error) return h.error;
  if (h.ops) (vs.headers ??= {})[request ? 'request' : 'response'] = h.ops;
  return undefined;
}

function headerOperations(f: HTTPHeaderFilter | undefined): { ops?: NonNullable<net.Headers['request']>; error?: ConfigError } {
  if (!f) return {};
  for (const h of [...(f.set ?? []), ...(f.add ?? [])]) {
    if (!isValidHeaderValue(h.value ?? '')) return { error: { reason: REASON.filter, message: `header "${h.name}" value contains invalid characters` } };
  }
  const ops: NonNullable<net.Headers['request']> = {};
  const add = headerListToMap(f.add);
  const set = headerListToMap(f.set);
  if (add) ops.add = add;
  if (f.remove?.length) ops.remove = [...f.remove];
  if (set) ops.set = set;
  return { ops };
}

function uriMatch(m: HTTPRouteMatch): net.StringMatch | ConfigError {
  const tp = m.path?.type ?? 'PathPrefix';
  let dest = m.path?.value ?? '/';
  switch (tp) {
    case 'PathPrefix':
      if (dest !== '/' && dest.endsWith('/')) dest = dest.slice(0, -1);
      return { prefix: dest };
    case 'Exact':
      return { exact: dest };
    case 'RegularExpression':
      return { regex: dest };
    default:
      return { reason: REASON.configuration, message: `unknown type: "${tp}" is not supported Path match type` };
  }
}

function stringMatches(
  list: { type?: string; name?: string; value?: string }[] | undefined,
  what: string,
): Record<string, net.StringMatch> | undefined | ConfigError {
  if (!list?.length) return undefined;
  const out: Record<string, net.StringMatch> = {};
  for (const h of list) {
    const tp = h.type ?? 'Exact';
    if (tp === 'Exact') out[h.name ?? ''] = { exact: h.value ?? '' };
    else if (tp === 'RegularExpression') out[h.name ?? ''] = { regex: h.value ?? '' };
    else return { reason: REASON.configuration, message: `unknown type: "${tp}" is not supported ${what} type` };
  }
  return out;
}

function isError(v: unknown): v is ConfigError {
  return typeof v === 'object' && v !== null && 'reason' in v && 'message' in v;
}

function mirrorFilter(ctx: ConversionContext, f: HTTPRequestMirrorFilter, ns: string, enforceRefGrant: boolean, routeKind: string): { mirror?: net.HTTPRoute['mirrors'] extends (infer M)[] | undefined ? M : never; error?: ConfigError } {
  const d = buildDestination(ctx, f.backendRef ?? {}, ns, enforceRefGrant, routeKind);
  if (d.error) return { error: d.error };
  const mirror: { destination: net.Destination; percentage?: { value: number } } = { destination: d.destination ?? {} };
  if (f.fraction) mirror.percentage = { value: (100 * (f.fraction.numerator ?? 0)) / (f.fraction.denominator ?? 100) };
  else if (f.percent !== undefined) mirror.percentage = { value: f.percent };
  return { mirror };
}

function rewriteFilter(f: HTTPRouteFilter['urlRewrite']): net.HTTPRoute['rewrite'] {
  if (!f) return undefined;
  const out: NonNullable<net.HTTPRoute['rewrite']> = {};
  if (f.path) {
    if (f.path.type === 'ReplacePrefixMatch') {
      let uri = f.path.replacePrefixMatch ?? '';
      if (uri.endsWith('/')) uri = uri.slice(0, -1);
      out.uri = uri === '' ? '/' : uri;
    } else if (f.path.type === 'ReplaceFullPath') {
      out.uriRegexRewrite = { match: '/.*', rewrite: f.path.replaceFullPath ?? '' };
    }
  }
  if (f.hostname) out.authority = f.hostname;
  if (!out.uri && !out.uriRegexRewrite && !out.authority) return undefined;
  return out;
}

function escapeRegex(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

function corsFilter(f: HTTPRouteFilter['cors']): net.HTTPRoute['corsPolicy'] {
  if (!f) return undefined;
  const out: NonNullable<net.HTTPRoute['corsPolicy']> = {};
  const origins: net.StringMatch[] = [];
  for (const o of f.allowOrigins ?? []) {
    if (!o) continue;
    if (o === '*') origins.push({ regex: '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/\\s?#]+$' });
    else if (!o.includes('*')) origins.push({ exact: o });
    else if (o.split('*').length === 2 && o.endsWith('*')) origins.push({ prefix: o.slice(0, -1) });
    else origins.push({ regex: `^${escapeRegex(o).replaceAll('\\*', '.*')}$` });
  }
  if (origins.length) out.allowOrigins = origins;
  if (f.allowCredentials) out.allowCredentials = true;
  if (f.allowMethods?.length) out.allowMethods = [...f.allowMethods];
  if (f.allowHeaders?.length) out.allowHeaders = [...f.allowHeaders];
  if (f.exposeHeaders?.length) out.exposeHeaders = [...f.exposeHeaders];
  if ((f.maxAge ?? 0) > 0) out.maxAge = durationOf(f.maxAge!);
  out.unmatchedPreflights = 'IGNORE';
  return out;
}

function redirectFilter(f: HTTPRouteFilter['requestRedirect']): net.HTTPRoute['redirect'] {
  if (!f) return undefined;
  const out: NonNullable<net.HTTPRoute['redirect']> = {};
  if (f.statusCode !== undefined) out.redirectCode = f.statusCode;
  if (f.hostname !== undefined) out.authority = f.hostname;
  if (f.scheme !== undefined) out.scheme = f.scheme;
  // "When empty, port (if specified) of the request is used": this differs from Istio's default.
  if (f.port !== undefined) out.port = f.port;
  else out.derivePort = f.scheme !== undefined ? 'FROM_PROTOCOL_DEFAULT' : 'FROM_REQUEST_PORT';
  if (f.path) {
    if (f.path.type === 'ReplaceFullPath') out.uri = f.path.replaceFullPath ?? '';
    else if (f.path.type === 'ReplacePrefixMatch') out.prefixRewrite = f.path.replacePrefixMatch ?? '';
  }
  return out;
}

function weightSum(refs: { weight?: number }[] | undefined): number {
  return (refs ?? []).reduce((sum, r) => sum + (r.weight ?? 1), 0);
}

/** Istio's buildHTTPDestination / buildGRPCDestination. */
function httpDestinations(
  ctx: ConversionContext,
  refs: HTTPBackendRef[] | undefined,
  ns: string,
  enforceRefGrant: boolean,
  routeKind: string,
): { routes?: net.HTTPRouteDestination[]; inferencePool?: InferencePoolConfig; invalid?: ConfigError; error?: ConfigError } {
  if (!refs) return {};
  const action = refs.filter((r) => (r.weight ?? 1) !== 0);
  const weights = action.length === 1 ? [0] : action.map((r) => r.weight ?? 1);
  let invalid: ConfigError | undefined;
  let pool: InferencePoolConfig | undefined;
  const out: net.HTTPRouteDestination[] = [];
  for (const [i, fwd] of action.entries()) {
    const d = buildDestination(ctx, fwd, ns, enforceRefGrant, routeKind);
    pool = d.inferencePool;
    if (d.error) {
      if (isInvalidBackend(d.error)) invalid = d.error;
      else return { error: d.error, ...(pool ? { inferencePool: pool } : {}) };
    }
    const rd: net.HTTPRouteDestination = { destination: d.destination ?? {} };
    if (weights[i]) rd.weight = weights[i];
    for (const filter of fwd.filters ?? []) {
      if (filter.type === 'RequestHeaderModifier' || filter.type === 'ResponseHeaderModifier') {
        const h = headerOperations(filter.type === 'RequestHeaderModifier' ? filter.requestHeaderModifier : filter.responseHeaderModifier);
        if (h.error) return { error: h.error };
        if (!h.ops) continue;
        rd.headers ??= {};
        if (filter.type === 'RequestHeaderModifier') rd.headers.request = h.ops;
        else rd.headers.response = h.ops;
      } else return { error: { reason: REASON.filter, message: `unsupported filter type "${filter.type}"` } };
    }
    out.push(rd);
  }
  return { routes: out, ...(pool ? { inferencePool: pool } : {}), ...(invalid ? { invalid } : {}) };
}

/** One HTTPRoute rule with (at most) one match → an Istio HTTP route. */
export function convertHTTPRule(
  ctx: ConversionContext,
  r: HTTPRouteRule,
  obj: Resource,
  pos: number,
  enforceRefGrant: boolean,
): ConvertedRule {
  const vs: net.HTTPRoute = { name: r.name ?? `${obj.meta.namespace}.${obj.meta.name}.${pos}` };
  for (const m of r.matches ?? []) {
    const uri = uriMatch(m);
    if (isError(uri)) return { error: uri };
    const headers = stringMatches(m.headers, 'HeaderMatch');
    if (isError(headers)) return { error: headers };
    const qp = stringMatches(m.queryParams, 'QueryParams');
    if (isError(qp)) return { error: qp };
    const match: net.HTTPMatchRequest = { uri };
    if (headers) match.headers = headers;
    if (qp) match.queryParams = qp;
    if (m.method) match.method = { exact: m.method };
    (vs.match ??= []).push(match);
  }
  let mirrorErr: ConfigError | undefined;
  for (const f of r.filters ?? []) {
    switch (f.type) {
      case 'RequestHeaderModifier':
      case 'ResponseHeaderModifier': {
        const error = applyHeaderModifier(vs, f);
        if (error) return { error };
        break;
      }
      case 'RequestRedirect':
        vs.redirect = redirectFilter(f.requestRedirect);
        break;
      case 'RequestMirror': {
        if (!f.requestMirror) break;
        const m = mirrorFilter(ctx, f.requestMirror, obj.meta.namespace, enforceRefGrant, 'HTTPRoute');
        if (m.error) mirrorErr = m.error;
        else if (m.mirror) (vs.mirrors ??= []).push(m.mirror);
        break;
      }
      case 'URLRewrite':
        vs.rewrite = rewriteFilter(f.urlRewrite);
        break;
      case 'CORS':
        vs.corsPolicy = corsFilter(f.cors);
        break;
      default:
        return { error: { reason: REASON.filter, message: `unsupported filter type "${f.type}"` } };
    }
  }
  if (r.retry) {
    const retryOn = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', ...(r.retry.codes ?? []).map(String)];
    const retries: NonNullable<net.HTTPRoute['retries']> = { attempts: r.retry.attempts ?? 2, retryOn: retryOn.join(',') };
    if (retries.attempts === 0) delete retries.retryOn;
    if (r.retry.backoff !== undefined) retries.backoff = durationOf(goDurationSeconds(r.retry.backoff));
    vs.retries = retries;
  }
  if (r.timeouts) {
    const request = goDurationSeconds(r.timeouts.request);
    if (request !== 0) vs.timeout = durationOf(request);
    const backend = goDurationSeconds(r.timeouts.backendRequest);
    if (backend !== 0) {
      if (vs.retries) vs.retries.perTryTimeout = durationOf(backend);
      else vs.timeout = durationOf(backend);
    }
  }
  if (weightSum(r.backendRefs) === 0 && !vs.redirect) {
    vs.directResponse = { status: 500 };
    return { route: vs, ...(mirrorErr ? { error: mirrorErr } : {}) };
  }
  const dest = httpDestinations(ctx, r.backendRefs, obj.meta.namespace, enforceRefGrant, 'HTTPRoute');
  if (dest.error) return { error: dest.error, ...(dest.inferencePool ? { inferencePool: dest.inferencePool } : {}) };
  if (dest.routes) vs.route = dest.routes;
  const error = joinErrors(dest.invalid, mirrorErr);
  return { route: vs, ...(dest.inferencePool ? { inferencePool: dest.inferencePool } : {}), ...(error ? { error } : {}) };
}

function grpcUriMatch(m: GRPCRouteMatch): net.StringMatch | undefined | ConfigError {
  const method = m.method;
  if (!method) return undefined;
  const tp = method.type ?? 'Exact';
  if (method.method === undefined && method.service === undefined) {
    return { reason: REASON.configuration, message: 'gRPC match must have method or service defined' };
  }
  if (tp === 'Exact') {
    if (method.method === undefined) return { prefix: `/${method.service}/` };
    if (method.service === undefined) return { regex: `/[^/]+/${method.method}` };
    return { exact: `/${method.service}/${method.method}` };
  }
  if (tp === 'RegularExpression') {
    if (method.method === undefined) return { regex: `/${method.service}/.+` };
    if (method.service === undefined) return { regex: `/[^/]+/${method.method}` };
    return { regex: `/${method.service}/${method.method}` };
  }
  return { reason: REASON.configuration, message: `unknown type: "${tp}" is not supported Path match type` };
}

/** One GRPCRoute rule with (at most) one match → an Istio HTTP route. */
export function convertGRPCRule(ctx: ConversionContext, r: GRPCRouteRule, obj: Resource, pos: number, enforceRefGrant: boolean): ConvertedRule {
  const vs: net.HTTPRoute = { name: r.name ?? `${obj.meta.namespace}.${obj.meta.name}.${pos}` };
  for (const m of r.matches ?? []) {
    const uri = grpcUriMatch(m);
    if (isError(uri)) return { error: uri };
    const headers = stringMatches(m.headers, 'HeaderMatch');
    if (isError(headers)) return { error: headers };
    const match: net.HTTPMatchRequest = {};
    if (uri) match.uri = uri;
    if (headers) match.headers = headers;
    (vs.match ??= []).push(match);
  }
  for (const f of r.filters ?? []) {
    switch (f.type) {
      case 'RequestHeaderModifier':
      case 'ResponseHeaderModifier': {
        const error = applyHeaderModifier(vs, f);
        if (error) return { error };
        break;
      }
      case 'RequestMirror': {
        if (!f.requestMirror) break;
        const m = mirrorFilter(ctx, f.requestMirror, obj.meta.namespace, enforceRefGrant, 'GRPCRoute');
        if (m.error) return { error: m.error };
        if (m.mirror) (vs.mirrors ??= []).push(m.mirror);
        break;
      }
      default:
        return { error: { reason: REASON.filter, message: `unsupported filter type "${f.type}"` } };
    }
  }
  if (weightSum(r.backendRefs) === 0) {
    vs.directResponse = { status: 500 };
    return { route: vs };
  }
  const dest = httpDestinations(ctx, r.backendRefs, obj.meta.namespace, enforceRefGrant, 'GRPCRoute');
  if (dest.error) return { error: dest.error };
  if (dest.routes) vs.route = dest.routes;
  return { route: vs, ...(dest.invalid ? { error: dest.invalid } : {}) };
}

// ---- ordering (Gateway API precedence, Istio's sortHTTPRoutes) ----

function uriRank(m: net.HTTPMatchRequest): number {
  if (!m.uri) return -1;
  if (m.uri.exact !== undefined) return 3;
  if (m.uri.prefix !== undefined) return 2;
  if (m.uri.regex !== undefined) return 1;
  return -1;
}

function uriLength(m: net.HTTPMatchRequest): number {
  if (!m.uri) return 0;
  return (m.uri.prefix ?? m.uri.exact ?? m.uri.regex ?? '').length;
}

/** Sorts in place, stably: exact > prefix > regex, longer paths, method, more headers, more query params; no-match last. */
export function sortHTTPRoutes(routes: net.HTTPRoute[]): void {
  const less = (a: net.HTTPRoute, b: net.HTTPRoute): boolean => {
    if (!a.match?.length) return false;
    if (!b.match?.length) return true;
    const m1 = a.match[0]!;
    const m2 = b.match[0]!;
    const r1 = uriRank(m1);
    const r2 = uriRank(m2);
    const l1 = uriLength(m1);
    const l2 = uriLength(m2);
    if (r1 !== r2) return r1 > r2;
    if (l1 !== l2) return l1 > l2;
    if ((m1.method === undefined) !== (m2.method === undefined)) return m1.method !== undefined;
    const h1 = Object.keys(m1.headers ?? {}).length;
    const h2 = Object.keys(m2.headers ?? {}).length;
    if (h1 !== h2) return h1 > h2;
    return Object.keys(m1.queryParams ?? {}).length > Object.keys(m2.queryParams ?? {}).length;
  };
  const keyed = routes.map((r, i) => ({ r, i }));
  keyed.sort((x, y) => (less(x.r, y.r) ? -1 : less(y.r, x.r) ? 1 : x.i - y.i));
  keyed.forEach((k, i) => (routes[i] = k.r));
}
