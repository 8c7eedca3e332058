// Walks a call through a proxy's Envoy config the way Envoy does: listener (by address and
// port, else the capture listeners), listener filters, the filter-chain sieve, TLS, then the
// HTTP connection manager (route config → virtual host → route → cluster) or tcp_proxy.
//
// Two fidelities:
// - `envoy` (the default, for `isthmusctl x trace`): Envoy's own rules, including header,
//   query-parameter, method and case-insensitive route matching and full-match regexes;
// - `istio`: exactly Istio's simulator (pilot/pkg/simulation/traffic.go), which the conformance
//   data was produced with: routes match on the path only, regexes are unanchored, a `*` domain
//   competes with suffix wildcards, SNI is matched on plaintext calls too.
import { anyIs, anyUnpack, type Any } from '@bufbuild/protobuf/wkt';
import type { Listener } from '../../gen/envoy/config/listener/v3/listener_pb.js';
import type { FilterChain, FilterChainMatch, ListenerFilterChainMatchPredicate } from '../../gen/envoy/config/listener/v3/listener_components_pb.js';
import { FilterChainMatch_ConnectionSourceType } from '../../gen/envoy/config/listener/v3/listener_components_pb.js';
import type { RouteConfiguration } from '../../gen/envoy/config/route/v3/route_pb.js';
import { VirtualHost_TlsRequirementType, type Route, type VirtualHost } from '../../gen/envoy/config/route/v3/route_components_pb.js';
import type { Cluster } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { ClusterLoadAssignment } from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { HttpConnectionManagerSchema, type HttpConnectionManager } from '../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { TcpProxySchema, type TcpProxy } from '../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js';
import { DownstreamTlsContextSchema, type DownstreamTlsContext } from '../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import { TlsInspectorSchema } from '../../gen/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector_pb.js';
import { HttpInspectorSchema } from '../../gen/envoy/extensions/filters/listener/http_inspector/v3/http_inspector_pb.js';
import { fillDefaults, plaintextAlpn, simError, type Call, type Result, type SimError, type Step, type WeightedClusterResult } from './call.js';
import { evaluateAuthorization } from './rbac.js';
import { normalizeRequestPath } from './normalize-path.js';
import {
  cidrContains,
  matchHeader,
  matchQueryParameter,
  parseIp,
  queryParams,
  re2,
  serverNameRank,
  stripPort,
  type RequestHeaders,
} from './matchers.js';

export const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
export const TCP_PROXY_FILTER = 'envoy.filters.network.tcp_proxy';
export const TLS_INSPECTOR = 'envoy.filters.listener.tls_inspector';
export const HTTP_INSPECTOR = 'envoy.filters.listener.http_inspector';
const VIRTUAL_INBOUND = 'virtualInbound';
const VIRTUAL_OUTBOUND = 'virtualOutbound';

/** A proxy's config, unpacked: what LDS, RDS, CDS and EDS would give Envoy. */
export interface SimulationConfig {
  listeners: Listener[];
  /** The route configurations RDS serves for the names the listeners reference. */
  routes: RouteConfiguration[];
  clusters: Cluster[];
  /** EDS assignments by cluster (EDS service) name. */
  endpoints?: Map<string, ClusterLoadAssignment>;
}

export type Fidelity = 'envoy' | 'istio';

export interface SimulationOptions {
  fidelity?: Fidelity;
  /** Extra checks on the matched filter chain (Istio's CustomListenerValidations); an error is recorded, the walk goes on. */
  validateFilterChain?: (chain: FilterChain) => SimError | undefined;
}

/** The matched objects, for callers that want more than names (x trace). */
export interface Matched {
  listener?: Listener;
  filterChain?: FilterChain;
  hcm?: HttpConnectionManager;
  routeConfiguration?: RouteConfiguration;
  virtualHost?: VirtualHost;
  route?: Route;
  tcpProxy?: TcpProxy;
}

export interface SimulationRun extends Result {
  matched: Matched;
}

function typedConfig(c: { configType: { case: string | undefined; value?: unknown } }): Any | undefined {
  return c.configType.case === 'typedConfig' ? (c.configType.value as Any) : undefined;
}

export function extractHcm(chain: FilterChain): HttpConnectionManager | undefined {
  for (const f of chain.filters) {
    const any = typedConfig(f);
    if (any && anyIs(any, HttpConnectionManagerSchema)) return anyUnpack(any, HttpConnectionManagerSchema);
    if (f.name === HCM_FILTER) return any ? anyUnpack(any, HttpConnectionManagerSchema) : undefined;
  }
  return undefined;
}

export function extractTcpProxy(chain: FilterChain): TcpProxy | undefined {
  for (const f of chain.filters) {
    const any = typedConfig(f);
    if (any && anyIs(any, TcpProxySchema)) return anyUnpack(any, TcpProxySchema);
    if (f.name === TCP_PROXY_FILTER) return any ? anyUnpack(any, TcpProxySchema) : undefined;
  }
  return undefined;
}

export function downstreamTlsContext(chain: FilterChain): DownstreamTlsContext | undefined {
  const ts = chain.transportSocket;
  if (!ts) return undefined;
  const any = typedConfig(ts);
  return any && anyIs(any, DownstreamTlsContextSchema) ? anyUnpack(any, DownstreamTlsContextSchema) : undefined;
}

function socketOf(l: Listener): { address: string; port: number } | undefined {
  const a = l.address?.address;
  if (a?.case !== 'socketAddress') return undefined;
  const ps = a.value.portSpecifier;
  return { address: a.value.address, port: ps.case === 'portValue' ? ps.value : -1 };
}

/** Istio's `EvaluateListenerFilterPredicates` (Envoy's ListenerFilterChainMatchPredicate on the destination port). */
export function evaluatePredicate(p: ListenerFilterChainMatchPredicate | undefined, port: number): boolean {
  if (!p) return true;
  switch (p.rule.case) {
    case 'notMatch':
      return !evaluatePredicate(p.rule.value, port);
    case 'orMatch':
      return p.rule.value.rules.some((r) => evaluatePredicate(r, port));
    case 'andMatch':
      return p.rule.value.rules.every((r) => evaluatePredicate(r, port));
    case 'anyMatch':
      return true;
    case 'destinationPortRange':
      return port >= p.rule.value.start && port < p.rule.value.end;
    default:
      return false;
  }
}

function listenerFilterActive(l: Listener, name: string, schema: typeof TlsInspectorSchema | typeof HttpInspectorSchema, port: number): boolean {
  for (const f of l.listenerFilters) {
    const any = f.configType.case === 'typedConfig' ? f.configType.value : undefined;
    if (f.name !== name && !(any && anyIs(any, schema))) continue;
    return !f.filterDisabled || !evaluatePredicate(f.filterDisabled, port);
  }
  return false;
}

function describeMatch(m: FilterChainMatch | undefined): string {
  if (!m) return 'no filter_chain_match (matches anything)';
  const parts: string[] = [];
  if (m.destinationPort !== undefined) parts.push(`destination_port ${m.destinationPort}`);
  if (m.prefixRanges.length) parts.push(`prefix_ranges ${m.prefixRanges.map((r) => `${r.addressPrefix}/${r.prefixLen ?? 0}`).join(',')}`);
  if (m.serverNames.length) parts.push(`server_names ${m.serverNames.join(',')}`);
  if (m.transportProtocol) parts.push(`transport_protocol ${m.transportProtocol}`);
  if (m.applicationProtocols.length) parts.push(`application_protocols ${m.applicationProtocols.join(',')}`);
  if (m.sourceType !== FilterChainMatch_ConnectionSourceType.ANY) parts.push(`source_type ${FilterChainMatch_ConnectionSourceType[m.sourceType]}`);
  if (m.sourcePrefixRanges.length) parts.push(`source_prefix_ranges ${m.sourcePrefixRanges.map((r) => `${r.addressPrefix}/${r.prefixLen ?? 0}`).join(',')}`);
  if (m.sourcePorts.length) parts.push(`source_ports ${m.sourcePorts.join(',')}`);
  return parts.length ? parts.join('; ') : 'empty filter_chain_match (matches anything)';
}

function describePath(r: Route): string {
  const p = r.match?.pathSpecifier;
  switch (p?.case) {
    case 'prefix':
      return `prefix ${JSON.stringify(p.value)}`;
    case 'path':
      return `path ${JSON.stringify(p.value)}`;
    case 'safeRegex':
      return `safe_regex ${JSON.stringify(p.value.regex)}`;
    case 'pathSeparatedPrefix':
      return `path_separated_prefix ${JSON.stringify(p.value)}`;
    case 'connectMatcher':
      return 'CONNECT';
    case 'pathMatchPolicy':
      return `path_match_policy ${p.value.name}`;
    default:
      return 'no path specifier';
  }
}

export class Simulation {
  private readonly routesByName: Map<string, RouteConfiguration>;
  readonly fidelity: Fidelity;

  constructor(
    readonly config: SimulationConfig,
    private readonly opts: SimulationOptions = {},
  ) {
    this.routesByName = new Map(config.routes.map((r) => [r.name, r]));
    this.fidelity = opts.fidelity ?? 'envoy';
  }

  run(input: Call): SimulationRun {
    const call = fillDefaults(input);
    const steps: Step[] = [];
    const notes: string[] = [];
    const matched: Matched = {};
    const result: SimulationRun = { error: null, listener: '', filterChain: '', routeConfig: '', virtualHost: '', route: '', cluster: '', steps, call, notes, matched };
    const fail = (e: SimError): SimulationRun => {
      result.error = e;
      return result;
    };

    if (call.alpn && call.tls === 'plaintext') return fail(simError('ErrInvalidCall'));

    // 1. Listener.
    const l = this.matchListener(call, steps);
    if (!l) return fail(simError('ErrNoListener', `no listener on ${call.address}:${call.port} or 0.0.0.0:${call.port}, and no ${VIRTUAL_OUTBOUND} capture listener`));
    result.listener = l.name;
    matched.listener = l;

    // 2. Listener filters.
    const tlsInspector = listenerFilterActive(l, TLS_INSPECTOR, TlsInspectorSchema, call.port);
    let alpn = call.alpn ?? '';
    let sni = call.sni ?? '';
    if (!tlsInspector) alpn = '';
    if (!tlsInspector && this.fidelity === 'envoy') sni = '';
    if (this.fidelity === 'envoy' && call.tls === 'plaintext') sni = '';
    const httpInspector = listenerFilterActive(l, HTTP_INSPECTOR, HttpInspectorSchema, call.port);
    if (httpInspector && call.tls === 'plaintext') {
      const a = plaintextAlpn(call.protocol);
      if (a) alpn = a;
    }
    const transport = !tlsInspector ? 'raw_buffer' : call.tls === 'plaintext' ? 'raw_buffer' : 'tls';
    steps.push({
      step: 'listener filters',
      name:
        l.listenerFilters
          .filter((f) => (f.name !== TLS_INSPECTOR || tlsInspector) && (f.name !== HTTP_INSPECTOR || httpInspector))
          .map((f) => f.name.replace(/^envoy\.filters\.listener\./, ''))
          .join(', ') || '(none)',
      detail: `transport ${transport}${alpn ? `, ALPN ${alpn}` : ', no ALPN'}${sni ? `, SNI ${sni}` : ''}`,
    });
    if (l.filterChainMatcher) notes.push(`listener ${l.name} has a filter_chain_matcher, which the simulation does not evaluate; filter_chain_match was used`);

    // 3. Filter chain.
    const fc = this.matchFilterChain(l, call, { alpn, sni, tlsInspector }, steps);
    if ('error' in fc) return fail(fc.error);
    const chain = fc.chain;
    result.filterChain = chain.name;
    matched.filterChain = chain;

    // 4. TLS.
    if (chain.transportSocket && call.tls === 'plaintext') return fail(simError('ErrTLSError', `filter chain ${JSON.stringify(chain.name)} terminates TLS; the call is plaintext`));
    if (chain.transportSocket) {
      const requiresMtls = this.requiresMtls(chain, call.mtlsSecretConfigName || 'default');
      const mismatch = this.fidelity === 'istio' ? requiresMtls !== (call.tls === 'mtls') : requiresMtls && call.tls !== 'mtls';
      if (mismatch) {
        return fail(simError('ErrMTLSError', requiresMtls ? `filter chain ${JSON.stringify(chain.name)} requires a client certificate (mTLS); the call is ${call.tls}` : `filter chain ${JSON.stringify(chain.name)} terminates simple TLS; the call is mTLS`));
      }
      steps.push({ step: 'tls', name: chain.transportSocket.name, detail: requiresMtls ? 'terminates mTLS (client certificate required)' : 'terminates TLS' });
    }
    if (this.opts.validateFilterChain) {
      const e = this.opts.validateFilterChain(chain);
      if (e) result.error = e;
    }

    // 5. Network filters.
    const hcm = extractHcm(chain);
    if (hcm) {
      matched.hcm = hcm;
      if (call.tls !== 'plaintext' && !chain.transportSocket) return fail(simError('ErrProtocolError', `filter chain ${JSON.stringify(chain.name)} is an HTTP connection manager without TLS termination; the call is ${call.tls}`));
      if (call.protocol !== 'http' && call.protocol !== 'http2') return fail(simError('ErrProtocolError', `filter chain ${JSON.stringify(chain.name)} is an HTTP connection manager; the call is ${call.protocol ?? 'tcp'}`));
      steps.push({ step: 'network filter', name: HCM_FILTER, detail: `stat_prefix ${hcm.statPrefix}` });
      if (this.fidelity === 'envoy' && call.path) {
        // Filters and routes see the path as the connection manager normalized it.
        const normalized = normalizeRequestPath(call.path, hcm);
        if (normalized !== call.path) {
          notes.push(`the connection manager normalizes the path ${JSON.stringify(call.path)} to ${JSON.stringify(normalized)}`);
          call.path = normalized;
        }
      }
      if (!this.authorize(call, chain, sni, hcm, result)) return result;
      return this.runHttp(call, hcm, result);
    }
    const tcp = extractTcpProxy(chain);
    if (tcp) {
      matched.tcpProxy = tcp;
      if (!this.authorize(call, chain, sni, undefined, result)) return result;
      steps.push({ step: 'network filter', name: TCP_PROXY_FILTER, detail: `stat_prefix ${tcp.statPrefix}` });
      const cs = tcp.clusterSpecifier;
      if (cs.case === 'cluster') {
        result.cluster = cs.value;
        steps.push({ step: 'cluster', name: cs.value, detail: 'tcp_proxy cluster' });
      } else if (cs.case === 'weightedClusters') {
        result.weightedClusters = cs.value.clusters.map((c) => ({ name: c.name, weight: c.weight }));
        for (const c of result.weightedClusters) steps.push({ step: 'cluster', name: c.name, detail: `tcp_proxy weighted cluster, weight ${c.weight}` });
      }
      return result;
    }
    notes.push(`filter chain ${JSON.stringify(chain.name)} has neither an HTTP connection manager nor a tcp_proxy (${chain.filters.map((f) => f.name).join(', ') || 'no filters'})`);
    return result;
  }

  private matchListener(call: Call, steps: Step[]): Listener | undefined {
    const listeners = this.config.listeners;
    if (call.callMode === 'inbound') {
      const l = listeners.find((x) => x.name === VIRTUAL_INBOUND);
      if (l) steps.push({ step: 'listener', name: l.name, detail: `inbound capture (iptables → ${socketOf(l)?.port ?? '?'}), original destination ${call.address}:${call.port}` });
      return l;
    }
    const sameAddress = (a: string, b: string) => {
      if (a === b) return true;
      if (this.fidelity === 'istio') return false;
      const pa = parseIp(a);
      const pb = parseIp(b);
      return !!pa && !!pb && pa.bits === pb.bits && pa.value === pb.value;
    };
    for (const l of listeners) {
      const s = socketOf(l);
      if (s && s.port === call.port && sameAddress(s.address, call.address!)) {
        steps.push({ step: 'listener', name: l.name, detail: `bound to ${s.address}:${s.port} (exact address and port)` });
        return l;
      }
    }
    for (const l of listeners) {
      const s = socketOf(l);
      if (s && s.port === call.port && s.address === '0.0.0.0') {
        steps.push({ step: 'listener', name: l.name, detail: `bound to 0.0.0.0:${s.port} (wildcard address, port ${call.port})` });
        return l;
      }
    }
    const vo = listeners.find((x) => x.name === VIRTUAL_OUTBOUND);
    if (vo) steps.push({ step: 'listener', name: vo.name, detail: `outbound capture: no listener for ${call.address}:${call.port}, the connection stays on ${VIRTUAL_OUTBOUND}` });
    return vo;
  }

  private matchFilterChain(
    l: Listener,
    call: Call,
    conn: { alpn: string; sni: string; tlsInspector: boolean },
    steps: Step[],
  ): { chain: FilterChain } | { error: SimError } {
    let chains = [...l.filterChains];
    const sieve = <T>(criterion: string, extract: (m: FilterChainMatch | undefined) => T, isSet: (v: T) => boolean, rank: (v: T) => number) => {
      if (!chains.some((c) => isSet(extract(c.filterChainMatch)))) return;
      const ranked = chains.map((c) => ({ c, r: isSet(extract(c.filterChainMatch)) ? rank(extract(c.filterChainMatch)) : 0 }));
      const best = Math.max(0, ...ranked.map((x) => x.r));
      if (best > 0) chains = ranked.filter((x) => x.r === best).map((x) => x.c);
      else chains = chains.filter((c) => !isSet(extract(c.filterChainMatch)));
      void criterion;
    };
    const bool = (b: boolean) => (b ? 1 : 0);

    sieve('destination_port', (m) => m?.destinationPort, (v) => v !== undefined && v !== 0, (v) => bool(v === call.port));
    sieve(
      'prefix_ranges',
      (m) => m?.prefixRanges ?? [],
      (v) => v.length > 0,
      (ranges) => {
        let best = 0;
        for (const r of ranges) if (cidrContains(r.addressPrefix, r.prefixLen ?? 0, call.address!)) best = Math.max(best, r.prefixLen ?? 0);
        return best;
      },
    );
    sieve(
      'server_names',
      (m) => m?.serverNames ?? [],
      (v) => v.length > 0,
      (names) => Math.max(0, ...names.map((n) => serverNameRank(this.fidelity === 'envoy' ? n.toLowerCase() : n, this.fidelity === 'envoy' ? conn.sni.toLowerCase() : conn.sni))),
    );
    sieve(
      'transport_protocol',
      (m) => m?.transportProtocol ?? '',
      (v) => v !== '',
      (t) => {
        if (!conn.tlsInspector) return bool(t === 'raw_buffer');
        if (t === 'tls') return bool(call.tls === 'tls' || call.tls === 'mtls');
        if (t === 'raw_buffer') return bool(call.tls === 'plaintext');
        return 0;
      },
    );
    sieve('application_protocols', (m) => m?.applicationProtocols ?? [], (v) => v.length > 0, (ps) => bool(ps.includes(conn.alpn)));
    if (this.fidelity === 'envoy') {
      // Source criteria: only when the call names a source (Istio's simulator never does).
      if (call.sourceAddress) {
        const src = call.sourceAddress;
        const rankRanges = (ranges: { addressPrefix: string; prefixLen?: number }[]) => {
          let best = 0;
          for (const r of ranges) if (cidrContains(r.addressPrefix, r.prefixLen ?? 0, src)) best = Math.max(best, (r.prefixLen ?? 0) + 1);
          return best;
        };
        sieve('direct_source_prefix_ranges', (m) => m?.directSourcePrefixRanges ?? [], (v) => v.length > 0, rankRanges);
        sieve(
          'source_type',
          (m) => m?.sourceType ?? FilterChainMatch_ConnectionSourceType.ANY,
          (v) => v !== FilterChainMatch_ConnectionSourceType.ANY,
          (t) => {
            const local = src === call.address || src.startsWith('127.') || src === '::1';
            return bool(t === FilterChainMatch_ConnectionSourceType.SAME_IP_OR_LOOPBACK ? local : !local);
          },
        );
        sieve('source_prefix_ranges', (m) => m?.sourcePrefixRanges ?? [], (v) => v.length > 0, rankRanges);
      }
      if (call.sourcePort !== undefined) sieve('source_ports', (m) => m?.sourcePorts ?? [], (v) => v.length > 0, (ps) => bool(ps.includes(call.sourcePort!)));
    }

    if (chains.length > 1) {
      return { error: simError('ErrMultipleFilterChain', `listener ${l.name}: ${chains.map((c) => JSON.stringify(c.name)).join(', ')} all match`) };
    }
    if (chains.length === 0) {
      if (l.defaultFilterChain) {
        steps.push({ step: 'filter chain', name: l.defaultFilterChain.name, detail: 'default_filter_chain (no filter chain matched)' });
        return { chain: l.defaultFilterChain };
      }
      return { error: simError('ErrNoFilterChain', `listener ${l.name} has ${l.filterChains.length} filter chain(s), none matches (port ${call.port}, transport ${conn.tlsInspector && call.tls !== 'plaintext' ? 'tls' : 'raw_buffer'}${conn.alpn ? `, ALPN ${conn.alpn}` : ''}${conn.sni ? `, SNI ${conn.sni}` : ''}) and there is no default_filter_chain`) };
    }
    const chain = chains[0]!;
    steps.push({ step: 'filter chain', name: chain.name, detail: describeMatch(chain.filterChainMatch) });
    return { chain };
  }

  /** Istio's heuristic: the first SDS certificate is the workload's (`default`) and a client certificate is required. */
  private requiresMtls(chain: FilterChain, secretName: string): boolean {
    const tls = downstreamTlsContext(chain);
    if (!tls) return false;
    if (this.fidelity === 'envoy') return tls.requireClientCertificate === true;
    const sds = tls.commonTlsContext?.tlsCertificateSdsSecretConfigs ?? [];
    if (sds.length === 0) return false;
    if (sds[0]!.name !== secretName) return false;
    return tls.requireClientCertificate === true;
  }

  /**
   * The chain's RBAC filters (HTTP filters of the connection manager `hcm`, or the chain's
   * network filters before tcp_proxy), as authorization steps; false when they stop the call.
   */
  private authorize(call: Call, chain: FilterChain, sni: string, hcm: HttpConnectionManager | undefined, result: SimulationRun): boolean {
    // Only a chain that asks for a client certificate learns the caller's identity.
    const mtls = call.tls === 'mtls' && this.requiresMtls(chain, call.mtlsSecretConfigName || 'default');
    const principal = mtls && call.sourcePrincipal ? (call.sourcePrincipal.includes('://') ? call.sourcePrincipal : `spiffe://${call.sourcePrincipal}`) : undefined;
    const headers = hcm ? this.headers(call) : undefined;
    // Without use_remote_address the client is the last x-forwarded-for hop (none trusted).
    const xff = headers?.get('x-forwarded-for')?.split(',').map((a) => a.trim()).filter(Boolean).at(-1);
    const outcome = evaluateAuthorization(hcm ? hcm.httpFilters : chain.filters, {
      headers,
      destinationAddress: call.address ?? '',
      destinationPort: call.port,
      sourceAddress: call.sourceAddress,
      remoteAddress: hcm && hcm.useRemoteAddress !== true && xff ? xff : call.sourceAddress,
      sni,
      peerPrincipal: principal,
      peerPrincipalUnknown: mtls && !principal,
      jwtPayload: hcm ? call.jwtClaims : undefined,
      tcp: !hcm,
    });
    if (!outcome) return true;
    for (const s of outcome.steps) result.steps.push({ step: 'authorization', name: s.filter, detail: s.detail, policies: s.policies });
    result.notes.push(...outcome.notes);
    if (!outcome.allowed) this.failWith(result, simError('ErrAccessDenied', outcome.steps.at(-1)!.detail));
    return outcome.allowed;
  }

  private runHttp(call: Call, hcm: HttpConnectionManager, result: SimulationRun): SimulationRun {
    const { steps, notes, matched } = result;
    let rc: RouteConfiguration | undefined;
    if (hcm.routeSpecifier.case === 'routeConfig') {
      rc = hcm.routeSpecifier.value;
      steps.push({ step: 'route config', name: rc.name, detail: 'inline in the HTTP connection manager' });
    } else if (hcm.routeSpecifier.case === 'rds') {
      const name = hcm.routeSpecifier.value.routeConfigName;
      result.routeConfig = name;
      rc = this.routesByName.get(name);
      steps.push({ step: 'route config', name, detail: rc ? 'from RDS' : 'from RDS: NOT GENERATED' });
    } else {
      notes.push(`HTTP connection manager uses ${hcm.routeSpecifier.case ?? 'no route specifier'}, which the simulation does not follow`);
    }
    matched.routeConfiguration = rc;

    const rawHost = call.hostHeader ?? '';
    let host = rawHost;
    const split = stripPort(rawHost);
    const portMatches = split.port !== undefined && Number(split.port) === call.port;
    if (rc?.ignorePortInHostMatching || (this.fidelity === 'envoy' && (hcm.stripPortMode.case === 'stripAnyHostPort' || (hcm.stripMatchingHostPort && portMatches)))) {
      // Go's net.SplitHostPort also drops IPv6 brackets.
      if (split.port !== undefined) host = this.fidelity === 'istio' ? split.host.replace(/^\[(.*)\]$/, '$1') : split.host;
    }
    const vh = rc ? this.matchVirtualHost(rc, host) : undefined;
    if (!vh) {
      return this.failWith(result, simError('ErrNoVirtualHost', rc ? `route config ${JSON.stringify(rc.name)} has no domain matching Host ${JSON.stringify(host)}` : `route config ${JSON.stringify(result.routeConfig)} was not generated`));
    }
    result.virtualHost = vh.vh.name;
    matched.virtualHost = vh.vh;
    steps.push({ step: 'virtual host', name: vh.vh.name, detail: `Host ${JSON.stringify(host)} matches domain ${JSON.stringify(vh.domain)} (${vh.how})` });
    if (vh.vh.requireTls === VirtualHost_TlsRequirementType.ALL && call.tls === 'plaintext') {
      return this.failWith(result, simError('ErrTLSRedirect', `virtual host ${vh.vh.name} requires TLS`));
    }

    const r = this.matchRoute(vh.vh, call, notes);
    if (!r) return this.failWith(result, simError('ErrNoRoute', `none of the ${vh.vh.routes.length} route(s) of virtual host ${vh.vh.name} matches ${call.method ?? 'GET'} ${call.path}`));
    result.route = r.route.name;
    matched.route = r.route;
    steps.push({ step: 'route', name: r.route.name, detail: r.why });
    const action = r.route.action;
    switch (action.case) {
      case 'route': {
        const cs = action.value.clusterSpecifier;
        if (cs.case === 'cluster') {
          result.cluster = cs.value;
          steps.push({ step: 'cluster', name: cs.value, detail: 'route action cluster' });
        } else if (cs.case === 'weightedClusters') {
          const wc: WeightedClusterResult[] = cs.value.clusters.map((c) => ({ name: c.name, weight: c.weight ?? 0 }));
          result.weightedClusters = wc;
          const total = wc.reduce((s, c) => s + c.weight, 0) || 1;
          for (const c of wc) steps.push({ step: 'cluster', name: c.name, detail: `weighted cluster, weight ${c.weight} (${Math.round((c.weight * 1000) / total) / 10}%)` });
        } else if (cs.case === 'clusterHeader') {
          const v = this.headers(call).get(cs.value.toLowerCase());
          result.routeAction = `cluster from header ${cs.value}`;
          if (v) steps.push({ step: 'cluster', name: v, detail: `from request header ${cs.value}` });
        } else {
          result.routeAction = `cluster specifier ${cs.case ?? '(none)'}`;
        }
        break;
      }
      case 'redirect': {
        const rd = action.value;
        const target = [rd.schemeRewriteSpecifier.case === 'httpsRedirect' && rd.schemeRewriteSpecifier.value ? 'https://' : '', rd.hostRedirect, rd.portRedirect ? `:${rd.portRedirect}` : '', rd.pathRewriteSpecifier.case === 'pathRedirect' ? rd.pathRewriteSpecifier.value : ''].join('');
        result.routeAction = `redirect${target ? ` to ${target}` : ''}`;
        break;
      }
      case 'directResponse':
        result.routeAction = `direct response ${action.value.status}`;
        break;
      default:
        result.routeAction = action.case ?? 'no action';
    }
    return result;
  }

  private failWith(result: SimulationRun, e: SimError): SimulationRun {
    result.error = e;
    return result;
  }

  /** Exact domains, then the longest `*suffix`, then the longest `prefix*`, then `*`. */
  matchVirtualHost(rc: RouteConfiguration, rawHost: string): { vh: VirtualHost; domain: string; how: string } | undefined {
    const istio = this.fidelity === 'istio';
    const host = istio ? rawHost : rawHost.toLowerCase();
    const norm = (d: string) => (istio ? d : d.toLowerCase());
    for (const vh of rc.virtualHosts) {
      const d = vh.domains.find((x) => norm(x) === host);
      if (d !== undefined) return { vh, domain: d, how: 'exact' };
    }
    let best: { vh: VirtualHost; domain: string } | undefined;
    let longest = 0;
    for (const vh of rc.virtualHosts) {
      for (const d of vh.domains) {
        if (!d.startsWith('*')) continue;
        if (!istio && d === '*') continue;
        if (host.length >= d.length && host.endsWith(norm(d).slice(1)) && d.length > longest) {
          best = { vh, domain: d };
          longest = d.length;
        }
      }
    }
    if (best) return { ...best, how: best.domain === '*' ? 'wildcard' : 'suffix wildcard' };
    longest = 0;
    for (const vh of rc.virtualHosts) {
      for (const d of vh.domains) {
        if (!d.endsWith('*') || d === '*') continue;
        if (host.length >= d.length && host.startsWith(norm(d).slice(0, -1)) && d.length > longest) {
          best = { vh, domain: d };
          longest = d.length;
        }
      }
    }
    if (best) return { ...best, how: 'prefix wildcard' };
    for (const vh of rc.virtualHosts) if (vh.domains.includes('*')) return { vh, domain: '*', how: 'wildcard' };
    return undefined;
  }

  private headers(call: Call): RequestHeaders {
    const h: RequestHeaders = new Map();
    for (const [k, v] of Object.entries(call.headers ?? {})) h.set(k.toLowerCase(), Array.isArray(v) ? v.join(',') : v);
    if (call.hostHeader !== undefined) {
      h.set(':authority', call.hostHeader);
      h.set('host', call.hostHeader);
    }
    h.set(':path', call.path ?? '/');
    h.set(':method', call.method ?? 'GET');
    h.set(':scheme', call.tls === 'plaintext' ? 'http' : 'https');
    return h;
  }

  private matchRoute(vh: VirtualHost, call: Call, notes: string[]): { route: Route; why: string } | undefined {
    const fullPath = call.path ?? '/';
    if (this.fidelity === 'istio') {
      for (const r of vh.routes) {
        const p = r.match?.pathSpecifier;
        let ok: boolean;
        switch (p?.case) {
          case 'prefix':
          case 'pathSeparatedPrefix':
            ok = fullPath.startsWith(p.value);
            break;
          case 'path':
            ok = fullPath === p.value;
            break;
          case 'safeRegex':
            ok = re2(p.value.regex, false).test(fullPath);
            break;
          default:
            ok = false;
        }
        if (ok) return { route: r, why: describePath(r) };
      }
      return undefined;
    }

    const path = fullPath.split('?')[0]!.split('#')[0]!;
    const headers = this.headers(call);
    const params = queryParams(fullPath);
    for (const r of vh.routes) {
      const m = r.match;
      if (!m) continue;
      const ci = m.caseSensitive === false;
      const cmp = (s: string) => (ci ? s.toLowerCase() : s);
      let ok: boolean;
      const p = m.pathSpecifier;
      switch (p.case) {
        case 'prefix':
          ok = cmp(fullPath).startsWith(cmp(p.value));
          break;
        case 'path':
          ok = cmp(path) === cmp(p.value);
          break;
        case 'safeRegex':
          ok = re2(p.value.regex, true).test(path);
          break;
        case 'pathSeparatedPrefix': {
          const pre = cmp(p.value);
          const x = cmp(path);
          ok = x === pre || x.startsWith(pre.endsWith('/') ? pre : `${pre}/`);
          break;
        }
        case 'connectMatcher':
          ok = (call.method ?? 'GET').toUpperCase() === 'CONNECT';
          break;
        default:
          notes.push(`route ${JSON.stringify(r.name)} uses ${p.case ?? 'no path specifier'}, which the simulation does not evaluate (treated as no match)`);
          ok = false;
      }
      if (!ok) continue;
      const why = [describePath(r) + (ci ? ' (case-insensitive)' : '')];
      const failedHeader = m.headers.find((h) => !matchHeader(h, headers));
      if (failedHeader) continue;
      for (const h of m.headers) why.push(`header ${h.name}${h.invertMatch ? ' (inverted)' : ''}`);
      if (!m.queryParameters.every((q) => matchQueryParameter(q, params))) continue;
      for (const q of m.queryParameters) why.push(`query ${q.name}`);
      if (m.grpc && !(headers.get('content-type') ?? '').startsWith('application/grpc')) continue;
      if (m.runtimeFraction) notes.push(`route ${JSON.stringify(r.name)} has a runtime_fraction, assumed to match`);
      if (m.dynamicMetadata.length) notes.push(`route ${JSON.stringify(r.name)} matches dynamic metadata, assumed to match`);
      return { route: r, why: why.join(', ') };
    }
    return undefined;
  }
}

/** The RDS names the listeners' HTTP connection managers reference, in order, without duplicates. */
export function referencedRouteNames(listeners: readonly Listener[]): string[] {
  const names = new Set<string>();
  for (const l of listeners) {
    for (const chain of [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])]) {
      const hcm = extractHcm(chain);
      if (hcm?.routeSpecifier.case === 'rds') names.add(hcm.routeSpecifier.value.routeConfigName);
    }
  }
  return [...names];
}
