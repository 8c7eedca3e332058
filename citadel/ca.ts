// The signing CA: its key material (a KeyCertBundle, as Istio calls it) and CSR signing with
// Istio's rules (security/pkg/pki/ca/ca.go, security/pkg/pki/util/generate_cert.go).
import * as x509 from './x509.js';
import { formatGoDuration } from './config.js';
import { CaError } from './errors.js';
import {
  bytes, firstPemBlock, generateSigningKey, keyMatchesCertificate, parseCertificateBundle, parseCertificatePem, parsePrivateKeyPem,
  CertificateIssuer, spkiOf, toPem, verifyChain, verifyCsrSignature, type KeySpec, type ParsedCert, type SigningKey,
} from './pki.js';

/** The CA's signing certificate and key, the chain above it, and the roots it distributes. */
export interface KeyCertBundle {
  signingCert: ParsedCert;
  signingKey: SigningKey;
  /** Certificates between the signing certificate and the root, as configured (cert-chain.pem); '' for a self-signed root. */
  certChainPem: string;
  /** The trust bundle distributed to workloads (root-cert.pem); may hold several roots. */
  rootCertPem: string;
  rootCerts: ParsedCert[];
}

/**
 * Builds a bundle and verifies it as Istio's KeyCertBundle.VerifyAndSetAll does: the signing certificate
 * chains to a root through the chain, and the key belongs to the certificate.
 */
export async function verifiedBundle(certPem: string, keyPem: string, certChainPem: string, rootCertPem: string): Promise<KeyCertBundle> {
  const signingCert = parseCertificatePem(certPem);
  const rootCerts = parseCertificateBundle(rootCertPem);
  if (rootCerts.length === 0) throw new Error('no root certificate found in the root bundle');
  verifyChain(signingCert, parseCertificateBundle(certChainPem), rootCerts);
  let signingKey: SigningKey;
  try {
    signingKey = await parsePrivateKeyPem(keyPem);
  } catch (e) {
    throw new Error(`failed to parse private key PEM: ${(e as Error).message}`);
  }
  if (!keyMatchesCertificate(signingCert, signingKey)) throw new Error('the cert does not match the key');
  return { signingCert, signingKey, certChainPem, rootCertPem, rootCerts };
}

export interface SignOptions {
  /** Identities for the SAN extension (the authenticated caller's, never the CSR's). */
  subjectIds: string[];
  /** Requested lifetime; <= 0 means the default TTL. */
  ttlMs: number;
  forCA?: boolean;
  /** Enforce the maximum TTL (workload requests); off for certificates the control plane issues itself. */
  checkLifetime?: boolean;
}

export interface IstioCaOptions {
  defaultTtlMs: number;
  maxTtlMs: number;
  ttlOverMax: 'reject' | 'clamp';
  maxCsrBytes: number;
}

/** Clock skew allowance: certificates are valid from two minutes before issuance (Istio's ClockSkewGracePeriod). */
export const CLOCK_SKEW_GRACE_MS = 2 * 60_000;

export class IstioCA {
  private current: KeyCertBundle;
  private issuer: CertificateIssuer;
  private defaultTtlMs: number;

  constructor(bundle: KeyCertBundle, private readonly opts: IstioCaOptions) {
    this.current = bundle;
    this.issuer = new CertificateIssuer(bundle.signingCert, bundle.signingKey);
    this.defaultTtlMs = this.minTtl(opts.defaultTtlMs);
  }

  get bundle(): KeyCertBundle {
    return this.current;
  }

  setBundle(bundle: KeyCertBundle): void {
    this.current = bundle;
    this.issuer = new CertificateIssuer(bundle.signingCert, bundle.signingKey);
    this.defaultTtlMs = this.minTtl(this.opts.defaultTtlMs);
  }

  get effectiveDefaultTtlMs(): number {
    return this.defaultTtlMs;
  }

  /** The default TTL never outlives the CA chain (Istio's minTTL). */
  private minTtl(defaultTtlMs: number): number {
    if (!this.current.certChainPem) return defaultTtlMs;
    const first = parseCertificateBundle(this.current.certChainPem)[0];
    if (!first) return defaultTtlMs;
    const left = first.cert.notAfter.getTime() - Date.now();
    if (left <= 0) throw new Error('failed to get default cert TTL cert chain has expired');
    return Math.min(defaultTtlMs, left);
  }

  /** Signs a PEM CSR; returns the certificate PEM. Errors are CaErrors with Istio's types. */
  async sign(csrPem: string, o: SignOptions): Promise<string> {
    const bundle = this.current;
    if (!bundle) throw new CaError('CA_NOT_READY', 'Istio CA is not ready');
    if (csrPem.length > this.opts.maxCsrBytes) {
      throw new CaError('CSR_ERROR', `certificate signing request is ${csrPem.length} bytes, more than the ${this.opts.maxCsrBytes} allowed`);
    }
    const block = firstPemBlock(csrPem);
    if (!block) throw new CaError('CSR_ERROR', 'certificate signing request is not properly encoded');
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(bytes(block.der));
      void csr.subject; // force parsing of the lazily decoded fields
    } catch {
      throw new CaError('CSR_ERROR', 'failed to parse X.509 certificate signing request');
    }
    const spki = new Uint8Array(csr.publicKey.rawData);
    let verified: boolean;
    try {
      verified = await verifyCsrSignature(csr);
    } catch (e) {
      throw new CaError('CSR_ERROR', `x509: cannot verify signature: ${(e as Error).message}`);
    }
    if (!verified) throw new CaError('CSR_ERROR', 'x509: CSR signature does not match the public key it carries');
    const csrCn = csr.subjectName.getField('CN')[0];
    return this.issue(spki, o, Boolean(csrCn));
  }

  /** Issues a certificate for a public key (SPKI DER) with the TTL rules of sign. */
  private async issue(spki: Uint8Array<ArrayBuffer>, o: SignOptions, dualUse: boolean): Promise<string> {
    const bundle = this.current;
    let lifetime = o.ttlMs <= 0 ? this.defaultTtlMs : o.ttlMs;
    if ((o.checkLifetime ?? true) && o.ttlMs > this.opts.maxTtlMs) {
      if (this.opts.ttlOverMax === 'reject') {
        throw new CaError('TTL_ERROR', `requested TTL ${formatGoDuration(o.ttlMs)} is greater than the max allowed TTL ${formatGoDuration(this.opts.maxTtlMs)}`);
      }
      lifetime = this.opts.maxTtlMs;
    }

    const now = Date.now();
    const signerNotAfter = bundle.signingCert.cert.notAfter.getTime();
    if (now >= signerNotAfter) {
      throw new CaError('CERT_GEN_ERROR', `signing certificate has expired at ${bundle.signingCert.cert.notAfter.toISOString()}`);
    }
    // Never outlive the signing certificate.
    const notAfter = Math.min(now + lifetime, signerNotAfter);
    const commonName = dualUse && o.subjectIds[0] && o.subjectIds[0].length <= 64 ? o.subjectIds[0] : undefined;
    try {
      const cert = await this.issuer.sign({
        publicKey: spki,
        subjectIds: o.subjectIds,
        notBefore: new Date(now - CLOCK_SKEW_GRACE_MS),
        notAfter: new Date(notAfter),
        commonName,
        isCA: o.forCA ?? false,
      });
      return toPem('CERTIFICATE', cert.rawData);
    } catch (e) {
      throw new CaError('CERT_GEN_ERROR', (e as Error).message);
    }
  }

  /** Like sign, with the CA chain (cert-chain.pem) appended. */
  async signWithCertChain(csrPem: string, o: SignOptions): Promise<string> {
    const cert = await this.sign(csrPem, o);
    return cert + this.current.certChainPem;
  }

  /**
   * A key and certificate for the control plane's own names (Istio's GenKeyCert): the key has the CA key's
   * type (RSA 2048, or EC on the CA's curve), the TTL is not capped by the workload maximum.
   */
  async genKeyCert(hostnames: string[], ttlMs: number): Promise<{ certChainPem: string; key: SigningKey; leaf: ParsedCert }> {
    const caSpec = this.current.signingKey.spec;
    const spec: KeySpec = caSpec.type === 'ec' ? { type: 'ec', curve: caSpec.curve === 'P-384' ? 'P-384' : 'P-256' } : { type: 'rsa', bits: 2048 };
    const key = await generateSigningKey(spec);
    const leafPem = await this.issue(bytes(spkiOf(key)), { subjectIds: hostnames, ttlMs, checkLifetime: false }, false);
    const certChainPem = leafPem + this.current.certChainPem;
    return { certChainPem, key, leaf: parseCertificatePem(certChainPem) };
  }
}
