// One AuthorizationPolicy rule as Envoy RBAC: a Policy whose permissions are the rule's `to`
// operations (each ANDed with the `when` conditions about the destination) and whose principals
// are its `from` sources (each ANDed with the conditions about the caller). Within an attribute
// the values are ORed, and its `not` values become NOT(OR(...)).
//
// Order matters for byte-for-byte equality with Istio: a source's or operation's own fields go
// in front of the `when` conditions, in Istio's fixed order.
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { PermissionSchema, PolicySchema, PrincipalSchema, RBAC_Action, type Permission, type Policy, type Principal } from '../../../gen/envoy/config/rbac/v3/rbac_pb.js';
import { UriTemplateMatchConfigSchema } from '../../../gen/envoy/extensions/path/match/uri_template/v3/uri_template_match_pb.js';
import type { StringMatcher } from '../../../gen/envoy/type/matcher/v3/string_pb.js';
import { ValueMatcherSchema, type ValueMatcher } from '../../../gen/envoy/type/matcher/v3/value_pb.js';
import type { AuthorizationRule } from '../../config/schema/security.js';
import {
  anyOf, cidr, exact, headerMatcher, jwtClaim, jwtStringClaim, metadataValue, prefix, quoteMeta, regex, stringMatcher, stringsAnyOf, suffix, valueOfString,
} from './matchers.js';
import type { TrustDomainBundle } from './trust-domain.js';

type Permission1 = MessageInitShape<typeof PermissionSchema>['rule'];
type Principal1 = MessageInitShape<typeof PrincipalSchema>['identifier'];

const permission = (rule: Permission1): Permission => create(PermissionSchema, { rule });
const principal = (identifier: Principal1): Principal => create(PrincipalSchema, { identifier });
const permissionAny = () => permission({ case: 'any', value: true });
const principalAny = () => principal({ case: 'any', value: true });
const permissionAnd = (rules: Permission[]) => permission({ case: 'andRules', value: { rules } });
const permissionOr = (rules: Permission[]) => permission({ case: 'orRules', value: { rules } });
const principalAnd = (ids: Principal[]) => principal({ case: 'andIds', value: { ids } });
const principalOr = (ids: Principal[]) => principal({ case: 'orIds', value: { ids } });

/** What building a rule needs to know about where its filter goes. */
export interface GenerateOptions {
  /** A network (TCP) filter: HTTP-only attributes cannot be checked there. */
  forTcp: boolean;
  /** Peer identity from the TLS certificate (`authenticated`); false reads Istio's filter state instead (waypoints). */
  useAuthenticated: boolean;
  action: RBAC_Action;
}

/** The caller's identity as the peer certificate or, behind a waypoint, as filter state says. */
function authenticated(name: StringMatcher, useAuthenticated: boolean): Principal {
  if (useAuthenticated) return principal({ case: 'authenticated', value: { principalName: name } });
  return principal({ case: 'filterState', value: { key: 'io.istio.peer_principal', matcher: { case: 'stringMatch', value: name } } });
}

class HttpOnly extends Error {
  constructor(key: string) {
    super(`${JSON.stringify(key)} is HTTP only`);
  }
}

/**
 * How one attribute's values become matchers. `perValue` kinds build one matcher per value
 * (ORed); `whole` kinds take the value list at once (JWT claims, where Istio folds the values
 * into one matcher).
 */
interface Attribute {
  perValue?: { permission?: (key: string, value: string, o: GenerateOptions) => Permission; principal?: (key: string, value: string, o: GenerateOptions) => Principal };
  whole?: { permission?: (key: string, values: string[], o: GenerateOptions) => Permission; principal?: (key: string, values: string[], o: GenerateOptions) => Principal | undefined };
}

function unimplemented(): never {
  throw new Error('unimplemented');
}

function httpOnly(key: string, o: GenerateOptions): void {
  if (o.forTcp) throw new HttpOnly(key);
}

function port(value: string): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 65535)) throw new Error(`invalid port ${value}`);
  return n;
}

/** `[name]` → name. */
function inBrackets(s: string): string {
  if (!s.startsWith('[') || !s.endsWith(']')) throw new Error(`expecting format [<NAME>], but found ${s}`);
  return s.slice(1, -1);
}

/** `[a][b]` → [a, b]; anything not a clean run of brackets is read as one name. */
function inNestedBrackets(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const close = s[i] === '[' ? s.indexOf(']', i + 1) : -1;
    const open = s.indexOf('[', i + 1);
    if (close < 0 || (open >= 0 && open < close)) return [inBrackets(s)];
    out.push(s.slice(i + 1, close));
    i = close + 1;
  }
  return out;
}

const ANY_VALUE = regex('.+');

/** A request principal `iss/sub`, each side possibly a wildcard, as matchers on the JWT payload. */
function requestPrincipal(value: string): Principal {
  const slash = value.lastIndexOf('/');
  const found = slash >= 0;
  const iss = found ? value.slice(0, slash) : value;
  const sub = found ? value.slice(slash + 1) : '';
  let matchIss: StringMatcher;
  let matchSub: StringMatcher;
  if (value === '*') {
    matchIss = ANY_VALUE;
    matchSub = ANY_VALUE;
  } else if (value.startsWith('*')) {
    if (found) {
      matchIss = iss === '*' ? ANY_VALUE : suffix(iss.slice(1));
      matchSub = exact(sub);
    } else {
      matchIss = ANY_VALUE;
      matchSub = suffix(value.slice(1));
    }
  } else if (value.endsWith('*')) {
    if (found) {
      matchIss = exact(iss);
      matchSub = sub === '*' ? ANY_VALUE : prefix(sub.slice(0, -1));
    } else {
      matchIss = prefix(value.slice(0, -1));
      matchSub = ANY_VALUE;
    }
  } else {
    matchIss = exact(iss);
    matchSub = exact(sub);
  }
  const claim = (name: string, m: StringMatcher) => principal({ case: 'metadata', value: jwtStringClaim(name, m) });
  return principalAnd([claim('iss', matchIss), claim('sub', matchSub)]);
}

function jwtListPrincipal(claims: string[], values: string[]): Principal {
  return principal({ case: 'metadata', value: jwtClaim(claims, stringsAnyOf(values)) });
}

/** `experimental.envoy.filters.<filter>[<key>]` → [filter, key]. */
function envoyFilterKey(key: string): [string, string] {
  const body = key.slice('experimental.'.length).replace(/\]$/, '');
  const open = body.indexOf('[');
  if (open < 0) throw new Error(`invalid key: ${key}`);
  return [body.slice(0, open), body.slice(open + 1)];
}

/** A value in brackets matches an element of a list; otherwise the value itself. */
function envoyFilterValue(value: string): ValueMatcher {
  if (!value.startsWith('[') || !value.endsWith(']')) return valueOfString(stringMatcher(value));
  const element = valueOfString(stringMatcher(value.replace(/^[[\]]+|[[\]]+$/g, '')));
  return create(ValueMatcherSchema, { matchPattern: { case: 'listMatch', value: { matchPattern: { case: 'oneOf', value: element } } } });
}

const ATTRIBUTES: Record<string, Attribute> = {
  'destination.ip': { perValue: { permission: (_k, v) => permission({ case: 'destinationIp', value: cidr(v) }) } },
  'destination.port': { perValue: { permission: (_k, v) => permission({ case: 'destinationPort', value: port(v) }) } },
  'connection.sni': { perValue: { permission: (_k, v) => permission({ case: 'requestedServerName', value: stringMatcher(v) }) } },
  'experimental.envoy.filters.': {
    whole: {
      permission: (k, values) => {
        const [filter, key] = envoyFilterKey(k);
        return permission({ case: 'metadata', value: metadataValue(filter, key, anyOf(values.map(envoyFilterValue))) });
      },
    },
  },
  'source.ip': { perValue: { principal: (_k, v) => principal({ case: 'directRemoteIp', value: cidr(v) }) } },
  'remote.ip': { perValue: { principal: (_k, v) => principal({ case: 'remoteIp', value: cidr(v) }) } },
  'source.namespace': {
    perValue: {
      principal: (_k, v, o) => authenticated(regex(`.*/ns/${v.split('*').map(quoteMeta).join('.*')}/.*`), o.useAuthenticated),
    },
  },
  'source.trustDomain': {
    perValue: {
      principal: (_k, v, o) => {
        if (v === '*') return authenticated(prefix('spiffe://'), o.useAuthenticated);
        const star = v.indexOf('*');
        if (star < 0) return authenticated(prefix(`spiffe://${v}/`), o.useAuthenticated);
        const pattern = `${quoteMeta(v.slice(0, star))}[^/]*${quoteMeta(v.slice(star + 1))}`;
        return authenticated(regex(`spiffe://${pattern}/.*`), o.useAuthenticated);
      },
    },
  },
  'source.principal': { perValue: { principal: (_k, v, o) => authenticated(stringMatcher(v, 'spiffe://'), o.useAuthenticated) } },
  'request.auth.principal': {
    whole: {
      principal: (k, values, o) => {
        httpOnly(k, o);
        const ids = values.map(requestPrincipal);
        return ids.length === 1 ? ids[0] : ids.length ? principalOr(ids) : undefined;
      },
    },
  },
  'request.auth.audiences': { whole: { principal: (k, values, o) => (httpOnly(k, o), jwtListPrincipal(['aud'], values)) } },
  'request.auth.presenter': { whole: { principal: (k, values, o) => (httpOnly(k, o), jwtListPrincipal(['azp'], values)) } },
  'request.headers': {
    perValue: { principal: (k, v, o) => (httpOnly(k, o), principal({ case: 'header', value: headerMatcher(inBrackets(k.slice('request.headers'.length)), v) })) },
  },
  'request.auth.claims': {
    whole: { principal: (k, values, o) => (httpOnly(k, o), jwtListPrincipal(inNestedBrackets(k.slice('request.auth.claims'.length)), values)) },
  },
  // An operation's own fields.
  ':authority': { perValue: { permission: (k, v, o) => (httpOnly(k, o), permission({ case: 'header', value: headerMatcher(':authority', v, true) })) } },
  ':method': { perValue: { permission: (k, v, o) => (httpOnly(k, o), permission({ case: 'header', value: headerMatcher(':method', v) })) } },
  'path-matcher': {
    perValue: {
      permission: (k, v, o) => {
        httpOnly(k, o);
        if (v.includes('{*}') || v.includes('{**}')) {
          const template = create(UriTemplateMatchConfigSchema, { pathTemplate: v.replaceAll('{**}', '**').replaceAll('{*}', '*') });
          return permission({ case: 'uriTemplate', value: { name: 'uri-template', typedConfig: anyPack(UriTemplateMatchConfigSchema, template) } });
        }
        return permission({ case: 'urlPath', value: { rule: { case: 'path', value: stringMatcher(v) } } });
      },
    },
  },
};

/** The `when` keys a rule may use, and which side (destination or caller) each constrains. */
const WHEN_KEYS: { match: (k: string) => boolean; attribute: string; side: 'permission' | 'principal' }[] = [
  { match: (k) => k === 'destination.ip', attribute: 'destination.ip', side: 'permission' },
  { match: (k) => k === 'destination.port', attribute: 'destination.port', side: 'permission' },
  { match: (k) => k === 'connection.sni', attribute: 'connection.sni', side: 'permission' },
  { match: (k) => k.startsWith('experimental.envoy.filters.'), attribute: 'experimental.envoy.filters.', side: 'permission' },
  { match: (k) => k === 'source.ip', attribute: 'source.ip', side: 'principal' },
  { match: (k) => k === 'remote.ip', attribute: 'remote.ip', side: 'principal' },
  { match: (k) => k === 'source.namespace', attribute: 'source.namespace', side: 'principal' },
  { match: (k) => k === 'source.trustDomain', attribute: 'source.trustDomain', side: 'principal' },
  { match: (k) => k === 'source.serviceAccount', attribute: 'source.serviceAccount', side: 'principal' },
  { match: (k) => k === 'source.principal', attribute: 'source.principal', side: 'principal' },
  { match: (k) => k === 'request.auth.principal', attribute: 'request.auth.principal', side: 'principal' },
  { match: (k) => k === 'request.auth.audiences', attribute: 'request.auth.audiences', side: 'principal' },
  { match: (k) => k === 'request.auth.presenter', attribute: 'request.auth.presenter', side: 'principal' },
  { match: (k) => k.startsWith('request.headers'), attribute: 'request.headers', side: 'principal' },
  { match: (k) => k.startsWith('request.auth.claims'), attribute: 'request.auth.claims', side: 'principal' },
];

interface AttributeRule {
  /** The key as written (header and claim names are inside it). */
  key: string;
  attribute: string;
  values: string[];
  notValues: string[];
}

function attributeRule(key: string, attribute: string, values: readonly string[] | undefined, notValues: readonly string[] | undefined): AttributeRule | undefined {
  if (!values?.length && !notValues?.length) return undefined;
  return { key, attribute, values: [...(values ?? [])], notValues: [...(notValues ?? [])] };
}

/** A service account `sa` (in the policy's namespace) or `ns/sa`, in any SPIFFE identity of the mesh. */
function serviceAccountAttribute(policyNamespace: string): Attribute {
  return {
    perValue: {
      principal: (_k, v, o) => {
        const slash = v.indexOf('/');
        const [ns, sa] = slash < 0 ? [policyNamespace, v] : [v.slice(0, slash), v.slice(slash + 1)];
        return authenticated(regex(`spiffe://.+/ns/${quoteMeta(ns)}/(.+/|)sa/${quoteMeta(sa)}(/.+)?`), o.useAuthenticated);
      },
    },
  };
}

/** A rule read into attribute lists, ready to generate (after trust domain aliases are applied). */
export class RuleModel {
  private constructor(
    private readonly permissions: AttributeRule[][],
    private readonly principals: AttributeRule[][],
    private readonly policyNamespace: string,
  ) {}

  /** Throws on a `when` key Istio does not know. */
  static of(policyNamespace: string, rule: AuthorizationRule): RuleModel {
    const basePermission: AttributeRule[] = [];
    const basePrincipal: AttributeRule[] = [];
    for (const when of rule.when ?? []) {
      const key = when.key ?? '';
      const known = WHEN_KEYS.find((k) => k.match(key));
      if (!known) throw new Error(`unknown attribute ${key}`);
      const r = attributeRule(key, known.attribute, when.values, when.notValues);
      if (r) (known.side === 'permission' ? basePermission : basePrincipal).push(r);
    }
    const principals: AttributeRule[][] = [];
    for (const from of rule.from ?? []) {
      const s = from.source;
      // Istio inserts each field in front of the previous, so the last listed here comes first.
      const front = s
        ? [
            attributeRule('source.principal', 'source.principal', s.principals, s.notPrincipals),
            attributeRule('request.auth.principal', 'request.auth.principal', s.requestPrincipals, s.notRequestPrincipals),
            attributeRule('source.serviceAccount', 'source.serviceAccount', s.serviceAccounts, s.notServiceAccounts),
            attributeRule('source.trustDomain', 'source.trustDomain', s.trustDomains, s.notTrustDomains),
            attributeRule('source.namespace', 'source.namespace', s.namespaces, s.notNamespaces),
            attributeRule('remote.ip', 'remote.ip', s.remoteIpBlocks, s.notRemoteIpBlocks),
            attributeRule('source.ip', 'source.ip', s.ipBlocks, s.notIpBlocks),
          ].filter((r): r is AttributeRule => !!r)
        : [];
      principals.push([...front, ...basePrincipal]);
    }
    if (!rule.from?.length) principals.push([...basePrincipal]);
    const permissions: AttributeRule[][] = [];
    for (const to of rule.to ?? []) {
      const op = to.operation;
      const front = op
        ? [
            attributeRule(':authority', ':authority', op.hosts, op.notHosts),
            attributeRule(':method', ':method', op.methods, op.notMethods),
            attributeRule('path-matcher', 'path-matcher', op.paths, op.notPaths),
            attributeRule('destination.port', 'destination.port', op.ports, op.notPorts),
          ].filter((r): r is AttributeRule => !!r)
        : [];
      permissions.push([...front, ...basePermission]);
    }
    if (!rule.to?.length) permissions.push([...basePermission]);
    return new RuleModel(permissions, principals, policyNamespace);
  }

  /** Principals and trust domains also match the mesh's trust domain aliases. */
  withTrustDomains(bundle: TrustDomainBundle): void {
    for (const list of this.principals) {
      for (const r of list) {
        if (r.attribute === 'source.principal') {
          r.values = bundle.replaceAliases(r.values);
          r.notValues = bundle.replaceAliases(r.notValues);
        } else if (r.attribute === 'source.trustDomain') {
          r.values = bundle.expandAliases(r.values);
          r.notValues = bundle.expandAliases(r.notValues);
        }
      }
    }
  }

  /**
   * The RBAC policy, or an error when the rule cannot be expressed where the filter goes (an
   * HTTP-only attribute on a TCP chain). Errors only count for ALLOW: a DENY or AUDIT rule drops
   * the parts it cannot check, which makes it broader, never narrower.
   */
  generate(o: GenerateOptions): Policy {
    const permissions = this.permissions.map((list) => permissionAnd(nonEmpty(list.flatMap((r) => this.permissionsOf(r, o)), permissionAny)));
    const principals = this.principals.map((list) => principalAnd(nonEmpty(list.flatMap((r) => this.principalsOf(r, o)), principalAny)));
    return create(PolicySchema, { permissions, principals });
  }

  private attribute(r: AttributeRule): Attribute {
    return r.attribute === 'source.serviceAccount' ? serviceAccountAttribute(this.policyNamespace) : ATTRIBUTES[r.attribute]!;
  }

  private permissionsOf(r: AttributeRule, o: GenerateOptions): Permission[] {
    const a = this.attribute(r);
    return matchersOf(r, o, a.whole?.permission, a.perValue?.permission, permissionOr, (p) => permission({ case: 'notRule', value: p }));
  }

  private principalsOf(r: AttributeRule, o: GenerateOptions): Principal[] {
    const a = this.attribute(r);
    return matchersOf(r, o, a.whole?.principal, a.perValue?.principal, principalOr, (p) => principal({ case: 'notId', value: p }));
  }
}

/**
 * One attribute's matchers on one side (permission or principal): its values ORed, its `not`
 * values as NOT(OR(...)); an attribute read as a whole makes one matcher of all its values.
 */
function matchersOf<T>(
  r: AttributeRule,
  o: GenerateOptions,
  whole: ((key: string, values: string[], o: GenerateOptions) => T | undefined) | undefined,
  perValue: ((key: string, value: string, o: GenerateOptions) => T) | undefined,
  or: (items: T[]) => T,
  not: (item: T) => T,
): T[] {
  const out: T[] = [];
  for (const [values, negate] of [[r.values, false], [r.notValues, true]] as const) {
    if (!values.length) continue;
    let m: T | undefined;
    if (whole || !perValue) m = tolerate(o, () => (whole ?? unimplemented)(r.key, values, o));
    else {
      const each = values.map((v) => tolerate(o, () => perValue(r.key, v, o))).filter((x): x is T => !!x);
      m = each.length ? or(each) : undefined;
    }
    if (m) out.push(negate ? not(m) : m);
  }
  return out;
}

/** For ALLOW an error rejects the rule; otherwise the matcher is left out. */
function tolerate<T>(o: GenerateOptions, build: () => T): T | undefined {
  try {
    return build();
  } catch (e) {
    if (o.action === RBAC_Action.ALLOW) throw e;
    return undefined;
  }
}

function nonEmpty<T>(list: T[], fallback: () => T): T[] {
  return list.length ? list : [fallback()];
}
