// The mesh's view of services and their endpoints, independent of where they came from.
import { sameElements } from './canonical.js';

export type Protocol =
  | 'HTTP'
  | 'HTTP2'
  | 'GRPC'
  | 'GRPC-Web'
  | 'HTTP_PROXY'
  | 'HTTPS'
  | 'TCP'
  | 'TLS'
  | 'UDP'
  | 'Mongo'
  | 'Redis'
  | 'MySQL'
  | 'UnsupportedProtocol';

const PROTOCOLS: Record<string, Protocol> = {
  http: 'HTTP',
  http2: 'HTTP2',
  grpc: 'GRPC',
  'grpc-web': 'GRPC-Web',
  http_proxy: 'HTTP_PROXY',
  https: 'HTTPS',
  tcp: 'TCP',
  tls: 'TLS',
  udp: 'UDP',
  mongo: 'Mongo',
  redis: 'Redis',
  mysql: 'MySQL',
};

/** Istio's protocol names are case-insensitive; anything else is left to detection. */
export function parseProtocol(name: string | undefined): Protocol {
  return (name && PROTOCOLS[name.toLowerCase()]) || 'UnsupportedProtocol';
}

/** Kubernetes ports: appProtocol wins, then the port-name prefix (`http-web` → HTTP). */
export function kubePortProtocol(name: string | undefined, appProtocol: string | undefined, l4: string | undefined): Protocol {
  if (l4 === 'UDP') return 'UDP';
  if (appProtocol) {
    switch (appProtocol) {
      case 'kubernetes.io/h2c':
        return 'HTTP2';
      case 'kubernetes.io/ws':
        return 'HTTP';
      case 'kubernetes.io/wss':
        return 'HTTPS';
      default:
        return parseProtocol(appProtocol);
    }
  }
  if (!name) return 'UnsupportedProtocol';
  const lower = name.toLowerCase();
  if (lower === 'grpc-web' || lower.startsWith('grpc-web-')) return 'GRPC-Web';
  const dash = lower.indexOf('-');
  return parseProtocol(dash >= 0 ? lower.slice(0, dash) : lower);
}

export function isHttpProtocol(p: Protocol): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-Web' || p === 'HTTP_PROXY';
}

export interface ServicePort {
  name: string;
  port: number;
  protocol: Protocol;
  targetPort?: number | string;
}

/** `Alias`: a Kubernetes ExternalName service naming another service; it takes that service's traffic. */
export type Resolution = 'ClientSideLB' | 'DNSLB' | 'DNSRoundRobinLB' | 'Passthrough' | 'Alias';

/** An ExternalName service that points (maybe through other aliases) at a service. */
export interface ServiceAlias {
  hostname: string;
  namespace: string;
}

export interface Service {
  hostname: string;
  /** The namespace of the object that defined it (Service or ServiceEntry). */
  namespace: string;
  /** The defining object's name. */
  name: string;
  registry: 'Kubernetes' | 'External';
  ports: ServicePort[];
  /** Virtual IPs (cluster IP, ServiceEntry addresses); empty when headless/none. */
  addresses: string[];
  resolution: Resolution;
  meshExternal: boolean;
  /** Namespaces it is visible to: `*` for all, `.` is already resolved to its own namespace. */
  exportTo: Set<string>;
  labels: Record<string, string>;
  /** Pods/workloads selected (Kubernetes selector or ServiceEntry workloadSelector). */
  selector?: Record<string, string>;
  creationTimestamp: string;
  /** The resource that defined it, for debug output and `x trace`. */
  origin: { kind: string; namespace: string; name: string };
  /** Kubernetes ExternalName services (resolution `Alias`): the host they point at. */
  externalName?: string;
  /** The ExternalName services pointing at this one, sorted by namespace then hostname. */
  aliases?: ServiceAlias[];
  /**
   * Addresses Istio's registry allocated to a ServiceEntry without any (240.240.x.y, 2001:2::f0f0:z):
   * used only by proxies that resolve DNS through the Istio agent (see model/addresses.ts).
   */
  autoAllocatedAddresses?: string[];
  /** Kubernetes `spec.trafficDistribution` (or Istio's annotation): locality preference without a DestinationRule. */
  trafficDistribution?: 'Any' | 'PreferSameZone' | 'PreferSameNode';
}

/** Services built from registry services (merged ports, fewer aliases) → the registry services they stand for. */
const derivedFrom = new WeakMap<Service, readonly Service[]>();

interface Derivation {
  changes: Partial<Service>;
  also: readonly Service[];
  service: Service;
}

/**
 * Services derived from each base, most recently used last. Sidecar scopes and same-host merges
 * are rebuilt every push; handing back the earlier copy for the same base and the same changes
 * (the same objects) makes a narrowed or merged service as stable across pushes as the registry
 * services it comes from, so output keyed by service identity carries over for it too.
 */
const derivations = new WeakMap<Service, Derivation[]>();
/**
 * Derivations kept per base, least recently used dropped first. A base has about as many
 * narrowings at a time as port subsets that scopes name (Sidecar egress ports, VirtualService
 * destination ports, imported aliases); more than this in use at once would evict each other
 * every push (correct, but nothing carries over). Dropped or outdated ones live until evicted or
 * until the base itself changes.
 */
const DERIVATIONS_PER_BASE = 32;

function sameChanges(a: Partial<Service>, b: Partial<Service>): boolean {
  const keys = Object.keys(a) as (keyof Service)[];
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) {
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    if (!Array.isArray(x) || !Array.isArray(y) || !sameElements<unknown>(x, y)) return false;
  }
  return true;
}

/**
 * A copy of `base` with `changes`, standing for `base` (and `also`, when several registry services
 * are merged into one): its endpoints are theirs. The same base with changes made of the same
 * objects gives the same copy, in this push and in later ones, so neither the copy nor the lists
 * in `changes` (which it holds) may ever be written to.
 */
export function deriveService(base: Service, changes: Partial<Service>, also: readonly Service[] = []): Service {
  let kept = derivations.get(base);
  const at = kept?.findIndex((d) => sameElements(d.also, also) && sameChanges(d.changes, changes)) ?? -1;
  if (kept && at >= 0) {
    const [hit] = kept.splice(at, 1);
    kept.push(hit!);
    return hit!.service;
  }
  const service: Service = { ...base, ...changes };
  derivedFrom.set(service, [base, ...also].flatMap(serviceSources));
  if (!kept) derivations.set(base, (kept = []));
  kept.push({ changes, also, service });
  if (kept.length > DERIVATIONS_PER_BASE) kept.shift();
  return service;
}

/** The registry services a service stands for: itself unless it was derived from others. */
export function serviceSources(svc: Service): readonly Service[] {
  return derivedFrom.get(svc) ?? [svc];
}

export interface IstioEndpoint {
  address: string;
  /** The port traffic is sent to on the workload. */
  endpointPort: number;
  /** Which service port this endpoint serves. */
  servicePortName: string;
  labels: Record<string, string>;
  serviceAccount?: string;
  /** `region/zone/subzone` */
  locality?: string;
  network?: string;
  /** The Kubernetes node the workload runs on (its `kubernetes.io/hostname` topology label). */
  nodeName?: string;
  weight?: number;
  healthy: boolean;
  /** The workload object behind it (Pod or WorkloadEntry), if known. */
  workload?: { kind: string; namespace: string; name: string };
}

export function servicePortByNumber(svc: Service, port: number): ServicePort | undefined {
  return svc.ports.find((p) => p.port === port);
}

export function isVisibleTo(svc: { exportTo: Set<string>; namespace: string }, namespace: string): boolean {
  return svc.exportTo.has('*') || svc.exportTo.has(namespace);
}

/** Resolves exportTo values the way Istio does: `.` is the object's own namespace, empty means `*`. */
export function resolveExportTo(exportTo: readonly string[] | undefined, ownNamespace: string, defaults: readonly string[] = ['*']): Set<string> {
  const values = exportTo && exportTo.length ? exportTo : defaults;
  return new Set(values.map((v) => (v === '.' ? ownNamespace : v)));
}

export function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

function sameRecord(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => b?.[k] === a?.[k]);
}

/**
 * Istio's sidecar scope merges services of one host and namespace (several ServiceEntries naming
 * the same host with different ports): the first keeps its attributes and gains the ports it
 * lacks. Undefined when they may not be merged (Istio then keeps the first).
 */
export function mergeSameHostServices(existing: Service, next: Service): Service | undefined {
  if (existing.namespace !== next.namespace || existing.resolution !== next.resolution || existing.registry !== next.registry) return undefined;
  if (!sameRecord(existing.labels, next.labels) || !sameRecord(existing.selector, next.selector)) return undefined;
  if (existing.exportTo.size !== next.exportTo.size || [...existing.exportTo].some((e) => !next.exportTo.has(e))) return undefined;
  // Endpoints are Istio's per host and namespace: the merged service has both services' endpoints.
  const added = next.ports.filter((p) => !existing.ports.some((q) => q.port === p.port));
  return deriveService(existing, { ports: [...existing.ports, ...added] }, [next]);
}
