// Wires one isthmusd process: config source → discovery (xDS) → gRPC and HTTP listeners.
import type { Server as HttpServer } from 'node:http';
import { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { DirectoryConfigSource } from '../config/directory.js';
import { KubeConfigSource } from '../config/kube-source.js';
import type { ConfigStore, MemoryConfigStore } from '../config/store.js';
import { DiscoveryFilteredStore } from '../config/discovery-filter.js';
import type { KubeClient } from '../kube/client.js';
import type { MeshConfig } from '../model/mesh.js';
import { loadMeshConfig, watchMeshConfigMap } from './mesh.js';
import { DiscoveryService } from '../xds/discovery.js';
import { envDurationMs } from '../xds/debounce.js';
import { startHttpServer } from '../debug/http.js';
import { createCitadel, type Citadel } from '../../citadel/index.js';
import { startKubeControllers } from './kube-controllers.js';
import { SecretAccessReviewer } from '../kube/secret-access.js';
import { followSharedRoot } from '../kube/ca-secret.js';
import { prepareKubeCa } from './kube-ca.js';
import { SECRET_ACCESS } from '../xds/push-plan.js';
import { envBool } from '../util/env-bool.js';
import { existsSync } from 'node:fs';
import { startWebhookServer } from '../../webhook/server.js';
import { validateHandler } from '../../webhook/validate.js';
import { startInjection, type InjectionSources } from './injection-settings.js';
import { listenGrpc, type GrpcListener } from './grpc-listen.js';
import { formatAddress, type ListenAddress } from './address.js';
import { DEFAULT_JWKS_REFRESH_MS, JwksResolver } from './jwks-resolver.js';
import { parseDuration } from '../config/schema/dsl.js';

/** What both config sources offer: a store kept current, loaded once before serving. */
export interface ConfigSource {
  readonly store: MemoryConfigStore;
  load(): Promise<void>;
  watch(): void;
  close(): void;
}

export interface IsthmusOptions {
  /** A directory of YAML to serve (watched); ignored when `kube` is given. */
  configDir?: string;
  /** Kubernetes mode: config and registry are listed and watched from this API server. */
  kube?: KubeClient;
  grpcAddr: ListenAddress;
  /** xDS and Istio's CA over TLS (istiod's 15012); absent: not served. */
  secureGrpcAddr?: ListenAddress;
  /** The admission webhooks (`/inject`, `/validate`) over HTTPS (istiod's 15017); absent: not served. */
  httpsAddr?: ListenAddress;
  /** Serving certificate for the webhooks when there is no CA on this process. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Istio's injection config (`config`, `values`, as the istio-sidecar-injector ConfigMap mounts them). */
  injectConfigDir?: string;
  /** The mesh config, for injection and translation (when `mesh` is not given). */
  meshConfigFile?: string;
  httpAddr: ListenAddress;
  monitoringAddr: ListenAddress;
  domainSuffix: string;
  mesh?: MeshConfig;
  env?: NodeJS.ProcessEnv;
  log: Logger;
}

export interface Isthmus {
  discovery: DiscoveryService;
  source: ConfigSource;
  citadel?: Citadel;
  addresses: { grpc: string; secureGrpc?: string; webhook?: string; http: string; monitoring: string };
  close(): Promise<void>;
}

function listenHttp(start: (onListening: (addr: string) => void) => HttpServer): Promise<{ server: HttpServer; addr: string }> {
  return new Promise((resolve, reject) => {
    const server = start((addr) => resolve({ server, addr }));
    server.once('error', reject);
  });
}

/** `/inject` (when injection config is present) and `/validate`, with a certificate from the CA or files. */
async function startWebhooks(opts: IsthmusOptions, citadel: Citadel | undefined, kube: InjectionSources['kube'], log: Logger): Promise<{ addr: string; close(): Promise<void> }> {
  const injection = startInjection({ injectConfigDir: opts.injectConfigDir, meshConfigFile: opts.meshConfigFile, kube }, log);
  const serving = citadel?.servingCertificate();
  const server = await startWebhookServer({
    httpsAddr: formatAddress(opts.httpsAddr!),
    cert: serving?.certChainPem,
    key: serving?.privateKeyPem,
    tlsCertFile: opts.tlsCertFile,
    tlsKeyFile: opts.tlsKeyFile,
    handlers: [...(injection.handler ? [injection.handler] : []), validateHandler()],
    log: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
  });
  const unsubscribe = citadel?.onServingCertificate((kc) => server.setCertificate(kc.certChainPem, kc.privateKeyPem));
  const addr = formatAddress({ host: opts.httpsAddr!.host, port: server.port });
  log.info({ addr, inject: injection.ready?.() ?? false }, 'admission webhooks (HTTPS) listening');
  return {
    addr,
    async close() {
      unsubscribe?.();
      injection.stop();
      await server.close();
    },
  };
}

/**
 * Both gRPC ports. Channelz is off: no channelz service is registered, so its bookkeeping (a
 * socket entry per connection, counters per call and message) would be kept for nobody.
 */
const GRPC_SERVER_OPTIONS = { 'grpc.max_receive_message_length': 16 * 1024 * 1024, 'grpc.enable_channelz': 0 };

/** PILOT_JWT_PUB_KEY_REFRESH_INTERVAL, a Go duration (default 20m); a bad or non-positive value keeps the default. */
function refreshInterval(value: string | undefined, log: Logger): number {
  if (value === undefined || value === '') return DEFAULT_JWKS_REFRESH_MS;
  const seconds = parseDuration(value);
  if (seconds === undefined || seconds <= 0) {
    log.warn({ value }, 'invalid PILOT_JWT_PUB_KEY_REFRESH_INTERVAL, using the default (20m)');
    return DEFAULT_JWKS_REFRESH_MS;
  }
  return seconds * 1000;
}

export async function startIsthmus(opts: IsthmusOptions): Promise<Isthmus> {
  const env = opts.env ?? process.env;
  const log = opts.log;
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });

  // Each source logs what it rejects, as it finds it.
  const source: ConfigSource = opts.kube
    ? new KubeConfigSource(opts.kube, log.child({ component: 'kube' }))
    : new DirectoryConfigSource(opts.configDir ?? '.', log);
  await source.load();
  source.watch();

  // Kubernetes mode without a mounted mesh file: the mesh ConfigMap, followed live.
  const systemNamespace = env.POD_NAMESPACE || 'istio-system';
  const revision = env.REVISION && env.REVISION !== 'default' ? env.REVISION : '';
  const meshConfigMap = opts.kube && !opts.mesh && !(opts.meshConfigFile && existsSync(opts.meshConfigFile))
    ? watchMeshConfigMap(source.store, { namespace: systemNamespace, name: revision ? `istio-${revision}` : 'istio' }, (mesh) => {
        filtered?.setSelectors(mesh.discoverySelectors);
        discovery?.setMesh(mesh);
      }, log)
    : undefined;
  const mesh = opts.mesh ?? meshConfigMap?.initial ?? loadMeshConfig(opts.meshConfigFile, log);
  // In a cluster, what is served is the namespaces the mesh's discoverySelectors pick; the
  // mesh and injection ConfigMaps, and pods for node authorization, are read from all.
  const filtered = opts.kube ? new DiscoveryFilteredStore(source.store) : undefined;
  filtered?.setSelectors(mesh.discoverySelectors);
  const served: ConfigStore = filtered ?? source.store;

  // In a cluster, SDS serves a workload its namespace's Secrets only if RBAC lets it list them.
  const secretAccess = opts.kube ? new SecretAccessReviewer(opts.kube, () => discovery?.requestPush(SECRET_ACCESS), log.child({ component: 'sds' })) : undefined;

  // Keys that arrive or change after a push need another push; discovery exists by then.
  let discovery: DiscoveryService | undefined;
  const jwks = new JwksResolver({
    onChange: () => discovery?.requestPush('RequestAuthentication'),
    log: log.child({ component: 'jwks' }),
    refreshMs: refreshInterval(env.PILOT_JWT_PUB_KEY_REFRESH_INTERVAL, log),
    blockedCidrs: (env.BLOCKED_CIDRS_IN_JWKS_URIS ?? '').split(',').filter((c) => c.trim()),
    extraCaFile: '/cacerts/extra.pem',
    insecureSkipVerify: envBool(env.JWKS_RESOLVER_INSECURE_SKIP_VERIFY, false, (v) => log.warn({ value: v }, 'invalid boolean in JWKS_RESOLVER_INSECURE_SKIP_VERIFY, using the default (false)')),
  });
  discovery = new DiscoveryService(
    served,
    {
      domainSuffix: opts.domainSuffix,
      mesh,
      debounce: {
        afterMs: envDurationMs(env.PILOT_DEBOUNCE_AFTER, 100),
        maxMs: envDurationMs(env.PILOT_DEBOUNCE_MAX, 10_000),
      },
      jwks,
      secretAccess: secretAccess?.allowed,
    },
    metrics,
    log.child({ component: 'xds' }),
  );
  discovery.start();

  const grpc = new GrpcServer(GRPC_SERVER_OPTIONS);
  grpc.addService(discovery.server.serviceDefinition(), discovery.server.implementation());
  const grpcListener = await listenGrpc(grpc, opts.grpcAddr, ServerCredentials.createInsecure());
  const grpcAddr = formatAddress({ host: opts.grpcAddr.host, port: grpcListener.port });
  log.info({ addr: grpcAddr }, 'xDS (plaintext gRPC) listening');

  // The CA and xDS share the TLS port, as on istiod; its serving certificate comes from the CA.
  let citadel: Citadel | undefined;
  let stopFollowingRoot: (() => void) | undefined;
  let secure: GrpcServer | undefined;
  let secureAddr: string | undefined;
  let secureListener: GrpcListener | undefined;
  if (opts.secureGrpcAddr) {
    const caLog = log.child({ component: 'citadel' });
    const pushed = discovery;
    const kubeCa = opts.kube ? await prepareKubeCa(opts.kube, source.store, env, systemNamespace, () => pushed.pushContext.mesh.trustDomain, caLog) : {};
    citadel = await createCitadel({ env, registry: metrics, logger: caLog, ...kubeCa });
    // Every replica keeps to one root with the others (rotations written back and taken up).
    if (opts.kube && citadel.mode === 'self-signed') stopFollowingRoot = followSharedRoot(opts.kube, source.store, systemNamespace, citadel.config, citadel, caLog);
    secure = new GrpcServer(GRPC_SERVER_OPTIONS);
    // As istiod with XDS_AUTH (default on): streams on the TLS port authenticate as the CA's callers do.
    const ca = citadel;
    const flag = (name: string) => envBool(env[name], true, (v) => log.warn({ name, value: v }, `invalid boolean in ${name}, using the default (true)`));
    const ads = flag('XDS_AUTH')
      ? discovery.authenticatedImplementation(async (call) => (await ca.authenticate(call)).identities, flag('PILOT_ENABLE_XDS_IDENTITY_CHECK'))
      : discovery.server.implementation();
    secure.addService(discovery.server.serviceDefinition(), ads);
    citadel.addToServer(secure);
    secureListener = await listenGrpc(secure, opts.secureGrpcAddr, citadel.serverCredentials());
    secureAddr = formatAddress({ host: opts.secureGrpcAddr.host, port: secureListener.port });
    log.info({ addr: secureAddr, ca: citadel.mode, rootCert: citadel.rootCertFile }, 'xDS and CA (TLS gRPC) listening');
  }

  const injectionKube = opts.kube ? { store: source.store, namespace: systemNamespace, revision: env.REVISION || 'default' } : undefined;
  const webhook = opts.httpsAddr ? await startWebhooks(opts, citadel, injectionKube, log) : undefined;
  const controllers = opts.kube && citadel ? startKubeControllers(opts.kube, served, citadel, env, systemNamespace, log) : undefined;

  const deps = { store: served, discovery, metrics, ready: () => true };
  const http = await listenHttp((cb) => startHttpServer(deps, opts.httpAddr.host, opts.httpAddr.port, cb));
  log.info({ addr: http.addr }, 'HTTP debug listening');
  const monitoring = await listenHttp((cb) => startHttpServer(deps, opts.monitoringAddr.host, opts.monitoringAddr.port, cb));
  log.info({ addr: monitoring.addr }, 'monitoring listening');

  return {
    discovery,
    source,
    citadel,
    addresses: { grpc: grpcAddr, secureGrpc: secureAddr, webhook: webhook?.addr, http: http.addr, monitoring: monitoring.addr },
    async close() {
      source.close();
      jwks.close();
      await controllers?.stop();
      stopFollowingRoot?.();
      meshConfigMap?.stop();
      opts.kube?.close();
      discovery.stop();
      // Streams were ended by discovery.stop(); do not wait for clients that never hang up.
      grpcListener.close();
      secureListener?.close();
      grpc.forceShutdown();
      secure?.forceShutdown();
      await webhook?.close();
      await citadel?.close();
      await Promise.all([http.server, monitoring.server].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
