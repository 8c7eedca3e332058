// The DownstreamTlsContext of a gateway server that terminates TLS (Istio's BuildListenerTLSContext):
// certificates by SDS — `kubernetes://<credentialName>` from istiod over ADS, the workload's own
// certificate ("default"/"ROOTCA" from the agent) for ISTIO_MUTUAL, or `file-cert:<cert>~<key>` /
// `file-root:<ca>` served by the agent from mounted files — client validation for MUTUAL,
// OPTIONAL_MUTUAL and ISTIO_MUTUAL, and the server's TLS versions, curves and ciphers.
import { create } from '@bufbuild/protobuf';
import {
  CertificateValidationContext_TrustChainVerification,
  CertificateValidationContextSchema,
  TlsParameters_TlsProtocol,
  TlsParametersSchema,
  type CertificateValidationContext,
  type TlsParameters,
} from '../../../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js';
import {
  CommonTlsContext_CombinedCertificateValidationContextSchema,
  DownstreamTlsContextSchema,
  type CommonTlsContext,
  type DownstreamTlsContext,
} from '../../../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js';
import { SdsSecretConfigSchema, type SdsSecretConfig } from '../../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js';
import { ApiConfigSource_ApiType, ApiVersion } from '../../../gen/envoy/config/core/v3/config_source_pb.js';
import { DataSourceSchema } from '../../../gen/envoy/config/core/v3/base_pb.js';
import { StringMatcherSchema } from '../../../gen/envoy/type/matcher/v3/string_pb.js';
import type * as net from '../../config/schema/networking.js';
import { SDS_CLUSTER, SDS_DEFAULT, SDS_ROOT, sdsSecretConfig } from '../tls.js';
import { isPassthroughServer, tlsMode } from './config.js';

/** ALPN a terminating gateway offers for HTTP. */
export const ALPN_HTTP = ['h2', 'http/1.1'];
/** ALPN of a TCP server terminating ISTIO_MUTUAL: Istio's metadata exchange first. */
export const ALPN_DOWNSTREAM_WITH_MXC = ['istio-peer-exchange', 'h2', 'http/1.1'];

export const SDS_CA_SUFFIX = '-cacert';
const BUILTIN_URI = 'builtin://';
const SDS_EXTERNAL_PREFIX = 'sds://';

/** Istio's `credentials.ToResourceName`: a credentialName as the SDS resource istiod serves. */
export function credentialResourceName(name: string): string {
  if (name.startsWith(BUILTIN_URI)) return SDS_DEFAULT;
  if (name.startsWith('invalid://')) return 'invalid://';
  if (name.startsWith('configmap://') || name.startsWith('kubernetes://') || name.startsWith('kubernetes-gateway://')) return name;
  return `kubernetes://${name}`;
}

/** SDS over ADS (istiod serves credentialName secrets); no initial fetch timeout so a missing secret never blocks the listener. */
function adsSecret(name: string): SdsSecretConfig {
  return create(SdsSecretConfigSchema, {
    name,
    sdsConfig: { configSourceSpecifier: { case: 'ads', value: {} }, resourceApiVersion: ApiVersion.V3 },
  });
}

/** An SDS secret from the local agent (`sds-grpc`); "default" and "ROOTCA" keep the agent's zero fetch timeout. */
function agentSecret(name: string): SdsSecretConfig {
  if (name === SDS_DEFAULT || name === SDS_ROOT) return sdsSecretConfig(name);
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
      resourceApiVersion: ApiVersion.V3,
    },
  });
}

/** Istio's `ConstructSdsSecretConfigForCredential` (without external SDS providers, which fall back to ADS). */
export function credentialSecret(name: string): SdsSecretConfig | undefined {
  if (!name) return undefined;
  if (name === BUILTIN_URI) return agentSecret(SDS_DEFAULT);
  if (name === BUILTIN_URI + SDS_CA_SUFFIX) return agentSecret(SDS_ROOT);
  const plain = name.startsWith(SDS_EXTERNAL_PREFIX) ? name.slice(SDS_EXTERNAL_PREFIX.length) : name;
  return adsSecret(credentialResourceName(plain));
}

/** `file-cert:<cert>~<key>`, or "" unless both files are given. */
export function fileCertName(cert: string | undefined, key: string | undefined): string {
  return cert && key ? `file-cert:${cert}~${key}` : '';
}

/** `file-root:<ca>`, or "" without a CA file. */
export function fileRootName(ca: string | undefined): string {
  return ca ? `file-root:${ca}` : '';
}

function exactMatchers(values: readonly string[] | undefined) {
  return (values ?? []).map((v) => create(StringMatcherSchema, { matchPattern: { case: 'exact', value: v } }));
}

function tlsVersion(v: string | undefined): TlsParameters_TlsProtocol {
  switch (v) {
    case 'TLSV1_0':
      return TlsParameters_TlsProtocol.TLSv1_0;
    case 'TLSV1_1':
      return TlsParameters_TlsProtocol.TLSv1_1;
    case 'TLSV1_2':
      return TlsParameters_TlsProtocol.TLSv1_2;
    case 'TLSV1_3':
      return TlsParameters_TlsProtocol.TLSv1_3;
    default:
      return TlsParameters_TlsProtocol.TLS_AUTO;
  }
}

function params(ctx: CommonTlsContext): TlsParameters {
  return (ctx.tlsParams ??= create(TlsParametersSchema));
}

/** The server's own TLS versions, curves and cipher suites (SIMPLE, MUTUAL, OPTIONAL_MUTUAL only). */
function applyServerSettings(tls: net.ServerTLSSettings, ctx: CommonTlsContext): void {
  const min = tlsVersion(tls.minProtocolVersion);
  if (min !== TlsParameters_TlsProtocol.TLS_AUTO) params(ctx).tlsMinimumProtocolVersion = min;
  if (tls.ecdhCurves?.length) params(ctx).ecdhCurves = [...tls.ecdhCurves];
  // Istio drops duplicate (and unknown) cipher names.
  const ciphers = [...new Set(tls.cipherSuites ?? [])];
  if (ciphers.length) params(ctx).cipherSuites = ciphers;
  const max = tlsVersion(tls.maxProtocolVersion);
  if (max !== TlsParameters_TlsProtocol.TLS_AUTO) params(ctx).tlsMaximumProtocolVersion = max;
}

/** Istio's `ApplyCredentialSDSToServerCommonTLSContext`. */
function applyCredentials(tls: net.ServerTLSSettings, ctx: CommonTlsContext): void {
  let caCert = `${tls.credentialName ?? ''}${SDS_CA_SUFFIX}`;
  if (tls.credentialNames?.length) {
    ctx.tlsCertificateSdsSecretConfigs = tls.credentialNames.map(credentialSecret).filter((c): c is SdsSecretConfig => !!c);
    caCert = `${tls.credentialNames[0]}${SDS_CA_SUFFIX}`;
  } else {
    const c = credentialSecret(tls.credentialName ?? '');
    ctx.tlsCertificateSdsSecretConfigs = c ? [c] : [];
  }
  if (tls.caCertCredentialName) caCert = tls.caCertCredentialName;
  if (tls.mode === 'MUTUAL' || tls.mode === 'OPTIONAL_MUTUAL') {
    const defaults = create(CertificateValidationContextSchema, {
      matchSubjectAltNames: exactMatchers(tls.subjectAltNames),
      verifyCertificateSpki: [...(tls.verifyCertificateSpki ?? [])],
      verifyCertificateHash: [...(tls.verifyCertificateHash ?? [])],
    });
    if (tls.insecureSkipVerify) defaults.trustChainVerification = CertificateValidationContext_TrustChainVerification.ACCEPT_UNTRUSTED;
    ctx.validationContextType = {
      case: 'combinedValidationContext',
      value: create(CommonTlsContext_CombinedCertificateValidationContextSchema, { defaultValidationContext: defaults, validationContextSdsSecretConfig: credentialSecret(caCert) }),
    };
  } else if (tls.subjectAltNames?.length) {
    ctx.validationContextType = { case: 'validationContext', value: create(CertificateValidationContextSchema, { matchSubjectAltNames: exactMatchers(tls.subjectAltNames) }) };
  }
}

/**
 * Istio's `ApplyToCommonTLSContext` for certificates from files (or, for ISTIO_MUTUAL, none: the
 * workload certificate "default" and root "ROOTCA").
 */
function applyFiles(ctx: CommonTlsContext, files: { cert?: string; key?: string; ca?: string }, tls: net.ServerTLSSettings, validateClient: boolean): void {
  const certs = tls.tlsCertificates?.length && tls.mode !== 'ISTIO_MUTUAL' ? tls.tlsCertificates.map((c) => fileCertName(c.serverCertificate, c.privateKey)) : [fileCertName(files.cert, files.key)];
  ctx.tlsCertificateSdsSecretConfigs = certs.map((n) => agentSecret(n || SDS_DEFAULT));
  if (!validateClient) return;
  const defaults: CertificateValidationContext = create(CertificateValidationContextSchema, { matchSubjectAltNames: exactMatchers(tls.subjectAltNames) });
  if (tls.caCrl) defaults.crl = create(DataSourceSchema, { specifier: { case: 'filename', value: tls.caCrl } });
  if (tls.insecureSkipVerify) defaults.trustChainVerification = CertificateValidationContext_TrustChainVerification.ACCEPT_UNTRUSTED;
  ctx.validationContextType = {
    case: 'combinedValidationContext',
    value: create(CommonTlsContext_CombinedCertificateValidationContextSchema, { defaultValidationContext: defaults, validationContextSdsSecretConfig: agentSecret(fileRootName(files.ca) || SDS_ROOT) }),
  };
}

/**
 * The TLS context of a terminating server; undefined for servers without TLS or in passthrough.
 * `tcpTermination`: a TCP/TLS (not HTTP/HTTPS) server, which for ISTIO_MUTUAL also offers Istio's
 * metadata-exchange ALPN.
 */
export function gatewayTlsContext(server: net.Server, tcpTermination: boolean): DownstreamTlsContext | undefined {
  const tls = server.tls;
  const mode = tlsMode(server);
  if (!tls || !mode || isPassthroughServer(server)) return undefined;
  const alpn = mode === 'ISTIO_MUTUAL' && tcpTermination ? ALPN_DOWNSTREAM_WITH_MXC : ALPN_HTTP;
  const out = create(DownstreamTlsContextSchema, { commonTlsContext: { alpnProtocols: [...alpn] } });
  const ctx = out.commonTlsContext!;
  out.requireClientCertificate = mode === 'MUTUAL' || mode === 'ISTIO_MUTUAL';
  const validateClient = out.requireClientCertificate || mode === 'OPTIONAL_MUTUAL';
  if (mode === 'ISTIO_MUTUAL') applyFiles(ctx, {}, tls, validateClient);
  else if (tls.credentialNames?.length || tls.credentialName) applyCredentials(tls, ctx);
  else applyFiles(ctx, { cert: tls.serverCertificate, key: tls.privateKey, ca: tls.caCertificates }, tls, validateClient);
  if (mode === 'SIMPLE' || mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL') applyServerSettings(tls, ctx);
  return out;
}
