// The certificate or CA an SDS reference names, out of the Secrets and ConfigMaps the store holds.
import type { ConfigStore } from '../../config/store.js';
import { configMapData, extractCertInfo, extractRoot, secretData } from '../../config/credentials.js';
import { credentialBaseName, type CredentialRef } from './resource-names.js';

export interface CertInfo {
  cert: Buffer;
  key: Buffer;
  staple?: Buffer;
}

export interface RootInfo {
  ca: Buffer;
  crl?: Buffer;
}

/** The certificate and key a (non-CA) reference names. */
export function certificateFor(store: ConfigStore, ref: CredentialRef): CertInfo {
  const data = secretData(store, ref.namespace, ref.name);
  if (!data) throw new Error(`secret ${ref.namespace}/${ref.name} not found`);
  const info = extractCertInfo(data);
  if ('error' in info) throw new Error(info.error);
  return info;
}

/**
 * The CA a `-cacert` (or `configmap://`) reference names: a Secret literally named NAME-cacert if
 * there is one (no fallback when it lacks CA keys), else the Secret NAME.
 */
export function rootFor(store: ConfigStore, ref: CredentialRef): RootInfo {
  const base = credentialBaseName(ref.name);
  const data =
    ref.kind === 'configmap'
      ? configMapData(store, ref.namespace, base)
      : (secretData(store, ref.namespace, ref.name) ?? secretData(store, ref.namespace, base));
  if (!data) throw new Error(`${ref.kind === 'configmap' ? 'configmap' : 'secret'} ${ref.namespace}/${base} not found`);
  const root = extractRoot(data);
  if ('error' in root) throw new Error(root.error);
  return { ca: root.cert, ...(root.crl ? { crl: root.crl } : {}) };
}
