// Authorization for xDS-enabled gRPC servers, as Istio's grpcgen builds it: gRPC's RBAC filter
// knows only ALLOW and DENY, so AUDIT and CUSTOM policies are left out, and there are no shadow
// rules, and principals are matched as written (no trust domain aliases). A DENY filter comes
// first, then an ALLOW one.
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { RBAC_Action, RBACSchema, type RBAC } from '../../../gen/envoy/config/rbac/v3/rbac_pb.js';
import { RBACSchema as HttpRbacSchema } from '../../../gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js';
import type { HttpFilter } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { policiesFor, type AuthzPolicy } from '../../model/authorization.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { HTTP_RBAC, matchNever } from './builder.js';
import { RuleModel } from './rule-model.js';
import { httpFilter } from '../envoy.js';
import { labelsKey } from '../view.js';

function rules(push: PushContext, action: RBAC_Action, policies: AuthzPolicy[]): RBAC {
  const out = create(RBACSchema, { action, policies: {} });
  for (const p of policies) {
    const list = p.spec.rules ?? [];
    list.forEach((rule, i) => {
      const name = `${p.namespace}-${p.name}-${i}`;
      try {
        // As in istiod's grpcgen, principals stay as written: trust domain aliases are not applied.
        out.policies[name] = RuleModel.of(p.namespace, rule).generate({ forTcp: false, useAuthenticated: true, action });
      } catch (e) {
        push.warn(`authorization: skipped rule ${name} for gRPC servers: ${(e as Error).message}`);
      }
    });
    // A policy without rules matches nothing, so an ALLOW one allows nothing: Istio's documented
    // "allow-nothing" policy. (istiod's grpcgen adds no rule for it, leaving gRPC servers open.)
    if (!list.length) out.policies[`${p.namespace}-${p.name}-0`] = matchNever();
  }
  return out;
}

function filter(name: string, rbac: RBAC): HttpFilter {
  return httpFilter(name, anyPack(HttpRbacSchema, create(HttpRbacSchema, { rules: rbac })));
}

/** The RBAC filters of the server behind `proxy` (none when no ALLOW or DENY policy applies). */
export function grpcServerAuthzFilters(push: PushContext, proxy: Proxy): HttpFilter[] {
  if (!push.authorizationPolicies.length) return [];
  return push.memo(`authz/grpc|${proxy.namespace}|${labelsKey(proxy)}`, () => {
    const policies = policiesFor(push.authorizationPolicies, push.mesh.rootNamespace, { namespace: proxy.namespace, labels: proxy.labels });
    const out: HttpFilter[] = [];
    const deny = rules(push, RBAC_Action.DENY, policies.deny);
    if (Object.keys(deny.policies).length) out.push(filter(`${HTTP_RBAC}.DENY`, deny));
    const allow = rules(push, RBAC_Action.ALLOW, policies.allow);
    if (Object.keys(allow.policies).length) out.push(filter(HTTP_RBAC, allow));
    return out;
  });
}
