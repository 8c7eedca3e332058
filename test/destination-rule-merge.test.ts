// DestinationRules as istiod consolidates and selects them: several rules of one namespace and
// host merged, `workloadSelector` rules for the proxies they select (and memo keys that keep
// such proxies apart), and `loadBalancer.warmup` → Envoy slow start.
import assert from 'node:assert/strict';
import type { Cluster } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import { Cluster_LbPolicy } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { ClusterLoadAssignment } from '../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { proxyFromNode, type Proxy } from '../pilot/model/proxy.js';
import type { PushContext } from '../pilot/model/push-context.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { gatewayGenerators } from '../pilot/networking/gateway/index.js';
import type { GeneratorSet, NamedResource } from '../pilot/networking/generator.js';
import { grpcGenerators } from '../pilot/networking/grpc/index.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import { destinationRuleLabelsKey } from '../pilot/networking/view.js';
import { kubeService } from './support/meshfiles.js';
import { pushFromYaml } from './support/push.js';
import { generate, resourceProblems, unpack } from './support/resources.js';

const HOST = 'reviews.default.svc.cluster.local';
const SERVICES = [
  kubeService('reviews', 9080, [{ version: 'v1', port: 9081 }, { version: 'v2', port: 9082 }, { version: 'v3', port: 9083 }], 'default', 'http'),
].join('---\n');

const sidecar = (ns = 'default', labels: Record<string, string> = { app: 'productpage' }, ip = '10.9.9.9'): Proxy =>
  proxyFromNode({ id: `sidecar~${ip}~app.${ns}~${ns}.svc.cluster.local`, metadata: { NAMESPACE: ns, LABELS: labels } });
const grpcProxy = (labels: Record<string, string> = {}): Proxy =>
  proxyFromNode({ id: 'sidecar~10.9.9.8~client.default~default.svc.cluster.local', metadata: { GENERATOR: 'grpc', NAMESPACE: 'default', LABELS: labels } });
const router = (labels: Record<string, string> = { istio: 'ingressgateway' }): Proxy =>
  proxyFromNode({ id: 'router~10.0.0.50~gw.istio-system~istio-system.svc.cluster.local', metadata: { NAMESPACE: 'istio-system', LABELS: labels } });

function rule(name: string, body: string, opts: { namespace?: string; created?: string } = {}): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: ${opts.namespace ?? 'default'}, creationTimestamp: "${opts.created ?? '2024-01-01T00:00:00Z'}"}
spec:
  host: reviews
${body}
`;
}

/** Generated resources, each held to Envoy's protos first. */
function resources(gens: GeneratorSet, push: PushContext, proxy: Proxy, typeUrl: string, names?: string[]): NamedResource[] {
  const out = generate(gens, push, proxy, typeUrl, names);
  assert.deepEqual(out.flatMap(resourceProblems), []);
  return out;
}

function reviewsClusters(push: PushContext, proxy: Proxy, gens: GeneratorSet = sidecarGenerators): Map<string, Cluster> {
  const out = new Map<string, Cluster>();
  // Proxyless gRPC asks for clusters by name.
  const names = gens === grpcGenerators ? ['', 'v1', 'v2', 'v3'].map((s) => `outbound|9080|${s}|${HOST}`) : undefined;
  for (const r of resources(gens, push, proxy, TYPE.cluster, names)) if (r.name.endsWith(HOST)) out.set(r.name, unpack<Cluster>(r));
  return out;
}

function endpointPorts(push: PushContext, proxy: Proxy, cluster: string, gens: GeneratorSet = sidecarGenerators): number[] {
  const [r] = resources(gens, push, proxy, TYPE.endpoint, [cluster]);
  const cla = unpack<ClusterLoadAssignment>(r!);
  return cla.endpoints.flatMap((l) => l.lbEndpoints.map((e) => (e.hostIdentifier.case === 'endpoint' && e.hostIdentifier.value.address?.address.case === 'socketAddress' ? e.hostIdentifier.value.address.address.value.portSpecifier.value : 0) as number));
}

const cluster = (subset = '') => `outbound|9080|${subset}|${HOST}`;

describe('DestinationRules of one host merged (Istio mergeDestinationRule)', () => {
  const MERGE = `${SERVICES}---
${rule('first', `  subsets:
  - {name: v1, labels: {version: v1}}`, { created: '2024-01-01T00:00:00Z' })}---
${rule('second', `  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
  subsets:
  - {name: v1, labels: {version: v3}}
  - {name: v2, labels: {version: v2}}`, { created: '2024-01-02T00:00:00Z' })}---
${rule('third', `  trafficPolicy: {loadBalancer: {simple: RANDOM}}
  subsets:
  - {name: v3, labels: {version: v3}}`, { created: '2024-01-03T00:00:00Z' })}`;

  it('adds subsets with new names in creation order, and takes the first top-level policy there is', () => {
    const push = pushFromYaml(MERGE);
    const clusters = reviewsClusters(push, sidecar());
    assert.deepEqual([...clusters.keys()], [cluster(), cluster('v1'), cluster('v2'), cluster('v3')]);
    // 'first' has no traffic policy: the next rule's LEAST_REQUEST applies; 'third's RANDOM does not.
    for (const c of clusters.values()) assert.equal(c.lbPolicy, Cluster_LbPolicy.LEAST_REQUEST, c.name);
    // The duplicate v1 of 'second' is dropped: v1 keeps the first rule's labels.
    assert.deepEqual(endpointPorts(push, sidecar(), cluster('v1')), [9081]);
    assert.deepEqual(endpointPorts(push, sidecar(), cluster('v2')), [9082]);
    const dr = push.destinationRuleFor(sidecar(), push.serviceForHostname(sidecar(), HOST)!)!;
    assert.equal(dr.resource.meta.name, 'first');
    assert.deepEqual(dr.from, [
      { namespace: 'default', name: 'first' },
      { namespace: 'default', name: 'second' },
      { namespace: 'default', name: 'third' },
    ]);
    // The stored rules themselves are untouched.
    assert.deepEqual(push.destinationRules.map((d) => d.resource.spec.subsets?.length), [1, 2, 1]);
  });

  it('merges only rules of equal exportTo: a proxy elsewhere sees the exported rule, the namespace the last one', () => {
    const yaml = `${SERVICES}---
${rule('local', `  exportTo: ["."]
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
  subsets:
  - {name: v1, labels: {version: v1}}`, { created: '2024-01-01T00:00:00Z' })}---
${rule('public', `  exportTo: ["*"]
  subsets:
  - {name: v2, labels: {version: v2}}`, { created: '2024-01-02T00:00:00Z' })}---
${rule('also-public', `  exportTo: ["*"]
  subsets:
  - {name: v3, labels: {version: v3}}`, { created: '2024-01-03T00:00:00Z' })}`;
    const push = pushFromYaml(yaml);
    // In 'default' the rules stay apart ('.' and '*' differ), and istiod takes the last one without a selector.
    const own = reviewsClusters(push, sidecar());
    assert.deepEqual([...own.keys()], [cluster(), cluster('v2'), cluster('v3')]);
    assert.equal(own.get(cluster())!.lbPolicy, Cluster_LbPolicy.LEAST_REQUEST, 'the public rules name no algorithm: istiod\'s default');
    const other = reviewsClusters(push, sidecar('other'));
    assert.deepEqual([...other.keys()], [cluster(), cluster('v2'), cluster('v3')]);
    assert.deepEqual(push.destinationRuleFor(sidecar('other'), push.serviceForHostname(sidecar('other'), HOST)!)!.from.map((f) => f.name), ['public', 'also-public']);
  });

  it('fills a Gateway API backend policy under a user rule: user fields win', () => {
    const yaml = `${SERVICES}---
${rule('user', `  trafficPolicy: {loadBalancer: {simple: RANDOM}}
  subsets:
  - {name: v1, labels: {version: v1}}`, { created: '2024-01-02T00:00:00Z' })}---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: tls, namespace: default, creationTimestamp: "2024-01-01T00:00:00Z"}
spec:
  targetRefs: [{group: "", kind: Service, name: reviews}]
  validation: {hostname: reviews.example.com, caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}]}
`;
    const push = pushFromYaml(yaml);
    const dr = push.destinationRuleFor(sidecar(), push.serviceForHostname(sidecar(), HOST)!)!;
    assert.deepEqual(dr.from.map((f) => f.name), ['reviews~istio-autogenerated-k8s-gateway', 'user']);
    assert.deepEqual(dr.resource.spec.subsets?.map((s) => s.name), ['v1']);
    assert.equal(dr.resource.spec.trafficPolicy?.loadBalancer?.simple, 'RANDOM');
    assert.equal(dr.resource.spec.trafficPolicy?.tls?.sni, 'reviews.example.com');
    const c = reviewsClusters(push, sidecar()).get(cluster())!;
    assert.equal(c.lbPolicy, Cluster_LbPolicy.RANDOM);
    assert.equal(c.transportSocket?.name, 'envoy.transport_sockets.tls');
  });
});

describe('DestinationRule lookup order (Istio PushContext.destinationRule)', () => {
  it('looks in the service\'s namespace before the root namespace (root-namespace proxies too); the most specific host wins', () => {
    const yaml = `${SERVICES}---
${rule('wide', `  subsets:
  - {name: v1, labels: {version: v1}}`, { namespace: 'istio-system' }).replace('host: reviews', 'host: "*.svc.cluster.local"')}---
${rule('exact', `  subsets:
  - {name: v2, labels: {version: v2}}`, { namespace: 'istio-system' }).replace('host: reviews', `host: ${HOST}`)}---
${rule('owner', `  subsets:
  - {name: v3, labels: {version: v3}}`)}`;
    const push = pushFromYaml(yaml);
    const svc = push.serviceForHostname(sidecar(), HOST)!;
    // A proxy in the root namespace: the service's namespace's exported rule comes first.
    assert.equal(push.destinationRuleFor({ namespace: 'istio-system', labels: {} }, svc)?.resource.meta.name, 'owner');
    // A proxy in another namespace with no rule of its own: the service's namespace, too.
    assert.equal(push.destinationRuleFor({ namespace: 'other', labels: {} }, svc)?.resource.meta.name, 'owner');
    // Without the owner's rule, the root namespace's exact host beats its wildcard.
    const root = pushFromYaml(yaml.slice(0, yaml.lastIndexOf('---')));
    assert.equal(root.destinationRuleFor({ namespace: 'other', labels: {} }, svc)?.resource.meta.name, 'exact');
  });
});

describe('DestinationRule workloadSelector', () => {
  const SELECTED = `${SERVICES}---
${rule('everyone', `  trafficPolicy: {loadBalancer: {simple: RANDOM}}
  subsets:
  - {name: v2, labels: {version: v2}}`, { created: '2024-01-01T00:00:00Z' })}---
${rule('canary', `  workloadSelector: {matchLabels: {track: canary}}
  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
  subsets:
  - {name: v1, labels: {version: v1}}`, { created: '2024-01-02T00:00:00Z' })}`;

  it('applies to the proxies of its namespace it selects, others keep the rule without a selector', () => {
    const push = pushFromYaml(SELECTED);
    const canary = sidecar('default', { app: 'productpage', track: 'canary' }, '10.9.9.1');
    const stable = sidecar('default', { app: 'productpage' }, '10.9.9.2');
    const picked = reviewsClusters(push, canary);
    assert.deepEqual([...picked.keys()], [cluster(), cluster('v1')]);
    assert.equal(picked.get(cluster())!.lbPolicy, Cluster_LbPolicy.LEAST_REQUEST);
    const rest = reviewsClusters(push, stable);
    assert.deepEqual([...rest.keys()], [cluster(), cluster('v2')]);
    assert.equal(rest.get(cluster())!.lbPolicy, Cluster_LbPolicy.RANDOM);
    // Subset endpoints follow the proxy's rule: v1 exists only for the canary.
    assert.deepEqual(endpointPorts(push, canary, cluster('v1')), [9081]);
    assert.deepEqual(endpointPorts(push, stable, cluster('v1')), []);
    // A selector rule is never exported: another namespace gets the plain rule, whatever its labels.
    const elsewhere = reviewsClusters(push, sidecar('other', { track: 'canary' }));
    assert.deepEqual([...elsewhere.keys()], [cluster(), cluster('v2')]);
  });

  it('keys shared output by labels only when some rule has a selector', () => {
    const a = sidecar('default', { app: 'a' }, '10.9.9.1');
    const b = sidecar('default', { app: 'b' }, '10.9.9.2');
    const plain = pushFromYaml(`${SERVICES}---\n${rule('everyone', '  subsets:\n  - {name: v2, labels: {version: v2}}')}`);
    assert.equal(destinationRuleLabelsKey(plain, a), '');
    // Proxies of one scope share the very same packed clusters.
    assert.equal(generate(sidecarGenerators, plain, a, TYPE.cluster)[0], generate(sidecarGenerators, plain, b, TYPE.cluster)[0]);
    const push = pushFromYaml(SELECTED);
    assert.notEqual(destinationRuleLabelsKey(push, a), destinationRuleLabelsKey(push, b));
    assert.equal(destinationRuleLabelsKey(push, a), destinationRuleLabelsKey(push, sidecar('default', { app: 'a' }, '10.9.9.3')));
  });

  it('selects for proxyless gRPC clients and gateways too', () => {
    const push = pushFromYaml(SELECTED);
    const canary = reviewsClusters(push, grpcProxy({ track: 'canary' }), grpcGenerators);
    assert.deepEqual([...canary.keys()], [cluster(), cluster('v1')]);
    assert.deepEqual([...reviewsClusters(push, grpcProxy(), grpcGenerators).keys()], [cluster(), cluster('v2')]);
    const gwYaml = `${SERVICES}---
${rule('gw-only', `  host: reviews.default.svc.cluster.local
  workloadSelector: {matchLabels: {istio: ingressgateway}}
  subsets:
  - {name: v3, labels: {version: v3}}`, { namespace: 'istio-system' }).replace('  host: reviews\n', '')}`;
    const gwPush = pushFromYaml(gwYaml);
    assert.deepEqual([...reviewsClusters(gwPush, router(), gatewayGenerators).keys()], [cluster(), cluster('v3')]);
    assert.deepEqual(endpointPorts(gwPush, router(), cluster('v3'), gatewayGenerators), [9083]);
    assert.deepEqual([...reviewsClusters(gwPush, router({ istio: 'egressgateway' }), gatewayGenerators).keys()], [cluster()]);
  });
});

describe('DestinationRule loadBalancer warmup → Envoy slow start', () => {
  const warm = (lb: string) => pushFromYaml(`${SERVICES}---\n${rule('warm', `  trafficPolicy:\n    loadBalancer: ${lb}`)}`);

  it('configures round robin slow start from warmup, with Envoy\'s defaults for what is unset', () => {
    const c = reviewsClusters(warm('{simple: ROUND_ROBIN, warmup: {duration: 30s, aggression: 2}}'), sidecar()).get(cluster())!;
    assert.equal(c.lbPolicy, Cluster_LbPolicy.ROUND_ROBIN);
    assert.equal(c.lbConfig.case, 'roundRobinLbConfig');
    const start = c.lbConfig.case === 'roundRobinLbConfig' ? c.lbConfig.value.slowStartConfig : undefined;
    assert.equal(start?.slowStartWindow?.seconds, 30n);
    assert.equal(start?.aggression?.defaultValue, 2);
    assert.equal(start?.aggression?.runtimeKey, '(');
    assert.equal(start?.minWeightPercent?.value, 10);
  });

  it('configures least request slow start from the deprecated warmupDurationSecs (window only), and on the default algorithm', () => {
    const c = reviewsClusters(warm('{simple: LEAST_REQUEST, warmupDurationSecs: 10s}'), sidecar()).get(cluster())!;
    assert.equal(c.lbPolicy, Cluster_LbPolicy.LEAST_REQUEST);
    assert.equal(c.lbConfig.case, 'leastRequestLbConfig');
    const start = c.lbConfig.case === 'leastRequestLbConfig' ? c.lbConfig.value.slowStartConfig : undefined;
    assert.equal(start?.slowStartWindow?.seconds, 10n);
    assert.equal(start?.aggression, undefined);
    assert.equal(start?.minWeightPercent, undefined);
    const d = reviewsClusters(warm('{warmup: {duration: 5s, minimumPercent: 25}}'), sidecar()).get(cluster())!;
    assert.equal(d.lbPolicy, Cluster_LbPolicy.LEAST_REQUEST);
    assert.equal(d.lbConfig.case === 'leastRequestLbConfig' && d.lbConfig.value.slowStartConfig?.minWeightPercent?.value, 25);
  });

  it('ignores warmup for other algorithms and for proxyless gRPC; gateways get it', () => {
    const random = reviewsClusters(warm('{simple: RANDOM, warmup: {duration: 30s}}'), sidecar()).get(cluster())!;
    assert.equal(random.lbPolicy, Cluster_LbPolicy.RANDOM);
    assert.equal(random.lbConfig.case, undefined);
    const push = warm('{simple: ROUND_ROBIN, warmup: {duration: 30s}}');
    assert.equal(reviewsClusters(push, grpcProxy(), grpcGenerators).get(cluster())!.lbConfig.case, undefined);
    const gw = reviewsClusters(push, router(), gatewayGenerators).get(cluster())!;
    assert.equal(gw.lbConfig.case === 'roundRobinLbConfig' && gw.lbConfig.value.slowStartConfig?.slowStartWindow?.seconds, 30n);
  });
});
