// The kinds Isthmus understands: group, versions and the schema that parses each one.
import type { Schema } from './schema/dsl.js';
import * as net from './schema/networking.js';
import * as sec from './schema/security.js';
import * as tel from './schema/telemetry.js';
import * as ext from './schema/extensions.js';
import * as ef from './schema/envoyfilter.js';
import * as kube from './schema/kubernetes.js';
import * as gwapi from './schema/gateway-api.js';
import * as ing from './schema/ingress.js';
import type { Issue } from './schema/dsl.js';
import type { ObjectMeta } from './resource.js';
import { validateSemantics } from './validation/index.js';

export interface KindInfo {
  /** The name resources of this kind carry in the store (unique across groups). */
  kind: string;
  /** The kind as written in YAML when it differs from `kind` (Gateway API's `Gateway`). */
  apiKind?: string;
  group: string;
  versions: string[];
  plural: string;
  schema: Schema<unknown>;
  /** Where the schema applies: `spec` for Istio kinds, the object's top level for EndpointSlice. */
  body: 'spec' | 'toplevel';
  /** The CRD requires `spec` to be present. */
  specRequired?: boolean;
  clusterScoped?: boolean;
  /**
   * Istio's validation rules (its webhook) beyond the CRD schema: errors and warnings (severity
   * `warning`) with paths relative to the body.
   */
  validate?: (spec: unknown, meta: ObjectMeta) => Issue[];
}

const NETWORKING_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'];

function istio(
  group: string,
  versions: string[],
  kind: string,
  plural: string,
  schema: Schema<unknown>,
  opts: { specRequired?: boolean } = {},
): KindInfo {
  return {
    kind,
    group,
    versions,
    plural,
    schema,
    body: 'spec',
    ...opts,
    validate: (spec, meta) => validateSemantics(kind, spec, meta),
  };
}

const networking = (kind: string, plural: string, schema: Schema<unknown>, opts?: { specRequired?: boolean }) =>
  istio('networking.istio.io', NETWORKING_VERSIONS, kind, plural, schema, opts);
const security = (kind: string, plural: string, schema: Schema<unknown>) => istio('security.istio.io', ['v1', 'v1beta1'], kind, plural, schema);

const GATEWAY_API = 'gateway.networking.k8s.io';

/** A Kubernetes kind with a `spec` (no Istio validation rules; the CRD's structure is checked). */
function kubeKind(
  group: string,
  versions: string[],
  kind: string,
  plural: string,
  schema: Schema<unknown>,
  opts: { clusterScoped?: boolean; apiKind?: string } = {},
): KindInfo {
  return { kind, group, versions, plural, schema, body: 'spec', ...opts };
}

export const KINDS: readonly KindInfo[] = [
  networking('VirtualService', 'virtualservices', net.VirtualService),
  networking('DestinationRule', 'destinationrules', net.DestinationRule),
  networking('Gateway', 'gateways', net.Gateway),
  networking('ServiceEntry', 'serviceentries', net.ServiceEntry, { specRequired: true }),
  networking('Sidecar', 'sidecars', net.Sidecar),
  networking('WorkloadEntry', 'workloadentries', net.WorkloadEntry, { specRequired: true }),
  networking('WorkloadGroup', 'workloadgroups', net.WorkloadGroup, { specRequired: true }),
  istio('networking.istio.io', ['v1alpha3'], 'EnvoyFilter', 'envoyfilters', ef.EnvoyFilter),
  istio('networking.istio.io', ['v1beta1'], 'ProxyConfig', 'proxyconfigs', ef.ProxyConfig),
  security('PeerAuthentication', 'peerauthentications', sec.PeerAuthentication),
  security('AuthorizationPolicy', 'authorizationpolicies', sec.AuthorizationPolicy),
  security('RequestAuthentication', 'requestauthentications', sec.RequestAuthentication),
  istio('telemetry.istio.io', ['v1', 'v1alpha1'], 'Telemetry', 'telemetries', tel.Telemetry),
  istio('extensions.istio.io', ['v1alpha1'], 'WasmPlugin', 'wasmplugins', ext.WasmPlugin, { specRequired: true }),
  { kind: 'Service', group: '', versions: ['v1'], plural: 'services', schema: kube.ServiceSpec, body: 'spec' },
  {
    kind: 'EndpointSlice',
    group: 'discovery.k8s.io',
    versions: ['v1'],
    plural: 'endpointslices',
    schema: kube.EndpointSliceBody,
    body: 'toplevel',
  },
  { kind: 'Pod', group: '', versions: ['v1'], plural: 'pods', schema: kube.PodBody, body: 'toplevel' },
  // Nodes' topology labels give their pods' locality.
  { kind: 'Node', group: '', versions: ['v1'], plural: 'nodes', schema: kube.NodeBody, body: 'toplevel', clusterScoped: true },
  {
    kind: 'Namespace',
    group: '',
    versions: ['v1'],
    plural: 'namespaces',
    schema: kube.NamespaceBody,
    body: 'toplevel',
    clusterScoped: true,
  },
  // Kubernetes config that istiod converts into Istio config (pilot/config/kube-conversion).
  kubeKind('networking.k8s.io', ['v1'], 'Ingress', 'ingresses', ing.IngressSpec),
  kubeKind('networking.k8s.io', ['v1'], 'IngressClass', 'ingressclasses', ing.IngressClassSpec, { clusterScoped: true }),
  kubeKind(GATEWAY_API, ['v1', 'v1beta1'], 'GatewayClass', 'gatewayclasses', gwapi.GatewayClassSpec, { clusterScoped: true }),
  kubeKind(GATEWAY_API, ['v1', 'v1beta1'], 'KubernetesGateway', 'gateways', gwapi.GatewaySpec, { apiKind: 'Gateway' }),
  kubeKind(GATEWAY_API, ['v1', 'v1beta1'], 'HTTPRoute', 'httproutes', gwapi.HTTPRouteSpec),
  kubeKind(GATEWAY_API, ['v1'], 'GRPCRoute', 'grpcroutes', gwapi.GRPCRouteSpec),
  kubeKind(GATEWAY_API, ['v1', 'v1alpha2'], 'TCPRoute', 'tcproutes', gwapi.TCPRouteSpec),
  kubeKind(GATEWAY_API, ['v1', 'v1alpha3', 'v1alpha2'], 'TLSRoute', 'tlsroutes', gwapi.TLSRouteSpec),
  kubeKind(GATEWAY_API, ['v1beta1', 'v1alpha2'], 'ReferenceGrant', 'referencegrants', gwapi.ReferenceGrantSpec),
  kubeKind(GATEWAY_API, ['v1'], 'ListenerSet', 'listenersets', gwapi.ListenerSetSpec),
  kubeKind(GATEWAY_API, ['v1', 'v1alpha3'], 'BackendTLSPolicy', 'backendtlspolicies', gwapi.BackendTLSPolicySpec),
  kubeKind('gateway.networking.x-k8s.io', ['v1alpha1'], 'XBackendTrafficPolicy', 'xbackendtrafficpolicies', gwapi.XBackendTrafficPolicySpec),
  kubeKind('gateway.networking.x-k8s.io', ['v1alpha1'], 'XBackend', 'xbackends', gwapi.XBackendSpec),
  kubeKind('inference.networking.k8s.io', ['v1'], 'InferencePool', 'inferencepools', gwapi.InferencePoolSpec),
  { kind: 'Secret', group: '', versions: ['v1'], plural: 'secrets', schema: ing.SecretBody, body: 'toplevel' },
  { kind: 'ConfigMap', group: '', versions: ['v1'], plural: 'configmaps', schema: ing.ConfigMapBody, body: 'toplevel' },
];

const byApiKind = new Map<string, KindInfo>();
for (const k of KINDS) for (const v of k.versions) byApiKind.set(`${k.group ? `${k.group}/` : ''}${v}/${k.apiKind ?? k.kind}`, k);

export function lookupKind(apiVersion: string, kind: string): KindInfo | undefined {
  return byApiKind.get(`${apiVersion}/${kind}`);
}

export function kindByName(kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind);
}
