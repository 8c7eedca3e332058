// Services and endpoints from Kubernetes objects: Service, EndpointSlice and Pod (for labels
// and service accounts, which subsets and identities need).
import type { ConfigStore } from '../config/store.js';
import type { Resource } from '../config/resource.js';
import type { EndpointSliceBody, PodBody, ServiceSpec } from '../config/schema/kubernetes.js';
import { kubePortProtocol, resolveExportTo, type IstioEndpoint, type Service } from '../model/service.js';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';

export interface RegistryOptions {
  domainSuffix: string;
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

  const services: Service[] = [];
  const endpoints = new Map<Service, IstioEndpoint[]>();
  for (const res of store.list<ServiceSpec>('Service')) {
    const spec = res.spec;
    const { name, namespace } = res.meta;
    const exportAnnotation = res.meta.annotations[EXPORT_TO_ANNOTATION];
    const clusterIP = spec.clusterIP && spec.clusterIP !== 'None' ? spec.clusterIP : undefined;
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
      resolution: spec.type === 'ExternalName' ? 'DNSLB' : clusterIP ? 'ClientSideLB' : 'Passthrough',
      meshExternal: spec.type === 'ExternalName',
      exportTo: resolveExportTo(exportAnnotation ? exportAnnotation.split(',').map((s) => s.trim()) : undefined, namespace),
      labels: res.meta.labels,
      selector: spec.selector,
      creationTimestamp: res.meta.creationTimestamp ?? '',
      origin: { kind: 'Service', namespace, name },
    };
    services.push(svc);
    endpoints.set(svc, sliceEndpoints(svc, slicesByService.get(`${namespace}/${name}`) ?? [], pods));
  }
  return { services, endpoints };
}

function sliceEndpoints(svc: Service, slices: Resource<EndpointSliceBody>[], pods: Map<string, Resource<PodBody>>): IstioEndpoint[] {
  const out: IstioEndpoint[] = [];
  for (const slice of slices) {
    for (const sp of slice.spec.ports ?? []) {
      // A slice port serves the service port of the same name (both empty for single-port services).
      const servicePort = svc.ports.find((p) => p.name === (sp.name ?? ''));
      if (!servicePort || sp.port === undefined) continue;
      for (const ep of slice.spec.endpoints ?? []) {
        const ref = ep.targetRef;
        const pod = ref?.kind === 'Pod' ? pods.get(`${ref.namespace ?? slice.meta.namespace}/${ref.name}`) : undefined;
        for (const address of ep.addresses ?? []) {
          out.push({
            address,
            endpointPort: sp.port,
            servicePortName: servicePort.name,
            labels: pod?.meta.labels ?? {},
            serviceAccount: pod ? pod.spec.spec?.serviceAccountName || 'default' : undefined,
            locality: ep.zone ? `${ep.zone}` : undefined,
            healthy: ep.conditions?.ready ?? true,
            workload: pod ? { kind: 'Pod', namespace: pod.meta.namespace, name: pod.meta.name } : undefined,
          });
        }
      }
    }
  }
  return out;
}
