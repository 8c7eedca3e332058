// The Envoy matchers an AuthorizationPolicy's values turn into. Istio's value syntax is a
// literal with at most one `*` at the start or the end ("*" alone means any non-empty value),
// so every value maps to one exact, prefix, suffix or presence matcher, or a regular expression
// where a required prefix (`spiffe://`) meets a leading `*`, or `*` stands alone.
import { create } from '@bufbuild/protobuf';
import { CidrRangeSchema, type CidrRange } from '../../../gen/envoy/config/core/v3/address_pb.js';
import { HeaderMatcherSchema, type HeaderMatcher } from '../../../gen/envoy/config/route/v3/route_components_pb.js';
import { StringMatcherSchema, type StringMatcher } from '../../../gen/envoy/type/matcher/v3/string_pb.js';
import { MetadataMatcherSchema, type MetadataMatcher } from '../../../gen/envoy/type/matcher/v3/metadata_pb.js';
import { ValueMatcherSchema, type ValueMatcher } from '../../../gen/envoy/type/matcher/v3/value_pb.js';
import { isIP } from 'node:net';

export const JWT_FILTER = 'envoy.filters.http.jwt_authn';
export const JWT_PAYLOAD = 'payload';

export function exact(value: string, ignoreCase = false): StringMatcher {
  return create(StringMatcherSchema, { ignoreCase, matchPattern: { case: 'exact', value } });
}

export function prefix(value: string, ignoreCase = false): StringMatcher {
  return create(StringMatcherSchema, { ignoreCase, matchPattern: { case: 'prefix', value } });
}

export function suffix(value: string, ignoreCase = false): StringMatcher {
  return create(StringMatcherSchema, { ignoreCase, matchPattern: { case: 'suffix', value } });
}

export function regex(pattern: string): StringMatcher {
  return create(StringMatcherSchema, { matchPattern: { case: 'safeRegex', value: { regex: pattern } } });
}

/** RE2 escaping of a literal, as Go's regexp.QuoteMeta does. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/**
 * A value with `valuePrefix` put in front (the `spiffe://` of principals). A leading `*` cannot
 * stay a suffix match once a prefix is required, so it becomes a regular expression.
 */
export function stringMatcher(value: string, valuePrefix = ''): StringMatcher {
  if (value === '*') return regex('.+');
  if (value.startsWith('*')) return valuePrefix ? regex(`${valuePrefix}.*${quoteMeta(value.slice(1))}`) : suffix(value.slice(1));
  if (value.endsWith('*')) return prefix(valuePrefix + value.slice(0, -1));
  return exact(valuePrefix + value);
}

function header(name: string, spec: HeaderMatcher['headerMatchSpecifier']): HeaderMatcher {
  return create(HeaderMatcherSchema, { name, headerMatchSpecifier: spec });
}

/** A header value; "*" only asks that the header be present. */
export function headerMatcher(name: string, value: string, ignoreCase = false): HeaderMatcher {
  if (value === '*') return header(name, { case: 'presentMatch', value: true });
  if (value.startsWith('*')) return header(name, { case: 'stringMatch', value: suffix(value.slice(1), ignoreCase) });
  if (value.endsWith('*')) return header(name, { case: 'stringMatch', value: prefix(value.slice(0, -1), ignoreCase) });
  return header(name, { case: 'stringMatch', value: exact(value, ignoreCase) });
}

export function valueOfString(m: StringMatcher): ValueMatcher {
  return create(ValueMatcherSchema, { matchPattern: { case: 'stringMatch', value: m } });
}

/** One value matcher, or an OR of several (a single one is not wrapped). */
export function anyOf(matchers: ValueMatcher[]): ValueMatcher {
  if (matchers.length === 1) return matchers[0]!;
  return create(ValueMatcherSchema, { matchPattern: { case: 'orMatch', value: { valueMatchers: matchers } } });
}

export function stringsAnyOf(values: readonly string[]): ValueMatcher {
  return anyOf(values.map((v) => valueOfString(stringMatcher(v))));
}

function metadata(filter: string, keys: readonly string[], value: ValueMatcher): MetadataMatcher {
  return create(MetadataMatcherSchema, { filter, path: keys.map((key) => ({ segment: { case: 'key' as const, value: key } })), value });
}

export function metadataValue(filter: string, key: string, value: ValueMatcher): MetadataMatcher {
  return metadata(filter, [key], value);
}

/**
 * A metadata value that is a list containing a match. JWT claims may be a string or a list, so
 * for them (`scalarToo`) a plain string value matching also counts.
 */
export function metadataList(filter: string, keys: readonly string[], value: ValueMatcher, scalarToo: boolean): MetadataMatcher {
  const list = create(ValueMatcherSchema, { matchPattern: { case: 'listMatch', value: { matchPattern: { case: 'oneOf', value } } } });
  if (!scalarToo) return metadata(filter, keys, list);
  return metadata(filter, keys, create(ValueMatcherSchema, { matchPattern: { case: 'orMatch', value: { valueMatchers: [list, value] } } }));
}

/** A claim of the JWT payload the jwt_authn filter stored. */
export function jwtClaim(claims: readonly string[], value: ValueMatcher): MetadataMatcher {
  return metadataList(JWT_FILTER, [JWT_PAYLOAD, ...claims], value, true);
}

/** The `iss` or `sub` of the JWT payload, as a plain string. */
export function jwtStringClaim(claim: string, m: StringMatcher): MetadataMatcher {
  return metadata(JWT_FILTER, [JWT_PAYLOAD, claim], valueOfString(m));
}

/** "10.0.0.1" (a /32 or /128) or "10.0.0.0/8"; anything else throws, as Go's netip does. */
export function cidr(text: string): CidrRange {
  if (!text) throw new Error('empty address');
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (!family || address.includes('%')) throw new Error(`ParseAddr(${JSON.stringify(address)}): unable to parse IP`);
  const max = family === 4 ? 32 : 128;
  if (slash < 0) return create(CidrRangeSchema, { addressPrefix: address, prefixLen: max });
  const bitsText = text.slice(slash + 1);
  const bits = /^(0|[1-9][0-9]*)$/.test(bitsText) ? Number(bitsText) : NaN;
  if (!(bits >= 0 && bits <= max)) throw new Error(`netip.ParsePrefix(${JSON.stringify(text)}): bad bits after slash: ${JSON.stringify(bitsText)}`);
  return create(CidrRangeSchema, { addressPrefix: address, prefixLen: bits });
}
