// Kubernetes ExternalName services as aliases (Istio's resolveServiceAliases): the concrete service
// answers to the alias's names, the alias has no listeners, clusters or virtual host of its own,
// and a VirtualService on the alias's exact name applies only to that name.
import assert from 'node:assert/strict';
import type { Cluster } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { Listener } from '../gen/envoy/config/listener/v3/listener_pb.js';
import type { RouteConfiguration } from '../gen/envoy/config/route/v3/route_pb.js';
import type { Route } from '../gen/envoy/config/route/v3/route_components_pb.js';
import { proxyFromNode } from '../pilot/model/proxy.js';
import type { PushContext } from '../pilot/model/push-context.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import { grpcGenerators } from '../pilot/networking/grpc/index.js';
import { generateSimulationConfig } from '../pilot/simulation/config.js';
import { Simulation } from '../pilot/simulation/engine.js';
import { pushFromYaml } from './support/push.js';
import { generate, resourceProblems, unpack } from './support/resources.js';

const proxy = proxyFromNode({ id: 'sidecar~10.1.1.1~app.default~default.svc.cluster.local', metadata: { NAMESPACE: 'default' } });

const externalName = (name: string, ns: string, target: string, ports = '') => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec:
  type: ExternalName
  externalName: ${target}
${ports ? `${ports}\n` : ''}`;

const CONCRETE = `
apiVersion: v1
kind: Service
metadata: {name: concrete, namespace: default}
spec:
  clusterIP: 1.2.3.4
  ports:
  - {name: http, port: 80}
  - {name: tls, port: 83}
`;

const ALIASES = `${CONCRETE}${externalName('alias', 'default', 'concrete.default.svc.cluster.local', '  ports: [{name: http, port: 80}]')}${externalName('far', 'other', 'concrete.default.svc.cluster.local')}`;

const routeConfig = (push: PushContext, name: string) => unpack<RouteConfiguration>(generate(sidecarGenerators, push, proxy, TYPE.route, [name])[0]!);
const clusterOf = (r: Route) => (r.action.case === 'route' && r.action.value.clusterSpecifier.case === 'cluster' ? r.action.value.clusterSpecifier.value : undefined);

describe('ExternalName services as aliases', () => {
  it('the registry marks ExternalName services as aliases and gives the concrete service its aliases, sorted', () => {
    const push = pushFromYaml(ALIASES);
    const byName = new Map(push.registry.services.map((s) => [`${s.namespace}/${s.name}`, s]));
    const alias = byName.get('default/alias')!;
    assert.equal(alias.resolution, 'Alias');
    assert.equal(alias.externalName, 'concrete.default.svc.cluster.local');
    assert.equal(alias.meshExternal, true);
    assert.deepEqual(byName.get('default/concrete')!.aliases, [
      { hostname: 'alias.default.svc.cluster.local', namespace: 'default' },
      { hostname: 'far.other.svc.cluster.local', namespace: 'other' },
    ]);
  });

  it('follows chains of aliases to the concrete service, and drops loops', () => {
    const chain = pushFromYaml(`${CONCRETE}${externalName('a', 'default', 'b.default.svc.cluster.local')}${externalName('b', 'default', 'concrete.default.svc.cluster.local')}`);
    const concrete = chain.registry.services.find((s) => s.name === 'concrete')!;
    assert.deepEqual(concrete.aliases?.map((a) => a.hostname), ['a.default.svc.cluster.local', 'b.default.svc.cluster.local']);
    const loop = pushFromYaml(`${CONCRETE}${externalName('x', 'default', 'y.default.svc.cluster.local')}${externalName('y', 'default', 'x.default.svc.cluster.local')}`);
    assert.ok(loop.registry.services.every((s) => !s.aliases));
  });

  it('puts the aliases\' names on the concrete service\'s virtual host, and builds none for the alias', () => {
    const rc = routeConfig(pushFromYaml(ALIASES), '80');
    assert.deepEqual(rc.virtualHosts.map((v) => v.name), ['concrete.default.svc.cluster.local:80', 'allow_any']);
    assert.deepEqual(rc.virtualHosts[0]!.domains, [
      'concrete.default.svc.cluster.local',
      'concrete.default.svc.cluster.local.',
      'concrete',
      'concrete.default.svc',
      'concrete.default',
      'alias.default.svc.cluster.local',
      'alias.default.svc.cluster.local.',
      'alias',
      'alias.default.svc',
      'alias.default',
      'far.other.svc.cluster.local',
      'far.other.svc.cluster.local.',
      'far.other',
      'far.other.svc',
      '1.2.3.4',
    ]);
    assert.equal(clusterOf(rc.virtualHosts[0]!.routes[0]!), 'outbound|80||concrete.default.svc.cluster.local');
  });

  it('gives the alias no listeners or clusters, even with ports', () => {
    const push = pushFromYaml(ALIASES);
    const clusters = generate(sidecarGenerators, push, proxy, TYPE.cluster).map((r) => r.name);
    assert.ok(!clusters.some((n) => n.includes('alias.') || n.includes('far.')), clusters.join(', '));
    assert.ok(clusters.includes('outbound|80||concrete.default.svc.cluster.local'));
    const listeners = generate(sidecarGenerators, push, proxy, TYPE.listener).map((r) => unpack<Listener>(r).name);
    assert.deepEqual(listeners.filter((n) => n !== 'virtualOutbound' && n !== 'virtualInbound').sort(), ['0.0.0.0_80', '1.2.3.4_83']);
  });

  it('applies a VirtualService on a (portless) alias to that exact name only (port 80), and routes to an alias as to its service', () => {
    const push = pushFromYaml(`${CONCRETE}${externalName('alias', 'default', 'concrete.default.svc.cluster.local')}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: alias, namespace: default}
spec:
  hosts: [alias.default.svc.cluster.local]
  http:
  - name: route1
    match: [{uri: {prefix: /one}}]
    route: [{destination: {host: alias.default.svc.cluster.local, port: {number: 80}}}]
`);
    const rc = routeConfig(push, '80');
    const vs = rc.virtualHosts.find((v) => v.name === 'alias.default.svc.cluster.local:80')!;
    assert.ok(vs, rc.virtualHosts.map((v) => v.name).join(', '));
    assert.equal(clusterOf(vs.routes[0]!), 'outbound|80||concrete.default.svc.cluster.local');
    const concrete = rc.virtualHosts.find((v) => v.name === 'concrete.default.svc.cluster.local:80')!;
    assert.ok(!concrete.domains.includes('alias.default.svc.cluster.local'), 'the VirtualService took the exact name');
    assert.ok(concrete.domains.includes('alias.default'));

    const sim = new Simulation(generateSimulationConfig(push, proxy), { fidelity: 'istio' });
    const exact = sim.run({ address: '1.2.3.4', port: 80, protocol: 'http', hostHeader: 'alias.default.svc.cluster.local', path: '/one' });
    assert.deepEqual([exact.route, exact.cluster], ['route1', 'outbound|80||concrete.default.svc.cluster.local']);
    const short = sim.run({ address: '1.2.3.4', port: 80, protocol: 'http', hostHeader: 'alias.default' });
    assert.deepEqual([short.route, short.cluster], ['default', 'outbound|80||concrete.default.svc.cluster.local']);
  });

  it('adds the aliases\' names to TLS server names when a chain matches by SNI', () => {
    const push = pushFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: tls-backend, namespace: default}
spec:
  hosts: [backend.example.com]
  location: MESH_INTERNAL
  resolution: DNS
  ports: [{number: 443, name: tls, protocol: TLS}]
${externalName('edge', 'default', 'backend.example.com')}`);
    const l = generate(sidecarGenerators, push, proxy, TYPE.listener).map((r) => unpack<Listener>(r)).find((x) => x.name === '0.0.0.0_443')!;
    const names = l.filterChains.flatMap((c) => c.filterChainMatch?.serverNames ?? []);
    assert.deepEqual(names, ['backend.example.com', 'edge', 'edge.default', 'edge.default.svc', 'edge.default.svc.cluster.local', 'edge.default.svc.cluster.local.']);
  });

  it('keeps only the aliases a Sidecar\'s egress hosts import', () => {
    const push = pushFromYaml(`${ALIASES}---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress:
  - hosts: ["default/concrete.default.svc.cluster.local", "*/alias.default.svc.cluster.local"]
`);
    const svc = push.serviceForHostname(proxy, 'concrete.default.svc.cluster.local')!;
    assert.deepEqual(svc.aliases?.map((a) => a.hostname), ['alias.default.svc.cluster.local']);
    const rc = routeConfig(push, '80');
    assert.ok(!rc.virtualHosts.some((v) => v.domains.includes('far.other')));
  });

  it('passes Envoy\'s validate.rules', () => {
    const push = pushFromYaml(ALIASES);
    const resources = [
      ...generate(sidecarGenerators, push, proxy, TYPE.cluster),
      ...generate(sidecarGenerators, push, proxy, TYPE.listener),
      ...generate(sidecarGenerators, push, proxy, TYPE.route, ['80']),
    ];
    assert.deepEqual(resources.flatMap(resourceProblems), []);
    assert.ok(resources.every((r) => unpack<Cluster | Listener | RouteConfiguration>(r).name !== ''));
  });

  it('proxyless gRPC gets no cluster for an alias, even when asked by name', () => {
    const push = pushFromYaml(ALIASES);
    const grpcProxy = proxyFromNode({ id: 'sidecar~10.1.1.2~client.default~default.svc.cluster.local', metadata: { NAMESPACE: 'default', GENERATOR: 'grpc' } });
    const names = ['outbound|80||alias.default.svc.cluster.local', 'outbound|80||concrete.default.svc.cluster.local'];
    const clusters = generate(grpcGenerators, push, grpcProxy, TYPE.cluster, names).map((r) => r.name);
    assert.deepEqual(clusters, ['outbound|80||concrete.default.svc.cluster.local']);
  });
});
