// X.509 building blocks for the CA: PEM handling, keys, certificate templates. Certificates are
// built with @peculiar/x509 (ASN.1 by library, never by hand); keys live in Node's crypto
// (KeyObject) and are imported into WebCrypto for signing.
import * as x509 from './x509.js';
import {
  createPrivateKey, createPublicKey, generateKeyPair, randomBytes, sign as nodeSign, verify as nodeVerify, webcrypto, X509Certificate as NodeX509, type KeyObject,
} from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';

const subtle = webcrypto.subtle as unknown as SubtleCrypto;
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export type KeySpec = { type: 'rsa'; bits: number } | { type: 'ec'; curve: 'P-256' | 'P-384' | 'P-521' };

/** A private key usable both by Node's crypto and by WebCrypto (for @peculiar/x509). */
export interface SigningKey {
  spec: KeySpec;
  keyObject: KeyObject;
  cryptoKey: CryptoKey;
  /** Signature algorithm for certificates signed with this key (Go's defaults: SHA-256, SHA-384 for P-384, SHA-512 for P-521). */
  signingAlgorithm: Algorithm | EcdsaParams;
  /** PEM as Istio writes it: PKCS#1 for RSA, SEC1 for EC. */
  pem: string;
}

const CURVE_BY_NODE_NAME: Record<string, 'P-256' | 'P-384' | 'P-521'> = {
  prime256v1: 'P-256', 'P-256': 'P-256', secp384r1: 'P-384', 'P-384': 'P-384', secp521r1: 'P-521', 'P-521': 'P-521',
};
const NODE_CURVE: Record<'P-256' | 'P-384' | 'P-521', string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };
const HASH_BY_CURVE = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' } as const;

/** A view typed as ArrayBuffer-backed (Node Buffers are), as WebCrypto and @peculiar/x509 declare. */
export function bytes(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength);
}

// ---------------------------------------------------------------------------------------------
// PEM

export interface PemBlock {
  type: string;
  der: Buffer;
  /** The block's text, from BEGIN to END line inclusive, without surrounding newlines. */
  text: string;
}

const PEM_RE = /-----BEGIN ([^\r\n-]+(?:-[^\r\n-]+)*)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Every PEM block of `text`, in order. Blocks whose base64 is invalid are skipped. */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(PEM_RE)) {
    const body = m[2]!.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) continue;
    out.push({ type: m[1]!, der: Buffer.from(body, 'base64'), text: m[0] });
  }
  return out;
}

/** The first PEM block of `text` (what Go's pem.Decode returns), or undefined. */
export function firstPemBlock(text: string): PemBlock | undefined {
  return pemBlocks(text)[0];
}

/** DER → PEM with 64-column lines and a trailing newline, like Go's pem.EncodeToMemory. */
export function toPem(type: string, der: Uint8Array | ArrayBuffer): string {
  const b64 = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString('base64');
  let out = `-----BEGIN ${type}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += `${b64.slice(i, i + 64)}\n`;
  return `${out}-----END ${type}-----\n`;
}

/** The certificates of a PEM bundle, each as a PEM string ending in one newline. */
export function splitCertificates(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(PEM_RE)) if (m[1] === 'CERTIFICATE') out.push(`${m[0]}\n`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Keys

function specOf(keyObject: KeyObject): KeySpec {
  const d = keyObject.asymmetricKeyDetails ?? {};
  if (keyObject.asymmetricKeyType === 'rsa') return { type: 'rsa', bits: d.modulusLength ?? 0 };
  if (keyObject.asymmetricKeyType === 'ec') {
    const curve = CURVE_BY_NODE_NAME[d.namedCurve ?? ''];
    if (curve) return { type: 'ec', curve };
    throw new Error(`unsupported elliptic curve ${d.namedCurve}`);
  }
  throw new Error(`unsupported private key type ${keyObject.asymmetricKeyType}`);
}

/** Wraps a Node private key for signing certificates. */
export async function signingKeyFromKeyObject(keyObject: KeyObject): Promise<SigningKey> {
  const spec = specOf(keyObject);
  const pkcs8 = keyObject.export({ format: 'der', type: 'pkcs8' });
  let cryptoKey: CryptoKey;
  let signingAlgorithm: Algorithm | EcdsaParams;
  let pem: string;
  if (spec.type === 'rsa') {
    cryptoKey = await subtle.importKey('pkcs8', pkcs8, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    signingAlgorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm;
    pem = keyObject.export({ format: 'pem', type: 'pkcs1' }) as string;
  } else {
    cryptoKey = await subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: spec.curve }, false, ['sign']);
    signingAlgorithm = { name: 'ECDSA', hash: HASH_BY_CURVE[spec.curve] } as EcdsaParams;
    pem = keyObject.export({ format: 'pem', type: 'sec1' }) as string;
  }
  return { spec, keyObject, cryptoKey, signingAlgorithm, pem };
}

/** Parses a PEM private key (PKCS#1, SEC1 or PKCS#8, unencrypted). */
export async function parsePrivateKeyPem(text: string): Promise<SigningKey> {
  const block = firstPemBlock(text);
  if (!block || !/PRIVATE KEY$/.test(block.type)) throw new Error('invalid PEM-encoded key');
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: text, format: 'pem' });
  } catch (e) {
    throw new Error(`failed to parse the private key: ${(e as Error).message}`);
  }
  return signingKeyFromKeyObject(keyObject);
}

const generateKeyPairAsync = promisify(generateKeyPair);

/** Generates a new key pair (RSA or EC) off the main thread. */
export async function generateSigningKey(spec: KeySpec): Promise<SigningKey> {
  const pair = spec.type === 'rsa'
    ? await generateKeyPairAsync('rsa', { modulusLength: spec.bits, publicExponent: 0x10001 })
    : await generateKeyPairAsync('ec', { namedCurve: NODE_CURVE[spec.curve] });
  return signingKeyFromKeyObject(pair.privateKey);
}

/** SubjectPublicKeyInfo (DER) of a private key. */
export function spkiOf(key: SigningKey): Buffer {
  return createPublicKey(key.keyObject).export({ format: 'der', type: 'spki' });
}

// ---------------------------------------------------------------------------------------------
// Certificates

export interface ParsedCert {
  pem: string;
  cert: x509.X509Certificate;
  node: NodeX509;
}

export function parseCertificatePem(text: string): ParsedCert {
  const block = pemBlocks(text).find((b) => b.type === 'CERTIFICATE');
  if (!block) throw new Error('invalid PEM encoded certificate');
  try {
    return { pem: `${block.text}\n`, cert: new x509.X509Certificate(bytes(block.der)), node: new NodeX509(block.der) };
  } catch {
    throw new Error('failed to parse X.509 certificate');
  }
}

export function parseCertificateBundle(text: string): ParsedCert[] {
  return splitCertificates(text).map(parseCertificatePem);
}

/** 128-bit random positive serial number, as Go's x509 users in Istio generate. */
export function randomSerialHex(): string {
  const b = randomBytes(16);
  b[0]! &= 0x7f;
  if (b[0] === 0) b[0] = 0x01; // keep 16 significant bytes, and DER minimal
  return b.toString('hex');
}

/**
 * General names for Istio's SAN extension: IP addresses as iPAddress, `spiffe://` as URI, anything else
 * as dNSName (Istio's BuildSubjectAltNameExtension).
 */
export function sanGeneralNames(ids: string[]): x509.JsonGeneralNames {
  return ids.map((id) => {
    if (isIP(id)) return { type: 'ip' as const, value: id };
    if (id.startsWith('spiffe://')) return { type: 'url' as const, value: id };
    return { type: 'dns' as const, value: id };
  });
}

/** The identities in a certificate's SAN extension (URIs, DNS names, IPs), as Istio's ExtractIDs. */
export function certificateIdentities(cert: x509.X509Certificate): string[] {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (!san) throw new Error('the SAN extension does not exist');
  return san.names.items.filter((n) => n.type === 'url' || n.type === 'dns' || n.type === 'ip').map((n) => n.value);
}

export interface CaCertOptions {
  org: string;
  ttlMs: number;
  key: SigningKey;
  notBefore?: Date;
}

/**
 * A self-signed root as Istio's self-signed CA makes it (GenCertKeyFromOptions with IsCA, IsSelfSigned):
 * subject O=<org>, keyCertSign, CA:TRUE, a subject key identifier, NotBefore = now.
 */
export async function createSelfSignedRoot(opts: CaCertOptions): Promise<ParsedCert> {
  const notBefore = opts.notBefore ?? new Date();
  const spki = bytes(spkiOf(opts.key));
  const name = new x509.Name([{ '2.5.4.10': [opts.org] }]);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: name,
    issuer: name,
    notBefore,
    notAfter: new Date(notBefore.getTime() + opts.ttlMs),
    publicKey: spki,
    signingKey: opts.key.cryptoKey,
    signingAlgorithm: opts.key.signingAlgorithm,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      new x509.BasicConstraintsExtension(true, undefined, true),
      await x509.SubjectKeyIdentifierExtension.create(spki),
    ],
  });
  return parseCertificatePem(cert.toString('pem'));
}

export interface LeafTemplate {
  /** SubjectPublicKeyInfo DER of the certified key. */
  publicKey: BufferSource;
  subjectIds: string[];
  notBefore: Date;
  notAfter: Date;
  /** Dual use: the CN is the first identity when the CSR had a CN (Istio's genCertTemplateFromCSR). */
  commonName?: string;
  isCA: boolean;
}

const signAsync = promisify(nodeSign);
const NODE_HASH: Record<string, string> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

function hashName(alg: unknown): string | undefined {
  const h = (alg as { hash?: string | { name: string } }).hash;
  return NODE_HASH[typeof h === 'string' ? h : h?.name ?? ''];
}

/**
 * A WebCrypto facade for @peculiar/x509 whose `sign` runs Node's crypto.sign on the CA's KeyObject (in the
 * thread pool), without WebCrypto's per-call key and algorithm normalisation. ECDSA signatures come back in
 * WebCrypto's IEEE P1363 form, which the library converts to DER.
 */
function nodeSigningCrypto(key: SigningKey): Crypto {
  const keyOpts = key.spec.type === 'ec' ? { key: key.keyObject, dsaEncoding: 'ieee-p1363' as const } : key.keyObject;
  const subtle = {
    sign: async (alg: unknown, _key: CryptoKey, data: BufferSource) => {
      const view = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
      const sig = await signAsync(hashName(alg) ?? 'sha256', view, keyOpts);
      return sig.buffer.slice(sig.byteOffset, sig.byteOffset + sig.byteLength);
    },
  };
  return { subtle, getRandomValues: <T extends ArrayBufferView | null>(a: T) => webcrypto.getRandomValues(a as never) as T } as unknown as Crypto;
}

/**
 * Signs certificates for one CA certificate and key. The parts every leaf shares (issuer name, key usages,
 * basic constraints, authority key id) are built once; SAN extensions are cached per identity.
 */
export class CertificateIssuer {
  private readonly crypto: Crypto;
  private readonly leafExtensions: x509.Extension[];
  private readonly caExtensions: x509.Extension[];
  private readonly sanCache = new Map<string, x509.Extension>();

  constructor(readonly issuer: ParsedCert, readonly key: SigningKey) {
    this.crypto = nodeSigningCrypto(key);
    const ski = issuer.cert.getExtension(x509.SubjectKeyIdentifierExtension);
    const aki = ski ? [new x509.AuthorityKeyIdentifierExtension(ski.keyId, false)] : [];
    this.leafExtensions = [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      new x509.BasicConstraintsExtension(false, undefined, true),
      ...aki,
    ];
    this.caExtensions = [new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true), new x509.BasicConstraintsExtension(true, undefined, true)];
    this.caAki = aki;
  }

  private readonly caAki: x509.Extension[];

  private san(ids: string[]): x509.Extension {
    const k = ids.join('\n');
    let ext = this.sanCache.get(k);
    if (!ext) {
      // The subject is empty unless dual use: the SAN is then the only name, hence critical (RFC 5280 4.2.1.6).
      ext = new x509.SubjectAlternativeNameExtension(sanGeneralNames(ids), true);
      if (this.sanCache.size >= 4096) this.sanCache.clear();
      this.sanCache.set(k, ext);
    }
    return ext;
  }

  /** Signs a certificate for `tmpl`, extensions as Istio's genCertTemplateFromCSR. */
  async sign(tmpl: LeafTemplate): Promise<x509.X509Certificate> {
    const extensions = tmpl.isCA
      ? [...this.caExtensions, await x509.SubjectKeyIdentifierExtension.create(tmpl.publicKey), ...this.caAki, this.san(tmpl.subjectIds)]
      : [...this.leafExtensions, this.san(tmpl.subjectIds)];
    return x509.X509CertificateGenerator.create({
      serialNumber: randomSerialHex(),
      subject: tmpl.commonName ? new x509.Name([{ '2.5.4.3': [tmpl.commonName] }]) : undefined,
      issuer: this.issuer.cert.subjectName,
      notBefore: tmpl.notBefore,
      notAfter: tmpl.notAfter,
      publicKey: tmpl.publicKey,
      signingKey: this.key.cryptoKey,
      signingAlgorithm: this.key.signingAlgorithm,
      extensions,
    }, this.crypto);
  }
}

/** Signs one certificate (see CertificateIssuer, which amortises the shared parts over many). */
export async function signLeaf(tmpl: LeafTemplate, issuer: ParsedCert, issuerKey: SigningKey): Promise<x509.X509Certificate> {
  return new CertificateIssuer(issuer, issuerKey).sign(tmpl);
}

/**
 * Verifies a CSR's self-signature. RSA PKCS#1 v1.5 and ECDSA go straight to Node's crypto; other algorithms
 * (RSA-PSS, EdDSA) through WebCrypto. Rejects RSA keys under 1024 bits, as Go does.
 */
export async function verifyCsrSignature(csr: x509.Pkcs10CertificateRequest): Promise<boolean> {
  const spki = Buffer.from(csr.publicKey.rawData);
  const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  if (pub.asymmetricKeyType === 'rsa' && (pub.asymmetricKeyDetails?.modulusLength ?? 0) < 1024) {
    throw new Error(`RSA key of ${pub.asymmetricKeyDetails?.modulusLength} bits is too small (minimum 1024)`);
  }
  const alg = csr.signatureAlgorithm;
  const hash = hashName(alg);
  const tbs = (csr as unknown as { tbs: ArrayBuffer }).tbs;
  if (hash && tbs && ((alg.name === 'RSASSA-PKCS1-v1_5' && pub.asymmetricKeyType === 'rsa') || (alg.name === 'ECDSA' && pub.asymmetricKeyType === 'ec'))) {
    return nodeVerify(hash, new Uint8Array(tbs), pub, new Uint8Array(csr.signature));
  }
  return csr.verify();
}

/**
 * Checks that `leaf` chains to one of `roots` through `intermediates` (signatures, CA flags, validity now),
 * as Go's x509.Verify does for Istio's KeyCertBundle. Returns the path (leaf first, root last).
 */
export function verifyChain(leaf: ParsedCert, intermediates: ParsedCert[], roots: ParsedCert[], now = new Date()): ParsedCert[] {
  const valid = (c: ParsedCert) => c.cert.notBefore <= now && now <= c.cert.notAfter;
  // Intermediates must be CAs; a configured root is a trust anchor and is taken as is (as Go's x509 does).
  const issuedBy = (child: ParsedCert, parent: ParsedCert, anchor = false) => {
    if (!anchor && !parent.node.ca) return false;
    try {
      return child.node.checkIssued(parent.node) && child.node.verify(parent.node.publicKey);
    } catch {
      return false;
    }
  };
  const walk = (cur: ParsedCert, path: ParsedCert[]): ParsedCert[] | undefined => {
    if (!valid(cur)) return undefined;
    for (const r of roots) {
      if (r.node.fingerprint256 === cur.node.fingerprint256 && valid(r)) return path;
      if (issuedBy(cur, r, true) && valid(r)) return [...path, r];
    }
    if (path.length > 8) return undefined;
    for (const i of intermediates) {
      if (path.some((p) => p.node.fingerprint256 === i.node.fingerprint256)) continue;
      if (issuedBy(cur, i)) {
        const found = walk(i, [...path, i]);
        if (found) return found;
      }
    }
    return undefined;
  };
  const path = walk(leaf, [leaf]);
  if (!path) {
    const why = !valid(leaf) ? `certificate has expired or is not yet valid (valid ${leaf.cert.notBefore.toISOString()} to ${leaf.cert.notAfter.toISOString()})` : 'certificate signed by unknown authority';
    throw new Error(`cannot verify the cert with the provided root chain and cert pool with error: ${why}`);
  }
  return path;
}

/** Whether the certificate's public key is the one of `key`. */
export function keyMatchesCertificate(cert: ParsedCert, key: SigningKey): boolean {
  try {
    return cert.node.checkPrivateKey(key.keyObject);
  } catch {
    return false;
  }
}
