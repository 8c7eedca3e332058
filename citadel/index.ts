// Citadel: Istio's CA inside isthmusd. createCitadel() loads or creates the key material, and returns
// the IstioCertificateService to add to the 15012 gRPC server, the credentials of that server (a
// serving certificate for istiod's names, renewed before expiry), and the root for distribution.
import type { Server, ServerCredentials, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { authContextOf, authenticate, ClientCertAuthenticator, JwtAuthenticator, type AuthenticatableCall, type Authenticator, type Caller } from './authenticate.js';
import { IstioCA, type KeyCertBundle } from './ca.js';
import { loadCitadelConfig, type CitadelConfig } from './config.js';
import {
  loadOrCreateSelfSigned, loadPluginBundle, pluginBundleState, rotateSelfSignedIfDue, SELF_SIGNED_FILES, signingCaFiles, writeFileAtomic,
  type SigningCaFiles,
} from './keymaterial.js';
import { CitadelMetrics } from './metrics.js';
import { parseCertificateBundle, splitCertificates } from './pki.js';
import { CertificateService, type ImpersonationAuthorizer } from './server.js';
import { istiodDnsNames, ServingCertificate, type ServingKeyCert } from './serving.js';

export type { AuthenticatableCall, Authenticator, AuthContext, Caller } from './authenticate.js';
export { AuthenticationError } from './authenticate.js';
export type { CitadelConfig, JwtRule } from './config.js';
export { loadCitadelConfig, parseGoDuration, formatGoDuration } from './config.js';
export type { ImpersonationAuthorizer } from './server.js';
export type { ServingKeyCert } from './serving.js';
export { CaError } from './errors.js';
export type { CitadelMetrics } from './metrics.js';

export interface CitadelOptions {
  /** Environment to read Istio's variables from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Field-by-field overrides of the environment (tests, command-line flags). */
  config?: Partial<CitadelConfig>;
  /** Where the metrics go. Never the global default registry; a private one when absent. */
  registry?: Registry;
  logger?: Logger;
  /** More authenticators (e.g. Kubernetes TokenReview), tried after the client certificate and JWT_RULE. */
  authenticators?: Authenticator[];
  /** Node check for ImpersonatedIdentity requests from CA_TRUSTED_NODE_ACCOUNTS (see ImpersonationAuthorizer). */
  authorizeImpersonation?: ImpersonationAuthorizer;
}

export interface Citadel {
  readonly config: CitadelConfig;
  /** `plugged`: ROOT_CA_DIR holds the CA; `self-signed`: a root persisted in config.stateDir. */
  readonly mode: 'self-signed' | 'plugged';
  /** IstioCertificateService, for server.addService(service, implementation). */
  readonly service: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
  /** server.addService(service, implementation). */
  addToServer(server: Server): void;
  /**
   * TLS credentials for the 15012 listener: the current serving certificate (renewed in place, no rebind),
   * optional client certificates verified against the mesh roots (needed for certificate-authenticated renewal).
   */
  serverCredentials(): ServerCredentials;
  /** The current serving key and certificate (for other TLS listeners, e.g. the webhook on 15017). */
  servingCertificate(): ServingKeyCert;
  /** Called with each new serving certificate; returns an unsubscribe function. */
  onServingCertificate(listener: (kc: ServingKeyCert) => void): () => void;
  /** The mesh trust bundle (root-cert.pem contents) that workloads and xDS clients must trust. */
  rootCertPem(): string;
  /** The file the root bundle is written to for the embedded mode: <stateDir>/root-cert.pem. */
  readonly rootCertFile: string;
  /** Called when the root bundle changes (self-signed root rotation, plug-in CA update). */
  onRootCert(listener: (rootPem: string) => void): () => void;
  /**
   * Authenticates any gRPC call (e.g. an xDS stream on 15012) with the CA's authenticators: client certificate,
   * JWT_RULE, then the extra ones. Rejects with an AuthenticationError listing each authenticator's reason.
   */
  authenticate(call: AuthenticatableCall): Promise<Caller>;
  /** Signs a CSR in-process for the given identities (no authentication): leaf, chain, root as CreateCertificate answers. */
  sign(csrPem: string, identities: string[], ttlSeconds?: number): Promise<string[]>;
  /** Issues a new serving certificate now. */
  renewServingCertificate(): Promise<ServingKeyCert>;
  /** Runs the self-signed root rotation check now; true when the root changed. */
  checkRootRotation(): Promise<boolean>;
  readonly metrics: CitadelMetrics;
  close(): Promise<void>;
}

export async function createCitadel(opts: CitadelOptions = {}): Promise<Citadel> {
  const config = loadCitadelConfig(opts.env ?? process.env, opts.config ?? {});
  const log = (opts.logger ?? pino({ level: 'silent' })).child({ scope: 'citadel' });
  const metrics = new CitadelMetrics(opts.registry ?? new Registry());

  // 1. Key material: a complete plug-in bundle wins, else the (persisted) self-signed root.
  const files: SigningCaFiles = signingCaFiles(config.rootCaDir);
  const plugged = (await pluginBundleState(files)) === 'complete';
  let bundle: KeyCertBundle;
  if (plugged) {
    bundle = await loadPluginBundle(files);
    log.info({ dir: config.rootCaDir }, 'Use plugged-in CA certificate');
  } else {
    const r = await loadOrCreateSelfSigned({
      stateDir: config.stateDir, org: config.trustDomain, ttlMs: config.selfSignedCaCertTtlMs, rsaKeySize: config.selfSignedCaRsaKeySize,
    });
    bundle = r.bundle;
    log.info({ dir: config.stateDir, created: r.created }, r.created ? 'Created a self-signed root CA' : 'Loaded the self-signed root CA');
  }
  const ca = new IstioCA(bundle, {
    defaultTtlMs: config.defaultWorkloadCertTtlMs, maxTtlMs: config.maxWorkloadCertTtlMs, ttlOverMax: config.ttlOverMax, maxCsrBytes: config.maxCsrBytes,
  });

  // 2. Root distribution file and expiry metrics.
  const rootCertFile = join(config.stateDir, SELF_SIGNED_FILES.root);
  const rootListeners = new Set<(pem: string) => void>();
  const recordExpiry = (b: KeyCertBundle) => {
    const chainFirst = b.certChainPem ? parseCertificateBundle(b.certChainPem)[0] : undefined;
    metrics.recordCertsExpiry(b.rootCerts[0]?.cert.notAfter, chainFirst?.cert.notAfter);
  };
  recordExpiry(bundle);
  await writeFileAtomic(rootCertFile, bundle.rootCertPem);

  // 3. Authentication: client certificate first, then JWT_RULE issuers, then the caller's.
  const jwtAuthenticators = config.jwtRules.map((rule) => {
    if (rule.audiences.length === 0) log.warn({ issuer: rule.issuer }, 'JWT rule has no audiences: as in Istio, no token from this issuer will be accepted');
    return new JwtAuthenticator(rule, () => config.trustDomain);
  });
  const authenticators: Authenticator[] = [new ClientCertAuthenticator(), ...jwtAuthenticators, ...(opts.authenticators ?? [])];
  if (config.trustedNodeAccounts.length > 0 && !opts.authorizeImpersonation) {
    log.warn({ accounts: config.trustedNodeAccounts }, 'CA_TRUSTED_NODE_ACCOUNTS set without a node authorizer: trusted accounts may impersonate any identity');
  }
  const service = new CertificateService({
    ca, authenticators: () => authenticators, trustedNodeAccounts: config.trustedNodeAccounts,
    authorizeImpersonation: opts.authorizeImpersonation, metrics, log,
  });

  // 4. Serving certificate for the secure port.
  const serving = new ServingCertificate(ca, istiodDnsNames(config), config.servingCertTtlMs, config.servingCertRenewRatio,
    (e) => log.error({ err: e }, `failed to renew the istiod serving certificate: ${e.message}`));
  const first = await serving.renew();
  log.info({ dnsNames: first.dnsNames, notAfter: first.notAfter.toISOString() }, 'Issued the istiod serving certificate');

  // 5. Key material changes: self-signed root rotation, plug-in CA file updates.
  let closed = false;
  const applyBundle = async (next: KeyCertBundle, why: string) => {
    const rootChanged = next.rootCertPem !== ca.bundle.rootCertPem;
    ca.setBundle(next);
    recordExpiry(next);
    if (rootChanged) await writeFileAtomic(rootCertFile, next.rootCertPem);
    await serving.renew();
    log.info({ rootChanged }, `CA key material updated (${why}); istiod serving certificate re-issued`);
    if (rootChanged) for (const l of rootListeners) l(next.rootCertPem);
  };

  // One check at a time: the interval's and one asked for (a root another replica stored)
  // must not interleave their reads and writes of the state directory.
  let rotating: Promise<boolean> = Promise.resolve(false);
  const checkRootRotation = (): Promise<boolean> => (rotating = rotating.then(checkRootRotationNow, checkRootRotationNow));
  const checkRootRotationNow = async (): Promise<boolean> => {
    if (plugged || closed) return false;
    const next = await rotateSelfSignedIfDue(ca.bundle, {
      stateDir: config.stateDir, org: config.trustDomain, ttlMs: config.selfSignedCaCertTtlMs, rsaKeySize: config.selfSignedCaRsaKeySize,
      gracePercent: config.selfSignedRootCertGracePeriodPercentile,
    });
    if (!next) return false;
    await applyBundle(next, 'self-signed root rotation');
    return true;
  };
  let rotationTimer: NodeJS.Timeout | undefined;
  if (!plugged && config.selfSignedRootCertCheckIntervalMs > 0) {
    const interval = Math.min(config.selfSignedRootCertCheckIntervalMs, 2 ** 31 - 1);
    rotationTimer = setInterval(() => {
      checkRootRotation().catch((e: Error) => log.error({ err: e }, `self-signed root rotation failed: ${e.message}`));
    }, interval).unref();
  }

  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  if (plugged) {
    // Istio's handleCACertsFileWatch: reload after writes settle; only an intermediate change is accepted
    // (a different root needs a multi-root mesh, which Istio keeps off by default).
    const reload = async () => {
      const fresh = await loadPluginBundle(signingCaFiles(config.rootCaDir));
      if (fresh.rootCertPem.trim() !== ca.bundle.rootCertPem.trim()) {
        log.warn('Multi root is disabled, updating new ROOT-CA not supported');
        return;
      }
      if (fresh.signingCert.node.fingerprint256 === ca.bundle.signingCert.node.fingerprint256 && fresh.certChainPem === ca.bundle.certChainPem) return;
      await applyBundle(fresh, 'plug-in CA files changed');
    };
    try {
      watcher = watch(config.rootCaDir, () => {
        clearTimeout(debounce);
        debounce = setTimeout(() => {
          if (!closed) reload().catch((e: Error) => log.error({ err: e }, `Failed to update new Plug-in CA certs: ${e.message}`));
        }, 100).unref();
      });
      watcher.unref();
      watcher.on('error', (e) => log.warn({ err: e }, 'plug-in CA watch failed'));
    } catch (e) {
      log.warn({ err: e }, `failed to watch ${config.rootCaDir}; plug-in CA updates need a restart`);
    }
  }

  return {
    config,
    mode: plugged ? 'plugged' : 'self-signed',
    service: service.definition,
    implementation: service.implementation,
    addToServer: (server) => server.addService(service.definition, service.implementation),
    serverCredentials: () => serving.serverCredentials(),
    servingCertificate: () => serving.get(),
    onServingCertificate: (l) => serving.onUpdate(l),
    rootCertPem: () => ca.bundle.rootCertPem,
    rootCertFile,
    onRootCert: (l) => {
      rootListeners.add(l);
      return () => rootListeners.delete(l);
    },
    async sign(csrPem, identities, ttlSeconds = 0) {
      const chain = splitCertificates(await ca.signWithCertChain(csrPem, { subjectIds: identities, ttlMs: ttlSeconds * 1000 }));
      return [...chain, ca.bundle.rootCertPem];
    },
    authenticate: (call) => authenticate(authContextOf(call), authenticators),
    renewServingCertificate: () => serving.renew(),
    checkRootRotation,
    metrics,
    async close() {
      closed = true;
      clearInterval(rotationTimer);
      clearTimeout(debounce);
      watcher?.close();
      serving.close();
    },
  };
}
