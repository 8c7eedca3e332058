// RequestAuthentication as Envoy's jwt_authn filter: where it goes (inbound HTTP chains of the
// selected workloads and gateways, after CUSTOM and before the RBAC filters), what its providers
// hold, where the keys come from in each PILOT_JWT_ENABLE_REMOTE_JWKS mode, and that it passes
// Envoy's validate.rules.
import assert from 'node:assert/strict';
import type { Listener } from '../gen/envoy/config/listener/v3/listener_pb.js';
import type { JwtAuthentication } from '../gen/envoy/extensions/filters/http/jwt_authn/v3/config_pb.js';
import type { Proxy } from '../pilot/model/proxy.js';
import { jwksToFetch, PUBLIC_ONLY_JWKS, type JwksSnapshot } from '../pilot/model/jwks.js';
import type { RequestAuthentication } from '../pilot/config/schema/security.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import { gatewayGenerators } from '../pilot/networking/gateway/index.js';
import { parseYaml } from '../pilot/config/parse.js';
import { MemoryConfigStore } from '../pilot/config/store.js';
import { buildServiceIndex } from '../pilot/registry/index.js';
import { defaultMeshConfig } from '../pilot/model/mesh.js';
import { PushContext } from '../pilot/model/push-context.js';
import { generate, resourceProblems, unpack } from './support/resources.js';
import { hcmOf, HTTP_GATEWAY, ingressRouter, REVIEWS_ENTRY, reviewsSidecar, typedConfig } from './support/security-fixtures.js';

const MESH = `${REVIEWS_ENTRY}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: idp, namespace: default}
spec:
  hosts: [idp.example.com]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{number: 443, name: https, protocol: TLS}]
`;

const INLINE_KEYS = '{"keys":[{"kty":"RSA","kid":"k1","e":"AQAB","n":"abc"}]}';

const RA = `
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: reviews-jwt, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  jwtRules:
  - issuer: https://z-issuer.example.com
    jwks: '${INLINE_KEYS}'
    audiences: [reviews]
    fromHeaders: [{name: x-jwt, prefix: "Bearer "}]
    outputClaimToHeaders: [{header: x-sub, claim: sub}]
    spaceDelimitedClaims: [roles]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: mesh-jwt, namespace: istio-system}
spec:
  jwtRules:
  - issuer: https://a-issuer.example.com
    jwksUri: https://idp.example.com/keys
`;

function push(yaml: string, jwks?: JwksSnapshot): PushContext {
  const parsed = parseYaml(yaml);
  assert.deepEqual(parsed.errors, []);
  const store = new MemoryConfigStore();
  store.replaceAll(parsed.resources);
  return new PushContext('test', defaultMeshConfig(), 'cluster.local', buildServiceIndex(store, { domainSuffix: 'cluster.local' }), store, { jwks });
}

const sidecar = reviewsSidecar();

function inbound(p: PushContext, proxy: Proxy = sidecar): Listener {
  const [r] = generate(sidecarGenerators, p, proxy, TYPE.listener, ['virtualInbound']);
  assert.deepEqual(resourceProblems(r!), []);
  return unpack<Listener>(r!);
}

function jwtConfig(l: Listener, chain = '0.0.0.0_9080'): JwtAuthentication | undefined {
  const hcm = hcmOf(l.filterChains.find((c) => c.name === chain)!.filters)!;
  const f = hcm.httpFilters.find((x) => x.name === 'envoy.filters.http.jwt_authn');
  return f ? (typedConfig<JwtAuthentication>(f)) : undefined;
}

function withEnv<T>(name: string, value: string, fn: () => T): T {
  const before = process.env[name];
  process.env[name] = value;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

describe('RequestAuthentication as jwt_authn', () => {
  it('adds one provider per rule, sorted by issuer, to the HTTP chains of the selected workload only', () => {
    const l = inbound(push(`${MESH}\n---\n${RA}`));
    for (const c of l.filterChains) {
      const hcm = hcmOf(c.filters);
      if (hcm) assert.deepEqual(hcm.httpFilters.map((f) => f.name), ['envoy.filters.http.jwt_authn', 'envoy.filters.http.router'], c.name);
      else assert.ok(!c.filters.some((f) => f.name.includes('jwt')), c.name);
    }
    const cfg = jwtConfig(l)!;
    assert.deepEqual(Object.keys(cfg.providers).sort(), ['origins-0', 'origins-1']);
    const mesh = cfg.providers['origins-0']!;
    const own = cfg.providers['origins-1']!;
    assert.equal(mesh.issuer, 'https://a-issuer.example.com');
    assert.equal(own.issuer, 'https://z-issuer.example.com');
    assert.deepEqual(own.audiences, ['reviews']);
    assert.equal(own.payloadInMetadata, 'payload');
    assert.deepEqual(own.normalizePayloadInMetadata?.spaceDelimitedClaims, ['permission', 'roles', 'scope']);
    assert.deepEqual(mesh.normalizePayloadInMetadata?.spaceDelimitedClaims, ['permission', 'scope']);
    assert.deepEqual(own.fromHeaders.map((h) => [h.name, h.valuePrefix]), [['x-jwt', 'Bearer ']]);
    assert.deepEqual(own.claimToHeaders.map((h) => [h.headerName, h.claimName]), [['x-sub', 'sub']]);
    assert.equal(own.clearRouteCache, false);
    assert.deepEqual(own.jwksSourceSpecifier, { case: 'localJwks', value: own.jwksSourceSpecifier.value });
    assert.equal((own.jwksSourceSpecifier.value as { specifier: { value: string } }).specifier.value, INLINE_KEYS);
    // A missing token passes each provider; a present one must verify; any one valid token passes.
    const req = cfg.rules[0]!.requirementType;
    assert.equal(req.case, 'requires');
    const top = req.value.requiresType;
    assert.equal(top.case, 'requiresAny');
    assert.deepEqual(top.value.requirements.slice(0, 2).map((r) => r.requiresType.value), ['origins-0', 'origins-1']);
    assert.equal(top.value.requirements[2]!.requiresType.case, 'requiresAll');
    assert.ok(cfg.bypassCorsPreflight);

    const other = reviewsSidecar({ app: 'ratings' });
    assert.deepEqual(Object.keys(jwtConfig(inbound(push(`${MESH}\n---\n${RA}`), other))!.providers), ['origins-0'], 'only the root-namespace rule applies');
  });

  it('inlines the keys istiod fetched, and a key nothing verifies against until then', () => {
    const before = jwtConfig(inbound(push(`${MESH}\n---\n${RA}`)))!.providers['origins-0']!;
    assert.equal((before.jwksSourceSpecifier.value as { specifier: { value: string } }).specifier.value, PUBLIC_ONLY_JWKS);
    const fetched = '{"keys":[{"kty":"EC","kid":"f"}]}';
    const snapshot: JwksSnapshot = { get: (issuer, uri) => (issuer === 'https://a-issuer.example.com' && uri === 'https://idp.example.com/keys' ? fetched : undefined) };
    const after = jwtConfig(inbound(push(`${MESH}\n---\n${RA}`, snapshot)))!.providers['origins-0']!;
    assert.equal((after.jwksSourceSpecifier.value as { specifier: { value: string } }).specifier.value, fetched);
  });

  it('reads an empty jwks as none: istiod looks the keys up', () => {
    const empty = RA.replace(`jwks: '${INLINE_KEYS}'`, "jwks: ''");
    const p = jwtConfig(inbound(push(`${MESH}\n---\n${empty}`)))!.providers['origins-1']!;
    assert.equal((p.jwksSourceSpecifier.value as { specifier: { value: string } }).specifier.value, PUBLIC_ONLY_JWKS);
    const parsed = parseYaml(empty).resources.map((r) => r.spec as RequestAuthentication);
    assert.deepEqual(jwksToFetch(parsed, false).map((r) => r.issuer).sort(), ['https://a-issuer.example.com', 'https://z-issuer.example.com']);
  });

  it('lets Envoy fetch keys from a registered host in envoy and hybrid modes', () => {
    for (const mode of ['envoy', 'hybrid', 'true']) {
      const p = withEnv('PILOT_JWT_ENABLE_REMOTE_JWKS', mode, () => jwtConfig(inbound(push(`${MESH}\n---\n${RA}`)))!.providers['origins-0']!);
      assert.equal(p.jwksSourceSpecifier.case, 'remoteJwks', mode);
      const remote = p.jwksSourceSpecifier.value as { httpUri: { uri: string; httpUpstreamType: { value: string } }; cacheDuration: { seconds: bigint } };
      assert.equal(remote.httpUri.uri, 'https://idp.example.com/keys');
      assert.equal(remote.httpUri.httpUpstreamType.value, 'outbound|443||idp.example.com');
      assert.equal(remote.cacheDuration.seconds, 300n);
    }
    const unregistered = RA.replace('https://idp.example.com/keys', 'https://elsewhere.example.com/keys');
    const hybrid = withEnv('PILOT_JWT_ENABLE_REMOTE_JWKS', 'hybrid', () => jwtConfig(inbound(push(`${MESH}\n---\n${unregistered}`)))!.providers['origins-0']!);
    assert.equal(hybrid.jwksSourceSpecifier.case, 'localJwks', 'hybrid falls back to istiod for hosts without a cluster');
    const envoy = withEnv('PILOT_JWT_ENABLE_REMOTE_JWKS', 'envoy', () => jwtConfig(inbound(push(`${MESH}\n---\n${unregistered}`)))!.providers['origins-0']!);
    assert.equal((envoy.jwksSourceSpecifier.value as { httpUri: { httpUpstreamType: { value: string } } }).httpUri.httpUpstreamType.value, 'outbound|443||elsewhere.example.com');
  });

  it('sits between CUSTOM and the RBAC filters, and clears the route cache on gateways', () => {
    const authz = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: need-jwt, namespace: istio-system}
spec:
  rules: [{from: [{source: {requestPrincipals: ["*"]}}]}]
---
${HTTP_GATEWAY}`;
    const p = push(`${MESH}\n---\n${RA}\n---\n${authz}`);
    const names = hcmOf(inbound(p).filterChains.find((c) => c.name === '0.0.0.0_9080')!.filters)!.httpFilters.map((f) => f.name);
    assert.deepEqual(names, ['envoy.filters.http.jwt_authn', 'envoy.filters.http.rbac', 'envoy.filters.http.router']);
    const router = ingressRouter();
    const [gw] = generate(gatewayGenerators, p, router, TYPE.listener);
    assert.deepEqual(resourceProblems(gw!), []);
    const gwHcm = hcmOf(unpack<Listener>(gw!).filterChains[0]!.filters)!;
    assert.deepEqual(gwHcm.httpFilters.map((f) => f.name), ['envoy.filters.http.jwt_authn', 'envoy.filters.http.rbac', 'envoy.filters.http.fault', 'envoy.filters.http.cors', 'envoy.filters.http.router']);
    const gwJwt = typedConfig<JwtAuthentication>(gwHcm.httpFilters[0]!);
    assert.deepEqual(Object.keys(gwJwt.providers), ['origins-0']);
    assert.equal(gwJwt.providers['origins-0']!.clearRouteCache, true);
  });
});
