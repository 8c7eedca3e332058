// backendRefs → Istio destinations (Istio's buildDestination and friends).
import { createHash } from 'node:crypto';
import type { BackendObjectReference, InferencePoolSpec, XBackendSpec } from '../../schema/gateway-api.js';
import type * as net from '../../schema/networking.js';
import { normalizeReference, type ConversionContext } from './context.js';

export interface ConfigError {
  reason: string;
  message: string;
}

export const REASON = {
  permit: 'RefNotPermitted',
  notFound: 'BackendNotFound',
  kind: 'InvalidKind',
  invalid: 'InvalidDestination',
  filter: 'UnsupportedValue',
  configuration: 'UnsupportedValue',
} as const;

/** Invalid backends are dropped gracefully (the route stays, the backend answers 500). */
export function isInvalidBackend(e: ConfigError): boolean {
  return e.reason === REASON.permit || e.reason === REASON.notFound || e.reason === REASON.kind;
}

/** The InferencePool's generated shadow Service name (`<pool>-ip-<sha256[:8]>`, at most 63 chars). */
export function inferencePoolServiceName(pool: string): string {
  const hash = createHash('sha256').update(pool).digest('hex').slice(0, 8);
  const sep = '-ip-';
  let name = pool + sep + hash;
  if (name.length > 63) name = pool.slice(0, 63 - sep.length - hash.length) + sep + hash;
  return name;
}

export interface InferencePoolConfig {
  endpointPickerDst: string;
  endpointPickerPort: string;
  endpointPickerFailureMode: string;
}

export interface DestinationResult {
  /** Undefined on a hard error. */
  destination?: net.Destination;
  error?: ConfigError;
  inferencePool?: InferencePoolConfig;
}

/**
 * Istio's `buildDestination`. `routeKind` is the store kind of the route (for ReferenceGrants);
 * `enforceRefGrant` is false for mesh (GAMMA) routes.
 */
export function buildDestination(ctx: ConversionContext, to: BackendObjectReference, ns: string, enforceRefGrant: boolean, routeKind: string): DestinationResult {
  const ref = normalizeReference(to.group, to.kind, { group: '', kind: 'Service' });
  const name = to.name ?? '';
  if (enforceRefGrant && to.namespace !== undefined && to.namespace !== ns) {
    if (!ctx.allowed(routeKind, ns, ref, to.namespace, name)) {
      return {
        destination: {},
        error: {
          reason: REASON.permit,
          message: `backendRef ${name}/${to.namespace} not accessible to a ${kindName(routeKind)} in namespace "${ns}" (missing a ReferenceGrant?)`,
        },
      };
    }
  }
  const namespace = to.namespace ?? ns;
  let invalid: ConfigError | undefined;
  let hostname: string;
  if (ref === 'XBackend') {
    if (!ctx.features.enableAlphaGatewayApi) {
      return {
        destination: {},
        error: {
          reason: REASON.kind,
          message: 'The Alpha Gateway API is not enabled, XBackend is invalid. To enable, set PILOT_ENABLE_ALPHA_GATEWAY_API to true in istiod.',
        },
      };
    }
    const backend = ctx.store.get<XBackendSpec>('XBackend', namespace, name);
    if (!backend) return { destination: {}, error: { reason: REASON.notFound, message: `backend(${name}) not found` } };
    if (backend.spec.type !== 'ExternalHostname' || !backend.spec.externalHostname) {
      return { destination: {}, error: { reason: REASON.kind, message: `backend(${name}) type: expected ExternalHostname, got ${backend.spec.type ?? ''}` } };
    }
    hostname = backend.spec.externalHostname.hostname ?? '';
    if (!ctx.lookupService(hostname, namespace)) invalid = { reason: REASON.notFound, message: `backend(${hostname}) not found` };
    const port = backend.spec.port?.port ?? 0;
    if (to.port !== undefined && to.port !== port) {
      return { destination: {}, error: { reason: REASON.notFound, message: `backend(${name}) does not expose port ${to.port}, expected ${port}` } };
    }
    return { destination: { host: hostname, port: { number: port } }, ...(invalid ? { error: invalid } : {}) };
  } else if (ref === 'Service') {
    if (name.includes('.')) return { error: { reason: REASON.invalid, message: 'service name invalid; the name of the Service must be used, not the hostname.' } };
    hostname = `${name}.${namespace}.svc.${ctx.domainSuffix}`;
    if (!ctx.kubeService(namespace, name)) invalid = { reason: REASON.notFound, message: `backend(${hostname}) not found` };
  } else if (ref === 'networking.istio.io/Hostname') {
    if (to.namespace !== undefined) return { error: { reason: REASON.invalid, message: 'namespace may not be set with Hostname type' } };
    hostname = name;
    if (!ctx.lookupService(hostname, namespace)) invalid = { reason: REASON.notFound, message: `backend(${hostname}) not found` };
  } else if (ref === `${ctx.features.mcsApiGroup}/ServiceImport`) {
    hostname = ctx.features.enableMcsHost ? `${name}.${namespace}.svc.clusterset.local` : `${name}.${namespace}.svc.${ctx.domainSuffix}`;
    if (!ctx.kubeService(namespace, name)) invalid = { reason: REASON.notFound, message: `backend(${hostname}) not found` };
  } else if (ref === 'InferencePool') {
    return inferencePoolDestination(ctx, name, namespace);
  } else {
    return { destination: {}, error: { reason: REASON.kind, message: `referencing unsupported backendRef: group "${to.group ?? ''}" kind "${to.kind ?? ''}"` } };
  }
  if (to.port === undefined) return { error: { reason: REASON.invalid, message: 'port is required in backendRef' } };
  return { destination: { host: hostname, port: { number: to.port } }, ...(invalid ? { error: invalid } : {}) };
}

function inferencePoolDestination(ctx: ConversionContext, name: string, namespace: string): DestinationResult {
  if (!ctx.features.enableInferenceExtension) {
    return {
      destination: {},
      error: { reason: REASON.kind, message: 'InferencePool is not enabled. To enable, set ENABLE_GATEWAY_API_INFERENCE_EXTENSION to true in istiod' },
    };
  }
  if (name.includes('.')) {
    return { error: { reason: REASON.invalid, message: 'InferencePool.Name invalid; the name of the InferencePool must be used, not the hostname.' } };
  }
  const pool = ctx.store.get<InferencePoolSpec>('InferencePool', namespace, name);
  if (!pool) return { destination: {}, error: { reason: REASON.notFound, message: `backend(${name}) not found` } };
  const hostname = `${inferencePoolServiceName(name)}.${namespace}.svc.${ctx.domainSuffix}`;
  const svc = ctx.lookupService(hostname, namespace);
  if (!svc) return { destination: {}, error: { reason: REASON.notFound, message: `backend(${hostname}) not found` } };
  const labels = svc.labels;
  if (!labels || Object.keys(labels).length === 0) {
    return { destination: {}, error: { reason: REASON.invalid, message: 'InferencePool service invalid, extensionRef labels not found' } };
  }
  const cfg: InferencePoolConfig = {
    endpointPickerDst: labels['istio.io/inferencepool-extension-service'] ? `${labels['istio.io/inferencepool-extension-service']}.${namespace}.svc.${ctx.domainSuffix}` : '',
    endpointPickerPort: labels['istio.io/inferencepool-extension-port'] ?? '',
    endpointPickerFailureMode: labels['istio.io/inferencepool-extension-failure-mode'] ?? '',
  };
  const error =
    !cfg.endpointPickerDst || !cfg.endpointPickerPort || !cfg.endpointPickerFailureMode
      ? { reason: REASON.invalid, message: 'InferencePool service invalid, extensionRef labels not found' }
      : undefined;
  return { destination: { host: hostname, port: { number: svc.ports[0]?.port ?? 0 } }, inferencePool: cfg, ...(error ? { error } : {}) };
}

/** The Kubernetes kind name of a store kind (for messages). */
export function kindName(kind: string): string {
  return kind === 'KubernetesGateway' ? 'Gateway' : kind;
}
