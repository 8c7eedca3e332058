// Synthetic meshes for benchmarks: M Kubernetes services (Service + Pods + EndpointSlice), a
// VirtualService and DestinationRule on a share of them.

export interface MeshSize {
  services: number;
  endpointsPerService: number;
  /** Fraction of services with a VirtualService (weighted subsets) and a DestinationRule. */
  routedShare: number;
}

export function syntheticMesh(size: MeshSize): string {
  const docs: string[] = [];
  for (let i = 0; i < size.services; i++) {
    const name = `svc-${i}`;
    const ns = `ns-${i % 10}`;
    docs.push(`apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec:
  clusterIP: 10.${100 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}
  ports: [{name: http, port: 8080}, {name: grpc, port: 7070}]`);
    const eps: string[] = [];
    for (let e = 0; e < size.endpointsPerService; e++) {
      const version = e % 2 ? 'v2' : 'v1';
      const pod = `${name}-${e}`;
      docs.push(`apiVersion: v1
kind: Pod
metadata: {name: ${pod}, namespace: ${ns}, labels: {app: ${name}, version: ${version}}}
status: {podIP: 10.200.${i % 256}.${e}}`);
      eps.push(`- addresses: [10.200.${i % 256}.${e}]\n  targetRef: {kind: Pod, name: ${pod}, namespace: ${ns}}`);
    }
    docs.push(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-abc, namespace: ${ns}, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: http, port: 8080}, {name: grpc, port: 7070}]
endpoints:
${eps.join('\n')}`);
    if (i < size.services * size.routedShare) {
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
    - {destination: {host: ${name}, subset: v1}, weight: 90}
    - {destination: {host: ${name}, subset: v2}, weight: 10}`);
    }
  }
  return docs.join('\n---\n') + '\n';
}
