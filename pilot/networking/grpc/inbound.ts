// Listeners for xDS-enabled gRPC servers (`xds.istio.io/grpc/lds/inbound/IP:PORT`): a server
// starts serving only once it has its listener. mTLS follows PeerAuthentication as Istio's grpcgen
// does: STRICT (or PERMISSIVE on a pod marked for Istio mTLS) requires client certificates from
// gRPC's certificate provider; otherwise plaintext. AuthorizationPolicies become gRPC's RBAC
// filters (authz/grpc.ts).
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { ListenerSchema } from '../../../gen/envoy/config/listener/v3/listener_pb.js';
import { FilterChainSchema } from '../../../gen/envoy/config/listener/v3/listener_components_pb.js';
import { HttpConnectionManagerSchema, type HttpFilter } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { RouterSchema } from '../../../gen/envoy/extensions/filters/http/router/v3/router_pb.js';
import { DownstreamTlsContextSchema } from '../../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { effectiveMtls, mtlsForPort } from '../../model/authn.js';
import { proxyServiceInstances } from '../sidecar/instances.js';
import { TLS_MODE_LABEL } from '../upstream-tls.js';
import type { NamedResource } from '../generator.js';
import { grpcServerAuthzFilters } from '../authz/grpc.js';

export const GRPC_INBOUND_LISTENER_PREFIX = 'xds.istio.io/grpc/lds/inbound/';

/** gRPC reads certificates from its file-watcher provider instance named "default". */
function providerTlsContext() {
  return create(DownstreamTlsContextSchema, {
    requireClientCertificate: true,
    commonTlsContext: {
      tlsCertificateProviderInstance: { instanceName: 'default', certificateName: 'default' },
      validationContextType: {
        case: 'combinedValidationContext',
        value: { defaultValidationContext: { caCertificateProviderInstance: { instanceName: 'default', certificateName: 'ROOTCA' } } },
      },
    },
  });
}

function inboundChain(mtls: boolean, authz: HttpFilter[]) {
  const hcm = create(HttpConnectionManagerSchema, {
    statPrefix: mtls ? 'inbound-mtls' : 'inbound-plaintext',
    routeSpecifier: {
      case: 'routeConfig',
      value: {
        name: 'inbound',
        virtualHosts: [{ name: 'inbound', domains: ['*'], routes: [{ match: { pathSpecifier: { case: 'prefix', value: '/' } }, action: { case: 'nonForwardingAction', value: {} } }] }],
      },
    },
    // grpc-js-xds registers the router without a server-side constructor and rejects it unless it
    // is optional; every gRPC server still runs it (it is the terminal filter).
    httpFilters: [...authz, { name: 'envoy.filters.http.router', isOptional: true, configType: { case: 'typedConfig', value: anyPack(RouterSchema, create(RouterSchema)) } }],
  });
  const suffix = mtls ? 'mtls' : 'plaintext';
  return create(FilterChainSchema, {
    name: `inbound-${suffix}`,
    filters: [{ name: `inbound-hcm${suffix}`, configType: { case: 'typedConfig', value: anyPack(HttpConnectionManagerSchema, hcm) } }],
    transportSocket: mtls ? { name: 'envoy.transport_sockets.tls', configType: { case: 'typedConfig', value: anyPack(DownstreamTlsContextSchema, providerTlsContext()) } } : undefined,
  });
}

export function grpcInboundListeners(push: PushContext, proxy: Proxy, names: readonly string[]): NamedResource[] {
  const byPort = new Map(proxyServiceInstances(push, proxy).map((i) => [i.endpoint.endpointPort, i]));
  const policy = effectiveMtls(push.peerAuthentications, push.mesh.rootNamespace, proxy.namespace, proxy.labels);
  const authz = grpcServerAuthzFilters(push, proxy);
  const out: NamedResource[] = [];
  for (const name of names) {
    if (!name.startsWith(GRPC_INBOUND_LISTENER_PREFIX)) continue;
    const m = /^(.*):(\d+)$/.exec(name.slice(GRPC_INBOUND_LISTENER_PREFIX.length));
    if (!m) continue;
    const port = Number(m[2]);
    if (!byPort.has(port)) continue; // not a port a service sends this workload traffic on
    let mode = mtlsForPort(policy, port);
    if (mode === 'PERMISSIVE') mode = proxy.labels[TLS_MODE_LABEL] === 'istio' ? 'STRICT' : 'DISABLE';
    const listener = create(ListenerSchema, {
      name,
      address: { address: { case: 'socketAddress', value: { address: m[1]!.replace(/^\[|\]$/g, ''), portSpecifier: { case: 'portValue', value: port } } } },
      filterChains: [inboundChain(mode === 'STRICT', authz)],
    });
    out.push({ name, resource: anyPack(ListenerSchema, listener) });
  }
  return out;
}
