// A tiny gRPC echo service for the demo and the end-to-end tests: each backend answers with its
// own name, so a client sees where every call landed. Messages are raw bytes (no .proto needed).
import * as grpc from '@grpc/grpc-js';

export const CALL_PATH = '/isthmus.test.Echo/Call';
export const OTHER_PATH = '/isthmus.test.Echo/Other';

function unary(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  };
}

const echoService: grpc.ServiceDefinition = { Call: unary(CALL_PATH), Other: unary(OTHER_PATH) };

export interface Backend {
  name: string;
  port: number;
  server: grpc.Server;
  calls: number;
}

export async function startBackend(name: string, port = 0): Promise<Backend> {
  const server = new grpc.Server();
  const backend: Backend = { name, port: 0, server, calls: 0 };
  const handler = (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
    backend.calls++;
    cb(null, Buffer.from(name));
  };
  server.addService(echoService, { Call: handler, Other: handler });
  backend.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return backend;
}

export function stopBackend(b: Backend): Promise<void> {
  return new Promise((resolve) => b.server.tryShutdown(() => resolve()));
}

export function xdsBootstrap(xdsServer: string, opts: { namespace?: string; nodeId?: string } = {}): object {
  const ns = opts.namespace ?? 'default';
  return {
    xds_servers: [{ server_uri: xdsServer, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: {
      id: opts.nodeId ?? `sidecar~127.0.0.1~client-${Math.random().toString(36).slice(2, 8)}.${ns}~${ns}.svc.cluster.local`,
      locality: {},
      metadata: { GENERATOR: 'grpc', NAMESPACE: ns },
    },
  };
}

export function xdsClient(target: string, bootstrap: object): grpc.Client {
  return new grpc.Client(target, grpc.credentials.createInsecure(), {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
  } as grpc.ChannelOptions);
}

export function call(client: grpc.Client, metadata: Record<string, string> = {}, deadlineMs = 10000, path = CALL_PATH): Promise<string> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), md, { deadline: Date.now() + deadlineMs }, (err, res) =>
      err ? reject(err) : resolve(res!.toString()),
    );
  });
}

/** Makes `n` calls and counts which backend answered each. */
export async function distribution(client: grpc.Client, n: number, metadata: Record<string, string> = {}, path = CALL_PATH): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => call(client, metadata, 10000, path)));
    for (const name of batch) counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}
