// The subset of Istio's MeshConfig that translation reads, with Istio's defaults.

export interface MeshConfig {
  rootNamespace: string;
  trustDomain: string;
  outboundTrafficPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  defaultServiceExportTo: string[];
  defaultVirtualServiceExportTo: string[];
  defaultDestinationRuleExportTo: string[];
  /** Envoy's per-connection connect timeout for generated clusters. */
  connectTimeoutSeconds: number;
}

export function defaultMeshConfig(): MeshConfig {
  return {
    rootNamespace: 'istio-system',
    trustDomain: 'cluster.local',
    outboundTrafficPolicy: 'ALLOW_ANY',
    defaultServiceExportTo: ['*'],
    defaultVirtualServiceExportTo: ['*'],
    defaultDestinationRuleExportTo: ['*'],
    connectTimeoutSeconds: 10,
  };
}
