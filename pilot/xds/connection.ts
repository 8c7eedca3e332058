// Per-stream xDS bookkeeping: what each connected client watches, what was sent, what it ACKed.
// Knows nothing of Istio: resources are names and bytes.

export interface WatchState {
  typeUrl: string;
  names: Set<string>;
  wildcard: boolean;
  nonceSent?: string;
  versionSent?: string;
  nonceAcked?: string;
  versionAcked?: string;
  /** Last NACK's error_detail, cleared on the next ACK. */
  lastNack?: string;
  /** Resource name → content hash of what the client holds (SotW: last sent; Delta: last sent). */
  sent: Map<string, string>;
  /** When the response awaiting ACK was sent (for convergence timing). */
  sentAt?: number;
}

export class Connection<S> {
  readonly watches = new Map<string, WatchState>();
  readonly connectedAt = new Date();

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
    if (!w) this.watches.set(typeUrl, (w = { typeUrl, names: new Set(), wildcard: false, sent: new Map() }));
    return w;
  }
}

export function sameNames(a: Set<string>, b: readonly string[]): boolean {
  if (a.size !== new Set(b).size) return false;
  for (const n of b) if (!a.has(n)) return false;
  return true;
}
