// RequestAuthentication as Envoy's jwt_authn filter, as istiod builds it: one provider per JWT
// rule (`origins-N`, rules sorted by issuer), each verifying tokens from its locations and
// writing the payload to dynamic metadata under `payload`, where AuthorizationPolicy conditions
// on request principals and claims look. A request without a token passes (authentication only
// says who a caller is; AuthorizationPolicy decides), one with a bad token is refused.
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import {
  JwtAuthenticationSchema,
  JwtRequirementSchema,
  type JwtProvider,
  type JwtRequirement,
} from '../../../gen/envoy/extensions/filters/http/jwt_authn/v3/config_pb.js';
import type { HttpFilter } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import type { JWTRule } from '../../config/schema/security.js';
import { JWT_FILTER, JWT_PAYLOAD } from '../authz/matchers.js';
import { duration, httpFilter } from '../envoy.js';
import { subsetKey } from '../names.js';
import { DEFAULT_JWKS_TIMEOUT_SECONDS } from '../../model/jwks.js';

/** Claims Envoy splits on spaces in the metadata (OAuth scopes), besides those a rule names. */
const DEFAULT_SPACE_DELIMITED = ['permission', 'scope'];
const REMOTE_JWKS_CACHE_SECONDS = 300;

/** Who fetches keys from `jwksUri` (PILOT_JWT_ENABLE_REMOTE_JWKS). */
export type JwksFetchMode = 'istiod' | 'hybrid' | 'envoy';

export function jwksFetchMode(value: string | undefined): JwksFetchMode {
  if (value === 'hybrid' || value === 'true') return 'hybrid';
  if (value === 'envoy') return 'envoy';
  return 'istiod';
}

export interface JwtKeySources {
  mode: JwksFetchMode;
  /** The JWKS istiod holds for a rule without inline keys (fetched, or a fail-closed stand-in). */
  localJwks(issuer: string, jwksUri: string): string;
  /** The cluster that reaches a JWKS server, when the registry has one (Envoy and hybrid modes). */
  cluster(host: string, port: number): string | undefined;
}

type ProviderInit = MessageInitShape<typeof JwtAuthenticationSchema>['providers'] extends Record<string, infer P> | undefined ? P : never;

function spaceDelimitedClaims(rule: JWTRule): string[] {
  if (rule.spaceDelimitedClaims === undefined) return [...DEFAULT_SPACE_DELIMITED];
  return [...new Set([...rule.spaceDelimitedClaims, ...DEFAULT_SPACE_DELIMITED])].sort();
}

/** Host and port of a JWKS URI (Istio's ParseJwksURI: 80 for http, 443 for https when absent). */
function jwksEndpoint(uri: string): { host: string; port: number } | undefined {
  try {
    const u = new URL(uri);
    const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port };
  } catch {
    return undefined;
  }
}

function keySource(rule: JWTRule, keys: JwtKeySources): Pick<ProviderInit, 'jwksSourceSpecifier'> {
  const issuer = rule.issuer ?? '';
  const timeout = duration(rule.timeout?.seconds ?? DEFAULT_JWKS_TIMEOUT_SECONDS);
  const inline = (text: string) => ({ jwksSourceSpecifier: { case: 'localJwks' as const, value: { specifier: { case: 'inlineString' as const, value: text } } } });
  // An empty `jwks` is no keys at all (Go's empty string): istiod looks them up instead.
  if (keys.mode === 'istiod' || !rule.jwksUri) return inline(rule.jwks || keys.localJwks(issuer, rule.jwksUri ?? ''));
  const endpoint = jwksEndpoint(rule.jwksUri);
  const cluster = endpoint && keys.cluster(endpoint.host, endpoint.port);
  if (!cluster && keys.mode === 'hybrid') return inline(keys.localJwks(issuer, rule.jwksUri));
  // Envoy fetches the keys itself; without a known cluster it names the one a ServiceEntry would make.
  const name = cluster ?? subsetKey('outbound', '', endpoint?.host ?? '', endpoint?.port ?? 0);
  return {
    jwksSourceSpecifier: {
      case: 'remoteJwks',
      value: { httpUri: { uri: rule.jwksUri, httpUpstreamType: { case: 'cluster', value: name }, timeout }, cacheDuration: duration(REMOTE_JWKS_CACHE_SECONDS) },
    },
  };
}

function provider(rule: JWTRule, keys: JwtKeySources, clearRouteCache: boolean): ProviderInit {
  return {
    issuer: rule.issuer ?? '',
    audiences: rule.audiences ?? [],
    forward: rule.forwardOriginalToken ?? false,
    forwardPayloadHeader: rule.outputPayloadToHeader ?? '',
    payloadInMetadata: JWT_PAYLOAD,
    normalizePayloadInMetadata: { spaceDelimitedClaims: spaceDelimitedClaims(rule) },
    clearRouteCache,
    claimToHeaders: (rule.outputClaimToHeaders ?? []).map((c) => ({ headerName: c.header ?? '', claimName: c.claim ?? '' })),
    fromHeaders: (rule.fromHeaders ?? []).map((h) => ({ name: h.name ?? '', valuePrefix: h.prefix ?? '' })),
    fromParams: rule.fromParams ?? [],
    fromCookies: rule.fromCookies ?? [],
    ...keySource(rule, keys),
  };
}

const requirement = (r: MessageInitShape<typeof JwtRequirementSchema>['requiresType']): JwtRequirement => create(JwtRequirementSchema, { requiresType: r });

/**
 * The jwt_authn filter for the rules of the RequestAuthentications that select a workload
 * (undefined without rules). `clearRouteCache` for gateways, whose routes may match on claims.
 */
export function jwtAuthnFilter(rules: readonly JWTRule[], keys: JwtKeySources, clearRouteCache: boolean): HttpFilter | undefined {
  if (!rules.length) return undefined;
  // Stable, so rules with the same issuer keep their order (istiod's sort leaves it undefined).
  const sorted = [...rules].sort((a, b) => ((a.issuer ?? '') < (b.issuer ?? '') ? -1 : (a.issuer ?? '') > (b.issuer ?? '') ? 1 : 0));
  const providers: Record<string, ProviderInit> = {};
  // Each provider's token may be absent, but one that is present must verify ...
  const eachOptional: JwtRequirement[] = [];
  // ... and with several providers, a request carrying any one valid token also passes.
  const anyOne: JwtRequirement[] = [];
  sorted.forEach((rule, i) => {
    const name = `origins-${i}`;
    providers[name] = provider(rule, keys, clearRouteCache);
    eachOptional.push(requirement({ case: 'requiresAny', value: { requirements: [requirement({ case: 'providerName', value: name }), requirement({ case: 'allowMissing', value: {} })] } }));
    anyOne.push(requirement({ case: 'providerName', value: name }));
  });
  const requires = eachOptional.length === 1 ? eachOptional[0]! : requirement({ case: 'requiresAny', value: { requirements: [...anyOne, requirement({ case: 'requiresAll', value: { requirements: eachOptional } })] } });
  const config = create(JwtAuthenticationSchema, {
    rules: [{ match: { pathSpecifier: { case: 'prefix', value: '/' } }, requirementType: { case: 'requires', value: requires } }],
    providers: providers as Record<string, JwtProvider>,
    bypassCorsPreflight: true,
  });
  return httpFilter(JWT_FILTER, anyPack(JwtAuthenticationSchema, config));
}
