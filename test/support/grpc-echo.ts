// Test helpers over the example echo service.
import { createServer } from 'node:net';
export * from '../../examples/echo-service.js';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The ServiceEntry an xDS-enabled echo server on 127.0.0.1:`port` serves (proxy id `echo-server-0.default`). */
export function echoServerEntry(port: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo-server, namespace: default}
spec:
  hosts: [echo-server.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${port}, name: grpc, protocol: GRPC}]
  endpoints: [{address: 127.0.0.1}]
`;
}

/** Retries `fn` until it stops throwing (config reaching a client takes a push). */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 15000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
  throw last;
}
