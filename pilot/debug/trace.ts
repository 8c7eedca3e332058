// GET /debug/trace: `isthmusctl x trace` against a running isthmusd. Walks one request through
// the config the server would push to the named proxy (a connected one, or a Pod/WorkloadEntry
// of the config as if its sidecar connected) and returns the TraceReport as JSON.
//
//   /debug/trace?proxy=POD.NS|PROXY_ID&url=http://host:port/path[&header=Name:%20value...]
//               [&method=GET][&tls=tls|mtls][&sni=..][&alpn=..][&protocol=http|http2|tcp]
//               [&inbound=true][&address=IP][&labels=k=v,k2=v2&namespace=NS][&type=router]
import type { IncomingMessage } from 'node:http';
import type { ConfigStore } from '../config/store.js';
import type { DiscoveryService } from '../xds/discovery.js';
import type { CallProtocol, TlsMode } from '../simulation/call.js';
import { traceRequest, TraceInputError, type TraceRequest } from '../simulation/trace.js';
import { ProxyNotFound, resolveProxy } from '../simulation/workload.js';

export interface TraceDeps {
  store: ConfigStore;
  discovery: DiscoveryService;
}

type Reply = { status: number; body: unknown } | unknown;

/** `k=v,k2=v2` → labels. */
export function parseLabels(text: string | null | undefined): Record<string, string> | undefined {
  if (!text) return undefined;
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const t = pair.trim();
    if (!t) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new TraceInputError(`invalid label ${JSON.stringify(t)}: expected key=value`);
    out[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return out;
}

/** `Name: value` → [name, value]. */
export function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':', text.startsWith(':') ? 1 : 0);
  if (colon <= 0) throw new TraceInputError(`invalid header ${JSON.stringify(text)}: expected "Name: value"`);
  return [text.slice(0, colon).trim(), text.slice(colon + 1).trim()];
}

const TLS_MODES = new Set(['plaintext', 'tls', 'mtls']);
const PROTOCOLS = new Set(['http', 'http2', 'tcp']);

export function traceHandler(deps: TraceDeps): (req: IncomingMessage, url: URL) => Reply {
  return (_req, url) => {
    const q = url.searchParams;
    const bad = (error: string) => ({ status: 400, body: { error } });
    const target = q.get('url');
    if (!target) return bad('url is required, e.g. /debug/trace?proxy=POD.NAMESPACE&url=http://reviews:9080/');
    const tls = q.get('tls') ?? undefined;
    if (tls && !TLS_MODES.has(tls)) return bad(`tls must be one of plaintext, tls, mtls (got ${JSON.stringify(tls)})`);
    const protocol = q.get('protocol') ?? undefined;
    if (protocol && !PROTOCOLS.has(protocol)) return bad(`protocol must be one of http, http2, tcp (got ${JSON.stringify(protocol)})`);
    const type = q.get('type') ?? undefined;
    if (type && type !== 'sidecar' && type !== 'router') return bad(`type must be sidecar or router (got ${JSON.stringify(type)})`);
    let claims: Record<string, unknown> | undefined;
    const rawClaims = q.get('jwtClaims');
    if (rawClaims) {
      try {
        claims = JSON.parse(rawClaims) as Record<string, unknown>;
      } catch {
        return bad('jwtClaims must be a JSON object');
      }
      if (!claims || typeof claims !== 'object' || Array.isArray(claims)) return bad('jwtClaims must be a JSON object');
    }
    try {
      const push = deps.discovery.pushContext;
      const connected = deps.discovery.server.list().map((c) => c.session);
      const proxy = resolveProxy(
        { proxy: q.get('proxy') ?? undefined, labels: parseLabels(q.get('labels')), namespace: q.get('namespace') ?? undefined, type: type as 'sidecar' | 'router' | undefined },
        deps.store,
        push.domainSuffix,
        connected,
      );
      const request: TraceRequest = {
        url: target,
        method: q.get('method') ?? undefined,
        headers: q.getAll('header').map(parseHeader),
        tls: tls as TlsMode | undefined,
        sni: q.get('sni') ?? undefined,
        alpn: q.get('alpn') ?? undefined,
        protocol: protocol as CallProtocol | undefined,
        inbound: q.get('inbound') === 'true' || q.get('inbound') === '1',
        address: q.get('address') ?? undefined,
        principal: q.get('principal') ?? undefined,
        sourceAddress: q.get('sourceAddress') ?? undefined,
        jwtClaims: claims,
      };
      return traceRequest(push, proxy, request, deps.discovery.generatorsFor(proxy));
    } catch (e) {
      if (e instanceof ProxyNotFound) return { status: 404, body: { error: e.message } };
      if (e instanceof TraceInputError) return bad(e.message);
      throw e;
    }
  };
}
