// Services and endpoints from Kubernetes objects: Service, EndpointSlice and Pod (for labels
// and service accounts, which subsets and identities need).
import type { ConfigStore } from '../config/store.js';
import type { Resource } from '../config/resource.js';
import type { EndpointSliceBody, PodBody, ServiceSpec } from '../config/schema/kubernetes.js';
import { kubePortProtocol, resolveExportTo, type IstioEndpoint, type Service } from '../model/service.js';
import { podLocality, trafficDistribution } from '../model/locality.js';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';

export interface RegistryOptions {
  domainSuffix: string;
  /**
   * Whether ServiceEntry addresses are left to Istio's allocating controller (its
   * PILOT_ENABLE_IP_AUTOALLOCATE, the default) rather than allocated in the registry.
   */
  ipAutoallocateController?: boolean;
}

export function kubeServices(store: ConfigStore, opts: RegistryOptions): { services: Service[]; endpoints: Map<Service, IstioEndpoint[]> } {
  const pods = new Map<string, Resource<PodBody>>();
  for (const pod of store.list<PodBody>('Pod')) pods.set(`${pod.meta.namespace}/${pod.meta.name}`, pod);

  const slicesByService = new Map<string, Resource<EndpointSliceBody>[]>();
  for (const slice of store.list<EndpointSliceBody>('EndpointSlice')) {
    const svcName = slice.meta.labels[SERVICE_NAME_LABEL];
    if (!svcName) continue;
    const key = `${slice.meta.namespace}/${svcName}`;
    let list = slicesByService.get(key);
    if (!list) slicesByService.set(key, (list = []));
    list.push(slice);
  }

  const nodes = new Map<string, Record<string, string>>();
  for (const node of store.list('Node')) nodes.set(node.meta.name, node.meta.labels);
  const namespaces = new Map<string, Record<string, string>>();
  for (const ns of store.list('Namespace')) namespaces.set(ns.meta.name, ns.meta.annotations);

  const services: Service[] = [];
  const endpoints = new Map<Service, IstioEndpoint[]>();
  for (const res of store.list<ServiceSpec>('Service')) {
    const spec = res.spec;
    const { name, namespace } = res.meta;
    const exportAnnotation = res.meta.annotations[EXPORT_TO_ANNOTATION];
    const clusterIP = spec.clusterIP && spec.clusterIP !== 'None' ? spec.clusterIP : undefined;
    // ExternalName services alias the service of that host (registry/aliases.ts); a headless one stays headless.
    const externalName = spec.type === 'ExternalName' && spec.externalName ? spec.externalName : undefined;
    const svc: Service = {
      hostname: `${name}.${namespace}.svc.${opts.domainSuffix}`,
      namespace,
      name,
      registry: 'Kubernetes',
      ports: (spec.ports ?? []).map((p) => ({
        name: p.name ?? '',
        port: p.port!,
        protocol: kubePortProtocol(p.name, p.appProtocol, p.protocol),
        targetPort: p.targetPort,
      })),
      addresses: clusterIP ? [clusterIP] : [],
      resolution: spec.clusterIP === 'None' ? 'Passthrough' : externalName ? 'Alias' : clusterIP ? 'ClientSideLB' : 'Passthrough',
      meshExternal: !!externalName,
      exportTo: resolveExportTo(exportAnnotation ? exportAnnotation.split(',').map((s) => s.trim()) : undefined, namespace),
      labels: res.meta.labels,
      selector: spec.selector,
      creationTimestamp: res.meta.creationTimestamp ?? '',
      origin: { kind: 'Service', namespace, name },
      externalName,
    };
    const distribution = trafficDistribution(spec.trafficDistribution, res.meta.annotations, namespaces.get(namespace));
    if (distribution !== 'Any') svc.trafficDistribution = distribution;
    services.push(svc);
    endpoints.set(svc, sliceEndpoints(svc, slicesByService.get(`${namespace}/${name}`) ?? [], pods, nodes));
  }
  return { services, endpoints };
}

function sliceEndpoints(svc: Service, slices: Resource<EndpointSliceBody>[], pods: Map<string, Resource<PodBody>>, nodes: Map<string, Record<string, string>>): IstioEndpoint[] {
  const out: IstioEndpoint[] = [];
  for (const slice of slices) {
    for (const sp of slice.spec.ports ?? []) {
      // A slice port serves the service port of the same name (both empty for single-port services).
      const servicePort = svc.ports.find((p) => p.name === (sp.name ?? ''));
      if (!servicePort || sp.port === undefined) continue;
      for (const ep of slice.spec.endpoints ?? []) {
        const ref = ep.targetRef;
        const pod = ref?.kind === 'Pod' ? pods.get(`${ref.namespace ?? slice.meta.namespace}/${ref.name}`) : undefined;
        // Istio takes locality from the pod (its locality label, else its node), never the slice's zone.
        const nodeName = pod?.spec.spec?.nodeName || undefined;
        const locality = pod ? podLocality(pod.meta.labels, nodeName ? nodes.get(nodeName) : undefined) : '';
        for (const address of ep.addresses ?? []) {
          out.push({
            address,
            endpointPort: sp.port,
            servicePortName: servicePort.name,
            labels: pod?.meta.labels ?? {},
            serviceAccount: pod ? pod.spec.spec?.serviceAccountName || 'default' : undefined,
            locality: locality || undefined,
            ...(nodeName ? { nodeName } : {}),
            healthy: ep.conditions?.ready ?? true,
            workload: pod ? { kind: 'Pod', namespace: pod.meta.namespace, name: pod.meta.name } : undefined,
          });
        }
      }
    }
  }
  return out;
}
