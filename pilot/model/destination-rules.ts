// DestinationRule lookup as istiod does it: rules of one namespace naming the same host are
// consolidated (later rules contribute subsets with new names, and a top-level traffic policy
// only when the first has none), indexed per namespace by visibility (namespace-local, exported,
// root-namespace private), and a proxy's own namespace's rules with a `workloadSelector` win
// for proxies whose labels they select.
import type { Resource } from '../config/resource.js';
import type * as net from '../config/schema/networking.js';
import { Canon } from './canonical.js';
import { hostMatches, hostSpecificity } from './host.js';
import { labelsMatch, resolveExportTo } from './service.js';

/** A DestinationRule, or several of one namespace and host merged into one, ready for lookup. */
export interface ResolvedDestinationRule {
  /** The (merged) rule: the first rule's metadata with the merged spec. */
  resource: Resource<net.DestinationRule>;
  host: string;
  /** Namespaces the rule is visible to ('*' for all), defaults applied. */
  exportTo: Set<string>;
  namespace: string;
  /** The rules merged into this one, first the one whose metadata it carries. */
  from: { namespace: string; name: string }[];
  /** The `exportTo` values as written ('.' for a rule with a selector), for merging. */
  rawExportTo: ReadonlySet<string>;
}

const PARENTS_ANNOTATION = 'internal.istio.io/parents';

function selectorOf(r: Resource<net.DestinationRule>): Record<string, string> | undefined {
  const ws = r.spec.workloadSelector;
  return ws ? (ws.matchLabels ?? {}) : undefined;
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((v) => b.has(v));
}

function timeOf(ts: string | undefined): number {
  const t = ts ? Date.parse(ts) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Istio's order: rules with a selector first, then oldest, then by name and namespace. */
function compareRules(a: Resource<net.DestinationRule>, b: Resource<net.DestinationRule>): number {
  const sa = a.spec.workloadSelector ? 0 : 1;
  const sb = b.spec.workloadSelector ? 0 : 1;
  return sa - sb || timeOf(a.meta.creationTimestamp) - timeOf(b.meta.creationTimestamp) || cmp(a.meta.name, b.meta.name) || cmp(a.meta.namespace, b.meta.namespace);
}

function isBackendPolicy(r: Resource<net.DestinationRule>): boolean {
  return PARENTS_ANNOTATION in r.meta.annotations;
}

type Policy = net.TrafficPolicy;
type PortPolicy = NonNullable<Policy['portLevelSettings']>[number];

/** A user-written policy over one derived from Gateway API backend policies: user fields win, the backend fills gaps. */
function overBackendPolicy(user: Policy | undefined, backend: Policy | undefined): Policy | undefined {
  if (!user) return backend;
  if (!backend) return user;
  const merged: Policy = { ...backend, ...Object.fromEntries(Object.entries(user).filter(([k, v]) => v !== undefined && k !== 'portLevelSettings')) };
  delete merged.portLevelSettings;
  const ports = overBackendPorts(user.portLevelSettings, backend.portLevelSettings);
  if (ports) merged.portLevelSettings = ports;
  return merged;
}

function overBackendPorts(user: PortPolicy[] | undefined, backend: PortPolicy[] | undefined): PortPolicy[] | undefined {
  if (!backend?.length) return user;
  const out = (user ?? []).map((p) => ({ ...p }));
  for (const b of backend) {
    const u = out.find((p) => (p.port?.number ?? 0) === (b.port?.number ?? 0));
    if (!u) {
      out.push(b);
      continue;
    }
    u.loadBalancer ??= b.loadBalancer;
    u.connectionPool ??= b.connectionPool;
    u.outlierDetection ??= b.outlierDetection;
    u.tls ??= b.tls;
  }
  return out;
}

/** Rules of one host kept apart (different selectors or exportTo), in order. */
class HostIndex {
  readonly specific = new Map<string, ResolvedDestinationRule[]>();
  readonly wildcard = new Map<string, ResolvedDestinationRule[]>();

  /** Istio's mergeDestinationRule: merge `incoming` into the host's rules it is compatible with, or add it. */
  add(incoming: ResolvedDestinationRule): void {
    const byHost = incoming.host.startsWith('*') ? this.wildcard : this.specific;
    const list = byHost.get(incoming.host);
    if (!list) {
      byHost.set(incoming.host, [incoming]);
      return;
    }
    const rule = incoming.resource;
    const sel = selectorOf(rule);
    let separate = true;
    for (let i = 0; i < list.length; i++) {
      const existing = list[i]!;
      if (sameSet(incoming.rawExportTo, existing.rawExportTo)) separate = false;
      else if (existing.rawExportTo.size > 0 && [...existing.rawExportTo].every((e) => incoming.rawExportTo.has(e))) separate = true;
      else {
        separate = true;
        continue;
      }
      const exSel = selectorOf(existing.resource);
      if (sel && exSel && !sameLabels(sel, exSel)) {
        separate = true;
        continue;
      }
      if ((!sel && !exSel) || (sel && exSel)) separate = false;
      // A selector-less rule may still be folded into a selector rule here (as istiod does).
      const spec: net.DestinationRule = { ...existing.resource.spec, subsets: [...(existing.resource.spec.subsets ?? [])] };
      const names = new Set(spec.subsets!.map((s) => s.name));
      for (const s of rule.spec.subsets ?? []) if (!names.has(s.name)) spec.subsets!.push(s);
      if (!spec.subsets!.length) delete spec.subsets;
      const exBackend = isBackendPolicy(existing.resource);
      const inBackend = isBackendPolicy(rule);
      if (exBackend === inBackend) spec.trafficPolicy ??= rule.spec.trafficPolicy;
      else if (inBackend) spec.trafficPolicy = overBackendPolicy(spec.trafficPolicy, rule.spec.trafficPolicy);
      else spec.trafficPolicy = overBackendPolicy(rule.spec.trafficPolicy, spec.trafficPolicy);
      if (spec.trafficPolicy === undefined) delete spec.trafficPolicy;
      list[i] = { ...existing, resource: { ...existing.resource, spec }, from: [...existing.from, ...incoming.from] };
    }
    if (separate) list.push(incoming);
  }

  /** Istio's MostSpecificHostMatch: the exact host, else the longest matching wildcard. */
  match(hostname: string): ResolvedDestinationRule[] | undefined {
    const exact = this.specific.get(hostname);
    if (exact) return exact;
    let best: { host: string; rules: ResolvedDestinationRule[] } | undefined;
    for (const [h, rules] of this.wildcard) {
      if (!hostMatches(h, hostname)) continue;
      if (!best || hostSpecificity(h) > hostSpecificity(best.host)) best = { host: h, rules };
    }
    return best?.rules;
  }
}

export interface DestinationRuleIndexOptions {
  rootNamespace: string;
  defaultExportTo: readonly string[];
  resolveHost: (host: string, namespace: string) => string;
}

export class DestinationRuleIndex {
  /** Every rule, unmerged, in Istio's order. */
  readonly all: ResolvedDestinationRule[];
  /** Whether any rule has a workloadSelector (then the rule for a service depends on the proxy's labels). */
  readonly hasSelectors: boolean;
  private readonly namespaceLocal = new Map<string, HostIndex>();
  private readonly exported = new Map<string, HostIndex>();
  private readonly rootLocal = new HostIndex();
  /** The rules as looked up, by where they are indexed: the next push's index takes unchanged ones over. */
  private readonly canon: Canon<ResolvedDestinationRule>;

  /** `previous`: the index of the push before; rules equal to one of it are that very object. */
  constructor(
    rules: readonly Resource<net.DestinationRule>[],
    private readonly opts: DestinationRuleIndexOptions,
    previous?: DestinationRuleIndex,
  ) {
    this.canon = new Canon(previous?.canon.table);
    const sorted = [...rules].sort(compareRules);
    this.hasSelectors = sorted.some((r) => !!r.spec.workloadSelector);
    this.all = sorted.map((r) => {
      const ns = r.meta.namespace;
      const raw = new Set(r.spec.workloadSelector ? ['.'] : (r.spec.exportTo ?? []));
      return this.canon.of(`${ns}/${r.meta.name}`, {
        resource: r,
        host: opts.resolveHost(r.spec.host ?? '', ns),
        exportTo: resolveExportTo(r.spec.workloadSelector ? ['.'] : r.spec.exportTo, ns, opts.defaultExportTo),
        namespace: ns,
        from: [{ namespace: ns, name: r.meta.name }],
        rawExportTo: raw,
      });
    });
    const indexIn = (m: Map<string, HostIndex>, ns: string): HostIndex => {
      let idx = m.get(ns);
      if (!idx) m.set(ns, (idx = new HostIndex()));
      return idx;
    };
    for (const dr of this.all) {
      const raw = dr.rawExportTo;
      const ns = dr.namespace;
      if (raw.size === 0 || raw.has('*') || raw.has('.') || raw.has(ns)) indexIn(this.namespaceLocal, ns).add(dr);
      const privateOnly = (raw.size === 0 && opts.defaultExportTo.includes('.')) || (raw.size === 1 && (raw.has('.') || raw.has(ns)));
      if (!privateOnly) indexIn(this.exported, ns).add(dr);
      else if (ns === opts.rootNamespace) this.rootLocal.add(dr);
    }
    // Merged rules are new objects: those equal to the previous push's become those.
    const canonical = (where: string, idx: HostIndex) => {
      for (const byHost of [idx.specific, idx.wildcard]) {
        for (const [host, list] of byHost) {
          list.forEach((dr, i) => {
            list[i] = this.canon.of(`${where}|${host}|${i}|${dr.from.map((f) => `${f.namespace}/${f.name}`).join(',')}`, dr);
          });
        }
      }
    };
    for (const [ns, idx] of this.namespaceLocal) canonical(`local/${ns}`, idx);
    for (const [ns, idx] of this.exported) canonical(`exported/${ns}`, idx);
    canonical('root', this.rootLocal);
  }

  /** Istio's PushContext.destinationRule: the consolidated rules for `hostname` seen from `namespace`. */
  candidates(namespace: string, hostname: string, svcNamespace: string): ResolvedDestinationRule[] {
    const local = namespace !== this.opts.rootNamespace ? this.namespaceLocal.get(namespace)?.match(hostname) : this.rootLocal.match(hostname);
    if (local) return local;
    if (svcNamespace) {
      const out = this.exportedFrom(svcNamespace, hostname, namespace);
      if (out.length) return out;
    }
    return this.exportedFrom(this.opts.rootNamespace, hostname, namespace);
  }

  private exportedFrom(owner: string, hostname: string, client: string): ResolvedDestinationRule[] {
    const rules = this.exported.get(owner)?.match(hostname) ?? [];
    return rules.filter((r) => r.rawExportTo.size === 0 || r.rawExportTo.has('*') || r.rawExportTo.has(client));
  }

  /**
   * Istio's SidecarScope.DestinationRule (outbound): a rule of the proxy's namespace whose selector
   * matches the proxy's labels, else the last rule without a selector.
   */
  select(namespace: string, labels: Record<string, string>, hostname: string, svcNamespace: string): ResolvedDestinationRule | undefined {
    let catchAll: ResolvedDestinationRule | undefined;
    for (const dr of this.candidates(namespace, hostname, svcNamespace)) {
      const sel = selectorOf(dr.resource);
      if (!sel) catchAll = dr;
      else if (dr.namespace === namespace && labelsMatch(sel, labels)) return dr;
    }
    return catchAll;
  }
}
