// istiod's own serving certificate (DNS SANs istiod.istio-system.svc, ...) for the 15012 TLS listener,
// issued by the CA and renewed before it expires or when the CA changes. grpc-js picks renewed
// certificates up through a certificate provider (experimental.createCertificateProviderServerCredentials),
// which also asks clients for an optional certificate verified against the mesh roots, as istiod's
// VerifyClientCertIfGiven does, so workloads can renew with the certificate they hold.
import { experimental, type ServerCredentials } from '@grpc/grpc-js';
import type { IstioCA } from './ca.js';
import type { CitadelConfig } from './config.js';

type CertificateProvider = experimental.CertificateProvider;
type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export interface ServingKeyCert {
  /** Leaf first, then the CA chain (without the root for a self-signed CA). */
  certChainPem: string;
  privateKeyPem: string;
  /** The trust bundle clients of this listener need (the mesh roots). */
  caBundlePem: string;
  dnsNames: string[];
  notBefore: Date;
  notAfter: Date;
  serialNumber: string;
}

/** istiod's DNS names (Istio's getDNSNames): custom hosts, the discovery host, and the known service names. */
export function istiodDnsNames(c: Pick<CitadelConfig, 'customHosts' | 'discoveryHost' | 'istiodNamespace' | 'revision'>): string[] {
  const names = new Set<string>(c.customHosts);
  if (c.discoveryHost) names.add(c.discoveryHost);
  const known = ['istiod', 'istiod-remote', 'istio-pilot'];
  if (c.revision && c.revision !== 'default') known.push(`istiod-${c.revision}`);
  for (const k of known) names.add(`${k}.${c.istiodNamespace}.svc`);
  return [...names].sort();
}

// Node's timers hold at most 2^31-1 ms (~24.8 days); longer waits are chained.
const MAX_TIMER_MS = 2 ** 31 - 1;
// Never renew in a tight loop (a CA about to expire clamps every new certificate to its own end).
const MIN_RENEW_INTERVAL_MS = 1_000;

export class ServingCertificate implements CertificateProvider {
  private current: ServingKeyCert | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly updateListeners = new Set<(kc: ServingKeyCert) => void>();
  private credentials: ServerCredentials | undefined;
  private issuing: Promise<ServingKeyCert> | undefined;

  constructor(
    private readonly ca: IstioCA,
    readonly dnsNames: string[],
    private readonly ttlMs: number,
    private readonly renewRatio: number,
    private readonly onError: (e: Error) => void,
  ) {}

  get(): ServingKeyCert {
    if (!this.current) throw new Error('serving certificate not issued yet');
    return this.current;
  }

  onUpdate(listener: (kc: ServingKeyCert) => void): () => void {
    this.updateListeners.add(listener);
    return () => this.updateListeners.delete(listener);
  }

  /** Issues a fresh certificate now (also called when the CA's key material changes). */
  renew(): Promise<ServingKeyCert> {
    if (this.issuing) return this.issuing;
    const p = this.issue().finally(() => {
      if (this.issuing === p) this.issuing = undefined;
    });
    this.issuing = p;
    return p;
  }

  private async issue(): Promise<ServingKeyCert> {
    const issuedAt = Date.now();
    const { certChainPem, key, leaf } = await this.ca.genKeyCert(this.dnsNames, this.ttlMs);
    const kc: ServingKeyCert = {
      certChainPem,
      privateKeyPem: key.pem,
      caBundlePem: this.ca.bundle.rootCertPem,
      dnsNames: this.dnsNames,
      notBefore: leaf.cert.notBefore,
      notAfter: leaf.cert.notAfter,
      serialNumber: leaf.cert.serialNumber,
    };
    if (this.closed) return kc;
    this.current = kc;
    this.schedule(issuedAt, kc.notAfter.getTime());
    this.publish(kc);
    return kc;
  }

  /** Renews once `renewRatio` of the lifetime counted from issuance (not the back-dated NotBefore) has passed. */
  private schedule(issuedAt: number, notAfter: number): void {
    clearTimeout(this.timer);
    const renewAt = Math.max(issuedAt + (notAfter - issuedAt) * this.renewRatio, issuedAt + MIN_RENEW_INTERVAL_MS);
    const arm = () => {
      const wait = renewAt - Date.now();
      if (wait > MAX_TIMER_MS) {
        this.timer = setTimeout(arm, MAX_TIMER_MS).unref();
        return;
      }
      this.timer = setTimeout(() => {
        this.renew().catch((e: Error) => {
          this.onError(e);
          // Retry soon; the current certificate stays in use until it is replaced.
          if (!this.closed) this.timer = setTimeout(() => void this.renew().catch(this.onError), 5_000).unref();
        });
      }, Math.max(0, wait)).unref();
    };
    arm();
  }

  private publish(kc: ServingKeyCert): void {
    // Listeners registered by grpc-js (one per bound port) swap the TLS context of their listener in place.
    for (const l of this.caListeners) l({ caCertificate: Buffer.from(kc.caBundlePem) });
    for (const l of this.identityListeners) l({ certificate: Buffer.from(kc.certChainPem), privateKey: Buffer.from(kc.privateKeyPem) });
    for (const l of this.updateListeners) {
      try {
        l(kc);
      } catch (e) {
        this.onError(e as Error);
      }
    }
  }

  // CertificateProvider (grpc-js): the same object provides the identity and the CA certificates. The first
  // update is delivered in a microtask: grpc-js registers its port watcher only after adding these listeners.
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    const kc = this.current;
    if (kc) queueMicrotask(() => this.caListeners.has(listener) && listener({ caCertificate: Buffer.from(kc.caBundlePem) }));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    const kc = this.current;
    if (kc) queueMicrotask(() => this.identityListeners.has(listener) && listener({ certificate: Buffer.from(kc.certChainPem), privateKey: Buffer.from(kc.privateKeyPem) }));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  /**
   * Server credentials that always present the current serving certificate and accept (but do not
   * require) client certificates issued under the mesh roots. One instance, shareable by several ports.
   */
  serverCredentials(): ServerCredentials {
    // grpc-js 1.14 declares (ca, identity) but constructs (identity, ca): passing this object for both is order-proof.
    this.credentials ??= experimental.createCertificateProviderServerCredentials(this, this, false);
    return this.credentials;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.caListeners.clear();
    this.identityListeners.clear();
    this.updateListeners.clear();
  }
}
