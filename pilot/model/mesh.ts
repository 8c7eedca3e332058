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
  /** How long listeners wait to sniff a protocol; 0 disables the wait (Istio's default). */
  protocolDetectionTimeoutSeconds: number;
  /** PASSTHROUGH keeps the original destination address for inbound traffic; LOCALHOST sends it to 127.0.0.1. */
  inboundTrafficPolicy: 'PASSTHROUGH' | 'LOCALHOST';
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
    protocolDetectionTimeoutSeconds: 0,
    inboundTrafficPolicy: 'PASSTHROUGH',
  };
}
