// Which proxy a trace is for: a connected proxy (by id or `pod.namespace`), a Pod or
// WorkloadEntry from the config (as if its sidecar connected), or labels in a namespace.
import type { ConfigStore } from '../config/store.js';
import type { Resource } from '../config/resource.js';
import { proxyFromNode, type Proxy } from '../model/proxy.js';
import { labelsMatch } from '../model/service.js';

export interface ProxySelector {
  /** A proxy id (`sidecar~IP~pod.ns~ns.svc.cluster.local`) or a workload `name.namespace`. */
  proxy?: string;
  /** Workload labels (with `namespace`): the first Pod / WorkloadEntry carrying them, else a proxy with just these labels. */
  labels?: Record<string, string>;
  namespace?: string;
  /** `router` for a gateway. */
  type?: 'sidecar' | 'router';
}

export class ProxyNotFound extends Error {}

interface PodLike {
  spec?: { serviceAccountName?: string };
  status?: { podIP?: string; podIPs?: { ip?: string }[] };
}

interface WorkloadEntryLike {
  address?: string;
  labels?: Record<string, string>;
  serviceAccount?: string;
}

function node(type: string, ip: string, workload: string, namespace: string, domainSuffix: string, md: Record<string, unknown>): Proxy {
  return proxyFromNode({ id: `${type}~${ip}~${workload}~${namespace}.svc.${domainSuffix}`, metadata: { NAMESPACE: namespace, ...md } as never }, domainSuffix);
}

function fromPod(pod: Resource<PodLike>, type: string, domainSuffix: string): Proxy {
  const ips = [pod.spec.status?.podIP, ...(pod.spec.status?.podIPs ?? []).map((p) => p.ip)].filter((x, i, a): x is string => !!x && a.indexOf(x) === i);
  return node(type, ips[0] ?? '', `${pod.meta.name}.${pod.meta.namespace}`, pod.meta.namespace, domainSuffix, {
    LABELS: pod.meta.labels,
    SERVICE_ACCOUNT: pod.spec.spec?.serviceAccountName || 'default',
    INSTANCE_IPS: ips.join(','),
    WORKLOAD_NAME: pod.meta.name,
  });
}

function fromWorkloadEntry(we: Resource<WorkloadEntryLike>, type: string, domainSuffix: string): Proxy {
  return node(type, we.spec.address ?? '', `${we.meta.name}.${we.meta.namespace}`, we.meta.namespace, domainSuffix, {
    LABELS: { ...we.meta.labels, ...(we.spec.labels ?? {}) },
    SERVICE_ACCOUNT: we.spec.serviceAccount || 'default',
    INSTANCE_IPS: we.spec.address ?? '',
  });
}

/** The proxy a Pod's or WorkloadEntry's sidecar (or, `router`, gateway) would be. */
export function proxyFromConfig(store: ConfigStore, kind: 'Pod' | 'WorkloadEntry', namespace: string, name: string, type: string, domainSuffix: string): Proxy | undefined {
  if (kind === 'Pod') {
    const pod = store.get<PodLike>('Pod', namespace, name);
    return pod && fromPod(pod, type, domainSuffix);
  }
  const we = store.get<WorkloadEntryLike>('WorkloadEntry', namespace, name);
  return we && fromWorkloadEntry(we, type, domainSuffix);
}

/**
 * Resolves a selector to a proxy. Connected proxies win (they carry their real metadata); then
 * Pods and WorkloadEntries of the config; labels without a matching workload give a proxy with
 * those labels and no address (outbound traces still work; it serves nothing inbound).
 */
export function resolveProxy(sel: ProxySelector, store: ConfigStore, domainSuffix: string, connected: readonly Proxy[] = []): Proxy {
  const type = sel.type ?? 'sidecar';
  if (sel.proxy) {
    const id = sel.proxy;
    const live = connected.find((p) => p.id === id || p.workloadName === id);
    if (live) return live;
    if (id.split('~').length === 4) return proxyFromNode({ id }, domainSuffix);
    const dot = id.lastIndexOf('.');
    const name = dot > 0 ? id.slice(0, dot) : id;
    const namespace = dot > 0 ? id.slice(dot + 1) : (sel.namespace ?? 'default');
    const pod = store.get<PodLike>('Pod', namespace, name);
    if (pod) return fromPod(pod, type, domainSuffix);
    const we = store.get<WorkloadEntryLike>('WorkloadEntry', namespace, name);
    if (we) return fromWorkloadEntry(we, type, domainSuffix);
    const known = [...connected.map((p) => p.workloadName), ...store.list('Pod').map((p) => `${p.meta.name}.${p.meta.namespace}`)];
    throw new ProxyNotFound(`no proxy, Pod or WorkloadEntry ${JSON.stringify(`${name}.${namespace}`)}${known.length ? `; known: ${[...new Set(known)].slice(0, 10).join(', ')}` : ''}`);
  }
  const namespace = sel.namespace ?? 'default';
  const labels = sel.labels ?? {};
  if (Object.keys(labels).length) {
    const live = connected.find((p) => p.namespace === namespace && labelsMatch(labels, p.labels));
    if (live) return live;
    const pod = store.list<PodLike>('Pod', namespace).find((p) => labelsMatch(labels, p.meta.labels));
    if (pod) return fromPod(pod, type, domainSuffix);
    const we = store.list<WorkloadEntryLike>('WorkloadEntry', namespace).find((w) => labelsMatch(labels, { ...w.meta.labels, ...(w.spec.labels ?? {}) }));
    if (we) return fromWorkloadEntry(we, type, domainSuffix);
  }
  return node(type, '', `trace.${namespace}`, namespace, domainSuffix, { LABELS: labels });
}
