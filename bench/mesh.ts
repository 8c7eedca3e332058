// Synthetic meshes for benchmarks: M Kubernetes services (Service + Pods + EndpointSlice), a
// VirtualService and DestinationRule on a share of them, spread over a few namespaces.

export interface MeshSize {
  services: number;
  endpointsPerService: number;
  /** Fraction of services with a VirtualService (weighted subsets) and a DestinationRule. */
  routedShare: number;
  /** Namespaces the services are spread over (`ns-0` ...); default 10. */
  namespaces?: number;
  /**
   * Istio's advice for large meshes: a Sidecar per namespace limiting what its proxies see to
   * their own namespace and the mesh's shared (hot) services. Default: no Sidecar, every proxy
   * sees every service.
   */
  scoped?: boolean;
}

/** Services every namespace calls (and sees, in a scoped mesh): the first few, all routed. */
export function hotServices(size: MeshSize): number[] {
  const n = Math.max(1, Math.min(10, Math.ceil(size.services * size.routedShare)));
  return Array.from({ length: Math.min(n, size.services) }, (_, i) => i);
}

/** One Sidecar per namespace (scoped meshes): egress to the namespace itself and the hot services. */
export function sidecarDocs(size: MeshSize): string[] {
  const namespaces = size.namespaces ?? 10;
  const hot = hotServices(size).map((i) => `${serviceNamespace(i, size)}/${serviceHost(i, size)}`);
  const docs: string[] = [];
  for (let k = 0; k < Math.min(namespaces, size.services); k++) {
    docs.push(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: ns-${k}}
spec:
  egress:
  - hosts: [${['./*', ...hot].map((h) => JSON.stringify(h)).join(', ')}]`);
  }
  return docs;
}

/** What the load simulator changes in a service between pushes. */
export interface ServiceState {
  /** The VirtualService's v1/v2 weights (default 90/10). */
  weights?: [number, number];
  /** Endpoints (by index) whose pod moved to another IP. */
  moved?: ReadonlySet<number>;
}

export function serviceName(i: number): string {
  return `svc-${i}`;
}

export function serviceNamespace(i: number, size: MeshSize): string {
  return `ns-${i % (size.namespaces ?? 10)}`;
}

export function serviceHost(i: number, size: MeshSize): string {
  return `${serviceName(i)}.${serviceNamespace(i, size)}.svc.cluster.local`;
}

export function isRouted(i: number, size: MeshSize): boolean {
  return i < size.services * size.routedShare;
}

/** Pod IPs are unique for up to 32,768 services of up to 128 endpoints (moved pods use .128 and up). */
export function podIp(i: number, e: number, moved = false): string {
  return `10.${128 + (Math.floor(i / 256) % 128)}.${i % 256}.${moved ? 128 + e : e}`;
}

export function endpointVersion(e: number): string {
  return e % 2 ? 'v2' : 'v1';
}

/** The YAML documents of service `i`: Service, Pods, EndpointSlice, and DestinationRule + VirtualService when routed. */
export function serviceDocs(i: number, size: MeshSize, state: ServiceState = {}): string[] {
  const name = serviceName(i);
  const ns = serviceNamespace(i, size);
  const docs: string[] = [];
  docs.push(`apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec:
  clusterIP: 10.${100 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}
  ports: [{name: http, port: 8080}, {name: grpc, port: 7070}]`);
  const eps: string[] = [];
  for (let e = 0; e < size.endpointsPerService; e++) {
    const pod = `${name}-${e}`;
    const ip = podIp(i, e, state.moved?.has(e));
    docs.push(`apiVersion: v1
kind: Pod
metadata: {name: ${pod}, namespace: ${ns}, labels: {app: ${name}, version: ${endpointVersion(e)}}}
status: {podIP: ${ip}}`);
    eps.push(`- addresses: [${ip}]\n  targetRef: {kind: Pod, name: ${pod}, namespace: ${ns}}`);
  }
  docs.push(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-abc, namespace: ${ns}, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: http, port: 8080}, {name: grpc, port: 7070}]
endpoints:
${eps.join('\n')}`);
  if (isRouted(i, size)) {
    const [w1, w2] = state.weights ?? [90, 10];
    docs.push(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: ${ns}}
spec:
  host: ${name}
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]`);
    docs.push(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: ${ns}}
spec:
  hosts: [${name}]
  http:
  - match: [{headers: {x-canary: {exact: "1"}}}]
    route: [{destination: {host: ${name}, subset: v2}}]
  - route:
    - {destination: {host: ${name}, subset: v1}, weight: ${w1}}
    - {destination: {host: ${name}, subset: v2}, weight: ${w2}}`);
  }
  return docs;
}

export function syntheticMesh(size: MeshSize): string {
  const docs: string[] = size.scoped ? sidecarDocs(size) : [];
  for (let i = 0; i < size.services; i++) docs.push(...serviceDocs(i, size));
  return docs.join('\n---\n') + '\n';
}
