// VirtualService match conditions → Envoy RouteMatch, as Istio translates them.
import { create } from '@bufbuild/protobuf';
import {
  HeaderMatcherSchema,
  QueryParameterMatcherSchema,
  RouteMatchSchema,
  type HeaderMatcher,
  type RouteMatch,
} from '../../../gen/envoy/config/route/v3/route_components_pb.js';
import { StringMatcherSchema, type StringMatcher } from '../../../gen/envoy/type/matcher/v3/string_pb.js';
import { RegexMatcherSchema } from '../../../gen/envoy/type/matcher/v3/regex_pb.js';
import type * as net from '../../config/schema/networking.js';

export function toStringMatcher(m: net.StringMatch): StringMatcher | undefined {
  if (m.exact !== undefined) return create(StringMatcherSchema, { matchPattern: { case: 'exact', value: m.exact } });
  if (m.prefix !== undefined) return create(StringMatcherSchema, { matchPattern: { case: 'prefix', value: m.prefix } });
  if (m.regex !== undefined) {
    return create(StringMatcherSchema, { matchPattern: { case: 'safeRegex', value: { regex: m.regex } } });
  }
  return undefined;
}

/** An empty match, or the regex `*` (not RE2, a long-standing Istio convention), means "present". */
function isPresentMatch(m: net.StringMatch | undefined): boolean {
  if (!m || (m.exact === undefined && m.prefix === undefined && m.regex === undefined)) return true;
  return m.regex === '*';
}

export function headerMatcher(name: string, m: net.StringMatch | undefined): HeaderMatcher {
  if (isPresentMatch(m)) return create(HeaderMatcherSchema, { name, headerMatchSpecifier: { case: 'presentMatch', value: true } });
  const sm = toStringMatcher(m!);
  return create(HeaderMatcherSchema, { name, headerMatchSpecifier: sm ? { case: 'stringMatch', value: sm } : { case: undefined } });
}

export function translateRouteMatch(match: net.HTTPMatchRequest | undefined): RouteMatch {
  const out = create(RouteMatchSchema, { pathSpecifier: { case: 'prefix', value: '/' } });
  if (!match) return out;

  for (const [name, m] of Object.entries(match.headers ?? {})) out.headers.push(headerMatcher(name, m));
  for (const [name, m] of Object.entries(match.withoutHeaders ?? {})) {
    const h = headerMatcher(name, m);
    h.invertMatch = true;
    // treat_missing_header_as_empty cannot be combined with present_match.
    if (!isPresentMatch(m)) h.treatMissingHeaderAsEmpty = true;
    out.headers.push(h);
  }
  out.headers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const uri = match.uri;
  if (uri?.exact !== undefined) out.pathSpecifier = { case: 'path', value: uri.exact };
  else if (uri?.prefix !== undefined) out.pathSpecifier = { case: 'prefix', value: uri.prefix };
  else if (uri?.regex !== undefined) out.pathSpecifier = { case: 'safeRegex', value: create(RegexMatcherSchema, { regex: uri.regex }) };

  out.caseSensitive = !match.ignoreUriCase;

  if (match.method) out.headers.push(headerMatcher(':method', match.method));
  if (match.authority) out.headers.push(headerMatcher(':authority', match.authority));
  if (match.scheme) out.headers.push(headerMatcher(':scheme', match.scheme));

  for (const [name, m] of Object.entries(match.queryParams ?? {})) {
    const qp = create(QueryParameterMatcherSchema, { name });
    if (isPresentMatch(m)) qp.queryParameterMatchSpecifier = { case: 'presentMatch', value: true };
    else {
      const sm = toStringMatcher(m);
      if (sm) qp.queryParameterMatchSpecifier = { case: 'stringMatch', value: sm };
    }
    out.queryParameters.push(qp);
  }
  return out;
}

/** A route that matches everything: later routes are unreachable. */
export function isCatchAllMatch(m: RouteMatch | undefined): boolean {
  if (!m) return false;
  const catchAllPath =
    (m.pathSpecifier.case === 'prefix' && m.pathSpecifier.value === '/') ||
    (m.pathSpecifier.case === 'pathSeparatedPrefix' && m.pathSpecifier.value === '/') ||
    (m.pathSpecifier.case === 'safeRegex' && m.pathSpecifier.value.regex === '.*');
  return catchAllPath && m.headers.length === 0 && m.queryParameters.length === 0 && m.dynamicMetadata.length === 0;
}
