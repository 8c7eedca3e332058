// Envoy resource names exactly as Istio spells them.

export type TrafficDirection = 'outbound' | 'inbound';

/** `outbound|9080|v1|reviews.default.svc.cluster.local` */
export function subsetKey(direction: TrafficDirection, subset: string, host: string, port: number): string {
  return `${direction}|${port}|${subset}|${host}`;
}

export function parseSubsetKey(name: string): { direction: TrafficDirection; port: number; subset: string; host: string } | undefined {
  const parts = name.split('|');
  if (parts.length !== 4) return undefined;
  const [direction, port, subset, host] = parts as [string, string, string, string];
  if (direction !== 'outbound' && direction !== 'inbound') return undefined;
  const n = Number(port);
  if (!Number.isInteger(n)) return undefined;
  return { direction, port: n, subset, host };
}

export function ipv6Compliant(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** `host:port`, with IPv6 literals bracketed. */
export function domainName(host: string, port: number): string {
  return `${ipv6Compliant(host)}:${port}`;
}

export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const INBOUND_PASSTHROUGH_CLUSTER = 'InboundPassthroughCluster';
export const VIRTUAL_OUTBOUND_LISTENER = 'virtualOutbound';
export const VIRTUAL_INBOUND_LISTENER = 'virtualInbound';
export const DEFAULT_ROUTE_NAME = 'default';
export const ALLOW_ANY_VHOST = 'allow_any';
export const BLOCK_ALL_VHOST = 'block_all';
/** ALLOW_ANY_DYNAMIC_DNS: the dynamic forward proxy cluster, its virtual host and route, and its DNS cache. */
export const ALLOW_ANY_DYNAMIC_DNS_CLUSTER = 'AllowAnyDynamicDNSCluster';
export const ALLOW_ANY_DYNAMIC_DNS = 'allow_any_dynamic_dns';
export const ALLOW_ANY_DFP_DNS_CACHE = 'allow_any_dfp_dns_cache';
