// Istio's pilot feature flags that translation reads, taken from the environment by their Istio
// names. They are read when used (not at import), so a test can set one around a call.

/** Go's strconv.ParseBool; anything else leaves the default, as Istio's env.RegisterBoolVar does. */
function boolFlag(name: string, fallback: boolean): boolean {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return fallback;
}

function intFlag(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  return /^[+-]?\d+$/.test(v.trim()) ? Number(v.trim()) : fallback;
}

/**
 * PILOT_ENABLE_IP_AUTOALLOCATE (default true): ServiceEntry addresses are allocated by a
 * controller that writes them to the ServiceEntry status. When false, istiod's registry
 * allocates them itself, deterministically, for proxies that ask (DNS_AUTO_ALLOCATE).
 */
export function ipAutoallocateController(): boolean {
  return boolFlag('PILOT_ENABLE_IP_AUTOALLOCATE', true);
}

/** PILOT_ALLOW_ANY_DYNAMIC_DNS_MAX_HOSTS: the DNS cache size of ALLOW_ANY_DYNAMIC_DNS (Envoy's own default). */
export function allowAnyDynamicDnsMaxHosts(): number {
  return intFlag('PILOT_ALLOW_ANY_DYNAMIC_DNS_MAX_HOSTS', 1024);
}

/** ISTIO_DUAL_STACK */
export function dualStack(): boolean {
  return boolFlag('ISTIO_DUAL_STACK', false);
}

/** ISTIO_ENABLE_IPV4_OUTBOUND_LISTENER_FOR_IPV6_CLUSTERS */
export function ipv4OutboundForIpv6Clusters(): boolean {
  return boolFlag('ISTIO_ENABLE_IPV4_OUTBOUND_LISTENER_FOR_IPV6_CLUSTERS', false);
}

/**
 * PILOT_XDS_CACHE_SIZE (Istio's default 60000): the most pieces of generated config kept across
 * pushes (PushContext.durable), least recently used dropped first.
 */
export function xdsCacheSize(): number {
  return Math.max(0, intFlag('PILOT_XDS_CACHE_SIZE', 60000));
}
