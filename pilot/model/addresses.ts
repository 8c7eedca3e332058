// Which addresses of a service a given proxy uses: its VIPs, or, for services without one, the
// address Istio auto-allocated, when the proxy resolves DNS through the Istio agent and asked for
// auto-allocated addresses (DNS_CAPTURE, and DNS_AUTO_ALLOCATE or the allocating controller).
import { ipAutoallocateController } from './features.js';
import type { Proxy } from './proxy.js';
import type { Service } from './service.js';

/** Istio's StringBool node metadata ("true", "1", "T", ...). */
export function metadataBool(proxy: Proxy, key: string): boolean {
  const v = proxy.metadata[key];
  if (typeof v === 'boolean') return v;
  return typeof v === 'string' && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
}

export function supportsIpv4(proxy: Proxy): boolean {
  return proxy.ipAddresses.length === 0 || proxy.ipAddresses.some((ip) => !ip.includes(':'));
}

export function supportsIpv6(proxy: Proxy): boolean {
  return proxy.ipAddresses.some((ip) => ip.includes(':'));
}

/** Istio's nodeUsesAutoallocatedIPs (sidecars and gateways; waypoints always would). */
export function usesAutoAllocatedAddresses(proxy: Proxy): boolean {
  return (metadataBool(proxy, 'DNS_AUTO_ALLOCATE') || ipAutoallocateController()) && metadataBool(proxy, 'DNS_CAPTURE');
}

function autoAllocated(svc: Service, proxy: Proxy): string[] {
  if (svc.addresses.length || !svc.autoAllocatedAddresses?.length || !usesAutoAllocatedAddresses(proxy)) return [];
  const v4 = supportsIpv4(proxy);
  const v6 = supportsIpv6(proxy);
  return svc.autoAllocatedAddresses.filter((a) => (a.includes(':') ? v6 : v4));
}

/** Every address of the service this proxy sees (Istio's GetAllAddressesForProxy, for one cluster). */
export function serviceAddressesForProxy(svc: Service, proxy: Proxy): readonly string[] {
  if (svc.addresses.length) return svc.addresses;
  return autoAllocated(svc, proxy);
}

/** The address the proxy's listeners bind for the service; 0.0.0.0 without one. */
export function serviceAddressForProxy(svc: Service, proxy: Proxy): string {
  return serviceAddressesForProxy(svc, proxy)[0] ?? '0.0.0.0';
}

/** What of the proxy the addresses above depend on: part of the key of output shared between proxies. */
export function addressViewKey(proxy: Proxy): string {
  if (!usesAutoAllocatedAddresses(proxy)) return '';
  return `auto:${supportsIpv4(proxy) ? '4' : ''}${supportsIpv6(proxy) ? '6' : ''}`;
}
