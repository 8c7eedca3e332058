// Locality load balancing as istiod applies it: DestinationRule distribute / failover /
// failoverPriority, the mesh-wide setting, port- and subset-level precedence, Kubernetes
// trafficDistribution, zone-aware settings, the clusters' locality config, and which proxies
// share an assignment.
import assert from 'node:assert/strict';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { envoyRegistry } from '../pilot/networking/registry.js';
import { proxyFromNode, type Proxy } from '../pilot/model/proxy.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import { grpcGenerators } from '../pilot/networking/grpc/index.js';
import { gatewayGenerators } from '../pilot/networking/gateway/index.js';
import { validateMessage, formatViolations } from '../pilot/xds/pgv.js';
import { ClusterSchema, type Cluster } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from '../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import type { LocalityLbEndpoints } from '../gen/envoy/config/endpoint/v3/endpoint_components_pb.js';
import type { GeneratorSet, NamedResource } from '../pilot/networking/generator.js';
import type { IstioEndpoint } from '../pilot/model/service.js';
import { meshConfigFromJson } from '../pilot/model/mesh-json.js';
import { localityGroups } from '../pilot/networking/endpoints.js';
import {
  applyFailoverPriorities,
  applyLocalityFailover,
  applyLocalityWeights,
  localityMatch,
} from '../pilot/networking/locality-lb.js';
import { proxyLocality, sanitizeLocalityLabel, trafficDistribution } from '../pilot/model/locality.js';
import { pushFromYaml } from './support/push.js';

const unpack = <T>(r: NamedResource) => anyUnpack(r.resource, envoyRegistry()) as unknown as T;

function proxy(locality: string, opts: { ns?: string; labels?: Record<string, string>; grpc?: boolean; network?: string; router?: boolean } = {}): Proxy {
  const ns = opts.ns ?? 'default';
  const [region = '', zone = '', subZone = ''] = locality.split('/');
  return proxyFromNode({
    id: `${opts.router ? 'router' : 'sidecar'}~10.9.9.9~app-${locality.replace(/\//g, '-')}.${ns}~${ns}.svc.cluster.local`,
    locality: { region, zone, subZone },
    metadata: { NAMESPACE: ns, LABELS: opts.labels ?? {}, ...(opts.grpc ? { GENERATOR: 'grpc' } : {}), ...(opts.network ? { NETWORK: opts.network } : {}) },
  });
}

function edsResource(generators: GeneratorSet, push: ReturnType<typeof pushFromYaml>, p: Proxy, name: string): NamedResource {
  const [r] = generators.byType[TYPE.endpoint]!(push, p, { typeUrl: TYPE.endpoint, names: [name], wildcard: false, namesId: name });
  return r!;
}

function eds(push: ReturnType<typeof pushFromYaml>, p: Proxy, name: string, generators: GeneratorSet = sidecarGenerators): ClusterLoadAssignment {
  const cla = unpack<ClusterLoadAssignment>(edsResource(generators, push, p, name));
  const violations = validateMessage(ClusterLoadAssignmentSchema, cla);
  assert.equal(violations.length, 0, formatViolations(violations));
  return cla;
}

function cds(push: ReturnType<typeof pushFromYaml>, p: Proxy, name: string): Cluster {
  const found = sidecarGenerators.byType[TYPE.cluster]!(push, p, { typeUrl: TYPE.cluster, names: [name], wildcard: false }).map((r) => unpack<Cluster>(r));
  assert.equal(found.length, 1, `cluster ${name}`);
  const violations = validateMessage(ClusterSchema, found[0]!);
  assert.equal(violations.length, 0, formatViolations(violations));
  return found[0]!;
}

function address(e: LocalityLbEndpoints['lbEndpoints'][number]): string {
  const h = e.hostIdentifier;
  return h.case === 'endpoint' && h.value.address?.address.case === 'socketAddress' ? h.value.address.address.value.address : '?';
}

/** locality priority weight [addresses] per LocalityLbEndpoints, in order. */
function summary(groups: readonly LocalityLbEndpoints[]): string[] {
  return groups.map((g) => `${g.locality?.region}/${g.locality?.zone}/${g.locality?.subZone} p${g.priority} w${g.loadBalancingWeight} [${g.lbEndpoints.map(address).join(',')}]`);
}

const localityConfig = (c: Cluster) => c.commonLbConfig?.localityConfigSpecifier.case;

const API = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}, {number: 81, name: http-alt, protocol: HTTP}]
  endpoints:
  - {address: 10.0.0.1, labels: {version: v1}, locality: region1/zone1/subzone1}
  - {address: 10.0.0.6, labels: {version: v2}, locality: region1/zone1/subzone1}
  - {address: 10.0.0.2, labels: {version: v1}, locality: region1/zone1/subzone2}
  - {address: 10.0.0.3, labels: {version: v2}, locality: region1/zone2/subzone1}
  - {address: 10.0.0.4, labels: {version: v2}, locality: region2/zone1/subzone1}
  - {address: 10.0.0.5, labels: {version: v1}, locality: region3/zone1/subzone1}
`;

function withRule(trafficPolicy: string, subsets = ''): string {
  return `${API}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: default}
spec:
  host: api.internal
  trafficPolicy: ${trafficPolicy}
${subsets}`;
}

const OUTLIER = 'outlierDetection: {consecutive5xxErrors: 5, interval: 10s}';
const CLUSTER = 'outbound|80||api.internal';
const HERE = 'region1/zone1/subzone1';

describe('locality load balancing', () => {
  describe('DestinationRule failover', () => {
    it('with outlier detection and the default mesh setting, ranks localities by how much they share with the proxy', () => {
      const push = pushFromYaml(withRule(`{${OUTLIER}}`));
      assert.deepEqual(summary(eds(push, proxy(HERE), CLUSTER).endpoints), [
        'region1/zone1/subzone1 p0 w2 [10.0.0.1,10.0.0.6]',
        'region1/zone1/subzone2 p1 w1 [10.0.0.2]',
        'region1/zone2/subzone1 p2 w1 [10.0.0.3]',
        'region2/zone1/subzone1 p3 w1 [10.0.0.4]',
        'region3/zone1/subzone1 p3 w1 [10.0.0.5]',
      ]);
      // No failover rules: the cluster keeps Envoy's default locality handling.
      assert.equal(localityConfig(cds(push, proxy(HERE), CLUSTER)), undefined);
    });

    it('sends other regions after the failover target of the proxy region, and marks the cluster locality-weighted', () => {
      const push = pushFromYaml(withRule(`{${OUTLIER}, loadBalancer: {localityLbSetting: {failover: [{from: region1, to: region3}]}}}`));
      assert.deepEqual(summary(eds(push, proxy(HERE), CLUSTER).endpoints), [
        'region1/zone1/subzone1 p0 w2 [10.0.0.1,10.0.0.6]',
        'region1/zone1/subzone2 p1 w1 [10.0.0.2]',
        'region1/zone2/subzone1 p2 w1 [10.0.0.3]',
        'region2/zone1/subzone1 p4 w1 [10.0.0.4]',
        'region3/zone1/subzone1 p3 w1 [10.0.0.5]',
      ]);
      assert.equal(localityConfig(cds(push, proxy(HERE), CLUSTER)), 'localityWeightedLbConfig');
      // A proxy in region2: no rule for its region, priorities relative to it, without gaps.
      assert.deepEqual(summary(eds(push, proxy('region2/zone1/subzone1'), CLUSTER).endpoints).map((s) => s.split(' ')[1]), ['p1', 'p1', 'p1', 'p0', 'p1']);
    });

    it('does nothing without outlier detection, and proxies of every locality share one assignment', () => {
      const push = pushFromYaml(withRule(`{loadBalancer: {localityLbSetting: {failover: [{from: region1, to: region3}]}}}`));
      assert.ok(summary(eds(push, proxy(HERE), CLUSTER).endpoints).every((s) => s.includes(' p0 ')));
      assert.equal(edsResource(sidecarGenerators, push, proxy(HERE), CLUSTER), edsResource(sidecarGenerators, push, proxy('region2/zone1'), CLUSTER));
      assert.equal(localityConfig(cds(push, proxy(HERE), CLUSTER)), undefined);
    });

    it('shares assignments between proxies of one locality only', () => {
      const push = pushFromYaml(withRule(`{${OUTLIER}}`));
      const a = edsResource(sidecarGenerators, push, proxy(HERE, { labels: { app: 'a' } }), CLUSTER);
      const b = edsResource(sidecarGenerators, push, proxy(HERE, { labels: { app: 'b' } }), CLUSTER);
      const c = edsResource(sidecarGenerators, push, proxy('region2/zone1/subzone1'), CLUSTER);
      assert.equal(a, b);
      assert.notEqual(a, c);
      // Without a rule, one assignment for all.
      const plain = pushFromYaml(API);
      assert.equal(edsResource(sidecarGenerators, plain, proxy(HERE), CLUSTER), edsResource(sidecarGenerators, plain, proxy('region2/zone1/subzone1'), CLUSTER));
    });
  });

  describe('DestinationRule distribute', () => {
    const DISTRIBUTE = `{loadBalancer: {localityLbSetting: {distribute: [{from: "region1/zone1/*", to: {"region1/zone1/*": 80, "region2/*": 20}}]}}}`;

    it('splits each target weight over the localities it matches and empties the others', () => {
      const push = pushFromYaml(withRule(DISTRIBUTE));
      assert.deepEqual(summary(eds(push, proxy(HERE), CLUSTER).endpoints), [
        // 80 over weights 2 and 1: ceil(160/3), ceil(80/3).
        'region1/zone1/subzone1 p0 w54 [10.0.0.1,10.0.0.6]',
        'region1/zone1/subzone2 p0 w27 [10.0.0.2]',
        'region1/zone2/subzone1 p0 w1 []',
        'region2/zone1/subzone1 p0 w20 [10.0.0.4]',
        'region3/zone1/subzone1 p0 w1 []',
      ]);
      // Distribute needs no outlier detection to mark the cluster.
      assert.equal(localityConfig(cds(push, proxy(HERE), CLUSTER)), 'localityWeightedLbConfig');
    });

    it('leaves proxies no rule is for alone, sharing the plain assignment', () => {
      const push = pushFromYaml(withRule(DISTRIBUTE));
      const elsewhere = eds(push, proxy('region2/zone1/subzone1'), CLUSTER);
      assert.deepEqual(summary(elsewhere.endpoints).map((s) => s.split(' ').slice(1, 3).join(' ')), ['p0 w2', 'p0 w1', 'p0 w1', 'p0 w1', 'p0 w1']);
      assert.equal(edsResource(sidecarGenerators, push, proxy('region2/zone1/subzone1'), CLUSTER), edsResource(sidecarGenerators, push, proxy('region3/zone1'), CLUSTER));
      // Two proxies the same rule is for share theirs.
      assert.equal(edsResource(sidecarGenerators, push, proxy('region1/zone1/subzone1'), CLUSTER), edsResource(sidecarGenerators, push, proxy('region1/zone1/subzone2'), CLUSTER));
    });
  });

  describe('DestinationRule failoverPriority', () => {
    it('splits localities by the labels endpoints share with the proxy, in order (label=value compares a fixed value)', () => {
      const push = pushFromYaml(withRule(`{${OUTLIER}, loadBalancer: {localityLbSetting: {failoverPriority: [topology.kubernetes.io/region, topology.kubernetes.io/zone, version=v1]}}}`));
      const cla = eds(push, proxy(HERE, { labels: { version: 'v2' } }), CLUSTER);
      assert.deepEqual(summary(cla.endpoints), [
        'region1/zone1/subzone1 p0 w1 [10.0.0.1]',
        'region1/zone1/subzone1 p1 w1 [10.0.0.6]',
        'region1/zone1/subzone2 p0 w1 [10.0.0.2]',
        'region1/zone2/subzone1 p2 w1 [10.0.0.3]',
        'region2/zone1/subzone1 p3 w1 [10.0.0.4]',
        'region3/zone1/subzone1 p3 w1 [10.0.0.5]',
      ]);
      assert.equal(localityConfig(cds(push, proxy(HERE), CLUSTER)), 'localityWeightedLbConfig');
    });

    it('depends on the proxy labels it names, not on others', () => {
      const push = pushFromYaml(withRule(`{${OUTLIER}, loadBalancer: {localityLbSetting: {failoverPriority: [version]}}}`));
      const v1 = proxy(HERE, { labels: { version: 'v1', app: 'x' } });
      assert.deepEqual(summary(eds(push, v1, CLUSTER).endpoints).map((s) => s.split(' ')[1]), ['p0', 'p1', 'p0', 'p1', 'p1', 'p0']);
      // Same version label elsewhere: the same assignment (failover without rules does not apply).
      assert.equal(edsResource(sidecarGenerators, push, v1, CLUSTER), edsResource(sidecarGenerators, push, proxy('region2/zone1', { labels: { version: 'v1', app: 'y' } }), CLUSTER));
      assert.notEqual(edsResource(sidecarGenerators, push, v1, CLUSTER), edsResource(sidecarGenerators, push, proxy(HERE, { labels: { version: 'v2' } }), CLUSTER));
    });

    it('applies failover rules after failoverPriority when both are given', () => {
      const push = pushFromYaml(withRule(`{${OUTLIER}, loadBalancer: {localityLbSetting: {failoverPriority: [version], failover: [{from: region1, to: region3}]}}}`));
      // failoverPriority (v1 first), then locality within each: priority*5 + locality rank, compacted.
      assert.deepEqual(summary(eds(push, proxy(HERE, { labels: { version: 'v1' } }), CLUSTER).endpoints), [
        'region1/zone1/subzone1 p0 w1 [10.0.0.1]',
        'region1/zone1/subzone1 p3 w1 [10.0.0.6]',
        'region1/zone1/subzone2 p1 w1 [10.0.0.2]',
        'region1/zone2/subzone1 p4 w1 [10.0.0.3]',
        'region2/zone1/subzone1 p5 w1 [10.0.0.4]',
        'region3/zone1/subzone1 p2 w1 [10.0.0.5]',
      ]);
    });

    it('ranks a different network after everything on the proxy network (pure function)', () => {
      const ep = (address: string, network: string, locality: string): IstioEndpoint => ({ address, endpointPort: 80, servicePortName: 'http', labels: {}, network, locality, healthy: true });
      const groups = localityGroups([ep('a', 'n1', 'r1'), ep('b', 'n2', 'r1'), ep('c', 'n1', 'r2'), ep('d', 'n2', 'r2')]);
      const out = applyFailoverPriorities(groups, { 'topology.istio.io/network': 'n1', 'topology.kubernetes.io/region': 'r1' }, ['topology.istio.io/network', 'topology.kubernetes.io/region']);
      assert.deepEqual(summary(out), ['r1// p0 w1 [a]', 'r1// p2 w1 [b]', 'r2// p1 w1 [c]', 'r2// p3 w1 [d]']);
    });
  });

  describe('precedence', () => {
    it('a port-level loadBalancer replaces the rule-level one (then the mesh setting applies)', () => {
      const push = pushFromYaml(
        withRule(`
    loadBalancer: {localityLbSetting: {distribute: [{from: "*", to: {"region2/*": 100}}]}}
    portLevelSettings:
    - port: {number: 80}
      loadBalancer: {simple: ROUND_ROBIN}`),
      );
      assert.ok(summary(eds(push, proxy(HERE), CLUSTER).endpoints).every((s) => s.includes(' p0 ') && !s.endsWith('[]')));
      assert.equal(localityConfig(cds(push, proxy(HERE), CLUSTER)), undefined);
      // Port 81 keeps the rule-level distribute.
      assert.deepEqual(
        summary(eds(push, proxy(HERE), 'outbound|81||api.internal').endpoints).map((s) => s.split(' ').slice(2).join(' ')),
        ['w2 []', 'w1 []', 'w1 []', 'w100 [10.0.0.4]', 'w1 []'],
      );
    });

    it('a subset setting wins over the rule; enabled: false turns locality load balancing off', () => {
      const push = pushFromYaml(
        withRule(
          `{${OUTLIER}}`,
          `  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy: {loadBalancer: {localityLbSetting: {enabled: false}}}
  - name: v2
    labels: {version: v2}
    trafficPolicy: {loadBalancer: {localityLbSetting: {failover: [{from: region1, to: region2}]}}}`,
        ),
      );
      assert.deepEqual(summary(eds(push, proxy(HERE), 'outbound|80|v1|api.internal').endpoints).map((s) => s.split(' ')[1]), ['p0', 'p0', 'p0']);
      assert.deepEqual(summary(eds(push, proxy(HERE), 'outbound|80|v2|api.internal').endpoints), [
        'region1/zone1/subzone1 p0 w1 [10.0.0.6]',
        'region1/zone2/subzone1 p1 w1 [10.0.0.3]',
        'region2/zone1/subzone1 p2 w1 [10.0.0.4]',
      ]);
      assert.equal(localityConfig(cds(push, proxy(HERE), 'outbound|80|v2|api.internal')), 'localityWeightedLbConfig');
      assert.equal(localityConfig(cds(push, proxy(HERE), 'outbound|80|v1|api.internal')), undefined);
    });

    it('the mesh-wide setting applies where no DestinationRule sets one; disabled, nothing does', () => {
      const { mesh, errors } = meshConfigFromJson({ localityLbSetting: { enabled: true, failover: [{ from: 'region1', to: 'region2' }] } });
      assert.deepEqual(errors, []);
      const push = pushFromYaml(withRule(`{${OUTLIER}}`), mesh);
      assert.deepEqual(summary(eds(push, proxy(HERE), CLUSTER).endpoints).map((s) => s.split(' ')[1]), ['p0', 'p1', 'p2', 'p3', 'p4']);
      assert.equal(localityConfig(cds(push, proxy(HERE), CLUSTER)), 'localityWeightedLbConfig');
      const off = pushFromYaml(withRule(`{${OUTLIER}}`), meshConfigFromJson({ localityLbSetting: { enabled: false } }).mesh);
      assert.deepEqual(summary(eds(off, proxy(HERE), CLUSTER).endpoints).map((s) => s.split(' ')[1]), ['p0', 'p0', 'p0', 'p0', 'p0']);
      assert.ok(meshConfigFromJson({ localityLbSetting: { failover: 'x' } }).errors.length > 0);
    });
  });

  describe('zone-aware settings', () => {
    it('keep the proxy region at priority 0 (then the failover region) and configure zone-aware routing', () => {
      const push = pushFromYaml(withRule(`{loadBalancer: {zoneAwareLbSetting: {minClusterSize: 3, failover: [{from: region1, to: region3}]}}}`));
      assert.deepEqual(summary(eds(push, proxy(HERE), CLUSTER).endpoints).map((s) => s.split(' ')[1]), ['p0', 'p0', 'p0', 'p2', 'p1']);
      const c = cds(push, proxy(HERE), CLUSTER);
      assert.equal(localityConfig(c), 'zoneAwareLbConfig');
      const za = c.commonLbConfig!.localityConfigSpecifier.value as { minClusterSize?: bigint; routingEnabled?: { value: number } };
      assert.equal(za.minClusterSize, 3n);
      assert.equal(za.routingEnabled, undefined);
      const off = pushFromYaml(withRule(`{loadBalancer: {zoneAwareLbSetting: {enabled: false}}}`));
      assert.deepEqual((cds(off, proxy(HERE), CLUSTER).commonLbConfig!.localityConfigSpecifier.value as { routingEnabled?: { value: number } }).routingEnabled?.value, 0);
      assert.ok(summary(eds(off, proxy(HERE), CLUSTER).endpoints).every((s) => s.includes(' p0 ')));
    });
  });

  describe('Kubernetes trafficDistribution and endpoint locality', () => {
    const KUBE = (distribution: string) => `
apiVersion: v1
kind: Node
metadata: {name: node-a, labels: {topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1}}
---
apiVersion: v1
kind: Node
metadata: {name: node-b, labels: {topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z2, topology.istio.io/subzone: s2}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-a, namespace: default, labels: {app: web}}
spec: {nodeName: node-a}
status: {podIP: 10.1.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: web-b, namespace: default, labels: {app: web}}
spec: {nodeName: node-b}
status: {podIP: 10.1.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: web-c, namespace: default, labels: {app: web, istio-locality: r2.z3}}
spec: {nodeName: node-a}
status: {podIP: 10.1.0.3}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  clusterIP: 10.96.0.10
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
  ${distribution}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- {addresses: [10.1.0.1], zone: z1, targetRef: {kind: Pod, name: web-a, namespace: default}}
- {addresses: [10.1.0.2], zone: z2, targetRef: {kind: Pod, name: web-b, namespace: default}}
- {addresses: [10.1.0.3], zone: z1, targetRef: {kind: Pod, name: web-c, namespace: default}}
`;
    const WEB = 'outbound|80||web.default.svc.cluster.local';

    it('takes pod locality from the locality label, else the node labels', () => {
      const push = pushFromYaml(KUBE(''));
      assert.deepEqual(summary(eds(push, proxy('r1/z1'), WEB).endpoints), ['r1/z1/ p0 w1 [10.1.0.1]', 'r1/z2/s2 p0 w1 [10.1.0.2]', 'r2/z3/ p0 w1 [10.1.0.3]']);
    });

    it('PreferClose prefers the zone, then the region, without outlier detection', () => {
      const push = pushFromYaml(KUBE('trafficDistribution: PreferClose'));
      assert.deepEqual(summary(eds(push, proxy('r1/z1'), WEB).endpoints), ['r1/z1/ p0 w1 [10.1.0.1]', 'r1/z2/s2 p1 w1 [10.1.0.2]', 'r2/z3/ p2 w1 [10.1.0.3]']);
      const c = cds(push, proxy('r1/z1'), WEB);
      assert.equal(localityConfig(c), 'localityWeightedLbConfig');
      // Failover by endpoint health: Envoy's panic mode is off.
      assert.equal(c.commonLbConfig?.healthyPanicThreshold?.value, 0);
      // The same assignment for a proxy of the same zone, another for the next zone.
      assert.equal(edsResource(sidecarGenerators, push, proxy('r1/z1/x'), WEB), edsResource(sidecarGenerators, push, proxy('r1/z1/y'), WEB));
      assert.deepEqual(summary(eds(push, proxy('r1/z2/s2'), WEB).endpoints).map((s) => s.split(' ')[1]), ['p1', 'p0', 'p2']);
    });

    it('PreferSameNode prefers the node (kubernetes.io/hostname), then subzone and zone', () => {
      const push = pushFromYaml(KUBE('trafficDistribution: PreferSameNode'));
      const onNodeA = proxyFromNode({ id: 'sidecar~10.1.0.9~c.default~default.svc.cluster.local', metadata: { NAMESPACE: 'default', NODE_NAME: 'node-a', LABELS: { 'topology.kubernetes.io/region': 'r1', 'topology.kubernetes.io/zone': 'z2' } } });
      // node-a's web-a is in z1 and web-c in r2/z3: the node wins only after region and zone.
      assert.deepEqual(summary(eds(push, onNodeA, WEB).endpoints).map((s) => s.split(' ')[1]), ['p1', 'p0', 'p2']);
    });

    it('reads trafficDistribution like Istio: spec, then the annotation of the Service, then of its namespace', () => {
      assert.equal(trafficDistribution('PreferSameZone', {}, undefined), 'PreferSameZone');
      assert.equal(trafficDistribution(undefined, { 'networking.istio.io/traffic-distribution': 'PreferClose' }, undefined), 'PreferSameZone');
      assert.equal(trafficDistribution(undefined, {}, { 'networking.istio.io/traffic-distribution': 'PreferSameNode' }), 'PreferSameNode');
      assert.equal(trafficDistribution(undefined, { 'networking.istio.io/traffic-distribution': 'bogus' }, { 'networking.istio.io/traffic-distribution': 'PreferSameNode' }), 'Any');
    });
  });

  describe('other proxies and clusters', () => {
    it('proxyless gRPC gets the same priorities in EDS', () => {
      const push = pushFromYaml(withRule(`{${OUTLIER}}`));
      assert.deepEqual(summary(eds(push, proxy(HERE, { grpc: true }), CLUSTER, grpcGenerators).endpoints).map((s) => s.split(' ')[1]), ['p0', 'p1', 'p2', 'p3', 'p3']);
    });

    it('gateways get priorities relative to their own locality', () => {
      const push = pushFromYaml(withRule(`{${OUTLIER}}`));
      const gw = proxy('region3/zone1/subzone1', { router: true, ns: 'istio-system', labels: { istio: 'ingressgateway' } });
      assert.deepEqual(summary(eds(push, gw, CLUSTER, gatewayGenerators).endpoints).map((s) => s.split(' ')[1]), ['p1', 'p1', 'p1', 'p1', 'p0']);
    });

    it('DNS clusters carry the priorities in their inline assignment', () => {
      const push = pushFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [ext.example.com]
  resolution: DNS
  ports: [{number: 443, name: tls, protocol: TLS}]
  endpoints:
  - {address: a.example.com, locality: region1/zone1}
  - {address: b.example.com, locality: region2/zone1}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ext, namespace: default}
spec:
  host: ext.example.com
  trafficPolicy: {${OUTLIER}}
`);
      const near = cds(push, proxy('region1/zone1'), 'outbound|443||ext.example.com');
      const far = cds(push, proxy('region2/zone1'), 'outbound|443||ext.example.com');
      assert.deepEqual(summary(near.loadAssignment!.endpoints).map((s) => s.split(' ')[1]), ['p0', 'p1']);
      assert.deepEqual(summary(far.loadAssignment!.endpoints).map((s) => s.split(' ')[1]), ['p1', 'p0']);
    });
  });

  describe('pure functions', () => {
    it('match rule localities with wildcards and missing parts', () => {
      const l = { region: 'r1', zone: 'z1', subZone: 's1' };
      assert.ok(localityMatch(l, '*'));
      assert.ok(localityMatch(l, 'r1'));
      assert.ok(localityMatch(l, 'r1/*/s1'));
      assert.ok(!localityMatch(l, 'r1/z2'));
      assert.ok(!localityMatch(l, 'r2/*'));
    });

    it('take the proxy locality from topology labels, then the locality label, then the node', () => {
      assert.deepEqual(proxyLocality({ labels: { 'topology.kubernetes.io/zone': 'z' }, locality: { region: 'x' } }), { region: '', zone: 'z', subZone: '' });
      assert.deepEqual(proxyLocality({ labels: { 'istio-locality': 'r.z.s' }, locality: { region: 'x' } }), { region: 'r', zone: 'z', subZone: 's' });
      assert.deepEqual(proxyLocality({ labels: {}, locality: { region: 'x', zone: 'y' } }), { region: 'x', zone: 'y', subZone: '' });
      assert.equal(sanitizeLocalityLabel('a/b.c'), 'a/b.c');
    });

    it('do not change their input', () => {
      const ep = (address: string, locality: string): IstioEndpoint => ({ address, endpointPort: 80, servicePortName: 'http', labels: {}, locality, healthy: true });
      const groups = localityGroups([ep('a', 'r1/z1'), ep('b', 'r2/z1')]).map((g) => g.group);
      const before = summary(groups);
      applyLocalityFailover({ region: 'r2', zone: 'z1', subZone: '' }, groups, undefined);
      applyLocalityWeights({ region: 'r2', zone: 'z1', subZone: '' }, groups, [{ from: 'r2', to: { r1: 10 } }]);
      assert.deepEqual(summary(groups), before);
    });
  });
});
