// Self-framing responses through a real grpc-js server and client: the bytes arrive intact, the
// server used the message's own frame (not grpc-js's copy), and frame buffers are pooled.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { FramePool, installSelfFraming, type SelfFraming } from '../pilot/xds/grpc-frames.js';

class Framed implements SelfFraming {
  framed = 0;
  constructor(readonly body: Buffer) {}
  grpcFrame(): Buffer {
    this.framed++;
    const frame = Buffer.allocUnsafe(this.body.length + 5);
    frame[0] = 0;
    frame.writeUInt32BE(this.body.length, 1);
    this.body.copy(frame, 5);
    return frame;
  }
}

const method = {
  path: '/test.Echo/Stream',
  requestStream: true,
  responseStream: true,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  // Would corrupt every message if grpc-js serialized a self-framing one itself.
  responseSerialize: (m: unknown) => (m instanceof Framed ? Buffer.from('serialized by grpc-js') : (m as Buffer)),
  responseDeserialize: (b: Buffer) => b,
};

describe('self-framing gRPC responses', () => {
  it('is installed for the grpc-js this project locks', () => {
    assert.equal(installSelfFraming(), true, 'grpc-js no longer has BaseServerInterceptingCall.serializeMessage: revisit pilot/xds/grpc-frames.ts');
  });

  it('reach a grpc-js client byte for byte, framed by the message; other messages are serialized as usual', async () => {
    installSelfFraming();
    const server = new grpc.Server();
    const sent = [new Framed(Buffer.alloc(0)), new Framed(Buffer.from('small')), new Framed(Buffer.alloc(3 << 20, 7))];
    server.addService({ Stream: method } as grpc.ServiceDefinition, {
      Stream: (call: grpc.ServerDuplexStream<Buffer, unknown>) => {
        call.on('data', () => {
          for (const m of sent) call.write(m);
          call.write(Buffer.from('plain'));
          call.end();
        });
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    const Client = grpc.makeGenericClientConstructor({ Stream: method } as grpc.ServiceDefinition, 'Echo');
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Stream(): grpc.ClientDuplexStream<Buffer, Buffer> };
    try {
      const got: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        const call = client.Stream();
        call.on('data', (b: Buffer) => got.push(b));
        call.on('end', resolve);
        call.on('error', reject);
        call.write(Buffer.from('go'));
        call.end();
      });
      assert.equal(got.length, 4);
      sent.forEach((m, i) => {
        assert.ok(got[i]!.equals(m.body), `message ${i} differs`);
        assert.equal(m.framed, 1);
      });
      assert.equal(got[3]!.toString(), 'plain');
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});

describe('frame pool', () => {
  it('hands back exact lengths and reuses a returned buffer of the same size class', () => {
    const pool = new FramePool(1 << 20, 256 << 10);
    const a = pool.take(5000);
    assert.equal(a.length, 5000);
    a[0] = 42;
    pool.give(a);
    assert.equal(pool.pooledBytes, 5120, 'sizes go in eighths of a power of two');
    assert.notEqual(pool.take(6000).buffer, a.buffer, 'another size class');
    const b = pool.take(4500);
    assert.equal(b.length, 4500);
    assert.equal(b.buffer, a.buffer, 'same memory');
    assert.equal(pool.pooledBytes, 0);
    assert.notEqual(pool.take(4500).buffer, a.buffer, 'a buffer in use is not handed out twice');
  });

  it('keeps at most its cap idle and never pools frames above the largest class', () => {
    const pool = new FramePool(100 << 10, 64 << 10);
    for (let i = 0; i < 4; i++) pool.give(pool.take(40 << 10));
    const many = Array.from({ length: 4 }, () => pool.take(40 << 10));
    for (const m of many) pool.give(m);
    assert.equal(pool.pooledBytes, 80 << 10, 'two 40 KiB buffers fit under 100 KiB, a third does not');
    const big = pool.take(1 << 20);
    assert.equal(big.length, 1 << 20);
    pool.give(big);
    assert.equal(pool.pooledBytes, 80 << 10);
  });
});
