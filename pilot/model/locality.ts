// Localities (`region/zone/subzone`) and the topology labels Istio derives from them, for
// proxies and endpoints: where a workload is, as the registry and locality load balancing see it.
import type { Proxy } from './proxy.js';
import type { IstioEndpoint } from './service.js';

export const LABEL_REGION = 'topology.kubernetes.io/region';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';
export const LABEL_SUBZONE = 'topology.istio.io/subzone';
export const LABEL_CLUSTER = 'topology.istio.io/cluster';
export const LABEL_NETWORK = 'topology.istio.io/network';
export const LABEL_HOSTNAME = 'kubernetes.io/hostname';
/** Locality overrides on a workload: `region.zone.subzone` (Kubernetes labels cannot hold `/`). */
export const LABEL_LOCALITY = 'topology.istio.io/locality';
export const LABEL_LOCALITY_LEGACY = 'istio-locality';
/** The cluster id of a single-cluster mesh (Istio's default CLUSTER_ID). */
export const DEFAULT_CLUSTER_ID = 'Kubernetes';

export interface Locality {
  region: string;
  zone: string;
  subZone: string;
}

/** Kubernetes Service `spec.trafficDistribution` (or Istio's annotation), as Istio reads it. */
export type TrafficDistribution = 'Any' | 'PreferSameZone' | 'PreferSameNode';


/** `region/zone/subzone` → its parts (missing parts empty). */
export function parseLocality(locality: string | undefined): Locality {
  const [region = '', zone = '', subZone = ''] = (locality ?? '').split('/');
  return { region, zone, subZone };
}

/** The `/` form, trailing empty parts left out (Istio's LocalityToString). */
export function localityString(l: Partial<Locality> | undefined): string {
  if (!l) return '';
  let out = l.region ?? '';
  if (!l.zone) return out;
  out += `/${l.zone}`;
  if (!l.subZone) return out;
  return `${out}/${l.subZone}`;
}

/** A locality label's value: `.` separates the parts unless the value already uses `/`. */
export function sanitizeLocalityLabel(value: string): string {
  return value.includes('/') ? value : value.split('.').join('/');
}

/** The locality label of a workload (`topology.istio.io/locality` before `istio-locality`), sanitized, or ''. */
export function localityFromLabel(labels: Record<string, string>): string {
  const v = labels[LABEL_LOCALITY] ?? labels[LABEL_LOCALITY_LEGACY];
  return v ? sanitizeLocalityLabel(v) : '';
}

/**
 * A pod's locality as Istio's Kubernetes registry derives it: its locality label, else its node's
 * region, zone and subzone labels (`region/zone/subzone`, '' when the node has none).
 */
export function podLocality(podLabels: Record<string, string>, nodeLabels: Record<string, string> | undefined): string {
  const fromLabel = localityFromLabel(podLabels);
  if (fromLabel) return fromLabel;
  if (!nodeLabels) return '';
  const region = nodeLabels[LABEL_REGION] ?? nodeLabels['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = nodeLabels[LABEL_ZONE] ?? nodeLabels['failure-domain.beta.kubernetes.io/zone'] ?? '';
  const subZone = nodeLabels[LABEL_SUBZONE] ?? '';
  return region || zone || subZone ? `${region}/${zone}/${subZone}` : '';
}

/**
 * The proxy's locality as istiod settles it: the topology labels of the workload first, then its
 * locality label, then the locality the node sent.
 */
export function proxyLocality(proxy: Pick<Proxy, 'labels' | 'locality'>): Locality {
  const l = proxy.labels;
  if (LABEL_REGION in l || LABEL_ZONE in l || LABEL_SUBZONE in l) {
    return { region: l[LABEL_REGION] ?? '', zone: l[LABEL_ZONE] ?? '', subZone: l[LABEL_SUBZONE] ?? '' };
  }
  const fromLabel = localityFromLabel(l);
  if (fromLabel) return parseLocality(fromLabel);
  return { region: proxy.locality?.region ?? '', zone: proxy.locality?.zone ?? '', subZone: proxy.locality?.subZone ?? '' };
}

/**
 * Labels plus the topology labels Istio adds to workloads (its AugmentLabels): region, zone and
 * subzone of the locality, cluster, node host name, and the network unless already labelled.
 */
export function augmentLabels(labels: Record<string, string>, clusterId: string, locality: string, nodeName: string | undefined, network: string | undefined): Record<string, string> {
  const out = { ...labels };
  const { region, zone, subZone } = parseLocality(locality);
  if (region) out[LABEL_REGION] = region;
  if (zone) out[LABEL_ZONE] = zone;
  if (subZone) out[LABEL_SUBZONE] = subZone;
  if (clusterId) out[LABEL_CLUSTER] = clusterId;
  if (nodeName) out[LABEL_HOSTNAME] = nodeName;
  if (network && !out[LABEL_NETWORK]) out[LABEL_NETWORK] = network;
  return out;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined;
}

/** The proxy's labels as failoverPriority compares them (augmented with its topology). */
export function proxyTopologyLabels(proxy: Pick<Proxy, 'labels' | 'locality' | 'clusterId' | 'metadata'>): Record<string, string> {
  return augmentLabels(proxy.labels, proxy.clusterId, localityString(proxyLocality(proxy)), str(proxy.metadata.NODE_NAME), str(proxy.metadata.NETWORK));
}

const endpointLabelCache = new WeakMap<IstioEndpoint, Record<string, string>>();

/** An endpoint's labels as failoverPriority compares them (augmented with its topology, as Istio's registries do). */
export function endpointTopologyLabels(ep: IstioEndpoint): Record<string, string> {
  let out = endpointLabelCache.get(ep);
  if (!out) {
    out = augmentLabels(ep.labels, DEFAULT_CLUSTER_ID, ep.locality ?? '', ep.nodeName, ep.network);
    endpointLabelCache.set(ep, out);
  }
  return out;
}

const TRAFFIC_DISTRIBUTION_ANNOTATION = 'networking.istio.io/traffic-distribution';

function parseTrafficDistribution(value: string): TrafficDistribution {
  switch (value.toLowerCase()) {
    case 'preferclose':
    case 'prefersamezone':
      return 'PreferSameZone';
    case 'prefersamenode':
      return 'PreferSameNode';
    default:
      return 'Any';
  }
}

/**
 * A Kubernetes Service's traffic distribution as Istio reads it: `spec.trafficDistribution`
 * (PreferClose and PreferSameZone prefer the zone, PreferSameNode the node), else the
 * `networking.istio.io/traffic-distribution` annotation of the Service, else of its namespace.
 */
export function trafficDistribution(spec: string | undefined, annotations: Record<string, string>, namespaceAnnotations: Record<string, string> | undefined): TrafficDistribution {
  if (spec === 'PreferClose' || spec === 'PreferSameZone') return 'PreferSameZone';
  if (spec === 'PreferSameNode') return 'PreferSameNode';
  const own = annotations[TRAFFIC_DISTRIBUTION_ANNOTATION];
  if (own) return parseTrafficDistribution(own);
  const ns = namespaceAnnotations?.[TRAFFIC_DISTRIBUTION_ANNOTATION];
  return ns ? parseTrafficDistribution(ns) : 'Any';
}
