// `/validate`: Istio's validating admission webhook. Each Istio object in an AdmissionReview v1
// is checked with the same rules as the config store (CRD schema, then Istio's validation);
// errors deny it, warnings are returned as warnings. Kinds Isthmus does not know are allowed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatConfigError, parseObject } from '../pilot/config/parse.js';

const MAX_BODY = 6 * 1024 * 1024;
export const ALWAYS_REJECT = 'internal.istio.io/webhook-always-reject';

interface Review {
  apiVersion?: string;
  kind?: string;
  request?: { uid?: string; operation?: string; namespace?: string; object?: unknown };
}

function respond(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The AdmissionReview response for one request. */
export function validateReview(review: Review): object {
  const req = review.request;
  const uid = req?.uid ?? '';
  const answer = (response: Record<string, unknown>) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, ...response } });
  if (!req) return answer({ allowed: false, status: { code: 400, message: 'AdmissionReview has no request' } });
  // Deleting never needs validation; nor does an object Istio does not own.
  if (req.operation === 'DELETE' || !req.object || typeof req.object !== 'object') return answer({ allowed: true });
  const parsed = parseObject(req.object as Record<string, unknown>, req.namespace || 'default');
  if ('ignored' in parsed) return answer({ allowed: true });
  // istiod's probe: before it makes the validation webhook fail closed, it checks the webhook
  // answers by a dry-run create of an object carrying this annotation, which must be refused.
  const annotations = (req.object as { metadata?: { annotations?: Record<string, unknown> } }).metadata?.annotations;
  if (annotations && ALWAYS_REJECT in annotations) {
    return answer({ allowed: false, status: { code: 400, reason: 'BadRequest', message: `"${ALWAYS_REJECT}" annotation found, rejecting` } });
  }
  const warnings = (parsed.warnings ?? []).map((w) => formatConfigError(w.error));
  if ('errors' in parsed) {
    const message = `admission webhook "validation.istio.io" denied the request: configuration is invalid: ${parsed.errors.map((e) => formatConfigError(e.error)).join('; ')}`;
    return answer({ allowed: false, status: { code: 400, reason: 'BadRequest', message }, warnings });
  }
  return answer({ allowed: true, warnings });
}

export function validateHandler() {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = new URL(req.url ?? '/', 'https://webhook').pathname;
    if (path !== '/validate' && !path.startsWith('/validate/')) return false;
    if (req.method !== 'POST') {
      respond(res, 405, 'method not allowed\n', 'text/plain');
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return respond(res, 400, `request entity too large: limit is ${MAX_BODY}\n`, 'text/plain');
      let review: Review;
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Review;
      } catch (e) {
        return respond(res, 400, `cannot parse AdmissionReview: ${(e as Error).message}\n`, 'text/plain');
      }
      if (!review || typeof review !== 'object') return respond(res, 400, 'AdmissionReview must be an object\n', 'text/plain');
      respond(res, 200, JSON.stringify(validateReview(review)));
    });
    req.on('error', () => {
      if (!res.headersSent) respond(res, 400, 'cannot read request body\n', 'text/plain');
    });
    return true;
  };
}
