// Self-framing responses through a real grpc-js server and client: the bytes arrive intact and
// in order, whether the frame comes in one chunk or several, and the server used the message's
// own frame (not grpc-js's copy).
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { installSelfFraming, type SelfFraming } from '../pilot/xds/grpc-frames.js';
import { serveBytes } from './support/bytes-stream.js';

/** Frames its body as the prefix followed by the body cut into `pieces` chunks (shared, not copied). */
class Framed implements SelfFraming {
  framed = 0;
  constructor(
    readonly body: Buffer,
    private readonly pieces = 1,
  ) {}
  grpcFrame(): Buffer[] {
    this.framed++;
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(this.body.length, 1);
    const step = Math.ceil(this.body.length / this.pieces);
    const chunks: Buffer[] = [prefix];
    for (let at = 0; at < this.body.length; at += step) chunks.push(this.body.subarray(at, at + step));
    return chunks;
  }
}

// Would corrupt every message if grpc-js serialized a self-framing one itself.
const responseSerialize = (m: unknown) => (m instanceof Framed ? Buffer.from('serialized by grpc-js') : (m as Buffer));

describe('self-framing gRPC responses', () => {
  it('is installed for the grpc-js this project locks', () => {
    assert.equal(installSelfFraming(), true, 'grpc-js no longer has BaseServerInterceptingCall.serializeMessage: revisit pilot/xds/grpc-frames.ts');
  });

  it('reach a grpc-js client byte for byte, framed by the message; other messages are serialized as usual', async () => {
    installSelfFraming();
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const sent = [new Framed(Buffer.alloc(0)), new Framed(Buffer.from('small')), new Framed(big), new Framed(big, 7), new Framed(Buffer.from('between')), new Framed(big.subarray(1000), 300)];
    const server = await serveBytes(
      (call) => {
        call.on('data', () => {
          for (const m of sent) call.write(m);
          call.write(Buffer.from('plain'));
          call.end();
        });
      },
      { responseSerialize },
    );
    try {
      const got: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        const call = server.call();
        call.on('data', (b: Buffer) => got.push(b));
        call.on('end', resolve);
        call.on('error', reject);
        call.write(Buffer.from('go'));
        call.end();
      });
      assert.equal(got.length, sent.length + 1);
      sent.forEach((m, i) => {
        assert.ok(got[i]!.equals(m.body), `message ${i} differs`);
        assert.equal(m.framed, 1);
      });
      assert.equal(got[sent.length]!.toString(), 'plain');
    } finally {
      server.close();
    }
  });

  it('a frame over grpc.max_send_message_length is refused whole (RESOURCE_EXHAUSTED), never sent in part', async () => {
    installSelfFraming();
    // Its last chunk is small, as a Delta response's trailing fields are: the size grpc-js sees.
    const big = new (class extends Framed {
      override grpcFrame(): Buffer[] {
        const [prefix, ...rest] = super.grpcFrame();
        const body = Buffer.concat(rest);
        return [prefix!, body.subarray(0, body.length - 10), body.subarray(body.length - 10)];
      }
    })(Buffer.alloc(20_000, 1));
    const server = await serveBytes((call) => call.on('data', () => call.write(big)), { serverOptions: { 'grpc.max_send_message_length': 1000 }, responseSerialize });
    try {
      const outcome = await new Promise<{ data: number; code?: number }>((resolve) => {
        let data = 0;
        const call = server.call();
        call.on('data', () => data++);
        call.on('error', (e: grpc.ServiceError) => resolve({ data, code: e.code }));
        call.write(Buffer.from('go'));
      });
      assert.deepEqual(outcome, { data: 0, code: grpc.status.RESOURCE_EXHAUSTED });
    } finally {
      server.close();
    }
  });
});
