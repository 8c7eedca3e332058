// What a config change would do before it is made: the config is built twice, as it is and with
// the change applied, and every proxy's xDS resources are generated from both and compared
// byte for byte. The report names each proxy whose config would change, and which resources
// would be added, removed or changed; everything else would receive nothing.
import { toBinary } from '@bufbuild/protobuf';
import { AnySchema, anyUnpack } from '@bufbuild/protobuf/wkt';
import { Cluster_DiscoveryType, ClusterSchema } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { ListenerSchema } from '../../gen/envoy/config/listener/v3/listener_pb.js';
import { KINDS } from '../config/kinds.js';
import { keyOf, resourceKey, type Resource } from '../config/resource.js';
import { MemoryConfigStore, type ConfigStore } from '../config/store.js';
import type { Proxy } from '../model/proxy.js';
import type { PushContext } from '../model/push-context.js';
import { labelsMatch } from '../model/service.js';
import { TYPE } from '../networking/envoy.js';
import type { GeneratorSet } from '../networking/generator.js';
import { generatorsFor } from '../networking/generators.js';
import { referencedRouteNames } from './engine.js';
import { proxyFromConfig } from './workload.js';

export interface ConfigChange {
  /** Resources to create or replace. */
  apply: Resource[];
  /** Resources to delete. */
  delete: { kind: string; namespace: string; name: string }[];
}

export interface ResourceDiff {
  /** LDS, RDS, CDS or EDS. */
  type: string;
  added: string[];
  removed: string[];
  changed: string[];
}

export interface ProxyImpact {
  proxy: { id: string; workload: string; type: string; namespace: string };
  diffs: ResourceDiff[];
}

export interface PreviewReport {
  /** What the change does to the config itself. */
  config: { key: string; action: 'created' | 'updated' | 'deleted' | 'unchanged' | 'not found' }[];
  /** Proxies whose config would change, by workload. */
  affected: ProxyImpact[];
  /** How many proxies were checked (affected or not). */
  checked: number;
}

/** The types a proxy's config is made of, as the xDS server names them. */
const TYPES: [string, string][] = [
  ['LDS', TYPE.listener],
  ['RDS', TYPE.route],
  ['CDS', TYPE.cluster],
  ['EDS', TYPE.endpoint],
];

/** The base config with the change on top, in a store of its own (the base is not touched). */
export function overlayStore(base: ConfigStore, change: ConfigChange): MemoryConfigStore {
  const byKey = new Map<string, Resource>();
  for (const k of KINDS) for (const r of base.list(k.kind)) byKey.set(keyOf(r), r);
  for (const d of change.delete) byKey.delete(resourceKey(d.kind, d.namespace, d.name));
  for (const r of change.apply) byKey.set(keyOf(r), r);
  const store = new MemoryConfigStore();
  store.replaceAll([...byKey.values()]);
  return store;
}

/** How each resource of the change relates to the base config. */
export function describeChange(base: ConfigStore, change: ConfigChange): PreviewReport['config'] {
  const same = (a: Resource, b: Resource) => JSON.stringify([a.meta.labels, a.meta.annotations, a.spec]) === JSON.stringify([b.meta.labels, b.meta.annotations, b.spec]);
  return [
    ...change.apply.map((r) => {
      const old = base.get(r.kind, r.meta.namespace, r.meta.name);
      return { key: keyOf(r), action: !old ? ('created' as const) : same(old, r) ? ('unchanged' as const) : ('updated' as const) };
    }),
    ...change.delete.map((d) => ({ key: resourceKey(d.kind, d.namespace, d.name), action: base.get(d.kind, d.namespace, d.name) ? ('deleted' as const) : ('not found' as const) })),
  ];
}

/**
 * Names of what a proxy subscribes to, as an Envoy proxy would: every listener and cluster,
 * the route configurations its listeners name, the endpoints of its EDS clusters.
 */
function subscriptions(push: PushContext, proxy: Proxy, gens: GeneratorSet): Map<string, string[] | undefined> {
  const wild = (typeUrl: string) => gens.byType[typeUrl]?.(push, proxy, { typeUrl, names: [], wildcard: true }) ?? [];
  const listeners = wild(TYPE.listener).map((r) => anyUnpack(r.resource, ListenerSchema)).filter((l) => !!l);
  const clusters = wild(TYPE.cluster).map((r) => anyUnpack(r.resource, ClusterSchema)).filter((c) => !!c);
  const eds = clusters.filter((c) => c.clusterDiscoveryType.case === 'type' && c.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS).map((c) => c.edsClusterConfig?.serviceName || c.name);
  return new Map<string, string[] | undefined>([
    [TYPE.listener, undefined],
    [TYPE.route, referencedRouteNames(listeners)],
    [TYPE.cluster, undefined],
    [TYPE.endpoint, eds],
  ]);
}

/** The types a proxy watches, each with the names `b` adds (wildcard wins); types it does not watch stay out. */
function union(a: Map<string, string[] | undefined>, b: Map<string, string[] | undefined>): Map<string, string[] | undefined> {
  const out = new Map(a);
  for (const [type, names] of b) {
    if (!out.has(type) || out.get(type) === undefined) continue;
    out.set(type, names === undefined ? undefined : [...new Set([...out.get(type)!, ...names])]);
  }
  return out;
}

/** Each resource's encoding, by type and name. */
function encodings(push: PushContext, proxy: Proxy, gens: GeneratorSet, watches: Map<string, string[] | undefined>): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const [, typeUrl] of TYPES) {
    const gen = gens.byType[typeUrl];
    if (!gen || !watches.has(typeUrl)) continue;
    const names = watches.get(typeUrl);
    const resources = gen(push, proxy, { typeUrl, names: names ?? [], wildcard: names === undefined });
    out.set(typeUrl, new Map(resources.map((r) => [r.name, Buffer.from(toBinary(AnySchema, r.resource)).toString('base64')])));
  }
  return out;
}

function diff(type: string, before: Map<string, string> | undefined, after: Map<string, string> | undefined): ResourceDiff | undefined {
  const a = before ?? new Map<string, string>();
  const b = after ?? new Map<string, string>();
  const d: ResourceDiff = {
    type,
    added: [...b.keys()].filter((n) => !a.has(n)).sort(),
    removed: [...a.keys()].filter((n) => !b.has(n)).sort(),
    changed: [...b.keys()].filter((n) => a.has(n) && a.get(n) !== b.get(n)).sort(),
  };
  return d.added.length || d.removed.length || d.changed.length ? d : undefined;
}

/**
 * Compares what each proxy would get from `after` with what it gets from `before`. `watches`
 * gives a connected proxy's subscriptions (by type URL; undefined names: wildcard): `before`
 * uses them as they are; on the `after` side an Envoy also follows its new listeners and
 * clusters to new routes and endpoints, while a proxyless gRPC client keeps its own. Without
 * `watches` a proxy subscribes as an Envoy would, in each push.
 */
export function previewChange(
  before: PushContext,
  after: PushContext,
  proxies: readonly Proxy[],
  watches?: (proxy: Proxy) => Map<string, string[] | undefined>,
): Omit<PreviewReport, 'config'> {
  const affected: ProxyImpact[] = [];
  for (const proxy of proxies) {
    const gens = generatorsFor(proxy);
    const given = watches?.(proxy);
    const wb = given ?? subscriptions(before, proxy, gens);
    // An Envoy proxy follows its new listeners and clusters to new routes and endpoints.
    const wa = !given ? subscriptions(after, proxy, gens) : proxy.generator === 'grpc' ? given : union(given, subscriptions(after, proxy, gens));
    const eb = encodings(before, proxy, gens, wb);
    const ea = encodings(after, proxy, gens, wa);
    const diffs = TYPES.map(([type, url]) => diff(type, eb.get(url), ea.get(url))).filter((d): d is ResourceDiff => !!d);
    if (diffs.length) affected.push({ proxy: { id: proxy.id, workload: proxy.workloadName, type: proxy.type, namespace: proxy.namespace }, diffs });
  }
  return { affected, checked: proxies.length };
}

/**
 * The proxies of a config directory, as if each workload's sidecar connected: every Pod and
 * WorkloadEntry; a Pod a Gateway selects is that gateway's router.
 */
export function configProxies(stores: readonly ConfigStore[], domainSuffix: string): Proxy[] {
  const byWorkload = new Map<string, Proxy>();
  for (const store of stores) {
    const selectors = store.list<{ selector?: Record<string, string> }>('Gateway').map((g) => g.spec.selector ?? {}).filter((s) => Object.keys(s).length);
    for (const kind of ['Pod', 'WorkloadEntry'] as const) {
      for (const r of store.list(kind)) {
        const key = `${kind}/${r.meta.namespace}/${r.meta.name}`;
        if (byWorkload.has(key)) continue;
        const router = kind === 'Pod' && selectors.some((s) => labelsMatch(s, r.meta.labels));
        byWorkload.set(key, proxyFromConfig(store, kind, r.meta.namespace, r.meta.name, router ? 'router' : 'sidecar', domainSuffix)!);
      }
    }
  }
  return [...byWorkload.values()];
}
