// `isthmusctl x trace`: one request walked through a proxy's generated config, each step tied
// to the Istio resources that produced it, with the endpoints of the clusters it reaches.
// Shared by the offline CLI and isthmusd's /debug/trace, so both print the same report.
import { parsePolicyName } from '../networking/authz/builder.js';
import type { Cluster } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { Cluster_DiscoveryType } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { ClusterLoadAssignment } from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { HealthStatus } from '../../gen/envoy/config/core/v3/health_check_pb.js';
import type { JsonObject } from '@bufbuild/protobuf';
import { withConversionOrigins } from '../config/kube-conversion/index.js';
import type { Resource } from '../config/resource.js';
import { resolveShortname } from '../model/host.js';
import type { PushContext } from '../model/push-context.js';
import type { Proxy } from '../model/proxy.js';
import type { IstioEndpoint, Service } from '../model/service.js';
import { clusterEndpoints } from '../networking/endpoints.js';
import type { GeneratorSet } from '../networking/generator.js';
import { serviceAddressesForProxy } from '../model/addresses.js';
import { ALLOW_ANY_DYNAMIC_DNS, BLACKHOLE_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER, parseSubsetKey, PASSTHROUGH_CLUSTER } from '../networking/names.js';
import type { Call, CallProtocol, SimError, Step, TlsMode } from './call.js';
import { generateSimulationConfig, generatorsForProxy } from './config.js';
import { Simulation, type SimulationConfig, type SimulationRun } from './engine.js';
import { parseIp } from './matchers.js';

/** What the user asked for, in curl's terms. */
export interface TraceRequest {
  /** `http://host[:port]/path?query`, `https://...`, `grpc://host:port/pkg.Svc/Method`, `tcp://host:port`, `tls://host:port`. */
  url: string;
  method?: string;
  /** `Name: value` pairs as given with -H (repeats allowed). */
  headers?: [string, string][];
  /** Overrides the scheme's TLS mode. */
  tls?: TlsMode;
  sni?: string;
  alpn?: string;
  /** Overrides the scheme's protocol (e.g. http2 for h2c). */
  protocol?: CallProtocol;
  /** Trace the request arriving at this proxy (inbound) rather than leaving it. */
  inbound?: boolean;
  /** Destination IP, when the host does not resolve to a service VIP. */
  address?: string;
  /** The caller's identity (`cluster.local/ns/NS/sa/SA` or a SPIFFE URI), for authorization on mTLS calls. */
  principal?: string;
  /** The caller's address, for authorization on source IPs. */
  sourceAddress?: string;
  /** The payload of a valid JWT the request carries, for authorization on request principals and claims. */
  jwtClaims?: Record<string, unknown>;
}

export interface ConfigRef {
  kind: string;
  namespace: string;
  name: string;
  /** How it took part (e.g. `subset v1`, `http route "split"`). */
  role?: string;
}

export interface TraceStep extends Step {
  resources: ConfigRef[];
}

export interface TraceEndpoint {
  address: string;
  port?: number;
  health: string;
  weight?: number;
  locality?: string;
  workload?: ConfigRef;
}

export interface TraceCluster {
  name: string;
  weight?: number;
  /** Envoy's discovery type: EDS, STRICT_DNS, ORIGINAL_DST... */
  type: string;
  resources: ConfigRef[];
  /** null: the cluster has no endpoint list (original destination, or not generated). */
  endpoints: TraceEndpoint[] | null;
  /** Where the endpoints come from, or why there are none. */
  endpointSource: string;
}

export interface TraceReport {
  proxy: { id: string; type: string; namespace: string; ipAddresses: string[]; labels: Record<string, string>; workload: string };
  request: {
    url: string;
    method: string;
    host: string;
    path: string;
    address: string;
    port: number;
    protocol: CallProtocol;
    tls: TlsMode;
    sni?: string;
    alpn?: string;
    direction: 'outbound' | 'inbound';
    /** How the destination address was chosen. */
    addressFrom: string;
    headers: Record<string, string>;
    /** Who calls, as authorization sees it. */
    caller?: { principal?: string; address?: string; jwtClaims?: Record<string, unknown> };
  };
  /** Istio's simulation.Result fields. */
  result: { error: SimError | null; listener: string; filterChain: string; routeConfig: string; virtualHost: string; route: string; cluster: string; action?: string };
  steps: TraceStep[];
  clusters: TraceCluster[];
  notes: string[];
}

export class TraceInputError extends Error {}

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, grpc: 80, grpcs: 443 };

function ref(origin: { kind: string; namespace: string; name: string }, role?: string): ConfigRef {
  return role ? { kind: origin.kind, namespace: origin.namespace, name: origin.name, role } : { kind: origin.kind, namespace: origin.namespace, name: origin.name };
}

function dedupe(refs: ConfigRef[]): ConfigRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const k = `${r.kind}/${r.namespace}/${r.name}/${r.role ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** `/apis/networking.istio.io/v1/namespaces/default/virtual-service/echo`, as Istio writes `istio.config` metadata. */
export function parseConfigPath(path: string): ConfigRef | undefined {
  const m = /^\/apis\/[^/]*\/[^/]+\/namespaces\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
  if (!m) return undefined;
  const kind = m[2]!.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
  return { kind, namespace: m[1]!, name: m[3]! };
}

function istioConfigRef(md: { filterMetadata: { [k: string]: JsonObject } } | undefined): ConfigRef | undefined {
  const c = md?.filterMetadata?.istio?.config;
  return typeof c === 'string' ? parseConfigPath(c) : undefined;
}

/** The service a host names, as this proxy's DNS search path would resolve it. */
function lookupService(push: PushContext, proxy: Proxy, host: string): Service | undefined {
  const h = host.replace(/\.$/, '');
  const candidates = [h, resolveShortname(h, proxy.namespace, push.domainSuffix)];
  const parts = h.split('.');
  if (parts.length === 2) candidates.push(`${h}.svc.${push.domainSuffix}`);
  if (parts.length === 3 && parts[2] === 'svc') candidates.push(`${h}.${push.domainSuffix}`);
  for (const c of candidates) {
    const svc = push.serviceForHostname(proxy, c);
    if (svc) return svc;
  }
  return undefined;
}

function parseRequest(push: PushContext, proxy: Proxy, req: TraceRequest, notes: string[]): { call: Call; report: TraceReport['request'] } {
  let url: URL;
  const raw = /^[a-z][a-z0-9+.-]*:\/\//i.test(req.url) ? req.url : `http://${req.url}`;
  try {
    url = new URL(raw);
  } catch {
    throw new TraceInputError(`invalid URL ${JSON.stringify(req.url)}: expected http://host[:port]/path (or https://, grpc://, tcp://, tls://)`);
  }
  const scheme = url.protocol.replace(/:$/, '').toLowerCase();
  if (!['http', 'https', 'grpc', 'grpcs', 'tcp', 'tls'].includes(scheme)) throw new TraceInputError(`unsupported scheme ${JSON.stringify(scheme)}: use http, https, grpc, grpcs, tcp or tls`);
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[scheme];
  if (!port) throw new TraceInputError(`${scheme}:// needs a port: ${req.url}`);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let protocol: CallProtocol = scheme === 'tcp' || scheme === 'tls' ? 'tcp' : scheme.startsWith('grpc') ? 'http2' : 'http';
  if (req.protocol) protocol = req.protocol;
  const tls: TlsMode = req.tls ?? (scheme === 'https' || scheme === 'grpcs' || scheme === 'tls' ? 'tls' : 'plaintext');
  const headers: Record<string, string> = {};
  for (const [k, v] of req.headers ?? []) {
    const key = k.trim().toLowerCase();
    headers[key] = headers[key] !== undefined ? `${headers[key]},${v.trim()}` : v.trim();
  }
  if (protocol !== 'tcp' && scheme.startsWith('grpc') && !headers['content-type']) headers['content-type'] = 'application/grpc';
  const defaultPort = DEFAULT_PORTS[scheme];
  const hostHeader = headers.host ?? headers[':authority'] ?? (port === defaultPort ? url.host.replace(/:\d+$/, '') : url.host);
  delete headers.host;
  delete headers[':authority'];
  // The path as written (URL parsing would resolve `..` and `%2e`): normalizing is the proxy's job.
  const written = raw.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '').replace(/#.*$/, '');
  const path = protocol === 'tcp' ? '/' : written.startsWith('/') ? written : `/${written}`;
  const method = (req.method ?? 'GET').toUpperCase();

  let address = req.address;
  let addressFrom = address ? '--address' : '';
  let targetPort = port;
  if (req.inbound) {
    // The workload receives on the target port of the service port the client called.
    const svc = parseIp(hostname) ? undefined : lookupService(push, proxy, hostname);
    const sp = svc?.ports.find((p) => p.port === port);
    const ips = new Set(proxy.ipAddresses);
    const mine = sp ? push.endpoints(svc!).filter((e) => ips.has(e.address) && e.servicePortName === sp.name) : [];
    // Pods may share an IP (host network, the example mesh): prefer this proxy's own workload.
    const ep = mine.find((e) => e.workload && `${e.workload.name}.${e.workload.namespace}` === proxy.workloadName) ?? mine[0];
    if (ep && ep.endpointPort !== port) {
      targetPort = ep.endpointPort;
      notes.push(`inbound: service port ${port} of ${svc!.hostname} is target port ${targetPort} on this workload`);
    }
  }
  if (!address && req.inbound) {
    address = proxy.ipAddresses[0];
    addressFrom = address ? "the proxy's own IP, inbound" : '';
  }
  if (!address && parseIp(hostname)) {
    address = hostname;
    addressFrom = 'the URL (IP literal)';
  }
  if (!address) {
    const svc = lookupService(push, proxy, hostname);
    const vips = svc ? serviceAddressesForProxy(svc, proxy) : [];
    if (svc && vips.length) {
      address = vips[0]!;
      addressFrom = `${svc.addresses.length ? 'VIP' : 'auto-allocated address'} of ${svc.origin.kind} ${svc.origin.namespace}/${svc.origin.name}, ${svc.hostname}`;
    } else if (svc) {
      const ep = push.endpoints(svc).find((e) => parseIp(e.address));
      if (ep) {
        address = ep.address;
        addressFrom = `first endpoint of ${svc.origin.kind} ${svc.origin.namespace}/${svc.origin.name}: ${svc.hostname} has no VIP`;
      }
    }
  }
  if (!address) {
    notes.push(`${hostname} does not resolve to a service address in the mesh; the destination address is unknown (pass --address to set it)`);
    address = '1.3.3.7';
    addressFrom = 'unresolved: a placeholder';
  }
  let sni = req.sni;
  if (sni === undefined && tls === 'tls') sni = hostname;
  if (sni === undefined && tls === 'mtls') {
    // A client sidecar's SNI for Istio mTLS names the destination cluster.
    const svc = parseIp(hostname) ? undefined : lookupService(push, proxy, hostname);
    if (svc) sni = `outbound_.${port}_._.${svc.hostname}`;
  }
  const call: Call = {
    address,
    port: targetPort,
    protocol,
    tls,
    sni: tls === 'plaintext' ? req.sni : sni,
    alpn: req.alpn,
    hostHeader: protocol === 'tcp' ? undefined : hostHeader,
    path,
    method,
    headers,
    callMode: req.inbound ? 'inbound' : 'outbound',
    sourcePrincipal: req.principal,
    sourceAddress: req.sourceAddress,
    jwtClaims: req.jwtClaims,
  };
  return {
    call,
    report: {
      url: req.url,
      method,
      host: hostHeader,
      path,
      address,
      port: targetPort,
      protocol,
      tls,
      ...(call.sni ? { sni: call.sni } : {}),
      ...(req.alpn ? { alpn: req.alpn } : {}),
      direction: req.inbound ? 'inbound' : 'outbound',
      addressFrom,
      headers,
      ...(req.principal || req.sourceAddress || req.jwtClaims ? { caller: { principal: req.principal, address: req.sourceAddress, jwtClaims: req.jwtClaims } } : {}),
    },
  };
}

/** Services the proxy itself serves on an endpoint port (what `inbound|PORT||` stands for). */
function ownServices(push: PushContext, proxy: Proxy, endpointPort: number): Service[] {
  const ips = new Set(proxy.ipAddresses);
  return push.registry.services.filter((svc) => push.endpoints(svc).some((ep) => ips.has(ep.address) && ep.endpointPort === endpointPort));
}

function clusterResources(push: PushContext, proxy: Proxy, c: Cluster | undefined, name: string): ConfigRef[] {
  const refs: ConfigRef[] = [];
  const fromMeta = istioConfigRef(c?.metadata);
  const key = parseSubsetKey(name);
  if (key?.direction === 'outbound') {
    const svc = push.serviceForHostname(proxy, key.host);
    if (svc) refs.push(ref(svc.origin, `${svc.hostname} port ${key.port}`));
    const dr = fromMeta ?? (svc ? push.destinationRuleFor(proxy, svc) : undefined);
    const role = key.subset ? `subset ${key.subset}` : 'traffic policy';
    // A merged rule names every DestinationRule it was made of.
    if (dr && 'resource' in dr) for (const f of dr.from) refs.push(ref({ kind: 'DestinationRule', namespace: f.namespace, name: f.name }, role));
    else if (dr) refs.push({ ...dr, role });
  } else if (key?.direction === 'inbound') {
    for (const svc of ownServices(push, proxy, key.port)) refs.push(ref(svc.origin, `${svc.hostname}, served by this proxy`));
  } else if (fromMeta) refs.push(fromMeta);
  return dedupe(refs);
}

function endpointList(cla: ClusterLoadAssignment | undefined, known: IstioEndpoint[]): TraceEndpoint[] {
  const out: TraceEndpoint[] = [];
  for (const loc of cla?.endpoints ?? []) {
    const locality = [loc.locality?.region, loc.locality?.zone, loc.locality?.subZone].filter(Boolean).join('/');
    for (const lb of loc.lbEndpoints) {
      if (lb.hostIdentifier.case !== 'endpoint') continue;
      const a = lb.hostIdentifier.value.address?.address;
      const ep: TraceEndpoint = { address: '', health: HealthStatus[lb.healthStatus] ?? String(lb.healthStatus) };
      if (a?.case === 'socketAddress') {
        ep.address = a.value.address;
        if (a.value.portSpecifier.case === 'portValue') ep.port = a.value.portSpecifier.value;
      } else if (a?.case === 'pipe') ep.address = a.value.path;
      if (lb.loadBalancingWeight !== undefined) ep.weight = lb.loadBalancingWeight;
      if (locality) ep.locality = locality;
      const w = known.find((k) => k.address === ep.address && k.endpointPort === ep.port && k.workload);
      if (w?.workload) ep.workload = ref(w.workload);
      out.push(ep);
    }
  }
  return out;
}

function describeCluster(push: PushContext, proxy: Proxy, config: SimulationConfig, name: string, weight?: number): TraceCluster {
  const c = config.clusters.find((x) => x.name === name);
  const out: TraceCluster = { name, type: 'NOT GENERATED', resources: clusterResources(push, proxy, c, name), endpoints: null, endpointSource: 'the cluster was not generated (CDS has no such cluster)' };
  if (weight !== undefined) out.weight = weight;
  if (!c) return out;
  const type = c.clusterDiscoveryType.case === 'type' ? c.clusterDiscoveryType.value : undefined;
  const custom = c.clusterDiscoveryType.case === 'clusterType' ? c.clusterDiscoveryType.value.name : undefined;
  out.type = type !== undefined ? (Cluster_DiscoveryType[type] ?? String(type)) : (custom ?? c.clusterDiscoveryType.case ?? 'STATIC');
  if (custom === 'envoy.clusters.dynamic_forward_proxy') {
    out.endpointSource = 'resolved per request from the Host header (dynamic forward proxy)';
    return out;
  }
  const known = clusterEndpoints(push, proxy, name).endpoints;
  if (type === Cluster_DiscoveryType.EDS) {
    const edsName = c.edsClusterConfig?.serviceName || c.name;
    const cla = config.endpoints?.get(edsName);
    out.endpoints = cla ? endpointList(cla, known) : [];
    out.endpointSource = cla ? `EDS ${edsName}` : `EDS ${edsName} (not generated)`;
  } else if (type === Cluster_DiscoveryType.ORIGINAL_DST) {
    out.endpointSource = name === PASSTHROUGH_CLUSTER || name === INBOUND_PASSTHROUGH_CLUSTER ? 'original destination (passthrough)' : 'original destination';
  } else if (c.loadAssignment) {
    out.endpoints = endpointList(c.loadAssignment, known);
    out.endpointSource = type === Cluster_DiscoveryType.STRICT_DNS || type === Cluster_DiscoveryType.LOGICAL_DNS ? `DNS (${out.type})` : 'inline load_assignment';
  } else {
    out.endpoints = [];
    out.endpointSource = name === BLACKHOLE_CLUSTER ? 'none: traffic is dropped' : 'none';
  }
  return out;
}

function vhostService(push: PushContext, proxy: Proxy, vhostName: string): Service | undefined {
  const colon = vhostName.lastIndexOf(':');
  const host = colon > 0 ? vhostName.slice(0, colon) : vhostName;
  return push.serviceForHostname(proxy, host.replace(/^\[(.*)\]$/, '$1'));
}

/** The VirtualService bound to the mesh whose hosts cover `host`, as the proxy sees them. */
function virtualServiceForHost(push: PushContext, proxy: Proxy, host: string, svc: Service | undefined) {
  if (svc) return push.virtualServiceFor(proxy.namespace, svc);
  return push.virtualServices.find((vs) => vs.gateways.includes('mesh') && (vs.exportTo.has('*') || vs.exportTo.has(proxy.namespace)) && vs.hosts.includes(host));
}

/** An Istio resource of the push by kind and name (derived ones included). */
function derivedConfigResource(push: PushContext, kind: string, namespace: string, name: string): Resource | undefined {
  const match = (r: Resource) => r.meta.namespace === namespace && r.meta.name === name;
  if (kind === 'VirtualService') return push.virtualServices.find((v) => match(v.resource))?.resource;
  if (kind === 'DestinationRule') return push.destinationRules.find((d) => match(d.resource))?.resource;
  if (kind === 'Gateway') return push.gateways.find(match);
  return undefined;
}

const BUILTIN_ROUTES = new Set(['default', 'allow_any', 'block_all', ALLOW_ANY_DYNAMIC_DNS]);

function attribute(push: PushContext, proxy: Proxy, run: SimulationRun, config: SimulationConfig): TraceStep[] {
  const steps: TraceStep[] = run.steps.map((s) => ({ ...s, resources: [] }));
  const m = run.matched;
  const vhSvc = run.virtualHost ? vhostService(push, proxy, run.virtualHost) : undefined;
  const vhHost = run.virtualHost.replace(/:\d+$/, '');
  for (const s of steps) {
    switch (s.step) {
      case 'listener': {
        const bind = /^(.+)_(\d+)$/.exec(s.name);
        if (bind && bind[1] !== '0.0.0.0') {
          const port = Number(bind[2]);
          for (const svc of push.servicesVisibleTo(proxy.namespace)) {
            if (serviceAddressesForProxy(svc, proxy).includes(bind[1]!) && svc.ports.some((p) => p.port === port)) s.resources.push(ref(svc.origin, `${svc.hostname} (VIP ${bind[1]})`));
          }
        }
        break;
      }
      case 'filter chain': {
        // A tcp/tls chain routed by a VirtualService: the VirtualService's tcp/tls route made it.
        if (m.tcpProxy) {
          const clusters = m.tcpProxy.clusterSpecifier.case === 'cluster' ? [m.tcpProxy.clusterSpecifier.value] : m.tcpProxy.clusterSpecifier.case === 'weightedClusters' ? m.tcpProxy.clusterSpecifier.value.clusters.map((c) => c.name) : [];
          for (const cl of clusters) {
            const key = parseSubsetKey(cl);
            const svc = key?.direction === 'outbound' ? push.serviceForHostname(proxy, key.host) : undefined;
            const vs = svc ? push.virtualServiceFor(proxy.namespace, svc) : undefined;
            if (vs && (vs.resource.spec.tcp?.length || vs.resource.spec.tls?.length)) s.resources.push(ref({ kind: 'VirtualService', namespace: vs.namespace, name: vs.resource.meta.name }, 'tcp/tls route'));
          }
        }
        break;
      }
      case 'virtual host': {
        if (vhSvc) s.resources.push(ref(vhSvc.origin, vhSvc.hostname));
        const vs = virtualServiceForHost(push, proxy, vhHost, vhSvc);
        if (vs) s.resources.push(ref({ kind: 'VirtualService', namespace: vs.namespace, name: vs.resource.meta.name }, 'hosts'));
        break;
      }
      case 'route': {
        const fromMeta = istioConfigRef(m.route?.metadata);
        if (fromMeta) s.resources.push({ ...fromMeta, role: `http route ${JSON.stringify(s.name)}` });
        else if (!BUILTIN_ROUTES.has(s.name) || (s.name === 'default' && !vhSvc)) {
          const vs = virtualServiceForHost(push, proxy, vhHost, vhSvc);
          if (vs) s.resources.push(ref({ kind: 'VirtualService', namespace: vs.namespace, name: vs.resource.meta.name }, `http route ${JSON.stringify(s.name)}`));
        } else if (s.name === 'default' && vhSvc) {
          s.detail += ' (no VirtualService: the default route to the service)';
        } else if (s.name === 'allow_any') {
          s.detail += ' (unknown host: outboundTrafficPolicy ALLOW_ANY passes it through)';
        } else if (s.name === ALLOW_ANY_DYNAMIC_DNS) {
          s.detail += ' (unknown host: outboundTrafficPolicy ALLOW_ANY_DYNAMIC_DNS resolves it by its Host header)';
        } else if (s.name === 'block_all') {
          s.detail += ' (unknown host: outboundTrafficPolicy REGISTRY_ONLY blocks it)';
        }
        break;
      }
      case 'cluster':
        s.resources.push(...clusterResources(push, proxy, config.clusters.find((c) => c.name === s.name), s.name));
        break;
      case 'authorization':
        // Istio names RBAC policies after the AuthorizationPolicy rule they come from.
        for (const p of s.policies ?? []) {
          const from = parsePolicyName(p);
          if (from) s.resources.push(ref({ kind: 'AuthorizationPolicy', namespace: from.namespace, name: from.name }, `rule ${from.rule}`));
        }
        break;
      default:
    }
    s.resources = dedupe(withConversionOrigins(s.resources, (kind, ns, name) => derivedConfigResource(push, kind, ns, name)));
  }
  return steps;
}

/** Traces `req` from (or, inbound, into) `proxy` through the config `generators` produce for it. */
export function traceRequest(push: PushContext, proxy: Proxy, req: TraceRequest, generators: GeneratorSet = generatorsForProxy(proxy)): TraceReport {
  const notes: string[] = [];
  const { call, report } = parseRequest(push, proxy, req, notes);
  const config = generateSimulationConfig(push, proxy, generators);
  const run = new Simulation(config, { fidelity: 'envoy' }).run(call);
  notes.push(...run.notes);
  const steps = attribute(push, proxy, run, config);
  const clusterNames: { name: string; weight?: number }[] = run.cluster ? [{ name: run.cluster }] : (run.weightedClusters ?? []);
  return {
    proxy: { id: proxy.id, type: proxy.type, namespace: proxy.namespace, ipAddresses: proxy.ipAddresses, labels: proxy.labels, workload: proxy.workloadName },
    request: report,
    result: {
      error: run.error,
      listener: run.listener,
      filterChain: run.filterChain,
      routeConfig: run.routeConfig,
      virtualHost: run.virtualHost,
      route: run.route,
      cluster: run.cluster,
      ...(run.routeAction ? { action: run.routeAction } : {}),
    },
    steps,
    clusters: clusterNames.map((c) => describeCluster(push, proxy, config, c.name, c.weight)),
    notes,
  };
}
