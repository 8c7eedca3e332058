// DestinationRule: host, subsets, traffic policies (connection pool, load balancer with locality
// and zone-aware settings, outlier detection, client TLS, tunnel, proxy protocol), exportTo, selector.
import type { ObjectMeta } from '../resource.js';
import type * as net from '../schema/networking.js';
import { isIPAddress } from '../schema/formats.js';
import {
  isDNS1123Label, validateDuration, validateExportTo, validateFQDN, validateLabels, validatePercent, validatePort,
  validateWildcardDomain, validateWorkloadSelector,
} from './common.js';
import type { Report } from './report.js';

const TOPOLOGY_LABELS = new Set(['topology.kubernetes.io/region', 'topology.kubernetes.io/zone', 'topology.istio.io/subzone']);

export function validateConnectionPool(r: Report, cp: net.ConnectionPoolSettings | undefined): void {
  if (!cp) return;
  if (!cp.http && !cp.tcp) return r.error('connection pool must have at least one field');
  const http = cp.http;
  if (http) {
    const h = r.at('http');
    if ((http.http1MaxPendingRequests ?? 0) < 0) h.error('http1 max pending requests must be non-negative', 'http1MaxPendingRequests');
    if ((http.http2MaxRequests ?? 0) < 0) h.error('http2 max requests must be non-negative', 'http2MaxRequests');
    if ((http.maxRequestsPerConnection ?? 0) < 0) h.error('max requests per connection must be non-negative', 'maxRequestsPerConnection');
    if ((http.maxRetries ?? 0) < 0) h.error('max retries must be non-negative', 'maxRetries');
    if (http.idleTimeout) h.check(validateDuration(http.idleTimeout), 'idleTimeout');
    if (http.h2UpgradePolicy === 'UPGRADE' && http.useClientProtocol) h.error('use client protocol must not be true when H2UpgradePolicy is UPGRADE');
    if ((http.maxConcurrentStreams ?? 0) < 0) h.error('max concurrent streams must be non-negative', 'maxConcurrentStreams');
    const ka = http.http2KeepAlive;
    if (ka) {
      if (!ka.interval) h.error('http2 keepalive interval is required', 'http2KeepAlive', 'interval');
      else h.check(validateDuration(ka.interval), 'http2KeepAlive', 'interval');
      if (!ka.timeout) h.error('http2 keepalive timeout is required', 'http2KeepAlive', 'timeout');
      else h.check(validateDuration(ka.timeout), 'http2KeepAlive', 'timeout');
    }
  }
  const tcp = cp.tcp;
  if (tcp) {
    const t = r.at('tcp');
    if ((tcp.maxConnections ?? 0) < 0) t.error('max connections must be non-negative', 'maxConnections');
    if (tcp.connectTimeout) t.check(validateDuration(tcp.connectTimeout), 'connectTimeout');
    if (tcp.maxConnectionDuration) t.check(validateDuration(tcp.maxConnectionDuration), 'maxConnectionDuration');
    // 0s disables the idle timeout.
    if (tcp.idleTimeout && Math.floor(tcp.idleTimeout.seconds * 1000) !== 0) t.check(validateDuration(tcp.idleTimeout), 'idleTimeout');
    if (tcp.tcpKeepalive?.time) t.check(validateDuration(tcp.tcpKeepalive.time), 'tcpKeepalive', 'time');
    if (tcp.tcpKeepalive?.interval) t.check(validateDuration(tcp.tcpKeepalive.interval), 'tcpKeepalive', 'interval');
  }
}

export function validateOutlierDetection(r: Report, od: net.OutlierDetection | undefined): void {
  if (!od) return;
  if (od.baseEjectionTime) r.check(validateDuration(od.baseEjectionTime), 'baseEjectionTime');
  if (od.consecutiveErrors) {
    r.warn('outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead', 'consecutiveErrors');
  }
  if (!od.splitExternalLocalOriginErrors && (od.consecutiveLocalOriginFailures ?? 0) > 0) {
    r.error('outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false', 'consecutiveLocalOriginFailures');
  }
  if (od.interval) r.check(validateDuration(od.interval), 'interval');
  r.check(validatePercent(od.maxEjectionPercent), 'maxEjectionPercent');
  r.check(validatePercent(od.minHealthPercent), 'minHealthPercent');
}

/** Envoy's primality test for Maglev table sizes. */
function isPrime(x: number): boolean {
  if (x !== 0 && x < 4) return true;
  if (x % 2 === 0) return false;
  const limit = Math.floor(Math.sqrt(x));
  for (let f = 3; f <= limit; f += 2) if (x % f === 0) return false;
  return true;
}

function localityParts(locality: string): string[] | undefined {
  const first = locality.indexOf('/');
  const parts = first < 0 ? [locality] : [locality.slice(0, first), ...(() => {
    const rest = locality.slice(first + 1);
    const second = rest.indexOf('/');
    return second < 0 ? [rest] : [rest.slice(0, second), rest.slice(second + 1)];
  })()];
  return parts.some((p) => p === '') ? undefined : parts;
}

function validateLocalities(localities: string[]): string | undefined {
  const tree = new Map<string, Map<string, Set<string>>>();
  for (const loc of localities) {
    const stars = loc.split('*').length - 1;
    if (stars > 0 && (stars > 1 || !loc.endsWith('*'))) return `locality ${loc} wildcard '*' number can not exceed 1 and must be in the end`;
    const overlap = `locality ${loc} overlap with previous specified ones`;
    if (tree.has('*')) return overlap;
    const parts = localityParts(loc);
    if (!parts) return `locality ${loc} must not contain empty region/zone/subzone info`;
    const [region, zone, subzone] = parts as [string, string?, string?];
    const zones = tree.get(region);
    if (parts.length === 1) {
      if (zones) return overlap;
      tree.set(region, new Map([['*', new Set(['*'])]]));
    } else if (parts.length === 2) {
      if (zones) {
        if (zones.has('*') || zones.has(zone!)) return overlap;
        zones.set(zone!, new Set(['*']));
      } else tree.set(region, new Map([[zone!, new Set(['*'])]]));
    } else if (zones) {
      if (zones.has('*')) return overlap;
      const subs = zones.get(zone!);
      if (subs) {
        if (subs.has('*') || subs.has(subzone!)) return overlap;
        subs.add(subzone!);
      } else zones.set(zone!, new Set([subzone!]));
    } else tree.set(region, new Map([[zone!, new Set([subzone!])]]));
  }
  return undefined;
}

export function validateLocalityLbSetting(r: Report, lb: net.LocalityLoadBalancerSetting | undefined, outlier: unknown): void {
  if (!lb) return;
  if (lb.distribute?.length && lb.failover?.length) return r.error("can not simultaneously specify 'distribute' and 'failover'");
  if (lb.failover?.length && lb.failoverPriority?.length) {
    const topo = lb.failoverPriority.find((l) => TOPOLOGY_LABELS.has(l));
    if (topo) return r.error(`can not simultaneously set 'failover' and topology label '${topo}' in 'failover_priority'`);
  }
  const sources: string[] = [];
  for (const d of lb.distribute ?? []) {
    sources.push(d.from ?? '');
    let total = 0;
    for (const w of Object.values(d.to ?? {})) {
      if (w <= 0 || w > 100) return r.error('locality weight must be in range [1, 100]', 'distribute');
      total += w;
    }
    if (total !== 100) return r.error(`total locality weight ${total} != 100`, 'distribute');
    r.check(validateLocalities(Object.keys(d.to ?? {})), 'distribute');
  }
  r.check(validateLocalities(sources), 'distribute');
  if ((lb.failover?.length || lb.failoverPriority?.length) && !outlier) r.warn('outlier detection policy must be provided for failover');
  for (const f of lb.failover ?? []) {
    const from = f.from ?? '';
    const to = f.to ?? '';
    if (from === to) r.error('locality lb failover settings must specify different regions', 'failover');
    if (from.includes('/') || to.includes('/')) r.error('locality lb failover only specify region', 'failover');
    if (from.includes('*') || to.includes('*')) r.error("locality lb failover region should not contain '*' wildcard", 'failover');
  }
}

type ZoneAware = NonNullable<net.LoadBalancerSettings['zoneAwareLbSetting']>;

function validateZoneAwareLbSetting(r: Report, lb: ZoneAware | undefined, outlier: unknown): void {
  if (!lb) return;
  for (const l of lb.failoverPriority ?? []) {
    if (TOPOLOGY_LABELS.has(l)) {
      r.error(`'failover_priority' for zone aware lb must not use topology label '${l}'; region- and zone-level routing are handled automatically`, 'failoverPriority');
    }
  }
  if ((lb.failover?.length || lb.failoverPriority?.length) && !outlier) r.warn('outlier detection policy must be provided for failover');
  for (const f of lb.failover ?? []) {
    const from = f.from ?? '';
    const to = f.to ?? '';
    if (from === to) r.error('zone aware lb failover settings must specify different regions', 'failover');
    if (from.includes('/') || to.includes('/')) r.error('zone aware lb failover only specifies region; zone and subzone failover are handled automatically', 'failover');
    if (from.includes('*') || to.includes('*')) r.error("zone aware lb failover region should not contain '*' wildcard", 'failover');
  }
}

function validateLoadBalancer(r: Report, lb: net.LoadBalancerSettings | undefined, outlier: unknown): void {
  if (!lb) return;
  const ch = lb.consistentHash;
  if (ch) {
    const c = r.at('consistentHash');
    const cookie = ch.httpCookie;
    if (cookie && !cookie.name) c.error('name required for HttpCookie', 'httpCookie', 'name');
    if (cookie?.attributes?.length) {
      const names = new Set<string>();
      for (const a of cookie.attributes) {
        if (!a.name) {
          c.error('cookie attribute name cannot be empty', 'httpCookie', 'attributes');
          continue;
        }
        if (names.has(a.name)) c.error(`duplicate cookie attribute name: ${a.name}`, 'httpCookie', 'attributes');
        else names.add(a.name);
      }
    }
    if (ch.minimumRingSize) {
      c.warn("consistent hash MinimumRingSize is deprecated, use ConsistentHashLB's RingHash configuration instead", 'minimumRingSize');
      if (ch.ringHash || ch.maglev) c.error('only one of MinimumRingSize or Maglev/Ringhash can be specified');
    }
    if (ch.maglev) {
      const size = ch.maglev.tableSize ?? 0;
      if (size === 0) c.error('tableSize must be set for maglev', 'maglev', 'tableSize');
      if (size >= 5000011) c.error('tableSize must be less than 5000011 for maglev', 'maglev', 'tableSize');
      if (!isPrime(size)) c.error('tableSize must be a prime number for maglev', 'maglev', 'tableSize');
    }
  }
  if (lb.localityLbSetting && lb.zoneAwareLbSetting) r.error('only one of localityLbSetting and zoneAwareLbSetting can be set');
  validateLocalityLbSetting(r.at('localityLbSetting'), lb.localityLbSetting, outlier);
  validateZoneAwareLbSetting(r.at('zoneAwareLbSetting'), lb.zoneAwareLbSetting, outlier);
  const warm = lb.warmup;
  if (warm) {
    if (!warm.duration) r.error('duration is required', 'warmup', 'duration');
    else r.check(validateDuration(warm.duration), 'warmup', 'duration');
    if ((warm.minimumPercent ?? 0) > 100) r.error('minimumPercent value should be less than or equal to 100', 'warmup', 'minimumPercent');
    if (warm.aggression !== undefined && warm.aggression <= 0) r.error('aggression should be greater than 0', 'warmup', 'aggression');
  }
}

/** Client TLS of DestinationRules (and the mesh's tracing TLS). */
export function validateClientTLS(r: Report, namespace: string, tls: net.ClientTLSSettings | undefined): void {
  if (!tls) return;
  const cred = tls.credentialName ?? '';
  if (cred.startsWith('configmap://')) {
    const [ns, name] = cred.slice('configmap://'.length).split('/');
    if (name === undefined) r.error(`invalid configmap:// credentialName: invalid resource name ${JSON.stringify(cred)}. Expected namespace and name`, 'credentialName');
    else if (!ns) r.error(`invalid configmap:// credentialName: invalid resource name ${JSON.stringify(cred)}. Expected namespace`, 'credentialName');
    else if (!name) r.error(`invalid configmap:// credentialName: invalid resource name ${JSON.stringify(cred)}. Expected name`, 'credentialName');
    else if (ns !== namespace || namespace === '') {
      r.error(`invalid configmap:// credentialName: namespace must match the configuration namespace ${JSON.stringify(namespace)}`, 'credentialName');
    }
  }
  if (tls.insecureSkipVerify) {
    if (tls.mode === 'SIMPLE' && (tls.caCertificates || cred || tls.subjectAltNames !== undefined)) {
      r.error('cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true');
    }
    if (tls.mode === 'MUTUAL' && (tls.caCertificates || tls.subjectAltNames !== undefined)) {
      r.error('cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true');
    }
  }
  if ((tls.mode === 'SIMPLE' || tls.mode === 'MUTUAL') && cred) {
    if (tls.clientCertificate || tls.caCertificates || tls.privateKey || tls.caCrl) {
      r.error('cannot specify client certificates or CA certificate or CA CRL If credentialName is set');
    }
    return;
  }
  if (tls.mode === 'MUTUAL') {
    if (!tls.clientCertificate) r.error('client certificate required for mutual tls', 'clientCertificate');
    if (!tls.privateKey) r.error('private key required for mutual tls', 'privateKey');
  }
}

function validateTunnel(r: Report, tunnel: net.TrafficPolicy['tunnel']): void {
  if (!tunnel) return;
  if (tunnel.protocol && tunnel.protocol !== 'CONNECT' && tunnel.protocol !== 'POST') r.error('tunnel protocol must be "CONNECT" or "POST"', 'protocol');
  const host = tunnel.targetHost ?? '';
  const fqdnErr = validateFQDN(host);
  if (fqdnErr && !isIPAddress(host)) r.error(`tunnel target host must be valid FQDN or IP address: ${fqdnErr}; ${host} is not a valid IP`, 'targetHost');
  const portErr = validatePort(tunnel.targetPort ?? 0);
  if (portErr) r.error(`tunnel target port is invalid: ${portErr}`, 'targetPort');
}

function validatePortTrafficPolicies(r: Report, namespace: string, policies: net.PortTrafficPolicy[] | undefined): void {
  (policies ?? []).forEach((p, i) => {
    const at = r.at(i);
    if (!p.port) at.error('portTrafficPolicy must have valid port', 'port');
    if (!p.outlierDetection && !p.connectionPool && !p.loadBalancer && !p.tls) {
      at.error('port traffic policy must have at least one field');
      return;
    }
    validateOutlierDetection(at.at('outlierDetection'), p.outlierDetection);
    validateConnectionPool(at.at('connectionPool'), p.connectionPool);
    validateLoadBalancer(at.at('loadBalancer'), p.loadBalancer, p.outlierDetection);
    validateClientTLS(at.at('tls'), namespace, p.tls);
  });
}

export function validateTrafficPolicy(r: Report, namespace: string, policy: net.TrafficPolicy | undefined): void {
  if (!policy) return;
  const p = policy;
  if (!p.outlierDetection && !p.connectionPool && !p.loadBalancer && !p.tls && !p.portLevelSettings?.length && !p.tunnel && !p.proxyProtocol && !p.retryBudget) {
    return r.error('traffic policy must have at least one field');
  }
  if (p.tunnel && p.proxyProtocol) return r.error('tunnel and proxyProtocol must not be set together');
  validateOutlierDetection(r.at('outlierDetection'), p.outlierDetection);
  validateConnectionPool(r.at('connectionPool'), p.connectionPool);
  validateLoadBalancer(r.at('loadBalancer'), p.loadBalancer, p.outlierDetection);
  validateClientTLS(r.at('tls'), namespace, p.tls);
  validatePortTrafficPolicies(r.at('portLevelSettings'), namespace, p.portLevelSettings);
  validateTunnel(r.at('tunnel'), p.tunnel);
}

export function validateSubsetName(name: string | undefined): string | undefined {
  if (!name) return 'subset name cannot be empty';
  return isDNS1123Label(name) ? undefined : `subset name is invalid: ${name}`;
}

export function validateDestinationRule(r: Report, dr: net.DestinationRule, meta: ObjectMeta): void {
  r.check(validateWildcardDomain(dr.host ?? ''), 'host');
  validateTrafficPolicy(r.at('trafficPolicy'), meta.namespace, dr.trafficPolicy);
  const names = new Set<string>();
  (dr.subsets ?? []).forEach((subset, i) => {
    const at = r.at('subsets', i);
    if (names.has(subset.name ?? '')) at.error(`duplicate subset names: ${subset.name ?? ''}`, 'name');
    names.add(subset.name ?? '');
    at.check(validateSubsetName(subset.name), 'name');
    at.check(validateLabels(subset.labels), 'labels');
    validateTrafficPolicy(at.at('trafficPolicy'), meta.namespace, subset.trafficPolicy);
  });
  r.check(validateExportTo(meta.namespace, dr.exportTo, false, dr.workloadSelector !== undefined), 'exportTo');
  validateWorkloadSelector(r.at('workloadSelector'), dr.workloadSelector);
}
