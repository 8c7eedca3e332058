// The authorization filters a workload's listeners carry, built once per push for every proxy
// with the same policies (the workloads of one Deployment, usually).
import { createHash } from 'node:crypto';
import type { Filter } from '../../../gen/envoy/config/listener/v3/listener_components_pb.js';
import type { HttpFilter } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { policiesFor, type PoliciesByAction } from '../../model/authorization.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { envBool } from '../../util/env-bool.js';
import { objectId } from '../view.js';
import { AuthzBuilder } from './builder.js';
import { resolveExtAuthzProviders, type ResolvedExtAuthz } from './ext-authz.js';
import { TrustDomainBundle } from './trust-domain.js';

export interface WorkloadAuthz {
  /** Identifies these filters: equal keys, equal filters (the same build, kept across pushes while the mesh config stays). */
  key: string;
  /** CUSTOM then ALLOW/DENY/AUDIT filters, for a connection manager (before its router). */
  http: HttpFilter[];
  /** The same for a TCP chain (before its tcp_proxy). */
  tcp: Filter[];
}

/** No policy applies: no filters. */
export const NO_AUTHZ: WorkloadAuthz = { key: '', http: [], tcp: [] };

function extAuthzProviders(push: PushContext): Map<string, ResolvedExtAuthz> {
  return push.memo('authz/extAuthz', () =>
    resolveExtAuthzProviders(push.mesh.extensionProviders, (host) => (push.registry.byHostname.get(host) ?? []).map((s) => s.namespace)),
  );
}

function policyKey(p: PoliciesByAction): string {
  const all = [...p.custom, ...p.deny, ...p.allow, ...p.audit];
  if (!all.length) return '';
  // The spec and annotations are what the filters are made of; a hash keeps cache keys short.
  return createHash('sha1').update(JSON.stringify(all.map((x) => [x.namespace, x.name, x.annotations, x.spec]))).digest('base64');
}

/**
 * The filters for the workload behind `proxy`. Sidecars check the peer's certificate
 * (`authenticated` principals); so do gateways.
 */
export function workloadAuthz(push: PushContext, proxy: Proxy): WorkloadAuthz {
  if (!push.authorizationPolicies.length) return NO_AUTHZ;
  const labels = Object.entries(proxy.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return push.memo(`authz|${proxy.namespace}|${JSON.stringify(labels)}`, () => {
    const policies = policiesFor(push.authorizationPolicies, push.mesh.rootNamespace, { namespace: proxy.namespace, labels: proxy.labels });
    const key = policyKey(policies);
    if (!key) return NO_AUTHZ;
    // The filters depend on the policies and the mesh (a durable entry never outlives a mesh
    // change); CUSTOM ones also on which services exist, so those are rebuilt each push.
    const cache = policies.custom.length ? push.memo.bind(push) : push.durable.bind(push);
    return cache(`authz|${key}`, (): WorkloadAuthz => {
      const builder = new AuthzBuilder(policies, {
        trustDomains: TrustDomainBundle.forMesh(push.mesh.trustDomain, push.mesh.trustDomainAliases),
        useAuthenticated: true,
        extAuthz: extAuthzProviders(push),
        multipleCustomProviders: envBool(process.env.PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS, false),
        warn: (m) => push.warn(`authorization: ${m}`),
      });
      const built: WorkloadAuthz = { key: '', http: [...builder.customHttp(), ...builder.http()], tcp: [...builder.customTcp(), ...builder.tcp()] };
      // The same policies make other filters under another mesh config (providers, trust
      // domains), so the key also names this very build: caches keyed by it never mix the two.
      built.key = `${key}#${objectId(built)}`;
      return built;
    });
  });
}
