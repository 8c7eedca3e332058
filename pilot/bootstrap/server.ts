// Wires one isthmusd process: config source → discovery (xDS) → gRPC and HTTP listeners.
import type { Server as HttpServer } from 'node:http';
import { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { DirectoryConfigSource } from '../config/directory.js';
import { defaultMeshConfig, type MeshConfig } from '../model/mesh.js';
import { DiscoveryService } from '../xds/discovery.js';
import { envDurationMs } from '../xds/debounce.js';
import { startHttpServer } from '../debug/http.js';
import { createCitadel, type Citadel } from '../../citadel/index.js';
import { formatAddress, type ListenAddress } from './address.js';

export interface IsthmusOptions {
  configDir: string;
  grpcAddr: ListenAddress;
  /** xDS and Istio's CA over TLS (istiod's 15012); absent: not served. */
  secureGrpcAddr?: ListenAddress;
  httpAddr: ListenAddress;
  monitoringAddr: ListenAddress;
  domainSuffix: string;
  mesh?: MeshConfig;
  env?: NodeJS.ProcessEnv;
  log: Logger;
}

export interface Isthmus {
  discovery: DiscoveryService;
  source: DirectoryConfigSource;
  citadel?: Citadel;
  addresses: { grpc: string; secureGrpc?: string; http: string; monitoring: string };
  close(): Promise<void>;
}

function listenHttp(start: (onListening: (addr: string) => void) => HttpServer): Promise<{ server: HttpServer; addr: string }> {
  return new Promise((resolve, reject) => {
    const server = start((addr) => resolve({ server, addr }));
    server.once('error', reject);
  });
}

export async function startIsthmus(opts: IsthmusOptions): Promise<Isthmus> {
  const env = opts.env ?? process.env;
  const log = opts.log;
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });

  const source = new DirectoryConfigSource(opts.configDir, log);
  await source.load();
  for (const e of source.store.errors()) log.warn({ file: e.file, kind: e.kind }, `rejected config: ${e.file ?? ''}${e.line ? `:${e.line}` : ''} ${e.kind ?? ''} ${e.namespace ?? ''}/${e.name ?? ''} ${e.field ?? ''}: ${e.message}`);
  source.watch();

  const discovery = new DiscoveryService(
    source.store,
    {
      domainSuffix: opts.domainSuffix,
      mesh: opts.mesh ?? defaultMeshConfig(),
      debounce: {
        afterMs: envDurationMs(env.PILOT_DEBOUNCE_AFTER, 100),
        maxMs: envDurationMs(env.PILOT_DEBOUNCE_MAX, 10_000),
      },
    },
    metrics,
    log.child({ component: 'xds' }),
  );
  discovery.start();

  const grpc = new GrpcServer({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  grpc.addService(discovery.server.serviceDefinition(), discovery.server.implementation());
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync(formatAddress(opts.grpcAddr), ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  const grpcAddr = formatAddress({ host: opts.grpcAddr.host, port: grpcPort });
  log.info({ addr: grpcAddr }, 'xDS (plaintext gRPC) listening');

  // The CA and xDS share the TLS port, as on istiod; its serving certificate comes from the CA.
  let citadel: Citadel | undefined;
  let secure: GrpcServer | undefined;
  let secureAddr: string | undefined;
  if (opts.secureGrpcAddr) {
    citadel = await createCitadel({ env, registry: metrics, logger: log.child({ component: 'citadel' }) });
    secure = new GrpcServer({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
    secure.addService(discovery.server.serviceDefinition(), discovery.server.implementation());
    citadel.addToServer(secure);
    const securePort = await new Promise<number>((resolve, reject) =>
      secure!.bindAsync(formatAddress(opts.secureGrpcAddr!), citadel!.serverCredentials(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    secureAddr = formatAddress({ host: opts.secureGrpcAddr.host, port: securePort });
    log.info({ addr: secureAddr, ca: citadel.mode, rootCert: citadel.rootCertFile }, 'xDS and CA (TLS gRPC) listening');
  }

  const deps = { store: source.store, discovery, metrics, ready: () => true };
  const http = await listenHttp((cb) => startHttpServer(deps, opts.httpAddr.host, opts.httpAddr.port, cb));
  log.info({ addr: http.addr }, 'HTTP debug listening');
  const monitoring = await listenHttp((cb) => startHttpServer(deps, opts.monitoringAddr.host, opts.monitoringAddr.port, cb));
  log.info({ addr: monitoring.addr }, 'monitoring listening');

  return {
    discovery,
    source,
    citadel,
    addresses: { grpc: grpcAddr, secureGrpc: secureAddr, http: http.addr, monitoring: monitoring.addr },
    async close() {
      source.close();
      discovery.stop();
      // Streams were ended by discovery.stop(); do not wait for clients that never hang up.
      grpc.forceShutdown();
      secure?.forceShutdown();
      await citadel?.close();
      await Promise.all([http.server, monitoring.server].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
