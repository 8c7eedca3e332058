// AuthorizationPolicies in the listeners Envoy proxies get: the RBAC (and ext_authz) filters
// land in every inbound chain of the selected workloads, before the router or tcp_proxy, in
// Istio's order; gateways get them on their HTTP and TCP route chains; outbound listeners and
// AUTO_PASSTHROUGH chains never do. Every listener still satisfies Envoy's validate.rules.
import assert from 'node:assert/strict';
import type { Listener } from '../gen/envoy/config/listener/v3/listener_pb.js';
import type { Filter } from '../gen/envoy/config/listener/v3/listener_components_pb.js';
import type { RBAC as HttpRbac } from '../gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import { gatewayGenerators } from '../pilot/networking/gateway/index.js';
import { generate, resourceProblems, unpack } from './support/resources.js';
import { pushFromYaml } from './support/push.js';
import { hcmOf, ingressRouter, REVIEWS_ENTRY, reviewsSidecar, typedConfig } from './support/security-fixtures.js';
import { planPush } from '../pilot/xds/push-plan.js';

const MESH = `${REVIEWS_ENTRY}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: authz-server, namespace: default}
spec:
  hosts: [ext-authz.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9000, name: grpc, protocol: GRPC}]
  endpoints: [{address: 10.0.0.9}]
`;

const POLICIES = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: audit-all, namespace: istio-system}
spec:
  action: AUDIT
  rules: [{to: [{operation: {methods: [DELETE]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin*"], ports: ["9080"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-frontend, namespace: default}
spec:
  rules: [{from: [{source: {principals: ["cluster.local/ns/default/sa/frontend"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: other-app, namespace: default}
spec:
  selector: {matchLabels: {app: ratings}}
  action: DENY
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext-check, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  action: CUSTOM
  provider: {name: checker}
  rules: [{to: [{operation: {ports: ["3306"]}}]}]
`;

const EXT_AUTHZ = { extensionProviders: [{ name: 'checker', envoyExtAuthzGrpc: { service: 'ext-authz.default.svc.cluster.local', port: 9000 } }] };

/** Filter names of a chain: the HTTP filters for an HCM chain, the network filters otherwise. */
function chainFilters(filters: Filter[]): string[] {
  const hcm = hcmOf(filters);
  return hcm ? hcm.httpFilters.map((f) => f.name) : filters.map((f) => f.name);
}

const sidecar = reviewsSidecar();
const HTTP_AUTHZ = ['envoy.filters.http.rbac', 'envoy.filters.http.ext_authz', 'envoy.filters.http.rbac', 'envoy.filters.http.rbac', 'envoy.filters.http.rbac'];
const TCP_AUTHZ = ['envoy.filters.network.rbac', 'envoy.filters.network.ext_authz', 'envoy.filters.network.rbac', 'envoy.filters.network.rbac', 'envoy.filters.network.rbac'];

function virtualInbound(yaml: string, mesh = EXT_AUTHZ): Listener {
  const push = pushFromYaml(yaml, mesh);
  const [r] = generate(sidecarGenerators, push, sidecar, TYPE.listener, ['virtualInbound']);
  assert.ok(r, 'no virtualInbound');
  assert.deepEqual(resourceProblems(r), []);
  return unpack<Listener>(r);
}

describe('AuthorizationPolicy in Envoy listeners', () => {
  it('puts CUSTOM, AUDIT, DENY, ALLOW filters in front of every inbound chain of the selected workload', () => {
    const l = virtualInbound(`${MESH}\n---\n${POLICIES}`);
    const byName = new Map<string, string[][]>();
    for (const c of l.filterChains) byName.set(c.name, [...(byName.get(c.name) ?? []), chainFilters(c.filters)]);
    // Service ports: HTTP on 9080, TCP on 3306, each in its TLS and plaintext variants.
    for (const filters of byName.get('0.0.0.0_9080')!) assert.deepEqual(filters, [...HTTP_AUTHZ, 'envoy.filters.http.router']);
    for (const filters of byName.get('0.0.0.0_3306')!) assert.deepEqual(filters, [...TCP_AUTHZ, 'envoy.filters.network.tcp_proxy']);
    // Passthrough chains (ports no service declares) are guarded too; the loop blackhole is not.
    for (const filters of byName.get('virtualInbound-catchall-http')!) assert.deepEqual(filters, [...HTTP_AUTHZ, 'envoy.filters.http.router']);
    for (const filters of byName.get('virtualInbound')!) assert.deepEqual(filters, [...TCP_AUTHZ, 'envoy.filters.network.tcp_proxy']);
    assert.deepEqual(byName.get('virtualInbound-blackhole'), [['envoy.filters.network.tcp_proxy']]);
  });

  it('builds the rules of the policies that select the workload, and only those', () => {
    const l = virtualInbound(`${MESH}\n---\n${POLICIES}`);
    const chain = l.filterChains.find((c) => c.name === '0.0.0.0_9080')!;
    const rbacs = hcmOf(chain.filters)!.httpFilters.filter((f) => f.name === 'envoy.filters.http.rbac').map((f) => typedConfig<HttpRbac>(f));
    const names = rbacs.map((r) => [...Object.keys(r.rules?.policies ?? {}), ...Object.keys(r.shadowRules?.policies ?? {})]);
    assert.deepEqual(names, [
      ['istio-ext-authz-checker-ns[default]-policy[ext-check]-rule[0]'],
      ['ns[istio-system]-policy[audit-all]-rule[0]'],
      ['ns[default]-policy[deny-admin]-rule[0]'],
      ['ns[default]-policy[allow-frontend]-rule[0]'],
    ]);
    const allow = rbacs[3]!.rules!.policies['ns[default]-policy[allow-frontend]-rule[0]']!;
    const principal = allow.principals[0]!.identifier;
    assert.equal(principal.case, 'andIds');
    const id = principal.value.ids[0]!.identifier;
    assert.equal(id.case, 'orIds');
    const authn = id.value.ids[0]!.identifier;
    assert.equal(authn.case, 'authenticated');
    assert.deepEqual(authn.value.principalName?.matchPattern, { case: 'exact', value: 'spiffe://cluster.local/ns/default/sa/frontend' });
  });

  it('leaves a workload no policy selects without filters, and outbound listeners always', () => {
    const other = reviewsSidecar();
    const push = pushFromYaml(`${MESH}\n---\n${POLICIES.split('---').filter((d) => d.includes('deny-admin')).join('---')}`);
    const outbound = generate(sidecarGenerators, push, other, TYPE.listener).filter((r) => r.name !== 'virtualInbound');
    for (const r of outbound) {
      const l = unpack<Listener>(r);
      for (const c of l.filterChains) for (const name of chainFilters(c.filters)) assert.ok(!name.includes('rbac') && !name.includes('ext_authz'), `${r.name}/${c.name} has ${name}`);
    }
    const ratings = reviewsSidecar({ app: 'ratings' });
    const [inbound] = generate(sidecarGenerators, push, ratings, TYPE.listener, ['virtualInbound']);
    for (const c of unpack<Listener>(inbound!).filterChains) assert.ok(!chainFilters(c.filters).some((n) => n.includes('rbac')), c.name);
  });

  it('rebuilds the inbound listener when a policy changes in a later push', () => {
    const before = pushFromYaml(`${MESH}\n---\n${POLICIES}`, EXT_AUTHZ);
    const after = pushFromYaml(`${MESH}\n---\n${POLICIES.replace('/admin*', '/root*')}`, before.mesh, before);
    const get = (push: typeof before) => unpack<Listener>(generate(sidecarGenerators, push, sidecar, TYPE.listener, ['virtualInbound'])[0]!);
    const path = (l: Listener) => JSON.stringify(typedConfig<HttpRbac>(hcmOf(l.filterChains.find((c) => c.name === '0.0.0.0_9080')!.filters)!.httpFilters[3]!).rules);
    assert.match(path(get(before)), /\/admin/);
    assert.match(path(get(after)), /\/root/);
  });

  it('turns CUSTOM policies with an unknown provider into deny rules', () => {
    const l = virtualInbound(`${MESH}\n---\n${POLICIES}`, { extensionProviders: [] });
    const chain = l.filterChains.find((c) => c.name === '0.0.0.0_9080')!;
    const first = typedConfig<HttpRbac>(hcmOf(chain.filters)!.httpFilters[0]!);
    assert.deepEqual(Object.keys(first.rules!.policies), ['istio-ext-authz-checker-ns[default]-policy[ext-check]-rule[0]-deny-due-to-bad-CUSTOM-action']);
    assert.equal(first.rules!.action, 1 /* DENY */);
  });
});

describe('pushes after a policy change', () => {
  it('regenerate only listeners, for every kind of proxy', () => {
    const before = pushFromYaml(MESH);
    const after = pushFromYaml(`${MESH}\n---\n${POLICIES}`, before.mesh, before);
    for (const kinds of [['AuthorizationPolicy'], ['RequestAuthentication'], ['AuthorizationPolicy', 'RequestAuthentication']]) {
      const plan = planPush(before, after, { changed: new Set(), kinds: new Set(kinds) });
      assert.equal(plan.scope, 'listeners');
      assert.deepEqual([...(plan.select!(sidecar) ?? [])], [TYPE.listener]);
    }
    // Together with other kinds, everything is pushed.
    assert.equal(planPush(before, after, { changed: new Set(), kinds: new Set(['AuthorizationPolicy', 'DestinationRule']) }).scope, 'full');
  });
});

describe('AuthorizationPolicy in gateway listeners', () => {
  const GATEWAY = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ingress, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 31400, name: tcp, protocol: TCP}
    hosts: ["*"]
  - port: {number: 15443, name: tls-auto, protocol: TLS}
    hosts: ["*.local"]
    tls: {mode: AUTO_PASSTHROUGH}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp-gw, namespace: istio-system}
spec:
  hosts: ["*"]
  gateways: [ingress]
  tcp: [{route: [{destination: {host: reviews.default.svc.cluster.local, port: {number: 3306}}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: gw-deny, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  action: DENY
  rules: [{from: [{source: {ipBlocks: ["192.0.2.0/24"]}}]}]
`;

  it('guards HTTP and TCP route chains, not AUTO_PASSTHROUGH ones', () => {
    const push = pushFromYaml(`${MESH}\n---\n${GATEWAY}`);
    const router = ingressRouter();
    const listeners = generate(gatewayGenerators, push, router, TYPE.listener);
    for (const r of listeners) assert.deepEqual(resourceProblems(r), []);
    const byPort = new Map(listeners.map((r) => [r.name, unpack<Listener>(r)]));
    assert.deepEqual(chainFilters(byPort.get('0.0.0.0_80')!.filterChains[0]!.filters), ['envoy.filters.http.rbac', 'envoy.filters.http.fault', 'envoy.filters.http.cors', 'envoy.filters.http.router']);
    assert.deepEqual(chainFilters(byPort.get('0.0.0.0_31400')!.filterChains[0]!.filters), ['envoy.filters.network.rbac', 'envoy.filters.network.tcp_proxy']);
    const auto = byPort.get('0.0.0.0_15443')!.filterChains;
    assert.ok(auto.length > 0);
    for (const c of auto) assert.deepEqual(chainFilters(c.filters), ['envoy.filters.network.tcp_proxy']);
  });
});
