// The kinds Isthmus understands: group, versions and the schema that parses each one.
import type { Schema } from './schema/dsl.js';
import * as net from './schema/networking.js';
import * as sec from './schema/security.js';
import * as tel from './schema/telemetry.js';
import * as ext from './schema/extensions.js';
import * as ef from './schema/envoyfilter.js';
import * as kube from './schema/kubernetes.js';
import type { Issue } from './schema/dsl.js';
import type { ObjectMeta } from './resource.js';
import { validateSemantics } from './validation/index.js';

export interface KindInfo {
  kind: string;
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
  {
    kind: 'Namespace',
    group: '',
    versions: ['v1'],
    plural: 'namespaces',
    schema: kube.NamespaceBody,
    body: 'toplevel',
    clusterScoped: true,
  },
];

const byApiKind = new Map<string, KindInfo>();
for (const k of KINDS) for (const v of k.versions) byApiKind.set(`${k.group ? `${k.group}/` : ''}${v}/${k.kind}`, k);

export function lookupKind(apiVersion: string, kind: string): KindInfo | undefined {
  return byApiKind.get(`${apiVersion}/${kind}`);
}

export function kindByName(kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind);
}
