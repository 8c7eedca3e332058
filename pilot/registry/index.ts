// The aggregated service registry: one immutable index over every source of services.
import type { ConfigStore } from '../config/store.js';
import type { IstioEndpoint, Service } from '../model/service.js';
import { ipAutoallocateController } from '../model/features.js';
import { resolveServiceAliases } from './aliases.js';
import { autoAllocateAddresses } from './auto-allocate.js';
import { kubeServices, type RegistryOptions } from './kube.js';
import { serviceEntryServices } from './serviceentry.js';

export type { RegistryOptions };

export interface ServiceIndex {
  /** Kubernetes services first, then ServiceEntries, each oldest first. */
  readonly services: readonly Service[];
  readonly byHostname: ReadonlyMap<string, readonly Service[]>;
  endpoints(svc: Service): readonly IstioEndpoint[];
}

export function buildServiceIndex(store: ConfigStore, opts: RegistryOptions): ServiceIndex {
  const kube = kubeServices(store, opts);
  const external = serviceEntryServices(store);
  if (!(opts.ipAutoallocateController ?? ipAutoallocateController())) autoAllocateAddresses(external.services);
  const services = [...kube.services, ...external.services];
  resolveServiceAliases(services);
  const byHostname = new Map<string, Service[]>();
  for (const svc of services) {
    let list = byHostname.get(svc.hostname);
    if (!list) byHostname.set(svc.hostname, (list = []));
    list.push(svc);
  }
  const endpoints = new Map<Service, IstioEndpoint[]>([...kube.endpoints, ...external.endpoints]);
  return {
    services,
    byHostname,
    endpoints: (svc) => endpoints.get(svc) ?? [],
  };
}
