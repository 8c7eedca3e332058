// MeshConfig `discoverySelectors`: in a cluster, the control plane reads only the namespaces whose
// labels match one of the selectors (all of them when there are none), as istiod filters its
// informers. Cluster-scoped objects always pass; a Namespace passes by its own name.
//
// A view over the store: list/get leave other namespaces out and change events about them are
// dropped. A namespace that comes into or out of the selection (its labels changed, or the
// selectors did) is announced as a change of everything in it, so the next push sees it.
import { selectorMatches } from './kube-conversion/common.js';
import { KINDS } from './kinds.js';
import type { LabelSelector } from './schema/gateway-api.js';
import type { ConfigError } from './parse.js';
import { keyOf, resourceKey, type Resource } from './resource.js';
import type { ConfigEvent, ConfigStore } from './store.js';

export class DiscoveryFilteredStore implements ConfigStore {
  private selectors: LabelSelector[] = [];
  /** Selected namespaces; undefined while every namespace is. */
  private selected?: Set<string>;
  private version = 0;
  private readonly lists = new Map<string, { revision: number; version: number; list: Resource[] }>();
  private readonly handlers = new Set<(event: ConfigEvent) => void>();

  constructor(private readonly inner: ConfigStore) {
    inner.onChange((e) => this.innerChanged(e));
  }

  get revision(): number {
    return this.inner.revision + this.version;
  }

  /** New selectors (a mesh config edit): changes of membership are announced like any change. */
  setSelectors(selectors: LabelSelector[]): void {
    this.selectors = selectors;
    this.reselect();
  }

  /** Whether objects of this namespace are read ('' is cluster scope). */
  includes(namespace: string): boolean {
    return namespace === '' || !this.selected || this.selected.has(namespace);
  }

  list<T = unknown>(kind: string, namespace?: string): Resource<T>[] {
    if (!this.selected) return this.inner.list<T>(kind, namespace);
    if (namespace !== undefined) return this.includes(namespace) ? this.inner.list<T>(kind, namespace) : [];
    const cached = this.lists.get(kind);
    if (cached && cached.revision === this.inner.revision && cached.version === this.version) return cached.list as Resource<T>[];
    const list = this.inner.list(kind).filter((r) => this.passes(r));
    this.lists.set(kind, { revision: this.inner.revision, version: this.version, list });
    return list as Resource<T>[];
  }

  get<T = unknown>(kind: string, namespace: string, name: string): Resource<T> | undefined {
    const r = this.inner.get<T>(kind, namespace, name);
    return r && this.passes(r) ? r : undefined;
  }

  errors(): ConfigError[] {
    return this.inner.errors().filter((e) => e.namespace === undefined || this.includes(e.kind === 'Namespace' ? (e.name ?? '') : e.namespace));
  }

  onChange(handler: (event: ConfigEvent) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  private passes(r: Resource): boolean {
    return this.includes(r.kind === 'Namespace' ? r.meta.name : r.meta.namespace);
  }

  private innerChanged(e: ConfigEvent): void {
    if (this.selectors.length && e.kinds.has('Namespace')) this.reselect();
    const changed = new Set([...e.changed].filter((key) => {
      const [kind, namespace, name] = key.split('/');
      return this.includes(kind === 'Namespace' ? name! : namespace!);
    }));
    if (changed.size) this.emit({ changed, kinds: new Set([...changed].map((k) => k.split('/')[0]!)) });
  }

  private reselect(): void {
    const before = this.selected;
    // Namespaces that may change membership: every one known, those selected until now (one just
    // deleted included), and, when everything was selected, those of objects without a Namespace.
    const names = new Set([...this.inner.list('Namespace').map((ns) => ns.meta.name), ...(before ?? [])]);
    if (!before) for (const { kind } of KINDS) for (const r of this.inner.list(kind)) if (r.meta.namespace) names.add(r.meta.namespace);
    const after = this.selectors.length
      ? new Set(this.inner.list('Namespace').filter((ns) => this.selectors.some((sel) => selectorMatches(sel, ns.meta.labels))).map((ns) => ns.meta.name))
      : undefined;
    const member = (set: Set<string> | undefined, ns: string) => !set || set.has(ns);
    const moved = new Set([...names].filter((ns) => member(before, ns) !== member(after, ns)));
    this.selected = after;
    if (moved.size === 0) return;
    this.version++;
    this.emit(this.everythingIn(moved));
  }

  /** A change event naming every object of these namespaces (and the namespaces themselves). */
  private everythingIn(namespaces: Set<string>): ConfigEvent {
    const changed = new Set<string>();
    const kinds = new Set<string>();
    for (const ns of namespaces) {
      changed.add(resourceKey('Namespace', '', ns));
      kinds.add('Namespace');
    }
    for (const { kind } of KINDS) {
      for (const r of this.inner.list(kind)) {
        if (!namespaces.has(r.meta.namespace)) continue;
        changed.add(keyOf(r));
        kinds.add(kind);
      }
    }
    return { changed, kinds };
  }

  private emit(event: ConfigEvent): void {
    for (const h of this.handlers) h(event);
  }
}
