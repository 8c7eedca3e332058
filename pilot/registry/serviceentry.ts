// Services and endpoints from ServiceEntry, with inline endpoints or WorkloadEntries/Pods
// selected by workloadSelector.
import type { ConfigStore } from '../config/store.js';
import type { Resource } from '../config/resource.js';
import type { PodBody } from '../config/schema/kubernetes.js';
import type * as net from '../config/schema/networking.js';
import {
  labelsMatch,
  parseProtocol,
  resolveExportTo,
  type IstioEndpoint,
  type Resolution,
  type Service,
} from '../model/service.js';
import { localityFromLabel, podLocality } from '../model/locality.js';

const RESOLUTIONS: Record<string, Resolution> = {
  NONE: 'Passthrough',
  STATIC: 'ClientSideLB',
  DNS: 'DNSLB',
  DNS_ROUND_ROBIN: 'DNSRoundRobinLB',
  DYNAMIC_DNS: 'DNSLB',
};

interface Workload {
  address: string;
  ports: Record<string, number>;
  labels: Record<string, string>;
  serviceAccount?: string;
  locality?: string;
  network?: string;
  nodeName?: string;
  weight?: number;
  ref?: { kind: string; namespace: string; name: string };
}

export function serviceEntryServices(store: ConfigStore): { services: Service[]; endpoints: Map<Service, IstioEndpoint[]> } {
  const services: Service[] = [];
  const endpoints = new Map<Service, IstioEndpoint[]>();
  const workloadsByNs = new Map<string, Workload[]>();
  const workloadsIn = (ns: string): Workload[] => {
    let list = workloadsByNs.get(ns);
    if (!list) {
      list = [
        ...store.list<net.WorkloadEntry>('WorkloadEntry', ns).map((we) => fromEntry(we.spec, { kind: 'WorkloadEntry', namespace: ns, name: we.meta.name }, we.meta.labels)),
        ...store.list<PodBody>('Pod', ns).flatMap((pod) => fromPod(pod, store.get('Node', '', pod.spec.spec?.nodeName ?? '')?.meta.labels)),
      ];
      workloadsByNs.set(ns, list);
    }
    return list;
  };

  for (const res of store.list<net.ServiceEntry>('ServiceEntry')) {
    const se = res.spec;
    const ns = res.meta.namespace;
    const resolution = RESOLUTIONS[se.resolution ?? 'NONE'] ?? 'Passthrough';
    const ports = (se.ports ?? []).map((p) => ({
      name: p.name ?? '',
      port: p.number!,
      protocol: parseProtocol(p.protocol),
      targetPort: p.targetPort,
    }));
    const workloads: Workload[] = se.workloadSelector
      ? workloadsIn(ns).filter((w) => labelsMatch(se.workloadSelector!.labels, w.labels))
      : (se.endpoints ?? []).map((ep) => fromEntry(ep));

    for (const host of se.hosts ?? []) {
      const svc: Service = {
        hostname: host,
        namespace: ns,
        name: res.meta.name,
        registry: 'External',
        ports,
        // CIDR addresses are kept: outbound listeners match them as destination prefix ranges.
        addresses: se.addresses ?? [],
        resolution,
        meshExternal: se.location !== 'MESH_INTERNAL',
        exportTo: resolveExportTo(se.exportTo, ns),
        labels: res.meta.labels,
        selector: se.workloadSelector?.labels,
        creationTimestamp: res.meta.creationTimestamp ?? '',
        origin: { kind: 'ServiceEntry', namespace: ns, name: res.meta.name },
      };
      services.push(svc);

      const eps: IstioEndpoint[] = [];
      // DNS resolution without endpoints resolves the host itself.
      const targets: Workload[] =
        workloads.length === 0 && !se.workloadSelector && resolution === 'DNSLB' && !host.startsWith('*')
          ? [{ address: host, ports: {}, labels: {} }]
          : workloads;
      for (const w of targets) {
        for (const port of ports) {
          eps.push({
            address: w.address,
            endpointPort: w.ports[port.name] ?? (typeof port.targetPort === 'number' ? port.targetPort : undefined) ?? port.port,
            servicePortName: port.name,
            labels: w.labels,
            serviceAccount: w.serviceAccount,
            locality: w.locality,
            network: w.network,
            weight: w.weight,
            ...(w.nodeName ? { nodeName: w.nodeName } : {}),
            healthy: true,
            workload: w.ref,
          });
        }
      }
      endpoints.set(svc, eps);
    }
  }
  return { services, endpoints };
}

function fromEntry(we: net.WorkloadEntry, ref?: Workload['ref'], metaLabels: Record<string, string> = {}): Workload {
  return {
    address: we.address ?? '',
    ports: we.ports ?? {},
    // A WorkloadEntry's labels are its spec labels merged over its metadata labels.
    labels: { ...metaLabels, ...(we.labels ?? {}) },
    serviceAccount: we.serviceAccount,
    // Without a locality, the workload's locality label gives it.
    locality: we.locality || localityFromLabel({ ...metaLabels, ...(we.labels ?? {}) }) || undefined,
    network: we.network,
    weight: we.weight,
    ref,
  };
}

/**
 * Whether a pod serves traffic, as istiod decides it for workload entries: it has an IP, is
 * neither finished nor being deleted, and is Ready (a pod written without conditions, as in a
 * config directory, counts as ready).
 */
function podServes(pod: Resource<PodBody>): boolean {
  const status = pod.spec.status;
  if (!status?.podIP || pod.meta.deletionTimestamp) return false;
  if (status.phase === 'Failed' || status.phase === 'Succeeded') return false;
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  return !ready || ready.status === 'True';
}

function fromPod(pod: Resource<PodBody>, nodeLabels: Record<string, string> | undefined): Workload[] {
  if (!podServes(pod)) return [];
  const ip = pod.spec.status!.podIP!;
  return [
    {
      address: ip,
      ports: {},
      labels: pod.meta.labels,
      serviceAccount: pod.spec.spec?.serviceAccountName || 'default',
      locality: podLocality(pod.meta.labels, nodeLabels) || undefined,
      nodeName: pod.spec.spec?.nodeName || undefined,
      ref: { kind: 'Pod', namespace: pod.meta.namespace, name: pod.meta.name },
    },
  ];
}
