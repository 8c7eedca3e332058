// Envoy's RBAC filters evaluated for a simulated request: which policy of which filter matches,
// and whether the request goes on. Envoy runs the filters in order; a DENY filter with a
// matching policy, or an ALLOW filter with none, ends the request (HTTP 403, or the connection
// closed on a TCP chain). LOG filters and shadow rules only report.
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { RBAC_Action, type Permission, type Policy, type Principal, type RBAC } from '../../gen/envoy/config/rbac/v3/rbac_pb.js';
import type { Filter } from '../../gen/envoy/config/listener/v3/listener_components_pb.js';
import type { HttpFilter } from '../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import type { RBAC as HttpRbac } from '../../gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js';
import type { RBAC as TcpRbac } from '../../gen/envoy/extensions/filters/network/rbac/v3/rbac_pb.js';
import { UriTemplateMatchConfigSchema } from '../../gen/envoy/extensions/path/match/uri_template/v3/uri_template_match_pb.js';
import type { CidrRange } from '../../gen/envoy/config/core/v3/address_pb.js';
import type { MetadataMatcher } from '../../gen/envoy/type/matcher/v3/metadata_pb.js';
import type { ValueMatcher } from '../../gen/envoy/type/matcher/v3/value_pb.js';
import type { JwtAuthentication } from '../../gen/envoy/extensions/filters/http/jwt_authn/v3/config_pb.js';
import { envoyRegistry } from '../networking/registry.js';
import { JWT_FILTER } from '../networking/authz/matchers.js';
import { cidrContains, matchHeader, matchString, type RequestHeaders } from './matchers.js';

const HTTP_RBAC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const TCP_RBAC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';
const EXT_AUTHZ = /ext_authz\.v3\.ExtAuthz$/;

/** What the RBAC filters can see of a request or connection. */
export interface AuthzInput {
  /** Request headers, pseudo-headers included; absent on a TCP chain. */
  headers?: RequestHeaders;
  destinationAddress: string;
  destinationPort: number;
  /** The connection's peer address (`source_ip`, `direct_remote_ip`). */
  sourceAddress?: string;
  /** The client address as the connection manager derives it (`remote_ip`): from x-forwarded-for unless it uses the peer's. */
  remoteAddress?: string;
  /** The SNI the listener saw ('' without TLS inspection). */
  sni?: string;
  /** The URI SAN of the caller's certificate, when the chain asked for one. */
  peerPrincipal?: string;
  /** True on mutual TLS whose certificate the call does not name: a principal exists but is unknown. */
  peerPrincipalUnknown?: boolean;
  /** The payload of a JWT the request carries; jwt_authn decides whether RBAC sees it. */
  jwtPayload?: Record<string, unknown>;
  /** A network filter chain: a denial closes the connection. */
  tcp?: boolean;
}

export interface AuthzStep {
  /** The filter's name in the chain. */
  filter: string;
  detail: string;
  /**
   * The policies that decided: those that matched, or for an ALLOW filter that matched none
   * (and so denied), all of its policies. Istio's are named `ns[...]-policy[...]-rule[...]`.
   */
  policies: string[];
  /** Shadow policies that matched (dry runs, and the marks that send a request to ext_authz). */
  shadowMatched?: string[];
}

export interface AuthzOutcome {
  allowed: boolean;
  steps: AuthzStep[];
  /** Parts of the config the evaluation could not check (it assumed no match). */
  notes: string[];
}

class Evaluator {
  readonly notes: string[] = [];
  /** What jwt_authn verified so far (RBAC filters before it, or without it, see no token). */
  jwtPayload?: Record<string, unknown>;
  constructor(private readonly input: AuthzInput) {}

  private path(): string | undefined {
    const p = this.input.headers?.get(':path');
    return p === undefined ? undefined : p.replace(/[?#].*$/, '');
  }

  private cidr(r: CidrRange | undefined, address: string | undefined): boolean {
    return !!r && !!address && cidrContains(r.addressPrefix, r.prefixLen ?? 0, address);
  }

  permission(p: Permission): boolean {
    const r = p.rule;
    switch (r.case) {
      case 'any':
        return r.value;
      case 'andRules':
        return r.value.rules.every((x) => this.permission(x));
      case 'orRules':
        return r.value.rules.some((x) => this.permission(x));
      case 'notRule':
        return !this.permission(r.value);
      case 'header':
        return !!this.input.headers && matchHeader(r.value, this.input.headers);
      case 'urlPath': {
        const path = this.path();
        return path !== undefined && r.value.rule.case === 'path' && matchString(r.value.rule.value, path);
      }
      case 'destinationIp':
        return this.cidr(r.value, this.input.destinationAddress);
      case 'destinationPort':
        return r.value === this.input.destinationPort;
      case 'destinationPortRange':
        return this.input.destinationPort >= r.value.start && this.input.destinationPort < r.value.end;
      case 'requestedServerName':
        return matchString(r.value, this.input.sni ?? '');
      case 'metadata':
        return this.metadata(r.value);
      case 'uriTemplate': {
        const path = this.path();
        const cfg = r.value.typedConfig && anyUnpack(r.value.typedConfig, UriTemplateMatchConfigSchema);
        return path !== undefined && !!cfg && uriTemplate(cfg.pathTemplate).test(path);
      }
      default:
        this.notes.push(`RBAC permission ${r.case ?? '(empty)'} is not simulated; taken as not matching`);
        return false;
    }
  }

  principal(p: Principal): boolean {
    const id = p.identifier;
    switch (id.case) {
      case 'any':
        return id.value;
      case 'andIds':
        return id.value.ids.every((x) => this.principal(x));
      case 'orIds':
        return id.value.ids.some((x) => this.principal(x));
      case 'notId':
        return !this.principal(id.value);
      case 'authenticated':
        // Only a client certificate authenticates a connection; its URI SAN is the name.
        if (this.input.peerPrincipalUnknown) this.notes.push("the caller's certificate is not known (give --principal): authenticated principals were taken as not matching");
        return this.input.peerPrincipal !== undefined && (!id.value.principalName || matchString(id.value.principalName, this.input.peerPrincipal));
      case 'directRemoteIp':
      case 'sourceIp':
        if (this.input.sourceAddress === undefined) this.notes.push("the caller's address is not known (give --source-ip): source IP rules were taken as not matching");
        return this.cidr(id.value, this.input.sourceAddress);
      case 'remoteIp':
        if (this.input.remoteAddress === undefined) this.notes.push("the caller's address is not known (give --source-ip or an x-forwarded-for header): remote IP rules were taken as not matching");
        return this.cidr(id.value, this.input.remoteAddress);
      case 'header':
        return !!this.input.headers && matchHeader(id.value, this.input.headers);
      case 'urlPath': {
        const path = this.path();
        return path !== undefined && id.value.rule.case === 'path' && matchString(id.value.rule.value, path);
      }
      case 'metadata':
        return this.metadata(id.value);
      default:
        this.notes.push(`RBAC principal ${id.case ?? '(empty)'} is not simulated; taken as not matching`);
        return false;
    }
  }

  /** Dynamic metadata: only what jwt_authn writes (the verified token's payload) is simulated. */
  private metadata(m: MetadataMatcher): boolean {
    if (m.filter !== JWT_FILTER) {
      this.notes.push(`metadata of ${m.filter} is not simulated; taken as absent`);
      return m.invert;
    }
    let v: unknown = this.jwtPayload === undefined ? undefined : { payload: this.jwtPayload };
    for (const seg of m.path) v = isStruct(v) && seg.segment.case === 'key' && Object.hasOwn(v, seg.segment.value) ? v[seg.segment.value] : undefined;
    const matched = v !== undefined && !!m.value && matchValue(m.value, v);
    return matched !== m.invert;
  }

  policy(p: Policy): boolean {
    if (p.condition || p.checkedCondition) this.notes.push('RBAC policy conditions (CEL) are not simulated');
    return p.permissions.some((x) => this.permission(x)) && p.principals.some((x) => this.principal(x));
  }

  /** The names of the rules' policies that match, in name order. */
  matching(rules: RBAC): string[] {
    return Object.keys(rules.policies)
      .sort()
      .filter((name) => this.policy(rules.policies[name]!));
  }
}

function isStruct(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function matchValue(m: ValueMatcher, v: unknown): boolean {
  const p = m.matchPattern;
  switch (p.case) {
    case 'stringMatch':
      return typeof v === 'string' && matchString(p.value, v);
    case 'presentMatch':
      return p.value === (v !== undefined);
    case 'boolMatch':
      return v === p.value;
    case 'nullMatch':
      return v === null;
    case 'doubleMatch':
      return typeof v === 'number' && (p.value.matchPattern.case === 'exact' ? v === p.value.matchPattern.value : p.value.matchPattern.case === 'range' && v >= p.value.matchPattern.value.start && v < p.value.matchPattern.value.end);
    case 'listMatch':
      return Array.isArray(v) && p.value.matchPattern.case === 'oneOf' && v.some((x) => matchValue(p.value.matchPattern.value!, x));
    case 'orMatch':
      return p.value.valueMatchers.some((x) => matchValue(x, v));
    default:
      return false;
  }
}

/** Envoy's path templates: `*` is one path segment, `**` any number of them. */
function uriTemplate(template: string): RegExp {
  const parts = template.split('/').map((seg) => (seg === '**' ? '.*' : seg === '*' ? '[^/]+' : seg.replace(/[.+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${parts.join('/')}$`);
}

/** A few names, then how many more: enough to find the policies without flooding the table. */
function listed(names: string[]): string {
  if (!names.length) return 'there are none';
  return names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
}

function actionName(a: RBAC_Action): string {
  return a === RBAC_Action.ALLOW ? 'ALLOW' : a === RBAC_Action.DENY ? 'DENY' : 'LOG';
}

type RbacConfig = Pick<HttpRbac | TcpRbac, 'rules' | 'shadowRules' | 'matcher' | 'shadowMatcher'>;

/** One RBAC filter: whether it lets the request on, and what to say about it. */
function evaluateRbac(name: string, cfg: RbacConfig, ev: Evaluator, tcp: boolean): { allowed: boolean; step: AuthzStep } {
  if (!cfg.rules && !cfg.shadowRules && (cfg.matcher || cfg.shadowMatcher)) ev.notes.push(`${name} uses the matcher API, which the simulation does not evaluate: taken as allowing`);
  const parts: string[] = [];
  const policies: string[] = [];
  const shadowMatched: string[] = [];
  let allowed = true;
  if (cfg.rules) {
    const matched = ev.matching(cfg.rules);
    const action = cfg.rules.action;
    if (action === RBAC_Action.ALLOW) allowed = matched.length > 0;
    else if (action === RBAC_Action.DENY) allowed = matched.length === 0;
    policies.push(...(action === RBAC_Action.ALLOW && !allowed ? Object.keys(cfg.rules.policies).sort() : matched));
    const verdict = allowed ? 'allowed' : tcp ? 'DENIED (connection closed)' : 'DENIED (403)';
    const which = matched.length ? `policy ${matched.join(', ')} matches` : `no policy matches (${listed(Object.keys(cfg.rules.policies).sort())})`;
    parts.push(`${actionName(action)} rules: ${which}: ${action === RBAC_Action.LOG ? 'logged' : verdict}`);
  }
  if (cfg.shadowRules) {
    const matched = ev.matching(cfg.shadowRules);
    shadowMatched.push(...matched);
    parts.push(`shadow ${actionName(cfg.shadowRules.action)} rules (dry run or CUSTOM marking, not enforced): ${matched.length ? `policy ${matched.join(', ')} matches` : 'no policy matches'}`);
  }
  return { allowed, step: { filter: name, detail: parts.join('; ') || 'no rules', policies, shadowMatched } };
}

function unpackRbac(typeUrl: string, value: Parameters<typeof anyUnpack>[0]): RbacConfig | undefined {
  if (typeUrl !== HTTP_RBAC_TYPE_URL && typeUrl !== TCP_RBAC_TYPE_URL) return undefined;
  return anyUnpack(value, envoyRegistry()) as unknown as RbacConfig;
}

/**
 * Runs the RBAC filters among `filters` (an HTTP connection manager's or a chain's network
 * filters) in order. JWT and ext_authz filters are reported, not run: the call says which token
 * payload jwt_authn verified, and an external authorizer's answer cannot be known here.
 */
export function evaluateAuthorization(filters: readonly (HttpFilter | Filter)[], input: AuthzInput): AuthzOutcome | undefined {
  const ev = new Evaluator(input);
  const steps: AuthzStep[] = [];
  const stop = () => ({ allowed: false, steps, notes: [...new Set(ev.notes)] });
  let seen = false;
  for (const f of filters) {
    if (f.configType.case !== 'typedConfig') continue;
    const any = f.configType.value;
    if (f.name === JWT_FILTER) {
      seen = true;
      const jwt = verifyJwt(anyUnpack(any, envoyRegistry()) as unknown as JwtAuthentication | undefined, input.jwtPayload);
      steps.push({ filter: f.name, detail: jwt.detail, policies: [] });
      if (!jwt.ok) return stop();
      ev.jwtPayload = jwt.payload;
      continue;
    }
    if (EXT_AUTHZ.test(any.typeUrl)) {
      seen = true;
      const marked = steps.at(-1)?.shadowMatched ?? [];
      if (marked.length) ev.notes.push(`CUSTOM policy ${marked.join(', ')} sends this request to an external authorizer, whose answer the simulation cannot know`);
      steps.push({ filter: f.name, detail: marked.length ? `CUSTOM policy ${marked.join(', ')} matched: the external authorizer decides` : 'no CUSTOM policy matched: not consulted', policies: marked });
      continue;
    }
    const cfg = unpackRbac(any.typeUrl, any);
    if (!cfg) continue;
    seen = true;
    if (input.jwtPayload && !steps.some((x) => x.filter === JWT_FILTER)) {
      ev.notes.push('no RequestAuthentication applies here: the token is not verified, and RBAC sees no request principal or claims');
    }
    const r = evaluateRbac(f.name, cfg, ev, !!input.tcp);
    steps.push(r.step);
    if (!r.allowed) return stop();
  }
  return seen ? { allowed: true, steps, notes: [...new Set(ev.notes)] } : undefined;
}

/**
 * What jwt_authn does with the call's token, as istiod configures it (a missing token passes;
 * a present one must come from a provider's issuer, for its audiences): the payload RBAC then
 * sees, with the claims the provider splits on spaces made lists.
 */
function verifyJwt(cfg: JwtAuthentication | undefined, payload: Record<string, unknown> | undefined): { ok: boolean; detail: string; payload?: Record<string, unknown> } {
  if (!payload) return { ok: true, detail: 'no token: passes, no request principal' };
  const iss = payload.iss;
  const providers = Object.values(cfg?.providers ?? {});
  const p = providers.find((x) => x.issuer === iss);
  if (!p) return { ok: false, detail: `token issuer ${JSON.stringify(iss)} is not one of ${providers.map((x) => x.issuer).join(', ') || 'none'}: REJECTED (401)` };
  const aud = Array.isArray(payload.aud) ? payload.aud : payload.aud === undefined ? [] : [payload.aud];
  if (p.audiences.length && !aud.some((a) => p.audiences.includes(String(a)))) {
    return { ok: false, detail: `token audiences ${JSON.stringify(aud)} include none of ${p.audiences.join(', ')}: REJECTED (401)` };
  }
  const normalized: Record<string, unknown> = { ...payload };
  for (const claim of p.normalizePayloadInMetadata?.spaceDelimitedClaims ?? []) {
    const v = normalized[claim];
    if (typeof v === 'string') normalized[claim] = v.split(' ').filter(Boolean);
  }
  return { ok: true, detail: `token from ${iss} taken as valid (claims as given with the call)`, payload: normalized };
}
