// TLS from a sidecar to its upstreams, as Istio sets it on outbound clusters: a DestinationRule's
// `tls` when given; otherwise auto mTLS (Istio mutual TLS to endpoints that run a sidecar,
// plaintext to the others, chosen per endpoint by its `tlsMode` metadata).
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { CommonTlsContext_CombinedCertificateValidationContextSchema, UpstreamTlsContextSchema, type UpstreamTlsContext } from '../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import { StringMatcherSchema } from '../../gen/envoy/type/matcher/v3/string_pb.js';
import { RawBufferSchema } from '../../gen/envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer_pb.js';
import { TransportSocketSchema, type TransportSocket } from '../../gen/envoy/config/core/v3/base_pb.js';
import { Cluster_DiscoveryType, Cluster_TransportSocketMatchSchema, type Cluster } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import type * as net from '../config/schema/networking.js';
import type { PushContext } from '../model/push-context.js';
import { effectiveMtls } from '../model/authn.js';
import type { Service, ServicePort } from '../model/service.js';
import { fileCertSecretName, sdsSecretConfig, SDS_DEFAULT, SDS_ROOT } from './tls.js';

/** Endpoint metadata key Envoy matches transport sockets on, and the label injected pods carry. */
export const TRANSPORT_SOCKET_MATCH = 'envoy.transport_socket_match';
export const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

const ALPN_IN_MESH = ['istio-peer-exchange', 'istio'];
const ALPN_IN_MESH_H2 = ['istio-peer-exchange', 'istio', 'h2'];

function isH2(port: ServicePort): boolean {
  return port.protocol === 'HTTP2' || port.protocol === 'GRPC' || port.protocol === 'GRPC-Web';
}

/** `outbound_.9080_.v1_.reviews.default.svc.cluster.local`: the SNI Istio's mTLS uses. */
export function istioMtlsSni(host: string, port: number, subset: string): string {
  return `outbound_.${port}_.${subset}_.${host}`;
}

function exactMatchers(values: string[]) {
  return values.map((value) => create(StringMatcherSchema, { matchPattern: { case: 'exact', value } }));
}

function tlsSocket(ctx: UpstreamTlsContext): TransportSocket {
  return create(TransportSocketSchema, { name: 'envoy.transport_sockets.tls', configType: { case: 'typedConfig', value: anyPack(UpstreamTlsContextSchema, ctx) } });
}

function istioMutual(sni: string, sans: string[], h2: boolean): UpstreamTlsContext {
  return create(UpstreamTlsContextSchema, {
    sni,
    commonTlsContext: {
      alpnProtocols: h2 ? ALPN_IN_MESH_H2 : ALPN_IN_MESH,
      tlsCertificateSdsSecretConfigs: [sdsSecretConfig(SDS_DEFAULT)],
      validationContextType: {
        case: 'combinedValidationContext',
        value: {
          defaultValidationContext: { matchSubjectAltNames: exactMatchers(sans) },
          validationContextSdsSecretConfig: sdsSecretConfig(SDS_ROOT),
        },
      },
    },
  });
}

/** SIMPLE / MUTUAL origination with the user's certificates (files, or a credentialName secret). */
function userTls(tls: net.ClientTLSSettings, sans: string[], h2: boolean): UpstreamTlsContext {
  const ctx = create(UpstreamTlsContextSchema, { sni: tls.sni ?? '', commonTlsContext: {} });
  const common = ctx.commonTlsContext!;
  if (tls.credentialName) {
    if (tls.mode === 'MUTUAL') common.tlsCertificateSdsSecretConfigs = [sdsSecretConfig(`kubernetes://${tls.credentialName}`)];
    common.validationContextType = { case: 'validationContextSdsSecretConfig', value: sdsSecretConfig(`kubernetes://${tls.credentialName}-cacert`) };
  } else {
    if (tls.mode === 'MUTUAL' && tls.clientCertificate && tls.privateKey) {
      common.tlsCertificateSdsSecretConfigs = [sdsSecretConfig(fileCertSecretName(tls.clientCertificate, tls.privateKey))];
    }
    if (!tls.insecureSkipVerify) {
      common.validationContextType = {
        case: 'combinedValidationContext',
        value: create(CommonTlsContext_CombinedCertificateValidationContextSchema, {
          defaultValidationContext: { matchSubjectAltNames: exactMatchers(tls.subjectAltNames?.length ? tls.subjectAltNames : sans) },
          validationContextSdsSecretConfig: sdsSecretConfig(`file-root:${tls.caCertificates || 'system'}`),
        }),
      };
    }
  }
  if (h2) common.alpnProtocols = ['h2'];
  return ctx;
}

/** SPIFFE identities of the service's workloads: the SANs an mTLS client accepts. */
export function serviceIdentities(push: PushContext, svc: Service): string[] {
  const ids = new Set<string>();
  for (const ep of push.endpoints(svc)) {
    if (ep.serviceAccount) ids.add(`spiffe://${push.mesh.trustDomain}/ns/${ep.workload?.namespace ?? svc.namespace}/sa/${ep.serviceAccount}`);
  }
  return [...ids].sort();
}

export function applyUpstreamTls(
  push: PushContext,
  c: Cluster,
  svc: Service,
  port: ServicePort,
  subset: string,
  tls: net.ClientTLSSettings | undefined,
): void {
  const sans = serviceIdentities(push, svc);
  const sni = istioMtlsSni(svc.hostname, port.port, subset);
  if (tls) {
    if (tls.mode === 'DISABLE' || !tls.mode) return;
    c.transportSocket = tlsSocket(tls.mode === 'ISTIO_MUTUAL' ? istioMutual(tls.sni || sni, tls.subjectAltNames?.length ? tls.subjectAltNames : sans, isH2(port)) : userTls(tls, sans, isH2(port)));
    return;
  }
  // Auto mTLS: never to services outside the mesh, nor where the service's namespace disables mTLS.
  if (svc.meshExternal) return;
  if (effectiveMtls(push.peerAuthentications, push.mesh.rootNamespace, svc.namespace, {}).mode === 'DISABLE') return;
  const isOriginalDst = c.clusterDiscoveryType.case === 'type' && c.clusterDiscoveryType.value === Cluster_DiscoveryType.ORIGINAL_DST;
  if (isOriginalDst) return;
  c.transportSocketMatches = [
    create(Cluster_TransportSocketMatchSchema, { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transportSocket: tlsSocket(istioMutual(sni, sans, isH2(port))) }),
    create(Cluster_TransportSocketMatchSchema, {
      name: 'tlsMode-disabled',
      match: {},
      transportSocket: { name: 'envoy.transport_sockets.raw_buffer', configType: { case: 'typedConfig', value: anyPack(RawBufferSchema, create(RawBufferSchema)) } },
    }),
  ];
}
