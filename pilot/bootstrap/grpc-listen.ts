// gRPC ports with a deep accept queue. When istiod-style restarts send every proxy back at once,
// thousands of connections arrive while the event loop is busy generating config; with the
// default queue (511) the kernel drops the overflow and those proxies see their connections
// reset. Our own listener, sized like the kernel's limit, hands each accepted socket to gRPC.
import { createServer, type Server as NetServer } from 'node:net';
import type { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js';
import type { ListenAddress } from './address.js';

/** Connections waiting to be accepted; the kernel caps it at net.core.somaxconn. */
const ACCEPT_BACKLOG = 4096;

export interface GrpcListener {
  port: number;
  close(): void;
}

export async function listenGrpc(server: GrpcServer, addr: ListenAddress, credentials: ServerCredentials): Promise<GrpcListener> {
  const injector = server.createConnectionInjector(credentials);
  const listener: NetServer = createServer((socket) => injector.injectConnection(socket));
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ host: addr.host, port: addr.port, backlog: ACCEPT_BACKLOG }, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  const bound = listener.address();
  return {
    port: typeof bound === 'object' && bound ? bound.port : addr.port,
    close() {
      listener.close();
      injector.destroy();
    },
  };
}
