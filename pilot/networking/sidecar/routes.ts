// RDS for Envoy sidecars: one route configuration per outbound HTTP port, named by the port.
import { create } from '@bufbuild/protobuf';
import { RouteConfigurationSchema } from '../../../gen/envoy/config/route/v3/route_pb.js';
import { VirtualHostSchema, type VirtualHost } from '../../../gen/envoy/config/route/v3/route_components_pb.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { ALLOW_ANY_VHOST, BLOCK_ALL_VHOST, PASSTHROUGH_CLUSTER } from '../names.js';
import { defaultOutboundRoute } from '../route/translate.js';
import { outboundVirtualHosts, viewRows } from '../route/vhosts.js';
import type { NamedResource, Watch } from '../generator.js';
import { outboundViewKey } from '../view.js';
import { packWithItems } from '../envoy.js';
import { addressViewKey } from '../../model/addresses.js';
import { allowAnyDynamicDns, dynamicDnsVirtualHost } from './dynamic-dns.js';

/**
 * The catch-all virtual host: unknown hosts pass through (ALLOW_ANY), go to the forward proxy
 * (ALLOW_ANY_DYNAMIC_DNS) or get a 502 (REGISTRY_ONLY).
 */
function catchAllVirtualHost(push: PushContext, proxy: Proxy): VirtualHost {
  if (allowAnyDynamicDns(push, proxy)) return dynamicDnsVirtualHost();
  if (push.sidecarScope(proxy).outboundTrafficPolicy === 'REGISTRY_ONLY') {
    return create(VirtualHostSchema, {
      name: BLOCK_ALL_VHOST,
      domains: ['*'],
      routes: [{ name: BLOCK_ALL_VHOST, match: { pathSpecifier: { case: 'prefix', value: '/' } }, action: { case: 'directResponse', value: { status: 502 } } }],
      includeRequestAttemptCount: true,
    });
  }
  const route = defaultOutboundRoute(PASSTHROUGH_CLUSTER, PASSTHROUGH_CLUSTER, push.mesh.defaultHttpRetryPolicy);
  route.name = ALLOW_ANY_VHOST;
  if (route.action.case === 'route') route.action.value.retryPolicy = undefined;
  return create(VirtualHostSchema, { name: ALLOW_ANY_VHOST, domains: ['*'], routes: [route], includeRequestAttemptCount: true });
}

/**
 * A sniffed port's route config (`host:port`) holds only that service's virtual host, matching any
 * Host: the listener already knows the destination.
 */
function sniffedVirtualHosts(vhosts: VirtualHost[], routeName: string): VirtualHost[] {
  const host = routeName.slice(0, routeName.lastIndexOf(':'));
  const picked = vhosts.filter((vh) => vh.domains.some((d) => d === routeName || d === host));
  // A copy: virtual hosts are shared with other route configurations.
  return picked.length === 1 ? [create(VirtualHostSchema, { ...picked[0]!, domains: ['*'] })] : picked;
}

export function sidecarRoutes(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  // Route configs depend on the proxy's outbound view only: proxies sharing it share them.
  const view = `${outboundViewKey(push, proxy)}|${addressViewKey(proxy)}`;
  const out: NamedResource[] = [];
  for (const name of watch.names) {
    const rc = push.memo(`rds|${view}|${name}`, () => routeConfig(push, proxy, name, view));
    if (rc) out.push(rc);
  }
  return out;
}

function routeConfig(push: PushContext, proxy: Proxy, name: string, view: string): NamedResource | undefined {
  // "8080" for a port's shared listener, "host:8080" for a sniffed per-service listener.
  const colon = name.lastIndexOf(':');
  const sniffed = colon >= 0;
  const port = Number(sniffed ? name.slice(colon + 1) : name);
  if (!Number.isInteger(port) || port <= 0) return undefined;
  let virtualHosts = outboundVirtualHosts(push, proxy, port, push.servicesFor(proxy), viewRows(push, view, port));
  if (sniffed) virtualHosts = sniffedVirtualHosts(virtualHosts, name);
  virtualHosts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (!sniffed) virtualHosts.push(catchAllVirtualHost(push, proxy));
  const rc = create(RouteConfigurationSchema, { name, validateClusters: false, ignorePortInHostMatching: true, maxDirectResponseBodySizeBytes: 1024 * 1024 });
  // Virtual hosts are shared between namespaces' route configurations: each is encoded once.
  return { name, resource: packWithItems(RouteConfigurationSchema, rc, RouteConfigurationSchema.field.virtualHosts, virtualHosts) };
}
