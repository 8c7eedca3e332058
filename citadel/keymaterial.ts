// Where the CA's key material comes from, as istiod decides it (pilot/pkg/bootstrap/istio_ca.go):
// a plug-in CA in ROOT_CA_DIR (Istio's `cacerts` layout, or a kubernetes.io/tls layout), else a
// self-signed root. Istio keeps the self-signed root in the `istio-ca-secret` Secret; without a
// cluster Isthmus keeps the same two files (ca-cert.pem, ca-key.pem) in its state directory.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { verifiedBundle, type KeyCertBundle } from './ca.js';
import { createSelfSignedRoot, generateSigningKey, parseCertificatePem, parsePrivateKeyPem, type ParsedCert } from './pki.js';

export interface SigningCaFiles {
  rootCertFile: string;
  certChainFiles: string[];
  signingCertFile: string;
  signingKeyFile: string;
}

/** Istio's detectSigningCABundle: tls.crt/tls.key/ca.crt if tls.crt exists, else the cacerts names. */
export function signingCaFiles(dir: string): SigningCaFiles {
  if (existsSync(join(dir, 'tls.crt'))) {
    return {
      rootCertFile: join(dir, 'ca.crt'),
      certChainFiles: [join(dir, 'tls.crt'), join(dir, 'ca.crt')],
      signingCertFile: join(dir, 'tls.crt'),
      signingKeyFile: join(dir, 'tls.key'),
    };
  }
  return {
    rootCertFile: join(dir, 'root-cert.pem'),
    certChainFiles: [join(dir, 'cert-chain.pem')],
    signingCertFile: join(dir, 'ca-cert.pem'),
    signingKeyFile: join(dir, 'ca-key.pem'),
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Whether the plug-in bundle is complete (key, certificate, root, and a chain file exist; the chain may be
 * empty when the signing certificate is the root itself). A partial bundle is an error, as in Istio's
 * checkCABundleCompleteness.
 */
export async function pluginBundleState(files: SigningCaFiles): Promise<'complete' | 'absent'> {
  const required = [files.signingKeyFile, files.signingCertFile, files.rootCertFile];
  const present = await Promise.all(required.map(exists));
  const chains = await Promise.all(files.certChainFiles.map(exists));
  const chainOk = chains.some(Boolean);
  if (present.every(Boolean) && chainOk) return 'complete';
  if (!present.some(Boolean) && !chainOk) return 'absent';
  const missing = [...required.filter((_, i) => !present[i]), ...(chainOk ? [] : files.certChainFiles)];
  throw new Error(`failed to create an istiod CA: incomplete signing CA bundle detected (missing ${missing.join(', ')})`);
}

/** Loads and verifies a plug-in CA (Istio's NewPluggedCertIstioCAOptions). */
export async function loadPluginBundle(files: SigningCaFiles): Promise<KeyCertBundle> {
  const [certPem, keyPem, rootPem, ...chains] = await Promise.all([
    readFile(files.signingCertFile, 'utf8'), readFile(files.signingKeyFile, 'utf8'), readFile(files.rootCertFile, 'utf8'),
    ...files.certChainFiles.map((f) => readFile(f, 'utf8')),
  ]);
  let bundle: KeyCertBundle;
  try {
    bundle = await verifiedBundle(certPem!, keyPem!, chains.join(''), rootPem!);
  } catch (e) {
    throw new Error(`failed to create an istiod CA: failed to create CA KeyCertBundle (${(e as Error).message})`);
  }
  if (!bundle.signingCert.node.ca) throw new Error(`failed to create an istiod CA: ${files.signingCertFile}: certificate is not authorized to sign other certificates`);
  return bundle;
}

export const SELF_SIGNED_FILES = { cert: 'ca-cert.pem', key: 'ca-key.pem', root: 'root-cert.pem' } as const;

/** Writes a file atomically (temp file + rename) so a concurrent reader never sees half of it. */
export async function writeFileAtomic(path: string, data: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

/** Istio's AppendRootCerts: the CA certificate followed by any extra roots of `rootCertFile`. */
async function appendRootCerts(pemCert: string, rootCertFile: string | undefined): Promise<string> {
  if (!rootCertFile) return pemCert;
  let extra: string;
  try {
    extra = await readFile(rootCertFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return pemCert;
    throw new Error(`failed to append root certificates (${(e as Error).message})`);
  }
  return `${pemCert.replace(/\n$/, '')}\n${extra}`;
}

export interface SelfSignedOptions {
  stateDir: string;
  org: string;
  ttlMs: number;
  rsaKeySize: number;
  /** Extra roots to distribute with the self-signed one (Istio: ROOT_CA_DIR/root-cert.pem). */
  extraRootsFile?: string;
}

/**
 * Loads the persisted self-signed root from `stateDir`, or creates one (RSA, O=<trust domain>) and
 * persists it so that a restart keeps it. `created` tells which happened.
 */
export async function loadOrCreateSelfSigned(o: SelfSignedOptions): Promise<{ bundle: KeyCertBundle; created: boolean }> {
  const certFile = join(o.stateDir, SELF_SIGNED_FILES.cert);
  const keyFile = join(o.stateDir, SELF_SIGNED_FILES.key);
  const [certThere, keyThere] = await Promise.all([exists(certFile), exists(keyFile)]);
  if (certThere && keyThere) {
    const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    try {
      return { bundle: await verifiedBundle(certPem, keyPem, '', await appendRootCerts(certPem, o.extraRootsFile)), created: false };
    } catch (e) {
      throw new Error(`self-signed CA in ${o.stateDir} is unusable (${(e as Error).message}); move ${certFile} and ${keyFile} away to create a new root`);
    }
  }
  if (certThere !== keyThere) {
    throw new Error(`self-signed CA in ${o.stateDir}: ${certThere ? keyFile : certFile} is missing; restore it, or remove both files to create a new root`);
  }
  const key = await generateSigningKey({ type: 'rsa', bits: o.rsaKeySize });
  const root = await createSelfSignedRoot({ org: o.org, ttlMs: o.ttlMs, key });
  await mkdir(o.stateDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(keyFile, key.pem, 0o600);
  await writeFileAtomic(certFile, root.pem);
  const bundle = await verifiedBundle(root.pem, key.pem, '', await appendRootCerts(root.pem, o.extraRootsFile));
  return { bundle, created: true };
}

/** Time until a certificate enters its renewal grace period (Istio's CertUtil.GetWaitTime); <= 0: renew now. */
export function waitBeforeRenewal(cert: ParsedCert, gracePercent: number, now = Date.now()): number {
  const nb = cert.cert.notBefore.getTime();
  const na = cert.cert.notAfter.getTime();
  return na - now - (na - nb) * (gracePercent / 100);
}

/**
 * Istio's self-signed root rotation: once the root is within its grace period, a new root is issued with
 * the same key (so certificates already issued keep verifying), persisted, and returned. If another
 * replica already rotated the files, the files win. Returns undefined when nothing changed.
 */
export async function rotateSelfSignedIfDue(current: KeyCertBundle, o: SelfSignedOptions & { gracePercent: number }): Promise<KeyCertBundle | undefined> {
  const certFile = join(o.stateDir, SELF_SIGNED_FILES.cert);
  const keyFile = join(o.stateDir, SELF_SIGNED_FILES.key);
  let onDiskCert = current.signingCert.pem;
  let onDiskKey = current.signingKey.pem;
  try {
    [onDiskCert, onDiskKey] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  } catch {
    // files gone: keep serving from memory, rewrite below if due
  }
  const onDisk = parseCertificatePem(onDiskCert);
  if (waitBeforeRenewal(onDisk, o.gracePercent) > 0) {
    if (onDisk.node.fingerprint256 === current.signingCert.node.fingerprint256) return undefined;
    return verifiedBundle(onDiskCert, onDiskKey, '', await appendRootCerts(onDiskCert, o.extraRootsFile));
  }
  const key = await parsePrivateKeyPem(onDiskKey);
  const org = onDisk.cert.subjectName.getField('O')[0] ?? o.org;
  const root = await createSelfSignedRoot({ org, ttlMs: o.ttlMs, key });
  await writeFileAtomic(certFile, root.pem);
  await writeFileAtomic(keyFile, key.pem, 0o600);
  return verifiedBundle(root.pem, key.pem, '', await appendRootCerts(root.pem, o.extraRootsFile));
}
