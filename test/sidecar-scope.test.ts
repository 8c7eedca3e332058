// What a Sidecar-scoped proxy sees: egress hosts, plus the services its VirtualServices route to
// (Istio's inference), and which xDS types a VirtualService change then touches.
import assert from 'node:assert/strict';
import { proxyFromNode } from '../pilot/model/proxy.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { planPush } from '../pilot/xds/push-plan.js';
import { kubeService } from './support/meshfiles.js';
import { pushFromYaml } from './support/push.js';

const proxyIn = (ns: string) => proxyFromNode({ id: `sidecar~10.9.9.9~app.${ns}~${ns}.svc.cluster.local`, metadata: { NAMESPACE: ns } });

const twoPortService = `apiVersion: v1
kind: Service
metadata: {name: backend, namespace: b}
spec:
  clusterIP: 10.96.7.7
  ports:
  - {name: http, port: 80}
  - {name: grpc, port: 9090}`;

const sidecar = (ns: string, hosts: string[], port?: number) => `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: ${ns}}
spec:
  egress:
  - ${port ? `port: {number: ${port}, protocol: HTTP, name: http}\n    ` : ''}hosts: [${hosts.map((h) => JSON.stringify(h)).join(', ')}]`;

const frontRoutes = (dest: string, port?: number) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: front, namespace: a}
spec:
  hosts: [front]
  http:
  - route:
    - destination: {host: ${dest}${port ? `, port: {number: ${port}}` : ''}}`;

const base = [kubeService('front', 8080, [{ version: 'v1', port: 8080 }], 'a', 'http'), twoPortService].join('\n---\n');

function scopeServices(yaml: string, ns = 'a'): string[] {
  const push = pushFromYaml(yaml);
  return push
    .sidecarScope(proxyIn(ns))
    .services.map((s) => `${s.hostname}:${s.ports.map((p) => p.port).join(',')}`)
    .sort();
}

describe('Sidecar scope', () => {
  it('leaves out services the egress hosts do not name', () => {
    assert.deepEqual(scopeServices([base, sidecar('a', ['./*'])].join('\n---\n')), ['front.a.svc.cluster.local:8080']);
  });

  it("adds the services a selected VirtualService routes to, narrowed to the ports it names", () => {
    const yaml = [base, sidecar('a', ['./*']), frontRoutes('backend.b.svc.cluster.local', 9090)].join('\n---\n');
    assert.deepEqual(scopeServices(yaml), ['backend.b.svc.cluster.local:9090', 'front.a.svc.cluster.local:8080']);
  });

  it('adds every port when a destination names none, and only the listener port on a port-bound egress listener', () => {
    const all = [base, sidecar('a', ['./*']), frontRoutes('backend.b.svc.cluster.local')].join('\n---\n');
    assert.deepEqual(scopeServices(all), ['backend.b.svc.cluster.local:80,9090', 'front.a.svc.cluster.local:8080']);
    const bound = [base, sidecar('a', ['./*'], 80), frontRoutes('backend.b.svc.cluster.local')].join('\n---\n');
    assert.deepEqual(scopeServices(bound), ['backend.b.svc.cluster.local:80', 'front.a.svc.cluster.local:8080']);
  });

  it('ignores VirtualServices outside the egress hosts and destinations nobody defines', () => {
    const outside = [base, sidecar('a', ['b/*']), frontRoutes('backend.b.svc.cluster.local', 80)].join('\n---\n');
    assert.deepEqual(scopeServices(outside), ['backend.b.svc.cluster.local:80,9090']);
    const unknown = [base, sidecar('a', ['./*']), frontRoutes('nowhere.b.svc.cluster.local')].join('\n---\n');
    assert.deepEqual(scopeServices(unknown), ['front.a.svc.cluster.local:8080']);
  });

  it("reads a root-namespace Sidecar's `.` as the proxy's own namespace", () => {
    const yaml = [base, sidecar('istio-system', ['./*'])].join('\n---\n');
    assert.deepEqual(scopeServices(yaml, 'a'), ['front.a.svc.cluster.local:8080']);
    assert.deepEqual(scopeServices(yaml, 'b'), ['backend.b.svc.cluster.local:80,9090']);
  });

  it('a VirtualService change that brings a service into scope pushes clusters too', () => {
    const before = pushFromYaml([base, sidecar('a', ['./*']), frontRoutes('front.a.svc.cluster.local')].join('\n---\n'));
    const after = pushFromYaml([base, sidecar('a', ['./*']), frontRoutes('backend.b.svc.cluster.local', 80)].join('\n---\n'));
    const plan = planPush(before, after, { changed: new Set(['VirtualService/a/front']), kinds: new Set(['VirtualService']) });
    assert.equal(plan.select?.(proxyIn('a')), undefined, 'every type for the proxy whose scope grew');
    assert.deepEqual([...(plan.select?.(proxyIn('b')) ?? [])].sort(), [TYPE.listener, TYPE.route].sort());
  });

  it('a VirtualService change reaches only proxies whose scope holds it (before or after)', () => {
    const routes = [TYPE.listener, TYPE.route].sort();
    const event = { changed: new Set(['VirtualService/a/front']), kinds: new Set(['VirtualService']) };
    const scoped = (dest: string) => pushFromYaml([base, sidecar('a', ['./*']), sidecar('b', ['./*']), frontRoutes(dest)].join('\n---\n'));
    const plan = planPush(scoped('front.a.svc.cluster.local'), scoped('front.a.svc.cluster.local'), event);
    assert.deepEqual([...(plan.select?.(proxyIn('a')) ?? [])].sort(), routes);
    assert.deepEqual([...(plan.select?.(proxyIn('b')) ?? ['undefined'])], [], 'nothing for a proxy that cannot see it');
    const open = (dest: string) => pushFromYaml([base, frontRoutes(dest)].join('\n---\n'));
    const unscoped = planPush(open('front.a.svc.cluster.local'), open('front.a.svc.cluster.local'), event);
    assert.deepEqual([...(unscoped.select?.(proxyIn('b')) ?? [])].sort(), routes, 'without Sidecars every proxy sees every VirtualService');
  });

  it('an endpoint change reaches only proxies that see the service', () => {
    const mesh = (port: number) =>
      pushFromYaml([kubeService('front', 8080, [{ version: 'v1', port }], 'a', 'http'), twoPortService, sidecar('a', ['./*']), sidecar('b', ['./*'])].join('\n---\n'));
    const plan = planPush(mesh(8080), mesh(8081), { changed: new Set(['EndpointSlice/a/front-v1']), kinds: new Set(['EndpointSlice']) });
    assert.equal(plan.scope, 'eds');
    assert.deepEqual([...(plan.select?.(proxyIn('a')) ?? [])], [TYPE.endpoint]);
    assert.deepEqual([...(plan.select?.(proxyIn('b')) ?? ['undefined'])], []);
  });

  it('an endpoint move rebuilds everything only for the workloads at the addresses that moved', () => {
    const slice = (addresses: string[]) => `apiVersion: v1
kind: Service
metadata: {name: api, namespace: a}
spec:
  clusterIP: 10.96.1.1
  ports:
  - {name: http, port: 80}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: api-1
  namespace: a
  labels: {kubernetes.io/service-name: api}
addressType: IPv4
ports:
- {name: http, port: 8080}
endpoints:
${addresses.map((a) => `- addresses: [${a}]`).join('\n')}`;
    const plan = planPush(pushFromYaml(slice(['10.1.0.1', '10.1.0.2'])), pushFromYaml(slice(['10.1.0.1', '10.1.0.3'])), {
      changed: new Set(['EndpointSlice/a/api-1']),
      kinds: new Set(['EndpointSlice']),
    });
    const at = (ip: string) => proxyFromNode({ id: `sidecar~${ip}~api-x.a~a.svc.cluster.local`, metadata: { NAMESPACE: 'a' } });
    assert.equal(plan.scope, 'eds');
    assert.deepEqual([...(plan.select?.(at('10.1.0.1')) ?? ['everything'])], [TYPE.endpoint], 'a pod whose endpoint stayed gets endpoints only');
    assert.equal(plan.select?.(at('10.1.0.2')), undefined, 'the pod that left the service is rebuilt');
    assert.equal(plan.select?.(at('10.1.0.3')), undefined, 'the pod that joined it is rebuilt');
  });
});
