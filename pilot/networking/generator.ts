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
}

export type Generate = (push: PushContext, proxy: Proxy, watch: Watch) => NamedResource[];

export interface GeneratorSet {
  /** One generator per type URL; a type without one is answered with nothing. */
  byType: Record<string, Generate>;
}
