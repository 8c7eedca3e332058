// Gateway selection and merging as Istio's mergeGateways does it: which Gateways apply to a router
// proxy, RDS names, port translation to target ports, protocol and TLS host conflicts.
import assert from 'node:assert/strict';
import { parseYaml, formatConfigError } from '../pilot/config/parse.js';
import { MemoryConfigStore } from '../pilot/config/store.js';
import { buildServiceIndex } from '../pilot/registry/index.js';
import { defaultMeshConfig } from '../pilot/model/mesh.js';
import { PushContext } from '../pilot/model/push-context.js';
import { proxyFromNode, type Proxy } from '../pilot/model/proxy.js';
import { gatewayRouteName, resolveGatewayName, sanitizeServerHosts, sniHostsForServer } from '../pilot/networking/gateway/config.js';
import { hostIntersection } from '../pilot/model/host.js';
import { mergedGatewayFor, proxyServiceTargets, resolvePorts, selectGateways } from '../pilot/networking/gateway/merge.js';

function gatewayPush(yaml: string): PushContext {
  const parsed = parseYaml(yaml);
  assert.deepEqual(parsed.errors.map(formatConfigError), []);
  const store = new MemoryConfigStore();
  store.replaceAll(parsed.resources);
  return new PushContext('test/gw', defaultMeshConfig(), 'cluster.local', buildServiceIndex(store, { domainSuffix: 'cluster.local' }), store);
}

function router(labels: Record<string, string> = { istio: 'ingressgateway' }, ip = '10.0.0.50', ns = 'istio-system'): Proxy {
  return proxyFromNode({ id: `router~${ip}~gw-abc.${ns}~${ns}.svc.cluster.local`, metadata: { NAMESPACE: ns, LABELS: labels } });
}

function gateway(name: string, namespace: string, servers: string, extra = 'selector: {istio: ingressgateway}', annotations = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: ${name}
  namespace: ${namespace}
${annotations ? `  annotations: {${annotations}}\n` : ''}spec:
  ${extra}
  servers:
${servers}
---
`;
}

const HTTP80 = `  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]`;

function serviceEntry(name: string, host: string, port: number, targetPort: number, opts: { labels?: string; ns?: string; ip?: string } = {}): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: ${name}
  namespace: ${opts.ns ?? 'istio-system'}
${opts.labels ? `  labels: {${opts.labels}}\n` : ''}spec:
  hosts: [${host}]
  ports: [{number: ${port}, targetPort: ${targetPort}, name: http, protocol: HTTP}]
  resolution: STATIC
  location: MESH_INTERNAL
  endpoints: [{address: ${opts.ip ?? '10.0.0.50'}}]
---
`;
}

describe('gateway names and hosts', () => {
  it('names RDS routes as Istio does: http.<port>, https.<port>.<port name>.<gateway>.<namespace>, none for passthrough/TCP', () => {
    const gw = { name: 'gw', namespace: 'ns' };
    assert.equal(gatewayRouteName({ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }, 8080, gw), 'http.8080');
    assert.equal(gatewayRouteName({ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'], bind: '10.0.0.1' }, 80, gw), 'http.80.10.0.0.1');
    // HTTPS keeps the server's own port number, even when translated.
    assert.equal(gatewayRouteName({ port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['*'], tls: { mode: 'SIMPLE' } }, 8443, gw), 'https.443.https.gw.ns');
    assert.equal(gatewayRouteName({ port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['*'], tls: { mode: 'PASSTHROUGH' } }, 443, gw), '');
    // A tls block without a mode is PASSTHROUGH (the proto's zero value).
    assert.equal(gatewayRouteName({ port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['*'], tls: { credentialName: 'x' } }, 443, gw), '');
    assert.equal(gatewayRouteName({ port: { number: 31400, name: 'tcp', protocol: 'TCP' }, hosts: ['*'] }, 31400, gw), '');
  });

  it('sanitizes server hosts: ./h → ns/h, */h → h, */* → *', () => {
    assert.deepEqual(sanitizeServerHosts({ port: { number: 80, name: 'h', protocol: 'HTTP' }, hosts: ['./a.com', '*/b.com', 'other/c.com', 'd.com'] }, 'gwns').hosts, ['gwns/a.com', 'b.com', 'other/c.com', 'd.com']);
    assert.deepEqual(sanitizeServerHosts({ port: { number: 80, name: 'h', protocol: 'HTTP' }, hosts: ['*/*', 'x/y.com'] }, 'gwns').hosts, ['*']);
    assert.deepEqual(sniHostsForServer({ port: { number: 443, name: 'h', protocol: 'HTTPS' }, hosts: ['ns/b.com', 'a.com', 'ns2/a.com'], tls: { mode: 'SIMPLE' } }), ['a.com', 'b.com']);
  });

  it('resolves VirtualService gateway references like Istio (short, ./, ns/, legacy FQDN, mesh)', () => {
    assert.equal(resolveGatewayName('gw', 'default'), 'default/gw');
    assert.equal(resolveGatewayName('./gw', 'default'), 'default/gw');
    assert.equal(resolveGatewayName('istio-system/gw', 'default'), 'istio-system/gw');
    assert.equal(resolveGatewayName('gw.istio-system.svc.cluster.local', 'default'), 'istio-system/gw');
    assert.equal(resolveGatewayName('gw.istio-system', 'default'), 'istio-system/gw');
    assert.equal(resolveGatewayName('mesh', 'default'), 'mesh');
  });

  it('intersects server and VirtualService hosts keeping the more specific name', () => {
    assert.deepEqual(hostIntersection(['*.example.com'], ['a.example.com', 'b.example.com', 'other.org']), ['a.example.com', 'b.example.com']);
    assert.deepEqual(hostIntersection(['80.example.com', '81.example.com'], ['*.example.com']), ['80.example.com', '81.example.com']);
    assert.deepEqual(hostIntersection(['*'], ['*.example.com']), ['*.example.com']);
    assert.deepEqual(hostIntersection(['*.foo.com'], ['foo.com']), []);
  });
});

describe('gateway selection', () => {
  it('selects by labels in any namespace, takes gateways without selector, skips non-matching ones', () => {
    const push = gatewayPush(
      gateway('a', 'default', HTTP80) +
        gateway('b', 'other', HTTP80) +
        gateway('c', 'default', HTTP80, 'selector: {istio: egressgateway}') +
        gateway('e', 'default', HTTP80, ''),
    );
    const names = selectGateways(push, router()).map((g) => `${g.gateway.meta.namespace}/${g.gateway.meta.name}`);
    assert.deepEqual(names.sort(), ['default/a', 'default/e', 'other/b']);
    assert.deepEqual(selectGateways(push, router({ istio: 'egressgateway' })).map((g) => g.gateway.meta.name).sort(), ['c', 'e']);
  });

  it('selects by internal.istio.io/gateway-service: instances of those services in the Gateway namespace only', () => {
    const yaml =
      gateway('svc', 'istio-system', HTTP80, 'selector: {}', '"internal.istio.io/gateway-service": "ingress.istio-system.svc.cluster.local,other.example.com"') +
      serviceEntry('ingress', 'ingress.istio-system.svc.cluster.local', 80, 8080) +
      serviceEntry('wrongns', 'other.example.com', 80, 9090, { ns: 'elsewhere' });
    const push = gatewayPush(yaml);
    const selected = selectGateways(push, router());
    assert.equal(selected.length, 1);
    assert.equal(selected[0]!.legacySelector, false);
    assert.deepEqual(selected[0]!.targets.map((t) => t.service.hostname), ['ingress.istio-system.svc.cluster.local']);
    // Another workload IP is no instance: the Gateway does not apply.
    assert.equal(selectGateways(push, router(undefined, '10.9.9.9')).length, 0);
  });
});

describe('gateway port translation', () => {
  const targets = (push: PushContext) => proxyServiceTargets(push, router());

  it('label-selected gateways listen on the target port of the first matching service, else the port itself', () => {
    const push = gatewayPush(gateway('gw', 'istio-system', HTTP80) + serviceEntry('ingress', 'ingress.istio-system.svc.cluster.local', 80, 8080));
    assert.deepEqual(resolvePorts(80, targets(push), true), [8080]);
    assert.deepEqual(resolvePorts(81, targets(push), true), [81]);
    const merged = mergedGatewayFor(push, router())!;
    assert.deepEqual(merged.serverPorts, [{ number: 8080, protocol: 'HTTP', bind: '' }]);
    assert.deepEqual([...merged.serversByRouteName.keys()], ['http.8080']);
  });

  it('experimental.istio.io/disable-gateway-port-translation opts a service out', () => {
    const push = gatewayPush(
      serviceEntry('a', 'a.example.com', 80, 8081, { labels: '"experimental.istio.io/disable-gateway-port-translation": "true"' }) + serviceEntry('b', 'b.example.com', 80, 8080),
    );
    assert.deepEqual(resolvePorts(80, targets(push), true), [8080]);
    // The new selection mechanism (gateway-service) still translates: it names the Service explicitly.
    assert.deepEqual(resolvePorts(80, targets(push), false).sort(), [8080, 8081]);
  });

  it('gateway-service gateways only listen on ports some service declares', () => {
    const push = gatewayPush(serviceEntry('ingress', 'ingress.istio-system.svc.cluster.local', 80, 8080));
    assert.deepEqual(resolvePorts(82, targets(push), false), []);
  });

  it('targets are services of the workload namespace whose endpoints are the proxy', () => {
    const push = gatewayPush(serviceEntry('mine', 'mine.example.com', 80, 8080) + serviceEntry('theirs', 'theirs.example.com', 80, 8080, { ns: 'default' }));
    assert.deepEqual(targets(push).map((t) => `${t.service.hostname}:${t.port}->${t.targetPort}`), ['mine.example.com:80->8080']);
  });
});

describe('gateway merging', () => {
  it('merges plaintext HTTP servers of several gateways on one port into http.<port>', () => {
    const push = gatewayPush(gateway('a', 'default', HTTP80) + gateway('b', 'other', HTTP80.replace('"*"', 'b.example.com')));
    const merged = mergedGatewayFor(push, router())!;
    assert.equal(merged.serverPorts.length, 1);
    assert.deepEqual(merged.serversByRouteName.get('http.80')!.map((s) => s.gatewayName), ['default/a', 'other/b']);
    assert.deepEqual(merged.rejected, []);
  });

  it('rejects a TCP server on an HTTP port and vice versa, oldest (then by name) first', () => {
    const tcp = `  - port: {number: 80, name: tcp, protocol: TCP}
    hosts: ["*"]`;
    const httpFirst = mergedGatewayFor(gatewayPush(gateway('alpha', 'default', HTTP80) + gateway('beta', 'default', tcp)), router())!;
    assert.deepEqual(httpFirst.serverPorts, [{ number: 80, protocol: 'HTTP', bind: '' }]);
    assert.match(httpFirst.rejected[0]!.reason, /conflict/);
    const tcpFirst = mergedGatewayFor(gatewayPush(gateway('alpha', 'default', tcp) + gateway('beta', 'default', HTTP80)), router())!;
    assert.deepEqual(tcpFirst.serverPorts, [{ number: 80, protocol: 'TCP', bind: '' }]);
    assert.equal(tcpFirst.rejected.length, 1);
  });

  it('keeps HTTPS servers on one port apart by route name and rejects duplicate TLS hosts', () => {
    const servers = (host: string) => `  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [${host}]
    tls: {mode: SIMPLE, credentialName: cert}`;
    const merged = mergedGatewayFor(gatewayPush(gateway('a', 'default', servers('a.com')) + gateway('b', 'default', servers('b.com')) + gateway('c', 'default', servers('a.com'))), router())!;
    assert.deepEqual([...merged.serversByRouteName.keys()], ['https.443.https.a.default', 'https.443.https.b.default']);
    assert.equal(merged.mergedServers.size, 1);
    assert.deepEqual(merged.rejected.map((r) => `${r.gatewayName}: ${r.reason}`), ['default/c: duplicate host names: a.com']);
    assert.deepEqual([...merged.tlsServerInfo.values()].map((i) => i.sniHosts), [['a.com'], ['b.com']]);
  });

  it('collects AUTO_PASSTHROUGH hosts', () => {
    const merged = mergedGatewayFor(
      gatewayPush(
        gateway('eastwest', 'istio-system', `  - port: {number: 15443, name: tls, protocol: TLS}
    hosts: ["*.local"]
    tls: {mode: AUTO_PASSTHROUGH}`),
      ),
      router(),
    )!;
    assert.equal(merged.containsAutoPassthrough, true);
    assert.deepEqual([...merged.autoPassthroughSniHosts], ['*.local']);
  });

  it('has no merged gateway when nothing selects the proxy', () => {
    assert.equal(mergedGatewayFor(gatewayPush(gateway('a', 'default', HTTP80)), router({ app: 'x' })), undefined);
  });
});
