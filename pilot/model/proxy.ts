// A connected proxy as pilot sees it, decoded from the xDS node (Istio's node id and metadata).
import type { JsonObject } from '@bufbuild/protobuf';

export type ProxyType = 'sidecar' | 'router';

export interface Proxy {
  /** The full node id, e.g. `sidecar~10.1.1.1~reviews-v1-abc.default~default.svc.cluster.local`. */
  id: string;
  type: ProxyType;
  ipAddresses: string[];
  /** `podname.namespace` part of the id. */
  workloadName: string;
  namespace: string;
  dnsDomain: string;
  labels: Record<string, string>;
  /** GENERATOR metadata: `grpc` for proxyless gRPC clients, else Envoy. */
  generator: 'grpc' | 'envoy';
  clusterId: string;
  istioVersion: string;
  serviceAccount?: string;
  metadata: Record<string, unknown>;
  locality?: { region?: string; zone?: string; subZone?: string };
  /** Who the stream authenticated as (the TLS port with the identity check); absent otherwise. */
  verifiedIdentity?: { namespace: string; serviceAccount: string };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/**
 * Decodes a node. Istio's id is `TYPE~IP~POD.NAMESPACE~NAMESPACE.svc.DOMAIN`; metadata
 * (NAMESPACE, LABELS, ...) wins where both say something.
 */
export function proxyFromNode(
  node: { id: string; metadata?: JsonObject; locality?: { region: string; zone: string; subZone: string } },
  domainSuffix = 'cluster.local',
): Proxy {
  const parts = node.id.split('~');
  const md = (node.metadata ?? {}) as Record<string, unknown>;
  const [type, ip, workloadName, domain] = parts.length === 4 ? parts : ['sidecar', '', node.id, ''];
  const nsFromId = workloadName!.includes('.') ? workloadName!.slice(workloadName!.lastIndexOf('.') + 1) : '';
  // An empty NAMESPACE counts as none, as in Istio: the namespace then comes from the node id.
  const namespace = str(md.NAMESPACE) || nsFromId || (domain ? domain.split('.')[0]! : 'default');
  const labels: Record<string, string> = {};
  if (md.LABELS && typeof md.LABELS === 'object') {
    for (const [k, v] of Object.entries(md.LABELS as Record<string, unknown>)) if (typeof v === 'string') labels[k] = v;
  }
  const instanceIps = str(md.INSTANCE_IPS)?.split(',').filter(Boolean);
  const generator = str(md.GENERATOR) === 'grpc' ? 'grpc' : 'envoy';
  const locality = node.locality && (node.locality.region || node.locality.zone || node.locality.subZone) ? node.locality : undefined;
  return {
    id: node.id,
    type: type === 'router' ? 'router' : 'sidecar',
    ipAddresses: instanceIps?.length ? instanceIps : ip ? [ip] : [],
    workloadName: workloadName!,
    namespace,
    dnsDomain: domain || `${namespace}.svc.${domainSuffix}`,
    labels,
    generator,
    clusterId: str(md.CLUSTER_ID) ?? 'Kubernetes',
    istioVersion: str(md.ISTIO_VERSION) ?? '',
    serviceAccount: str(md.SERVICE_ACCOUNT),
    metadata: md,
    locality,
  };
}
