// A thin client for the Kubernetes API: JSON requests and watch streams. Authentication and TLS
// (tokens, client certificates, exec plugins, the in-cluster service account) come from
// @kubernetes/client-node's KubeConfig; bodies stay plain JSON, because config goes through
// Isthmus's own parser, which needs the objects exactly as the API server wrote them (the typed
// API classes turn timestamps into Dates and drop fields they do not know).
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type AgentOptions } from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';

/** A failed request, with the API server's `Status` reason when it sent one. */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

export interface KubeRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  /** For PATCH: `application/merge-patch+json` (default) or `application/json-patch+json`. */
  contentType?: string;
  signal?: AbortSignal;
  /** Gives up after this long (default 30 s): a request must never hang a caller forever. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Largest response body read into memory (a list of every Pod of a big cluster fits). */
const MAX_BODY_BYTES = 512 * 1024 * 1024;

type TlsOptions = Pick<AgentOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'>;

export class KubeClient {
  private agent?: { agent: HttpsAgent; tls: string };

  constructor(readonly config: KubeConfig) {}

  /**
   * One connection pool for every request (the library builds an agent per request, so each
   * TokenReview or lock renewal would pay a TLS handshake); a new one when the credentials in
   * the kubeconfig change.
   */
  private keepAliveAgent(opts: TlsOptions): HttpsAgent {
    const tls: TlsOptions = { ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername };
    const key = JSON.stringify(tls, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v));
    if (this.agent?.tls !== key) {
      this.agent?.agent.destroy();
      this.agent = { agent: new HttpsAgent({ keepAlive: true, ...tls }), tls: key };
    }
    return this.agent.agent;
  }

  /**
   * From a kubeconfig file, or (without one) KUBECONFIG, ~/.kube/config or the pod's service
   * account. The library is loaded here, not at start-up: its generated API classes cost about
   * 70 MiB of memory and most of a second, which the directory mode should not pay.
   */
  static async load(kubeconfigFile?: string): Promise<KubeClient> {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    if (kubeconfigFile) kc.loadFromFile(kubeconfigFile);
    else kc.loadFromDefault();
    if (!kc.getCurrentCluster()) throw new Error('no current cluster in the kubeconfig');
    return new KubeClient(kc);
  }

  /** Closes pooled connections (open watches end with their own aborts). */
  close(): void {
    this.agent?.agent.destroy();
    this.agent = undefined;
  }

  get server(): string {
    return this.config.getCurrentCluster()!.server;
  }

  async json<T = Record<string, unknown>>(path: string, req: KubeRequest = {}): Promise<T> {
    const timeout = AbortSignal.timeout(req.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const res = await this.send(path, { ...req, signal });
    const text = await readBody(res);
    if (res.statusCode! >= 300) throw apiError(res.statusCode!, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new KubeApiError(res.statusCode!, `${req.method ?? 'GET'} ${path}: response is not JSON`);
    }
  }

  /**
   * Streams a watch: calls `onEvent` per event line and resolves when the server ends the
   * stream (watches time out after a few minutes; the caller watches again from the last
   * resourceVersion). Rejects when the watch cannot start or the connection fails.
   */
  async watch(path: string, params: Record<string, string>, onEvent: (e: WatchEvent) => void, signal?: AbortSignal): Promise<void> {
    // As client-go: the server ends each watch after 5 to 10 minutes, and a watch that hears
    // nothing for longer than that is a dead connection, torn down and started again.
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    const query = new URLSearchParams({ ...params, watch: 'true', allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) });
    const starting = new AbortController();
    const startTimer = setTimeout(() => starting.abort(new Error(`watch ${path}: no response`)), DEFAULT_TIMEOUT_MS);
    let res: IncomingMessage;
    try {
      res = await this.send(`${path}?${query}`, { signal: signal ? AbortSignal.any([signal, starting.signal]) : starting.signal });
    } finally {
      clearTimeout(startTimer);
    }
    if (res.statusCode !== 200) throw apiError(res.statusCode!, await readBody(res));
    const idleMs = (timeoutSeconds + 30) * 1000;
    res.socket?.setKeepAlive(true, 30_000);
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: res, crlfDelay: Infinity });
      let failed = false;
      const idle = setTimeout(() => res.destroy(new Error(`watch ${path}: nothing heard for ${idleMs / 1000} s`)), idleMs);
      res.on('data', () => idle.refresh());
      lines.on('close', () => clearTimeout(idle));
      lines.on('line', (line) => {
        if (failed || !line.trim()) return;
        let event: WatchEvent;
        try {
          event = JSON.parse(line) as WatchEvent;
        } catch {
          failed = true;
          res.destroy();
          reject(new Error(`watch ${path}: event is not JSON`));
          return;
        }
        try {
          onEvent(event);
        } catch (e) {
          failed = true;
          res.destroy();
          reject(e as Error);
        }
      });
      // readline re-emits its input's errors (a connection reset or an abort).
      lines.on('error', (e) => {
        failed = true;
        reject(e);
      });
      lines.on('close', () => {
        if (failed) return;
        if (res.complete) resolve();
        else reject(new Error(`watch ${path}: connection closed mid-stream`));
      });
    });
  }

  private async send(path: string, req: KubeRequest): Promise<IncomingMessage> {
    const url = new URL(this.server.replace(/\/+$/, '') + path);
    const opts: RequestOptions & { headers: Record<string, string> } = { method: req.method ?? 'GET', headers: { Accept: 'application/json' } };
    await this.config.applyToHTTPSOptions(opts as never);
    if (url.protocol === 'https:' && !this.config.getCurrentCluster()?.proxyUrl) opts.agent = this.keepAliveAgent(opts as TlsOptions);
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      opts.headers['Content-Type'] = req.contentType ?? (req.method === 'PATCH' ? 'application/merge-patch+json' : 'application/json');
      opts.headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const r = send(url, { ...opts, signal: req.signal }, resolve);
      r.on('error', reject);
      r.end(body);
    });
  }
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        res.destroy();
        reject(new Error(`response larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function apiError(statusCode: number, text: string): KubeApiError {
  let message = text.trim().slice(0, 300) || `HTTP ${statusCode}`;
  let reason: string | undefined;
  try {
    const status = JSON.parse(text) as { message?: string; reason?: string };
    if (status.message) message = status.message;
    reason = status.reason;
  } catch {
    // not a Status object: keep the text
  }
  return new KubeApiError(statusCode, message, reason);
}
