// Kubernetes Ingress → Istio Gateway + VirtualService, as istiod's ingress controller converts
// them, and what a gateway then serves from them.
import assert from 'node:assert/strict';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { formatConfigError, parseYaml } from '../pilot/config/parse.js';
import { MemoryConfigStore } from '../pilot/config/store.js';
import type { Resource } from '../pilot/config/resource.js';
import type { IngressSpec } from '../pilot/config/schema/ingress.js';
import { convertKubernetesConfig } from '../pilot/config/kube-conversion/index.js';
import {
  defaultIngressSettings, fallbackStringMatch, ingressGatewaySelector, shouldProcessIngress, type IngressSettings,
} from '../pilot/config/kube-conversion/ingress.js';
import { buildServiceIndex } from '../pilot/registry/index.js';
import { defaultMeshConfig } from '../pilot/model/mesh.js';
import { PushContext } from '../pilot/model/push-context.js';
import { proxyFromNode } from '../pilot/model/proxy.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { envoyRegistry } from '../pilot/networking/registry.js';
import { gatewayGenerators } from '../pilot/networking/gateway/index.js';
import type { RouteConfiguration } from '../gen/envoy/config/route/v3/route_pb.js';

function storeOf(yaml: string): MemoryConfigStore {
  const parsed = parseYaml(yaml);
  assert.deepEqual(parsed.errors.map(formatConfigError), []);
  assert.deepEqual(parsed.ignored, []);
  const store = new MemoryConfigStore();
  store.replaceAll(parsed.resources);
  return store;
}

const convert = (yaml: string, ingress: Partial<IngressSettings> = {}) =>
  convertKubernetesConfig(storeOf(yaml), { domainSuffix: 'cluster.local', ingress, lookupService: () => undefined });

function ingress(name: string, spec: string, opts: { annotations?: string; ts?: string; ns?: string } = {}): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: ${opts.ns ?? 'default'}
${opts.ts ? `  creationTimestamp: "${opts.ts}"\n` : ''}${opts.annotations ? `  annotations: {${opts.annotations}}\n` : ''}spec:
${spec}
---
`;
}

const ISTIO = '"kubernetes.io/ingress.class": istio';

describe('Ingress conversion', () => {
  it('processes Ingresses by class annotation, IngressClass and controller mode as Istio does', () => {
    const ing = (annotations: Record<string, string>, className?: string) =>
      ({ kind: 'Ingress', group: 'networking.k8s.io', version: 'v1', meta: { name: 'x', namespace: 'ns', labels: {}, annotations }, spec: className ? { ingressClassName: className } : {} }) as Resource<IngressSpec>;
    const mode = (m: IngressSettings['ingressControllerMode']) => ({ ...defaultIngressSettings(), ingressControllerMode: m });
    const istioClass = { controller: 'istio.io/ingress-controller' };
    const otherClass = { controller: 'example.com/other' };
    const cases: [IngressSettings['ingressControllerMode'], Record<string, string>, { controller: string } | undefined, boolean][] = [
      ['DEFAULT', { 'kubernetes.io/ingress.class': 'nginx' }, undefined, false],
      ['STRICT', { 'kubernetes.io/ingress.class': 'nginx' }, undefined, false],
      ['OFF', { 'kubernetes.io/ingress.class': 'istio' }, undefined, false],
      ['DEFAULT', { 'kubernetes.io/ingress.class': 'istio' }, undefined, true],
      ['STRICT', { 'kubernetes.io/ingress.class': 'istio' }, undefined, true],
      ['DEFAULT', {}, undefined, true],
      ['STRICT', {}, undefined, false],
      ['DEFAULT', {}, otherClass, false],
      ['STRICT', {}, istioClass, true],
      // The annotation wins over the class.
      ['STRICT', { 'kubernetes.io/ingress.class': 'nginx' }, istioClass, false],
      ['STRICT', { 'kubernetes.io/ingress.class': 'istio' }, otherClass, true],
    ];
    for (const [m, annotations, cls, want] of cases) {
      assert.equal(shouldProcessIngress(mode(m), ing(annotations), cls), want, `${m} ${JSON.stringify(annotations)} ${cls?.controller}`);
    }
  });

  it('selects the ingress gateway from ingressSelector, then a non-default ingressService', () => {
    assert.deepEqual(ingressGatewaySelector(defaultIngressSettings()), { istio: 'ingressgateway' });
    assert.deepEqual(ingressGatewaySelector({ ...defaultIngressSettings(), ingressService: 'my-gw' }), { istio: 'my-gw' });
    assert.deepEqual(ingressGatewaySelector({ ...defaultIngressSettings(), ingressService: 'my-gw', ingressSelector: 'sel' }), { istio: 'sel' });
  });

  it('reads ImplementationSpecific paths the legacy way', () => {
    assert.equal(fallbackStringMatch(''), undefined);
    assert.equal(fallbackStringMatch('/*'), undefined);
    assert.deepEqual(fallbackStringMatch('/foo.*'), { prefix: '/foo' });
    assert.deepEqual(fallbackStringMatch('/foo/*'), { prefix: '/foo' });
    assert.deepEqual(fallbackStringMatch('/foo*'), { exact: '/foo*' });
  });

  it('makes one Gateway per Ingress (HTTPS per TLS entry with a secret, HTTP for all) in istio-system', () => {
    const out = convert(
      ingress(
        'web',
        `  tls:
  - hosts: [a.example.com]
    secretName: a-cert
  - hosts: [b.example.com]
  rules:
  - host: a.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}`,
        { annotations: ISTIO },
      ),
    );
    assert.equal(out.gateways.length, 1);
    const gw = out.gateways[0]!;
    assert.equal(gw.meta.name, 'web-istio-autogenerated-k8s-ingress-default');
    assert.equal(gw.meta.namespace, 'istio-system');
    assert.deepEqual(gw.spec, {
      selector: { istio: 'ingressgateway' },
      servers: [
        { port: { number: 443, protocol: 'HTTPS', name: 'https-443-ingress-web-default-0' }, hosts: ['a.example.com'], tls: { mode: 'SIMPLE', credentialName: 'a-cert' } },
        { port: { number: 80, protocol: 'HTTP', name: 'http-80-ingress-web-default' }, hosts: ['*'] },
      ],
    });
    assert.deepEqual(gw.derivedFrom.map((o) => `${o.kind} ${o.namespace}/${o.name}`), ['Ingress default/web']);
  });

  it('merges the rules of every Ingress for a host into one VirtualService, bound to the oldest Ingress\'s Gateway, longest paths first', () => {
    const svc = `apiVersion: v1
kind: Service
metadata: {name: named, namespace: default}
spec:
  ports: [{name: web, port: 8080}]
---
`;
    const out = convert(
      svc +
        ingress('newer', `  rules:\n  - host: example.com\n    http: {paths: [{path: /a, pathType: Prefix, backend: {service: {name: named, port: {name: web}}}}]}`, {
          annotations: ISTIO,
          ts: '2021-01-01T00:00:00Z',
        }) +
        ingress('older', `  rules:\n  - host: example.com\n    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: root, port: {number: 80}}}}, {path: /abc, pathType: Exact, backend: {service: {name: abc, port: {number: 81}}}}]}`, {
          annotations: ISTIO,
          ts: '2020-01-01T00:00:00Z',
        }),
    );
    assert.equal(out.virtualServices.length, 1);
    const vs = out.virtualServices[0]!;
    assert.equal(vs.meta.name, 'example-com-older-istio-autogenerated-k8s-ingress');
    assert.equal(vs.meta.annotations['internal.istio.io/route-semantics'], 'ingress');
    assert.deepEqual(vs.spec.gateways, ['istio-system/older-istio-autogenerated-k8s-ingress-default']);
    assert.deepEqual(
      vs.spec.http!.map((h) => [h.match?.[0]?.uri, h.route![0]!.destination!.host, h.route![0]!.destination!.port!.number]),
      [
        [{ exact: '/abc' }, 'abc.default.svc.cluster.local', 81],
        [{ prefix: '/a' }, 'named.default.svc.cluster.local', 8080],
        [{ prefix: '/' }, 'root.default.svc.cluster.local', 80],
      ],
    );
  });

  it('ignores Ingresses of other classes and rules without paths', () => {
    const out = convert(
      ingress('other', `  rules:\n  - host: example.com\n    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: x, port: {number: 80}}}}]}`, {
        annotations: '"kubernetes.io/ingress.class": nginx',
      }) + ingress('nopaths', `  rules:\n  - host: empty.example.com`, { annotations: ISTIO }),
    );
    assert.deepEqual(out.virtualServices, []);
    assert.deepEqual(out.gateways.map((g) => g.meta.name), ['nopaths-istio-autogenerated-k8s-ingress-default']);
  });

  it('serves the converted config on the ingress gateway, prefixes as path_separated_prefix', () => {
    const yaml = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  clusterIP: 10.0.0.5
  ports: [{name: http, port: 80}]
---
${ingress('web', `  rules:\n  - host: example.com\n    http: {paths: [{path: /api/, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}`, { annotations: ISTIO })}`;
    const store = storeOf(yaml);
    const push = new PushContext('t', defaultMeshConfig(), 'cluster.local', buildServiceIndex(store, { domainSuffix: 'cluster.local' }), store);
    assert.deepEqual(push.gateways.map((g) => g.meta.name), ['web-istio-autogenerated-k8s-ingress-default']);
    const router = proxyFromNode({ id: 'router~10.0.0.50~gw.istio-system~istio-system.svc.cluster.local', metadata: { NAMESPACE: 'istio-system', LABELS: { istio: 'ingressgateway' } } });
    const [rds] = gatewayGenerators.byType[TYPE.route]!(push, router, { typeUrl: TYPE.route, names: ['http.80'], wildcard: false });
    const rc = anyUnpack(rds!.resource, envoyRegistry()) as unknown as RouteConfiguration;
    const vh = rc.virtualHosts.find((v) => v.domains.includes('example.com'))!;
    assert.ok(vh, 'virtual host for example.com');
    assert.deepEqual(vh.routes[0]!.match!.pathSpecifier, { case: 'pathSeparatedPrefix', value: '/api' });
    const action = vh.routes[0]!.action;
    assert.equal(action.case === 'route' && action.value.clusterSpecifier.value, 'outbound|80||web.default.svc.cluster.local');
  });
});
