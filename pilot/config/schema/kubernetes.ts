// The parts of core Kubernetes kinds that Isthmus reads. Unknown fields are kept silently:
// real objects carry status, managedFields and many fields the mesh does not use.
import { s, type Infer } from './dsl.js';

const loose = { allowUnknown: true } as const;

export const ServicePort = s.object(
  {
    name: s.string(),
    port: s.int32().refine((p) => (p >= 1 && p <= 65535 ? undefined : `port ${p} is not in 1..65535`)),
    targetPort: s.intOrString(),
    protocol: s.enum('TCP', 'UDP', 'SCTP'),
    appProtocol: s.string(),
    nodePort: s.int32(),
  },
  { ...loose, required: ['port'] },
);

export const ServiceSpec = s.object(
  {
    ports: s.list(ServicePort),
    selector: s.map(s.string()),
    clusterIP: s.string(),
    clusterIPs: s.list(s.string()),
    type: s.enum('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'),
    externalName: s.string(),
    externalIPs: s.list(s.string()),
    trafficDistribution: s.string(),
  },
  loose,
);

export const EndpointSliceBody = s.object(
  {
    addressType: s.enum('IPv4', 'IPv6', 'FQDN'),
    endpoints: s.list(
      s.object(
        {
          addresses: s.list(s.string()),
          conditions: s.object({ ready: s.bool(), serving: s.bool(), terminating: s.bool() }, loose),
          hostname: s.string(),
          nodeName: s.string(),
          zone: s.string(),
          targetRef: s.object({ kind: s.string(), name: s.string(), namespace: s.string() }, loose),
        },
        { ...loose, required: ['addresses'] },
      ),
    ),
    ports: s.list(s.object({ name: s.string(), port: s.int32(), protocol: s.string(), appProtocol: s.string() }, loose)),
  },
  { ...loose, required: ['addressType'] },
);

export const PodBody = s.object(
  {
    spec: s.object({ serviceAccountName: s.string(), nodeName: s.string(), hostNetwork: s.bool() }, loose),
    status: s.object(
      {
        podIP: s.string(),
        podIPs: s.list(s.object({ ip: s.string() }, loose)),
        phase: s.string(),
        conditions: s.list(s.object({ type: s.string(), status: s.string() }, loose)),
      },
      loose,
    ),
  },
  loose,
);

export const NamespaceBody = s.object({}, loose);

/** Only a node's labels are read (region, zone, subzone: the locality of its pods). */
export const NodeBody = s.object({}, loose);

export type PodBody = Infer<typeof PodBody>;
export type ServicePort = Infer<typeof ServicePort>;
export type ServiceSpec = Infer<typeof ServiceSpec>;
export type EndpointSliceBody = Infer<typeof EndpointSliceBody>;
