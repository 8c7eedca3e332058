// Keeps a copy of one resource collection current: list, then watch from the list's
// resourceVersion, as client-go's reflector does. A watch that ends is resumed from the last
// version seen; an expired version (410 Gone) or a failure lists again, after a backoff.
// A collection the server does not serve (a CRD not installed) is checked again periodically.
import { KubeApiError, type KubeClient, type WatchEvent } from './client.js';

export type KubeObject = Record<string, unknown> & { metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string } };

export interface ReflectorHandler {
  /** The whole collection, after each list (the previous content is replaced). */
  replace(objects: KubeObject[]): void;
  upsert(object: KubeObject): void;
  remove(object: KubeObject): void;
}

export interface ReflectorOptions {
  /** Collection path across namespaces, e.g. `/apis/networking.istio.io/v1/virtualservices`. */
  path: string;
  /** Stamped on listed items, which the API server sends without them. */
  apiVersion: string;
  kind: string;
  fieldSelector?: string;
  labelSelector?: string;
  /** First and largest delay between retries after a failure. */
  backoffMs?: { initial: number; max: number };
  /** Delay between checks for a collection that is not served (404). */
  absentRetryMs?: number;
  onError?: (err: Error, phase: 'list' | 'watch') => void;
  onAbsent?: () => void;
  /** Chooses path and version again before each list (a CRD may be served at another version later). */
  resolve?: () => Promise<{ path: string; apiVersion: string }>;
}

export class Reflector {
  private stopped = false;
  private abort?: AbortController;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  private resourceVersion = '';
  private syncedResolve!: () => void;
  /** Resolves after the first list, or once the collection is known not to be served. */
  readonly synced = new Promise<void>((resolve) => (this.syncedResolve = resolve));
  /** Whether the server serves the collection (false until a list succeeded). */
  present = false;
  /** The collection path and version in use (`resolve` may change them before a list). */
  private readonly target: { path: string; apiVersion: string };
  /** Events of the current watch. */
  private events = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: ReflectorOptions,
    private readonly handler: ReflectorHandler,
  ) {
    this.target = { path: opts.path, apiVersion: opts.apiVersion };
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    this.abort?.abort();
  }

  private selectors(): Record<string, string> {
    const q: Record<string, string> = {};
    if (this.opts.fieldSelector) q.fieldSelector = this.opts.fieldSelector;
    if (this.opts.labelSelector) q.labelSelector = this.opts.labelSelector;
    return q;
  }

  private async run(): Promise<void> {
    const backoff = this.opts.backoffMs ?? { initial: 1000, max: 30_000 };
    let delay = backoff.initial;
    const failed = async () => {
      await this.sleep(delay);
      delay = Math.min(delay * 2, backoff.max);
    };
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) {
          if (this.opts.resolve) Object.assign(this.target, await this.opts.resolve());
          await this.list();
        }
        const started = performance.now();
        this.events = 0;
        await this.watchOnce();
        // A watch the server ends at once with nothing in it is as good as a failure (a
        // misbehaving proxy, an overloaded server): wait before the next, as client-go does.
        if (this.events === 0 && performance.now() - started < 1000) await failed();
        else delay = backoff.initial;
      } catch (e) {
        if (this.stopped) return;
        const err = e as Error;
        if (err instanceof KubeApiError && err.statusCode === 404 && !this.resourceVersion) {
          // Not served (a CRD not installed, or removed). Objects already read are kept, as
          // istiod keeps them: a 404 while an API server restarts must not drop every policy.
          this.present = false;
          this.opts.onAbsent?.();
          this.syncedResolve();
          await this.sleep(this.opts.absentRetryMs ?? 60_000);
          continue;
        }
        if (err instanceof KubeApiError && err.statusCode === 410) {
          this.resourceVersion = '';
          continue;
        }
        this.opts.onError?.(err, this.resourceVersion ? 'watch' : 'list');
        // After a failure the collection is listed again: events may have been missed.
        this.resourceVersion = '';
        await failed();
      }
    }
  }

  private async list(): Promise<void> {
    const query = new URLSearchParams(this.selectors()).toString();
    const list = await this.client.json<{ metadata?: { resourceVersion?: string }; items?: KubeObject[] }>(
      `${this.target.path}${query ? `?${query}` : ''}`,
      { signal: this.signal() },
    );
    if (this.stopped) return;
    const items = (list.items ?? []).map((o) => ({ apiVersion: this.target.apiVersion, kind: this.opts.kind, ...o }));
    this.handler.replace(items);
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    this.present = true;
    this.syncedResolve();
  }

  private async watchOnce(): Promise<void> {
    await this.client.watch(
      this.target.path,
      { ...this.selectors(), resourceVersion: this.resourceVersion },
      (event) => this.onEvent(event),
      this.signal(),
    );
  }

  private onEvent(event: WatchEvent): void {
    if (this.stopped) return;
    const obj = event.object as KubeObject;
    if (event.type === 'ERROR') {
      // A Status inside the stream: 410 means the version is gone; anything else, start over.
      const code = (obj as { code?: number }).code ?? 500;
      throw new KubeApiError(code, String((obj as { message?: string }).message ?? 'watch error'));
    }
    if (event.type !== 'BOOKMARK') this.events++;
    const rv = obj.metadata?.resourceVersion;
    const stamped = { apiVersion: this.target.apiVersion, kind: this.opts.kind, ...obj };
    if (event.type === 'ADDED' || event.type === 'MODIFIED') this.handler.upsert(stamped);
    else if (event.type === 'DELETED') this.handler.remove(stamped);
    if (rv) this.resourceVersion = rv;
  }

  private signal(): AbortSignal {
    this.abort = new AbortController();
    return this.abort.signal;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }
}
