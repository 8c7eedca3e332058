// Requests assembled in pooled memory (pilot/xds/grpc-requests.ts): the decoder must frame
// exactly what grpc-js's own decoder frames, however the bytes are split; a buffer is reused only
// once it was handed back; and through a real grpc-js server large requests arrive intact while
// their memory is reused.
import assert from 'node:assert/strict';
import { StreamDecoder } from '@grpc/grpc-js/build/src/stream-decoder.js';
import { installPooledRequests, PooledStreamDecoder, releaseRequestBuffer } from '../pilot/xds/grpc-requests.js';
import { serveBytes } from './support/bytes-stream.js';

function frame(payload: Buffer, compressed = false): Buffer {
  const head = Buffer.alloc(5);
  head[0] = compressed ? 1 : 0;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** A deterministic pseudo-random generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

function payload(size: number, tag: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + tag) & 0xff;
  return b;
}

describe('pooled request assembly', () => {
  it('frames what grpc-js frames, whatever the chunking', () => {
    const sizes = [0, 1, 100, 4096, 32 * 1024 - 1, 32 * 1024, 70_000, 200_000, 0, 5];
    const stream = Buffer.concat(sizes.map((n, i) => frame(payload(n, i), i % 3 === 0)));
    for (let seed = 1; seed <= 25; seed++) {
      const next = random(seed);
      const theirs = new StreamDecoder(-1);
      const ours = new PooledStreamDecoder(-1);
      const got: Buffer[] = [];
      const want: Buffer[] = [];
      for (let pos = 0; pos < stream.length; ) {
        // Chunks from a single byte to 40 KB, across frame boundaries.
        const n = Math.max(1, Math.floor(next() ** 3 * 40_000));
        const chunk = stream.subarray(pos, pos + n);
        pos += n;
        want.push(...theirs.write(chunk));
        for (const m of ours.write(chunk)) {
          got.push(Buffer.from(m));
          releaseRequestBuffer(m);
        }
      }
      assert.equal(got.length, sizes.length, `seed ${seed}`);
      got.forEach((m, i) => assert.ok(m.equals(want[i]!), `seed ${seed}: message ${i} of ${sizes[i]} bytes`));
    }
  });

  it('refuses a message over the limit as grpc-js does, at its header, and everything after it', () => {
    const big = frame(payload(1000, 1));
    for (const decoder of [new StreamDecoder(999), new PooledStreamDecoder(999)]) {
      assert.throws(() => decoder.write(big.subarray(0, 5)), /Received message larger than max \(1000 vs 999\)/);
      // The rest of the refused message is not read as more messages.
      assert.throws(() => decoder.write(big.subarray(5)), /Received message larger than max/);
    }
  });

  it('leaves very large messages to plain buffers', () => {
    const size = 4 * 1024 * 1024 + 1;
    const [m] = new PooledStreamDecoder(-1).write(frame(Buffer.alloc(size, 7)));
    assert.equal(m!.buffer.byteLength, size + 5, 'a buffer of its own size, not a pooled class');
  });

  it('reuses memory only once it was handed back, and only once', () => {
    const decoder = new PooledStreamDecoder(-1);
    const [first] = decoder.write(frame(payload(50_000, 1)));
    const [second] = decoder.write(frame(payload(50_000, 2)));
    assert.notEqual(second!.buffer, first!.buffer, 'a buffer still held is not lent again');
    releaseRequestBuffer(first!.subarray(5));
    releaseRequestBuffer(first!);
    const [third] = decoder.write(frame(payload(60_000, 3)));
    assert.equal(third!.buffer, first!.buffer, 'the released buffer serves the next message of its size class');
    const [fourth] = decoder.write(frame(payload(60_000, 4)));
    assert.notEqual(fourth!.buffer, first!.buffer, 'released twice, lent once');
    releaseRequestBuffer(Buffer.alloc(50_000));
    const [small] = decoder.write(frame(payload(100, 5)));
    assert.ok(small!.equals(frame(payload(100, 5))), 'small messages are plain buffers');
  });

  it('through a real grpc-js server: large requests arrive intact while their memory is reused', async () => {
    assert.ok(installPooledRequests(), 'the locked grpc-js has the call this wraps');
    const memories = new Set<ArrayBufferLike>();
    const received: Buffer[] = [];
    const count = 20;
    let done!: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    const server = await serveBytes((call) => {
      call.on('data', (b: Buffer) => {
        memories.add(b.buffer);
        received.push(Buffer.from(b));
        // The xDS server hands requests back once read, as here.
        releaseRequestBuffer(b);
        if (received.length === count) done();
      });
      call.on('end', () => call.end());
    });
    try {
      const call = server.call();
      // Closing the server cancels the call; that is not what this test is about.
      call.on('error', () => {});
      const sent = Array.from({ length: count }, (_, i) => payload(150_000 + i, i));
      for (const b of sent) call.write(b);
      await all;
      call.end();
      received.forEach((b, i) => assert.ok(b.equals(sent[i]!), `request ${i} intact`));
      assert.ok(memories.size < count / 2, `memory reused: ${memories.size} buffers for ${count} requests`);
    } finally {
      server.close();
    }
  });
});
