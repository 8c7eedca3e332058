// The simulator's HTTP/2 client reads every socket into one reused buffer and hands DATA payloads
// over as views of it; its proxies assemble responses spanning reads in pooled memory. Against a
// real grpc-js server, and against a raw HTTP/2 server cutting frames anywhere (frame headers and
// gRPC prefixes split across TCP writes, padded DATA, frames of other streams, PINGs), every
// message must come out exactly as sent, with the read buffer and the messages overwritten after use.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { H2GrpcStream } from '../bench/sim/h2-stream.js';
import { SimProxy, type ProxySpec } from '../bench/sim/proxy.js';
import { grpcFrame } from '../bench/sim/wire.js';
import { BYTES_PATH, serveBytes } from './support/bytes-stream.js';
import { h2Frame, rawServer as listenRaw, recordingProxy as recording } from './support/raw-h2.js';
import { seededRandom } from './support/rng.js';

const rng = seededRandom;

const SIZES = [0, 0, 1, 3, 5, 17, 20_000, 65_531, 65_536, 65_541, 300_000, 1_500_000];

function messages(r: () => number, n: number): Buffer[] {
  return Array.from({ length: n }, () => randomBytes(SIZES[Math.floor(r() * SIZES.length)]!));
}

const spec: ProxySpec = { id: 'sidecar~10.0.0.1~p.ns~ns.svc.cluster.local', kind: 'sidecar', delta: false, namespace: 'ns', labels: { app: 'a' }, ip: '10.0.0.1', targets: [] };

const recordingProxy = () => recording(spec);

/** Feeds a stream's DATA into `p` (as SimProxy.connect wires it), overwriting each chunk after. */
function readInto(p: SimProxy, addr: string, done: () => boolean, resolve: () => void, reject: (e: Error) => void): H2GrpcStream {
  const stream = new H2GrpcStream(addr, BYTES_PATH, { window: 64 << 20, headers: { te: 'trailers' } }, {
    data: (chunk) => {
      (p as any).onData(chunk);
      chunk.fill(0x3c);
      if (done()) {
        stream.destroy();
        resolve();
      }
    },
    closed: (reason) => reject(new Error(reason)),
  });
  (p as any).fail = (reason: string) => {
    stream.destroy();
    reject(new Error(reason));
  };
  return stream;
}

function assertSame(got: Buffer[], sent: Buffer[], what: string): void {
  assert.equal(got.length, sent.length, `${what}: message count`);
  sent.forEach((m, i) => assert.ok(got[i]!.equals(m), `${what}: message ${i} (${m.length} bytes) differs`));
}

describe('load simulator reads: one reused read buffer, pooled messages', function () {
  this.timeout(30_000);
  it('receives mixed-size messages from a grpc-js server intact, two streams at once', async () => {
    const r = rng(7);
    const batches = [messages(r, 40), messages(r, 40)];
    let call = 0;
    const server = await serveBytes((c) => {
      const mine = batches[call++ % 2]!;
      c.once('data', () => mine.forEach((m) => c.write(m)));
    });
    try {
      await Promise.all(
        batches.map(
          (sent) =>
            new Promise<void>((resolve, reject) => {
              const { p, got } = recordingProxy();
              const stream = readInto(p, server.addr, () => got.length >= sent.length, () => {
                try {
                  assertSame(got, sent, 'grpc-js');
                  resolve();
                } catch (e) {
                  reject(e as Error);
                }
              }, reject);
              stream.write(grpcFrame(Buffer.from('go')));
            }),
        ),
      );
    } finally {
      server.close();
    }
  });

  /** HTTP/2 frames a raw server sends: the messages' bytes in DATA frames of random sizes, padded or not, among other frames. */
  function frames(r: () => number, bytes: Buffer): Buffer[] {
    const f = h2Frame;
    const out = [f(0x4, 0, 0, Buffer.alloc(0)), f(0x1, 0x4, 1, Buffer.from([0x88]))];
    for (let pos = 0; pos < bytes.length; ) {
      const k = r();
      if (k < 0.05) out.push(f(0x6, 0, 0, randomBytes(8))); // PING
      else if (k < 0.1) out.push(f(0x0, 0, 3, randomBytes(Math.floor(r() * 3000)))); // DATA of another stream
      else if (k < 0.13) out.push(f(0x0, 0, 1, Buffer.alloc(0))); // empty DATA
      else if (k < 0.15) out.push(f(0x2, 0, 1, randomBytes(5))); // PRIORITY
      else if (k < 0.17) out.push(f(0x8, 0, 0, Buffer.from([0, 0, 1, 0]))); // WINDOW_UPDATE
      const n = Math.min(bytes.length - pos, r() < 0.3 ? 1 + Math.floor(r() * 10) : 1 + Math.floor(r() * 40_000));
      const data = bytes.subarray(pos, pos + n);
      pos += n;
      if (r() < 0.4) {
        const pad = Math.floor(r() * 256);
        out.push(f(0x0, 0x8, 1, Buffer.concat([Buffer.from([pad]), data, randomBytes(pad)])));
      } else out.push(f(0x0, 0, 1, Buffer.from(data)));
    }
    return out;
  }

  /** A raw HTTP/2 server: each connection gets the next of `plans`, written in random pieces with pauses between some. */
  function rawServer(r: () => number, plans: { bytes: Buffer; thenClose: boolean }[]): Promise<{ addr: string; close(): void }> {
    return listenRaw(async (s, index) => {
      const plan = plans[index];
      if (!plan) return;
      // Cut inside a third of the frame headers, and anywhere else now and then; the client reads between writes.
      const fs = frames(r, plan.bytes);
      const cuts: number[] = [];
      let at = 0;
      for (const fr of fs) {
        if (r() < 0.3) cuts.push(at + 1 + Math.floor(r() * 8));
        if (r() < 0.3) cuts.push(at + Math.floor(r() * fr.length));
        at += fr.length;
      }
      cuts.push(at);
      const all = Buffer.concat(fs);
      let pos = 0;
      for (const cut of cuts.sort((a, b) => a - b)) {
        if (s.destroyed) break;
        if (cut <= pos) continue;
        const ok = s.write(all.subarray(pos, cut));
        pos = cut;
        await new Promise((res) => (ok ? setImmediate(res) : s.once('drain', res)));
      }
      if (plan.thenClose) s.destroy();
    });
  }

  for (let seed = 1; seed <= 6; seed++)
    it(`receives messages cut anywhere by a raw HTTP/2 server (padding, other frames, split headers), seed ${seed}`, async () => {
      const r = rng(100 + seed);
      const sent = messages(r, 30);
      const server = await rawServer(r, [{ bytes: Buffer.concat(sent.map((m) => grpcFrame(m))), thenClose: false }]);
      try {
        const { p, got } = recordingProxy();
        await new Promise<void>((resolve, reject) => void readInto(p, server.addr, () => got.length >= sent.length, resolve, reject));
        assertSame(got, sent, `seed ${seed}`);
      } finally {
        server.close();
      }
    });

  it('starts over after a connection breaks mid-message (SimProxy.connect)', async () => {
    const r = rng(9);
    const first = messages(r, 6);
    first[5] = randomBytes(1_500_000);
    const second = messages(r, 10);
    const firstBytes = Buffer.concat(first.map((m) => grpcFrame(m)));
    // The first connection ends 700 KB into its last message, the second sends whole messages.
    const server = await rawServer(r, [
      { bytes: firstBytes.subarray(0, firstBytes.length - 800_000), thenClose: true },
      { bytes: Buffer.concat(second.map((m) => grpcFrame(m))), thenClose: false },
    ]);
    const { p, got } = recordingProxy();
    try {
      p.start(server.addr);
      const expected = [...first.slice(0, 5), ...second];
      for (let i = 0; i < 100 && got.length < expected.length; i++) await new Promise((res) => setTimeout(res, 50));
      assert.equal(p.reconnects, 1);
      assertSame(got, expected, 'reconnect');
    } finally {
      p.stop();
      server.close();
    }
  });
});
