// Locality load balancing as istiod applies it: which setting is in force for a cluster
// (DestinationRule, then the Service's trafficDistribution, then MeshConfig), the priorities and
// locality weights it gives a ClusterLoadAssignment relative to the calling proxy, and the
// cluster-level `locality_weighted_lb_config` / `zone_aware_lb_config`.
//
// The functions here are pure: they take endpoints grouped by locality and the proxy's locality and
// labels, and return new LocalityLbEndpoints (inputs are never mutated, so shared output stays
// intact). `localityViewKey` names exactly what of the proxy an assignment depends on, for
// `PushContext.memo` keys: nothing when no locality setting changes the output.
import { create } from '@bufbuild/protobuf';
import {
  Cluster_CommonLbConfig_LocalityWeightedLbConfigSchema,
  Cluster_CommonLbConfig_ZoneAwareLbConfigSchema,
  Cluster_CommonLbConfigSchema,
  Cluster_DiscoveryType,
  Cluster_LbPolicy,
  type Cluster,
} from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { LocalityLbEndpointsSchema, type LbEndpoint, type LocalityLbEndpoints } from '../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js';
import { PercentSchema } from '../../gen/envoy/type/v3/percent_pb.js';
import type * as net from '../config/schema/networking.js';
import type { MeshConfig } from '../model/mesh.js';
import type { PushContext } from '../model/push-context.js';
import type { Proxy } from '../model/proxy.js';
import type { IstioEndpoint, Service } from '../model/service.js';
import {
  endpointTopologyLabels,
  LABEL_HOSTNAME,
  LABEL_NETWORK,
  LABEL_REGION,
  LABEL_SUBZONE,
  LABEL_ZONE,
  proxyLocality,
  proxyTopologyLabels,
  type Locality,
} from '../model/locality.js';

export type LocalitySetting = net.LocalityLoadBalancerSetting;
export type ZoneAwareSetting = NonNullable<net.LoadBalancerSettings['zoneAwareLbSetting']>;

/**
 * The setting in force for a cluster. `force`: failover applies without outlier detection (the
 * settings Istio derives from a Service's trafficDistribution).
 */
export type LbSetting = { kind: 'locality'; setting: LocalitySetting; force: boolean } | { kind: 'zoneAware'; setting: ZoneAwareSetting };

// ---------------------------------------------------------------------------------------------
// Which setting applies

/** Failover priority labels for trafficDistribution PreferSameZone / PreferSameNode. */
const SAME_ZONE_PRIORITY = [LABEL_NETWORK, LABEL_REGION, LABEL_ZONE];
const SAME_NODE_PRIORITY = [LABEL_NETWORK, LABEL_REGION, LABEL_ZONE, LABEL_SUBZONE, LABEL_HOSTNAME];

/** Istio's GetEffectiveLbSetting: DestinationRule, then the Service's trafficDistribution, then the mesh; zone-aware before locality at each level. */
export function effectiveLbSetting(
  mesh: Partial<Pick<MeshConfig, 'localityLbSetting' | 'zoneAwareLbSetting'>>,
  lb: net.LoadBalancerSettings | undefined,
  svc: Pick<Service, 'trafficDistribution'> | undefined,
): LbSetting | undefined {
  if (lb?.zoneAwareLbSetting) return { kind: 'zoneAware', setting: lb.zoneAwareLbSetting };
  if (lb?.localityLbSetting) {
    if (lb.localityLbSetting.enabled === false) return undefined;
    return { kind: 'locality', setting: lb.localityLbSetting, force: false };
  }
  switch (svc?.trafficDistribution) {
    case 'PreferSameZone':
      return { kind: 'locality', setting: { enabled: true, failoverPriority: SAME_ZONE_PRIORITY }, force: true };
    case 'PreferSameNode':
      return { kind: 'locality', setting: { enabled: true, failoverPriority: SAME_NODE_PRIORITY }, force: true };
    default:
      break;
  }
  if (mesh.zoneAwareLbSetting) return { kind: 'zoneAware', setting: mesh.zoneAwareLbSetting };
  if (mesh.localityLbSetting) {
    if (mesh.localityLbSetting.enabled === false) return undefined;
    return { kind: 'locality', setting: mesh.localityLbSetting, force: false };
  }
  return undefined;
}

function nonEmpty<T>(list: readonly T[] | undefined): list is readonly T[] {
  return !!list && list.length > 0;
}

function zoneAwareRouting(z: ZoneAwareSetting): boolean {
  return z.enabled !== false;
}

/** What of the proxy the assignment depends on under `lb`, once `enableFailover` (outlier detection) is known. */
type Dependence = { distribute: number } | { failover: boolean; priorityLabels?: readonly string[]; region?: boolean };

function dependence(lb: LbSetting, proxyLoc: Locality, enableFailover: boolean): Dependence | undefined {
  if (lb.kind === 'zoneAware') {
    if (!zoneAwareRouting(lb.setting)) return undefined;
    return { failover: false, region: true, priorityLabels: nonEmpty(lb.setting.failoverPriority) ? lb.setting.failoverPriority : undefined };
  }
  const s = lb.setting;
  if (nonEmpty(s.distribute)) {
    const i = s.distribute.findIndex((d) => localityMatch(proxyLoc, d.from ?? ''));
    return i < 0 ? undefined : { distribute: i };
  }
  if (!(enableFailover || lb.force)) return undefined;
  if (nonEmpty(s.failoverPriority)) return { failover: nonEmpty(s.failover), priorityLabels: s.failoverPriority };
  return { failover: true };
}

/**
 * The part of a proxy that a cluster's assignment depends on under `lb`: '' when it does not
 * depend on the proxy at all (no setting, distribute without a rule for the proxy's locality,
 * failover without outlier detection), so the assignment stays shared.
 */
export function localityViewKey(lb: LbSetting | undefined, enableFailover: boolean, proxy: Pick<Proxy, 'labels' | 'locality' | 'clusterId' | 'metadata'>): string {
  if (!lb) return '';
  const loc = proxyLocality(proxy);
  const dep = dependence(lb, loc, enableFailover);
  if (!dep) return '';
  if ('distribute' in dep) return `distribute:${dep.distribute}`;
  let key = '';
  if (dep.failover) key += `loc:${loc.region}/${loc.zone}/${loc.subZone}`;
  else if (dep.region) key += `region:${loc.region}`;
  if (dep.priorityLabels) {
    const labels = proxyTopologyLabels(proxy);
    const values = parsePriorityLabels(dep.priorityLabels).map(({ label, value }) => (value === undefined ? labels[label] ?? '' : '='));
    key += `|prio:${JSON.stringify(values)}`;
  }
  return key;
}

// ---------------------------------------------------------------------------------------------
// Matching

/** A rule locality (`region/zone/subzone`, `*` wildcards, missing parts match anything) against a locality. */
export function localityMatch(l: Locality, rule: string): boolean {
  const [region = '', zone = '', subZone = ''] = rule.split('/');
  return (
    (region === '*' || l.region === region) &&
    (zone === '*' || zone === '' || l.zone === zone) &&
    (subZone === '*' || subZone === '' || l.subZone === subZone)
  );
}

/** 0: same subzone, 1: same zone, 2: same region, 3: another region. */
export function lbPriority(proxy: Locality, ep: Locality): number {
  if (proxy.region !== ep.region) return 3;
  if (proxy.zone !== ep.zone) return 2;
  return proxy.subZone === ep.subZone ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// Applying a setting to an assignment

/** Endpoints of one locality: the Envoy group and the IstioEndpoints behind its LbEndpoints, index for index. */
export interface LocalityGroup {
  group: LocalityLbEndpoints;
  endpoints: readonly IstioEndpoint[];
}

function envLocality(g: LocalityLbEndpoints): Locality {
  return { region: g.locality?.region ?? '', zone: g.locality?.zone ?? '', subZone: g.locality?.subZone ?? '' };
}

function clone(g: LocalityLbEndpoints, changes: Partial<Pick<LocalityLbEndpoints, 'lbEndpoints' | 'priority' | 'loadBalancingWeight'>>): LocalityLbEndpoints {
  return create(LocalityLbEndpointsSchema, {
    locality: g.locality,
    lbEndpoints: g.lbEndpoints,
    loadBalancingWeight: g.loadBalancingWeight,
    priority: g.priority,
    proximity: g.proximity,
    ...changes,
  });
}

/** Renumbers priorities 0..N in order, without gaps. */
function compactPriorities(groups: LocalityLbEndpoints[]): void {
  const used = [...new Set(groups.map((g) => g.priority))].sort((a, b) => a - b);
  const rank = new Map(used.map((p, i) => [p, i]));
  for (const g of groups) g.priority = rank.get(g.priority)!;
}

/** uint32 multiplication as Go does it (wrapping). */
function mulU32(a: number, b: number): number {
  return Number((BigInt(a) * BigInt(b)) & 0xffffffffn);
}

/**
 * `distribute`: the first rule whose `from` matches the proxy sets locality weights: each `to`
 * entry's weight is split over the localities it matches (in proportion to their own weights,
 * rounded up); localities no entry matches keep no endpoints.
 */
export function applyLocalityWeights(proxy: Locality, groups: readonly LocalityLbEndpoints[], distribute: NonNullable<LocalitySetting['distribute']>): LocalityLbEndpoints[] {
  const rule = distribute.find((d) => localityMatch(proxy, d.from ?? ''));
  if (!rule) return [...groups];
  const out = groups.map((g) => clone(g, {}));
  const unmatched = new Set(out.keys());
  for (const [to, weight] of Object.entries(rule.to ?? {})) {
    const matched = new Map<number, number>();
    let total = 0;
    for (const i of unmatched) {
      if (!localityMatch(envLocality(out[i]!), to)) continue;
      const w = out[i]!.loadBalancingWeight ?? 1;
      matched.set(i, w);
      total = (total + w) >>> 0;
    }
    for (const [i, original] of matched) {
      unmatched.delete(i);
      const w = mulU32(original, weight) / total;
      if (w > 0) out[i]!.loadBalancingWeight = Math.ceil(w);
    }
  }
  for (const i of unmatched) out[i]!.lbEndpoints = [];
  return out;
}

/**
 * Failover by locality: priority 0 for the proxy's subzone, 1 its zone, 2 its region, 3 other
 * regions, and with a `failover` rule for the proxy's region, 4 for regions other than its `to`.
 * Composes with priorities already set (failoverPriority), then renumbers them without gaps.
 */
export function applyLocalityFailover(proxy: Locality, groups: readonly LocalityLbEndpoints[], failover: LocalitySetting['failover']): LocalityLbEndpoints[] {
  const out = groups.map((g) => {
    let p = lbPriority(proxy, envLocality(g));
    if (p === 3) {
      const rule = failover?.find((f) => f.from === proxy.region);
      if (rule && (g.locality?.region ?? '') !== rule.to) p = 4;
    }
    return clone(g, { priority: g.priority * 5 + p });
  });
  compactPriorities(out);
  return out;
}

/** failoverPriority entries: `label` compares the proxy's value, `label=value` a fixed one. */
export function parsePriorityLabels(entries: readonly string[]): { label: string; value?: string }[] {
  return entries.map((e) => {
    const parts = e.split('=');
    return parts.length === 2 ? { label: parts[0]!, value: parts[1]! } : { label: parts[0]! };
  });
}

/**
 * failoverPriority: each locality's endpoints are split by how many leading labels they share with
 * the proxy (all: priority 0; none: the lowest). A leading `topology.istio.io/network` that differs
 * is skipped but ranks the endpoint after every same-network one. Priorities are then renumbered
 * across localities without gaps; a split group's weight is the sum of its endpoints' weights.
 */
export function applyFailoverPriorities(groups: readonly LocalityGroup[], proxyLabels: Record<string, string>, priorities: readonly string[]): LocalityLbEndpoints[] {
  if (Object.keys(proxyLabels).length === 0 || groups.length === 0) return groups.map((g) => g.group);
  const lowest = priorities.length;
  const includesNetwork = lowest > 0 && priorities[0] === LABEL_NETWORK;
  const parsed = parsePriorityLabels(priorities);
  const out: LocalityLbEndpoints[] = [];
  for (const { group, endpoints } of groups) {
    const byPriority = new Map<number, number[]>();
    endpoints.forEach((ep, i) => {
      const labels = endpointTopologyLabels(ep);
      let priority = 0;
      let adjust = 0;
      for (let j = 0; j < parsed.length; j++) {
        const { label, value } = parsed[j]!;
        const want = value ?? proxyLabels[label] ?? '';
        if (want === (labels[label] ?? '')) continue;
        if (j === 0 && includesNetwork) {
          adjust = lowest;
          continue;
        }
        priority = lowest - j;
        break;
      }
      priority += adjust;
      const list = byPriority.get(priority);
      if (list) list.push(i);
      else byPriority.set(priority, [i]);
    });
    for (const p of [...byPriority.keys()].sort((a, b) => a - b)) {
      const lbEndpoints: LbEndpoint[] = byPriority.get(p)!.map((i) => group.lbEndpoints[i]!);
      const weight = lbEndpoints.reduce((sum, e) => sum + (e.loadBalancingWeight ?? 0), 0);
      out.push(clone(group, { lbEndpoints, priority: p, loadBalancingWeight: weight }));
    }
  }
  compactPriorities(out);
  return out;
}

/**
 * Zone-aware load balancing's regional buckets: the proxy's region at priority 0 (Envoy balances
 * its zones), the `failover` target of the proxy's region next, other regions last; composed with
 * failoverPriority's priorities and renumbered without gaps.
 */
export function applyZoneAwareRegionalFailover(proxy: Locality, groups: readonly LocalityLbEndpoints[], failover: ZoneAwareSetting['failover']): LocalityLbEndpoints[] {
  const out = groups.map((g) => {
    const region = g.locality?.region ?? '';
    let p = 2;
    if (region === proxy.region) p = 0;
    else {
      const rule = failover?.find((f) => f.from === proxy.region);
      if (rule && region === rule.to) p = 1;
    }
    return clone(g, { priority: g.priority * 3 + p });
  });
  compactPriorities(out);
  return out;
}

/**
 * The assignment's locality groups for one proxy (Istio's ApplyToLoadAssignment). `enableFailover`:
 * the cluster has outlier detection. Returns `groups`' own LocalityLbEndpoints when nothing applies.
 */
export function applyLocalityLb(
  groups: readonly LocalityGroup[],
  lb: LbSetting | undefined,
  enableFailover: boolean,
  proxy: Pick<Proxy, 'labels' | 'locality' | 'clusterId' | 'metadata'>,
): LocalityLbEndpoints[] {
  const plain = groups.map((g) => g.group);
  if (!lb || groups.length === 0) return plain;
  const loc = proxyLocality(proxy);
  if (lb.kind === 'zoneAware') {
    if (!zoneAwareRouting(lb.setting)) return plain;
    let out = plain;
    if (nonEmpty(lb.setting.failoverPriority)) out = applyFailoverPriorities(groups, proxyTopologyLabels(proxy), lb.setting.failoverPriority);
    return applyZoneAwareRegionalFailover(loc, out, lb.setting.failover);
  }
  const s = lb.setting;
  if (nonEmpty(s.distribute)) return applyLocalityWeights(loc, plain, s.distribute);
  if (!(enableFailover || lb.force)) return plain;
  if (nonEmpty(s.failoverPriority)) {
    const out = applyFailoverPriorities(groups, proxyTopologyLabels(proxy), s.failoverPriority);
    return nonEmpty(s.failover) ? applyLocalityFailover(loc, out, s.failover) : out;
  }
  return applyLocalityFailover(loc, plain, s.failover);
}

// ---------------------------------------------------------------------------------------------
// The cluster side

/** ENABLE_LOCALITY_WEIGHTED_LB_CONFIG (default false): every cluster gets locality_weighted_lb_config. */
function localityWeightedLbConfigAlways(): boolean {
  return ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(process.env.ENABLE_LOCALITY_WEIGHTED_LB_CONFIG ?? '');
}

/**
 * The cluster's locality config (Istio's ApplyToCluster, before the LB policy): with locality
 * settings, `locality_weighted_lb_config` when weights are distributed or failover rules apply
 * (failover needs outlier detection unless forced); with zone-aware settings,
 * `zone_aware_lb_config` (routing at 0% when disabled). Call after outlier detection is applied.
 * Original-destination and cluster-provided clusters are left alone.
 */
export function applyClusterLocalityLb(c: Cluster, lb: LbSetting | undefined, svc?: Pick<Service, 'trafficDistribution'>): void {
  if (c.lbPolicy === Cluster_LbPolicy.CLUSTER_PROVIDED) return;
  if (c.clusterDiscoveryType.case === 'type' && c.clusterDiscoveryType.value === Cluster_DiscoveryType.ORIGINAL_DST) return;
  const common = () => (c.commonLbConfig ??= create(Cluster_CommonLbConfigSchema, {}));
  // trafficDistribution fails over by endpoint health (not outlier detection), so Istio sends
  // unhealthy endpoints and turns Envoy's panic mode off unless outlier detection set it.
  if (svc?.trafficDistribution && svc.trafficDistribution !== 'Any' && !c.commonLbConfig?.healthyPanicThreshold) {
    common().healthyPanicThreshold = create(PercentSchema, { value: 0 });
  }
  if (lb?.kind === 'zoneAware') {
    const min = lb.setting.minClusterSize;
    const config = create(Cluster_CommonLbConfig_ZoneAwareLbConfigSchema, {
      minClusterSize: min === undefined || min === null ? undefined : BigInt(min),
    });
    if (!zoneAwareRouting(lb.setting)) config.routingEnabled = create(PercentSchema, { value: 0 });
    common().localityConfigSpecifier = { case: 'zoneAwareLbConfig', value: config };
    return;
  }
  const s = lb?.setting;
  const enableFailover = !!lb?.force || !!c.outlierDetection;
  if (localityWeightedLbConfigAlways() || (enableFailover && (nonEmpty(s?.failover) || nonEmpty(s?.failoverPriority))) || nonEmpty(s?.distribute)) {
    common().localityConfigSpecifier = { case: 'localityWeightedLbConfig', value: create(Cluster_CommonLbConfig_LocalityWeightedLbConfigSchema, {}) };
  }
}

// ---------------------------------------------------------------------------------------------
// Sharing lists of assignments between proxies

function policies(tp: net.TrafficPolicy | undefined): net.TrafficPolicy[] {
  if (!tp) return [];
  return [tp, ...((tp.portLevelSettings ?? []) as net.TrafficPolicy[])];
}

/**
 * Whether anything in the push can make assignments depend on the proxy, and if so which proxy
 * labels failoverPriority may read (undefined: nothing depends on the proxy). Coarse on purpose:
 * it decides only whether lists of assignments may be shared whole.
 */
function localityDependence(push: PushContext): { labels: string[] } | undefined {
  return push.memo('locality-lb/dependence', () => {
    const labels = new Set<string>();
    let depends = false;
    const note = (lb: LbSetting | undefined, outlier: boolean) => {
      if (!lb) return;
      if (lb.kind === 'zoneAware') {
        if (!zoneAwareRouting(lb.setting)) return;
        depends = true;
        for (const l of lb.setting.failoverPriority ?? []) labels.add(l);
        return;
      }
      if (nonEmpty(lb.setting.distribute)) depends = true;
      else if (outlier || lb.force) {
        depends = true;
        for (const l of lb.setting.failoverPriority ?? []) labels.add(l);
      }
    };
    const meshLb = effectiveLbSetting(push.mesh, undefined, undefined);
    const anyOutlier = push.destinationRules.some((dr) =>
      [...policies(dr.resource.spec.trafficPolicy), ...(dr.resource.spec.subsets ?? []).flatMap((s) => policies(s.trafficPolicy))].some((p) => !!p.outlierDetection),
    );
    note(meshLb, anyOutlier);
    for (const dr of push.destinationRules) {
      const spec = dr.resource.spec;
      for (const p of [...policies(spec.trafficPolicy), ...(spec.subsets ?? []).flatMap((s) => policies(s.trafficPolicy))]) {
        if (p.loadBalancer) note(effectiveLbSetting({}, p.loadBalancer, undefined), anyOutlier);
      }
    }
    for (const svc of push.registry.services) {
      if (svc.trafficDistribution && svc.trafficDistribution !== 'Any') note(effectiveLbSetting({}, undefined, svc), true);
    }
    return depends ? { labels: [...labels].sort() } : undefined;
  });
}

/** Whether anything in the push can make an assignment depend on the proxy (cheap, once per push). */
export function localityMayDependOnProxy(push: PushContext): boolean {
  return localityDependence(push) !== undefined;
}

/**
 * The proxy's locality and the labels failoverPriority may compare, when anything in the push
 * makes assignments depend on them; '' otherwise. Proxies with equal fingerprints get equal
 * assignments, so a list of them may be shared under a key that includes it.
 */
export function localityFingerprint(push: PushContext, proxy: Pick<Proxy, 'labels' | 'locality' | 'clusterId' | 'metadata'>): string {
  const dep = localityDependence(push);
  if (!dep) return '';
  const loc = proxyLocality(proxy);
  const labels = dep.labels.length ? proxyTopologyLabels(proxy) : {};
  const values = parsePriorityLabels(dep.labels).map(({ label, value }) => (value === undefined ? labels[label] ?? '' : ''));
  return `${loc.region}/${loc.zone}/${loc.subZone}|${JSON.stringify(values)}`;
}

/** `localityFingerprint` where DNS clusters (which carry their endpoints in CDS) exist; '' otherwise. */
export function dnsLocalityFingerprint(push: PushContext, proxy: Pick<Proxy, 'labels' | 'locality' | 'clusterId' | 'metadata'>): string {
  const hasDns = push.memo('locality-lb/dns', () => push.registry.services.some((s) => s.resolution === 'DNSLB' || s.resolution === 'DNSRoundRobinLB'));
  return hasDns ? localityFingerprint(push, proxy) : '';
}
