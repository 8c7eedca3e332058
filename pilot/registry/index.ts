// The aggregated service registry: one immutable index over every source of services.
import type { ConfigStore } from '../config/store.js';
import type { IstioEndpoint, Service } from '../model/service.js';
import { Canon, deepEqual } from '../model/canonical.js';
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

/** Each index's services by key and endpoints by service, for the next index to take unchanged ones over (see model/canonical.ts). */
const tables = new WeakMap<ServiceIndex, { services: ReadonlyMap<string, Service>; endpoints: ReadonlyMap<Service, readonly IstioEndpoint[]> }>();

/** One empty list for every service without endpoints: generators key shared output by the list's identity. */
const NO_ENDPOINTS: readonly IstioEndpoint[] = Object.freeze([]);

/** `previous`: the index of the push before; services equal to one of it are that very object. */
export function buildServiceIndex(store: ConfigStore, opts: RegistryOptions, previous?: ServiceIndex): ServiceIndex {
  const kube = kubeServices(store, opts);
  const external = serviceEntryServices(store);
  if (!(opts.ipAutoallocateController ?? ipAutoallocateController())) autoAllocateAddresses(external.services);
  const built = [...kube.services, ...external.services];
  resolveServiceAliases(built);
  // Only now, with every field filled in: an object taken over is never written to again.
  const before = previous && tables.get(previous);
  const canon = new Canon<Service>(before?.services);
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
  const endpoints = new Map<Service, readonly IstioEndpoint[]>();
  for (const [svc, eps] of [...kube.endpoints, ...external.endpoints]) {
    const same = canonical.get(svc) ?? svc;
    // An unchanged list of an unchanged service is the previous list: output keyed by it is kept (EDS).
    const was = before?.endpoints.get(same);
    endpoints.set(same, was && deepEqual(was, eps) ? was : eps);
  }
  const index: ServiceIndex = {
    services,
    byHostname,
    endpoints: (svc) => endpoints.get(svc) ?? NO_ENDPOINTS,
  };
  tables.set(index, { services: canon.table, endpoints });
  return index;
}
