// EDS: ClusterLoadAssignments for `outbound|PORT|SUBSET|HOST` clusters.
import { create } from '@bufbuild/protobuf';
import {
  ClusterLoadAssignmentSchema,
  type ClusterLoadAssignment,
} from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { LbEndpointSchema, LocalityLbEndpointsSchema, type LocalityLbEndpoints } from '../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js';
import { HealthStatus } from '../../gen/envoy/config/core/v3/health_check_pb.js';
import type { PushContext } from '../model/push-context.js';
import type { Proxy } from '../model/proxy.js';
import { labelsMatch, servicePortByNumber, type IstioEndpoint, type Service } from '../model/service.js';
import { parseSubsetKey } from './names.js';
import { TLS_MODE_LABEL, TRANSPORT_SOCKET_MATCH } from './upstream-tls.js';
import { anyPack } from '@bufbuild/protobuf/wkt';
import type { NamedResource, Watch } from './generator.js';
import { objectId } from './view.js';

/** The endpoints a cluster name selects: the service port's endpoints, narrowed by subset labels. */
export function clusterEndpoints(push: PushContext, proxy: Proxy, clusterName: string): { service?: Service; endpoints: IstioEndpoint[] } {
  const key = parseSubsetKey(clusterName);
  if (!key || key.direction !== 'outbound') return { endpoints: [] };
  const svc = push.serviceForHostname(proxy, key.host);
  const port = svc && servicePortByNumber(svc, key.port);
  if (!svc || !port) return { service: svc, endpoints: [] };
  let selector: Record<string, string> | undefined;
  if (key.subset) {
    const dr = push.destinationRuleFor(proxy.namespace, svc);
    const subset = dr?.resource.spec.subsets?.find((s) => s.name === key.subset);
    // An unknown subset selects nothing, as in Istio.
    if (!subset) return { service: svc, endpoints: [] };
    selector = subset.labels ?? {};
  }
  const endpoints = push.endpoints(svc).filter((ep) => ep.servicePortName === port.name && labelsMatch(selector, ep.labels));
  return { service: svc, endpoints };
}

function parseLocality(locality: string | undefined): { region: string; zone: string; subZone: string } {
  const [region = '', zone = '', subZone = ''] = (locality ?? '').split('/');
  return { region, zone, subZone };
}

export function localityLbEndpoints(endpoints: readonly IstioEndpoint[]): LocalityLbEndpoints[] {
  const byLocality = new Map<string, IstioEndpoint[]>();
  for (const ep of endpoints) {
    const key = ep.locality ?? '';
    let list = byLocality.get(key);
    if (!list) byLocality.set(key, (list = []));
    list.push(ep);
  }
  const out: LocalityLbEndpoints[] = [];
  for (const [locality, eps] of [...byLocality].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    let total = 0;
    const lbEndpoints = eps.map((ep) => {
      const weight = ep.weight && ep.weight > 0 ? ep.weight : 1;
      total += weight;
      return create(LbEndpointSchema, {
        hostIdentifier: {
          case: 'endpoint',
          value: { address: { address: { case: 'socketAddress', value: { address: ep.address, portSpecifier: { case: 'portValue', value: ep.endpointPort } } } } },
        },
        healthStatus: ep.healthy ? HealthStatus.HEALTHY : HealthStatus.UNHEALTHY,
        loadBalancingWeight: weight,
        // Sidecar-injected workloads speak Istio mTLS: clusters pick their transport socket by this.
        metadata: ep.labels[TLS_MODE_LABEL] === 'istio' ? { filterMetadata: { [TRANSPORT_SOCKET_MATCH]: { tlsMode: 'istio' } } } : undefined,
      });
    });
    // gRPC silently ignores localities without a weight, so it is always set.
    out.push(create(LocalityLbEndpointsSchema, { locality: parseLocality(locality), lbEndpoints, loadBalancingWeight: total }));
  }
  return out;
}

export function buildLoadAssignment(push: PushContext, proxy: Proxy, clusterName: string): ClusterLoadAssignment {
  const { endpoints } = clusterEndpoints(push, proxy, clusterName);
  return create(ClusterLoadAssignmentSchema, { clusterName, endpoints: localityLbEndpoints(endpoints) });
}

/**
 * The packed assignment of one cluster, shared within a push by every proxy that resolves the
 * name to the same service and DestinationRule (what `clusterEndpoints` reads).
 */
export function loadAssignmentResource(push: PushContext, proxy: Proxy, clusterName: string): NamedResource {
  const key = parseSubsetKey(clusterName);
  const svc = key?.direction === 'outbound' ? push.serviceForHostname(proxy, key.host) : undefined;
  const dr = svc && key!.subset ? push.destinationRuleFor(proxy.namespace, svc) : undefined;
  return push.memo(`eds|${clusterName}|${objectId(svc)}|${objectId(dr)}`, () => ({
    name: clusterName,
    resource: anyPack(ClusterLoadAssignmentSchema, buildLoadAssignment(push, proxy, clusterName)),
  }));
}

/** EDS for a watch: proxies of one Sidecar scope subscribing to the same names share the list. */
export function loadAssignments(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  const build = () => watch.names.map((name) => loadAssignmentResource(push, proxy, name));
  return watch.namesId ? push.memo(`eds/list|${push.sidecarScopeKey(proxy)}|${watch.namesId}`, build) : build();
}
