// One simulated proxy: a real ADS client (gRPC over HTTP/2 on its own connection, through the
// simulator's lean HTTP/2 client, h2-stream.ts) that subscribes the way its kind does and ACKs
// every response at once:
// - Envoy sidecar: wildcard CDS and LDS, then EDS for the EDS clusters and RDS for the route
//   configs the listeners name (State-of-the-World or Delta);
// - proxyless gRPC (as @grpc/grpc-js-xds): LDS by target name, then the RDS, CDS and EDS names
//   each answer references (State-of-the-World only, like grpc-js-xds).
// It reads only the fields it needs from the wire and records when each response arrived.
import { create, toBinary, type JsonObject } from '@bufbuild/protobuf';
import { NodeSchema } from '../../gen/envoy/config/core/v3/base_pb.js';
import { H2GrpcStream } from './h2-stream.js';
import { MessageMemory, type PartialMessage } from './message-memory.js';
import { KnownLists, type Prefix, type Reuse } from './same-bytes.js';
import { encodeStrings, Writer } from './wire.js';
import { clusterEdsSpan, deltaResource, internString, listenerRoutes, readDeltaResponse, readSotwResponse, routeClusters, sotwResource, spanString, TYPE, type Span } from './xds-scan.js';

export interface ProxySpec {
  /** Istio node id: `sidecar~IP~POD.NS~NS.svc.cluster.local`. */
  id: string;
  kind: 'sidecar' | 'grpc';
  delta: boolean;
  namespace: string;
  labels: Record<string, string>;
  ip: string;
  /** Proxyless gRPC: the LDS names it subscribes to (`host:port`, as the channel target names them). */
  targets: string[];
}

export interface PhaseStats {
  responses: number;
  bytes: number;
  /** Epoch ms of the first response of the phase, and of the ACK of its last one. */
  firstAt: number;
  lastAckAt: number;
  byType: Record<string, number>;
}

const SOTW_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const DELTA_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';
/** Envoy's default HTTP/2 windows are 256 MiB; 64 MiB is plenty for one response in flight. */
const WINDOW = 64 << 20;

const MAX_RECONNECTS = 5;

export const now = (): number => performance.timeOrigin + performance.now();

const SHORT: Record<string, string> = { [TYPE.listener]: 'lds', [TYPE.route]: 'rds', [TYPE.cluster]: 'cds', [TYPE.endpoint]: 'eds' };

/** Subscriptions are interned per worker, so thousands of proxies with the same names share one list and its encoding. */
const interned = new Map<string, string[]>();
/** The names one resource makes a proxy ask for: a cluster's EDS name, a listener's RDS names, a route's clusters. */
type Refs = string | string[] | undefined;

/** What each resource of a SotW response references, reused across proxies receiving the same resources. */
const sotwRefs = new KnownLists<Refs>();
/** Delta: each resource's name and what it references. */
const deltaRefs = new KnownLists<[string, Refs]>();

/** Every name the resources reference, as one interned subscription. */
function referencedNames(refs: Iterable<Refs>): string[] {
  const all = new Set<string>();
  for (const r of refs) {
    if (typeof r === 'string') all.add(r);
    else if (r) for (const n of r) all.add(n);
  }
  return intern(all);
}

/** The subscription a response's references make; the reused leading part's is computed once per worker. */
function subscription<V>(r: Reuse<V>, refsOf: (v: V) => Refs): string[] {
  const rest = r.values.slice(r.reused).map(refsOf);
  const known = r.known;
  if (!known || rest.some((x) => x !== undefined && x.length > 0)) return referencedNames(r.values.map(refsOf));
  return known.byPrefix(r.reused, () => referencedNames(known.values.slice(0, r.reused).map(refsOf)));
}

const FOLLOW: Record<string, string> = { [TYPE.cluster]: TYPE.endpoint, [TYPE.listener]: TYPE.route, [TYPE.route]: TYPE.cluster };

const encodedNames = new WeakMap<string[], Buffer>();

function intern(names: Iterable<string>): string[] {
  const sorted = [...names].map(internString).sort();
  const key = sorted.join('\n');
  let list = interned.get(key);
  if (!list) interned.set(key, (list = sorted));
  return list;
}

function namesBlock(field: number, names: string[]): Buffer {
  let b = encodedNames.get(names);
  if (!b) encodedNames.set(names, (b = encodeStrings(field, names)));
  return b;
}

/** Far larger than any response of the meshes the bench builds: a length past it is a broken stream. */
const MAX_RESPONSE_BYTES = 1 << 30;
/** Pooled memory for responses that span reads, shared by the worker's proxies (message-memory.ts). */
const workerMessages = new MessageMemory();

/** What the worker's response memory cost so far (see MessageMemory.stats). */
export function messageMemoryStats(): MessageMemory['stats'] {
  return { ...workerMessages.stats };
}

function emptyPhase(): PhaseStats {
  return { responses: 0, bytes: 0, firstAt: 0, lastAckAt: 0, byType: {} };
}

export function nodeBytes(spec: ProxySpec): Uint8Array {
  const metadata: JsonObject =
    spec.kind === 'grpc'
      ? { GENERATOR: 'grpc', NAMESPACE: spec.namespace, INSTANCE_IPS: spec.ip }
      : {
          NAMESPACE: spec.namespace,
          LABELS: spec.labels,
          ISTIO_VERSION: '1.24.0',
          INSTANCE_IPS: spec.ip,
          CLUSTER_ID: 'Kubernetes',
          SERVICE_ACCOUNT: 'default',
          WORKLOAD_NAME: spec.labels.app ?? '',
        };
  return toBinary(NodeSchema, create(NodeSchema, { id: spec.id, cluster: `${spec.labels.app ?? 'client'}.${spec.namespace}`, metadata, locality: {}, userAgentName: spec.kind === 'grpc' ? 'gRPC Node' : 'envoy' }));
}

export class SimProxy {
  readyAt = 0;
  error?: string;
  /** Streams that failed and were re-established (as Envoy does, after a short backoff). */
  reconnects = 0;
  phase = emptyPhase();
  totalResponses = 0;
  totalBytes = 0;

  /** Why the stream failed, per reconnect (first words of the error: reasons repeat). */
  readonly failures = new Map<string, number>();
  private addr?: string;
  private failing = false;
  private stream?: H2GrpcStream;
  private node?: Uint8Array;
  private stopped = false;
  /** The response being received: its 5-byte gRPC prefix so far, then its bytes in pooled blocks. */
  private readonly prefix = Buffer.alloc(5);
  private prefixBytes = 0;
  private message?: PartialMessage;
  /** Reading paused until the worker's half-received responses are complete (see `parkIfBusy`). */
  private parked = false;
  /** Type → subscribed names; absent: not subscribed; `wildcard`: everything. */
  private readonly subs = new Map<string, string[] | 'wildcard'>();
  private readonly pending = new Set<string>();
  private readonly answered = new Set<string>();
  /** SotW: version and nonce of the last response per type (sent back with ACKs and subscription changes). */
  private readonly last = new Map<string, { version: string; nonce: string }>();
  /** Delta: what each held resource references (cluster → EDS name, listener → RDS names). */
  private readonly held = new Map<string, Map<string, Refs>>();

  constructor(
    readonly spec: ProxySpec,
    /** Where responses spanning reads are kept: the worker's, shared by its proxies. */
    private readonly messages: MessageMemory = workerMessages,
  ) {}

  start(addr: string): void {
    this.addr = addr;
    this.connect();
  }

  private connect(): void {
    const addr = this.addr!;
    this.node = nodeBytes(this.spec);
    this.dropMessage();
    this.parked = false;
    this.subs.clear();
    this.pending.clear();
    this.answered.clear();
    this.last.clear();
    this.held.clear();
    const stream: H2GrpcStream = new H2GrpcStream(addr, this.spec.delta ? DELTA_PATH : SOTW_PATH, { window: WINDOW, headers: { te: 'trailers', 'user-agent': 'isthmus-bench' } }, {
      data: (chunk) => stream === this.stream && this.onData(chunk),
      readDone: () => stream === this.stream && this.parkIfBusy(),
      closed: (reason) => stream === this.stream && this.fail(reason),
    });
    this.stream = stream;
    if (this.spec.kind === 'sidecar') {
      // Envoy asks for clusters first, then listeners.
      this.subscribe(TYPE.cluster, 'wildcard');
      this.subscribe(TYPE.listener, 'wildcard');
    } else {
      this.subscribe(TYPE.listener, intern(this.spec.targets));
    }
  }

  stop(): void {
    this.stopped = true;
    this.stream?.destroy();
    this.dropMessage();
  }

  /** Gives back a half-received response at once: readers paused for memory wait on it. */
  private dropMessage(): void {
    if (this.message) this.messages.release(this.message);
    this.message = undefined;
    this.prefixBytes = 0;
  }

  resetPhase(): void {
    this.phase = emptyPhase();
  }

  /** Envoy retries a failed ADS stream with backoff; after `MAX_RECONNECTS` the proxy counts as failed. */
  private fail(message: string): void {
    if (this.stopped || this.error || this.failing) return;
    this.failing = true;
    this.stream?.destroy();
    this.dropMessage();
    if (this.reconnects >= MAX_RECONNECTS) {
      this.error = message;
      return;
    }
    this.reconnects++;
    const reason = message.replace(/[0-9]+/g, 'N').slice(0, 80);
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
    setTimeout(() => {
      this.failing = false;
      if (!this.stopped) this.connect();
    }, 200 + Math.random() * 800);
  }

  /** Response bytes as they arrive: `chunk` is valid only during this call (h2-stream.ts). */
  private onData(chunk: Buffer): void {
    if (this.failing) return;
    let pos = 0;
    while (pos < chunk.length) {
      let m = this.message;
      if (!m) {
        while (this.prefixBytes < 5 && pos < chunk.length) this.prefix[this.prefixBytes++] = chunk[pos++]!;
        if (this.prefixBytes < 5) return;
        const length = this.prefix.readUInt32BE(1);
        if (chunk.length - pos >= length) {
          // Whole in this read: read in place.
          this.prefixBytes = 0;
          this.deliver(chunk.subarray(pos, pos + length));
          if (this.failing) return; // the stream is gone: the rest of this read is not its
          pos += length;
          continue;
        }
        if (length > MAX_RESPONSE_BYTES) return this.fail(`bad response: a message of ${length} bytes`);
        m = this.message = this.messages.start(length);
      }
      pos += this.messages.append(m, chunk, pos, chunk.length);
      if (m.filled < m.length) return;
      this.message = undefined;
      this.prefixBytes = 0;
      try {
        this.deliver(this.messages.contents(m));
      } finally {
        this.messages.release(m);
      }
      if (this.failing) return;
    }
  }

  /**
   * After a read: with too much of the worker's memory in half-received responses, a proxy that
   * has none stops reading until they are complete.
   */
  private parkIfBusy(): void {
    const stream = this.stream;
    if (!stream || this.parked || this.failing || this.message || this.prefixBytes) return;
    this.parked = this.messages.parkIfBusy(
      () => stream.pause(),
      () => {
        if (stream !== this.stream) return; // replaced: its successor was never paused
        this.parked = false;
        stream.resume();
      },
    );
  }

  private deliver(msg: Buffer): void {
    try {
      this.onMessage(msg);
    } catch (err) {
      this.fail(`bad response: ${(err as Error).message}`);
    }
  }

  private onMessage(buf: Buffer): void {
    const at = now();
    const typeUrl = this.spec.delta ? this.onDelta(buf) : this.onSotw(buf);
    this.pending.delete(typeUrl);
    this.answered.add(typeUrl);
    const ackAt = now();
    this.totalResponses++;
    this.totalBytes += buf.length;
    const p = this.phase;
    p.responses++;
    p.bytes += buf.length;
    if (!p.firstAt) p.firstAt = at;
    p.lastAckAt = ackAt;
    const short = SHORT[typeUrl] ?? typeUrl;
    p.byType[short] = (p.byType[short] ?? 0) + 1;
    if (!this.readyAt && this.pending.size === 0 && this.answered.has(TYPE.listener) && (this.spec.kind === 'grpc' || this.answered.has(TYPE.cluster))) this.readyAt = ackAt;
  }

  /** Whether a response of this type makes the proxy subscribe to something (so its resources must be read). */
  private derives(typeUrl: string): boolean {
    return typeUrl === TYPE.cluster || typeUrl === TYPE.listener || (typeUrl === TYPE.route && this.spec.kind === 'grpc');
  }

  private onSotw(buf: Buffer): string {
    let prefix: Prefix<Refs> | undefined;
    const env = readSotwResponse(buf, {
      wants: (t) => this.derives(t),
      skip: (start, t) => (prefix = sotwRefs.prefix(t, buf, start))?.end ?? start,
    });
    this.last.set(env.typeUrl, { version: env.version, nonce: env.nonce });
    if (this.derives(env.typeUrl)) {
      const r = sotwRefs.values(env.typeUrl, buf, prefix, env.resources, (field) => this.refsOf(env.typeUrl, buf, sotwResource(buf, field)));
      this.subscribe(FOLLOW[env.typeUrl]!, subscription(r, (v) => v));
    }
    this.send(env.typeUrl, this.subs.get(env.typeUrl), env.version, env.nonce);
    return env.typeUrl;
  }

  private onDelta(buf: Buffer): string {
    let prefix: Prefix<[string, Refs]> | undefined;
    const env = readDeltaResponse(buf, {
      wants: (t) => this.derives(t),
      skip: (start, t) => (prefix = deltaRefs.prefix(t, buf, start))?.end ?? start,
    });
    if (this.derives(env.typeUrl)) {
      const r = deltaRefs.values(env.typeUrl, buf, prefix, env.resources, (field): [string, Refs] => {
        const res = deltaResource(buf, field);
        const name = spanString(buf, res.name);
        return [name, res.value ? this.refsOf(env.typeUrl, buf, res.value, { span: res.name, value: name }) : undefined];
      });
      const held = this.held.get(env.typeUrl);
      let names: string[];
      if (!held?.size && !env.removed.length) {
        this.held.set(env.typeUrl, new Map(r.values));
        names = subscription(r, (v) => v[1]);
      } else {
        const map = held ?? new Map<string, Refs>();
        this.held.set(env.typeUrl, map);
        for (const name of env.removed) map.delete(name);
        for (const [name, refs] of r.values) map.set(name, refs);
        names = referencedNames(map.values());
      }
      this.subscribe(FOLLOW[env.typeUrl]!, names);
    }
    this.sendDelta(env.typeUrl, [], [], env.nonce);
    return env.typeUrl;
  }

  /** What one packed resource references (`name`: a Delta resource's name, Istio's usual EDS name). */
  private refsOf(typeUrl: string, buf: Buffer, value: Span, name?: { span: Span; value: string }): Refs {
    if (typeUrl === TYPE.cluster) {
      const eds = clusterEdsSpan(buf, value);
      return eds && spanString(buf, eds, name);
    }
    if (typeUrl === TYPE.listener) return [...listenerRoutes(buf, value)];
    if (typeUrl === TYPE.route) return [...routeClusters(buf, value)];
    return undefined;
  }

  private subscribe(typeUrl: string, names: string[] | 'wildcard'): void {
    const prev = this.subs.get(typeUrl);
    if (prev === names) return; // interned: same list
    if (names !== 'wildcard' && names.length === 0 && prev === undefined) return;
    this.subs.set(typeUrl, names);
    if (this.spec.delta) {
      const before = prev === undefined || prev === 'wildcard' ? [] : prev;
      const after = names === 'wildcard' ? [] : names;
      const had = new Set(before);
      const has = new Set(after);
      // A first subscription is the whole interned list, whose encoding is shared.
      const sub = before.length ? after.filter((n) => !had.has(n)) : after;
      const unsub = before.filter((n) => !has.has(n));
      if (prev !== undefined && sub.length === 0 && unsub.length === 0) return;
      if (prev === undefined || sub.length) this.pending.add(typeUrl);
      this.sendDelta(typeUrl, sub, unsub, undefined);
    } else {
      const last = this.last.get(typeUrl);
      if (names === 'wildcard' || names.length) this.pending.add(typeUrl);
      this.send(typeUrl, names, last?.version, last?.nonce);
    }
  }

  private send(typeUrl: string, names: string[] | 'wildcard' | undefined, version?: string, nonce?: string): void {
    const w = new Writer();
    if (version) w.string(1, version);
    if (this.node) {
      w.bytes(2, this.node);
      this.node = undefined;
    }
    if (Array.isArray(names) && names.length) w.raw(namesBlock(3, names));
    w.string(4, typeUrl);
    if (nonce) w.string(5, nonce);
    this.write(w);
  }

  private sendDelta(typeUrl: string, subscribe: string[], unsubscribe: string[], nonce: string | undefined): void {
    const w = new Writer();
    if (this.node) {
      w.bytes(1, this.node);
      this.node = undefined;
    }
    w.string(2, typeUrl);
    if (encodedNames.has(subscribe) || subscribe.length > 64) w.raw(namesBlock(3, subscribe));
    else for (const n of subscribe) w.string(3, n);
    for (const n of unsubscribe) w.string(4, n);
    if (nonce) w.string(6, nonce);
    this.write(w);
  }

  private write(message: Writer): void {
    if (this.stopped || !this.stream) return;
    this.stream.writeAll(message.grpcFrameChunks());
  }
}
