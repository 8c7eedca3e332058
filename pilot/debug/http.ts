// HTTP endpoints for operators: readiness, Prometheus metrics and istiod's /debug views.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { create, fromBinary, toJson } from '@bufbuild/protobuf';
import { AnySchema, type Any } from '@bufbuild/protobuf/wkt';
import { SecretSchema } from '../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js';
import { DataSourceSchema } from '../../gen/envoy/config/core/v3/base_pb.js';
import type { Registry as PromRegistry } from 'prom-client';
import type { ConfigStore } from '../config/store.js';
import { apiVersionOf, type Resource } from '../config/resource.js';
import type { PushContext } from '../model/push-context.js';
import { formatConfigError } from '../config/parse.js';
import type { DiscoveryService } from '../xds/discovery.js';
import { metricType } from '../xds/metrics.js';
import { envoyRegistry } from '../networking/registry.js';
import { pack, TYPE } from '../networking/envoy.js';
import { traceHandler } from './trace.js';
import { previewHandler } from './preview.js';

export interface DebugDeps {
  store: ConfigStore;
  discovery: DiscoveryService;
  metrics: PromRegistry;
  ready: () => boolean;
}

type Handler = (req: IncomingMessage, url: URL) => Promise<unknown> | unknown;

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Set ? [...v] : v), 2);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
}

/** Istio config converted from Ingress and Gateway API objects (istiod lists it in configz too). */
function derivedConfigz(push: PushContext): {
  kind: string;
  apiVersion: string;
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: unknown;
}[] {
  const all: Resource[] = [...push.gateways, ...push.virtualServices.map((v) => v.resource), ...push.destinationRules.map((d) => d.resource)];
  return all
    .filter((r) => 'derivedFrom' in r)
    .map((r) => ({
      kind: r.kind,
      apiVersion: apiVersionOf(r),
      metadata: { name: r.meta.name, namespace: r.meta.namespace, labels: r.meta.labels, annotations: r.meta.annotations },
      spec: r.spec,
      derivedFrom: (r as Resource & { derivedFrom: unknown }).derivedFrom,
    }));
}

function redactedSecret(resource: Any): Any {
  const secret = fromBinary(SecretSchema, resource.value);
  if (secret.type.case !== 'tlsCertificate') return resource;
  const redacted = create(DataSourceSchema, { specifier: { case: 'inlineBytes', value: new TextEncoder().encode('[redacted]') } });
  secret.type.value.privateKey = redacted;
  secret.type.value.privateKeyProvider = undefined;
  return pack(SecretSchema, secret);
}

export function debugHandlers(deps: DebugDeps): Record<string, Handler> {
  const { store, discovery } = deps;
  return {
    '/debug/configz': () =>
      ['VirtualService', 'DestinationRule', 'Gateway', 'ServiceEntry', 'Sidecar', 'WorkloadEntry', 'WorkloadGroup'].flatMap((kind) =>
        store.list(kind).map((r) => ({
          kind: r.kind,
          apiVersion: apiVersionOf(r),
          metadata: { name: r.meta.name, namespace: r.meta.namespace, labels: r.meta.labels, annotations: r.meta.annotations },
          spec: r.spec,
        })),
      ).concat(derivedConfigz(discovery.pushContext)),
    // The mesh config the current push was built with (as istiod's /debug/mesh).
    '/debug/mesh': () => discovery.pushContext.mesh,
    '/debug/config_errors': () => store.errors().map((e) => ({ ...e, text: formatConfigError(e) })),
    '/debug/registryz': () =>
      discovery.pushContext.registry.services.map((s) => ({
        hostname: s.hostname,
        namespace: s.namespace,
        name: s.name,
        registry: s.registry,
        ports: s.ports,
        addresses: s.addresses,
        resolution: s.resolution,
        meshExternal: s.meshExternal,
        exportTo: [...s.exportTo],
      })),
    '/debug/endpointz': () =>
      discovery.pushContext.registry.services.map((s) => ({ hostname: s.hostname, namespace: s.namespace, endpoints: discovery.pushContext.endpoints(s) })),
    '/debug/adsz': () =>
      discovery.server.list().map((c) => ({
        connectionId: c.id,
        connectedAt: c.connectedAt.toISOString(),
        peer: c.peer,
        delta: c.delta,
        proxy: { id: c.session.id, type: c.session.type, namespace: c.session.namespace, generator: c.session.generator, labels: c.session.labels },
        watches: [...c.watches.values()].map((w) => ({ type: metricType(w.typeUrl), wildcard: w.wildcard, names: [...w.names] })),
      })),
    '/debug/syncz': () =>
      discovery.server.list().map((c) => ({
        proxy: c.session.id,
        connectionId: c.id,
        istio_version: c.session.istioVersion,
        ...Object.fromEntries(
          [...c.watches.values()].map((w) => [
            metricType(w.typeUrl),
            { sent: w.versionSent, acked: w.versionAcked, nonceSent: w.nonceSent, nonceAcked: w.nonceAcked, status: w.lastNack ? 'NACKED' : w.nonceSent === w.nonceAcked ? 'SYNCED' : 'STALE', error: w.lastNack },
          ]),
        ),
      })),
    '/debug/trace': traceHandler(deps),
    '/debug/preview': previewHandler(deps),
    '/debug/config_dump': (_req, url) => {
      const id = url.searchParams.get('proxyID');
      const conn = discovery.server.list().find((c) => c.session.id === id || c.id === id || c.session.workloadName === id);
      if (!conn) return { status: 404, body: { error: `proxy ${id ?? '(none)'} is not connected` } };
      const registry = envoyRegistry();
      const push = discovery.pushContext;
      return Object.fromEntries(
        [...conn.watches.values()].map((w) => {
          const gen = discovery.generatorsFor(conn.session).byType[w.typeUrl];
          const resources = gen ? gen(push, conn.session, { typeUrl: w.typeUrl, names: [...w.names], wildcard: w.wildcard }) : [];
          // As istiod's dump: certificates are shown, private keys never (these ports are unauthenticated).
          const shown = w.typeUrl === TYPE.secret ? resources.map((r) => ({ ...r, resource: redactedSecret(r.resource) })) : resources;
          return [metricType(w.typeUrl), shown.map((r) => toJson(AnySchema, r.resource, { registry }))];
        }),
      );
    },
  };
}

export function startHttpServer(deps: DebugDeps, host: string, port: number, onListening: (addr: string) => void): Server {
  const handlers = debugHandlers(deps);
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'http://localhost');
        // Only the preview takes a body (the change to preview); everything else is read-only.
        const post = req.method === 'POST' && url.pathname === '/debug/preview';
        if (req.method !== 'GET' && req.method !== 'HEAD' && !post) return json(res, 405, { error: 'method not allowed' });
        if (url.pathname === '/ready') {
          const ready = deps.ready();
          res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
          return res.end(ready ? 'ready\n' : 'not ready\n');
        }
        if (url.pathname === '/metrics') {
          res.writeHead(200, { 'content-type': deps.metrics.contentType });
          return res.end(await deps.metrics.metrics());
        }
        if (url.pathname === '/debug' || url.pathname === '/debug/') return json(res, 200, Object.keys(handlers));
        const handler = handlers[url.pathname];
        if (!handler) return json(res, 404, { error: `no handler for ${url.pathname}` });
        const result = await handler(req, url);
        if (result && typeof result === 'object' && 'status' in result && 'body' in result) {
          const r = result as { status: number; body: unknown };
          return json(res, r.status, r.body);
        }
        return json(res, 200, result);
      } catch (err) {
        if (!res.headersSent) json(res, 500, { error: (err as Error).message });
        else res.destroy();
      }
    })();
  });
  server.listen(port, host, () => {
    const a = server.address();
    onListening(typeof a === 'object' && a ? `${a.address}:${a.port}` : String(a));
  });
  return server;
}
