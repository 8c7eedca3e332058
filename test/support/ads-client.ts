// A minimal ADS client speaking both SotW and Delta with Envoy-style node metadata, for
// protocol tests that grpc-js-xds cannot do (Delta, wildcard CDS/LDS, explicit NACKs).
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type JsonObject } from '@bufbuild/protobuf';
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import { NodeSchema, type Node } from '../../gen/envoy/config/core/v3/base_pb.js';

const SOTW = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const DELTA = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

export function sidecarNode(opts: { ip?: string; pod?: string; namespace?: string; metadata?: JsonObject } = {}): Node {
  const ns = opts.namespace ?? 'default';
  return create(NodeSchema, {
    id: `sidecar~${opts.ip ?? '10.1.0.99'}~${opts.pod ?? 'tester'}.${ns}~${ns}.svc.cluster.local`,
    metadata: { NAMESPACE: ns, ISTIO_VERSION: '1.31.0', ...(opts.metadata ?? {}) },
  });
}

/** Buffers responses and lets a test await the next one. */
class Inbox<T> {
  private items: T[] = [];
  private waiters: ((v: T) => void)[] = [];
  push(v: T): void {
    const w = this.waiters.shift();
    if (w) w(v);
    else this.items.push(v);
  }
  next(what = 'an xDS response', timeoutMs = 10000): Promise<T> {
    const item = this.items.shift();
    if (item) return Promise.resolve(item);
    return new Promise((resolve, reject) => {
      const waiter = (v: T) => {
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
  /** True if nothing arrives within `ms`. */
  async quiet(ms: number): Promise<boolean> {
    if (this.items.length) return false;
    try {
      await this.next('anything', ms).then((v) => this.items.unshift(v));
      return false;
    } catch {
      return true;
    }
  }
}

/** How to reach the server: plaintext by default, or TLS with a bearer token (the 15012 port). */
export interface AdsConnection {
  credentials?: grpc.ChannelCredentials;
  metadata?: grpc.Metadata;
  options?: grpc.ChannelOptions;
}

/** One ADS stream: the node goes on the first request only, as Envoy sends it. */
class AdsStream<Req extends { $typeName: string }, Res> {
  readonly responses = new Inbox<Res>();
  /** The status the stream ended with, when the server ends it. */
  readonly ended: Promise<grpc.StatusObject>;
  private readonly client: grpc.Client;
  private readonly stream: grpc.ClientDuplexStream<Req, Res>;
  private first = true;

  constructor(
    addr: string,
    private readonly node: Node,
    method: string,
    private readonly reqSchema: typeof DiscoveryRequestSchema | typeof DeltaDiscoveryRequestSchema,
    resSchema: typeof DiscoveryResponseSchema | typeof DeltaDiscoveryResponseSchema,
    connection: AdsConnection = {},
  ) {
    this.client = new grpc.Client(addr, connection.credentials ?? grpc.credentials.createInsecure(), connection.options);
    this.stream = this.client.makeBidiStreamRequest(
      method,
      (m: Req) => Buffer.from(toBinary(reqSchema as typeof DiscoveryRequestSchema, m as unknown as DiscoveryRequest)),
      (b: Buffer) => fromBinary(resSchema, b) as Res,
      connection.metadata ?? new grpc.Metadata(),
    );
    this.stream.on('data', (r: Res) => this.responses.push(r));
    this.stream.on('error', () => {});
    this.ended = new Promise((resolve) => this.stream.on('status', resolve));
  }

  send(req: Partial<Omit<Req, '$typeName'>>): void {
    const msg = create(this.reqSchema as typeof DiscoveryRequestSchema, { ...req, node: this.first ? this.node : undefined } as never);
    this.first = false;
    this.stream.write(msg as unknown as Req);
  }

  close(): void {
    this.stream.end();
    this.client.close();
  }
}

export class SotwClient extends AdsStream<DiscoveryRequest, DiscoveryResponse> {
  constructor(addr: string, node: Node, connection?: AdsConnection) {
    super(addr, node, SOTW, DiscoveryRequestSchema, DiscoveryResponseSchema, connection);
  }
}

export class DeltaClient extends AdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
  constructor(addr: string, node: Node) {
    super(addr, node, DELTA, DeltaDiscoveryRequestSchema, DeltaDiscoveryResponseSchema);
  }
}
