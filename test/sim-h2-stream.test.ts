// The load simulator's own HTTP/2 client (bench/sim/h2-stream.ts) against a real grpc-js server:
// messages larger than HTTP/2's initial windows go both ways intact and in order (flow control
// on both sides), and a stream the server ends with a status is reported as closed.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { H2GrpcStream } from '../bench/sim/h2-stream.js';
import { grpcFrame, Writer } from '../bench/sim/wire.js';
import { BYTES_PATH, serveBytes } from './support/bytes-stream.js';

/** Splits received bytes into gRPC messages. */
function messages(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos + 5 <= bytes.length; ) {
    const len = bytes.readUInt32BE(pos + 1);
    out.push(bytes.subarray(pos + 5, pos + 5 + len));
    pos += 5 + len;
  }
  return out;
}

/**
 * Opens a stream with receive window `window`, sends through `send`, and collects the gRPC
 * messages coming back until `complete` says they are all there.
 */
function exchange(addr: string, window: number, send: (stream: H2GrpcStream) => void, complete: (ms: Buffer[]) => boolean): Promise<Buffer[]> {
  return new Promise<Buffer[]>((resolve, reject) => {
    let bytes = Buffer.alloc(0);
    const stream = new H2GrpcStream(addr, BYTES_PATH, { window, headers: { te: 'trailers' } }, {
      data: (chunk) => {
        bytes = Buffer.concat([bytes, chunk]);
        const ms = messages(bytes);
        if (complete(ms)) {
          stream.destroy();
          resolve(ms);
        }
      },
      closed: (reason) => reject(new Error(reason)),
    });
    send(stream);
  });
}

describe('load simulator HTTP/2 client (real grpc-js server)', () => {
  it('sends and receives messages larger than the initial windows, intact and in order', async () => {
    const server = await serveBytes((call) => {
      call.on('data', (m: Buffer) => call.write(Buffer.concat([m, m, m])));
    });
    const sent = [Buffer.from('hello'), Buffer.alloc(1 << 20, 3), Buffer.from('after')];
    sent[1]!.write('marker', 70_000);
    try {
      const got = await exchange(
        server.addr,
        256 * 1024,
        (stream) => sent.forEach((m) => stream.write(grpcFrame(m))),
        (ms) => ms.length === sent.length && ms[ms.length - 1]!.length === 3 * sent[sent.length - 1]!.length,
      );
      sent.forEach((m, i) => assert.ok(got[i]!.equals(Buffer.concat([m, m, m])), `message ${i} differs`));
    } finally {
      server.close();
    }
  });

  it('sends a message written in pieces (small fields, a large cached block) as the one message they encode', async () => {
    const server = await serveBytes((call) => {
      call.on('data', (m: Buffer) => call.write(m));
    });
    const block = Buffer.alloc(200_000, 7);
    block.write('middle', 100_000);
    const writers = [0, 1].map((i) => new Writer().string(1, `v${i}`).raw(block).string(4, 'type').string(5, `nonce-${i}`));
    try {
      const got = await exchange(
        server.addr,
        64 * 1024,
        (stream) => writers.forEach((w) => stream.writeAll(w.grpcFrameChunks())),
        (ms) => ms.length === 2 && ms[1]!.length === writers[1]!.length,
      );
      writers.forEach((w, i) => assert.ok(got[i]!.equals(w.finish()), `message ${i} differs`));
    } finally {
      server.close();
    }
  });

  it('reports a stream the server ends with a status', async () => {
    const server = await serveBytes((call) => {
      call.on('data', () => call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'no' }));
    });
    try {
      const reason = await new Promise<string>((resolve) => {
        const stream = new H2GrpcStream(server.addr, BYTES_PATH, { window: 1 << 20, headers: { te: 'trailers' } }, { data: () => undefined, closed: resolve });
        stream.write(grpcFrame(Buffer.from('x')));
      });
      assert.match(reason, /gRPC trailers/);
    } finally {
      server.close();
    }
  });
});
