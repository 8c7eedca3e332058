// ServiceEntries without addresses: Istio's in-registry auto-allocation (PILOT_ENABLE_IP_AUTOALLOCATE
// off) and who uses the addresses (proxies with DNS_CAPTURE and DNS_AUTO_ALLOCATE); ServiceEntries
// sharing a host in one namespace merged into one service with all ports and endpoints.
import assert from 'node:assert/strict';
import type { Listener } from '../gen/envoy/config/listener/v3/listener_pb.js';
import type { RouteConfiguration } from '../gen/envoy/config/route/v3/route_pb.js';
import { parseYaml } from '../pilot/config/parse.js';
import { MemoryConfigStore } from '../pilot/config/store.js';
import { defaultMeshConfig } from '../pilot/model/mesh.js';
import { proxyFromNode, type Proxy } from '../pilot/model/proxy.js';
import { PushContext } from '../pilot/model/push-context.js';
import type { Service } from '../pilot/model/service.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import { autoAllocateAddresses } from '../pilot/registry/auto-allocate.js';
import { buildServiceIndex } from '../pilot/registry/index.js';
import { generate, resourceProblems, unpack } from './support/resources.js';

const REUSED_HOST = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: istio-http, namespace: default}
spec:
  hosts: [istio.io]
  location: MESH_EXTERNAL
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: istio-https, namespace: default}
spec:
  hosts: [istio.io]
  location: MESH_EXTERNAL
  ports: [{number: 443, name: https, protocol: HTTPS}]
  resolution: DNS
  endpoints: [{address: 10.0.0.7}]
`;

function pushOf(yaml: string, allocateInRegistry: boolean): PushContext {
  const store = new MemoryConfigStore();
  store.replaceAll(parseYaml(yaml).resources);
  const registry = buildServiceIndex(store, { domainSuffix: 'cluster.local', ipAutoallocateController: !allocateInRegistry });
  return new PushContext('test', defaultMeshConfig(), 'cluster.local', registry, store);
}

function sidecar(metadata: Record<string, string> = {}): Proxy {
  return proxyFromNode({ id: 'sidecar~1.1.1.1~app.default~default.svc.cluster.local', metadata: { NAMESPACE: 'default', ...metadata } });
}

const dnsProxy = () => sidecar({ DNS_CAPTURE: 'true', DNS_AUTO_ALLOCATE: 'true' });
const listenerNames = (push: PushContext, proxy: Proxy) => generate(sidecarGenerators, push, proxy, TYPE.listener).map((r) => unpack<Listener>(r).name);

function svc(hostname: string, namespace = 'default', extra: Partial<Service> = {}): Service {
  return { hostname, namespace, name: hostname, registry: 'External', ports: [], addresses: [], resolution: 'DNSLB', meshExternal: true, exportTo: new Set(['*']), labels: {}, creationTimestamp: '', origin: { kind: 'ServiceEntry', namespace, name: hostname }, ...extra };
}

describe('ServiceEntry address auto-allocation (in the registry)', () => {
  it('hashes namespace/hostname into 240.240.0.0/16 (and 2001:2::f0f0:/112) as Istio does; one host, one address', () => {
    const a = svc('istio.io');
    const b = svc('istio.io');
    autoAllocateAddresses([a, b]);
    assert.deepEqual(a.autoAllocatedAddresses, ['240.240.91.120', '2001:2::f0f0:5b78']);
    assert.deepEqual(b.autoAllocatedAddresses, a.autoAllocatedAddresses);
  });

  it('skips services with addresses, wildcard hosts and resolution NONE', () => {
    const services = [svc('a.com', 'default', { addresses: ['10.0.0.1'] }), svc('*.b.com'), svc('c.com', 'default', { resolution: 'Passthrough' })];
    autoAllocateAddresses(services);
    assert.ok(services.every((s) => s.autoAllocatedAddresses === undefined));
  });

  it('is used only by proxies that capture DNS and ask for it, and only when the registry allocates', () => {
    assert.ok(listenerNames(pushOf(REUSED_HOST, false), dnsProxy()).includes('0.0.0.0_443'), 'the allocating controller is not built: no address');
    process.env.PILOT_ENABLE_IP_AUTOALLOCATE = 'false';
    try {
      const push = pushOf(REUSED_HOST, true);
      assert.ok(listenerNames(push, dnsProxy()).includes('240.240.91.120_443'));
      assert.ok(listenerNames(push, sidecar()).includes('0.0.0.0_443'), 'without DNS capture: no address');
      assert.ok(listenerNames(push, sidecar({ DNS_CAPTURE: 'true' })).includes('0.0.0.0_443'), 'DNS capture alone does not ask for it');
      // The address is a domain of the virtual host too, for those proxies only.
      const domains = (proxy: Proxy) => unpack<RouteConfiguration>(generate(sidecarGenerators, push, proxy, TYPE.route, ['80'])[0]!).virtualHosts.find((v) => v.name === 'istio.io:80')?.domains;
      assert.deepEqual(domains(dnsProxy()), ['istio.io', 'istio.io.', '240.240.91.120']);
      assert.deepEqual(domains(sidecar()), ['istio.io', 'istio.io.']);
    } finally {
      delete process.env.PILOT_ENABLE_IP_AUTOALLOCATE;
    }
  });

  it('generates valid resources', () => {
    const push = pushOf(REUSED_HOST, true);
    const resources = [...generate(sidecarGenerators, push, dnsProxy(), TYPE.listener), ...generate(sidecarGenerators, push, dnsProxy(), TYPE.cluster)];
    assert.deepEqual(resources.flatMap(resourceProblems), []);
  });
});

describe('ServiceEntries sharing a host in one namespace', () => {
  it('merge into one service: the first one\'s attributes, every port, everyone\'s endpoints', () => {
    const push = pushOf(REUSED_HOST, false);
    const merged = push.serviceForHostname(sidecar(), 'istio.io')!;
    assert.equal(merged.name, 'istio-http');
    assert.deepEqual(merged.ports.map((p) => p.port), [80, 443]);
    assert.deepEqual(push.endpoints(merged).map((e) => `${e.address}:${e.endpointPort}`), ['istio.io:80', '10.0.0.7:443']);
    const clusters = generate(sidecarGenerators, push, sidecar(), TYPE.cluster).map((r) => r.name);
    assert.ok(clusters.includes('outbound|80||istio.io') && clusters.includes('outbound|443||istio.io'), clusters.join(', '));
  });

  it('do not merge when their resolution differs (the first is kept)', () => {
    const push = pushOf(REUSED_HOST.replace('resolution: DNS\n  endpoints', 'resolution: STATIC\n  endpoints'), false);
    assert.deepEqual(push.serviceForHostname(sidecar(), 'istio.io')!.ports.map((p) => p.port), [80]);
  });
});
