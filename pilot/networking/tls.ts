// TLS contexts Istio puts on sidecar listeners: certificates by SDS from the agent ("default",
// "ROOTCA" over the `sds-grpc` cluster), and the inbound mTLS context per protocol.
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import {
  DownstreamTlsContextSchema,
  type DownstreamTlsContext,
} from '../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import { TlsParameters_TlsProtocol } from '../../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js';
import { SdsSecretConfigSchema, type SdsSecretConfig } from '../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js';
import { ApiConfigSource_ApiType, ApiVersion } from '../../gen/envoy/config/core/v3/config_source_pb.js';
import { TransportSocketSchema, type TransportSocket } from '../../gen/envoy/config/core/v3/base_pb.js';
import { duration } from './envoy.js';
import { StringMatcherSchema } from '../../gen/envoy/type/matcher/v3/string_pb.js';

export const SDS_CLUSTER = 'sds-grpc';
export const SDS_DEFAULT = 'default';
export const SDS_ROOT = 'ROOTCA';

/** ALPN a sidecar's mTLS server offers: HTTP, and for TCP also Istio's metadata exchange. */
const ALPN_HTTP = ['h2', 'http/1.1'];
const ALPN_TCP_WITH_MX = ['istio-peer-exchange', 'h2', 'http/1.1'];

export const SUPPORTED_CIPHERS = [
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128-GCM-SHA256',
];

export function sdsSecretConfig(name: string): SdsSecretConfig {
  return create(SdsSecretConfigSchema, {
    name,
    sdsConfig: {
      configSourceSpecifier: {
        case: 'apiConfigSource',
        value: {
          apiType: ApiConfigSource_ApiType.GRPC,
          setNodeOnFirstMessageOnly: true,
          transportApiVersion: ApiVersion.V3,
          grpcServices: [{ targetSpecifier: { case: 'envoyGrpc', value: { clusterName: SDS_CLUSTER } } }],
        },
      },
      initialFetchTimeout: duration(0),
      resourceApiVersion: ApiVersion.V3,
    },
  });
}

/** The server side of Istio mTLS: workload certificate, client certificate required and checked against the root. */
export function inboundMtlsContext(protocol: 'HTTP' | 'TCP'): DownstreamTlsContext {
  return create(DownstreamTlsContextSchema, {
    requireClientCertificate: true,
    commonTlsContext: {
      alpnProtocols: protocol === 'TCP' ? ALPN_TCP_WITH_MX : ALPN_HTTP,
      tlsParams: {
        cipherSuites: SUPPORTED_CIPHERS,
        tlsMinimumProtocolVersion: TlsParameters_TlsProtocol.TLSv1_2,
        tlsMaximumProtocolVersion: TlsParameters_TlsProtocol.TLSv1_3,
      },
      tlsCertificateSdsSecretConfigs: [sdsSecretConfig(SDS_DEFAULT)],
      validationContextType: {
        case: 'combinedValidationContext',
        value: { defaultValidationContext: {}, validationContextSdsSecretConfig: sdsSecretConfig(SDS_ROOT) },
      },
    },
  });
}

export function downstreamTlsSocket(ctx: DownstreamTlsContext): TransportSocket {
  return create(TransportSocketSchema, {
    name: 'envoy.transport_sockets.tls',
    configType: { case: 'typedConfig', value: anyPack(DownstreamTlsContextSchema, ctx) },
  });
}

/** SDS names the agent serves from files: `file-cert:CERT~KEY` and `file-root:CA`. */
export function fileCertSecretName(cert: string, key: string): string {
  return `file-cert:${cert}~${key}`;
}

export interface ServerTls {
  mode?: string;
  serverCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  credentialName?: string;
  subjectAltNames?: string[];
}

/**
 * A listener's TLS context from Istio's ServerTLSSettings: MUTUAL and ISTIO_MUTUAL require a
 * client certificate; credentialName reads a Kubernetes secret over SDS; otherwise certificates
 * are files the agent serves over SDS.
 */
export function serverTlsContext(tls: ServerTls): DownstreamTlsContext {
  const mutual = tls.mode === 'MUTUAL' || tls.mode === 'ISTIO_MUTUAL';
  const validate = mutual || tls.mode === 'OPTIONAL_MUTUAL';
  let certName: string;
  let rootName: string;
  if (tls.mode === 'ISTIO_MUTUAL') {
    certName = SDS_DEFAULT;
    rootName = SDS_ROOT;
  } else if (tls.credentialName) {
    certName = `kubernetes://${tls.credentialName}`;
    rootName = `kubernetes://${tls.credentialName}-cacert`;
  } else if (tls.serverCertificate && tls.privateKey) {
    certName = fileCertSecretName(tls.serverCertificate, tls.privateKey);
    rootName = tls.caCertificates ? `file-root:${tls.caCertificates}` : SDS_ROOT;
  } else {
    certName = SDS_DEFAULT;
    rootName = SDS_ROOT;
  }
  return create(DownstreamTlsContextSchema, {
    requireClientCertificate: mutual,
    commonTlsContext: {
      alpnProtocols: ALPN_HTTP,
      tlsCertificateSdsSecretConfigs: [sdsSecretConfig(certName)],
      validationContextType: validate
        ? {
            case: 'combinedValidationContext',
            value: {
              defaultValidationContext: { matchSubjectAltNames: (tls.subjectAltNames ?? []).map((value) => create(StringMatcherSchema, { matchPattern: { case: 'exact', value } })) },
              validationContextSdsSecretConfig: sdsSecretConfig(rootName),
            },
          }
        : { case: undefined },
    },
  });
}
