// YAML builders for test meshes: Kubernetes-style services whose endpoints are real local backends.

export interface VersionedEndpoint {
  version: string;
  port: number;
}

/** Service + one Pod and EndpointSlice per version, all on 127.0.0.1 (like examples/echo.yaml). */
export function kubeService(name: string, servicePort: number, versions: VersionedEndpoint[], namespace = 'default', portName = 'grpc'): string {
  const docs = [
    `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  clusterIP: 10.96.${servicePort % 250}.${versions.length + 1}
  selector: {app: ${name}}
  ports:
  - {name: ${portName}, port: ${servicePort}}`,
  ];
  for (const v of versions) {
    docs.push(`apiVersion: v1
kind: Pod
metadata:
  name: ${name}-${v.version}
  namespace: ${namespace}
  labels: {app: ${name}, version: ${v.version}}
status: {podIP: 127.0.0.1}`);
    docs.push(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}-${v.version}
  namespace: ${namespace}
  labels: {kubernetes.io/service-name: ${name}}
addressType: IPv4
ports:
- {name: ${portName}, port: ${v.port}}
endpoints:
- addresses: [127.0.0.1]
  targetRef: {kind: Pod, name: ${name}-${v.version}, namespace: ${namespace}}`);
  }
  return docs.join('\n---\n') + '\n';
}

export function subsetsRule(host: string, versions: string[], namespace = 'default'): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${host}, namespace: ${namespace}}
spec:
  host: ${host}
  subsets:
${versions.map((v) => `  - {name: ${v}, labels: {version: ${v}}}`).join('\n')}
`;
}
