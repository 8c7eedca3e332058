// A bidirectional streaming gRPC method of raw bytes, served by a real grpc-js server on
// loopback: for tests of what goes over the wire underneath messages (framing, HTTP/2 clients).
import * as grpc from '@grpc/grpc-js';

const method = (responseSerialize: (m: unknown) => Buffer) => ({
  path: '/test.Echo/Stream',
  requestStream: true,
  responseStream: true,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize,
  responseDeserialize: (b: Buffer) => b,
});

export const BYTES_PATH = method((m) => m as Buffer).path;

export interface BytesServer {
  addr: string;
  /** A client call on the method (closed with the server). */
  call(): grpc.ClientDuplexStream<Buffer, Buffer>;
  close(): void;
}

/** Serves `handler` on 127.0.0.1; `responseSerialize` defaults to passing buffers through. */
export async function serveBytes(
  handler: (call: grpc.ServerDuplexStream<Buffer, unknown>) => void,
  opts: { serverOptions?: grpc.ServerOptions; responseSerialize?: (m: unknown) => Buffer } = {},
): Promise<BytesServer> {
  const def = { Stream: method(opts.responseSerialize ?? ((m) => m as Buffer)) } as grpc.ServiceDefinition;
  const server = new grpc.Server(opts.serverOptions);
  server.addService(def, { Stream: handler });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const addr = `127.0.0.1:${port}`;
  let client: (grpc.Client & { Stream(): grpc.ClientDuplexStream<Buffer, Buffer> }) | undefined;
  return {
    addr,
    call: () => {
      client ??= new (grpc.makeGenericClientConstructor(def, 'Echo'))(addr, grpc.credentials.createInsecure()) as unknown as typeof client & object;
      return client.Stream();
    },
    close: () => {
      client?.close();
      server.forceShutdown();
    },
  };
}
