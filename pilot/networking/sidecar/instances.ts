// The services this proxy itself serves: endpoints whose address is one of the proxy's IPs.
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import type { IstioEndpoint, Service, ServicePort } from '../../model/service.js';

export interface ServiceInstance {
  service: Service;
  port: ServicePort;
  endpoint: IstioEndpoint;
}

/** Every instance by endpoint address, in registry order (`seq`), built once per push. */
function instancesByAddress(push: PushContext): Map<string, { seq: number; inst: ServiceInstance }[]> {
  return push.memo('instances/byAddress', () => {
    const index = new Map<string, { seq: number; inst: ServiceInstance }[]>();
    let seq = 0;
    for (const service of push.registry.services) {
      for (const endpoint of push.endpoints(service)) {
        const port = service.ports.find((p) => p.name === endpoint.servicePortName);
        if (!port) continue;
        let list = index.get(endpoint.address);
        if (!list) index.set(endpoint.address, (list = []));
        list.push({ seq: seq++, inst: { service, port, endpoint } });
      }
    }
    return index;
  });
}

export function proxyServiceInstances(push: PushContext, proxy: Proxy): ServiceInstance[] {
  if (proxy.ipAddresses.length === 0) return [];
  const index = instancesByAddress(push);
  const found = [...new Set(proxy.ipAddresses)].flatMap((ip) => index.get(ip) ?? []);
  if (proxy.ipAddresses.length > 1) found.sort((a, b) => a.seq - b.seq);
  return found.map((f) => f.inst).filter(({ service }) => !(service.namespace !== proxy.namespace && service.registry === 'Kubernetes'));
}
