// The admission webhook's HTTPS server (Istio's :15017): `POST /inject` and `/inject/...`
// (Istio's `/inject/cluster/<id>/net/<network>` paths) answer AdmissionReviews with a JSONPatch.
// Malformed requests get Istio's answers: 400 for a missing or oversized body, 415 for a wrong
// Content-Type, and an AdmissionReview carrying the error for anything that is not a valid review.
//
// The serving certificate comes from files (`tlsCertFile`/`tlsKeyFile`, re-read when they change)
// or PEM strings; `setCertificate` swaps it at runtime (e.g. when citadel rotates it).

import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import type { InjectionWebhook } from './inject/webhook.js';

/** Kubernetes' request size limit with Istio's headroom (kube.MaxRequestBodyBytes). */
export const MAX_REQUEST_BODY_BYTES = 6 * 1024 * 1024;

export interface WebhookServerOptions {
  /** `host:port`, `:port` (all interfaces) or a port; default `:15017`. */
  httpsAddr?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** PEM alternatives to the files. */
  cert?: string;
  key?: string;
  /** Absent: no injection configured; only the other handlers are served. */
  injector?: InjectionWebhook;
  /**
   * More handlers on the same listener (e.g. `/validate`), tried after `/inject`; each returns
   * false for requests it does not own.
   */
  handlers?: ((req: IncomingMessage, res: ServerResponse) => boolean)[];
  log?: { info(m: string): void; warn(m: string): void };
}

export interface WebhookServer {
  server: Server;
  /** The bound port (useful with port 0). */
  port: number;
  /** Counters in the spirit of Istio's sidecar_injection_{requests,success,skip,failure}_total. */
  metrics: InjectMetrics;
  /** Replaces the serving certificate without restarting the listener. */
  setCertificate(cert: string, key: string): void;
  close(): Promise<void>;
}

export interface InjectMetrics {
  total: number;
  success: number;
  skipped: number;
  failed: number;
}

/** Parses `host:port`, `:port`, `[v6]:port` or `port`. */
export function parseListenAddr(addr: string): { host?: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))?:?(\d+)$/.exec(addr.trim());
  if (!m) throw new Error(`invalid listen address ${JSON.stringify(addr)}`);
  const host = m[1] ?? m[2];
  return { host: host ? host : undefined, port: Number(m[3]) };
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}

/**
 * The request handler for `/inject` and `/inject/...` (mountable on another HTTPS server that
 * also serves `/validate`). Returns false for paths it does not own.
 */
export function injectHandler(injector: InjectionWebhook, metrics: InjectMetrics = { total: 0, success: 0, skipped: 0, failed: 0 },
  log: { info(m: string): void; warn(m: string): void } = { info: () => undefined, warn: () => undefined }) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'https://webhook');
    let path = url.pathname;
    try {
      path = decodeURIComponent(path);
    } catch {
      // keep the raw path
    }
    if (path !== '/inject' && !path.startsWith('/inject/')) return false;
    metrics.total++;
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REQUEST_BODY_BYTES) { tooLarge = true; return; }
      chunks.push(c);
    });
    req.on('error', () => { metrics.failed++; if (!res.headersSent) send(res, 400, 'could not read request body\n'); });
    req.on('end', () => {
      try {
        if (tooLarge) {
          metrics.failed++;
          send(res, 400, `Request entity too large: limit is ${MAX_REQUEST_BODY_BYTES}\n`);
          return;
        }
        const body = Buffer.concat(chunks);
        if (body.length === 0) {
          metrics.failed++;
          send(res, 400, 'no body found\n');
          return;
        }
        const contentType = req.headers['content-type'] ?? '';
        if (contentType !== 'application/json') {
          metrics.failed++;
          log.warn(`contentType=${contentType}, expect application/json`);
          send(res, 415, 'invalid Content-Type, want `application/json`\n');
          return;
        }
        let parsed: unknown;
        let review;
        try {
          parsed = JSON.parse(body.toString('utf8'));
          review = injector.review(parsed, path);
        } catch (e) {
          review = { response: { uid: '', allowed: false, status: { metadata: {}, message: `couldn't get version/kind; json parse error: ${(e as Error).message}` } } };
        }
        if (review.response.allowed) {
          if (review.response.patch) metrics.success++;
          else metrics.skipped++;
        } else metrics.failed++;
        send(res, 200, JSON.stringify(review), 'application/json');
      } catch (e) {
        metrics.failed++;
        log.warn(`inject handler: ${(e as Error).message}`);
        if (!res.headersSent) send(res, 500, `could not encode response: ${(e as Error).message}\n`);
      }
    });
    return true;
  };
}

/** Starts the HTTPS webhook server. */
export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const log = opts.log ?? { info: () => undefined, warn: (m: string) => process.stderr.write(`webhook: ${m}\n`) };
  const readPair = (): { cert: string; key: string } => {
    if (opts.cert && opts.key) return { cert: opts.cert, key: opts.key };
    if (!opts.tlsCertFile || !opts.tlsKeyFile) throw new Error('the webhook needs a serving certificate: pass tlsCertFile and tlsKeyFile (or cert and key)');
    return { cert: readFileSync(opts.tlsCertFile, 'utf8'), key: readFileSync(opts.tlsKeyFile, 'utf8') };
  };
  const pair = readPair();
  const metrics: InjectMetrics = { total: 0, success: 0, skipped: 0, failed: 0 };
  const handlers = [...(opts.injector ? [injectHandler(opts.injector, metrics, log)] : []), ...(opts.handlers ?? [])];
  const server = createServer({ cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' }, (req, res) => {
    try {
      if (!handlers.some(h => h(req, res))) send(res, 404, '404 page not found\n');
    } catch (e) {
      log.warn(`handler failed: ${(e as Error).message}`);
      if (!res.headersSent) send(res, 500, 'internal error\n');
    }
  });
  server.on('clientError', (_err, socket) => { socket.destroy(); });
  const { host, port } = parseListenAddr(opts.httpsAddr ?? ':15017');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const setCertificate = (cert: string, key: string): void => server.setSecureContext({ cert, key, minVersion: 'TLSv1.2' });

  // Re-read the certificate files when they change (a rotated Secret or a citadel write).
  const watchers: FSWatcher[] = [];
  let reloadTimer: NodeJS.Timeout | undefined;
  if (!opts.cert && opts.tlsCertFile && opts.tlsKeyFile) {
    const reload = (): void => {
      clearTimeout(reloadTimer);
      reloadTimer = setTimeout(() => {
        try {
          const p = readPair();
          setCertificate(p.cert, p.key);
          log.info('reloaded the webhook serving certificate');
        } catch (e) {
          log.warn(`keeping the current serving certificate: ${(e as Error).message}`);
        }
      }, 100);
    };
    for (const dir of new Set([dirname(opts.tlsCertFile), dirname(opts.tlsKeyFile)])) {
      try {
        const w = watch(dir, reload);
        w.on('error', () => undefined);
        watchers.push(w);
      } catch {
        // an unwatchable directory: the certificate is still served, only not reloaded
      }
    }
  }
  return {
    server,
    metrics,
    port: (server.address() as AddressInfo).port,
    setCertificate,
    close: () => new Promise<void>(resolve => {
      clearTimeout(reloadTimer);
      for (const w of watchers) w.close();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
