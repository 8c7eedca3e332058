// The authorization filters of one listener, as Istio builds them from the AuthorizationPolicies
// that apply to a workload: an RBAC filter per action in the order AUDIT, DENY, ALLOW (Envoy
// runs them in sequence, so a DENY wins over an ALLOW), dry-run policies as shadow rules, and
// for CUSTOM policies an RBAC filter in shadow mode that marks requests for the ext_authz filter
// after it.
import { create } from '@bufbuild/protobuf';
import { anyPack, type Any } from '@bufbuild/protobuf/wkt';
import { PolicySchema, RBAC_Action, RBACSchema, type Policy, type RBAC } from '../../../gen/envoy/config/rbac/v3/rbac_pb.js';
import { FilterSchema, type Filter } from '../../../gen/envoy/config/listener/v3/listener_components_pb.js';
import type { HttpFilter } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { RBACSchema as HttpRbacSchema } from '../../../gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js';
import { RBACSchema as TcpRbacSchema } from '../../../gen/envoy/extensions/filters/network/rbac/v3/rbac_pb.js';
import { ExtAuthzSchema as HttpExtAuthzSchema } from '../../../gen/envoy/extensions/filters/http/ext_authz/v3/ext_authz_pb.js';
import { ExtAuthzSchema as TcpExtAuthzSchema } from '../../../gen/envoy/extensions/filters/network/ext_authz/v3/ext_authz_pb.js';
import type { AuthzPolicy, PoliciesByAction } from '../../model/authorization.js';
import { parseGoBool } from '../../util/env-bool.js';
import { EXT_AUTHZ_MATCH_PREFIX as EXT_AUTHZ_PREFIX, extAuthzFor, filterEnabledMetadata, HTTP_RBAC_FILTER as HTTP_RBAC, TCP_RBAC_FILTER as TCP_RBAC, type ResolvedExtAuthz } from './ext-authz.js';
import { RuleModel } from './rule-model.js';
import { httpFilter } from '../envoy.js';
import type { TrustDomainBundle } from './trust-domain.js';

export { HTTP_RBAC_FILTER as HTTP_RBAC } from './ext-authz.js';
const HTTP_EXT_AUTHZ = 'envoy.filters.http.ext_authz';
const TCP_EXT_AUTHZ = 'envoy.filters.network.ext_authz';
const TCP_STAT_PREFIX = 'tcp.';
const EXT_AUTHZ_SHADOW_STAT_PREFIX = 'istio_ext_authz_';
const BAD_CUSTOM_SUFFIX = '-deny-due-to-bad-CUSTOM-action';
const DRY_RUN_ANNOTATION = 'istio.io/dry-run';

export interface BuilderOptions {
  trustDomains: TrustDomainBundle;
  /** Check the peer's certificate (sidecars, gateways); false reads Istio's filter state (waypoints). */
  useAuthenticated: boolean;
  /** The mesh's resolved ext_authz providers, for CUSTOM policies. */
  extAuthz: Map<string, ResolvedExtAuthz>;
  /** PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS. */
  multipleCustomProviders: boolean;
  /** Where skipped rules and provider errors are reported; Istio logs them and goes on. */
  warn: (message: string) => void;
}

/** A policy that matches nothing: what a policy without rules adds (for ALLOW, it allows nothing). */
export function matchNever(): Policy {
  return create(PolicySchema, {
    permissions: [{ rule: { case: 'notRule', value: { rule: { case: 'any', value: true } } } }],
    principals: [{ identifier: { case: 'notId', value: { identifier: { case: 'any', value: true } } } }],
  });
}

/** What the policies of one action (or one CUSTOM provider) compile to. */
interface ActionRules {
  enforce?: RBAC;
  dryRun?: RBAC;
}

function isDryRun(p: AuthzPolicy, warn: (m: string) => void): boolean {
  const v = p.annotations[DRY_RUN_ANNOTATION];
  if (v === undefined) return false;
  const parsed = parseGoBool(v);
  if (parsed === undefined) {
    warn(`failed to parse the value of ${DRY_RUN_ANNOTATION}: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
    return false;
  }
  return parsed;
}

function policyName(p: AuthzPolicy, rule: number, provider: string | undefined): string {
  const custom = provider === undefined ? '' : provider ? `${EXT_AUTHZ_PREFIX}-${provider}-` : `${EXT_AUTHZ_PREFIX}-`;
  return `${custom}ns[${p.namespace}]-policy[${p.name}]-rule[${rule}]`;
}

/** The AuthorizationPolicy and rule an RBAC policy name (see `policyName`) comes from; undefined for other names. */
export function parsePolicyName(name: string): { namespace: string; name: string; rule: string } | undefined {
  const m = /ns\[(.+)\]-policy\[(.+)\]-rule\[(.+)\]/.exec(name);
  return m ? { namespace: m[1]!, name: m[2]!, rule: m[3]! } : undefined;
}

function emptyRbac(action: RBAC_Action): RBAC {
  return create(RBACSchema, { action, policies: {} });
}

/** Shadow rules report their result in stats under a prefix naming the action they would take. */
function shadowStatPrefix(shadow: RBAC | undefined): string {
  const action = shadow?.action ?? RBAC_Action.ALLOW;
  return action === RBAC_Action.ALLOW ? 'istio_dry_run_allow_' : action === RBAC_Action.DENY ? 'istio_dry_run_deny_' : '';
}

export class AuthzBuilder {
  constructor(
    private readonly policies: PoliciesByAction,
    private readonly options: BuilderOptions,
  ) {}

  /** The HTTP filters of the ALLOW/DENY/AUDIT policies, for a connection manager. */
  http(): HttpFilter[] {
    const out: HttpFilter[] = [];
    for (const [list, action] of this.localActions()) {
      const r = this.compile(list, action, false);
      out.push(httpFilter(HTTP_RBAC, anyPack(HttpRbacSchema, create(HttpRbacSchema, { rules: r.enforce, shadowRules: r.dryRun, shadowRulesStatPrefix: shadowStatPrefix(r.dryRun) }))));
    }
    return out;
  }

  /** The network filters of the ALLOW/DENY/AUDIT policies, for a TCP chain. */
  tcp(): Filter[] {
    const out: Filter[] = [];
    for (const [list, action] of this.localActions()) {
      const r = this.compile(list, action, true);
      const rbac = create(TcpRbacSchema, { rules: r.enforce, statPrefix: TCP_STAT_PREFIX, shadowRules: r.dryRun, shadowRulesStatPrefix: shadowStatPrefix(r.dryRun) });
      out.push(networkFilter(TCP_RBAC, anyPack(TcpRbacSchema, rbac)));
    }
    return out;
  }

  /** The HTTP filters of CUSTOM policies: per provider, a marking RBAC filter and its ext_authz. */
  customHttp(): HttpFilter[] {
    return this.custom(false).flatMap(({ provider, rules, bad, filters }) => {
      if (bad) return [httpFilter(HTTP_RBAC, anyPack(HttpRbacSchema, create(HttpRbacSchema, { rules: bad })))];
      const ext = filters!.http;
      if (!ext) return [];
      const rbac = create(HttpRbacSchema, { shadowRules: rules.enforce, shadowRulesStatPrefix: EXT_AUTHZ_SHADOW_STAT_PREFIX });
      if (rules.dryRun && Object.keys(rules.dryRun.policies).length) rbac.rules = rules.dryRun;
      ext.filterEnabledMetadata = filterEnabledMetadata(HTTP_RBAC, provider);
      return [httpFilter(HTTP_RBAC, anyPack(HttpRbacSchema, rbac)), httpFilter(HTTP_EXT_AUTHZ, anyPack(HttpExtAuthzSchema, ext))];
    });
  }

  /** The network filters of CUSTOM policies; HTTP-only providers add nothing on TCP chains. */
  customTcp(): Filter[] {
    return this.custom(true).flatMap(({ provider, rules, bad, filters }) => {
      if (bad) return [networkFilter(TCP_RBAC, anyPack(TcpRbacSchema, create(TcpRbacSchema, { rules: bad, statPrefix: TCP_STAT_PREFIX })))];
      const ext = filters!.tcp;
      if (!ext) return [];
      const rbac = create(TcpRbacSchema, { shadowRules: rules.enforce, statPrefix: TCP_STAT_PREFIX, shadowRulesStatPrefix: EXT_AUTHZ_SHADOW_STAT_PREFIX });
      if (rules.dryRun && Object.keys(rules.dryRun.policies).length) rbac.rules = rules.dryRun;
      ext.filterEnabledMetadata = filterEnabledMetadata(TCP_RBAC, provider);
      return [networkFilter(TCP_RBAC, anyPack(TcpRbacSchema, rbac)), networkFilter(TCP_EXT_AUTHZ, anyPack(TcpExtAuthzSchema, ext))];
    });
  }

  private localActions(): [AuthzPolicy[], RBAC_Action][] {
    const p = this.policies;
    const all: [AuthzPolicy[], RBAC_Action][] = [
      [p.audit, RBAC_Action.LOG],
      [p.deny, RBAC_Action.DENY],
      [p.allow, RBAC_Action.ALLOW],
    ];
    return all.filter(([list]) => list.length > 0);
  }

  /** Rules of one action; an enforce or dry-run set is present only when some policy went there. */
  private compile(list: AuthzPolicy[], action: RBAC_Action, forTcp: boolean, provider?: string): ActionRules {
    const enforce = emptyRbac(action);
    const dryRun = emptyRbac(action);
    let hasEnforce = false;
    let hasDryRun = false;
    for (const p of list) {
      const target = isDryRun(p, this.options.warn) ? dryRun : enforce;
      if (target === dryRun) hasDryRun = true;
      else hasEnforce = true;
      this.addPolicy(target, p, action, forTcp, provider);
    }
    return { enforce: hasEnforce ? enforce : undefined, dryRun: hasDryRun ? dryRun : undefined };
  }

  private addPolicy(target: RBAC, p: AuthzPolicy, action: RBAC_Action, forTcp: boolean, provider: string | undefined): void {
    const rules = p.spec.rules ?? [];
    rules.forEach((rule, i) => {
      const name = policyName(p, i, provider);
      if (!rule) {
        this.options.warn(`skipped nil rule ${name}`);
        return;
      }
      let policy: Policy;
      try {
        const model = RuleModel.of(p.namespace, rule);
        model.withTrustDomains(this.options.trustDomains);
        policy = model.generate({ forTcp, useAuthenticated: this.options.useAuthenticated, action });
      } catch (e) {
        this.options.warn(`skipped rule ${name}${forTcp ? ' on TCP filter chain' : ''}: ${(e as Error).message}`);
        return;
      }
      target.policies[name] = policy;
    });
    if (!rules.length) target.policies[policyName(p, 0, provider)] = matchNever();
  }

  /**
   * CUSTOM policies by provider (sorted by name). A provider that is unknown or invalid, or more
   * than one provider while only one is allowed, turns its policies into DENY rules: a request
   * the external check should have seen must not pass unchecked.
   */
  private custom(forTcp: boolean): { provider: string; rules: ActionRules; bad?: RBAC; filters?: Exclude<ReturnType<typeof extAuthzFor>, Error> }[] {
    const byProvider = new Map<string, AuthzPolicy[]>();
    for (const p of this.policies.custom) {
      const name = p.spec.provider?.name ?? '';
      byProvider.set(name, [...(byProvider.get(name) ?? []), p]);
    }
    const providers = [...byProvider.keys()].sort();
    const tooMany = providers.length > 1 && !this.options.multipleCustomProviders;
    if (tooMany) {
      this.options.warn(
        `multiple CUSTOM authorization providers per workload requires PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS feature flag, found ${providers.length} providers: [${providers.join(' ')}]`,
      );
    }
    return providers.map((provider) => {
      const compiled = this.compile(byProvider.get(provider)!, RBAC_Action.DENY, forTcp, provider);
      // A provider's enforced set exists even when all its policies are dry runs (it is then empty).
      const rules = { ...compiled, enforce: compiled.enforce ?? emptyRbac(RBAC_Action.DENY) };
      const filters = tooMany ? undefined : extAuthzFor(this.options.extAuthz, provider);
      if (!filters || filters instanceof Error) {
        if (filters) this.options.warn(`failed to process CUSTOM action for provider ${provider}, will generate deny configs: ${filters.message}`);
        return { provider, rules, bad: badCustomDeny(rules.enforce) };
      }
      return { provider, rules, filters };
    });
  }
}

/** The provider's enforced rules as DENY rules, renamed so their purpose shows in Envoy's stats. */
function badCustomDeny(rules: RBAC | undefined): RBAC {
  const out = emptyRbac(RBAC_Action.DENY);
  for (const [name, policy] of Object.entries(rules?.policies ?? {})) out.policies[name + BAD_CUSTOM_SUFFIX] = policy;
  return out;
}

function networkFilter(name: string, typedConfig: Any): Filter {
  return create(FilterSchema, { name, configType: { case: 'typedConfig', value: typedConfig } });
}
