// Connects config to the ADS server: builds a PushContext on every (debounced) change and
// pushes it to all proxies, choosing each proxy's generators from its node metadata.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Node } from '../../gen/envoy/config/core/v3/base_pb.js';
import type { ConfigEvent, ConfigStore } from '../config/store.js';
import { buildServiceIndex } from '../registry/index.js';
import type { RequestAuthentication } from '../config/schema/security.js';
import { jwksToFetch, type JwksSource } from '../model/jwks.js';
import type { MeshConfig } from '../model/mesh.js';
import { PushContext } from '../model/push-context.js';
import { proxyFromNode, type Proxy } from '../model/proxy.js';
import { TYPE } from '../networking/envoy.js';
import type { GeneratorSet } from '../networking/generator.js';
import { generatorsFor } from '../networking/generators.js';
import { jwksFetchMode } from '../networking/authn/jwt.js';
import { Debouncer, type DebounceOptions } from './debounce.js';
import { XdsMetrics } from './metrics.js';
import { planPush } from './push-plan.js';
import { XdsServer } from './server.js';
import { checkConnectionIdentity, streamIdentities, type IdentityAuthenticator } from './authentication.js';

export interface DiscoveryOptions {
  domainSuffix: string;
  mesh: MeshConfig;
  debounce: DebounceOptions;
  /** Whether a service account may read its namespace's Secrets (Kubernetes RBAC); absent: yes. */
  secretAccess?: (namespace: string, serviceAccount: string) => boolean;
  /** Response bytes buffered towards clients before further responses wait (default: `ISTHMUS_XDS_MAX_BUFFERED_BYTES` or 32 MiB). */
  maxBufferedBytes?: number;
  /** Fetches the JWKS RequestAuthentications name; absent, rules without inline keys refuse every token. */
  jwks?: JwksSource;
}

export class DiscoveryService {
  readonly server: XdsServer<Proxy>;
  readonly metrics: XdsMetrics;
  private current: PushContext;
  private pushCount = 0;
  private readonly debouncer: Debouncer<ConfigEvent>;
  private unsubscribe?: () => void;
  /** Resolves after the next push completes (tests and `/debug` use it to wait for convergence). */
  private waiters: (() => void)[] = [];

  constructor(
    private readonly store: ConfigStore,
    private readonly opts: DiscoveryOptions,
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.metrics = new XdsMetrics(registry);
    this.current = this.build();
    this.server = new XdsServer<Proxy>(
      {
        connect: (node: Node, peer, identities) => {
          const proxy = proxyFromNode(node, opts.domainSuffix);
          // Identities come only from handlers that check them (see authenticatedImplementation).
          if (Array.isArray(identities)) {
            try {
              const id = checkConnectionIdentity(proxy, identities as string[]);
              proxy.verifiedIdentity = { namespace: id.namespace, serviceAccount: id.serviceAccount };
            } catch (err) {
              log.warn({ peer, proxy: proxy.id, identities, err: (err as Error).message }, 'unauthorized xDS stream');
              throw err;
            }
          }
          return proxy;
        },
        disconnect: () => {},
        generate: (proxy, watch) => {
          const gen = this.generatorsFor(proxy).byType[watch.typeUrl];
          return gen ? gen(this.current, proxy, watch) : [];
        },
        isWildcardType: (proxy, typeUrl) => proxy.generator !== 'grpc' && (typeUrl === TYPE.listener || typeUrl === TYPE.cluster),
        version: () => this.current.version,
        proxyId: (proxy) => proxy.id,
        // Envoy keeps endpoints a SotW EDS response leaves out; gRPC is sent them all.
        partialSotw: (proxy, typeUrl) => proxy.generator !== 'grpc' && typeUrl === TYPE.endpoint,
      },
      this.metrics,
      log,
      { maxBufferedBytes: opts.maxBufferedBytes ?? (Number(process.env.ISTHMUS_XDS_MAX_BUFFERED_BYTES) || undefined) },
    );
    this.debouncer = new Debouncer<ConfigEvent>(
      opts.debounce,
      (a, b) => ({ changed: new Set([...a.changed, ...b.changed]), kinds: new Set([...a.kinds, ...b.kinds]) }),
      (event, firstAt) => this.push(event, firstAt),
    );
  }

  /**
   * ADS handlers whose streams must authenticate first (istiod's XDS_AUTH, for the TLS port) and,
   * unless `checkIdentity` is false (PILOT_ENABLE_XDS_IDENTITY_CHECK=false), match their node's
   * namespace and service account.
   */
  authenticatedImplementation(authenticate: IdentityAuthenticator, checkIdentity = true): UntypedServiceImplementation {
    return this.server.implementation(async (call) => {
      const identities = await streamIdentities(call, authenticate, (reason) => this.log.warn({ peer: call.getPeer(), reason }, 'xDS authentication failed'));
      return checkIdentity ? identities : undefined;
    });
  }

  get pushContext(): PushContext {
    return this.current;
  }

  start(): void {
    this.unsubscribe = this.store.onChange((e) => this.debouncer.push(e));
  }

  stop(): void {
    this.unsubscribe?.();
    this.debouncer.stop();
    this.server.closeAll();
  }

  /** Pushes as after a config change of `kind` (for inputs from outside the config store, such as fetched keys; the push plan picks the types). */
  requestPush(kind: string): void {
    this.debouncer.push({ changed: new Set(), kinds: new Set([kind]) });
  }

  /** A new mesh config (edited in its ConfigMap): everything is pushed again under it. */
  setMesh(mesh: MeshConfig): void {
    this.opts.mesh = mesh;
    this.requestPush('MeshConfig');
  }

  /** Resolves once a push that started after this call has been sent to every proxy. */
  nextPush(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  generatorsFor(proxy: Proxy): GeneratorSet {
    return generatorsFor(proxy);
  }

  private build(previous?: PushContext): PushContext {
    const version = `${new Date().toISOString()}/${++this.pushCount}`;
    const registry = buildServiceIndex(this.store, { domainSuffix: this.opts.domainSuffix }, previous?.registry);
    const warn = (message: string) => this.log.warn({ version }, message);
    const jwks = this.opts.jwks;
    if (jwks) {
      const specs = this.store.list<RequestAuthentication>('RequestAuthentication').map((r) => r.spec);
      jwks.sync(jwksToFetch(specs, jwksFetchMode(process.env.PILOT_JWT_ENABLE_REMOTE_JWKS) === 'envoy'));
    }
    return new PushContext(version, this.opts.mesh, this.opts.domainSuffix, registry, this.store, { previous, warn, jwks: jwks?.snapshot(), secretAccess: this.opts.secretAccess });
  }

  private push(event: ConfigEvent, firstEventAt: number): void {
    const started = performance.now();
    const prev = this.current;
    this.current = this.build(prev);
    const plan = planPush(prev, this.current, event);
    this.server.pushAll(firstEventAt, plan.select);
    this.log.info(
      { version: this.current.version, changed: event.changed.size, kinds: [...event.kinds], scope: plan.scope, proxies: this.server.list().length, ms: Math.round(performance.now() - started) },
      'pushed config',
    );
    const waiters = this.waiters;
    this.waiters = [];
    void this.server.drained().then(() => {
      for (const w of waiters) w();
    });
  }
}
