// An immutable snapshot of everything translation reads, with the indexes it needs.
// A config change builds a new PushContext; generators never see a half-applied change.
import type { ConfigStore } from '../config/store.js';
import { derivedConfigFor, withDerived, type DerivedConfig, type IngressSettings } from '../config/kube-conversion/index.js';
import type { Resource } from '../config/resource.js';
import type * as net from '../config/schema/networking.js';
import type { AuthorizationPolicy, PeerAuthentication, RequestAuthentication } from '../config/schema/security.js';
import { NO_JWKS, type JwksSnapshot } from './jwks.js';
import { byCreation } from './authorization.js';
import type { ServiceIndex } from '../registry/index.js';
import { hostMatches, hostSpecificity, resolveShortname } from './host.js';
import { DurableCache } from './durable-cache.js';
import { xdsCacheSize } from './features.js';
import type { MeshConfig } from './mesh.js';
import type { Proxy } from './proxy.js';
import { mergeDelegates } from './delegate.js';
import { Canon } from './canonical.js';
import { DestinationRuleIndex, type ResolvedDestinationRule } from './destination-rules.js';
import { buildSidecarScope, selectSidecar, type SidecarScope } from './sidecar-scope.js';
import { isVisibleTo, mergeSameHostServices, resolveExportTo, serviceSources, type IstioEndpoint, type Service } from './service.js';

/** A VirtualService with its hosts, gateways and exportTo already resolved. */
export interface ResolvedVirtualService {
  resource: Resource<net.VirtualService>;
  hosts: string[];
  gateways: string[];
  exportTo: Set<string>;
  namespace: string;
}

export type { ResolvedDestinationRule } from './destination-rules.js';

export const MESH_GATEWAY = 'mesh';

/** A VirtualService generated from the Gateway API (`internal.istio.io/route-semantics: gateway`). */
function usesGatewaySemantics(vs: ResolvedVirtualService): boolean {
  return vs.resource.meta.annotations['internal.istio.io/route-semantics'] === 'gateway';
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export class PushContext {
  readonly virtualServices: readonly ResolvedVirtualService[];
  readonly destinationRules: readonly ResolvedDestinationRule[];
  readonly peerAuthentications: readonly Resource<PeerAuthentication>[];
  /** Oldest first, as Istio orders them (the order of rules within an RBAC filter follows it). */
  readonly authorizationPolicies: readonly Resource<AuthorizationPolicy>[];
  readonly requestAuthentications: readonly Resource<RequestAuthentication>[];
  /** JWKS istiod fetched for RequestAuthentication rules, as they were when this push began. */
  readonly jwks: JwksSnapshot;
  /**
   * The store this push was built from, for SDS: Secrets are read when a proxy asks for one
   * (copying every Secret into each push would cost more than it protects).
   */
  readonly configStore: ConfigStore;
  /** Whether a service account may read its namespace's Secrets (RBAC in a cluster; the directory has none). */
  readonly secretAccess: (namespace: string, serviceAccount: string) => boolean;
  readonly sidecars: readonly Resource<net.Sidecar>[];
  private readonly scopes = new Map<string, SidecarScope>();
  /** Generated output shared by proxies with the same view during this push (see `memo`). */
  private readonly memos = new Map<string, unknown>();
  private readonly warned = new Set<string>();
  private readonly warnSink?: (message: string) => void;
  /** Output kept across pushes (see `durable`): shared with the pushes before while the mesh config and domain stay. */
  private readonly durables: DurableCache;
  private readonly servicesByNamespace = new Map<string, { list: Service[]; byHost: Map<string, Service> }>();
  /** Exact hosts → config naming them; wildcard hosts are scanned (there are few). */
  private readonly vsByHost = new Map<string, ResolvedVirtualService[]>();
  private readonly vsWildcard: ResolvedVirtualService[] = [];
  private readonly drIndex: DestinationRuleIndex;
  /** Resolved VirtualServices by key: the next push takes unchanged ones over (model/canonical.ts). */
  private readonly vsCanon: Canon<ResolvedVirtualService>;

  readonly gateways: readonly Resource<net.Gateway>[];
  /** Istio config converted from Gateway API and Ingress objects (the push plan compares it). */
  readonly derived: DerivedConfig;
  /**
   * The suffix short host names in config resolve with (Istio's config.Meta.Domain): the
   * cluster's domain in istiod's sources; Istio's own test harness leaves it empty.
   */
  readonly configDomain: string;

  constructor(
    readonly version: string,
    readonly mesh: MeshConfig,
    readonly domainSuffix: string,
    readonly registry: ServiceIndex,
    store: ConfigStore,
    opts: {
      configDomain?: string;
      previous?: PushContext;
      warn?: (message: string) => void;
      jwks?: JwksSnapshot;
      secretAccess?: (namespace: string, serviceAccount: string) => boolean;
    } = {},
  ) {
    this.warnSink = opts.warn;
    this.jwks = opts.jwks ?? NO_JWKS;
    this.configStore = store;
    this.secretAccess = opts.secretAccess ?? (() => true);
    this.configDomain = opts.configDomain ?? domainSuffix;
    // Durable output depends on the mesh config and domain besides its key: only carried over while those stay.
    const prev = opts.previous;
    const carry = prev && prev.mesh === mesh && prev.domainSuffix === domainSuffix && prev.configDomain === this.configDomain;
    this.durables = carry ? prev.durables : new DurableCache(xdsCacheSize());
    // Ingress and Gateway API objects, converted into Istio config as istiod does.
    const derived = (this.derived = derivedConfigFor(
      store,
      {
        domainSuffix,
        ingress: mesh as Partial<IngressSettings>,
        lookupService: (host, ns) => registry.byHostname.get(host)?.find((s) => s.namespace === ns),
      },
      registry,
    ));
    this.gateways = withDerived(store.list<net.Gateway>('Gateway'), derived.gateways);
    this.peerAuthentications = store.list<PeerAuthentication>('PeerAuthentication');
    this.authorizationPolicies = byCreation(store.list<AuthorizationPolicy>('AuthorizationPolicy'));
    this.requestAuthentications = byCreation(store.list<RequestAuthentication>('RequestAuthentication'));
    this.sidecars = store.list<net.Sidecar>('Sidecar');
    this.vsCanon = new Canon(prev?.vsCanon.table);
    this.virtualServices = mergeDelegates(withDerived(store.list<net.VirtualService>('VirtualService'), derived.virtualServices)).map((r) =>
      this.vsCanon.of(`${r.meta.namespace}/${r.meta.name}`, this.resolveVirtualService(r)),
    );
    this.drIndex = new DestinationRuleIndex(
      withDerived(store.list<net.DestinationRule>('DestinationRule'), derived.destinationRules),
      {
        rootNamespace: mesh.rootNamespace,
        defaultExportTo: mesh.defaultDestinationRuleExportTo,
        resolveHost: (h, ns) => resolveShortname(h, ns, domainSuffix),
      },
      prev?.drIndex,
    );
    this.destinationRules = this.drIndex.all;
    for (const vs of this.virtualServices) {
      for (const h of new Set(vs.hosts)) {
        if (h.startsWith('*')) {
          if (!this.vsWildcard.includes(vs)) this.vsWildcard.push(vs);
        } else pushTo(this.vsByHost, h, vs);
      }
    }
  }

  private resolveVirtualService(r: Resource<net.VirtualService>): ResolvedVirtualService {
    const ns = r.meta.namespace;
    const gateways = (r.spec.gateways?.length ? r.spec.gateways : [MESH_GATEWAY]).map((g) =>
      g === MESH_GATEWAY || g.includes('/') ? g : `${ns}/${g}`,
    );
    return {
      resource: r,
      hosts: (r.spec.hosts ?? []).map((h) => resolveShortname(h, ns, this.domainSuffix)),
      gateways,
      exportTo: resolveExportTo(r.spec.exportTo, ns, this.mesh.defaultVirtualServiceExportTo),
      namespace: ns,
    };
  }

  /**
   * Services a proxy in `namespace` can see: one per hostname, preferring its own
   * namespace's definition, then the oldest (Kubernetes before ServiceEntry); services of one
   * host and namespace are merged (mergeSameHostServices).
   */
  servicesVisibleTo(namespace: string): Service[] {
    return this.visibility(namespace).list;
  }

  private visibility(namespace: string): { list: Service[]; byHost: Map<string, Service> } {
    let v = this.servicesByNamespace.get(namespace);
    if (v) return v;
    const byHost = new Map<string, Service>();
    for (const svc of this.registry.services) {
      if (!isVisibleTo(svc, namespace)) continue;
      const prev = byHost.get(svc.hostname);
      if (!prev || (prev.namespace !== namespace && svc.namespace === namespace)) byHost.set(svc.hostname, svc);
      else if (prev.namespace === svc.namespace) byHost.set(svc.hostname, mergeSameHostServices(prev, svc) ?? prev);
    }
    v = { list: [...byHost.values()], byHost };
    this.servicesByNamespace.set(namespace, v);
    return v;
  }

  /**
   * Builds a value once per push and key: generators use it to share output between proxies
   * whose view (the key) is the same. The key must name everything the value depends on.
   */
  memo<T>(key: string, build: () => T): T {
    const known = this.memos.get(key);
    if (known !== undefined || this.memos.has(key)) return known as T;
    const value = build();
    this.memos.set(key, value);
    return value;
  }

  /**
   * Like `memo`, and the value also serves later pushes (each built with the one before as
   * `previous`) that ask for the same key, while the mesh config and domain stay the same. The
   * key must name every other input: by value, or by the identity of services, VirtualServices
   * and DestinationRules, which a push takes over from the one before while unchanged
   * (model/canonical.ts). At most PILOT_XDS_CACHE_SIZE entries are kept, those not used for the
   * longest dropped first (model/durable-cache.ts): entries whose inputs changed are never asked
   * for again and leave that way.
   */
  durable<T>(key: string, build: () => T): T {
    // This push's memo first: sharing between the proxies of one push never depends on the
    // cache's size (a mesh with more pieces than it holds would otherwise evict each piece
    // before the next proxy asks for it).
    return this.memo(key, () => this.durables.get(key, build));
  }

  /**
   * Reports config that translation had to leave out (a rule it cannot express, an unusable
   * provider): once per push and message, to the log istiod users would look in.
   */
  warn(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.warnSink?.(message);
  }

  /** Reads of `durable` output, counted across the pushes that share it (as Istio's xds_cache_reads). */
  get cacheStats(): Readonly<DurableCache['stats']> {
    return this.durables.stats;
  }

  private selectScope(proxy: Proxy): { sidecar?: Resource<net.Sidecar>; key: string } {
    // Sidecar resources never apply to gateways.
    const sidecar = this.sidecars.length && proxy.type !== 'router' ? selectSidecar(this.sidecars, proxy, this.mesh.rootNamespace) : undefined;
    return { sidecar, key: sidecar ? `${sidecar.meta.namespace}/${sidecar.meta.name}@${proxy.namespace}` : `@${proxy.namespace}` };
  }

  /** Identifies the proxy's Sidecar scope: equal keys, equal `sidecarScope`. */
  sidecarScopeKey(proxy: Proxy): string {
    return this.selectScope(proxy).key;
  }

  /** The proxy's view after its Sidecar resource (cached per Sidecar and proxy namespace). */
  sidecarScope(proxy: Proxy): SidecarScope {
    const { sidecar, key } = this.selectScope(proxy);
    let scope = this.scopes.get(key);
    if (!scope) {
      // A root-namespace Sidecar's `.` means the proxy's namespace: the scope is built for it.
      scope = buildSidecarScope(sidecar, proxy.namespace, this.servicesVisibleTo(proxy.namespace), this.virtualServices, this.mesh.outboundTrafficPolicy, (h, ns) =>
        resolveShortname(h, ns, this.domainSuffix),
      );
      this.scopes.set(key, scope);
    }
    return scope;
  }

  /** Services the proxy sees (exportTo, then its Sidecar's egress hosts). */
  servicesFor(proxy: Proxy): Service[] {
    return this.sidecarScope(proxy).services;
  }

  serviceForHostname(proxy: Proxy, hostname: string): Service | undefined {
    return this.sidecarScope(proxy).byHost.get(hostname);
  }

  /** The VirtualService for `svc` among those the proxy's Sidecar lets it see. */
  virtualServiceForProxy(proxy: Proxy, svc: Service): ResolvedVirtualService | undefined {
    const scope = this.sidecarScope(proxy);
    return this.virtualServiceFor(proxy.namespace, svc, MESH_GATEWAY, scope.sidecar ? scope.virtualServices : undefined);
  }

  endpoints(svc: Service): readonly IstioEndpoint[] {
    const sources = serviceSources(svc);
    return sources.length === 1 ? this.registry.endpoints(sources[0]!) : sources.flatMap((s) => this.registry.endpoints(s));
  }

  /** The VirtualService that routes `svc` for proxies of `namespace` on `gateway` (oldest first wins). */
  virtualServiceFor(namespace: string, svc: Service, gateway = MESH_GATEWAY, allowed?: ReadonlySet<ResolvedVirtualService>): ResolvedVirtualService | undefined {
    let best: { vs: ResolvedVirtualService; specificity: number } | undefined;
    let candidates = [...(this.vsByHost.get(svc.hostname) ?? []), ...this.vsWildcard];
    // Oldest first, as in the full list, so ties keep Istio's "first wins".
    if (this.vsWildcard.length) candidates.sort((a, b) => this.virtualServices.indexOf(a) - this.virtualServices.indexOf(b));
    // Gateway API routes (GAMMA) of the proxy's own namespace come first (Istio's UnifiedSidecarScoping).
    if (gateway === MESH_GATEWAY && candidates.some((vs) => usesGatewaySemantics(vs) && vs.namespace === namespace)) {
      candidates = [...candidates.filter((vs) => usesGatewaySemantics(vs) && vs.namespace === namespace), ...candidates.filter((vs) => !(usesGatewaySemantics(vs) && vs.namespace === namespace))];
    }
    for (const vs of candidates) {
      if (!vs.gateways.includes(gateway)) continue;
      // ... and apply only from the service's namespace or the proxy's.
      if (gateway === MESH_GATEWAY && usesGatewaySemantics(vs) && vs.namespace !== svc.namespace && vs.namespace !== namespace) continue;
      if (allowed && !allowed.has(vs)) continue;
      if (!(vs.exportTo.has('*') || vs.exportTo.has(namespace))) continue;
      for (const h of vs.hosts) {
        if (!hostMatches(h, svc.hostname)) continue;
        const specificity = hostSpecificity(h);
        if (!best || specificity > best.specificity) best = { vs, specificity };
      }
    }
    return best?.vs;
  }

  /**
   * The DestinationRule that applies to `svc` for `proxy`, as istiod picks it: the most specific
   * host among the proxy's namespace's rules, else the service's namespace's exported ones, else
   * the root namespace's; rules of one namespace and host are merged, and one of the proxy's
   * namespace whose `workloadSelector` matches the proxy's labels wins over the rest.
   */
  destinationRuleFor(proxy: Pick<Proxy, 'namespace' | 'labels'>, svc: Service): ResolvedDestinationRule | undefined {
    return this.drIndex.select(proxy.namespace, proxy.labels, svc.hostname, svc.namespace);
  }

  /** Whether some DestinationRule has a workloadSelector: then `destinationRuleFor` depends on the proxy's labels. */
  get destinationRulesDependOnLabels(): boolean {
    return this.drIndex.hasSelectors;
  }
}
