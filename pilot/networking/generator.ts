// The contract between the xDS server and translation: given a proxy, a PushContext and what
// the proxy watches for one type, produce named, packed resources. Pure: no I/O, no clocks.
import type { Any } from '@bufbuild/protobuf/wkt';
import type { PushContext } from '../model/push-context.js';
import type { Proxy } from '../model/proxy.js';

export interface NamedResource {
  name: string;
  resource: Any;
}

export interface Watch {
  typeUrl: string;
  /** Names the proxy subscribed to; empty with `wildcard` means "everything". */
  names: readonly string[];
  wildcard: boolean;
  /**
   * Identifies the list of names (equal ids, equal names; `*` for wildcard), so generators can
   * share output between proxies that subscribe to the same names. Absent: unknown.
   */
  namesId?: string;
}

export type Generate = (push: PushContext, proxy: Proxy, watch: Watch) => NamedResource[];

export interface GeneratorSet {
  /** One generator per type URL; a type without one is answered with nothing. */
  byType: Record<string, Generate>;
}

const parts = new WeakMap<readonly NamedResource[], readonly (readonly NamedResource[])[]>();

/**
 * Concatenates resource lists and remembers the parts, so that the xDS server can keep what a
 * proxy holds as references to lists shared with other proxies plus its own small part.
 */
export function concatResources(...lists: readonly (readonly NamedResource[])[]): NamedResource[] {
  const all = ([] as NamedResource[]).concat(...lists);
  parts.set(all, lists);
  return all;
}

/** The parts a list was concatenated from (`concatResources`), if any. */
export function resourceParts(list: readonly NamedResource[]): readonly (readonly NamedResource[])[] | undefined {
  return parts.get(list);
}
