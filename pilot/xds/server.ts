// The ADS server: State-of-the-World and Delta streams over gRPC, with versions, nonces and
// ACK/NACK. It is generic: translation is behind `XdsHooks`, resources are names and `Any`s.
import { randomUUID, createHash } from 'node:crypto';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import type { ServerDuplexStream, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Node } from '../../gen/envoy/config/core/v3/base_pb.js';
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  ResourceSchema,
  type DeltaDiscoveryRequest,
  type DiscoveryRequest,
} from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import type { NamedResource, Watch } from '../networking/generator.js';
import { Connection, sameNames, type WatchState } from './connection.js';
import { metricType, type XdsMetrics } from './metrics.js';

export interface XdsHooks<S> {
  /** Called with the first request's node; throwing rejects the stream. */
  connect(node: Node, peer: string): S;
  disconnect(session: S): void;
  generate(session: S, watch: Watch): NamedResource[];
  /** Whether an empty subscription of this type means "everything" (LDS/CDS for Envoy). */
  isWildcardType(session: S, typeUrl: string): boolean;
  /** The version string of the current config snapshot. */
  version(): string;
  /** Id used in logs and debug output. */
  proxyId(session: S): string;
}

/** Order of a full push: clusters and endpoints before the listeners and routes that use them. */
const PUSH_ORDER = [
  'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  'type.googleapis.com/envoy.config.listener.v3.Listener',
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
];

function pushRank(typeUrl: string): number {
  const i = PUSH_ORDER.indexOf(typeUrl);
  return i < 0 ? PUSH_ORDER.length : i;
}

type Stream = ServerDuplexStream<unknown, unknown>;

function contentHash(resource: Any): string {
  return createHash('sha1').update(resource.typeUrl).update(resource.value).digest('base64url').slice(0, 16);
}

export class XdsServer<S> {
  private readonly connections = new Map<string, { conn: Connection<S>; stream: Stream }>();
  private counter = 0;

  constructor(
    private readonly hooks: XdsHooks<S>,
    private readonly metrics: XdsMetrics,
    private readonly log: Logger,
  ) {}

  /** The gRPC service: responses are pre-serialized so their size is measured once. */
  serviceDefinition(): ServiceDefinition {
    const base = '/envoy.service.discovery.v3.AggregatedDiscoveryService/';
    const method = (name: string, req: typeof DiscoveryRequestSchema | typeof DeltaDiscoveryRequestSchema) => ({
      path: base + name,
      requestStream: true,
      responseStream: true,
      requestSerialize: (m: unknown) => Buffer.from(toBinary(req as typeof DiscoveryRequestSchema, m as DiscoveryRequest)),
      requestDeserialize: (b: Buffer) => fromBinary(req, b),
      responseSerialize: (m: unknown) => m as Buffer,
      responseDeserialize: (b: Buffer) => b,
    });
    return {
      StreamAggregatedResources: method('StreamAggregatedResources', DiscoveryRequestSchema),
      DeltaAggregatedResources: method('DeltaAggregatedResources', DeltaDiscoveryRequestSchema),
    } as ServiceDefinition;
  }

  implementation(): UntypedServiceImplementation {
    return {
      StreamAggregatedResources: (call: Stream) => this.serveStream(call, false),
      DeltaAggregatedResources: (call: Stream) => this.serveStream(call, true),
    };
  }

  /** Connected clients, for debug endpoints. */
  list(): Connection<S>[] {
    return [...this.connections.values()].map((c) => c.conn);
  }

  /** Pushes the current snapshot to every connection; only changed content is sent. */
  pushAll(firstEventAt?: number): void {
    for (const { conn, stream } of this.connections.values()) this.pushConnection(conn, stream, firstEventAt);
  }

  pushConnection(conn: Connection<S>, stream: Stream, firstEventAt?: number): void {
    const watches = [...conn.watches.values()].sort((a, b) => pushRank(a.typeUrl) - pushRank(b.typeUrl));
    for (const w of watches) {
      if (!w.wildcard && w.names.size === 0) continue;
      this.respond(conn, stream, w, false);
    }
    if (firstEventAt !== undefined) this.metrics.convergence.observe((performance.now() - firstEventAt) / 1000);
  }

  closeAll(): void {
    for (const { stream } of this.connections.values()) stream.end();
  }

  private serveStream(stream: Stream, delta: boolean): void {
    let conn: Connection<S> | undefined;
    const peer = stream.getPeer();
    stream.on('data', (req: DiscoveryRequest | DeltaDiscoveryRequest) => {
      try {
        if (!conn) {
          if (!req.node?.id) {
            stream.destroy(Object.assign(new Error('first request on an xDS stream must carry node.id'), { code: 3 }));
            return;
          }
          const session = this.hooks.connect(req.node, peer);
          const id = `${this.hooks.proxyId(session)}-${++this.counter}`;
          conn = new Connection(id, session, peer, delta);
          this.connections.set(id, { conn, stream });
          this.metrics.connected.inc({ version: this.hooks.version() });
          this.log.info({ conn: id, peer, delta }, 'xDS stream connected');
        }
        if (delta) this.onDeltaRequest(conn, stream, req as DeltaDiscoveryRequest);
        else this.onSotwRequest(conn, stream, req as DiscoveryRequest);
      } catch (err) {
        this.log.error({ err, conn: conn?.id }, 'xDS request failed');
        stream.destroy(Object.assign(new Error(`internal error: ${(err as Error).message}`), { code: 13 }));
      }
    });
    const cleanup = () => {
      if (!conn || !this.connections.has(conn.id)) return;
      this.connections.delete(conn.id);
      this.metrics.connected.dec({ version: this.hooks.version() });
      this.hooks.disconnect(conn.session);
      this.log.info({ conn: conn.id }, 'xDS stream closed');
    };
    stream.on('end', () => {
      cleanup();
      stream.end();
    });
    stream.on('error', (err) => {
      this.log.debug({ err, conn: conn?.id }, 'xDS stream error');
      cleanup();
    });
    stream.on('close', cleanup);
    stream.on('cancelled', cleanup);
  }

  private onNack(conn: Connection<S>, w: WatchState, nonce: string, detail: string): void {
    w.lastNack = detail;
    this.metrics.rejects.inc({ type: metricType(w.typeUrl) });
    this.log.warn({ proxy: this.hooks.proxyId(conn.session), conn: conn.id, type: metricType(w.typeUrl), nonce, error: detail }, 'xDS NACK: proxy rejected config, keeps its last good config');
  }

  private onSotwRequest(conn: Connection<S>, stream: Stream, req: DiscoveryRequest): void {
    const typeUrl = req.typeUrl;
    if (!typeUrl) return;
    const existing = conn.watch(typeUrl);
    if (req.errorDetail) {
      const w = conn.ensureWatch(typeUrl);
      this.onNack(conn, w, req.responseNonce, req.errorDetail.message);
      return;
    }
    if (!req.responseNonce || !existing) {
      // First request for this type (or a reconnect resuming it).
      const w = conn.ensureWatch(typeUrl);
      w.names = new Set(req.resourceNames);
      w.wildcard = req.resourceNames.length === 0 ? this.hooks.isWildcardType(conn.session, typeUrl) : req.resourceNames.includes('*');
      this.respond(conn, stream, w, true);
      return;
    }
    if (req.responseNonce !== existing.nonceSent) return; // stale nonce: a newer response is in flight
    existing.nonceAcked = req.responseNonce;
    existing.versionAcked = req.versionInfo;
    existing.lastNack = undefined;
    if (!sameNames(existing.names, req.resourceNames) && !(existing.wildcard && req.resourceNames.length === 0)) {
      // A subscription change arrives with the last nonce and looks like an ACK: compare names.
      existing.names = new Set(req.resourceNames);
      this.respond(conn, stream, existing, true);
    }
  }

  private onDeltaRequest(conn: Connection<S>, stream: Stream, req: DeltaDiscoveryRequest): void {
    const typeUrl = req.typeUrl;
    if (!typeUrl) return;
    let w = conn.watch(typeUrl);
    if (req.errorDetail) {
      this.onNack(conn, conn.ensureWatch(typeUrl), req.responseNonce, req.errorDetail.message);
      return;
    }
    const first = !w;
    if (!w) {
      w = conn.ensureWatch(typeUrl);
      w.wildcard = req.resourceNamesSubscribe.includes('*') || (req.resourceNamesSubscribe.length === 0 && this.hooks.isWildcardType(conn.session, typeUrl));
      for (const [name, version] of Object.entries(req.initialResourceVersions)) w.sent.set(name, version);
    } else if (req.responseNonce && req.responseNonce === w.nonceSent) {
      w.nonceAcked = req.responseNonce;
      w.lastNack = undefined;
    }
    let changed = false;
    for (const n of req.resourceNamesSubscribe) {
      if (n === '*') {
        if (!w.wildcard) changed = true;
        w.wildcard = true;
      } else if (!w.names.has(n)) {
        w.names.add(n);
        changed = true;
      }
    }
    for (const n of req.resourceNamesUnsubscribe) {
      if (n === '*') {
        w.wildcard = false;
        continue;
      }
      if (w.names.delete(n)) w.sent.delete(n);
    }
    if (first || changed) this.respond(conn, stream, w, first);
  }

  /** Generates the watch's resources and sends what the client does not already hold. */
  private respond(conn: Connection<S>, stream: Stream, w: WatchState, force: boolean): void {
    const start = performance.now();
    const watch: Watch = { typeUrl: w.typeUrl, names: w.wildcard ? [] : [...w.names], wildcard: w.wildcard };
    const resources = this.hooks.generate(conn.session, watch);
    const hashes = new Map<string, string>();
    for (const r of resources) hashes.set(r.name, contentHash(r.resource));
    const version = this.hooks.version();
    const nonce = randomUUID();
    let bytes: Uint8Array;
    if (conn.delta) {
      const updated = resources.filter((r) => w.sent.get(r.name) !== hashes.get(r.name));
      const removed = [...w.sent.keys()].filter((n) => !hashes.has(n) && (w.wildcard || w.names.has(n)));
      if (!force && updated.length === 0 && removed.length === 0) return;
      for (const n of removed) w.sent.delete(n);
      for (const r of updated) w.sent.set(r.name, hashes.get(r.name)!);
      bytes = toBinary(
        DeltaDiscoveryResponseSchema,
        create(DeltaDiscoveryResponseSchema, {
          typeUrl: w.typeUrl,
          systemVersionInfo: version,
          nonce,
          removedResources: removed,
          resources: updated.map((r) => create(ResourceSchema, { name: r.name, version: hashes.get(r.name)!, resource: r.resource })),
        }),
      );
    } else {
      if (!force && sameContent(w.sent, hashes)) return;
      w.sent = hashes;
      bytes = toBinary(
        DiscoveryResponseSchema,
        create(DiscoveryResponseSchema, { typeUrl: w.typeUrl, versionInfo: version, nonce, resources: resources.map((r) => r.resource) }),
      );
    }
    w.nonceSent = nonce;
    w.versionSent = version;
    w.sentAt = performance.now();
    const type = metricType(w.typeUrl);
    this.metrics.pushes.inc({ type });
    this.metrics.configSize.observe({ type }, bytes.length);
    stream.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.metrics.pushTime.observe({ type }, (performance.now() - start) / 1000);
  }
}

function sameContent(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
