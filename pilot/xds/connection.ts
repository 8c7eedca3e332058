// Per-stream xDS bookkeeping: what each connected client watches, what was sent, what it ACKed.
// Knows nothing of Istio: resources are names and bytes.
import type { NamedResource } from '../networking/generator.js';
import { NO_NAMES, type Names } from './subscriptions.js';

/**
 * What the client holds of one type. Usually exactly the last resource list sent, kept as the
 * lists it was concatenated from (shared with other proxies' watches: no per-connection copies);
 * a map of name → content hash after Delta subscription changes or a reconnect's
 * `initial_resource_versions`.
 */
export type Held = { parts: readonly (readonly NamedResource[])[] } | { map: Map<string, string> };

export interface WatchState {
  typeUrl: string;
  /** Interned: never mutated, replaced on subscription changes. */
  names: Names;
  wildcard: boolean;
  nonceSent?: string;
  versionSent?: string;
  nonceAcked?: string;
  versionAcked?: string;
  /** Last NACK's error_detail, cleared on the next ACK. */
  lastNack?: string;
  held: Held;
  /** When the response awaiting ACK was sent (for convergence timing). */
  sentAt?: number;
}

export class Connection<S> {
  readonly watches = new Map<string, WatchState>();
  readonly connectedAt = new Date();
  /** Types waiting to be (re)generated and sent, and whether a response is due even without changes. */
  readonly pending = new Map<string, { force: boolean }>();
  /** When the config change behind the pending push happened (convergence metric). */
  pushEventAt?: number;
  /** Response bytes handed to the stream and not yet flushed to the socket. */
  inFlight = 0;
  closed = false;

  constructor(
    readonly id: string,
    readonly session: S,
    readonly peer: string,
    readonly delta: boolean,
  ) {}

  watch(typeUrl: string): WatchState | undefined {
    return this.watches.get(typeUrl);
  }

  ensureWatch(typeUrl: string): WatchState {
    let w = this.watches.get(typeUrl);
    if (!w) this.watches.set(typeUrl, (w = { typeUrl, names: NO_NAMES, wildcard: false, held: { parts: [] } }));
    return w;
  }
}
