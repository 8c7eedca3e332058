// The simulation engine on hand-built Envoy resources: every matching rule, every error, in
// both fidelities (Envoy's rules and Istio's simulator).
import assert from 'node:assert/strict';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { ListenerSchema, type Listener } from '../gen/envoy/config/listener/v3/listener_pb.js';
import { FilterChainSchema, ListenerFilterSchema, type FilterChain } from '../gen/envoy/config/listener/v3/listener_components_pb.js';
import { RouteConfigurationSchema, type RouteConfiguration } from '../gen/envoy/config/route/v3/route_pb.js';
import { RouteSchema, VirtualHost_TlsRequirementType, VirtualHostSchema, type Route, type VirtualHost } from '../gen/envoy/config/route/v3/route_components_pb.js';
import { HttpConnectionManagerSchema } from '../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { TcpProxySchema } from '../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js';
import { DownstreamTlsContextSchema } from '../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import { TlsInspectorSchema } from '../gen/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector_pb.js';
import { HttpInspectorSchema } from '../gen/envoy/extensions/filters/listener/http_inspector/v3/http_inspector_pb.js';
import { Simulation, referencedRouteNames, type SimulationConfig } from '../pilot/simulation/engine.js';
import { fillDefaults, type Call } from '../pilot/simulation/call.js';
import { cidrContains, parseIp, queryParams, re2, serverNameRank } from '../pilot/simulation/matchers.js';

type ChainInit = MessageInitShape<typeof FilterChainSchema>;
type RouteInit = MessageInitShape<typeof RouteSchema>;

function tcpProxy(cluster: string | { name: string; weight: number }[]) {
  const proxy = create(TcpProxySchema, {
    statPrefix: 'tcp',
    clusterSpecifier: typeof cluster === 'string' ? { case: 'cluster', value: cluster } : { case: 'weightedClusters', value: { clusters: cluster } },
  });
  return { name: 'envoy.filters.network.tcp_proxy', configType: { case: 'typedConfig' as const, value: anyPack(TcpProxySchema, proxy) } };
}

function hcm(route: string | RouteConfiguration) {
  const m = create(HttpConnectionManagerSchema, {
    statPrefix: 'http',
    routeSpecifier: typeof route === 'string' ? { case: 'rds', value: { routeConfigName: route } } : { case: 'routeConfig', value: route },
  });
  return { name: 'envoy.filters.network.http_connection_manager', configType: { case: 'typedConfig' as const, value: anyPack(HttpConnectionManagerSchema, m) } };
}

function tlsSocket(certName: string, requireClientCertificate: boolean) {
  const ctx = create(DownstreamTlsContextSchema, {
    commonTlsContext: { tlsCertificateSdsSecretConfigs: [{ name: certName }] },
    requireClientCertificate,
  });
  return { name: 'envoy.transport_sockets.tls', configType: { case: 'typedConfig' as const, value: anyPack(DownstreamTlsContextSchema, ctx) } };
}

const tlsInspector = (disabledPorts?: [number, number]) =>
  create(ListenerFilterSchema, {
    name: 'envoy.filters.listener.tls_inspector',
    configType: { case: 'typedConfig', value: anyPack(TlsInspectorSchema, create(TlsInspectorSchema)) },
    filterDisabled: disabledPorts ? { rule: { case: 'destinationPortRange', value: { start: disabledPorts[0], end: disabledPorts[1] } } } : undefined,
  });
const httpInspector = () =>
  create(ListenerFilterSchema, { name: 'envoy.filters.listener.http_inspector', configType: { case: 'typedConfig', value: anyPack(HttpInspectorSchema, create(HttpInspectorSchema)) } });

function chain(name: string, init: ChainInit = {}): FilterChain {
  return create(FilterChainSchema, { name, filters: [tcpProxy(`cluster-${name}`)], ...init });
}

function listener(name: string, address: string, port: number, init: Omit<MessageInitShape<typeof ListenerSchema>, 'name' | 'address'> = {}): Listener {
  return create(ListenerSchema, {
    ...init,
    name,
    address: { address: { case: 'socketAddress', value: { address, portSpecifier: { case: 'portValue', value: port } } } },
  } as MessageInitShape<typeof ListenerSchema>);
}

function route(name: string, init: RouteInit['match'], cluster = `c-${name}`): Route {
  return create(RouteSchema, { name, match: init, action: { case: 'route', value: { clusterSpecifier: { case: 'cluster', value: cluster } } } });
}

function vhost(name: string, domains: string[], routes: Route[] = [route('r', { pathSpecifier: { case: 'prefix', value: '/' } }, `c-${name}`)], init: { requireTls?: VirtualHost_TlsRequirementType } = {}): VirtualHost {
  return create(VirtualHostSchema, { name, domains, routes, ...init });
}

function routeConfig(name: string, vhosts: VirtualHost[], init: { ignorePortInHostMatching?: boolean } = {}): RouteConfiguration {
  return create(RouteConfigurationSchema, { name, virtualHosts: vhosts, ...init });
}

function sim(config: Partial<SimulationConfig>, fidelity: 'envoy' | 'istio' = 'envoy'): Simulation {
  return new Simulation({ listeners: [], routes: [], clusters: [], ...config }, { fidelity });
}

function run(s: Simulation, call: Call) {
  return s.run(call);
}

describe('simulation: call defaults (Istio FillDefaults)', () => {
  it('fills path, TLS mode, address and the ALPN of each TLS mode', () => {
    assert.deepEqual(fillDefaults({ port: 80 }), { port: 80, headers: {}, path: '/', tls: 'plaintext', address: '1.3.3.7' });
    assert.equal(fillDefaults({ port: 1, tls: 'tls', protocol: 'http' }).alpn, 'http/1.1');
    assert.equal(fillDefaults({ port: 1, tls: 'tls', protocol: 'http2' }).alpn, 'h2');
    assert.equal(fillDefaults({ port: 1, tls: 'tls', protocol: 'tcp' }).alpn, '');
    assert.equal(fillDefaults({ port: 1, tls: 'mtls', protocol: 'http' }).alpn, 'istio-http/1.1');
    assert.equal(fillDefaults({ port: 1, tls: 'mtls', protocol: 'http2' }).alpn, 'istio-h2');
    assert.equal(fillDefaults({ port: 1, tls: 'mtls' }).alpn, 'istio');
  });
  it('takes the SNI from the Host for tls, not for mtls', () => {
    assert.equal(fillDefaults({ port: 1, tls: 'tls', hostHeader: 'a.com' }).sni, 'a.com');
    assert.equal(fillDefaults({ port: 1, tls: 'mtls', hostHeader: 'a.com' }).sni, undefined);
  });
  it('rejects a plaintext call with an ALPN', () => {
    const r = run(sim({ listeners: [listener('l', '0.0.0.0', 80, { filterChains: [chain('a')] })] }), { port: 80, alpn: 'h2' });
    assert.equal(r.error?.name, 'ErrInvalidCall');
  });
});

describe('simulation: listener selection', () => {
  const listeners = [
    listener('10.0.0.1_80', '10.0.0.1', 80, { filterChains: [chain('vip')] }),
    listener('0.0.0.0_80', '0.0.0.0', 80, { filterChains: [chain('wild')] }),
    listener('virtualOutbound', '0.0.0.0', 15001, { filterChains: [chain('catchall')] }),
    listener('virtualInbound', '0.0.0.0', 15006, { filterChains: [chain('in')] }),
  ];
  const s = sim({ listeners });
  it('prefers the exact address and port', () => assert.equal(run(s, { address: '10.0.0.1', port: 80 }).listener, '10.0.0.1_80'));
  it('falls back to 0.0.0.0 on the port', () => assert.equal(run(s, { address: '10.0.0.2', port: 80 }).listener, '0.0.0.0_80'));
  it('falls back to virtualOutbound (original destination) for other ports', () => {
    const r = run(s, { address: '10.0.0.2', port: 81 });
    assert.equal(r.listener, 'virtualOutbound');
    assert.equal(r.cluster, 'cluster-catchall');
  });
  it('sends inbound calls to virtualInbound whatever the address', () => assert.equal(run(s, { address: '10.0.0.1', port: 80, callMode: 'inbound' }).listener, 'virtualInbound'));
  it('ErrNoListener without a capture listener (gateways)', () => {
    const r = run(sim({ listeners: listeners.slice(0, 2) }), { port: 81 });
    assert.equal(r.error?.name, 'ErrNoListener');
    assert.equal(r.error?.message, 'no listener matched');
  });
  it('compares IPv6 addresses by value with Envoy fidelity, textually with Istio fidelity', () => {
    const v6 = [listener('v6', '2001:db8::1', 80, { filterChains: [chain('a')] })];
    assert.equal(run(sim({ listeners: v6 }), { address: '2001:0db8:0:0::1', port: 80 }).listener, 'v6');
    assert.equal(run(sim({ listeners: v6 }, 'istio'), { address: '2001:0db8:0:0::1', port: 80 }).error?.name, 'ErrNoListener');
  });
});

describe('simulation: listener filters and the filter-chain sieve', () => {
  it('matches destination_port before anything else; chains without one catch other ports', () => {
    const vi = listener('virtualInbound', '0.0.0.0', 15006, {
      filterChains: [chain('p80', { filterChainMatch: { destinationPort: 80 } }), chain('p81', { filterChainMatch: { destinationPort: 81 } }), chain('any')],
    });
    assert.equal(run(sim({ listeners: [vi] }), { port: 81, callMode: 'inbound' }).filterChain, 'p81');
    assert.equal(run(sim({ listeners: [vi] }), { port: 82, callMode: 'inbound' }).filterChain, 'any');
  });
  it('ranks prefix ranges by prefix length (a /0 never counts)', () => {
    const l = listener('l', '0.0.0.0', 80, {
      filterChains: [
        chain('wide', { filterChainMatch: { prefixRanges: [{ addressPrefix: '10.0.0.0', prefixLen: 8 }] } }),
        chain('narrow', { filterChainMatch: { prefixRanges: [{ addressPrefix: '10.1.0.0', prefixLen: 16 }] } }),
        chain('v6', { filterChainMatch: { prefixRanges: [{ addressPrefix: '2001:db8::', prefixLen: 32 }] } }),
        chain('rest'),
      ],
    });
    const s = sim({ listeners: [l] });
    assert.equal(run(s, { address: '10.1.2.3', port: 80 }).filterChain, 'narrow');
    assert.equal(run(s, { address: '10.2.2.3', port: 80 }).filterChain, 'wide');
    assert.equal(run(s, { address: '2001:db8:1::7', port: 80 }).filterChain, 'v6');
    assert.equal(run(s, { address: '192.168.0.1', port: 80 }).filterChain, 'rest');
  });
  it('matches server names: exact beats the longest wildcard; *.x.com does not match x.com', () => {
    const l = listener('l', '0.0.0.0', 443, {
      listenerFilters: [tlsInspector()],
      filterChains: [
        chain('exact', { filterChainMatch: { serverNames: ['a.b.example.com'] } }),
        chain('long', { filterChainMatch: { serverNames: ['*.b.example.com'] } }),
        chain('short', { filterChainMatch: { serverNames: ['*.example.com'] } }),
      ],
    });
    const s = sim({ listeners: [l] });
    const call = (sni: string) => run(s, { port: 443, tls: 'tls', sni, protocol: 'tcp' });
    assert.equal(call('a.b.example.com').filterChain, 'exact');
    assert.equal(call('c.b.example.com').filterChain, 'long');
    assert.equal(call('c.example.com').filterChain, 'short');
    assert.equal(call('example.com').error?.name, 'ErrNoFilterChain');
  });
  it('uses SNI only on TLS with Envoy fidelity, also on plaintext with Istio fidelity', () => {
    const l = listener('l', '0.0.0.0', 80, { filterChains: [chain('sni', { filterChainMatch: { serverNames: ['a.com'] } })], defaultFilterChain: chain('default') });
    assert.equal(run(sim({ listeners: [l] }), { port: 80, sni: 'a.com' }).filterChain, 'default');
    assert.equal(run(sim({ listeners: [l] }, 'istio'), { port: 80, sni: 'a.com' }).filterChain, 'sni');
  });
  it('detects the transport protocol only with the TLS inspector', () => {
    const chains = [chain('tls', { filterChainMatch: { transportProtocol: 'tls' } }), chain('raw', { filterChainMatch: { transportProtocol: 'raw_buffer' } })];
    const withInspector = sim({ listeners: [listener('l', '0.0.0.0', 443, { listenerFilters: [tlsInspector()], filterChains: chains })] });
    const without = sim({ listeners: [listener('l', '0.0.0.0', 443, { filterChains: chains })] });
    assert.equal(run(withInspector, { port: 443, tls: 'tls', protocol: 'tcp' }).filterChain, 'tls');
    assert.equal(run(withInspector, { port: 443, protocol: 'tcp' }).filterChain, 'raw');
    assert.equal(run(without, { port: 443, tls: 'tls', protocol: 'tcp' }).filterChain, 'raw');
  });
  it("honours the TLS inspector's filter_disabled port range", () => {
    const chains = [chain('tls', { filterChainMatch: { transportProtocol: 'tls' } }), chain('raw', { filterChainMatch: { transportProtocol: 'raw_buffer' } })];
    const l = listener('virtualInbound', '0.0.0.0', 15006, { listenerFilters: [tlsInspector([9000, 9001])], filterChains: chains });
    assert.equal(run(sim({ listeners: [l] }), { port: 9000, tls: 'tls', protocol: 'tcp', callMode: 'inbound' }).filterChain, 'raw');
    assert.equal(run(sim({ listeners: [l] }), { port: 9001, tls: 'tls', protocol: 'tcp', callMode: 'inbound' }).filterChain, 'tls');
  });
  it("matches application protocols: the HTTP inspector's ALPN for plaintext, the TLS ALPN otherwise", () => {
    const l = listener('l', '0.0.0.0', 80, {
      listenerFilters: [tlsInspector(), httpInspector()],
      filterChains: [
        chain('http', { filterChainMatch: { transportProtocol: 'raw_buffer', applicationProtocols: ['http/1.1', 'h2c'] } }),
        chain('mtls-http', { filterChainMatch: { transportProtocol: 'tls', applicationProtocols: ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'] } }),
        chain('tcp', { filterChainMatch: { transportProtocol: 'raw_buffer' } }),
      ],
    });
    const s = sim({ listeners: [l] });
    assert.equal(run(s, { port: 80, protocol: 'http' }).filterChain, 'http');
    assert.equal(run(s, { port: 80, protocol: 'http2' }).filterChain, 'http');
    assert.equal(run(s, { port: 80, protocol: 'tcp' }).filterChain, 'tcp');
    assert.equal(run(s, { port: 80, protocol: 'http', tls: 'mtls' }).filterChain, 'mtls-http');
    assert.equal(run(s, { port: 80, protocol: 'tcp', tls: 'mtls' }).error?.name, 'ErrNoFilterChain');
  });
  it('ErrMultipleFilterChain when the sieve leaves several; the default chain when it leaves none', () => {
    const l = listener('l', '0.0.0.0', 80, { filterChains: [chain('a', { filterChainMatch: { destinationPort: 80 } }), chain('b', { filterChainMatch: { destinationPort: 80 } })] });
    assert.equal(run(sim({ listeners: [l] }), { port: 80 }).error?.name, 'ErrMultipleFilterChain');
    const d = listener('l', '0.0.0.0', 80, { filterChains: [chain('a', { filterChainMatch: { transportProtocol: 'tls' } })], defaultFilterChain: chain('fallback') });
    const r = run(sim({ listeners: [d] }), { port: 80 });
    assert.equal(r.filterChain, 'fallback');
    assert.equal(r.cluster, 'cluster-fallback');
  });
  it('applies source criteria only when the call names a source (Envoy fidelity)', () => {
    const l = listener('l', '0.0.0.0', 80, {
      filterChains: [chain('from-pods', { filterChainMatch: { sourcePrefixRanges: [{ addressPrefix: '10.0.0.0', prefixLen: 8 }] } }), chain('other', { filterChainMatch: { sourcePorts: [1234] } })],
      defaultFilterChain: chain('default'),
    });
    assert.equal(run(sim({ listeners: [l] }), { port: 80, sourceAddress: '10.1.1.1' }).filterChain, 'from-pods');
    assert.equal(run(sim({ listeners: [l] }), { port: 80, sourceAddress: '192.168.1.1' }).filterChain, 'other');
    assert.equal(run(sim({ listeners: [l] }), { port: 80, sourceAddress: '192.168.1.1', sourcePort: 5 }).filterChain, 'default');
    assert.equal(run(sim({ listeners: [l] }, 'istio'), { port: 80, sourceAddress: '10.1.1.1' }).error?.name, 'ErrMultipleFilterChain');
  });
});

describe('simulation: TLS termination', () => {
  const mtls = chain('mtls', { filterChainMatch: { transportProtocol: 'tls' }, transportSocket: tlsSocket('default', true) });
  const simple = chain('simple', { filterChainMatch: { transportProtocol: 'tls' }, transportSocket: tlsSocket('file-cert:a.pem~a.key', false) });
  const l = (c: FilterChain) => listener('virtualInbound', '0.0.0.0', 15006, { listenerFilters: [tlsInspector()], filterChains: [c], defaultFilterChain: c });
  it('ErrTLSError: plaintext into a chain that terminates TLS', () => {
    const r = run(sim({ listeners: [l(mtls)] }), { port: 8080, callMode: 'inbound', protocol: 'tcp' });
    assert.equal(r.error?.name, 'ErrTLSError');
    assert.equal(r.filterChain, 'mtls');
  });
  it('ErrMTLSError: TLS without a client certificate into an mTLS chain', () => {
    assert.equal(run(sim({ listeners: [l(mtls)] }), { port: 8080, callMode: 'inbound', protocol: 'tcp', tls: 'tls' }).error?.name, 'ErrMTLSError');
    assert.equal(run(sim({ listeners: [l(mtls)] }), { port: 8080, callMode: 'inbound', protocol: 'tcp', tls: 'mtls' }).error, null);
  });
  it("Istio fidelity: mTLS into a simple-TLS chain is an error too; the workload-cert name is the call's", () => {
    assert.equal(run(sim({ listeners: [l(simple)] }, 'istio'), { port: 1, callMode: 'inbound', protocol: 'tcp', tls: 'mtls' }).error?.name, 'ErrMTLSError');
    assert.equal(run(sim({ listeners: [l(simple)] }), { port: 1, callMode: 'inbound', protocol: 'tcp', tls: 'mtls' }).error, null);
    const custom = chain('c', { transportSocket: tlsSocket('file-cert:a.pem~a.key', true) });
    assert.equal(run(sim({ listeners: [l(custom)] }, 'istio'), { port: 1, callMode: 'inbound', protocol: 'tcp', tls: 'mtls' }).error?.name, 'ErrMTLSError');
    assert.equal(run(sim({ listeners: [l(custom)] }, 'istio'), { port: 1, callMode: 'inbound', protocol: 'tcp', tls: 'mtls', mtlsSecretConfigName: 'file-cert:a.pem~a.key' }).error, null);
  });
  it('records a custom filter-chain validation error and keeps walking', () => {
    const s = new Simulation({ listeners: [l(simple)], routes: [], clusters: [] }, { fidelity: 'istio', validateFilterChain: (fc) => ({ name: 'custom', message: `bad ${fc.name}` }) });
    const r = s.run({ port: 1, callMode: 'inbound', protocol: 'tcp', tls: 'tls' });
    assert.equal(r.error?.name, 'custom');
    assert.equal(r.cluster, 'cluster-simple');
  });
});

describe('simulation: HTTP connection manager', () => {
  const rc = routeConfig('80', [vhost('svc:80', ['svc', 'svc.ns.svc.cluster.local'])]);
  const l = listener('0.0.0.0_80', '0.0.0.0', 80, { filterChains: [create(FilterChainSchema, { name: 'http', filters: [hcm('80')] })] });
  it('follows RDS by name', () => {
    const r = run(sim({ listeners: [l], routes: [rc] }), { port: 80, protocol: 'http', hostHeader: 'svc' });
    assert.deepEqual([r.listener, r.filterChain, r.routeConfig, r.virtualHost, r.route, r.cluster, r.error], ['0.0.0.0_80', 'http', '80', 'svc:80', 'r', 'c-svc:80', null]);
  });
  it('uses an inline route config without naming it', () => {
    const inline = listener('l', '0.0.0.0', 80, { filterChains: [create(FilterChainSchema, { name: 'h', filters: [hcm(rc)] })] });
    const r = run(sim({ listeners: [inline] }), { port: 80, protocol: 'http', hostHeader: 'svc' });
    assert.equal(r.routeConfig, '');
    assert.equal(r.cluster, 'c-svc:80');
  });
  it('ErrNoVirtualHost when the RDS config was not generated', () => {
    const r = run(sim({ listeners: [l] }), { port: 80, protocol: 'http', hostHeader: 'svc' });
    assert.equal(r.error?.name, 'ErrNoVirtualHost');
    assert.match(r.error!.detail!, /not generated/);
  });
  it('ErrProtocolError: TCP, or TLS without termination, into an HTTP connection manager', () => {
    assert.equal(run(sim({ listeners: [l], routes: [rc] }), { port: 80, protocol: 'tcp' }).error?.name, 'ErrProtocolError');
    assert.equal(run(sim({ listeners: [l], routes: [rc] }), { port: 80 }).error?.name, 'ErrProtocolError');
    const tlsL = listener('l', '0.0.0.0', 80, { filterChains: [create(FilterChainSchema, { name: 'h', filters: [hcm('80')] })] });
    assert.equal(run(sim({ listeners: [tlsL], routes: [rc] }), { port: 80, protocol: 'http', tls: 'tls', hostHeader: 'svc' }).error?.name, 'ErrProtocolError');
  });
  it('ErrTLSRedirect for require_tls ALL on plaintext', () => {
    const redirect = routeConfig('80', [vhost('svc:80', ['svc'], undefined, { requireTls: VirtualHost_TlsRequirementType.ALL })]);
    const r = run(sim({ listeners: [l], routes: [redirect] }), { port: 80, protocol: 'http', hostHeader: 'svc' });
    assert.equal(r.error?.name, 'ErrTLSRedirect');
    assert.equal(r.virtualHost, 'svc:80');
    assert.equal(r.cluster, '');
  });
  it('collects the RDS names listeners reference', () => {
    const l2 = listener('l2', '0.0.0.0', 81, { filterChains: [create(FilterChainSchema, { filters: [hcm('81')] })], defaultFilterChain: create(FilterChainSchema, { filters: [hcm('80')] }) });
    assert.deepEqual(referencedRouteNames([l, l2]), ['80', '81']);
  });
});

describe('simulation: virtual host domains', () => {
  const rc = routeConfig('rc', [
    vhost('exact', ['api.example.com']),
    vhost('suffix-long', ['*.foo.example.com']),
    vhost('suffix-short', ['*.example.com']),
    vhost('prefix', ['api.*']),
    vhost('any', ['*']),
  ]);
  const match = (host: string, fidelity: 'envoy' | 'istio' = 'envoy', r = rc) =>
    new Simulation({ listeners: [], routes: [], clusters: [] }, { fidelity }).matchVirtualHost(r, host)?.vh.name;
  it('exact, then the longest suffix wildcard, then prefix wildcards, then *', () => {
    assert.equal(match('api.example.com'), 'exact');
    assert.equal(match('a.foo.example.com'), 'suffix-long');
    assert.equal(match('a.example.com'), 'suffix-short');
    assert.equal(match('api.other.org'), 'prefix');
    assert.equal(match('other.org'), 'any');
  });
  it('a suffix wildcard needs at least one character before the suffix', () => {
    assert.equal(match('.example.com'), 'any');
    assert.equal(match('foo.example.com'), 'suffix-short');
  });
  it('Envoy: case-insensitive, `*` last; Istio: case-sensitive, `*` competes with suffix wildcards', () => {
    assert.equal(match('API.EXAMPLE.COM'), 'exact');
    assert.equal(match('API.EXAMPLE.COM', 'istio'), 'any');
    assert.equal(match('api.other.org', 'istio'), 'any');
  });
  it('strips the port with ignore_port_in_host_matching', () => {
    const withPort = routeConfig('rc', [vhost('exact', ['api.example.com'])], { ignorePortInHostMatching: true });
    const l = listener('l', '0.0.0.0', 80, { filterChains: [create(FilterChainSchema, { filters: [hcm('rc')] })] });
    assert.equal(run(sim({ listeners: [l], routes: [withPort] }), { port: 80, protocol: 'http', hostHeader: 'api.example.com:80' }).virtualHost, 'exact');
    const strict = routeConfig('rc', [vhost('exact', ['api.example.com'])]);
    assert.equal(run(sim({ listeners: [l], routes: [strict] }), { port: 80, protocol: 'http', hostHeader: 'api.example.com:80' }).error?.name, 'ErrNoVirtualHost');
  });
  it('ErrNoVirtualHost when nothing matches', () => {
    const only = routeConfig('rc', [vhost('exact', ['a.com'])]);
    const l = listener('l', '0.0.0.0', 80, { filterChains: [create(FilterChainSchema, { filters: [hcm('rc')] })] });
    const r = run(sim({ listeners: [l], routes: [only] }), { port: 80, protocol: 'http', hostHeader: 'b.com' });
    assert.equal(r.error?.name, 'ErrNoVirtualHost');
    assert.equal(r.error?.message, 'no virtual host matched');
  });
});

describe('simulation: routes', () => {
  const l = listener('l', '0.0.0.0', 80, { filterChains: [create(FilterChainSchema, { filters: [hcm('rc')] })] });
  const withRoutes = (routes: Route[], fidelity: 'envoy' | 'istio' = 'envoy') => sim({ listeners: [l], routes: [routeConfig('rc', [vhost('vh', ['*'], routes)])] }, fidelity);
  const call = (extra: Partial<Call>): Call => ({ port: 80, protocol: 'http', hostHeader: 'x', ...extra });

  it('prefix, exact path, regex and path-separated prefix, first match wins', () => {
    const s = withRoutes([
      route('exact', { pathSpecifier: { case: 'path', value: '/exact' } }),
      route('regex', { pathSpecifier: { case: 'safeRegex', value: { regex: '/v[0-9]+/items' } } }),
      route('sep', { pathSpecifier: { case: 'pathSeparatedPrefix', value: '/api' } }),
      route('prefix', { pathSpecifier: { case: 'prefix', value: '/' } }),
    ]);
    assert.equal(run(s, call({ path: '/exact' })).route, 'exact');
    assert.equal(run(s, call({ path: '/exact?q=1' })).route, 'exact');
    assert.equal(run(s, call({ path: '/exactly' })).route, 'prefix');
    assert.equal(run(s, call({ path: '/v2/items' })).route, 'regex');
    assert.equal(run(s, call({ path: '/v2/items/3' })).route, 'prefix', 'Envoy regexes match the whole path');
    assert.equal(run(s, call({ path: '/api' })).route, 'sep');
    assert.equal(run(s, call({ path: '/api/x' })).route, 'sep');
    assert.equal(run(s, call({ path: '/apix' })).route, 'prefix');
  });
  it('Istio fidelity: unanchored regexes, path-separated prefix as a plain prefix, headers ignored', () => {
    const s = withRoutes(
      [
        route('hdr', { pathSpecifier: { case: 'prefix', value: '/h' }, headers: [{ name: 'x-v', headerMatchSpecifier: { case: 'exactMatch', value: '2' } }] }),
        route('regex', { pathSpecifier: { case: 'safeRegex', value: { regex: '/v[0-9]+/items' } } }),
        route('sep', { pathSpecifier: { case: 'pathSeparatedPrefix', value: '/api' } }),
      ],
      'istio',
    );
    assert.equal(run(s, call({ path: '/h' })).route, 'hdr');
    assert.equal(run(s, call({ path: '/x/v2/items/3' })).route, 'regex');
    assert.equal(run(s, call({ path: '/apix' })).route, 'sep');
  });
  it('case-insensitive paths when case_sensitive is false', () => {
    const s = withRoutes([route('ci', { pathSpecifier: { case: 'prefix', value: '/Admin' }, caseSensitive: false })]);
    assert.equal(run(s, call({ path: '/admin/x' })).route, 'ci');
    assert.equal(run(withRoutes([route('cs', { pathSpecifier: { case: 'prefix', value: '/Admin' } })]), call({ path: '/admin' })).error?.name, 'ErrNoRoute');
  });
  it('headers: exact, present, absent, inverted, regex, range, string matchers; :method and :authority', () => {
    const h = (name: string, spec: NonNullable<RouteInit['match']>['headers']) => route(name, { pathSpecifier: { case: 'prefix', value: '/' }, headers: spec });
    const s = withRoutes([
      h('exact', [{ name: 'x-version', headerMatchSpecifier: { case: 'exactMatch', value: 'v2' } }]),
      h('method', [{ name: ':method', headerMatchSpecifier: { case: 'stringMatch', value: { matchPattern: { case: 'exact', value: 'POST' } } } }]),
      h('regex', [{ name: 'x-user', headerMatchSpecifier: { case: 'safeRegexMatch', value: { regex: 'admin-[a-z]+' } } }]),
      h('range', [{ name: 'x-n', headerMatchSpecifier: { case: 'rangeMatch', value: { start: 10n, end: 20n } } }]),
      h('ci', [{ name: 'x-ci', headerMatchSpecifier: { case: 'stringMatch', value: { matchPattern: { case: 'prefix', value: 'ab' }, ignoreCase: true } } }]),
      h('without', [{ name: 'x-debug', headerMatchSpecifier: { case: 'stringMatch', value: { matchPattern: { case: 'exact', value: 'on' } } }, invertMatch: true, treatMissingHeaderAsEmpty: true }, { name: 'x-flag', headerMatchSpecifier: { case: 'presentMatch', value: true } }]),
      h('absent', [{ name: 'x-flag', headerMatchSpecifier: { case: 'presentMatch', value: true }, invertMatch: true }]),
      h('authority', [{ name: ':authority', headerMatchSpecifier: { case: 'stringMatch', value: { matchPattern: { case: 'suffix', value: '.internal' } } } }]),
      route('fallback', { pathSpecifier: { case: 'prefix', value: '/' } }),
    ]);
    assert.equal(run(s, call({ headers: { 'X-Version': 'v2' } })).route, 'exact');
    assert.equal(run(s, call({ method: 'POST' })).route, 'method');
    assert.equal(run(s, call({ headers: { 'x-user': 'admin-bob' } })).route, 'regex');
    assert.equal(run(s, call({ headers: { 'x-user': 'admin-bob2' } })).route, 'absent', 'regexes match the whole value');
    assert.equal(run(s, call({ headers: { 'x-n': '15' } })).route, 'range');
    assert.equal(run(s, call({ headers: { 'x-n': '20' } })).route, 'absent');
    assert.equal(run(s, call({ headers: { 'x-ci': 'ABC' } })).route, 'ci');
    assert.equal(run(s, call({ headers: { 'x-flag': '1' } })).route, 'without');
    assert.equal(run(s, call({ headers: { 'x-flag': '1', 'x-debug': 'on' } })).route, 'fallback');
    assert.equal(run(s, call({ headers: { 'x-flag': '1', 'x-debug': 'off' } })).route, 'without');
    assert.equal(run(s, call({})).route, 'absent');
    const noAbsent = withRoutes([h('authority', [{ name: ':authority', headerMatchSpecifier: { case: 'stringMatch', value: { matchPattern: { case: 'suffix', value: '.internal' } } } }])]);
    assert.equal(run(noAbsent, call({ hostHeader: 'db.internal' })).route, 'authority');
    assert.equal(run(noAbsent, call({ hostHeader: 'db.public' })).error?.name, 'ErrNoRoute');
  });
  it('query parameters: present and string matchers', () => {
    const s = withRoutes([
      route('q', { pathSpecifier: { case: 'prefix', value: '/' }, queryParameters: [{ name: 'debug', queryParameterMatchSpecifier: { case: 'presentMatch', value: true } }, { name: 'v', queryParameterMatchSpecifier: { case: 'stringMatch', value: { matchPattern: { case: 'exact', value: '2' } } } }] }),
      route('rest', { pathSpecifier: { case: 'prefix', value: '/' } }),
    ]);
    assert.equal(run(s, call({ path: '/x?debug&v=2' })).route, 'q');
    assert.equal(run(s, call({ path: '/x?debug&v=3' })).route, 'rest');
    assert.equal(run(s, call({ path: '/x?v=2' })).route, 'rest');
  });
  it('ErrNoRoute when no route matches', () => {
    const r = run(withRoutes([route('a', { pathSpecifier: { case: 'path', value: '/a' } })]), call({ path: '/b' }));
    assert.equal(r.error?.name, 'ErrNoRoute');
    assert.equal(r.virtualHost, 'vh');
  });
  it('weighted clusters, redirects and direct responses leave the cluster empty (as Istio)', () => {
    const weighted = create(RouteSchema, {
      name: 'split',
      match: { pathSpecifier: { case: 'prefix', value: '/w' } },
      action: { case: 'route', value: { clusterSpecifier: { case: 'weightedClusters', value: { clusters: [{ name: 'v1', weight: 80 }, { name: 'v2', weight: 20 }] } } } },
    });
    const redirect = create(RouteSchema, { name: 'redir', match: { pathSpecifier: { case: 'prefix', value: '/r' } }, action: { case: 'redirect', value: { schemeRewriteSpecifier: { case: 'httpsRedirect', value: true } } } });
    const direct = create(RouteSchema, { name: 'dr', match: { pathSpecifier: { case: 'prefix', value: '/' } }, action: { case: 'directResponse', value: { status: 502 } } });
    const s = withRoutes([weighted, redirect, direct]);
    const w = run(s, call({ path: '/w' }));
    assert.equal(w.cluster, '');
    assert.deepEqual(w.weightedClusters, [{ name: 'v1', weight: 80 }, { name: 'v2', weight: 20 }]);
    assert.equal(run(s, call({ path: '/r' })).routeAction, 'redirect to https://');
    const d = run(s, call({ path: '/x' }));
    assert.equal(d.routeAction, 'direct response 502');
    assert.equal(d.cluster, '');
  });
});

describe('simulation: tcp_proxy', () => {
  it('reaches the cluster, or the weighted clusters', () => {
    const l = listener('l', '0.0.0.0', 3306, { filterChains: [create(FilterChainSchema, { name: 'one', filters: [tcpProxy('db')] })] });
    assert.equal(run(sim({ listeners: [l] }), { port: 3306, protocol: 'tcp' }).cluster, 'db');
    const w = listener('l', '0.0.0.0', 3306, { filterChains: [create(FilterChainSchema, { filters: [tcpProxy([{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }])] })] });
    const r = run(sim({ listeners: [w] }), { port: 3306, protocol: 'tcp' });
    assert.equal(r.cluster, '');
    assert.deepEqual(r.weightedClusters, [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }]);
  });
});

describe('simulation: matching primitives', () => {
  it('parses IPv4, IPv6 (compressed, embedded IPv4) and tests CIDRs', () => {
    assert.equal(parseIp('10.0.0.1')?.bits, 32);
    assert.equal(parseIp('::ffff:10.0.0.1')?.value, (0xffffn << 32n) | 0x0a000001n);
    assert.equal(parseIp('1234::1234')?.value, (0x1234n << 112n) | 0x1234n);
    assert.equal(parseIp('300.1.1.1'), undefined);
    assert.ok(cidrContains('1234:1f1:123:123:f816:3eff:feb8:2287', 16, '1234::1'));
    assert.ok(!cidrContains('1234:1f1::', 32, '1234::1'));
    assert.ok(cidrContains('10.0.0.0', 0, '1.2.3.4'));
    assert.ok(!cidrContains('10.0.0.0', 8, '::1'));
  });
  it('ranks server names', () => {
    assert.ok(serverNameRank('a.com', 'a.com') > serverNameRank('*.com', 'a.com'));
    assert.equal(serverNameRank('*.a.com', 'a.com'), 0);
    assert.ok(serverNameRank('*', '') > 0);
  });
  it('translates RE2 to JavaScript', () => {
    assert.ok(re2('(?i)abc', true).test('ABC'));
    assert.ok(re2('(?P<v>v[0-9])', true).test('v1'));
    assert.ok(!re2('b', true).test('abc'));
    assert.ok(re2('b', false).test('abc'));
  });
  it('reads query parameters', () => {
    assert.deepEqual([...queryParams('/p?a=1&b&a=2&c=x%20y')], [['a', '1'], ['b', ''], ['c', 'x y']]);
  });
});
