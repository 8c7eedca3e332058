// Demo of the example mesh: starts the two echo backends the mesh points at (v1 on 17071, v2 on
// 17072) and a proxyless gRPC client that routes through isthmusd, then prints where calls land.
//
//   npm start                              # in one terminal
//   node --import tsx examples/demo.ts     # in another
//
// The client is configured the way Istio's proxyless gRPC is: by an xDS bootstrap, here taken
// from GRPC_XDS_BOOTSTRAP_CONFIG (or GRPC_XDS_BOOTSTRAP), or built for --xds HOST:PORT.
import { Command } from 'commander';
import * as grpcXds from '@grpc/grpc-js-xds';
import * as grpc from '@grpc/grpc-js';
import { call, distribution, startBackend, stopBackend, xdsBootstrap } from './echo-service.js';

const o = new Command('demo')
  .option('--xds <addr>', 'isthmusd xDS address', '127.0.0.1:15010')
  .option('--calls <n>', 'calls to make', '100')
  .option('--target <uri>', 'xDS target', 'xds:///echo.default.svc.cluster.local:7070')
  .parse()
  .opts<{ xds: string; calls: string; target: string }>();

if (!process.env.GRPC_XDS_BOOTSTRAP && !process.env.GRPC_XDS_BOOTSTRAP_CONFIG) {
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify(xdsBootstrap(o.xds));
}
grpcXds.register();

const backends = [await startBackend('v1', 17071), await startBackend('v2', 17072)];
const client = new grpc.Client(o.target, grpc.credentials.createInsecure());
try {
  const split = await distribution(client, Number(o.calls));
  const pinned = await call(client, { 'x-version': 'v2' });
  console.log(JSON.stringify({ target: o.target, calls: Number(o.calls), landed: split, withHeaderXVersionV2: pinned }));
} finally {
  client.close();
  await Promise.all(backends.map(stopBackend));
}
// grpc-js-xds keeps its shared xDS client (and so the process) alive after the channel closes.
process.exit(0);
