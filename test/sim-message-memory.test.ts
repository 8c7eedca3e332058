// The load simulator keeps responses that span reads in pooled blocks (bench/sim/message-memory.ts)
// and pauses readers when too much is held. What it hands back must be exactly the bytes that
// arrived, blocks must be reused rather than allocated again, and a paused reader must always be
// resumed once the responses in progress are given back.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BLOCK_BYTES, MessageMemory } from '../bench/sim/message-memory.js';
import { SimProxy, type ProxySpec } from '../bench/sim/proxy.js';
import { grpcFrame } from '../bench/sim/wire.js';
import { h2Frame, rawServer, recordingProxy } from './support/raw-h2.js';
import { seededRandom } from './support/rng.js';

/** Appends `bytes` to a new message in pieces of random sizes, as reads would bring them. */
function receive(memory: MessageMemory, bytes: Buffer, r: () => number) {
  const m = memory.start(bytes.length);
  for (let pos = 0; pos < bytes.length; ) {
    const piece = 1 + Math.floor(r() * Math.min(bytes.length - pos, 3 * BLOCK_BYTES));
    // The read that ends a message may carry the next one's bytes: they must be left alone.
    const last = pos + piece === bytes.length;
    const read = Buffer.concat([bytes.subarray(pos, pos + piece), last ? randomBytes(7) : Buffer.alloc(0)]);
    const taken = memory.append(m, read, 0, read.length);
    assert.equal(taken, piece);
    pos += piece;
  }
  return m;
}

describe('simulator message memory (bench/sim/message-memory.ts)', () => {
  it('gives back exactly the bytes of a message, whatever its length and however it arrived', () => {
    const r = seededRandom(7);
    const memory = new MessageMemory();
    for (const length of [1, BLOCK_BYTES - 1, BLOCK_BYTES, BLOCK_BYTES + 1, 3 * BLOCK_BYTES + 5, 1_500_000]) {
      const bytes = randomBytes(length);
      const m = receive(memory, bytes, r);
      assert.equal(m.filled, length);
      assert.ok(memory.contents(m).equals(bytes), `length ${length}`);
      memory.release(m);
      assert.equal(memory.lentBytes, 0);
    }
  });

  it('takes no more than the message length from a read', () => {
    const memory = new MessageMemory();
    const m = memory.start(10);
    assert.equal(memory.append(m, Buffer.alloc(25, 1), 5, 25), 10);
    assert.equal(memory.append(m, Buffer.alloc(25, 2), 0, 25), 0);
    assert.ok(memory.contents(m).equals(Buffer.alloc(10, 1)));
  });

  it('reuses blocks and the whole-message buffer instead of allocating again', () => {
    const r = seededRandom(11);
    const memory = new MessageMemory();
    const first = receive(memory, randomBytes(5 * BLOCK_BYTES + 3), r);
    memory.contents(first);
    memory.release(first);
    const allocated = memory.stats.allocatedBytes;
    for (let i = 0; i < 5; i++) {
      const bytes = randomBytes(5 * BLOCK_BYTES + 3 - i * 1000);
      const m = receive(memory, bytes, r);
      assert.ok(memory.contents(m).equals(bytes));
      memory.release(m);
    }
    assert.equal(memory.stats.allocatedBytes, allocated);
  });

  it('pauses readers past the bound and resumes all of them once half of it is back', () => {
    const memory = new MessageMemory({ maxPartialBytes: 2 * BLOCK_BYTES });
    const events: string[] = [];
    const park = (name: string) =>
      memory.parkIfBusy(
        () => events.push(`pause ${name}`),
        () => events.push(`resume ${name}`),
      );

    assert.equal(park('a'), false, 'nothing held: no pause');
    const big = memory.start(4 * BLOCK_BYTES);
    memory.append(big, Buffer.alloc(3 * BLOCK_BYTES), 0, 3 * BLOCK_BYTES);
    assert.equal(park('a'), true);
    assert.equal(park('b'), true);
    assert.deepEqual(events, ['pause a', 'pause b']);

    // A small message completing does not bring the total under half the bound.
    const small = memory.start(10);
    memory.append(small, Buffer.alloc(10), 0, 10);
    memory.release(small);
    assert.deepEqual(events, ['pause a', 'pause b']);

    memory.append(big, Buffer.alloc(BLOCK_BYTES), 0, BLOCK_BYTES);
    memory.release(big);
    assert.deepEqual(events, ['pause a', 'pause b', 'resume a', 'resume b']);
    assert.equal(memory.stats.pauses, 2);
    assert.equal(park('c'), false);
  });

  it('keeps newcomers waiting while earlier readers wait, so those are not overtaken', () => {
    const memory = new MessageMemory({ maxPartialBytes: 4 * BLOCK_BYTES });
    const held = [0, 1, 2, 3, 4].map(() => {
      const m = memory.start(2 * BLOCK_BYTES);
      memory.append(m, Buffer.alloc(BLOCK_BYTES), 0, BLOCK_BYTES);
      return m;
    });
    const events: string[] = [];
    assert.equal(memory.parkIfBusy(() => events.push('pause a'), () => events.push('resume a')), true);
    memory.release(held.shift()!); // 4 blocks held: within the bound, but above half of it
    assert.equal(memory.parkIfBusy(() => events.push('pause b'), () => events.push('resume b')), true);
    for (const m of held) memory.release(m);
    assert.deepEqual(events, ['pause a', 'pause b', 'resume a', 'resume b']);
  });

  it('never leaves a reader paused once every message in progress is given back', () => {
    const r = seededRandom(3);
    for (let round = 0; round < 50; round++) {
      const memory = new MessageMemory({ maxPartialBytes: BLOCK_BYTES * (1 + Math.floor(r() * 4)) });
      const open: ReturnType<MessageMemory['start']>[] = [];
      const paused = new Set<number>();
      for (let step = 0; step < 200; step++) {
        const reader = Math.floor(r() * 20);
        if (r() < 0.5 && !paused.has(reader)) {
          const m = memory.start(1 + Math.floor(r() * 4 * BLOCK_BYTES));
          memory.append(m, Buffer.alloc(m.length), 0, Math.floor(r() * m.length));
          open.push(m);
        } else if (r() < 0.5 && open.length) {
          memory.release(open.splice(Math.floor(r() * open.length), 1)[0]!);
        } else if (!paused.has(reader)) {
          memory.parkIfBusy(
            () => paused.add(reader),
            () => paused.delete(reader),
          );
        }
      }
      for (const m of open) memory.release(m);
      assert.equal(memory.lentBytes, 0, `round ${round}`);
      assert.equal(paused.size, 0, `round ${round}: readers still paused`);
    }
  });
});

describe('simulated proxies pausing for response memory (bench/sim/proxy.ts over real sockets)', function () {
  this.timeout(60_000);

  const spec = (i: number): ProxySpec => ({ id: `sidecar~10.0.0.${i}~p${i}.ns~ns.svc.cluster.local`, kind: 'sidecar', delta: false, namespace: 'ns', labels: { app: 'a' }, ip: `10.0.0.${i}`, targets: [] });

  it('all get every response intact, some pause, and every block comes back', async () => {
    const r = seededRandom(5);
    const N = 12;
    const per = 6;
    const sent = Array.from({ length: N }, () => Array.from({ length: per }, () => randomBytes(3 * BLOCK_BYTES + Math.floor(r() * 5 * BLOCK_BYTES))));
    // A bare HTTP/2 peer: empty SETTINGS, response HEADERS (:status 200), then the gRPC messages
    // in DATA frames, written in small pieces so that responses span many reads at once.
    const server = await rawServer(async (s, index) => {
      const messages = Buffer.concat(sent[index]!.map((m) => grpcFrame(m)));
      const frames = [h2Frame(0x4, 0, 0, Buffer.alloc(0)), h2Frame(0x1, 0x4, 1, Buffer.from([0x88]))];
      for (let pos = 0; pos < messages.length; pos += 16_384) frames.push(h2Frame(0x0, 0, 1, messages.subarray(pos, pos + 16_384)));
      const bytes = Buffer.concat(frames);
      for (let pos = 0; pos < bytes.length && !s.destroyed; pos += 40_000) {
        s.write(bytes.subarray(pos, pos + 40_000));
        await new Promise((res) => setTimeout(res, 2));
      }
    });
    const memory = new MessageMemory({ maxPartialBytes: 6 * BLOCK_BYTES });
    const proxies = Array.from({ length: N }, (_, i) => recordingProxy(spec(i), memory));
    try {
      for (const x of proxies) x.p.start(server.addr);
      for (let i = 0; i < 300 && proxies.some((x) => x.got.length < per); i++) await new Promise((res) => setTimeout(res, 50));
      // Connections are served in the order they are accepted: match each proxy to its list.
      const served = new Set<number>();
      proxies.forEach((x, i) => {
        assert.equal(x.got.length, per, `proxy ${i}: messages`);
        const k = sent.findIndex((list) => list[0]!.equals(x.got[0]!));
        assert.ok(k >= 0 && !served.has(k), `proxy ${i}: first message is one connection's`);
        served.add(k);
        x.got.forEach((m, j) => assert.ok(m.equals(sent[k]![j]!), `proxy ${i} message ${j}`));
      });
      assert.ok(memory.stats.pauses > 0, 'some reader was paused');
      assert.equal(memory.lentBytes, 0);
    } finally {
      for (const x of proxies) x.p.stop();
      server.close();
    }
  });

  it('a proxy that stops, fails or reconnects gives back its half-received response', () => {
    for (const end of ['stop', 'fail', 'connect'] as const) {
      const memory = new MessageMemory();
      const p = new SimProxy(spec(1), memory);
      const px = p as unknown as { stream: unknown; addr: string; onData(b: Buffer): void; fail(m: string): void; connect(): void };
      px.stream = { writeAll: () => {}, destroy: () => {} };
      px.onData(grpcFrame(randomBytes(5 * BLOCK_BYTES)).subarray(0, 3 * BLOCK_BYTES));
      assert.equal(memory.lentBytes, 3 * BLOCK_BYTES);
      if (end === 'stop') p.stop();
      else if (end === 'fail') px.fail('test');
      else {
        px.addr = '127.0.0.1:9'; // the new connection fails later, harmlessly (stopped below)
        px.connect();
      }
      assert.equal(memory.lentBytes, 0, end);
      p.stop();
    }
  });
});
