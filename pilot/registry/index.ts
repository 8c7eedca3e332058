// The aggregated service registry: one immutable index over every source of services.
import type { ConfigStore } from '../config/store.js';
import type { IstioEndpoint, Service } from '../model/service.js';
import { Canon } from '../model/canonical.js';
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

/** Each index's services by key, for the next index to take unchanged ones over (see model/canonical.ts). */
const tables = new WeakMap<ServiceIndex, ReadonlyMap<string, Service>>();

/** `previous`: the index of the push before; services equal to one of it are that very object. */
export function buildServiceIndex(store: ConfigStore, opts: RegistryOptions, previous?: ServiceIndex): ServiceIndex {
  const kube = kubeServices(store, opts);
  const external = serviceEntryServices(store);
  if (!(opts.ipAutoallocateController ?? ipAutoallocateController())) autoAllocateAddresses(external.services);
  const built = [...kube.services, ...external.services];
  resolveServiceAliases(built);
  // Only now, with every field filled in: an object taken over is never written to again.
  const canon = new Canon<Service>(previous && tables.get(previous));
  const canonical = new Map<Service, Service>();
  const services = built.map((svc) => {
    const out = canon.of(`${svc.registry}|${svc.namespace}|${svc.name}|${svc.hostname}`, svc);
    canonical.set(svc, out);
    return out;
  });
  const byHostname = new Map<string, Service[]>();
  for (const svc of services) {
    let list = byHostname.get(svc.hostname);
    if (!list) byHostname.set(svc.hostname, (list = []));
    list.push(svc);
  }
  const endpoints = new Map<Service, IstioEndpoint[]>();
  for (const [svc, eps] of [...kube.endpoints, ...external.endpoints]) endpoints.set(canonical.get(svc) ?? svc, eps);
  const index: ServiceIndex = {
    services,
    byHostname,
    endpoints: (svc) => endpoints.get(svc) ?? [],
  };
  tables.set(index, canon.table);
  return index;
}
