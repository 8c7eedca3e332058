// DestinationRule consistent-hash load balancing needs a hash key on the route: header,
// cookie, source IP or query parameter, as Istio sets it.
import { create } from '@bufbuild/protobuf';
import { RouteAction_HashPolicySchema, type RouteAction_HashPolicy } from '../../../gen/envoy/config/route/v3/route_components_pb.js';
import type * as net from '../../config/schema/networking.js';
import { duration } from '../envoy.js';

type ConsistentHash = NonNullable<NonNullable<net.LoadBalancerSettings>['consistentHash']>;

export function hashPolicy(ch: ConsistentHash | undefined): RouteAction_HashPolicy | undefined {
  if (!ch) return undefined;
  if (ch.httpHeaderName) return create(RouteAction_HashPolicySchema, { policySpecifier: { case: 'header', value: { headerName: ch.httpHeaderName } } });
  if (ch.httpCookie) {
    const c = ch.httpCookie;
    return create(RouteAction_HashPolicySchema, {
      policySpecifier: {
        case: 'cookie',
        value: { name: c.name ?? '', path: c.path ?? '', ttl: c.ttl ? duration(c.ttl.seconds) : undefined, attributes: (c.attributes ?? []).map((a) => ({ name: a.name ?? '', value: a.value ?? '' })) },
      },
    });
  }
  if (ch.useSourceIp) return create(RouteAction_HashPolicySchema, { policySpecifier: { case: 'connectionProperties', value: { sourceIp: true } } });
  if (ch.httpQueryParameterName) return create(RouteAction_HashPolicySchema, { policySpecifier: { case: 'queryParameter', value: { name: ch.httpQueryParameterName } } });
  return undefined;
}
