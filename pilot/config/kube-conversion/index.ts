// Kubernetes config that istiod turns into Istio config before it builds a push: Ingress
// (pilot/pkg/config/kube/ingress) and the Gateway API (pilot/pkg/config/kube/gateway). The
// result is plain Istio Gateways, VirtualServices and DestinationRules that the generators serve
// like any other, each carrying the objects it came from (`derivedFrom`) for `x trace`.
import type { ConfigStore } from '../store.js';
import type { Resource } from '../resource.js';
import type * as net from '../schema/networking.js';
import { compareCreation, type DerivedResource } from './common.js';
import { convertIngresses, defaultIngressSettings, type IngressSettings } from './ingress.js';
import { ConversionContext, featuresFromEnv, type GatewayApiFeatures, type RegistryService } from './gateway-api/context.js';
import { convertGateways } from './gateway-api/gateways.js';
import {
  grpcRouteVirtualServices, httpRouteVirtualServices, mergeHttpVirtualServices, tcpRouteVirtualServices, tlsRouteVirtualServices,
} from './gateway-api/routes.js';
import { backendPolicyDestinationRules } from './gateway-api/policies.js';

export type { DerivedResource, DerivedFrom } from './common.js';
export type { IngressSettings } from './ingress.js';
export type { GatewayApiFeatures, RegistryService } from './gateway-api/context.js';

export interface DerivedConfig {
  gateways: DerivedResource<net.Gateway>[];
  virtualServices: DerivedResource<net.VirtualService>[];
  destinationRules: DerivedResource<net.DestinationRule>[];
}

export interface ConversionOptions {
  domainSuffix: string;
  /** Mesh config ingress settings (defaults: Istio's). */
  ingress?: Partial<IngressSettings>;
  /** Feature flags (default: read from the environment like istiod). */
  features?: Partial<GatewayApiFeatures>;
  /** The registry's service for a hostname in a namespace. */
  lookupService: (hostname: string, namespace: string) => RegistryService | undefined;
}

/** The kinds whose objects feed the conversion; a store without any of them converts to nothing. */
export const CONVERTED_KINDS = [
  'Ingress', 'KubernetesGateway', 'HTTPRoute', 'GRPCRoute', 'TCPRoute', 'TLSRoute', 'ListenerSet',
  'BackendTLSPolicy', 'XBackendTrafficPolicy',
] as const;

export function convertKubernetesConfig(store: ConfigStore, opts: ConversionOptions): DerivedConfig {
  const out: DerivedConfig = { gateways: [], virtualServices: [], destinationRules: [] };
  if (CONVERTED_KINDS.every((k) => store.list(k).length === 0)) return out;

  const settings = defaultIngressSettings();
  for (const [k, v] of Object.entries(opts.ingress ?? {})) if (v !== undefined && k in settings) (settings as unknown as Record<string, unknown>)[k] = v;
  const ingress = convertIngresses(store, settings, opts.domainSuffix);
  out.gateways.push(...ingress.gateways);
  out.virtualServices.push(...ingress.virtualServices);

  const ctx = new ConversionContext({
    store,
    domainSuffix: opts.domainSuffix,
    features: { ...featuresFromEnv(), ...(opts.features ?? {}) },
    lookupService: opts.lookupService,
  });
  const gateways = convertGateways(ctx);
  out.gateways.push(...gateways.gateways);
  out.virtualServices.push(
    ...tcpRouteVirtualServices(ctx, gateways),
    ...tlsRouteVirtualServices(ctx, gateways),
    ...mergeHttpVirtualServices([...httpRouteVirtualServices(ctx, gateways), ...grpcRouteVirtualServices(ctx, gateways)]),
  );
  out.destinationRules.push(...backendPolicyDestinationRules(ctx));
  out.gateways.sort(compareCreation);
  out.virtualServices.sort(compareCreation);
  out.destinationRules.sort(compareCreation);
  return out;
}

const cache = new WeakMap<ConfigStore, { revision: number; key: unknown; result: DerivedConfig }>();

/**
 * The conversion for a store, reused while the store's revision and `cacheKey` (e.g. the service
 * registry it was computed against) stay the same.
 */
export function derivedConfigFor(store: ConfigStore, opts: ConversionOptions, cacheKey: unknown): DerivedConfig {
  const hit = cache.get(store);
  if (hit && hit.revision === store.revision && hit.key === cacheKey && store.revision > 0) return hit.result;
  const result = convertKubernetesConfig(store, opts);
  cache.set(store, { revision: store.revision, key: cacheKey, result });
  return result;
}

/** The store's resources and the derived ones in one list, oldest first (Istio sorts them together). */
export function withDerived<T>(stored: readonly Resource<T>[], derived: readonly Resource<T>[]): Resource<T>[] {
  if (derived.length === 0) return stored as Resource<T>[];
  return [...stored, ...derived].sort(compareCreation);
}

/**
 * For `x trace`: the Kubernetes objects (Ingress, HTTPRoute, Gateway, ...) behind the Istio
 * resources a step names, added after each derived one.
 */
export function withConversionOrigins<R extends { kind: string; namespace: string; name: string; role?: string }>(
  refs: R[],
  lookup: (kind: string, namespace: string, name: string) => Resource | undefined,
): (R | { kind: string; namespace: string; name: string; role: string })[] {
  const out: (R | { kind: string; namespace: string; name: string; role: string })[] = [];
  for (const r of refs) {
    out.push(r);
    const res = lookup(r.kind, r.namespace, r.name) as Partial<DerivedResource<unknown>> | undefined;
    for (const o of res?.derivedFrom ?? []) {
      out.push({ kind: o.kind, namespace: o.namespace, name: o.name, role: `converted into ${r.kind} ${r.namespace}/${r.name}` });
    }
  }
  return out;
}
