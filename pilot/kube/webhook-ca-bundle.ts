// Keeps the admission webhooks' `caBundle` equal to the mesh root, so the API server trusts the
// webhooks' serving certificate (issued by the mesh CA), as istiod's webhook patchers do. Every
// replica patches (istiod's patchers are not leader-elected; the writes are idempotent).
//
// - Injection: MutatingWebhookConfigurations labelled `istio.io/rev=REVISION`, entries whose name
//   ends in `sidecar-injector.istio.io`.
// - Validation: ValidatingWebhookConfigurations labelled `istio.io/rev=REVISION`, every entry; and
//   their failurePolicy set to Fail, but only once a dry-run create of an always-rejected Gateway
//   shows the webhook is reachable and refusing (else a broken webhook would block all config).
import type { Logger } from 'pino';
import { KubeApiError, type KubeClient } from './client.js';
import { Reflector, type KubeObject } from './reflector.js';
import { ALWAYS_REJECT } from '../../webhook/validate.js';

const ADMISSION = '/apis/admissionregistration.k8s.io/v1';
const INJECTOR_SUFFIX = 'sidecar-injector.istio.io';

interface WebhookEntry {
  name?: string;
  failurePolicy?: string;
  clientConfig?: { caBundle?: string };
}

type WebhookConfiguration = KubeObject & { metadata: { name: string; labels?: Record<string, string> }; webhooks?: WebhookEntry[] };

export interface WebhookPatchOptions {
  /** REVISION (default `default`). */
  revision: string;
  /** The control plane's namespace, where the readiness probe's Gateway is dry-run created. */
  namespace: string;
  rootCertPem: () => string;
  /** INJECTION_WEBHOOK_CONFIG_NAME / VALIDATION_WEBHOOK_CONFIG_NAME non-empty. */
  mutating: boolean;
  validating: boolean;
  /** Delay before trying again after a failure or an unready webhook (istiod backs off to a minute). */
  retryMs?: number;
  log?: Logger;
}

export class WebhookCaBundlePatcher {
  private readonly reflectors: Reflector[] = [];
  private readonly objects = new Map<string, WebhookConfiguration>();
  private validationReady = false;
  private retry?: NodeJS.Timeout;
  private stopped = false;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KubeClient,
    private readonly opts: WebhookPatchOptions,
  ) {}

  start(): void {
    const watch = (plural: string, kind: string, labelSelector?: string) => {
      const reflector = new Reflector(
        this.client,
        { path: `${ADMISSION}/${plural}`, apiVersion: 'admissionregistration.k8s.io/v1', kind, labelSelector, onError: (err) => this.opts.log?.warn({ err: err.message, plural }, 'webhook configuration watch failed; retrying') },
        {
          replace: (list) => {
            for (const key of [...this.objects.keys()]) if (key.startsWith(`${kind}/`)) this.objects.delete(key);
            for (const o of list) this.upsert(o as WebhookConfiguration);
          },
          upsert: (o) => this.upsert(o as WebhookConfiguration),
          remove: (o) => this.objects.delete(`${kind}/${o.metadata?.name}`),
        },
      );
      this.reflectors.push(reflector);
      reflector.start();
    };
    if (this.opts.mutating) watch('mutatingwebhookconfigurations', 'MutatingWebhookConfiguration');
    if (this.opts.validating) watch('validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', `istio.io/rev=${this.opts.revision}`);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    for (const r of this.reflectors) r.stop();
  }

  /** The root changed: every configuration gets the new bundle. */
  resyncAll(): void {
    for (const o of this.objects.values()) this.enqueue(o);
  }

  /** Resolves when queued patches are written (tests). */
  idle(): Promise<void> {
    return this.queue;
  }

  private upsert(o: WebhookConfiguration): void {
    this.objects.set(`${o.kind}/${o.metadata.name}`, o);
    this.enqueue(o);
  }

  private enqueue(o: WebhookConfiguration): void {
    this.queue = this.queue.then(async () => {
      if (this.stopped) return;
      try {
        await this.reconcile(o);
      } catch (err) {
        // A conflict means a newer version is on its way through the watch; anything else, retry.
        if (err instanceof KubeApiError && err.statusCode === 409) return;
        this.opts.log?.warn({ err: (err as Error).message, webhook: o.metadata.name }, 'could not patch the webhook caBundle; retrying');
        this.retryLater();
      }
    });
  }

  private retryLater(): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.resyncAll(), this.opts.retryMs ?? 60_000);
  }

  private async reconcile(o: WebhookConfiguration): Promise<void> {
    if (o.metadata.labels?.['istio.io/rev'] !== this.opts.revision) return;
    const caBundle = Buffer.from(this.opts.rootCertPem()).toString('base64');
    const mutating = o.kind === 'MutatingWebhookConfiguration';
    const entries = (o.webhooks ?? []).filter((w) => !mutating || (w.name ?? '').endsWith(INJECTOR_SUFFIX));
    if (entries.length === 0) return;
    const staleBundle = entries.some((w) => w.clientConfig?.caBundle !== caBundle);
    const lenient = !mutating && entries.some((w) => w.failurePolicy !== undefined && w.failurePolicy !== 'Fail');
    if (!staleBundle && !lenient) return;
    const failClosed = lenient && (await this.validationWebhookRefuses());
    const webhooks = (o.webhooks ?? []).map((w) =>
      entries.includes(w) ? { ...w, clientConfig: { ...w.clientConfig, caBundle }, ...(mutating || !failClosed ? {} : { failurePolicy: 'Fail' }) } : w,
    );
    const plural = mutating ? 'mutatingwebhookconfigurations' : 'validatingwebhookconfigurations';
    const updated = await this.client.json<WebhookConfiguration>(`${ADMISSION}/${plural}/${o.metadata.name}`, { method: 'PUT', body: { ...o, webhooks } });
    this.objects.set(`${o.kind}/${o.metadata.name}`, updated);
    this.opts.log?.info({ webhook: o.metadata.name, failClosed }, 'patched the webhook caBundle');
    if (lenient && !failClosed) this.retryLater();
  }

  /**
   * Whether the validation webhook is in the path and refusing: a dry-run create of a Gateway
   * the webhook always rejects must fail with the webhook's denial. (No Gateway CRD, or an API
   * server without dry run, also counts, as on istiod.) Cached once true.
   */
  private async validationWebhookRefuses(): Promise<boolean> {
    if (this.validationReady) return true;
    const gateway = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'invalid-gateway', namespace: this.opts.namespace, labels: { 'istio.io/rev': this.opts.revision }, annotations: { [ALWAYS_REJECT]: 'true' } },
      spec: { selector: { istio: 'ingressgateway' }, servers: [] },
    };
    try {
      await this.client.json(`/apis/networking.istio.io/v1/namespaces/${this.opts.namespace}/gateways?dryRun=All`, { method: 'POST', body: gateway });
      this.opts.log?.info('validation webhook not yet refusing the probe; keeping its failurePolicy');
      return false;
    } catch (err) {
      const message = (err as Error).message;
      this.validationReady = /denied the request|the server could not find the requested resource|does not support dry run/.test(message);
      if (!this.validationReady) this.opts.log?.info({ err: message }, 'validation webhook probe failed; keeping its failurePolicy');
      return this.validationReady;
    }
  }
}
