// Which AuthorizationPolicies apply to a workload, as Istio selects them: those of the root
// namespace and of the workload's namespace whose selector its labels satisfy (no selector:
// every workload there). Policies with `targetRef(s)` attach only to Kubernetes Gateway API
// gateways, by the gateway's name.
import type { Resource } from '../config/resource.js';
import { envBool } from '../util/env-bool.js';
import { compareStrings, timeOf } from '../config/kube-conversion/common.js';
import type { AuthorizationPolicy, JWTRule, RequestAuthentication } from '../config/schema/security.js';

/** An AuthorizationPolicy as the filter builder reads it. */
export interface AuthzPolicy {
  name: string;
  namespace: string;
  annotations: Record<string, string>;
  spec: AuthorizationPolicy;
}

/** The policies that apply to one workload, by action: the root namespace's first, then the workload's, each oldest first. */
export interface PoliciesByAction {
  custom: AuthzPolicy[];
  deny: AuthzPolicy[];
  allow: AuthzPolicy[];
  audit: AuthzPolicy[];
}

const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

/** Istio's config order: oldest first, then by name and namespace. */
export function byCreation<T>(list: readonly Resource<T>[]): Resource<T>[] {
  return [...list].sort((a, b) => timeOf(a.meta.creationTimestamp) - timeOf(b.meta.creationTimestamp) || compareStrings(a.meta.name, b.meta.name) || compareStrings(a.meta.namespace, b.meta.namespace));
}

export interface Workload {
  namespace: string;
  labels: Record<string, string>;
}

/** What AuthorizationPolicy and RequestAuthentication share: how they pick workloads. */
type Targetable = Pick<AuthorizationPolicy, 'selector' | 'targetRef' | 'targetRefs'>;

function selected(p: Targetable, labels: Record<string, string>): boolean {
  return Object.entries(p.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

function targetRefs(p: Targetable) {
  return p.targetRefs?.length ? p.targetRefs : p.targetRef ? [p.targetRef] : [];
}

/** Istio's ShouldAttachPolicy for sidecars and gateways (waypoints are not supported). */
function attaches(policy: Resource<Targetable>, w: Workload): boolean {
  const refs = targetRefs(policy.spec);
  const gateway = w.labels[GATEWAY_NAME_LABEL];
  if (gateway === undefined) return refs.length === 0 && selected(policy.spec, w.labels);
  // ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY (default true) lets selectors reach gateways too.
  if (!refs.length) return envBool(process.env.ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY, true) && selected(policy.spec, w.labels);
  if (policy.meta.namespace !== w.namespace) return false;
  return refs.some((r) => {
    const sameNamespace = !r.namespace || r.namespace === w.namespace;
    return sameNamespace && r.group === GATEWAY_API_GROUP && r.kind === 'Gateway' && r.name === gateway;
  });
}

/**
 * The policies of `all` (already in creation order) that apply to the workload, by action.
 * A policy without an action is ALLOW, as in Istio's API.
 */
export function policiesFor(all: readonly Resource<AuthorizationPolicy>[], rootNamespace: string, w: Workload): PoliciesByAction {
  const out: PoliciesByAction = { custom: [], deny: [], allow: [], audit: [] };
  const namespaces = rootNamespace === w.namespace ? [rootNamespace] : [rootNamespace, w.namespace];
  for (const ns of namespaces) {
    for (const p of all) {
      if (p.meta.namespace !== ns || !attaches(p, w)) continue;
      const policy: AuthzPolicy = { name: p.meta.name, namespace: p.meta.namespace, annotations: p.meta.annotations ?? {}, spec: p.spec };
      const action = p.spec.action ?? 'ALLOW';
      if (action === 'CUSTOM') out.custom.push(policy);
      else if (action === 'DENY') out.deny.push(policy);
      else if (action === 'AUDIT') out.audit.push(policy);
      else out.allow.push(policy);
    }
  }
  return out;
}

/**
 * The JWT rules of the RequestAuthentications (`all` in creation order) that apply to the
 * workload: its namespace's, then the root namespace's, as Istio looks them up.
 */
export function jwtRulesFor(all: readonly Resource<RequestAuthentication>[], rootNamespace: string, w: Workload): JWTRule[] {
  const namespaces = rootNamespace === w.namespace ? [w.namespace] : [w.namespace, rootNamespace];
  const out: JWTRule[] = [];
  for (const ns of namespaces) for (const p of all) if (p.meta.namespace === ns && attaches(p, w)) out.push(...(p.spec.jwtRules ?? []));
  return out;
}
