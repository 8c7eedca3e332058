// The typed config snapshot every part of pilot reads, and the change events it emits.
import { keyOf, type Resource } from './resource.js';
import type { ConfigError } from './parse.js';

export interface ConfigEvent {
  /** Keys (`kind/namespace/name`) added, updated or removed. */
  changed: Set<string>;
  kinds: Set<string>;
}

export interface ConfigStore {
  list<T = unknown>(kind: string, namespace?: string): Resource<T>[];
  get<T = unknown>(kind: string, namespace: string, name: string): Resource<T> | undefined;
  /** Errors of the last load (bad files, rejected resources). */
  errors(): ConfigError[];
  onChange(handler: (event: ConfigEvent) => void): () => void;
  /** Bumped on every change; lets caches know whether they are stale. */
  readonly revision: number;
}

/** Deterministic order: oldest first, then namespace/name, as Istio orders config for merging. */
function compareResources(a: Resource, b: Resource): number {
  const ta = a.meta.creationTimestamp ?? '';
  const tb = b.meta.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.meta.namespace !== b.meta.namespace) return a.meta.namespace < b.meta.namespace ? -1 : 1;
  return a.meta.name < b.meta.name ? -1 : a.meta.name > b.meta.name ? 1 : 0;
}

/**
 * Equal but for the resourceVersion: the API server bumps it on every write, including writes of
 * fields Isthmus does not keep (status heartbeats, lock annotations), which must not push.
 */
function sameContent(a: Resource, b: Resource): boolean {
  const content = (r: Resource) => JSON.stringify([{ ...r.meta, resourceVersion: undefined }, r.spec]);
  return content(a) === content(b);
}

/** In-memory store: the embedded sources write into it, tests use it directly. */
export class MemoryConfigStore implements ConfigStore {
  private readonly byKind = new Map<string, Map<string, Resource>>();
  private readonly handlers = new Set<(event: ConfigEvent) => void>();
  private loadErrors: ConfigError[] = [];
  private generation = 0;
  private sortedCache = new Map<string, Resource[]>();

  get revision(): number {
    return this.generation;
  }

  list<T = unknown>(kind: string, namespace?: string): Resource<T>[] {
    let sorted = this.sortedCache.get(kind);
    if (!sorted) {
      sorted = [...(this.byKind.get(kind)?.values() ?? [])].sort(compareResources);
      this.sortedCache.set(kind, sorted);
    }
    const all = sorted as Resource<T>[];
    return namespace === undefined ? all : all.filter((r) => r.meta.namespace === namespace);
  }

  get<T = unknown>(kind: string, namespace: string, name: string): Resource<T> | undefined {
    return this.byKind.get(kind)?.get(`${kind}/${namespace}/${name}`) as Resource<T> | undefined;
  }

  errors(): ConfigError[] {
    return this.loadErrors;
  }

  onChange(handler: (event: ConfigEvent) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  apply(...resources: Resource[]): void {
    const event = this.newEvent();
    for (const r of resources) this.put(r, event);
    this.emit(event);
  }

  delete(kind: string, namespace: string, name: string): void {
    const event = this.newEvent();
    const key = `${kind}/${namespace}/${name}`;
    if (this.byKind.get(kind)?.delete(key)) this.mark(event, kind, key);
    this.emit(event);
  }

  /** Replaces every resource of one kind (a Kubernetes list), emitting only what differs. */
  replaceKind(kind: string, resources: Resource[]): void {
    const event = this.newEvent();
    const incoming = new Set(resources.map(keyOf));
    const map = this.byKind.get(kind);
    for (const key of [...(map?.keys() ?? [])]) {
      if (incoming.has(key)) continue;
      map!.delete(key);
      this.mark(event, kind, key);
    }
    for (const r of resources) this.put(r, event);
    this.emit(event);
  }

  /** Errors found outside a full reload (a Kubernetes source reports them per object). */
  setErrors(errors: ConfigError[]): void {
    this.loadErrors = errors;
  }

  /** Replaces the whole content (a directory reload), emitting only what differs. */
  replaceAll(resources: Resource[], errors: ConfigError[] = []): void {
    this.loadErrors = errors;
    const event = this.newEvent();
    const incoming = new Set(resources.map(keyOf));
    for (const [kind, map] of this.byKind) {
      for (const key of [...map.keys()]) {
        if (!incoming.has(key)) {
          map.delete(key);
          this.mark(event, kind, key);
        }
      }
    }
    for (const r of resources) this.put(r, event);
    this.emit(event);
  }

  private put(r: Resource, event: ConfigEvent): void {
    const key = keyOf(r);
    let map = this.byKind.get(r.kind);
    if (!map) this.byKind.set(r.kind, (map = new Map()));
    const old = map.get(key);
    // A directory reload hands back the very objects of files that did not change.
    if (old && (old === r || sameContent(old, r))) return;
    map.set(key, r);
    this.mark(event, r.kind, key);
  }

  private newEvent(): ConfigEvent {
    return { changed: new Set(), kinds: new Set() };
  }

  private mark(event: ConfigEvent, kind: string, key: string): void {
    event.changed.add(key);
    event.kinds.add(kind);
    this.sortedCache.delete(kind);
  }

  private emit(event: ConfigEvent): void {
    if (event.changed.size === 0) return;
    this.generation++;
    for (const h of this.handlers) h(event);
  }
}
