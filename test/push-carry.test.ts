// A push built from the one before takes over unchanged services, VirtualServices and
// DestinationRules and the output derived from them (PushContext.durable). Whatever the edits,
// it must generate exactly what a push built from scratch generates.
import assert from 'node:assert/strict';
import { toBinary } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { Canon, deepEqual } from '../pilot/model/canonical.js';
import { proxyFromNode } from '../pilot/model/proxy.js';
import type { PushContext } from '../pilot/model/push-context.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { grpcGenerators } from '../pilot/networking/grpc/index.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import type { GeneratorSet } from '../pilot/networking/generator.js';
import { pushFromYaml } from './support/push.js';
import { generate } from './support/resources.js';

const service = (name: string, ns: string, ip: string, ports = '[{name: http, port: 80}]') => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec: {clusterIP: ${ip}, ports: ${ports}}`;
const vs = (name: string, ns: string, host: string, http: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: ${ns}}
spec:
  hosts: [${host}]
  http: ${http}`;
const dr = (name: string, ns: string, host: string, spec: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: ${ns}}
spec: {host: ${host}, ${spec}}`;

const endpoints = (svc: string, ns: string, pods: [string, string, string][]) => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${svc}-x, namespace: ${ns}, labels: {kubernetes.io/service-name: ${svc}}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
${pods.map(([pod, ip]) => `- addresses: [${ip}]\n  targetRef: {kind: Pod, name: ${pod}, namespace: ${ns}}`).join('\n')}
---
${pods.map(([pod, ip, version]) => `apiVersion: v1\nkind: Pod\nmetadata: {name: ${pod}, namespace: ${ns}, labels: {app: ${svc}, version: ${version}}}\nstatus: {podIP: ${ip}}`).join('\n---\n')}`;

const base = [
  endpoints('b', 'b', [['b-1', '10.1.1.1', 'v1'], ['b-2', '10.1.1.2', 'v2']]),
  endpoints('c', 'c', [['c-1', '10.1.2.1', 'v1']]),
  service('a', 'a', '10.96.0.1'),
  service('b', 'b', '10.96.0.2'),
  service('c', 'c', '10.96.0.3'),
  vs('to-b', 'b', 'b', '[{route: [{destination: {host: b, subset: v1}, weight: 90}, {destination: {host: b, subset: v2}, weight: 10}]}]'),
  dr('b', 'b', 'b', 'subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]'),
];

/** Each step is the whole config after one edit. */
const steps: [string, string[]][] = [
  ['start', base],
  ['a weight changes', base.map((d) => d.replace('weight: 90', 'weight: 80').replace('weight: 10', 'weight: 20'))],
  ['a consistent hash on c', [...base, dr('c', 'c', 'c', 'trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}')]],
  ['a second rule for c merges a subset', [...base, dr('c', 'c', 'c', 'trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}'), dr('c2', 'c', 'c', 'subsets: [{name: v9, labels: {version: v9}}]')]],
  ['c gains a port', [...base.filter((d) => !d.includes('name: c,')), service('c', 'c', '10.96.0.3', '[{name: http, port: 80}, {name: http-alt, port: 8080}]')]],
  ['c moves to another address', [...base.filter((d) => !d.includes('name: c,')), service('c', 'c', '10.96.0.33')]],
  ['a VirtualService for c routes to a', [...base, vs('to-c', 'c', 'c', '[{match: [{uri: {prefix: /a}}], route: [{destination: {host: a}}]}, {route: [{destination: {host: c}}]}]')]],
  ['a is exported to its own namespace only', [...base.map((d) => d.replace('metadata: {name: a, namespace: a}', 'metadata: {name: a, namespace: a, annotations: {networking.istio.io/exportTo: "."}}')), vs('to-c', 'c', 'c', '[{route: [{destination: {host: a}}]}]')]],
  ['an endpoint of b moves', base.map((d) => d.replace(/10\.1\.1\.2/g, '10.1.1.9'))],
  ['an endpoint of b changes version', base.map((d) => d.replace('version: v2', 'version: v1'))],
  ['b is gone', base.filter((d) => !d.includes('name: b,') && !d.includes('to-b'))],
  ['back to the start', base],
];

const sidecar = (ns: string) => proxyFromNode({ id: `sidecar~10.1.0.9~app.${ns}~${ns}.svc.cluster.local`, metadata: { NAMESPACE: ns } });
const grpc = (ns: string) => proxyFromNode({ id: `sidecar~10.1.0.8~grpc.${ns}~${ns}.svc.cluster.local`, metadata: { NAMESPACE: ns, GENERATOR: 'grpc' } });

/** Every listener, route configuration and cluster the proxies get, as bytes by name. */
function output(push: PushContext): Map<string, string> {
  const out = new Map<string, string>();
  const add = (who: string, gens: GeneratorSet, proxy: ReturnType<typeof sidecar>, typeUrl: string, names?: string[]) => {
    for (const r of generate(gens, push, proxy, typeUrl, names)) out.set(`${who} ${typeUrl.split('.').pop()} ${r.name}`, Buffer.from(toBinary(AnySchema, r.resource)).toString('base64'));
  };
  for (const ns of ['a', 'b', 'c']) {
    const proxy = sidecar(ns);
    add(`sidecar/${ns}`, sidecarGenerators, proxy, TYPE.listener);
    add(`sidecar/${ns}`, sidecarGenerators, proxy, TYPE.cluster);
    add(`sidecar/${ns}`, sidecarGenerators, proxy, TYPE.route, ['80', '8080']);
    const clusters = ['a.a', 'b.b', 'c.c'].flatMap((h) => ['', 'v1', 'v2', 'v9'].map((subset) => `outbound|80|${subset}|${h}.svc.cluster.local`));
    add(`sidecar/${ns}`, sidecarGenerators, proxy, TYPE.endpoint, clusters);
    const client = grpc(ns);
    const hosts = ['a.a.svc.cluster.local:80', 'b.b.svc.cluster.local:80', 'c.c.svc.cluster.local:80', 'c.c.svc.cluster.local:8080'];
    add(`grpc/${ns}`, grpcGenerators, client, TYPE.listener, hosts);
    add(`grpc/${ns}`, grpcGenerators, client, TYPE.route, hosts);
    add(`grpc/${ns}`, grpcGenerators, client, TYPE.endpoint, ['outbound|80||b.b.svc.cluster.local', 'outbound|80|v1|b.b.svc.cluster.local']);
  }
  return out;
}

describe('pushes built from the push before', () => {
  it('generate the same bytes as a push built from scratch, through a series of edits', () => {
    let previous: PushContext | undefined;
    let reused = 0;
    for (const [what, docs] of steps) {
      const yaml = docs.join('\n---\n');
      const carried = pushFromYaml(yaml, previous?.mesh ?? {}, previous);
      const fresh = pushFromYaml(yaml);
      const got = output(carried);
      const want = output(fresh);
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${what}: the same resources`);
      for (const [name, bytes] of want) assert.equal(got.get(name), bytes, `${what}: ${name}`);
      if (previous) reused += carried.cacheStats.hits;
      previous = carried;
    }
    assert.ok(reused > 0, 'pieces of earlier pushes were used');
  });

  it('take over what did not change and rebuild only what did', () => {
    const first = pushFromYaml(base.join('\n---\n'));
    const proxy = sidecar('a');
    const routes = (push: PushContext) => generate(sidecarGenerators, push, proxy, TYPE.route, ['80']);
    routes(first);
    const second = pushFromYaml(base.map((d) => d.replace('weight: 90', 'weight: 70').replace('weight: 10', 'weight: 30')).join('\n---\n'), first.mesh, first);
    assert.ok(second.registry.services.every((s) => first.registry.services.includes(s)), 'no service changed: every one taken over');
    assert.equal(second.destinationRules[0], first.destinationRules[0], 'the unchanged DestinationRule is taken over');
    assert.notEqual(second.virtualServices[0], first.virtualServices[0], 'the edited VirtualService is a new object');
    const before = { ...second.cacheStats };
    routes(second);
    const misses = second.cacheStats.misses - before.misses;
    // b's routes (from the edited VirtualService) and b's virtual host; a's and c's pieces are reused.
    assert.equal(misses, 2, 'only what the edit touched is built again');
    assert.ok(second.cacheStats.hits > before.hits);
    const otherMesh = pushFromYaml(base.join('\n---\n'), { ...first.mesh }, second);
    assert.equal(otherMesh.cacheStats.hits + otherMesh.cacheStats.misses, 0, 'another mesh config starts from nothing');
  });

  it('keep at most PILOT_XDS_CACHE_SIZE pieces, dropping those unused for the longest', () => {
    process.env.PILOT_XDS_CACHE_SIZE = '4';
    try {
      const push = pushFromYaml(base.join('\n---\n'));
      let built = 0;
      const get = (k: string) => push.durable(k, () => ++built);
      get('x');
      get('y');
      get('x');
      get('z');
      assert.equal(get('x'), 1, 'x was used recently: kept');
      assert.equal(get('y'), 4, 'y was unused for the longest: dropped and built again');
      assert.equal(push.cacheStats.evictions, 2, 'y, then z (unused since its generation ended)');
      for (let i = 0; i < 100; i++) get(`k${i}`);
      assert.ok(push.cacheStats.misses - push.cacheStats.evictions <= 4, 'never more than the limit');
    } finally {
      delete process.env.PILOT_XDS_CACHE_SIZE;
    }
  });
});

describe('canonical objects', () => {
  it('deepEqual compares config-shaped values by content', () => {
    assert.ok(deepEqual({ a: [1, { b: new Set(['x', 'y']) }], c: 'd' }, { c: 'd', a: [1, { b: new Set(['y', 'x']) }] }));
    assert.ok(!deepEqual({ a: 1 }, { a: 1, b: undefined }), 'an extra key, even undefined, differs');
    assert.ok(!deepEqual([1, 2], [2, 1]));
    assert.ok(!deepEqual(new Set(['x']), new Set(['y'])));
    assert.ok(!deepEqual(new Map([['k', { v: 1 }]]), new Map([['k', { v: 2 }]])));
    assert.ok(deepEqual(new Map([['k', { v: 1 }]]), new Map([['k', { v: 1 }]])));
    assert.ok(!deepEqual({ a: 1 }, [1]), 'an object is not an array');
    assert.ok(deepEqual(NaN, NaN));
    assert.ok(!deepEqual(null, {}));
  });

  it('a table hands back the previous object only for equal content, and each previous object once', () => {
    const first = new Canon<{ v: number }>();
    const one = first.of('k', { v: 1 });
    const second = new Canon(first.table);
    assert.equal(second.of('k', { v: 1 }), one);
    assert.notEqual(second.of('k', { v: 1 }), one, 'a key seen twice in one push keeps its objects apart');
    const third = new Canon(second.table);
    const changed = { v: 2 };
    assert.equal(third.of('k', changed), changed);
    assert.notEqual(new Canon(third.table).of('other', { v: 2 }), changed, 'another key never takes it over');
  });
});
