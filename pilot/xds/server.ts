// The ADS server: State-of-the-World and Delta streams over gRPC, with versions, nonces and
// ACK/NACK. It is generic: translation is behind `XdsHooks`, resources are names and `Any`s.
import { randomUUID } from 'node:crypto';
import { toBinary } from '@bufbuild/protobuf';
import type { ServerDuplexStream, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Node } from '../../gen/envoy/config/core/v3/base_pb.js';
import {
  DeltaDiscoveryRequestSchema,
  DiscoveryRequestSchema,
  type DiscoveryRequest,
} from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import type { NamedResource, Watch } from '../networking/generator.js';
import { Connection, type WatchState } from './connection.js';
import { contentHash, deltaDiscoveryResponse, discoveryResponse, LazyResponse, serializeResponse } from './encode.js';
import { changedCount, diff, heldHashes, holding, partsOf } from './held.js';
import { installSelfFraming } from './grpc-frames.js';
import { metricType, type XdsMetrics } from './metrics.js';
import { installPooledRequests, releaseRequestBuffer } from './grpc-requests.js';
import { readDeltaRequest, readSotwRequest, type DeltaRequest, type SotwRequest } from './request-wire.js';
import { encodingOf, internNames, namesFromEncoding, namesId, namesList, type Names } from './subscriptions.js';

export interface XdsHooks<S> {
  /**
   * Called with the first request's node and what the implementation's `admit` resolved for the
   * stream (undefined without one); throwing rejects the stream, with the error's numeric `code`
   * as the status when it has one.
   */
  connect(node: Node, peer: string, admitted?: unknown): S;
  disconnect(session: S): void;
  generate(session: S, watch: Watch): NamedResource[];
  /** Whether an empty subscription of this type means "everything" (LDS/CDS for Envoy). */
  isWildcardType(session: S, typeUrl: string): boolean;
  /** The version string of the current config snapshot. */
  version(): string;
  /** Id used in logs and debug output. */
  proxyId(session: S): string;
  /**
   * Whether State-of-the-World pushes of this type may carry only the resources that changed
   * (xDS allows it for types other than LDS and CDS; Envoy keeps the rest, as Istio relies on
   * for EDS). Without it every response holds every subscribed resource.
   */
  partialSotw?(session: S, typeUrl: string): boolean;
}

export interface XdsServerOptions {
  /**
   * Response bytes handed to gRPC but not yet flushed to sockets, across all streams, above which
   * further responses wait (generated only when they can go): bounds memory when thousands of
   * proxies connect or a push goes out to all of them. Default 32 MiB.
   */
  maxBufferedBytes?: number;
  /** Longest run of response generation before yielding to I/O, ms. Default 20. */
  sliceMs?: number;
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

export type Stream = ServerDuplexStream<unknown, unknown>;

/** Decides whether a stream may be served before any of its requests is read. */
export type Admit = (call: Stream) => Promise<unknown>;

function internalStatus(message: string): { code: number; details: string } {
  return { code: 13, details: `internal error: ${message}` };
}

/** The status a stream ends with for an error: one that carries a gRPC code keeps it; anything else is INTERNAL. */
function statusOf(err: unknown): { code: number; details: string } {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? { code, details: (err as Error).message } : internalStatus((err as Error).message);
}

/**
 * Ends a stream with a gRPC status. grpc-js sends the status of an 'error' event on a server
 * stream; `destroy(err)` would tear the stream down without sending any, and the client would
 * wait for one until its deadline.
 */
function endWithStatus(stream: Stream, s: { code: number; details: string }): void {
  // The first status sent stands: a stream already ending keeps it.
  if (stream.writableEnded || stream.destroyed) return;
  stream.emit('error', Object.assign(new Error(s.details), s));
}

interface Entry<S> {
  conn: Connection<S>;
  stream: Stream;
}

/** A write whose bytes no longer count against the budget after this long (a client that stopped reading). */
const STALLED_WRITE_MS = 10_000;

/**
 * The interned set a request subscribes to: from its bytes when the wire reader kept them, else
 * (requests the full decoder read: resumed Delta streams, NACKs, locators) from the decoded names.
 */
function requestedNames(bytes: Buffer, names: () => readonly string[]): Names {
  return bytes.length ? namesFromEncoding(bytes, names) : internNames(names());
}

export class XdsServer<S> {
  private readonly connections = new Map<string, Entry<S>>();
  /** Connections with pending responses, served in arrival order. */
  private readonly queue = new Set<Entry<S>>();
  private counter = 0;
  private inFlight = 0;
  private pumping = false;
  private scheduled = false;
  private drainWaiters: (() => void)[] = [];
  private readonly maxBuffered: number;
  private readonly sliceMs: number;

  constructor(
    private readonly hooks: XdsHooks<S>,
    private readonly metrics: XdsMetrics,
    private readonly log: Logger,
    opts: XdsServerOptions = {},
  ) {
    this.maxBuffered = opts.maxBufferedBytes ?? 32 * 1024 * 1024;
    installSelfFraming();
    installPooledRequests();
    this.sliceMs = opts.sliceMs ?? 20;
  }

  /** The gRPC service: responses are planned when queued and written when gRPC frames them. */
  serviceDefinition(): ServiceDefinition {
    const base = '/envoy.service.discovery.v3.AggregatedDiscoveryService/';
    const method = (name: string, req: typeof DiscoveryRequestSchema | typeof DeltaDiscoveryRequestSchema) => ({
      path: base + name,
      requestStream: true,
      responseStream: true,
      requestSerialize: (m: unknown) => Buffer.from(toBinary(req as typeof DiscoveryRequestSchema, m as DiscoveryRequest)),
      requestDeserialize: (b: Buffer) => (req === DiscoveryRequestSchema ? readSotwRequest(b) : readDeltaRequest(b)),
      responseSerialize: (m: unknown) => (m instanceof LazyResponse ? serializeResponse(m) : (m as Buffer)),
      responseDeserialize: (b: Buffer) => b,
    });
    return {
      StreamAggregatedResources: method('StreamAggregatedResources', DiscoveryRequestSchema),
      DeltaAggregatedResources: method('DeltaAggregatedResources', DeltaDiscoveryRequestSchema),
    } as ServiceDefinition;
  }

  /**
   * The handlers to register on a gRPC server. With `admit`, each stream's requests are read only
   * once it resolves (what it resolves with goes to `connect`); a rejection ends the stream, with
   * the error's numeric `code` as the gRPC status when it has one (say, UNAUTHENTICATED).
   */
  implementation(admit?: Admit): UntypedServiceImplementation {
    return {
      StreamAggregatedResources: (call: Stream) => this.serveStream(call, false, admit),
      DeltaAggregatedResources: (call: Stream) => this.serveStream(call, true, admit),
    };
  }

  /** Connected clients, for debug endpoints. */
  list(): Connection<S>[] {
    return [...this.connections.values()].map((c) => c.conn);
  }

  /**
   * Pushes the current snapshot to every connection; only changed content is sent. `select`
   * narrows the types regenerated per proxy (those a change cannot affect are skipped);
   * without it every watched type is.
   */
  /**
   * Queues a push to every connection, of the types `select` names for it (all it watches when
   * it names none); `select` may look at the names the connection watches of a type.
   */
  pushAll(firstEventAt?: number, select?: (session: S, watched: (typeUrl: string) => ReadonlySet<string> | undefined) => ReadonlySet<string> | undefined): void {
    for (const entry of this.connections.values()) {
      const { conn } = entry;
      const types = select?.(conn.session, (typeUrl) => conn.watches.get(typeUrl)?.names);
      let queued = false;
      for (const w of conn.watches.values()) {
        if (types && !types.has(w.typeUrl)) continue;
        if (!w.wildcard && w.names.size === 0) continue;
        if (!conn.pending.has(w.typeUrl)) conn.pending.set(w.typeUrl, { force: false });
        queued = true;
      }
      if (!queued) continue;
      if (firstEventAt !== undefined && conn.pushEventAt === undefined) conn.pushEventAt = firstEventAt;
      this.queue.add(entry);
    }
    this.pump();
  }

  /** Resolves once every queued response has been generated and handed to its stream. */
  drained(): Promise<void> {
    if (this.queue.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  closeAll(): void {
    for (const { stream } of this.connections.values()) stream.end();
  }

  private serveStream(stream: Stream, delta: boolean, admit: Admit | undefined): void {
    let entry: Entry<S> | undefined;
    // Admission state is explicit so that a request read before it settles is refused rather than
    // served unchecked, whatever the stream's pausing does.
    let admission: 'pending' | 'admitted' = admit ? 'pending' : 'admitted';
    let admitted: unknown;
    const peer = stream.getPeer();
    if (admit) {
      // Paused before the data handler is added, so no request is read until admitted.
      stream.pause();
      admit(stream).then(
        (a) => {
          admitted = a;
          admission = 'admitted';
          stream.resume();
        },
        (err: unknown) => endWithStatus(stream, statusOf(err)),
      );
    }
    stream.on('data', (req: SotwRequest | DeltaRequest) => {
      try {
        if (admission !== 'admitted') {
          endWithStatus(stream, internalStatus('request read before the stream was admitted'));
          return;
        }
        if (!entry) {
          if (!req.node?.id) {
            endWithStatus(stream, { code: 3, details: 'first request on an xDS stream must carry node.id' });
            return;
          }
          const session = this.hooks.connect(req.node, peer, admitted);
          const id = `${this.hooks.proxyId(session)}-${++this.counter}`;
          entry = { conn: new Connection(id, session, peer, delta), stream };
          this.connections.set(id, entry);
          this.metrics.connected.inc({ version: this.hooks.version() });
          this.log.info({ conn: id, peer, delta }, 'xDS stream connected');
        }
        if (delta) this.onDeltaRequest(entry, req as DeltaRequest);
        else this.onSotwRequest(entry, req as SotwRequest);
      } catch (err) {
        const ended = statusOf(err);
        if (ended.code === 13) this.log.error({ err, conn: entry?.conn.id }, 'xDS request failed');
        endWithStatus(stream, ended);
      } finally {
        // Handled synchronously and nothing kept refers to its bytes: the next request may use them.
        releaseRequestBuffer(req.bytes);
      }
    });
    const cleanup = () => {
      if (!entry || !this.connections.has(entry.conn.id)) return;
      const { conn } = entry;
      this.connections.delete(conn.id);
      this.queue.delete(entry);
      conn.closed = true;
      this.inFlight -= conn.inFlight;
      conn.inFlight = 0;
      this.metrics.connected.dec({ version: this.hooks.version() });
      this.hooks.disconnect(conn.session);
      this.log.info({ conn: conn.id }, 'xDS stream closed');
      this.schedule();
    };
    stream.on('end', () => {
      cleanup();
      stream.end();
    });
    stream.on('error', (err) => {
      this.log.debug({ err, conn: entry?.conn.id }, 'xDS stream error');
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

  private onSotwRequest(entry: Entry<S>, req: SotwRequest): void {
    const { conn } = entry;
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
      w.names = requestedNames(req.namesBytes, () => req.resourceNames);
      w.wildcard = w.names.size === 0 ? this.hooks.isWildcardType(conn.session, typeUrl) : w.names.has('*');
      this.enqueue(entry, typeUrl, true);
      return;
    }
    if (req.responseNonce !== existing.nonceSent) return; // stale nonce: a newer response is in flight
    existing.nonceAcked = req.responseNonce;
    existing.versionAcked = req.versionInfo;
    existing.lastNack = undefined;
    // An ACK repeats the subscription: the same bytes, nothing to decode.
    if (req.namesBytes.length && encodingOf(existing.names)?.equals(req.namesBytes)) return;
    // A subscription change arrives with the last nonce and looks like an ACK: compare names
    // (interned sets are equal exactly when they are the same set).
    const names = requestedNames(req.namesBytes, () => req.resourceNames);
    if (names !== existing.names && !(existing.wildcard && names.size === 0)) {
      existing.names = names;
      this.enqueue(entry, typeUrl, true);
    }
  }

  private onDeltaRequest(entry: Entry<S>, req: DeltaRequest): void {
    const { conn } = entry;
    const typeUrl = req.typeUrl;
    if (!typeUrl) return;
    let w = conn.watch(typeUrl);
    if (req.errorDetail) {
      this.onNack(conn, conn.ensureWatch(typeUrl), req.responseNonce, req.errorDetail.message);
      return;
    }
    const first = !w;
    const subscribed = requestedNames(req.subscribeBytes, () => req.resourceNamesSubscribe);
    if (!w) {
      w = conn.ensureWatch(typeUrl);
      w.wildcard = subscribed.has('*') || (subscribed.size === 0 && this.hooks.isWildcardType(conn.session, typeUrl));
      const initial = Object.entries(req.initialResourceVersions);
      if (initial.length) w.held = { map: new Map(initial) };
    } else if (req.responseNonce && req.responseNonce === w.nonceSent) {
      w.nonceAcked = req.responseNonce;
      w.lastNack = undefined;
    }
    let changed = false;
    let names: Set<string> | undefined;
    if (w.names.size === 0 && subscribed.size && !subscribed.has('*')) {
      // A first subscription (the usual case): the interned set is the watch's names as it is.
      w.names = subscribed;
      changed = true;
    } else for (const n of subscribed) {
      if (n === '*') {
        if (!w.wildcard) changed = true;
        w.wildcard = true;
      } else if (!(names ?? w.names).has(n)) {
        (names ??= new Set(w.names)).add(n);
        changed = true;
      }
    }
    for (const n of req.resourceNamesUnsubscribe) {
      if (n === '*') {
        w.wildcard = false;
        continue;
      }
      if ((names ?? w.names).has(n)) {
        (names ??= new Set(w.names)).delete(n);
        const held = new Map(heldHashes(w.held));
        held.delete(n);
        w.held = { map: held };
      }
    }
    if (names) w.names = internNames(names);
    if (first || changed) this.enqueue(entry, typeUrl, first);
  }

  private enqueue(entry: Entry<S>, typeUrl: string, force: boolean): void {
    const prev = entry.conn.pending.get(typeUrl);
    entry.conn.pending.set(typeUrl, { force: force || !!prev?.force });
    this.queue.add(entry);
    this.pump();
  }

  private schedule(): void {
    if (this.scheduled || this.queue.size === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private overBudget(): boolean {
    return this.inFlight > 0 && this.inFlight >= this.maxBuffered;
  }

  /**
   * Serves queued connections in order, each type in push order, while the send budget lasts;
   * yields to I/O every `sliceMs` and resumes when writes drain.
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const deadline = performance.now() + this.sliceMs;
    try {
      for (const entry of this.queue) {
        const { conn } = entry;
        if (conn.closed) {
          this.queue.delete(entry);
          continue;
        }
        const types = [...conn.pending.keys()].sort((a, b) => pushRank(a) - pushRank(b));
        for (const typeUrl of types) {
          if (this.overBudget()) return;
          if (performance.now() > deadline) {
            this.schedule();
            return;
          }
          const { force } = conn.pending.get(typeUrl)!;
          conn.pending.delete(typeUrl);
          const w = conn.watch(typeUrl);
          if (!w || (!force && !w.wildcard && w.names.size === 0)) continue;
          try {
            this.respond(entry, w, force);
          } catch (err) {
            this.log.error({ err, conn: conn.id }, 'xDS response failed');
            endWithStatus(entry.stream, internalStatus((err as Error).message));
            conn.pending.clear();
            break;
          }
        }
        this.queue.delete(entry);
        if (conn.pushEventAt !== undefined) {
          this.metrics.convergence.observe((performance.now() - conn.pushEventAt) / 1000);
          conn.pushEventAt = undefined;
        }
      }
    } finally {
      this.pumping = false;
    }
    if (this.queue.size === 0 && this.drainWaiters.length) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Generates the watch's resources and sends what the client does not already hold. */
  private respond(entry: Entry<S>, w: WatchState, force: boolean): void {
    const { conn } = entry;
    const start = performance.now();
    const watch: Watch = w.wildcard
      ? { typeUrl: w.typeUrl, names: [], wildcard: true, namesId: '*' }
      : { typeUrl: w.typeUrl, names: namesList(w.names), wildcard: false, namesId: namesId(w.names) };
    const resources = this.hooks.generate(conn.session, watch);
    const version = this.hooks.version();
    const nonce = randomUUID();
    let bytes: LazyResponse;
    const d = force && !conn.delta ? undefined : diff(w.held, resources);
    if (conn.delta) {
      const removed: string[] = [];
      const kept: [string, string][] = [];
      if (d!.missing.length) {
        const held = heldHashes(w.held);
        for (const n of d!.missing) {
          if (w.wildcard || w.names.has(n)) removed.push(n);
          else kept.push([n, held.get(n)!]);
        }
      }
      // What the client holds from now on: shared with other watches unless it keeps extras.
      w.held = kept.length ? { map: new Map([...resources.map((r): [string, string] => [r.name, contentHash(r.resource)]), ...kept]) } : holding(resources);
      if (!force && changedCount(d!) === 0 && removed.length === 0) return;
      bytes = deltaDiscoveryResponse(w.typeUrl, version, nonce, d!.changed, removed);
    } else if (!force && this.hooks.partialSotw?.(conn.session, w.typeUrl)) {
      w.held = holding(resources);
      if (changedCount(d!) === 0) return;
      bytes = discoveryResponse(w.typeUrl, version, nonce, d!.changed);
    } else {
      const unchanged = !!d && changedCount(d) === 0 && d.missing.length === 0;
      w.held = holding(resources);
      if (unchanged) return;
      bytes = discoveryResponse(w.typeUrl, version, nonce, partsOf(resources));
    }
    w.nonceSent = nonce;
    w.versionSent = version;
    w.sentAt = performance.now();
    const type = metricType(w.typeUrl);
    this.metrics.pushes.inc({ type });
    this.metrics.configSize.observe({ type }, bytes.size);
    this.write(entry, bytes);
    this.metrics.pushTime.observe({ type }, (performance.now() - start) / 1000);
  }

  /** Writes a response; its bytes count against the budget until gRPC has flushed them. */
  private write(entry: Entry<S>, response: LazyResponse): void {
    const { conn, stream } = entry;
    const n = response.size;
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      clearTimeout(timer);
      if (conn.closed) return;
      conn.inFlight -= n;
      this.inFlight -= n;
      this.schedule();
    };
    const timer = setTimeout(release, STALLED_WRITE_MS);
    timer.unref();
    conn.inFlight += n;
    this.inFlight += n;
    // Called once the whole frame is on the socket (not on errors).
    stream.write(response, release);
  }
}
