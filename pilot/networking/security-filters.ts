// The request-level security filters of a workload's inbound and gateway listeners, in Istio's
// order: CUSTOM authorization (ext_authz), JWT authentication (RequestAuthentication), then the
// AUDIT, DENY and ALLOW RBAC filters. Built once per push for every proxy with the same policies
// (the workloads of one Deployment, usually), and kept across pushes while they stay.
import { createHash } from 'node:crypto';
import type { Filter } from '../../gen/envoy/config/listener/v3/listener_components_pb.js';
import type { HttpFilter } from '../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { jwtRulesFor, policiesFor, type PoliciesByAction } from '../model/authorization.js';
import { PUBLIC_ONLY_JWKS } from '../model/jwks.js';
import type { PushContext } from '../model/push-context.js';
import type { Proxy } from '../model/proxy.js';
import type { JWTRule } from '../config/schema/security.js';
import { envBool } from '../util/env-bool.js';
import { jwksFetchMode, jwtAuthnFilter, type JwtKeySources } from './authn/jwt.js';
import { AuthzBuilder } from './authz/builder.js';
import { resolveExtAuthzProviders, type ResolvedExtAuthz } from './authz/ext-authz.js';
import { TrustDomainBundle } from './authz/trust-domain.js';
import { labelsKey, objectId } from './view.js';
import { subsetKey } from './names.js';

export interface SecurityFilters {
  /** Identifies these filters: equal keys, equal filters (the same build, kept across pushes while the mesh config stays). */
  key: string;
  /** For a connection manager, before its router. */
  http: HttpFilter[];
  /** For a TCP chain, before its tcp_proxy (JWTs are HTTP only). */
  tcp: Filter[];
}

/** No policy applies: no filters. */
export const NO_SECURITY_FILTERS: SecurityFilters = { key: '', http: [], tcp: [] };

function extAuthzProviders(push: PushContext): Map<string, ResolvedExtAuthz> {
  return push.memo('authz/extAuthz', () =>
    resolveExtAuthzProviders(push.mesh.extensionProviders, (host) => servicesOf(push, host)),
  );
}

function servicesOf(push: PushContext, host: string): readonly string[] {
  return (push.registry.byHostname.get(host) ?? []).map((s) => s.namespace);
}

function keySources(push: PushContext): JwtKeySources {
  return {
    mode: jwksFetchMode(process.env.PILOT_JWT_ENABLE_REMOTE_JWKS),
    localJwks: (issuer, uri) => push.jwks.get(issuer, uri) ?? PUBLIC_ONLY_JWKS,
    // Istio's LookupCluster: the host must be one service, in one namespace.
    cluster: (host, port) => (servicesOf(push, host).length === 1 ? subsetKey('outbound', '', host, port) : undefined),
  };
}

/** Everything the filters are made of, hashed: policies, JWT rules and the keys they resolve to. */
function contentKey(p: PoliciesByAction, rules: readonly JWTRule[], keys: JwtKeySources, router: boolean): string {
  const authz = [...p.custom, ...p.deny, ...p.allow, ...p.audit].map((x) => [x.namespace, x.name, x.annotations, x.spec]);
  if (!authz.length && !rules.length) return '';
  const jwks = rules.map((r) => (r.jwks ? '' : keys.localJwks(r.issuer ?? '', r.jwksUri ?? '')));
  return createHash('sha1').update(JSON.stringify([authz, rules, jwks, keys.mode, router])).digest('base64');
}

/** The filters for the workload behind `proxy` (sidecar inbound chains, or a gateway's). */
export function securityFilters(push: PushContext, proxy: Proxy): SecurityFilters {
  if (!push.authorizationPolicies.length && !push.requestAuthentications.length) return NO_SECURITY_FILTERS;
  const router = proxy.type === 'router';
  return push.memo(`security|${router}|${proxy.namespace}|${labelsKey(proxy)}`, () => {
    const workload = { namespace: proxy.namespace, labels: proxy.labels };
    const policies = policiesFor(push.authorizationPolicies, push.mesh.rootNamespace, workload);
    const rules = jwtRulesFor(push.requestAuthentications, push.mesh.rootNamespace, workload);
    const keys = keySources(push);
    const key = contentKey(policies, rules, keys, router);
    if (!key) return NO_SECURITY_FILTERS;
    // Filters depend on their content key and the mesh config (a durable entry never outlives a
    // mesh change); CUSTOM providers and Envoy-fetched JWKS clusters also on which services
    // exist, so those are rebuilt each push.
    const registryBound = policies.custom.length > 0 || (keys.mode !== 'istiod' && rules.some((r) => r.jwksUri && !r.jwks));
    const cache = registryBound ? push.memo.bind(push) : push.durable.bind(push);
    return cache(`security|${key}`, (): SecurityFilters => {
      const builder = new AuthzBuilder(policies, {
        trustDomains: TrustDomainBundle.forMesh(push.mesh.trustDomain, push.mesh.trustDomainAliases),
        useAuthenticated: true,
        extAuthz: extAuthzProviders(push),
        multipleCustomProviders: envBool(process.env.PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS, false),
        warn: (m) => push.warn(`authorization: ${m}`),
      });
      // Gateways' routes may match on claims the JWT filter adds, so it clears the route cache there.
      const jwt = jwtAuthnFilter(rules, keys, router);
      const built: SecurityFilters = {
        key: '',
        http: [...builder.customHttp(), ...(jwt ? [jwt] : []), ...builder.http()],
        tcp: [...builder.customTcp(), ...builder.tcp()],
      };
      // The same policies make other filters under another mesh config (providers, trust
      // domains), so the key also names this very build: caches keyed by it never mix the two.
      built.key = `${key}#${objectId(built)}`;
      return built;
    });
  });
}
