// EDS: ClusterLoadAssignments for `outbound|PORT|SUBSET|HOST` clusters.
import { create } from '@bufbuild/protobuf';
import {
  ClusterLoadAssignmentSchema,
  type ClusterLoadAssignment,
} from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { LbEndpointSchema, LocalityLbEndpointsSchema, type LocalityLbEndpoints } from '../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js';
import { HealthStatus } from '../../gen/envoy/config/core/v3/health_check_pb.js';
import type * as net from '../config/schema/networking.js';
import type { PushContext, ResolvedDestinationRule } from '../model/push-context.js';
import type { Proxy } from '../model/proxy.js';
import { labelsMatch, servicePortByNumber, serviceSources, type IstioEndpoint, type Service } from '../model/service.js';
import { parseSubsetKey } from './names.js';
import { TLS_MODE_LABEL, TRANSPORT_SOCKET_MATCH } from './upstream-tls.js';
import { anyPack } from '@bufbuild/protobuf/wkt';
import type { NamedResource, Watch } from './generator.js';
import { sameElements } from '../model/canonical.js';
import { destinationRuleLabelsKey, objectId, sharedList } from './view.js';
import { portTrafficPolicy, subsetTrafficPolicy } from './cluster-policy.js';
import { applyLocalityLb, effectiveLbSetting, localityFingerprint, localityMayDependOnProxy, localityViewKey, type LbSetting, type LocalityGroup } from './locality-lb.js';
import { parseLocality } from '../model/locality.js';

/** The endpoints a cluster name selects: the service port's endpoints, narrowed by subset labels. */
export function clusterEndpoints(push: PushContext, proxy: Proxy, clusterName: string): { service?: Service; endpoints: IstioEndpoint[] } {
  const key = parseSubsetKey(clusterName);
  if (!key || key.direction !== 'outbound') return { endpoints: [] };
  const svc = push.serviceForHostname(proxy, key.host);
  const port = svc && servicePortByNumber(svc, key.port);
  if (!svc || !port) return { service: svc, endpoints: [] };
  let selector: Record<string, string> | undefined;
  if (key.subset) {
    const dr = push.destinationRuleFor(proxy, svc);
    const subset = dr?.resource.spec.subsets?.find((s) => s.name === key.subset);
    // An unknown subset selects nothing, as in Istio.
    if (!subset) return { service: svc, endpoints: [] };
    selector = subset.labels ?? {};
  }
  const endpoints = push.endpoints(svc).filter((ep) => ep.servicePortName === port.name && labelsMatch(selector, ep.labels));
  return { service: svc, endpoints };
}

/** Endpoints grouped by locality (sorted by locality), each group with the IstioEndpoints behind it. */
export function localityGroups(endpoints: readonly IstioEndpoint[]): LocalityGroup[] {
  const byLocality = new Map<string, IstioEndpoint[]>();
  for (const ep of endpoints) {
    const key = ep.locality ?? '';
    let list = byLocality.get(key);
    if (!list) byLocality.set(key, (list = []));
    list.push(ep);
  }
  const out: LocalityGroup[] = [];
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
    out.push({ group: create(LocalityLbEndpointsSchema, { locality: parseLocality(locality), lbEndpoints, loadBalancingWeight: total }), endpoints: eps });
  }
  return out;
}

export function localityLbEndpoints(endpoints: readonly IstioEndpoint[]): LocalityLbEndpoints[] {
  return localityGroups(endpoints).map((g) => g.group);
}

/**
 * The locality load-balancing setting in force for a service port and subset as `dr` resolves it
 * (port-level, then subset-level policy), and whether failover may apply (outlier detection).
 */
export function clusterLocalityLb(
  push: PushContext,
  svc: Service,
  port: number,
  subset: string,
  dr: ResolvedDestinationRule | undefined,
): { lb: LbSetting | undefined; enableFailover: boolean } {
  const spec = dr?.resource.spec;
  const servicePort = servicePortByNumber(svc, port);
  let policy = portTrafficPolicy(spec?.trafficPolicy, servicePort);
  if (subset) policy = subsetTrafficPolicy(policy, spec?.subsets?.find((s) => s.name === subset)?.trafficPolicy, servicePort);
  return { lb: effectiveLbSetting(push.mesh, policy?.loadBalancer, svc), enableFailover: !!policy?.outlierDetection };
}

/**
 * A DNS cluster's inline endpoints for one proxy under its (port- and subset-resolved) traffic
 * policy: grouped by locality, with the priorities and weights of its locality setting.
 */
export function clusterPolicyLocalityLbEndpoints(push: PushContext, proxy: Proxy, svc: Service, policy: net.TrafficPolicy | undefined, endpoints: readonly IstioEndpoint[]): LocalityLbEndpoints[] {
  const groups = localityGroups(endpoints);
  return applyLocalityLb(groups, effectiveLbSetting(push.mesh, policy?.loadBalancer, svc), !!policy?.outlierDetection, proxy);
}

/** Endpoints of a cluster for one proxy: grouped by locality, with the priorities and weights its locality setting gives them. */
export function proxyLocalityLbEndpoints(
  push: PushContext,
  proxy: Proxy,
  svc: Service | undefined,
  port: number,
  subset: string,
  dr: ResolvedDestinationRule | undefined,
  endpoints: readonly IstioEndpoint[],
): LocalityLbEndpoints[] {
  const groups = localityGroups(endpoints);
  if (!svc || groups.length === 0) return groups.map((g) => g.group);
  const { lb, enableFailover } = clusterLocalityLb(push, svc, port, subset, dr);
  return applyLocalityLb(groups, lb, enableFailover, proxy);
}

export function buildLoadAssignment(push: PushContext, proxy: Proxy, clusterName: string): ClusterLoadAssignment {
  const { service, endpoints } = clusterEndpoints(push, proxy, clusterName);
  const key = parseSubsetKey(clusterName);
  const dr = service && push.destinationRuleFor(proxy, service);
  return create(ClusterLoadAssignmentSchema, { clusterName, endpoints: proxyLocalityLbEndpoints(push, proxy, service, key?.port ?? 0, key?.subset ?? '', dr, endpoints) });
}

/**
 * What of the proxy a cluster's endpoints depend on through locality load balancing ('' when
 * nothing: the assignment is shared), prefixed with the rule that decides it.
 */
export function localityKey(push: PushContext, proxy: Proxy, svc: Service | undefined, port: number, subset: string, dr: ResolvedDestinationRule | undefined): string {
  if (!svc || !localityMayDependOnProxy(push)) return '';
  const { lb, enableFailover } = clusterLocalityLb(push, svc, port, subset, dr);
  const key = localityViewKey(lb, enableFailover, proxy);
  return key && `${objectId(dr)}|${key}`;
}

type SubsetKey = NonNullable<ReturnType<typeof parseSubsetKey>>;

/** What a cluster's assignment is built from for a proxy: the objects `clusterEndpoints` reads, and the locality setting. */
interface AssignmentInputs {
  svc?: Service;
  dr?: ResolvedDestinationRule;
  locality: string;
  lists: readonly (readonly IstioEndpoint[])[];
}

function assignmentInputs(push: PushContext, proxy: Proxy, key: SubsetKey | undefined): AssignmentInputs {
  const svc = key?.direction === 'outbound' ? push.serviceForHostname(proxy, key.host) : undefined;
  const dr = svc && (key!.subset || localityMayDependOnProxy(push)) ? push.destinationRuleFor(proxy, svc) : undefined;
  // The rule matters to the endpoints through its subsets and, per proxy, its locality setting.
  const locality = localityKey(push, proxy, svc, key?.port ?? 0, key?.subset ?? '', dr);
  const lists = svc ? serviceSources(svc).map((s) => push.registry.endpoints(s)) : [];
  return { svc, dr, locality, lists };
}

/**
 * The packed assignment of one cluster, shared by every proxy that resolves the name to the same
 * service and DestinationRule (what `clusterEndpoints` reads), and kept across pushes while the
 * service's endpoint lists stay the same objects (the registry keeps unchanged ones): an endpoint
 * change rebuilds the assignments of its service only.
 */
export function loadAssignmentResource(push: PushContext, proxy: Proxy, clusterName: string): NamedResource {
  const key = parseSubsetKey(clusterName);
  return assignmentFor(push, proxy, clusterName, key, assignmentInputs(push, proxy, key));
}

function assignmentFor(push: PushContext, proxy: Proxy, clusterName: string, key: SubsetKey | undefined, { svc, dr, locality, lists }: AssignmentInputs): NamedResource {
  const endpoints = lists.map(objectId).join('+');
  // One slot per cluster and view whose assignment is replaced when the endpoints change, rather
  // than a cache entry per endpoint list: endpoint churn leaves no dead assignments behind.
  const slot = push.durable(`eds|${clusterName}|${objectId(svc)}|${objectId(key?.subset ? dr : undefined)}|${locality}`, (): AssignmentSlot => ({ endpoints: '' }));
  if (slot.endpoints !== endpoints || !slot.assignment) {
    slot.endpoints = endpoints;
    slot.assignment = { name: clusterName, resource: anyPack(ClusterLoadAssignmentSchema, buildLoadAssignment(push, proxy, clusterName)) };
  }
  return slot.assignment;
}

interface AssignmentSlot {
  /** Identifies the endpoint lists `assignment` was built from. */
  endpoints: string;
  assignment?: NamedResource;
}

/** EDS for a watch: proxies of one Sidecar scope subscribing to the same names share the list. */
export function loadAssignments(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  if (!watch.namesId) return sharedList(push, 'eds', watch.names.map((name) => loadAssignmentResource(push, proxy, name)));
  // Locality load balancing can make assignments differ between proxies of one scope.
  const key = `${push.sidecarScopeKey(proxy)}|${watch.namesId}|${localityFingerprint(push, proxy)}|${destinationRuleLabelsKey(push, proxy)}`;
  return push.memo(`eds/list|${key}`, () => {
    const rows = push.durable(`eds/rows|${key}`, (): AssignmentRows => ({ names: watch.names, keys: [], rows: [] }));
    if (rows.names !== watch.names) Object.assign(rows, { names: watch.names, keys: [], rows: [] });
    return sharedList(push, 'eds', watch.names.map((name, i) => assignmentInRow(push, proxy, rows, i, name)));
  });
}

/**
 * What each assignment of one subscription was built from, kept across pushes: an endpoint
 * change makes each view walk its thousands of names again, and most of them name a service whose
 * endpoint lists, rule and locality setting are the very objects they were. Those reuse the
 * assignment after a few identity checks instead of parsing the name and building cache keys.
 */
interface AssignmentRows {
  names: readonly string[];
  keys: (SubsetKey | null)[];
  rows: ((AssignmentInputs & { assignment: NamedResource }) | undefined)[];
}

function assignmentInRow(push: PushContext, proxy: Proxy, rows: AssignmentRows, i: number, name: string): NamedResource {
  let key = rows.keys[i];
  if (key === undefined) rows.keys[i] = key = parseSubsetKey(name) ?? null;
  const inputs = assignmentInputs(push, proxy, key ?? undefined);
  const row = rows.rows[i];
  if (row && row.svc === inputs.svc && row.dr === inputs.dr && row.locality === inputs.locality && sameElements(row.lists, inputs.lists)) return row.assignment;
  const assignment = assignmentFor(push, proxy, name, key ?? undefined, inputs);
  rows.rows[i] = { svc: inputs.svc, dr: inputs.dr, locality: inputs.locality, lists: inputs.lists, assignment };
  return assignment;
}
