// Shared pieces of the authorization and JWT translation tests: a workload serving HTTP and TCP,
// its sidecar, and a reader for the filters of a chain.
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import type { Filter } from '../../gen/envoy/config/listener/v3/listener_components_pb.js';
import type { HttpConnectionManager } from '../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { proxyFromNode, type Proxy } from '../../pilot/model/proxy.js';
import { envoyRegistry } from '../../pilot/networking/registry.js';

/** `reviews` at 10.0.0.5 (labels app=reviews): HTTP on 9080, TCP on 3306. */
export const REVIEWS_ENTRY = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9080, name: http, protocol: HTTP}, {number: 3306, name: tcp-db, protocol: TCP}]
  endpoints: [{address: 10.0.0.5, labels: {app: reviews}}]
`;

/** An ingress Gateway with one HTTP server on 80, for routers labelled istio=ingressgateway. */
export const HTTP_GATEWAY = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ingress, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`;

/** The ingress gateway's router proxy. */
export function ingressRouter(): Proxy {
  return proxyFromNode({ id: 'router~10.0.0.50~gw-1.istio-system~istio-system.svc.cluster.local', metadata: { NAMESPACE: 'istio-system', LABELS: { istio: 'ingressgateway' } } });
}

/** A sidecar at the reviews address, labelled as given. */
export function reviewsSidecar(labels: Record<string, string> = { app: 'reviews' }): Proxy {
  return proxyFromNode({ id: 'sidecar~10.0.0.5~reviews-1.default~default.svc.cluster.local', metadata: { NAMESPACE: 'default', LABELS: labels } });
}

/** The typed config of a filter. */
export function typedConfig<T>(f: { configType: { case?: string; value?: unknown } }): T {
  return anyUnpack(f.configType.value as Parameters<typeof anyUnpack>[0], envoyRegistry()) as unknown as T;
}

/** The HTTP connection manager among a chain's filters. */
export function hcmOf(filters: Filter[]): HttpConnectionManager | undefined {
  const f = filters.find((x) => x.name === 'envoy.filters.network.http_connection_manager');
  return f ? typedConfig<HttpConnectionManager>(f) : undefined;
}
