// The self-signed mesh root, shared through the API server as istiod shares it: the Secret
// `istio-ca-secret` in the control plane's namespace. Without it every replica (and every restart
// of a pod, whose disk is gone) would make a root of its own, and workloads certified by one
// replica would not be trusted through another.
//
// The first replica to start creates the root and the Secret; one that loses that race (409)
// takes the winner's. The root then goes into the CA's state directory, where the CA loads it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { loadOrCreateSelfSigned, SELF_SIGNED_FILES, writeFileAtomic } from '../../citadel/keymaterial.js';
import type { CitadelConfig } from '../../citadel/config.js';
import { parseCertificatePem, parsePrivateKeyPem, spkiOf } from '../../citadel/pki.js';
import { KubeApiError, type KubeClient } from './client.js';
import type { ConfigStore } from '../config/store.js';
import type { Citadel } from '../../citadel/index.js';

export const CA_SECRET = 'istio-ca-secret';

interface CaSecret {
  data?: Record<string, string>;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

async function writeRoot(stateDir: string, certPem: string, keyPem: string): Promise<void> {
  await writeFileAtomic(join(stateDir, SELF_SIGNED_FILES.key), keyPem, 0o600);
  await writeFileAtomic(join(stateDir, SELF_SIGNED_FILES.cert), certPem);
}

/**
 * A stored root must be a certificate and the key it certifies: what is written to the state
 * directory is loaded on every start, so a broken one is named here, with its Secret.
 */
async function checkPair(certPem: string, keyPem: string, where: string): Promise<void> {
  try {
    const cert = parseCertificatePem(certPem);
    const key = await parsePrivateKeyPem(keyPem);
    if (!Buffer.from(cert.cert.publicKey.rawData).equals(spkiOf(key))) throw new Error('ca-key.pem is not the key of ca-cert.pem');
  } catch (e) {
    throw new Error(`${where} holds no usable root CA (${(e as Error).message}): repair the Secret, or delete it to have a new root made`);
  }
}

/** Makes the CA's state directory hold the mesh's shared self-signed root before the CA starts. */
export async function useSharedSelfSignedRoot(client: KubeClient, namespace: string, config: CitadelConfig, log?: Logger): Promise<'loaded' | 'created'> {
  const path = `/api/v1/namespaces/${namespace}/secrets`;
  const fetchShared = async (): Promise<{ certPem: string; keyPem: string } | undefined> => {
    try {
      const secret = await client.json<CaSecret>(`${path}/${CA_SECRET}`);
      const certPem = unb64(secret.data?.['ca-cert.pem']);
      const keyPem = unb64(secret.data?.['ca-key.pem']);
      if (!certPem || !keyPem) throw new Error(`${namespace}/${CA_SECRET} has no ca-cert.pem and ca-key.pem`);
      await checkPair(certPem, keyPem, `${namespace}/${CA_SECRET}`);
      return { certPem, keyPem };
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404) return undefined;
      throw err;
    }
  };

  const shared = await fetchShared();
  if (shared) {
    await writeRoot(config.stateDir, shared.certPem, shared.keyPem);
    log?.info({ secret: `${namespace}/${CA_SECRET}` }, 'Loaded the self-signed root CA from its Secret');
    return 'loaded';
  }
  // None yet: this replica's root (made now, or left in its directory) becomes the mesh's.
  await loadOrCreateSelfSigned({ stateDir: config.stateDir, org: config.trustDomain, ttlMs: config.selfSignedCaCertTtlMs, rsaKeySize: config.selfSignedCaRsaKeySize });
  const certPem = await readFile(join(config.stateDir, SELF_SIGNED_FILES.cert), 'utf8');
  const keyPem = await readFile(join(config.stateDir, SELF_SIGNED_FILES.key), 'utf8');
  try {
    await client.json(path, {
      method: 'POST',
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: CA_SECRET, namespace },
        type: 'istio.io/ca-root',
        data: { 'ca-cert.pem': b64(certPem), 'ca-key.pem': b64(keyPem), 'cert-chain.pem': '', 'root-cert.pem': b64(certPem) },
      },
    });
    log?.info({ secret: `${namespace}/${CA_SECRET}` }, 'Stored the self-signed root CA in its Secret');
    return 'created';
  } catch (err) {
    if (!(err instanceof KubeApiError && err.statusCode === 409)) throw err;
    const winner = await fetchShared();
    if (!winner) throw new Error(`${namespace}/${CA_SECRET} was created by another replica but cannot be read`);
    await writeRoot(config.stateDir, winner.certPem, winner.keyPem);
    log?.info({ secret: `${namespace}/${CA_SECRET}` }, "Another replica stored the root CA first: using that one");
    return 'loaded';
  }
}

/** Whether root `a` wins over `b`: the later one (notBefore), then any fixed order (fingerprint). */
function newerRoot(a: string, b: string): boolean {
  if (!b) return true;
  const [ca, cb] = [parseCertificatePem(a), parseCertificatePem(b)];
  const [ta, tb] = [ca.cert.notBefore.getTime(), cb.cert.notBefore.getTime()];
  return ta !== tb ? ta > tb : ca.node.fingerprint256 > cb.node.fingerprint256;
}

/**
 * Keeps this replica and `istio-ca-secret` on one root after start: a root this replica rotated
 * is written back to the Secret, and a root another replica wrote there is taken up (its files
 * replace the state directory's and the CA reloads them, as a rotation it made itself).
 */
export function followSharedRoot(
  client: KubeClient,
  store: ConfigStore,
  namespace: string,
  config: CitadelConfig,
  citadel: Pick<Citadel, 'onRootCert' | 'checkRootRotation'>,
  log?: Logger,
): () => void {
  const certFile = join(config.stateDir, SELF_SIGNED_FILES.cert);
  const keyFile = join(config.stateDir, SELF_SIGNED_FILES.key);
  const path = `/api/v1/namespaces/${namespace}/secrets/${CA_SECRET}`;
  let queue: Promise<void> = Promise.resolve();
  const serial = (work: () => Promise<void>) => {
    queue = queue.then(work).catch((err) => log?.warn({ err: (err as Error).message, secret: `${namespace}/${CA_SECRET}` }, 'could not sync the root CA with its Secret'));
  };

  /**
   * Brings this replica and the Secret to the newer of their roots. The Secret is read afresh
   * each time (a watch event may be behind), so replicas that rotated at once settle on one.
   */
  const sync = () =>
    serial(async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const [localCert, localKey] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
        const secret = await client.json<CaSecret & { metadata?: Record<string, unknown> }>(path);
        const sharedCert = unb64(secret.data?.['ca-cert.pem']);
        const sharedKey = unb64(secret.data?.['ca-key.pem']);
        if (sharedCert === localCert) return;
        if (sharedCert && newerRoot(sharedCert, localCert)) {
          await checkPair(sharedCert, sharedKey, `${namespace}/${CA_SECRET}`);
          await writeRoot(config.stateDir, sharedCert, sharedKey);
          if (await citadel.checkRootRotation()) log?.info({ secret: `${namespace}/${CA_SECRET}` }, 'Took up the root CA another replica stored');
          return;
        }
        const data = { ...secret.data, 'ca-cert.pem': b64(localCert), 'ca-key.pem': b64(localKey), 'root-cert.pem': b64(localCert) };
        try {
          // The resourceVersion makes a concurrent write fail (409): then compare again.
          await client.json(path, { method: 'PUT', body: { ...secret, data } });
          log?.info({ secret: `${namespace}/${CA_SECRET}` }, 'Stored the rotated root CA in its Secret');
          return;
        } catch (err) {
          if (!(err instanceof KubeApiError && err.statusCode === 409)) throw err;
        }
      }
    });

  const unsubscribeRoot = citadel.onRootCert(() => sync());
  const key = `Secret/${namespace}/${CA_SECRET}`;
  const unsubscribeStore = store.onChange((e) => {
    if (e.changed.has(key)) sync();
  });
  return () => {
    unsubscribeRoot();
    unsubscribeStore();
  };
}
