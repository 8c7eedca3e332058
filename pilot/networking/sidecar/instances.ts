// The services this proxy itself serves: endpoints whose address is one of the proxy's IPs.
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import type { IstioEndpoint, Service, ServicePort } from '../../model/service.js';

export interface ServiceInstance {
  service: Service;
  port: ServicePort;
  endpoint: IstioEndpoint;
}

export function proxyServiceInstances(push: PushContext, proxy: Proxy): ServiceInstance[] {
  if (proxy.ipAddresses.length === 0) return [];
  const ips = new Set(proxy.ipAddresses);
  const out: ServiceInstance[] = [];
  for (const service of push.registry.services) {
    if (service.namespace !== proxy.namespace && service.registry === 'Kubernetes') continue;
    for (const endpoint of push.endpoints(service)) {
      if (!ips.has(endpoint.address)) continue;
      const port = service.ports.find((p) => p.name === endpoint.servicePortName);
      if (port) out.push({ service, port, endpoint });
    }
  }
  return out;
}
