// The subset of Istio's MeshConfig that translation reads, with Istio's defaults.
import type { HTTPRoute, LoadBalancerSettings, LocalityLoadBalancerSetting } from '../config/schema/networking.js';
import type { LabelSelector } from '../config/schema/gateway-api.js';

/**
 * How a sidecar treats destinations it knows nothing about: ALLOW_ANY passes them through,
 * REGISTRY_ONLY drops them, ALLOW_ANY_DYNAMIC_DNS resolves plaintext HTTP by its Host header
 * (a dynamic forward proxy) and passes everything else through. The last is mesh-wide only: a
 * Sidecar resource cannot ask for it.
 */
export type OutboundTrafficPolicyMode = 'ALLOW_ANY' | 'REGISTRY_ONLY' | 'ALLOW_ANY_DYNAMIC_DNS';

export const OUTBOUND_TRAFFIC_POLICY_MODES: readonly OutboundTrafficPolicyMode[] = ['REGISTRY_ONLY', 'ALLOW_ANY', 'ALLOW_ANY_DYNAMIC_DNS'];

/** MeshConfig.pathNormalization.normalization (Istio's DEFAULT is BASE). */
export type PathNormalization = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';

export const PATH_NORMALIZATIONS: readonly PathNormalization[] = ['BASE', 'NONE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];

export interface MeshConfig {
  rootNamespace: string;
  trustDomain: string;
  /** Former or other trust domains whose identities count as the mesh's own in authorization policies. */
  trustDomainAliases: string[];
  /** MeshConfig.extensionProviders as proto-JSON (CUSTOM authorization reads the ext_authz ones). */
  extensionProviders: Record<string, unknown>[];
  outboundTrafficPolicy: OutboundTrafficPolicyMode;
  defaultServiceExportTo: string[];
  defaultVirtualServiceExportTo: string[];
  defaultDestinationRuleExportTo: string[];
  /** Envoy's per-connection connect timeout for generated clusters. */
  connectTimeoutSeconds: number;
  /** How long listeners wait to sniff a protocol; 0 disables the wait (Istio's default). */
  protocolDetectionTimeoutSeconds: number;
  /** PASSTHROUGH keeps the original destination address for inbound traffic; LOCALHOST sends it to 127.0.0.1. */
  inboundTrafficPolicy: 'PASSTHROUGH' | 'LOCALHOST';
  /** Mesh-wide locality load balancing (DestinationRules override it); Istio's default `{enabled: true}` fails over only with outlier detection. */
  localityLbSetting?: LocalityLoadBalancerSetting;
  /** Mesh-wide zone-aware load balancing; wins over `localityLbSetting` when both are set. */
  zoneAwareLbSetting?: LoadBalancerSettings['zoneAwareLbSetting'];
  /** How HTTP connection managers normalize request paths. */
  pathNormalization: PathNormalization;
  /** Retries for HTTP routes whose VirtualService sets none (and routes without a VirtualService); absent: Istio's built-in default. */
  defaultHttpRetryPolicy?: HTTPRoute['retries'];
  /** Namespaces whose objects the control plane reads in a cluster: those matching any selector (none: all). */
  discoverySelectors: LabelSelector[];
}

export function defaultMeshConfig(): MeshConfig {
  return {
    rootNamespace: 'istio-system',
    trustDomain: 'cluster.local',
    trustDomainAliases: [],
    extensionProviders: [],
    outboundTrafficPolicy: 'ALLOW_ANY',
    defaultServiceExportTo: ['*'],
    defaultVirtualServiceExportTo: ['*'],
    defaultDestinationRuleExportTo: ['*'],
    connectTimeoutSeconds: 10,
    protocolDetectionTimeoutSeconds: 0,
    inboundTrafficPolicy: 'PASSTHROUGH',
    localityLbSetting: { enabled: true },
    pathNormalization: 'BASE',
    discoverySelectors: [],
  };
}
