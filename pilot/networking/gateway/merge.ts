// Which Gateways apply to a router proxy, and their servers merged into one logical gateway, as
// Istio's PushContext.mergeGateways / model.mergeGateways (pilot/pkg/model/gateway.go) do:
// servers grouped by (port, protocol, bind), plaintext HTTP servers merged into `http.<port>`,
// TLS servers told apart by SNI (duplicate hosts rejected), conflicting protocols rejected, and
// Service ports translated to the target ports the gateway workload really listens on.
import type { Resource } from '../../config/resource.js';
import type * as net from '../../config/schema/networking.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { isHttpProtocol, parseProtocol, type Service } from '../../model/service.js';
import {
  GATEWAY_SERVICE_ANNOTATION,
  type GatewayServerSpec,
  PARENT_NAMESPACE_ANNOTATION,
  gatewayRouteName,
  gatewaysOf,
  isHttpServer,
  isTlsServer,
  sanitizeServerHosts,
  sniHostsForServer,
} from './config.js';

/** ServiceEntry / Service label that opts a service out of gateway port translation (Knative's workaround). */
export const DISABLE_PORT_TRANSLATION_LABEL = 'experimental.istio.io/disable-gateway-port-translation';

/** One server of one Gateway, hosts sanitized; identity matters (it keys the maps below). */
export interface GatewayServer {
  server: GatewayServerSpec;
  /** `namespace/name` of the owning Gateway. */
  gatewayName: string;
  gateway: Resource<net.Gateway>;
}

/** A listening port: the (translated) number, the server's protocol as written, and its bind address. */
export interface ServerPort {
  number: number;
  protocol: string;
  bind: string;
}

export interface MergedServers {
  servers: GatewayServer[];
  /** RDS name of plaintext HTTP servers; HTTPS servers keep theirs in `tlsServerInfo`. */
  routeName: string;
}

export interface TlsServerInfo {
  routeName: string;
  sniHosts: string[];
}

export interface MergedGateway {
  /** Unique server ports in the order they were first seen (listener order). */
  serverPorts: ServerPort[];
  mergedServers: Map<string, MergedServers>;
  serversByRouteName: Map<string, GatewayServer[]>;
  tlsServerInfo: Map<GatewayServer, TlsServerInfo>;
  gatewayNames: Set<string>;
  containsAutoPassthrough: boolean;
  autoPassthroughSniHosts: Set<string>;
  /** Servers dropped while merging, with why (Istio logs these and counts pilot_total_rejected_configs). */
  rejected: { gatewayName: string; server: string; reason: string }[];
}

export function serverPortKey(p: ServerPort): string {
  return `${p.number}|${p.protocol}|${p.bind}`;
}

/** A service port the gateway workload serves, with the port its endpoint listens on. */
export interface ServiceTarget {
  service: Service;
  port: number;
  targetPort: number;
}

/**
 * The namespace of the gateway workload itself. Istio keeps it apart from the config namespace
 * (node metadata NAMESPACE); the simulation harness passes it as POD_NAMESPACE when they differ.
 */
export function workloadNamespace(proxy: Proxy): string {
  const pod = proxy.metadata.POD_NAMESPACE;
  return typeof pod === 'string' && pod ? pod : proxy.namespace;
}

function creationTime(svc: Service): number {
  const t = svc.creationTimestamp ? Date.parse(svc.creationTimestamp) : 0;
  return Number.isNaN(t) ? 0 : t;
}

/**
 * The service ports whose endpoints are this proxy (Istio's `proxy.ServiceTargets`): endpoints at
 * one of its IPs, of services in the workload's namespace, oldest service first, then by hostname.
 */
export function proxyServiceTargets(push: PushContext, proxy: Proxy): ServiceTarget[] {
  const ips = new Set(proxy.ipAddresses);
  if (ips.size === 0) return [];
  const ns = workloadNamespace(proxy);
  const out: ServiceTarget[] = [];
  for (const service of push.registry.services) {
    if (service.namespace !== ns) continue;
    for (const ep of push.endpoints(service)) {
      if (!ips.has(ep.address)) continue;
      const port = service.ports.find((p) => p.name === ep.servicePortName);
      if (port) out.push({ service, port: port.port, targetPort: ep.endpointPort });
    }
  }
  return out
    .map((t, i) => ({ t, i }))
    .sort((a, b) => creationTime(a.t.service) - creationTime(b.t.service) || (a.t.service.hostname < b.t.service.hostname ? -1 : a.t.service.hostname > b.t.service.hostname ? 1 : a.i - b.i))
    .map((x) => x.t);
}

interface SelectedGateway {
  gateway: Resource<net.Gateway>;
  /** Selected by labels (or no selector): ports with no matching target are used as they are. */
  legacySelector: boolean;
  targets: ServiceTarget[];
}

/**
 * The Gateways that apply to the proxy, in any namespace (PILOT_SCOPE_GATEWAY_TO_NAMESPACE=false):
 * by the `internal.istio.io/gateway-service` hostnames (instances in the Gateway's namespace),
 * else by selector labels, else (no selector) always.
 */
export function selectGateways(push: PushContext, proxy: Proxy, targets: ServiceTarget[] = proxyServiceTargets(push, proxy)): SelectedGateway[] {
  const out: SelectedGateway[] = [];
  for (const gw of gatewaysOf(push)) {
    const services = gw.meta.annotations[GATEWAY_SERVICE_ANNOTATION];
    if (services !== undefined) {
      const known = new Set(services.split(','));
      const ns = gw.meta.annotations[PARENT_NAMESPACE_ANNOTATION] || gw.meta.namespace;
      const matching = targets.filter((t) => known.has(t.service.hostname) && t.service.namespace === ns);
      if (matching.length) out.push({ gateway: gw, legacySelector: false, targets: matching });
      continue;
    }
    const selector = gw.spec.selector;
    if (!selector || Object.entries(selector).every(([k, v]) => proxy.labels[k] === v)) {
      out.push({ gateway: gw, legacySelector: true, targets });
    }
  }
  return out;
}

/**
 * Istio's `resolvePorts`: the ports a server port is listened on. With label selection the first
 * target whose service port matches gives its target port (services labelled to disable port
 * translation are skipped), else the port as is; with a gateway-service reference, every matching
 * target port, and nothing when none matches.
 */
export function resolvePorts(number: number, targets: readonly ServiceTarget[], legacySelector: boolean): number[] {
  const ports: number[] = [];
  for (const t of targets) {
    if (legacySelector && DISABLE_PORT_TRANSLATION_LABEL in t.service.labels) continue;
    if (t.port !== number) continue;
    if (legacySelector) return [t.targetPort];
    if (!ports.includes(t.targetPort)) ports.push(t.targetPort);
  }
  if (ports.length === 0 && legacySelector) return [number];
  return ports;
}

/** `current` (the new server's protocol) can join `existing` on one port only if both are HTTP. */
function canMergeProtocols(current: string, existing: string): boolean {
  const c = parseProtocol(current);
  const e = parseProtocol(existing);
  return (isHttpProtocol(c) || c === e) && isHttpProtocol(e);
}

function describeServer(s: net.Server, port: number): string {
  return `${s.port?.name ?? ''}.${port}.${s.port?.protocol ?? ''}`;
}

/** Istio's `CheckDuplicates`: hosts already taken on this bind; records the hosts when there are none. */
export function checkDuplicateHosts(hosts: readonly string[], bind: string, known: Map<string, string>): string[] {
  const dups = hosts.filter((h) => known.has(h) && known.get(h) === bind);
  if (dups.length === 0) for (const h of hosts) known.set(h, bind);
  return dups;
}

export function mergeGateways(selected: readonly SelectedGateway[]): MergedGateway {
  const merged: MergedGateway = {
    serverPorts: [],
    mergedServers: new Map(),
    serversByRouteName: new Map(),
    tlsServerInfo: new Map(),
    gatewayNames: new Set(),
    containsAutoPassthrough: false,
    autoPassthroughSniHosts: new Set(),
    rejected: [],
  };
  const gatewayPorts = new Set<number>();
  const plainTextServers = new Map<number, ServerPort>();
  const nonPlainTextBinds = new Map<number, Set<string>>();
  const tlsHostsByPort = new Map<number, Map<string, string>>();

  const addServerPort = (sp: ServerPort, ms: MergedServers) => {
    merged.mergedServers.set(serverPortKey(sp), ms);
    merged.serverPorts.push(sp);
  };
  const addPlainText = (gs: GatewayServer, sp: ServerPort, routeName: string) => {
    if (!isTlsServer(gs.server)) plainTextServers.set(sp.number, sp);
    if (isHttpServer(gs.server)) merged.serversByRouteName.set(routeName, [gs]);
    addServerPort(sp, { servers: [gs], routeName });
  };

  for (const { gateway, legacySelector, targets } of selected) {
    const gatewayName = `${gateway.meta.namespace}/${gateway.meta.name}`;
    for (const raw of gateway.spec.servers ?? []) {
      if (!raw.port) continue;
      const gs: GatewayServer = { server: sanitizeServerHosts(raw, gateway.meta.namespace), gatewayName, gateway };
      const s = gs.server;
      merged.gatewayNames.add(gatewayName);
      const reject = (port: number, reason: string) => merged.rejected.push({ gatewayName, server: describeServer(s, port), reason });

      for (const port of resolvePorts(s.port!.number ?? 0, targets, legacySelector)) {
        const routeName = gatewayRouteName(s, port, gateway.meta);
        const bind = s.bind ?? '';
        if (s.tls) {
          let known = tlsHostsByPort.get(port);
          if (!known) tlsHostsByPort.set(port, (known = new Map()));
          const dups = checkDuplicateHosts(s.hosts, bind, known);
          if (dups.length) {
            reject(port, `duplicate host names: ${dups.join(', ')}`);
            continue;
          }
          merged.tlsServerInfo.set(gs, { sniHosts: sniHostsForServer(s), routeName });
          if (s.tls.mode === 'AUTO_PASSTHROUGH') merged.containsAutoPassthrough = true;
        }
        const sp: ServerPort = { number: port, protocol: s.port!.protocol ?? '', bind };
        if (!gatewayPorts.has(port)) {
          gatewayPorts.add(port);
          addPlainText(gs, sp, routeName);
          continue;
        }
        // A second server on this port: plaintext HTTP servers merge, TLS servers are told apart by SNI.
        const current = plainTextServers.get(port);
        if (current) {
          if (!canMergeProtocols(sp.protocol, current.protocol) && current.bind === sp.bind) {
            reject(port, `conflict with existing server ${current.number}.${current.protocol}`);
            continue;
          }
          if (routeName === '' && current.bind === sp.bind) {
            reject(port, 'could not build RDS name from server');
            continue;
          }
          if (current.bind !== sp.bind) {
            const ms = merged.mergedServers.get(serverPortKey(sp));
            if (!ms) addPlainText(gs, sp, routeName);
            else {
              ms.routeName = routeName;
              ms.servers.push(gs);
              merged.serversByRouteName.set(routeName, [...(merged.serversByRouteName.get(routeName) ?? []), gs]);
            }
          } else {
            merged.mergedServers.get(serverPortKey(current))!.servers.push(gs);
            merged.serversByRouteName.set(routeName, [...(merged.serversByRouteName.get(routeName) ?? []), gs]);
          }
          continue;
        }
        if (!isTlsServer(s)) {
          plainTextServers.set(port, sp);
          if (isHttpServer(s)) merged.serversByRouteName.set(routeName, [gs]);
          addServerPort(sp, { servers: [gs], routeName });
          continue;
        }
        if (isHttpServer(s)) {
          if (routeName === '') {
            reject(port, 'could not build RDS name from server');
            continue;
          }
          if (merged.serversByRouteName.has(routeName)) {
            reject(port, 'non unique port name for HTTPS port');
            continue;
          }
          merged.serversByRouteName.set(routeName, [gs]);
        }
        let binds = nonPlainTextBinds.get(port);
        let newBind = false;
        if (!binds) nonPlainTextBinds.set(port, (binds = new Set()));
        if (!binds.has(bind)) {
          binds.add(bind);
          newBind = true;
        }
        if (!s.tls && !newBind) {
          reject(port, 'TLS server without TLS options');
          continue;
        }
        const ms = merged.mergedServers.get(serverPortKey(sp));
        if (ms) ms.servers.push(gs);
        else addServerPort(sp, { servers: [gs], routeName: '' });
      }
    }
  }
  if (merged.containsAutoPassthrough) {
    for (const ms of merged.mergedServers.values()) {
      for (const gs of ms.servers) if (gs.server.tls?.mode === 'AUTO_PASSTHROUGH') for (const h of gs.server.hosts) merged.autoPassthroughSniHosts.add(h);
    }
  }
  return merged;
}

const cache = new WeakMap<PushContext, WeakMap<Proxy, MergedGateway | null>>();

/** The merged gateway of a router proxy for this push (undefined when no Gateway applies), computed once. */
export function mergedGatewayFor(push: PushContext, proxy: Proxy): MergedGateway | undefined {
  let perProxy = cache.get(push);
  if (!perProxy) cache.set(push, (perProxy = new WeakMap()));
  let m = perProxy.get(proxy);
  if (m === undefined) {
    const selected = selectGateways(push, proxy);
    m = selected.length ? mergeGateways(selected) : null;
    perProxy.set(proxy, m);
  }
  return m ?? undefined;
}
