// RDS for Envoy sidecars: one route configuration per outbound HTTP port, named by the port.
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { RouteConfigurationSchema } from '../../../gen/envoy/config/route/v3/route_pb.js';
import { VirtualHostSchema, type VirtualHost } from '../../../gen/envoy/config/route/v3/route_components_pb.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { ALLOW_ANY_VHOST, BLOCK_ALL_VHOST, PASSTHROUGH_CLUSTER } from '../names.js';
import { defaultOutboundRoute } from '../route/translate.js';
import { outboundVirtualHosts } from '../route/vhosts.js';
import type { NamedResource, Watch } from '../generator.js';

/** The catch-all virtual host: unknown hosts pass through (ALLOW_ANY) or get a 502 (REGISTRY_ONLY). */
function catchAllVirtualHost(push: PushContext): VirtualHost {
  if (push.mesh.outboundTrafficPolicy === 'REGISTRY_ONLY') {
    return create(VirtualHostSchema, {
      name: BLOCK_ALL_VHOST,
      domains: ['*'],
      routes: [{ name: BLOCK_ALL_VHOST, match: { pathSpecifier: { case: 'prefix', value: '/' } }, action: { case: 'directResponse', value: { status: 502 } } }],
      includeRequestAttemptCount: true,
    });
  }
  const route = defaultOutboundRoute(PASSTHROUGH_CLUSTER, `${PASSTHROUGH_CLUSTER}`, undefined);
  route.name = ALLOW_ANY_VHOST;
  if (route.action.case === 'route') route.action.value.retryPolicy = undefined;
  return create(VirtualHostSchema, { name: ALLOW_ANY_VHOST, domains: ['*'], routes: [route], includeRequestAttemptCount: true });
}

export function sidecarRoutes(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  const services = push.servicesVisibleTo(proxy.namespace);
  const out: NamedResource[] = [];
  for (const name of watch.names) {
    const port = Number(name);
    if (!Number.isInteger(port) || port <= 0) continue;
    const virtualHosts = outboundVirtualHosts(push, proxy, port, services);
    virtualHosts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    virtualHosts.push(catchAllVirtualHost(push));
    const rc = create(RouteConfigurationSchema, { name, virtualHosts, validateClusters: false });
    out.push({ name, resource: anyPack(RouteConfigurationSchema, rc) });
  }
  return out;
}
