// The mesh's view of services and their endpoints, independent of where they came from.

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

export type Resolution = 'ClientSideLB' | 'DNSLB' | 'DNSRoundRobinLB' | 'Passthrough';

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
}

export interface IstioEndpoint {
  address: string;
  /** The port traffic is sent to on the workload. */
  endpointPort: number;
  /** Which service port this endpoint serves. */
  servicePortName: string;
  labels: Record<string, string>;
  serviceAccount?: string;
  locality?: string;
  network?: string;
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
