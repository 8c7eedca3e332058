// Leader election among isthmusd replicas, on the same lock objects istiod uses, so isthmusd and
// istiod replicas (say, during a migration) never both do singleton work: a ConfigMap in the
// control plane's namespace whose annotation holds client-go's leader record.
//
// As client-go: a lease counts as expired when its record has not changed for leaseDuration as
// seen by this replica's own clock (not by the holder's timestamps, so clock skew does not
// matter); the leader renews every retry period and gives up if it cannot renew within the
// renew deadline; on close it releases the lock so another replica takes over at once.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { KubeApiError, type KubeClient } from './client.js';

export const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

export interface LeaderRecord {
  holderIdentity: string;
  /** istiod's addition: the holder's revision, which decides whether a default-revision istiod takes the lock over. */
  holderKey?: string;
  leaseDurationSeconds: number;
  acquireTime: string;
  renewTime: string;
  leaderTransitions: number;
}

export interface ElectionTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** istiod's: a 30 s lease, renewed within 15 s, tried every 7.5 s. */
export const ISTIOD_TIMING: ElectionTiming = { leaseDurationMs: 30_000, renewDeadlineMs: 15_000, retryPeriodMs: 7_500 };

export interface ElectionOptions {
  /** The lock's name, e.g. `istio-namespace-controller-election`. */
  name: string;
  namespace: string;
  /** This replica (istiod uses POD_NAME). */
  identity: string;
  /** REVISION, written as the record's holderKey as istiod writes it. */
  key?: string;
  timing?: ElectionTiming;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  log?: Logger;
}

/** POD_NAME, or `unknown-HOSTNAME` as istiod names a replica without one. */
export function replicaIdentity(env: NodeJS.ProcessEnv): string {
  return env.POD_NAME || `unknown-${hostname()}`;
}

interface ConfigMapLock {
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
}

export class LeaderElection {
  private stopped = false;
  private leading = false;
  private timer?: NodeJS.Timeout;
  /** The raw record last seen and when this replica saw it change. */
  private observed?: { raw: string; at: number };
  private lastRenew = 0;
  /** Steps down when a renewal has not succeeded within the renew deadline, even if a request hangs. */
  private deadline?: NodeJS.Timeout;
  private inFlight: Promise<void> = Promise.resolve();
  private readonly timing: ElectionTiming;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: ElectionOptions,
  ) {
    this.timing = opts.timing ?? ISTIOD_TIMING;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  /** Stops competing; a leader releases the lock (so another replica need not wait for it to expire). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.deadline);
    // An attempt under way may still make this replica the holder: release after it.
    await this.inFlight;
    if (!this.leading) return;
    this.setLeading(false);
    try {
      // A release that cannot be made within a renew deadline is left to the lease's expiry.
      const signal = AbortSignal.timeout(this.timing.renewDeadlineMs);
      const lock = await this.get(signal);
      if (lock && this.recordOf(lock)?.holderIdentity === this.opts.identity) {
        const now = new Date().toISOString();
        await this.put(lock, { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaderTransitions: this.recordOf(lock)!.leaderTransitions }, signal);
      }
    } catch (err) {
      this.opts.log?.warn({ err: (err as Error).message, lock: this.opts.name }, 'could not release the leader lock');
    }
  }

  private tick(): Promise<void> {
    this.inFlight = this.attempt();
    return this.inFlight;
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    let acquired = false;
    // A leader's attempt must end before its deadline; a candidate's within a renew deadline.
    const budget = this.leading ? this.lastRenew + this.timing.renewDeadlineMs - performance.now() : this.timing.renewDeadlineMs;
    try {
      acquired = await this.tryAcquireOrRenew(AbortSignal.timeout(Math.max(1, budget)));
    } catch (err) {
      this.opts.log?.debug({ err: (err as Error).message, lock: this.opts.name }, 'leader election attempt failed');
    }
    if (this.stopped) {
      // Won just as it stopped: `stop` releases (it waits for this attempt).
      if (acquired && !this.leading) this.leading = true;
      return;
    }
    if (acquired) {
      this.lastRenew = performance.now();
      clearTimeout(this.deadline);
      this.deadline = setTimeout(() => this.missedDeadline(), this.timing.renewDeadlineMs);
      if (!this.leading) this.setLeading(true);
    }
    this.timer = setTimeout(() => void this.tick(), this.timing.retryPeriodMs);
  }

  private missedDeadline(): void {
    if (!this.leading || this.stopped) return;
    // Timers may fire a fraction of a millisecond before the deadline by this clock: wait out the rest.
    const left = this.lastRenew + this.timing.renewDeadlineMs - performance.now();
    if (left > 0) this.deadline = setTimeout(() => this.missedDeadline(), Math.ceil(left));
    else this.setLeading(false);
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.opts.log?.info({ lock: this.opts.name, identity: this.opts.identity }, leading ? 'became leader' : 'stopped leading');
    if (leading) this.opts.onStartedLeading();
    else this.opts.onStoppedLeading();
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = new Date();
    const observedAt = performance.now();
    const mine = (previous?: LeaderRecord): LeaderRecord => ({
      holderIdentity: this.opts.identity,
      ...(this.opts.key !== undefined ? { holderKey: this.opts.key } : {}),
      leaseDurationSeconds: Math.ceil(this.timing.leaseDurationMs / 1000),
      acquireTime: previous?.holderIdentity === this.opts.identity ? previous.acquireTime : now.toISOString(),
      renewTime: now.toISOString(),
      leaderTransitions: previous ? previous.leaderTransitions + (previous.holderIdentity === this.opts.identity ? 0 : 1) : 0,
    });
    const lock = await this.get(signal);
    if (!lock) {
      await this.create(mine(), signal);
      return true;
    }
    const record = this.recordOf(lock);
    const raw = lock.metadata.annotations?.[LEADER_ANNOTATION] ?? '';
    // Monotonic time: a wall-clock step must not expire (or prolong) a lease.
    if (this.observed?.raw !== raw) this.observed = { raw, at: observedAt };
    const held = record && record.holderIdentity && record.holderIdentity !== this.opts.identity;
    const leaseMs = (record?.leaseDurationSeconds ?? 0) * 1000;
    if (held && this.observed.at + leaseMs > observedAt) return false;
    await this.put(lock, mine(record), signal);
    return true;
  }

  private recordOf(lock: ConfigMapLock): LeaderRecord | undefined {
    const raw = lock.metadata.annotations?.[LEADER_ANNOTATION];
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as LeaderRecord;
    } catch {
      return undefined;
    }
  }

  private path(name?: string): string {
    return `/api/v1/namespaces/${this.opts.namespace}/configmaps${name ? `/${name}` : ''}`;
  }

  private async get(signal?: AbortSignal): Promise<ConfigMapLock | undefined> {
    try {
      return await this.client.json<ConfigMapLock>(this.path(this.opts.name), { signal });
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  private async create(record: LeaderRecord, signal: AbortSignal): Promise<void> {
    await this.client.json(this.path(), {
      method: 'POST',
      signal,
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: this.opts.name, namespace: this.opts.namespace, annotations: { [LEADER_ANNOTATION]: JSON.stringify(record) } } },
    });
  }

  /** Replaces the record; the lock's resourceVersion makes a concurrent writer's update fail (409). */
  private async put(lock: ConfigMapLock, record: LeaderRecord, signal?: AbortSignal): Promise<void> {
    await this.client.json(this.path(this.opts.name), {
      method: 'PUT',
      signal,
      body: { apiVersion: 'v1', kind: 'ConfigMap', ...lock, metadata: { ...lock.metadata, annotations: { ...lock.metadata.annotations, [LEADER_ANNOTATION]: JSON.stringify(record) } } },
    });
  }
}
