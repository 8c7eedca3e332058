// A push built from the one before takes over unchanged services, endpoint lists, VirtualServices
// and DestinationRules and the output derived from them (PushContext.durable). Whatever the
// edits, it must generate exactly what pushes that share nothing generate (test/support/carry-check.ts).
import assert from 'node:assert/strict';
import { Canon, deepEqual } from '../pilot/model/canonical.js';
import { DurableCache } from '../pilot/model/durable-cache.js';
import { deriveService, serviceSources } from '../pilot/model/service.js';
import { proxyFromNode } from '../pilot/model/proxy.js';
import type { PushContext } from '../pilot/model/push-context.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import { checkCarry, type CarryResult } from './support/carry-check.js';
import { pushFromYaml } from './support/push.js';
import { generate } from './support/resources.js';

const service = (name: string, ns: string, ip: string, ports = '[{name: http, port: 80}]', meta = '') => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}${meta}}
spec: {clusterIP: ${ip}, ports: ${ports}}`;
/** An EndpointSlice and its pods: [pod, ip, version, zone?]. */
const endpoints = (svc: string, ns: string, pods: [string, string, string, string?][]) => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${svc}-x, namespace: ${ns}, labels: {kubernetes.io/service-name: ${svc}}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
${pods.map(([pod, ip]) => `- addresses: [${ip}]\n  targetRef: {kind: Pod, name: ${pod}, namespace: ${ns}}`).join('\n')}
---
${pods
  .map(
    ([pod, ip, version, zone]) =>
      `apiVersion: v1\nkind: Pod\nmetadata: {name: ${pod}, namespace: ${ns}, labels: {app: ${svc}, version: ${version}${zone ? `, topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: ${zone}` : ''}}}\nstatus: {podIP: ${ip}}`,
  )
  .join('\n---\n')}`;
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
const serviceEntry = (name: string, hosts: string, ports: string, extra = '') => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: a}
spec: {hosts: [${hosts}], ports: ${ports}, resolution: STATIC, location: MESH_INTERNAL, endpoints: [{address: 10.2.0.1}]${extra}}`;

const subsetsOfB = dr('b', 'b', 'b', 'subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]');
const base = [
  endpoints('b', 'b', [['b-1', '10.1.1.1', 'v1', 'z1'], ['b-2', '10.1.1.2', 'v2', 'z2']]),
  endpoints('c', 'c', [['c-1', '10.1.2.1', 'v1', 'z1'], ['c-2', '10.1.2.2', 'v1', 'z2']]),
  service('a', 'a', '10.96.0.1'),
  service('b', 'b', '10.96.0.2', '[{name: http, port: 80}, {name: http2, port: 9080}]'),
  service('c', 'c', '10.96.0.3'),
  vs('to-b', 'b', 'b', '[{route: [{destination: {host: b, subset: v1}, weight: 90}, {destination: {host: b, subset: v2}, weight: 10}]}]'),
  subsetsOfB,
];
const without = (docs: string[], ...needles: string[]) => docs.filter((d) => !needles.some((n) => d.includes(n)));
const hashOn = (host: string, header: string) => dr(host, host, host, `trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: ${header}}}}`);

function assertSame(r: CarryResult): void {
  assert.deepEqual(r.differences, []);
  assert.ok(r.resources > 0);
}

describe('pushes built from the push before generate what pushes sharing nothing generate', () => {
  it('through edits of routes, rules, ports, addresses, visibility and endpoints', () => {
    const r = checkCarry(
      [
        ['start', base],
        ['weights change', base.map((d) => d.replace('weight: 90', 'weight: 80').replace('weight: 10', 'weight: 20'))],
        ['a consistent hash on c', [...base, hashOn('c', 'x-user')]],
        ['a second rule for c merges a subset', [...base, hashOn('c', 'x-user'), dr('c2', 'c', 'c', 'subsets: [{name: v9, labels: {version: v9}}]')]],
        ['c gains a port', [...without(base, 'name: c, namespace: c}\nspec'), service('c', 'c', '10.96.0.3', '[{name: http, port: 80}, {name: http-alt, port: 8080}]')]],
        ['c moves to another address', [...without(base, 'name: c, namespace: c}\nspec'), service('c', 'c', '10.96.0.33')]],
        ['a VirtualService for c routes to a', [...base, vs('to-c', 'c', 'c', '[{match: [{uri: {prefix: /a}}], route: [{destination: {host: a}}]}, {route: [{destination: {host: c}}]}]')]],
        ['a is exported to its own namespace only', [...base.map((d) => d.replace('metadata: {name: a, namespace: a}', 'metadata: {name: a, namespace: a, annotations: {networking.istio.io/exportTo: "."}}')), vs('to-c', 'c', 'c', '[{route: [{destination: {host: a}}]}]')]],
        ['an endpoint of b moves', base.map((d) => d.replace(/10\.1\.1\.2/g, '10.1.1.9'))],
        ['an endpoint of b changes version', base.map((d) => d.replace('version: v2', 'version: v1'))],
        ['b is gone', without(base, 'name: b,', 'to-b', 'b-x')],
        ['back to the start', base],
      ],
      [{ ns: 'a' }, { ns: 'b' }, { ns: 'c' }],
      { subsets: ['v1', 'v2', 'v9'] },
    );
    assertSame(r);
    assert.ok(r.hits > 0, 'pieces of earlier pushes were used');
  });

  it('with a Sidecar limiting egress to one port', () => {
    const sidecar = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: a}
spec: {egress: [{port: {number: 80, protocol: HTTP, name: http}, hosts: ["*/*"]}]}`;
    assertSame(
      checkCarry(
        [
          ['start', [...base, sidecar]],
          ['b routes to v1 only', [...without(base, 'to-b'), sidecar, vs('to-b', 'b', 'b', '[{route: [{destination: {host: b, subset: v1}}]}]')]],
          ['an endpoint of b moves', [...without(base, 'to-b').map((d) => d.replace(/10\.1\.1\.2/g, '10.1.1.7')), sidecar, vs('to-b', 'b', 'b', '[{route: [{destination: {host: b, subset: v1}}]}]')]],
          ['back', [...base, sidecar]],
        ],
        [{ ns: 'a' }, { ns: 'b' }],
      ),
    );
  });

  it('with ExternalName aliases coming and going', () => {
    const alias = `apiVersion: v1
kind: Service
metadata: {name: ext, namespace: a}
spec: {type: ExternalName, externalName: b.b.svc.cluster.local}`;
    assertSame(
      checkCarry(
        [
          ['start', base],
          ['an alias of b', [...base, alias]],
          ['the alias and a route to b', [...without(base, 'to-b'), alias, vs('to-b', 'b', 'b', '[{route: [{destination: {host: b}}]}]')]],
          ['no alias', [...without(base, 'to-b'), vs('to-b', 'b', 'b', '[{route: [{destination: {host: b}}]}]')]],
          ['the alias again', [...base, alias]],
        ],
        [{ ns: 'a' }, { ns: 'b' }],
      ),
    );
  });

  it('with ServiceEntries merged by host and addresses allocated for DNS-capturing proxies', () => {
    const x = serviceEntry('x', 'x.example.com, y.example.com', '[{name: http, number: 80, protocol: HTTP}]');
    const x2 = serviceEntry('x2', 'x.example.com', '[{name: http-alt, number: 8080, protocol: HTTP}]');
    process.env.PILOT_ENABLE_IP_AUTOALLOCATE = 'false';
    try {
      assertSame(
        checkCarry(
          [
            ['start', [...base, x]],
            ['a second entry for one host', [...base, x, x2]],
            ['the first exported to its namespace', [...base, serviceEntry('x', 'x.example.com, y.example.com', '[{name: http, number: 80, protocol: HTTP}]', ', exportTo: ["."]'), x2]],
            ['another host', [...base, x, serviceEntry('z', 'a.example.com', '[{name: http, number: 80, protocol: HTTP}]')]],
            ['back', [...base, x]],
          ],
          [{ ns: 'a', metadata: { DNS_CAPTURE: 'true', DNS_AUTO_ALLOCATE: 'true' } }, { ns: 'b' }],
        ),
      );
    } finally {
      delete process.env.PILOT_ENABLE_IP_AUTOALLOCATE;
    }
  });

  it("when an entry's host is another service's short name, and then goes", () => {
    // `b.b` is one of service b's names for namespace a; an entry named so takes it over, and
    // route edits in between must not bring back the split of names from before.
    const shortName = serviceEntry('bb', 'b.b', '[{name: http, number: 80, protocol: HTTP}]');
    const weights = (docs: string[]) => docs.map((d) => d.replace('weight: 90', 'weight: 70').replace('weight: 10', 'weight: 30'));
    assertSame(
      checkCarry(
        [
          ['start', base],
          ['an entry named b.b', [...base, shortName]],
          ['b reweighted', weights([...base, shortName])],
          ['the entry goes', weights(base)],
          ['b reweighted back', base],
        ],
        [{ ns: 'a' }, { ns: 'b' }],
      ),
    );
  });

  it('with locality load balancing turned on and off by other rules', () => {
    const outlierOn = (host: string, more = '') => dr(host, host, host, `trafficPolicy: {outlierDetection: {consecutive5xxErrors: 3}}${more}`);
    assertSame(
      checkCarry(
        [
          ['start', base],
          ['outlier detection on c', [...base, outlierOn('c')]],
          ['outlier detection on b', [...without(base, 'name: b, namespace: b}\nspec: {host'), outlierOn('b', ', subsets: [{name: v1, labels: {version: v1}}]')]],
          ['distribute', [...without(base, 'name: b, namespace: b}\nspec: {host'), dr('b', 'b', 'b', 'trafficPolicy: {loadBalancer: {localityLbSetting: {enabled: true, distribute: [{from: "r1/z1/*", to: {"r1/z1/*": 80, "r1/z2/*": 20}}]}}}')]],
          ['none', base],
          ['outlier detection on c again', [...base, outlierOn('c')]],
        ],
        [{ ns: 'a', zone: 'z1' }, { ns: 'a', zone: 'z2' }, { ns: 'c', zone: 'z2' }],
        { mesh: { localityLbSetting: { enabled: true } } as never },
      ),
    );
  });

  it("with rules and routes that depend on the caller's labels", () => {
    const selected = (app: string) => dr('b', 'a', 'b.b.svc.cluster.local', `workloadSelector: {matchLabels: {app: ${app}}}, trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: u}}}`);
    const bySource = vs('by-source', 'b', 'b', '[{match: [{sourceLabels: {app: x}}], route: [{destination: {host: c.c.svc.cluster.local}}]}, {route: [{destination: {host: b}}]}]');
    const rest = without(base, 'to-b');
    assertSame(
      checkCarry(
        [
          ['start', [...rest, selected('x')]],
          ['routes by source labels', [...rest, selected('x'), bySource]],
          ['the rule selects others', [...rest, selected('y'), bySource]],
          ['a hash on c', [...rest, hashOn('c', 'q'), bySource]],
          ['another hash on c', [...rest, hashOn('c', 'r'), bySource]],
        ],
        [{ ns: 'a', labels: { app: 'x' } }, { ns: 'a', labels: { app: 'y' } }, { ns: 'b' }],
      ),
    );
  });

  it('with rules of one host merged, exported and in the root namespace', () => {
    const c1 = dr('c1', 'c', 'c', 'subsets: [{name: v1, labels: {version: v1}}]');
    const c2 = (extra = '') => dr('c2', 'c', 'c', `${extra}trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: u}}}, subsets: [{name: v2, labels: {version: v2}}]`);
    assertSame(
      checkCarry(
        [
          ['start', [...base, c1, c2()]],
          ['the second exported to its namespace', [...base, c1, c2('exportTo: ["."], ')]],
          ['the first gone', [...base, c2()]],
          ['a root namespace rule', [...base, c2(), dr('all', 'istio-system', '"*.c.svc.cluster.local"', 'trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: w}}}')]],
          ['back', [...base, c1, c2()]],
        ],
        [{ ns: 'a' }, { ns: 'c' }],
      ),
    );
  });

  it('when only the order of query parameter matches changes', () => {
    const byQuery = (params: string) => vs('q', 'c', 'c', `[{match: [{queryParams: ${params}}], route: [{destination: {host: a}}]}, {route: [{destination: {host: c}}]}]`);
    assertSame(
      checkCarry(
        [
          ['start', [...base, byQuery('{x: {exact: "1"}, y: {exact: "2"}}')]],
          ['reordered', [...base, byQuery('{y: {exact: "2"}, x: {exact: "1"}}')]],
        ],
        [{ ns: 'a' }],
      ),
    );
  });
});

const sidecar = (ns: string) => proxyFromNode({ id: `sidecar~10.1.0.9~app.${ns}~${ns}.svc.cluster.local`, metadata: { NAMESPACE: ns } });

describe('pushes built from the push before', () => {
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

  it('keep services narrowed by a Sidecar or merged by host the same objects while their sources are unchanged', () => {
    // Egress on port 80 to the namespace's own config; a's VirtualService routes to b, which the
    // scope then holds narrowed to that port.
    const egress80 = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: a}
spec: {egress: [{port: {number: 80, protocol: HTTP, name: http}, hosts: ["./*"]}]}`;
    const toA = (weight: number) => vs('to-a', 'a', 'a', `[{route: [{destination: {host: a}, weight: ${weight}}, {destination: {host: b.b.svc.cluster.local}, weight: ${100 - weight}}]}]`);
    const x = serviceEntry('x', 'x.example.com', '[{name: http, number: 80, protocol: HTTP}]');
    const x2 = (ports: string) => serviceEntry('x2', 'x.example.com', ports);
    const docs = (weight: number, x2Ports = '[{name: http-alt, number: 8080, protocol: HTTP}]') => [...base, egress80, toA(weight), x, x2(x2Ports)].join('\n---\n');
    const proxy = sidecar('a');
    const scoped = (push: PushContext, host: string) => push.sidecarScope(proxy).services.find((s) => s.hostname === host)!;
    const routes = (push: PushContext) => generate(sidecarGenerators, push, proxy, TYPE.route, ['80']);
    const first = pushFromYaml(docs(50));
    routes(first);
    const second = pushFromYaml(docs(60), first.mesh, first);
    const b = scoped(second, 'b.b.svc.cluster.local');
    assert.deepEqual(b.ports.map((p) => p.port), [80], 'b is narrowed to the egress port');
    assert.notEqual(b, second.registry.services.find((s) => s.hostname === 'b.b.svc.cluster.local'), 'a copy, not the registry service');
    assert.equal(b, scoped(first, 'b.b.svc.cluster.local'), 'the narrowed b is the object of the push before');
    const before = { ...second.cacheStats };
    routes(second);
    assert.equal(second.cacheStats.misses - before.misses, 2, "only a's routes and virtual host are built again");
    const wider = '[{name: http-alt, number: 8080, protocol: HTTP}, {name: http-3, number: 8081, protocol: HTTP}]';
    const third = pushFromYaml(docs(60, wider), second.mesh, second);
    assert.notEqual(scoped(third, 'x.example.com'), scoped(second, 'x.example.com'), 'a merged service changes with the entries it merges');
    const fourth = pushFromYaml(docs(70, wider), third.mesh, third);
    assert.equal(scoped(fourth, 'x.example.com'), scoped(third, 'x.example.com'), 'and is kept while they do not');
  });

  it('replace a cluster\'s assignment when its endpoints change, instead of adding one per change', () => {
    const proxy = sidecar('a');
    const cluster = 'outbound|80||b.b.svc.cluster.local';
    let push = pushFromYaml(base.join('\n---\n'));
    generate(sidecarGenerators, push, proxy, TYPE.endpoint, [cluster]);
    const misses = push.cacheStats.misses;
    for (let i = 3; i < 13; i++) {
      push = pushFromYaml(base.map((d) => d.replace(/10\.1\.1\.2\b/g, `10.1.1.${i}`)).join('\n---\n'), push.mesh, push);
      const [assignment] = generate(sidecarGenerators, push, proxy, TYPE.endpoint, [cluster]);
      assert.ok(Buffer.from(assignment!.resource.value).includes(`10.1.1.${i}`), 'the moved endpoint is there');
    }
    assert.equal(push.cacheStats.misses, misses, 'no new cache entries for endpoint changes');
  });

  it('share pieces between the proxies of a push whatever PILOT_XDS_CACHE_SIZE holds', () => {
    process.env.PILOT_XDS_CACHE_SIZE = '2';
    try {
      const push = pushFromYaml(base.join('\n---\n'));
      let built = 0;
      const first = Array.from({ length: 50 }, (_, i) => push.durable(`k${i}`, () => ({ n: ++built })));
      const again = Array.from({ length: 50 }, (_, i) => push.durable(`k${i}`, () => ({ n: ++built })));
      assert.deepEqual(again, first);
      assert.ok(again.every((v, i) => v === first[i]), 'the very same objects');
      assert.equal(built, 50);
    } finally {
      delete process.env.PILOT_XDS_CACHE_SIZE;
    }
  });
});

describe('derived services', () => {
  it('are the same object for the same base and changes, for as many narrowings as a base has at once', () => {
    const push = pushFromYaml(service('m', 'a', '10.96.0.9', `[${Array.from({ length: 20 }, (_, i) => `{name: http-${i}, port: ${8000 + i}}`).join(', ')}]`));
    const base = push.registry.services.find((s) => s.name === 'm')!;
    const narrow = (i: number) => deriveService(base, { ports: base.ports.filter((p) => p.port === 8000 + i) });
    const first = Array.from({ length: 20 }, (_, i) => narrow(i));
    const again = Array.from({ length: 20 }, (_, i) => narrow(i));
    assert.ok(again.every((s, i) => s === first[i]), 'twenty narrowings of one service are all kept');
    assert.deepEqual(first[3]!.ports.map((p) => p.port), [8003]);
    assert.deepEqual(serviceSources(first[3]!), [base], 'a narrowed service stands for its base');
    const other = deriveService(base, { ports: [...base.ports.slice(0, 1)] });
    assert.equal(other, first[0], 'equal elements in a new list are the same change');
    assert.notEqual(deriveService(base, { ports: base.ports.slice(1, 2) }, [base]), first[1], 'another `also` is another derivation');
  });
});

describe('the durable cache', () => {
  it('keeps at most its limit, dropping what went unused for the longest', () => {
    const cache = new DurableCache(4);
    let built = 0;
    const get = (k: string) => cache.get(k, () => ++built);
    get('x');
    get('y');
    get('x');
    get('z');
    assert.equal(get('x'), 1, 'x was used recently: kept');
    assert.equal(get('y'), 4, 'y was unused for the longest: dropped and built again');
    assert.equal(cache.stats.evictions, 2, 'y, then z (unused since its generation ended)');
    for (let i = 0; i < 100; i++) get(`k${i}`);
    assert.ok(cache.size <= 4);
    assert.deepEqual({ hits: cache.stats.hits, misses: cache.stats.misses }, { hits: 2, misses: 104 });
  });
});

describe('canonical objects', () => {
  it('deepEqual compares config-shaped values by content', () => {
    assert.ok(deepEqual({ a: [1, { b: new Set(['x', 'y']) }], c: 'd' }, { a: [1, { b: new Set(['x', 'y']) }], c: 'd' }));
    assert.ok(!deepEqual({ a: 1, c: 'd' }, { c: 'd', a: 1 }), 'key order counts: some output follows it');
    assert.ok(!deepEqual(new Set(['x', 'y']), new Set(['y', 'x'])), 'so does Set order');
    assert.ok(!deepEqual(new Date(0), new Date(1)), 'objects other than plain ones are equal only when identical');
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
