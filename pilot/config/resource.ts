// The typed envelope every config object travels in, whatever its source.

export interface ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  /** Set once the object is being deleted (a terminating pod). */
  deletionTimestamp?: string;
  uid?: string;
}

/** Where a resource was read from, for error messages and debug output. */
export interface SourcePosition {
  file?: string;
  line?: number;
}

export interface Resource<T = unknown> {
  kind: string;
  group: string;
  version: string;
  meta: ObjectMeta;
  spec: T;
  source?: SourcePosition;
}

export function resourceKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export function keyOf(r: Resource): string {
  return resourceKey(r.kind, r.meta.namespace, r.meta.name);
}

export function apiVersionOf(r: Resource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** "kind namespace/name", the way errors name a resource. */
export function describeResource(r: { kind: string; meta: { namespace: string; name: string } }): string {
  return `${r.kind} ${r.meta.namespace}/${r.meta.name}`;
}
