// Certificates and CAs read out of Kubernetes Secrets and ConfigMaps the way istiod reads them:
// the keys decide, never the Secret's type.
import type { ConfigStore } from '../../config/store.js';
import type { ConfigMapBody, SecretBody } from '../../config/schema/ingress.js';
import { CA_SUFFIX, type CredentialRef } from './resource-names.js';

export interface CertInfo {
  cert: Buffer;
  key: Buffer;
  staple?: Buffer;
}

export interface RootInfo {
  ca: Buffer;
  crl?: Buffer;
}

type Data = Record<string, Buffer>;

function secretData(body: SecretBody): Data {
  const out: Data = {};
  for (const [k, v] of Object.entries(body.data ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}

function configMapData(body: ConfigMapBody): Data {
  const out: Data = {};
  for (const [k, v] of Object.entries(body.data ?? {})) out[k] = Buffer.from(v, 'utf8');
  return out;
}

function keysFound(data: Data): string {
  const keys = Object.keys(data).sort();
  return keys.length > 3 ? `${keys.slice(0, 3).join(', ')}, and ${keys.length - 3} more...` : keys.join(', ');
}

/** `cert`/`key` (generic Secrets) first, then `tls.crt`/`tls.key` (kubernetes.io/tls). */
function certOf(data: Data): CertInfo {
  const pairs: [string, string][] = [
    ['cert', 'key'],
    ['tls.crt', 'tls.key'],
  ];
  for (const [c, k] of pairs) {
    if (!(c in data) || !(k in data)) continue;
    if (!data[c]!.length || !data[k]!.length) throw new Error(`found keys "${c}" and "${k}", but they were empty`);
    return { cert: data[c]!, key: data[k]!, ...(c === 'tls.crt' && data['tls.ocsp-staple']?.length ? { staple: data['tls.ocsp-staple'] } : {}) };
  }
  throw new Error(`found secret, but didn't have expected keys (cert and key) or (tls.crt and tls.key); found: ${keysFound(data)}`);
}

/** `cacert` (with `crl`) first, then `ca.crt` (with `ca.crl`). */
function rootOf(data: Data): RootInfo {
  const pairs: [string, string][] = [
    ['cacert', 'crl'],
    ['ca.crt', 'ca.crl'],
  ];
  for (const [c, crl] of pairs) {
    if (!(c in data)) continue;
    if (!data[c]!.length) throw new Error(`found key "${c}", but it was empty`);
    return { ca: data[c]!, ...(data[crl]?.length ? { crl: data[crl] } : {}) };
  }
  throw new Error(`found secret, but didn't have expected keys cacert or ca.crt; found: ${keysFound(data)}`);
}

/** The certificate and key a (non-CA) reference names. */
export function certificateFor(store: ConfigStore, ref: CredentialRef): CertInfo {
  const secret = store.get<SecretBody>('Secret', ref.namespace, ref.name);
  if (!secret) throw new Error(`secret ${ref.namespace}/${ref.name} not found`);
  return certOf(secretData(secret.spec));
}

/**
 * The CA a `-cacert` (or `configmap://`) reference names: a Secret literally named NAME-cacert if
 * there is one (no fallback when it lacks CA keys), else the Secret NAME.
 */
export function rootFor(store: ConfigStore, ref: CredentialRef): RootInfo {
  const base = ref.name.endsWith(CA_SUFFIX) ? ref.name.slice(0, -CA_SUFFIX.length) : ref.name;
  if (ref.kind === 'configmap') {
    const cm = store.get<ConfigMapBody>('ConfigMap', ref.namespace, base);
    if (!cm) throw new Error(`configmap ${ref.namespace}/${base} not found`);
    return rootOf(configMapData(cm.spec));
  }
  const own = store.get<SecretBody>('Secret', ref.namespace, ref.name);
  if (own) return rootOf(secretData(own.spec));
  const secret = store.get<SecretBody>('Secret', ref.namespace, base);
  if (!secret) throw new Error(`secret ${ref.namespace}/${base} not found`);
  return rootOf(secretData(secret.spec));
}
