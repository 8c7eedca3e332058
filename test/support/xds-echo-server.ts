// An xDS-enabled gRPC echo server in its own process: grpc-js-xds reads its RBAC switch
// (GRPC_XDS_EXPERIMENTAL_RBAC) once, when first imported, so a test that needs RBAC enforced
// runs the server here with the variable set. Usage (JSON argument):
//   node --import tsx test/support/xds-echo-server.ts '{"xds":"127.0.0.1:15010","port":1234,"nodeId":"...","namespace":"default","labels":{}}'
// Prints `serving` once the server has its listener and serves.
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { CALL_PATH, OTHER_PATH } from '../../examples/echo-service.js';

// HTTP filters (RBAC among them) are registered by register(), which an XdsServer alone never calls.
grpcXds.register();
const o = JSON.parse(process.argv[2]!) as { xds: string; port: number; nodeId: string; namespace: string; labels: Record<string, string> };
const bootstrap = {
  xds_servers: [{ server_uri: o.xds, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
  node: { id: o.nodeId, locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: o.namespace, LABELS: o.labels } },
  server_listener_resource_name_template: 'xds.istio.io/grpc/lds/inbound/%s',
};
const server = new grpcXds.XdsServer({ 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap) } as grpc.ServerOptions);
const unary = (path: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path, requestStream: false, responseStream: false,
  requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b,
});
const answer = (_c: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from('xds-server'));
server.addService({ Call: unary(CALL_PATH), Other: unary(OTHER_PATH) }, { Call: answer, Other: answer });
server.bindAsync(`127.0.0.1:${o.port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
  console.log('serving');
});
process.on('SIGTERM', () => {
  server.forceShutdown();
  process.exit(0);
});
