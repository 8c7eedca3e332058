// The load simulator's proxies read responses from views of ONE reused read buffer (h2-stream.ts)
// and assemble responses spanning reads in pooled blocks (message-memory.ts). Nothing may keep a
// view of either past the call. These tests cut byte streams at random points, copy every piece
// into the same buffer (as the real read path does), overwrite that buffer and every delivered
// message right after use, and check that what the proxies see and send equals what fresh copies
// give.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { create, toBinary } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { ClusterSchema, Cluster_DiscoveryType } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import { ListenerSchema } from '../gen/envoy/config/listener/v3/listener_pb.js';
import { HttpConnectionManagerSchema } from '../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { DeltaDiscoveryResponseSchema, DiscoveryResponseSchema } from '../gen/envoy/service/discovery/v3/discovery_pb.js';
import { nodeBytes, SimProxy, type ProxySpec } from '../bench/sim/proxy.js';
import { TYPE } from '../bench/sim/xds-scan.js';
import { seededRandom } from './support/rng.js';

const rng = seededRandom;

const frame = (m: Uint8Array): Buffer => {
  const p = Buffer.alloc(5);
  p.writeUInt32BE(m.length, 1);
  return Buffer.concat([p, m]);
};

/** Piece sizes from 1 byte (split prefixes) to past a memory block and the read buffer's size. */
function pieceSize(r: () => number): number {
  const k = r();
  if (k < 0.3) return 1 + Math.floor(r() * 9);
  if (k < 0.55) return 1 + Math.floor(r() * 200);
  if (k < 0.85) return 1 + Math.floor(r() * 20_000);
  return 1 + Math.floor(r() * 256 * 1024);
}

const READ = Buffer.allocUnsafeSlow(256 * 1024);

/** Hands `bytes` to `onData` in random pieces, each copied into READ first and overwritten after. */
function* pieces(bytes: Buffer, r: () => number): Generator<() => Buffer> {
  for (let pos = 0; pos < bytes.length; ) {
    const n = Math.min(pieceSize(r), bytes.length - pos, READ.length);
    const at = Math.floor(r() * (READ.length - n + 1));
    const from = pos;
    pos += n;
    yield () => {
      bytes.copy(READ, at, from, from + n);
      return READ.subarray(at, at + n);
    };
  }
}

/** Records a copy of every delivered message, then overwrites the memory it was delivered in. */
function recordDeliveries(p: SimProxy, got: Buffer[], run = true, after?: (index: number, msg: Buffer) => void): void {
  const px = p as any;
  const deliver = px.deliver.bind(p);
  px.deliver = (msg: Buffer) => {
    got.push(Buffer.from(msg));
    if (run) deliver(msg);
    msg.fill(0xa5);
    after?.(got.length - 1, msg);
  };
}

function randomMessage(r: () => number): Buffer {
  const k = r();
  const n = k < 0.15 ? 0 : k < 0.4 ? 1 + Math.floor(r() * 20) : k < 0.65 ? 20_000 + Math.floor(r() * 1000) : k < 0.8 ? 64 * 1024 * (1 + Math.floor(r() * 3)) - Math.floor(r() * 3) : k < 0.93 ? 300_000 : 1_500_000;
  return randomBytes(n);
}

describe('load simulator proxy: responses read from a reused buffer', function () {
  this.timeout(30_000);
  let server: net.Server;
  let addr: string;
  const sockets: net.Socket[] = [];
  before(async () => {
    server = net.createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
      s.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    addr = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });

  const spec = (i: number, kind: 'sidecar' | 'grpc' = 'sidecar', delta = false): ProxySpec => ({ id: `sidecar~10.0.0.${i}~p${i}.ns~ns.svc.cluster.local`, kind, delta, namespace: 'ns', labels: { app: 'a' }, ip: `10.0.0.${i}`, targets: ['svc.ns:80'] });

  it('hands every message over intact, for several proxies reading interleaved, with reconnects mid-message', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const proxies = [0, 1, 2, 3].map((i) => {
        const p = new SimProxy(spec(i));
        p.start(addr); // a real connection to a silent server; data is fed below
        const got: Buffer[] = [];
        recordDeliveries(p, got, false);
        const sent = Array.from({ length: 4 + Math.floor(r() * 12) }, () => randomMessage(r));
        return { p, got, sent, expected: [] as Buffer[], feed: pieces(Buffer.concat(sent.map(frame)), r), reconnected: false, cut: Math.floor(r() * sent.length), stopAfterPieces: 1 + Math.floor(r() * 20) };
      });
      for (const x of proxies) x.expected = x.sent;
      let live = proxies.slice();
      while (live.length) {
        const x = live[Math.floor(r() * live.length)]!;
        const next = x.feed.next();
        if (next.done) {
          live = live.filter((y) => y !== x);
          continue;
        }
        (x.p as any).onData(next.value());
        READ.fill(0x5a);
        // Once per proxy, part way through: the stream breaks and a new one starts over.
        if (!x.reconnected && --x.stopAfterPieces === 0 && (x.p as any).message) {
          x.reconnected = true;
          (x.p as any).stream.destroy();
          (x.p as any).connect();
          const delivered = x.got.length;
          const after = Array.from({ length: 3 }, () => randomMessage(r));
          x.expected = [...x.got.slice(0, delivered), ...after];
          x.sent = after;
          x.feed = pieces(Buffer.concat(after.map(frame)), r);
        }
      }
      for (const [i, x] of proxies.entries()) {
        assert.equal(x.got.length, x.expected.length, `seed ${seed} proxy ${i}: message count`);
        x.expected.forEach((m, j) => assert.ok(x.got[j]!.equals(m), `seed ${seed} proxy ${i}: message ${j} (${m.length} bytes) differs`));
        x.p.stop();
      }
    }
  });

  // Real xDS responses through the real parsing (onSotw/onDelta, KnownLists): the requests a proxy
  // sends must be the same whether it got each response in a fresh buffer or in pieces of a reused one.
  const edsName = (c: number, v: number) => `outbound|${8000 + (c % 7)}||svc-${c}-${v % 2 ? 'x' : 'y'}.ns${c % 13}.svc.cluster.local`;
  type Res = { name: string; any: { typeUrl: string; value: Uint8Array } };
  /** A response of `type` in either protocol, laid out as isthmusd writes it: strings first, then resources (then removed names). */
  const response = (delta: boolean, type: string, v: number, nonce: string, res: Res[], removed: string[] = []): Uint8Array =>
    delta
      ? Buffer.concat([
          toBinary(DeltaDiscoveryResponseSchema, create(DeltaDiscoveryResponseSchema, { systemVersionInfo: `v${v}`, typeUrl: type, nonce })),
          toBinary(DeltaDiscoveryResponseSchema, create(DeltaDiscoveryResponseSchema, { resources: res.map((x) => ({ name: x.name, version: `h${x.name.length}`, resource: x.any })) })),
          toBinary(DeltaDiscoveryResponseSchema, create(DeltaDiscoveryResponseSchema, { removedResources: removed })),
        ])
      : Buffer.concat([toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, { versionInfo: `v${v}`, typeUrl: type, nonce })), toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, { resources: res.map((x) => x.any) }))]);
  const clusters = (r: () => number, n: number, v: number): Res[] =>
    Array.from({ length: n }, (_, c) => {
      const name = c % 5 === 4 && c > n - 20 ? `changed-${v}-${c}` : `outbound|${8000 + (c % 7)}||svc-${c}.ns${c % 13}.svc.cluster.local`;
      const any = anyPack(
        ClusterSchema,
        create(ClusterSchema, {
          name,
          clusterDiscoveryType: { case: 'type', value: c % 9 === 0 ? Cluster_DiscoveryType.STATIC : Cluster_DiscoveryType.EDS },
          edsClusterConfig: c % 3 === 0 ? { serviceName: edsName(c, c > n - 20 ? v : 0) } : undefined,
          altStatName: 'x'.repeat((c * 37) % 300),
        }),
      );
      return { name, any };
    });
  const hcm = (route: string) => ({ name: 'envoy.filters.network.http_connection_manager', configType: { case: 'typedConfig' as const, value: anyPack(HttpConnectionManagerSchema, create(HttpConnectionManagerSchema, { statPrefix: 's', routeSpecifier: { case: 'rds', value: { routeConfigName: route } } })) } });
  const listeners = (n: number, v: number): Res[] =>
    Array.from({ length: n }, (_, i) => ({ name: `l-${i}`, any: anyPack(ListenerSchema, create(ListenerSchema, { name: `l-${i}`, filterChains: [{ filters: [hcm(`route-${i % 50}-${i > n - 5 ? v : 0}`)] }] })) }));
  const endpoints = (r: () => number, bytes: number): Res[] => [{ name: 'e', any: { typeUrl: TYPE.endpoint, value: Buffer.alloc(bytes, Math.floor(r() * 256)) } }];

  /** A proxy whose requests are kept as the pieces it queued (not copied), read only at the end. */
  function stubbed(s: ProxySpec): { p: SimProxy; out: Uint8Array[][] } {
    const p = new SimProxy(s);
    const out: Uint8Array[][] = [];
    const px = p as any;
    px.node = nodeBytes(s);
    px.stream = { writeAll: (chunks: Uint8Array[]) => out.push([...chunks]), destroy: () => {} };
    if (s.kind === 'sidecar') {
      px.subscribe(TYPE.cluster, 'wildcard');
      px.subscribe(TYPE.listener, 'wildcard');
    } else px.subscribe(TYPE.listener, ['svc.ns:80']);
    return { p, out };
  }

  /** EDS names the clusters reference (the service name, else the cluster's name). */
  const edsOf = (res: Res[], n: number, v: number): Map<string, string | undefined> =>
    new Map(res.map((x) => {
      const c = Number(/svc-(\d+)\./.exec(x.name)?.[1] ?? /changed-\d+-(\d+)/.exec(x.name)![1]);
      return [x.name, c % 9 === 0 ? undefined : c % 3 === 0 ? edsName(c, c > n - 20 ? v : 0) : x.name];
    }));
  const sorted = (names: Iterable<string | undefined>) => [...new Set([...names].filter((x): x is string => !!x))].sort();

  for (const delta of [false, true])
    it(`derives the right subscriptions from responses in pieces of a reused buffer (${delta ? 'Delta' : 'SotW'})`, () => {
      for (let seed = 1; seed <= 10; seed++) {
        const r = rng(1000 + seed + (delta ? 100 : 0));
        const responses: { bytes: Uint8Array; type: string; expect?: [string, string[]] }[] = [{ bytes: new Uint8Array(0), type: '' }];
        const heldEds = new Map<string, string | undefined>();
        const heldRds = new Map<string, string[]>();
        for (let v = 1; v <= 5; v++) {
          const n = 300 + Math.floor(r() * 3000);
          const cs = clusters(r, n, v);
          const sent = delta && v > 1 ? cs.slice(cs.length - 30) : cs;
          const removed = delta && v === 3 && n - 20 > 3 ? [cs[3]!.name] : [];
          if (!delta) heldEds.clear();
          for (const name of removed) heldEds.delete(name);
          for (const [k, e] of edsOf(sent, n, v)) heldEds.set(k, e);
          responses.push({ bytes: response(delta, TYPE.cluster, v, `c${v}`, sent, removed), type: TYPE.cluster, expect: [TYPE.endpoint, sorted(heldEds.values())] });
          const ln = 20 + Math.floor(r() * 400);
          if (!delta) heldRds.clear();
          for (let i = 0; i < ln; i++) heldRds.set(`l-${i}`, [`route-${i % 50}-${i > ln - 5 ? v : 0}`]);
          responses.push({ bytes: response(delta, TYPE.listener, v, `l${v}`, listeners(ln, v)), type: TYPE.listener, expect: [TYPE.route, sorted([...heldRds.values()].flat())] });
          responses.push({ bytes: response(delta, TYPE.endpoint, v, `e${v}`, endpoints(r, [3, 20_000, 300_000, 1_500_000][Math.floor(r() * 4)]!)), type: TYPE.endpoint });
          if (r() < 0.3) responses.push({ bytes: new Uint8Array(0), type: '' });
        }
        const stream = Buffer.concat(responses.map((x) => frame(x.bytes)));
        const check = (who: string, p: SimProxy) => (j: number, msg: Buffer) => {
          const want = responses[j]!.expect;
          if (want) assert.deepEqual([...((p as any).subs.get(want[0]) as string[])].sort(), want[1], `seed ${seed} ${who}: subscription after response ${j}`);
          // What a later response of the same type would write into this memory (reused pooled memory, the next read).
          const next = responses.slice(j + 1).find((x) => x.type === responses[j]!.type);
          if (next) Buffer.from(next.bytes.buffer, next.bytes.byteOffset, next.bytes.length).copy(msg, 0, 0, Math.min(msg.length, next.bytes.length));
        };

        // Several proxies take the responses in pieces, interleaved, through one reused buffer.
        const pieced = [1, 2, 3].map(() => ({ ...stubbed(spec(1, 'sidecar', delta)), got: [] as Buffer[], feed: pieces(stream, r) }));
        for (const [i, x] of pieced.entries()) recordDeliveries(x.p, x.got, true, check(`proxy ${i}`, x.p));
        for (let live = pieced.slice(); live.length; ) {
          const x = live[Math.floor(r() * live.length)]!;
          const next = x.feed.next();
          if (next.done) live = live.filter((y) => y !== x);
          else {
            (x.p as any).onData(next.value());
            READ.fill(0x3c);
          }
        }
        // One proxy gets each response whole, in its own buffer that nothing else writes.
        const fresh = stubbed(spec(1, 'sidecar', delta));
        const freshGot: Buffer[] = [];
        recordDeliveries(fresh.p, freshGot, true, (j) => {
          const want = responses[j]!.expect;
          if (want) assert.deepEqual([...((fresh.p as any).subs.get(want[0]) as string[])].sort(), want[1], `seed ${seed} fresh: subscription after response ${j}`);
        });
        for (const m of responses) (fresh.p as any).onData(frame(m.bytes));

        assert.equal(fresh.p.reconnects, 0, `seed ${seed}: ${[...fresh.p.failures.keys()]}`);
        for (const [i, x] of pieced.entries()) {
          assert.equal(x.p.reconnects, 0, `seed ${seed}: ${[...x.p.failures.keys()]}`);
          assert.equal(x.got.length, responses.length);
          responses.forEach((m, j) => assert.ok(x.got[j]!.equals(m.bytes), `seed ${seed} proxy ${i}: response ${j} differs`));
          assert.equal(x.out.length, fresh.out.length, `seed ${seed} proxy ${i}: request count`);
          fresh.out.forEach((req, j) => assert.ok(Buffer.concat(x.out[j]!).equals(Buffer.concat(req)), `seed ${seed} proxy ${i}: request ${j} differs`));
        }
      }
    });
});
