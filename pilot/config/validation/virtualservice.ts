// VirtualService: Istio's rules for hosts, gateways, HTTP/TLS/TCP routes (including delegate
// and root routes of delegation), and the warnings for rules and matches that can never apply.
import type { ObjectMeta } from '../resource.js';
import type * as net from '../schema/networking.js';
import { isIPAddress } from '../schema/formats.js';
import {
  isDNS1123Label, q, validateDuration, validateExportTo, validateFQDN, validateIPSubnet, validateLabels, validatePort,
  validateRegex, validateWildcardDomain, validateWildcardDomainForGatewayVS,
} from './common.js';
import {
  CORS_METHODS, GRPC_STATUS, isAuthorityHeader, isJwtClaimRoute, isValidRetryOn, validateCorsHeaderName,
  validateHeaderNameOrJwtClaim, validateHeaderOperationName, validateHeaderValue, validateHeaderWithAuthorityOperationName,
} from './http.js';
import type { Report } from './report.js';
import { analyzeUnreachableRules } from './vs-unreachable.js';
import { hostMatchesEither, hostSubsetOf } from '../../model/host.js';

const MESH_GATEWAY = 'mesh';
const ROUTE_SEMANTICS = 'internal.istio.io/route-semantics';
const KB = 1024;
const MB = 1024 * KB;

export function validateGatewayNames(r: Report, names: string[] | undefined, gatewaySemantics: boolean): void {
  for (const name of names ?? []) {
    const slash = name.indexOf('/');
    if (slash < 0) {
      if (name.includes('.')) {
        const parts = name.split('.');
        r.warn(`using legacy gatewayName format ${q(name)}; prefer the <namespace>/<name> format: ${q(`${parts[1]}/${parts[0]}`)}`);
      }
      r.check(validateFQDN(name));
      // Istio stops at the first name without a namespace.
      return;
    }
    const ns = name.slice(0, slash);
    const gw = name.slice(slash + 1);
    if (!ns || !gw) r.error('config namespace and gateway name cannot be empty');
    if (!isDNS1123Label(ns)) r.error(`invalid value for namespace: ${q(ns)}`);
    if (!isDNS1123Label(gw) && !gatewaySemantics) r.error(`invalid value for gateway name: ${q(gw)}`);
  }
}

function validateStringMatch(r: Report, sm: net.StringMatch | undefined, where: string, allowEmptyPrefix = false): void {
  if (!sm) return;
  if (sm.prefix !== undefined && !allowEmptyPrefix && sm.prefix === '') r.error(`${q(where)}: prefix string match should not be empty`);
  if (sm.regex !== undefined) {
    if (sm.regex === '') r.error(`${q(where)}: regex string match should not be empty`, 'regex');
    else r.check(validateRegex(sm.regex, where), 'regex');
  }
}

export function validateDestination(r: Report, d: net.Destination | undefined): void {
  if (!d) return;
  const host = d.host ?? '';
  if (host === '*') r.error(`invalid destination host ${host}`, 'host');
  else if (host === '') r.error('destination host is required', 'host');
  else r.check(validateWildcardDomain(host), 'host');
  if (d.subset !== undefined && d.subset !== '') {
    if (!isDNS1123Label(d.subset)) r.error(`subset name is invalid: ${d.subset}`, 'subset');
  }
  if (d.port) r.check(validatePort(d.port.number ?? 0), 'port', 'number');
}

function validateHeaderOps(r: Report, headers: net.Headers | undefined): void {
  const req = headers?.request;
  const resp = headers?.response;
  for (const op of ['add', 'set'] as const) {
    for (const [name, val] of Object.entries(req?.[op] ?? {})) {
      r.check(validateHeaderWithAuthorityOperationName(name), 'request', op, name);
      r.check(validateHeaderValue(val), 'request', op, name);
    }
  }
  (req?.remove ?? []).forEach((name, i) => r.check(validateHeaderOperationName(name), 'request', 'remove', i));
  for (const op of ['add', 'set'] as const) {
    for (const [name, val] of Object.entries(resp?.[op] ?? {})) {
      r.check(validateHeaderOperationName(name), 'response', op, name);
      r.check(validateHeaderValue(val), 'response', op, name);
    }
  }
  (resp?.remove ?? []).forEach((name, i) => r.check(validateHeaderOperationName(name), 'response', 'remove', i));
}

function validateWeights(r: Report, routes: { destination?: net.Destination; weight?: number }[], gatewaySemantics: boolean, headers: boolean): void {
  let total = 0;
  routes.forEach((rd, i) => {
    const at = r.at(i);
    if (!rd.destination) at.error('destination is required', 'destination');
    if (headers) validateHeaderOps(at.at('headers'), (rd as net.HTTPRouteDestination).headers);
    if (!gatewaySemantics) validateDestination(at.at('destination'), rd.destination);
    if ((rd.weight ?? 0) < 0) at.error(`weight ${rd.weight} < 0`, 'weight');
    total += rd.weight ?? 0;
  });
  if (routes.length > 1 && total === 0) r.error('total destination weight = 0');
}

function validateHTTPRouteConflict(r: Report, http: net.HTTPRoute, type: 'independent' | 'root' | 'delegate'): void {
  if (type === 'root') {
    if (http.redirect) r.error(`root HTTP route ${http.name ?? ''} must not specify redirect`, 'redirect');
    if (http.route) r.error(`root HTTP route ${http.name ?? ''} must not specify route`, 'route');
    return;
  }
  if (type === 'delegate' && http.delegate) r.error('delegate HTTP route cannot contain delegate', 'delegate');
  if (http.redirect) {
    if (http.route?.length) r.error('HTTP route cannot contain both route and redirect');
    if (http.fault) r.error('HTTP route cannot contain both fault and redirect');
    if (http.rewrite) r.error('HTTP route rule cannot contain both rewrite and redirect');
    if (http.directResponse) r.error('HTTP route rule cannot contain both direct_response and redirect');
  } else if (http.directResponse) {
    if (http.route?.length) r.error('HTTP route cannot contain both route and direct_response');
    if (http.fault) r.error('HTTP route cannot contain both fault and direct_response');
    if (http.rewrite) r.error('HTTP route rule cannot contain both rewrite and direct_response');
  } else if (!http.route?.length) {
    r.error('HTTP route, redirect or direct_response is required');
  }
  if (http.mirror && http.mirrors?.length) r.error('HTTP route cannot contain both mirror and mirrors');
}

function validateMatchRequests(r: Report, http: net.HTTPRoute): void {
  (http.match ?? []).forEach((m, i) => {
    const at = r.at('match', i);
    for (const [name, header] of Object.entries(m.headers ?? {})) {
      at.check(validateHeaderNameOrJwtClaim(name), 'headers', name);
      validateStringMatch(at.at('headers', name), header, 'headers');
    }
    for (const [name, header] of Object.entries(m.withoutHeaders ?? {})) {
      at.check(validateHeaderNameOrJwtClaim(name), 'withoutHeaders', name);
      // `regex: "*"` is a presence match there, not a regex.
      if (header.regex !== '*') validateStringMatch(at.at('withoutHeaders', name), header, 'withoutHeaders');
    }
    // An empty uri prefix is allowed (Envoy matches everything); scheme/method/authority need one.
    validateStringMatch(at.at('uri'), m.uri, 'uri', true);
    validateStringMatch(at.at('scheme'), m.scheme, 'scheme');
    validateStringMatch(at.at('method'), m.method, 'method');
    validateStringMatch(at.at('authority'), m.authority, 'authority');
    for (const [name, qp] of Object.entries(m.queryParams ?? {})) validateStringMatch(at.at('queryParams', name), qp, 'queryParams');
  });
  (http.match ?? []).forEach((m, i) => {
    const at = r.at('match', i);
    if (m.port) at.check(validatePort(m.port), 'port');
    at.check(validateLabels(m.sourceLabels), 'sourceLabels');
    validateGatewayNames(at.at('gateways'), m.gateways, false);
    if (m.sourceNamespace && !isDNS1123Label(m.sourceNamespace)) at.error(`sourceNamespace match ${m.sourceNamespace} is invalid`, 'sourceNamespace');
  });
}

function validateCors(r: Report, cors: net.HTTPRoute['corsPolicy']): void {
  if (!cors) return;
  (cors.allowOrigins ?? []).forEach((o, i) => {
    const match = o.exact ?? o.prefix ?? o.regex ?? '';
    if (match === '') r.error(`'${match}' is not a valid match type for CORS allow origins`, 'allowOrigins', i);
    else if (o.regex !== undefined) r.check(validateRegex(o.regex, 'corsPolicy.allowOrigins'), 'allowOrigins', i);
  });
  (cors.allowMethods ?? []).forEach((m, i) => {
    if (!CORS_METHODS.has(m)) r.error(`${q(m)} is not a supported HTTP method`, 'allowMethods', i);
  });
  (cors.allowHeaders ?? []).forEach((h, i) => r.check(validateCorsHeaderName(h), 'allowHeaders', i));
  (cors.exposeHeaders ?? []).forEach((h, i) => r.check(validateCorsHeaderName(h), 'exposeHeaders', i));
  if (cors.maxAge) {
    r.check(validateDuration(cors.maxAge), 'maxAge');
    if (Math.round(cors.maxAge.seconds * 1e9) % 1e9 !== 0) r.error('max_age duration is accurate only to seconds precision', 'maxAge');
  }
}

function validatePercentage(v: number | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v < 0 || v > 100 || (v > 0 && v < 0.0001)) return `percentage ${v} is neither 0.0, nor in range [0.0001, 100.0]`;
  return undefined;
}

function validateHTTPStatus(status: number): string | undefined {
  return status < 200 || status > 600 ? `HTTP status ${status} is not in range 200-599` : undefined;
}

function validateFault(r: Report, fault: net.HTTPRoute['fault']): void {
  if (!fault) return;
  if (!fault.abort && !fault.delay) r.error('HTTP fault injection must have an abort and/or a delay');
  const abort = fault.abort;
  if (abort) {
    r.check(validatePercentage(abort.percentage?.value), 'abort', 'percentage');
    if (abort.grpcStatus !== undefined) {
      if (!GRPC_STATUS.has(abort.grpcStatus)) {
        r.error(
          `gRPC status ${q(abort.grpcStatus)} is not supported. See https://github.com/grpc/grpc/blob/master/doc/statuscodes.md for a list of supported codes, for example 'NOT_FOUND'`,
          'abort', 'grpcStatus',
        );
      }
    } else if (abort.http2Error !== undefined) {
      r.error('HTTP/2 abort fault injection not supported yet', 'abort', 'http2Error');
    } else if (abort.httpStatus !== undefined) {
      r.check(validateHTTPStatus(abort.httpStatus), 'abort', 'httpStatus');
    } else {
      r.warn('abort configured, but error type not set', 'abort');
    }
  }
  const delay = fault.delay;
  if (delay) {
    r.check(validatePercentage(delay.percentage?.value), 'delay', 'percentage');
    if (delay.fixedDelay) r.check(validateDuration(delay.fixedDelay), 'delay', 'fixedDelay');
    else if (delay.exponentialDelay) {
      r.check(validateDuration(delay.exponentialDelay), 'delay', 'exponentialDelay');
      r.error('exponentialDelay not supported yet', 'delay', 'exponentialDelay');
    }
  }
}

function validateRedirect(r: Report, redirect: net.HTTPRoute['redirect'], matches: net.HTTPMatchRequest[] | undefined): void {
  if (!redirect) return;
  // Istio reports only the first problem of a redirect.
  if (redirect.uri && redirect.prefixRewrite) return r.error('redirect may only specify one of uri or prefix_rewrite');
  if (redirect.prefixRewrite) {
    for (const m of matches ?? []) {
      if (m.uri && m.uri.prefix === undefined) return r.error('redirect prefix_rewrite requires all URI matches to use prefix match type');
    }
  }
  if (!redirect.uri && !redirect.prefixRewrite && !redirect.authority && redirect.port === undefined && redirect.derivePort === undefined && !redirect.scheme) {
    return r.error('redirect must specify URI, authority, scheme, or port');
  }
  const code = redirect.redirectCode ?? 0;
  if (code !== 0 && (code < 300 || code > 399)) return r.error(`${code} is not a valid redirect code, must be 3xx`, 'redirectCode');
  if (redirect.scheme && redirect.scheme !== 'http' && redirect.scheme !== 'https') return r.error('invalid redirect scheme, must be "http" or "https"', 'scheme');
  if ((redirect.port ?? 0) > 0) r.check(validatePort(redirect.port!), 'port');
}

function validateDirectResponse(r: Report, dr: net.HTTPRoute['directResponse']): void {
  if (!dr) return;
  if (dr.body) {
    const size = dr.body.string !== undefined ? Buffer.byteLength(dr.body.string) : dr.body.bytes !== undefined ? Buffer.from(dr.body.bytes, 'base64').length : 0;
    if (size > MB) r.error('large direct_responses may impact control plane performance, must be less than 1MB', 'body');
    else if (size > 100 * KB) r.warn('large direct_responses may impact control plane performance', 'body');
  }
  r.check(validateHTTPStatus(dr.status ?? 0), 'status');
}

export function validateRetry(r: Report, retries: net.HTTPRoute['retries']): void {
  if (!retries) return;
  const attempts = retries.attempts ?? 0;
  if (attempts < 0) r.error('attempts cannot be negative', 'attempts');
  if (attempts === 0 && (retries.perTryTimeout || retries.retryOn || retries.retryRemoteLocalities !== undefined)) {
    r.error('http retry policy configured when attempts are set to 0 (disabled)');
  }
  if (retries.perTryTimeout) r.check(validateDuration(retries.perTryTimeout), 'perTryTimeout');
  if (retries.retryOn) {
    for (const policy of retries.retryOn.split(',')) {
      if (!isValidRetryOn(policy)) r.error(`${q(policy)} is not a valid retryOn policy`, 'retryOn');
    }
  }
  if (retries.backoff) r.check(validateDuration(retries.backoff), 'backoff');
}

function validateRewrite(r: Report, rewrite: net.HTTPRoute['rewrite']): void {
  if (!rewrite) return;
  if (rewrite.uri && rewrite.uriRegexRewrite) return r.error('rewrite may only contain one of URI or UriRegexRewrite');
  if (!rewrite.uri && !rewrite.uriRegexRewrite && !rewrite.authority) {
    return r.error('rewrite must specify at least one of URI, UriRegexRewrite, or authority. Only one of URI or UriRegexRewrite may be specified');
  }
  const rr = rewrite.uriRegexRewrite;
  if (rr) {
    if (!rr.match || !rr.rewrite) return r.error('UriRegexRewrite has errors: UriRegexRewrite requires both Rewrite and Match fields to be specified', 'uriRegexRewrite');
    const err = validateRegex(rr.match, 'HTTPRewrite.UriRegexRewrite.Match');
    if (err) r.error(`UriRegexRewrite has errors: ${err}`, 'uriRegexRewrite', 'match');
  }
}

function validateAuthorityRewrite(r: Report, http: net.HTTPRoute): void {
  let current = http.rewrite?.authority ?? '';
  for (const op of ['set', 'add'] as const) {
    for (const [k, v] of Object.entries(http.headers?.request?.[op] ?? {})) {
      if (!isAuthorityHeader(k)) continue;
      if (current !== '') return r.error(`authority header cannot be set multiple times: have ${q(current)}, attempting to set ${q(v)}`);
      current = v;
    }
  }
}

function validateMirrorPercentages(r: Report, http: net.HTTPRoute): void {
  if (http.mirrorPercent !== undefined) {
    if (http.mirrorPercent > 100) r.error(`mirror_percent must have a max value of 100 (it has ${http.mirrorPercent})`, 'mirrorPercent');
    r.warn('using deprecated setting "mirrorPercent", use "mirrorPercentage" instead', 'mirrorPercent');
  }
  const mp = http.mirrorPercentage;
  if (mp) {
    const v = mp.value ?? 0;
    if (v > 100) r.error(`mirror_percentage must have a max value of 100 (it has ${v.toFixed(6)})`, 'mirrorPercentage');
    if (v < 0) r.error(`mirror_percentage must have a min value of 0 (it has ${v.toFixed(6)})`, 'mirrorPercentage');
  }
  validateDestination(r.at('mirror'), http.mirror);
  (http.mirrors ?? []).forEach((m, i) => {
    const at = r.at('mirrors', i);
    if (!m.destination) return at.error('destination is required for mirrors', 'destination');
    validateDestination(at.at('destination'), m.destination);
    const v = m.percentage?.value;
    if (v !== undefined && v > 100) at.error(`mirror percentage must have a max value of 100 (it has ${v.toFixed(6)})`, 'percentage');
    if (v !== undefined && v < 0) at.error(`mirror percentage must have a min value of 0 (it has ${v.toFixed(6)})`, 'percentage');
  });
}

export function validateHTTPRoute(r: Report, http: net.HTTPRoute, delegate: boolean, gatewaySemantics: boolean): void {
  const type = delegate ? 'delegate' : http.delegate ? 'root' : 'independent';
  validateHTTPRouteConflict(r, http, type);
  validateMatchRequests(r, http);
  validateHeaderOps(r.at('headers'), http.headers);
  validateCors(r.at('corsPolicy'), http.corsPolicy);
  validateFault(r.at('fault'), http.fault);
  validateMirrorPercentages(r, http);
  validateRedirect(r.at('redirect'), http.redirect, http.match);
  validateDirectResponse(r.at('directResponse'), http.directResponse);
  validateRetry(r.at('retries'), http.retries);
  validateRewrite(r.at('rewrite'), http.rewrite);
  validateAuthorityRewrite(r, http);
  validateWeights(r.at('route'), http.route ?? [], gatewaySemantics, true);
  if (http.timeout) r.check(validateDuration(http.timeout), 'timeout');
}

const isGatewayBound = (vs: net.VirtualService) => !(vs.gateways ?? []).includes(MESH_GATEWAY);
const hasSniHosts = (vs: net.VirtualService) => (vs.tls ?? []).some((t) => (t.match ?? []).some((m) => (m.sniHosts ?? []).length > 0));

function validateSniHost(r: Report, sni: string, vs: net.VirtualService): void {
  const err = isGatewayBound(vs) ? validateWildcardDomainForGatewayVS(true, sni) : validateWildcardDomain(sni);
  if (err) {
    if (isIPAddress(sni)) return r.warn(`using an IP address (${q(sni)}) goes against SNI spec and most clients do not support this`);
    return r.error(err);
  }
  if ((vs.hosts ?? []).some((h) => hostSubsetOf(sni, h))) return;
  r.error(`SNI host ${q(sni)} is not a compatible subset of any of the virtual service hosts: [${(vs.hosts ?? []).join(', ')}]`);
}

function validateL4Match(r: Report, m: net.L4MatchAttributes | net.TLSMatchAttributes): void {
  (m.destinationSubnets ?? []).forEach((s, i) => r.check(validateIPSubnet(s), 'destinationSubnets', i));
  if (m.port) r.check(validatePort(m.port), 'port');
  r.check(validateLabels(m.sourceLabels), 'sourceLabels');
  validateGatewayNames(r.at('gateways'), m.gateways, false);
}

function validateTLSRoute(r: Report, tls: net.TLSRoute, vs: net.VirtualService, gatewaySemantics: boolean): void {
  if (!tls.match?.length) r.error('TLS route must have at least one match condition', 'match');
  (tls.match ?? []).forEach((m, i) => {
    const at = r.at('match', i);
    if (!m.sniHosts?.length) at.error('TLS match must have at least one SNI host', 'sniHosts');
    else m.sniHosts.forEach((h, j) => validateSniHost(at.at('sniHosts', j), h, vs));
    validateL4Match(at, m);
  });
  if (!tls.route?.length) r.error('TLS route is required', 'route');
  validateWeights(r.at('route'), tls.route ?? [], gatewaySemantics, false);
}

function validateTCPRoute(r: Report, tcp: net.TCPRoute, gatewaySemantics: boolean): void {
  (tcp.match ?? []).forEach((m, i) => validateL4Match(r.at('match', i), m));
  if (!tcp.route?.length) r.error('TCP route is required', 'route');
  validateWeights(r.at('route'), tcp.route ?? [], gatewaySemantics, false);
}

export function validateVirtualService(r: Report, vs: net.VirtualService, meta: ObjectMeta): void {
  const hosts = vs.hosts ?? [];
  if (hosts.length === 0) {
    // A delegate VirtualService.
    if (vs.gateways?.length) r.error('delegate virtual service must have no gateways specified', 'gateways');
    if (vs.tls?.length) r.error('delegate virtual service must have no tls route specified', 'tls');
    if (vs.tcp?.length) r.error('delegate virtual service must have no tcp route specified', 'tcp');
  }
  const gatewaySemantics = meta.annotations[ROUTE_SEMANTICS] === 'gateway';
  let appliesToMesh = true;
  let appliesToGateway = false;
  if (vs.gateways?.length) {
    validateGatewayNames(r.at('gateways'), vs.gateways, gatewaySemantics);
    appliesToGateway = isGatewayBound(vs);
    appliesToMesh = !appliesToGateway;
  }
  if (!appliesToGateway) {
    (vs.http ?? []).forEach((http, i) =>
      (http.match ?? []).forEach((m, j) => {
        for (const field of ['headers', 'withoutHeaders'] as const) {
          for (const key of Object.keys(m[field] ?? {})) {
            if (isJwtClaimRoute(key)) {
              r.error(`JWT claim based routing (key: ${key}) is only supported for gateway, found no gateways: [${(vs.gateways ?? []).join(' ')}]`, 'http', i, 'match', j, field, key);
            }
          }
        }
      }),
    );
  }
  let allHostsValid = true;
  hosts.forEach((h, i) => {
    const err = appliesToGateway ? validateWildcardDomainForGatewayVS(hasSniHosts(vs), h) : validateWildcardDomain(h);
    if (err) {
      if (!isIPAddress(h)) {
        r.error(err, 'hosts', i);
        allHostsValid = false;
      }
    } else if (appliesToMesh && h === '*') {
      r.error('wildcard host * is not allowed for virtual services bound to the mesh gateway', 'hosts', i);
      allHostsValid = false;
    }
  });
  if (allHostsValid) {
    for (let i = 0; i < hosts.length; i++) {
      for (let j = i + 1; j < hosts.length; j++) {
        if (hostMatchesEither(hosts[i]!, hosts[j]!)) r.error(`duplicate hosts in virtual service: ${hosts[i]} & ${hosts[j]}`, 'hosts', j);
      }
    }
  }
  if (!vs.http?.length && !vs.tcp?.length && !vs.tls?.length) r.error('http, tcp or tls must be provided in virtual service');
  (vs.http ?? []).forEach((http, i) => validateHTTPRoute(r.at('http', i), http, hosts.length === 0, gatewaySemantics));
  (vs.tls ?? []).forEach((tls, i) => validateTLSRoute(r.at('tls', i), tls, vs, gatewaySemantics));
  (vs.tcp ?? []).forEach((tcp, i) => validateTCPRoute(r.at('tcp', i), tcp, gatewaySemantics));
  r.check(validateExportTo(meta.namespace, vs.exportTo, false, false), 'exportTo');
  analyzeUnreachableRules(r, vs);
}
