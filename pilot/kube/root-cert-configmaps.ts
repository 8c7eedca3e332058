// Puts the mesh's root certificate into every namespace, as the ConfigMap `istio-ca-root-cert`
// (key `root-cert.pem`) that injected sidecars mount to trust istiod: istiod's namespace
// controller. Only the elected replica writes. A ConfigMap someone edits or deletes is put back;
// other keys in it are left alone.
import type { Logger } from 'pino';
import type { ConfigStore } from '../config/store.js';
import type { ConfigMapBody } from '../config/schema/ingress.js';
import { KubeApiError, type KubeClient } from './client.js';

export const ROOT_CERT_KEY = 'root-cert.pem';

/** Namespaces istiod leaves out (kube-system is served: node agents may run there). */
const SKIPPED_NAMESPACES = new Set(['kube-public', 'kube-node-lease', 'local-path-storage']);

export interface RootCertOptions {
  /** PILOT_CA_CERT_CONFIGMAP (default `istio-ca-root-cert`). */
  name: string;
  rootCertPem: () => string;
  /** Fixed delay before writing again after a failure (tests); default: backing off from 200 ms. */
  retryMs?: number;
  log?: Logger;
}

export class RootCertConfigMaps {
  private active = false;
  private unsubscribe?: () => void;
  private running: Promise<void> = Promise.resolve();
  private dirty = new Set<string>();
  /** Failed writes in a row, per namespace (for the backoff). */
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly client: KubeClient,
    private readonly store: ConfigStore,
    private readonly opts: RootCertOptions,
  ) {}

  /** Called when this replica becomes leader: writes every namespace, then follows changes. */
  startLeading(): void {
    this.active = true;
    this.unsubscribe = this.store.onChange((e) => {
      for (const key of e.changed) {
        const [kind, ns, name] = key.split('/');
        if (kind === 'Namespace') this.enqueue(name!);
        else if (kind === 'ConfigMap' && name === this.opts.name) this.enqueue(ns!);
      }
    });
    this.syncAll();
  }

  stopLeading(): void {
    this.active = false;
    this.unsubscribe?.();
    this.dirty.clear();
  }

  /** The root changed (rotation, a new plug-in CA): every namespace gets the new one. */
  syncAll(): void {
    for (const ns of this.store.list('Namespace')) this.enqueue(ns.meta.name);
  }

  /** Resolves once the queued namespaces are written (tests). */
  idle(): Promise<void> {
    return this.running;
  }

  private enqueue(namespace: string): void {
    if (!this.active || SKIPPED_NAMESPACES.has(namespace)) return;
    this.dirty.add(namespace);
    this.running = this.running.then(() => this.drain());
  }

  private async drain(): Promise<void> {
    while (this.active && this.dirty.size) {
      const [namespace] = this.dirty;
      this.dirty.delete(namespace!);
      try {
        await this.reconcile(namespace!);
        this.failures.delete(namespace!);
      } catch (err) {
        // Injected pods of the namespace cannot start without it: try again, backing off to a minute.
        const attempts = (this.failures.get(namespace!) ?? 0) + 1;
        this.failures.set(namespace!, attempts);
        const delay = Math.min(this.opts.retryMs ?? 100 * 2 ** attempts, 60_000);
        this.opts.log?.warn({ err: (err as Error).message, namespace, configMap: this.opts.name, retryInMs: delay }, 'could not write the root certificate ConfigMap');
        const timer = setTimeout(() => this.enqueue(namespace!), delay);
        timer.unref();
      }
    }
  }

  private async reconcile(namespace: string): Promise<void> {
    const ns = this.store.get<{ status?: { phase?: string } }>('Namespace', '', namespace);
    if (!ns || ns.spec.status?.phase === 'Terminating') return;
    const pem = this.opts.rootCertPem();
    const current = this.store.get<ConfigMapBody>('ConfigMap', namespace, this.opts.name);
    const path = `/api/v1/namespaces/${namespace}/configmaps`;
    if (!current) {
      try {
        await this.client.json(path, {
          method: 'POST',
          body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: this.opts.name, namespace, labels: { 'istio.io/config': 'true' } }, data: { [ROOT_CERT_KEY]: pem } },
        });
      } catch (err) {
        // Someone created it first (the watch will show it), or the namespace is going away.
        if (err instanceof KubeApiError && [404, 409].includes(err.statusCode)) return;
        if (err instanceof KubeApiError && err.statusCode === 403 && /terminat/i.test(err.message)) return;
        throw err;
      }
      return;
    }
    if (current.spec.data?.[ROOT_CERT_KEY] === pem) return;
    await this.client.json(`${path}/${this.opts.name}`, { method: 'PATCH', body: { data: { [ROOT_CERT_KEY]: pem } } });
  }
}
