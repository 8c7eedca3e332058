// The kinds Isthmus understands: group, versions and the schema that parses each one.
import type { Schema } from './schema/dsl.js';
import * as net from './schema/networking.js';
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
  clusterScoped?: boolean;
  /** Value checks beyond structure; returns issues with paths relative to the body. */
  validate?: (spec: unknown, meta: ObjectMeta) => Issue[];
}

const NETWORKING_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'];

function istio(kind: string, plural: string, schema: Schema<unknown>): KindInfo {
  return {
    kind,
    group: 'networking.istio.io',
    versions: kind === 'WorkloadGroup' ? ['v1', 'v1beta1', 'v1alpha3'] : NETWORKING_VERSIONS,
    plural,
    schema,
    body: 'spec',
    validate: (spec, meta) => validateSemantics(kind, spec, meta),
  };
}

export const KINDS: readonly KindInfo[] = [
  istio('VirtualService', 'virtualservices', net.VirtualService),
  istio('DestinationRule', 'destinationrules', net.DestinationRule),
  istio('Gateway', 'gateways', net.Gateway),
  istio('ServiceEntry', 'serviceentries', net.ServiceEntry),
  istio('Sidecar', 'sidecars', net.Sidecar),
  istio('WorkloadEntry', 'workloadentries', net.WorkloadEntry),
  istio('WorkloadGroup', 'workloadgroups', net.WorkloadGroup),
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
