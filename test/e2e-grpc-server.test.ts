// xDS-enabled gRPC servers (grpc-js-xds XdsServer) get their listener from isthmusd and only
// then start serving, as with istiod.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { startIsthmusd, type RunningIsthmusd } from './support/isthmusd.js';
import { CALL_PATH, call, echoServerEntry, eventually, freePort } from './support/grpc-echo.js';

describe('xDS-enabled gRPC server (grpc-js-xds XdsServer)', function () {
  this.timeout(60000);
  let dir: string;
  let isthmusd: RunningIsthmusd;
  let port: number;
  let server: grpcXds.XdsServer | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-grpc-server-'));
    port = await freePort();
    writeFileSync(join(dir, 'svc.yaml'), echoServerEntry(port));
    isthmusd = await startIsthmusd(dir);
  });

  after(async () => {
    server?.forceShutdown();
    await isthmusd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves once isthmusd sends its inbound listener, and answers real calls', async () => {
    const bootstrap = {
      xds_servers: [{ server_uri: isthmusd.grpc, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'sidecar~127.0.0.1~echo-server-0.default~default.svc.cluster.local', locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
      server_listener_resource_name_template: 'xds.istio.io/grpc/lds/inbound/%s',
    };
    server = new grpcXds.XdsServer({ 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap) } as grpc.ServerOptions);
    const unary: grpc.MethodDefinition<Buffer, Buffer> = {
      path: CALL_PATH, requestStream: false, responseStream: false,
      requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b,
    };
    server.addService({ Call: unary }, { Call: (_c: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from('xds-server')) });
    // An XdsServer's bind completes only when its listener has arrived and it serves.
    await new Promise<void>((resolve, reject) => server!.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      assert.equal(await eventually(() => call(client, {}, 3000)), 'xds-server');
    } finally {
      client.close();
    }
  });
});
