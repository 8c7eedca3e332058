// Certificates and CAs in Kubernetes Secrets and ConfigMaps, read the way istiod reads them
// (its kubecreds ExtractCertInfo and ExtractRoot): the keys decide, never the Secret's type.
// Gateway API conversion checks them; SDS serves them.
import type { ConfigStore } from './store.js';
import type { ConfigMapBody, SecretBody } from './schema/ingress.js';

/** A decoded Secret/ConfigMap data map. */
export type DataMap = Record<string, Buffer>;

export function secretData(store: ConfigStore, namespace: string, name: string): DataMap | undefined {
  const s = store.get<SecretBody>('Secret', namespace, name);
  if (!s) return undefined;
  const out: DataMap = {};
  for (const [k, v] of Object.entries(s.spec.data ?? {})) out[k] = Buffer.from(v, 'base64');
  for (const [k, v] of Object.entries(s.spec.stringData ?? {})) out[k] = Buffer.from(v, 'utf8');
  return out;
}

export function configMapData(store: ConfigStore, namespace: string, name: string): DataMap | undefined {
  const c = store.get<ConfigMapBody>('ConfigMap', namespace, name);
  if (!c) return undefined;
  const out: DataMap = {};
  for (const [k, v] of Object.entries(c.spec.data ?? {})) out[k] = Buffer.from(v, 'utf8');
  for (const [k, v] of Object.entries(c.spec.binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}

function hasValue(d: DataMap, ...keys: string[]): boolean {
  return keys.every((k) => (d[k]?.length ?? 0) > 0);
}

function hasKeys(d: DataMap, ...keys: string[]): boolean {
  return keys.every((k) => k in d);
}

function keysMessage(d: DataMap): string {
  const keys = Object.keys(d).sort();
  return keys.length < 3 ? keys.join(', ') : `${keys.slice(0, 3).join(', ')}, and ${keys.length - 3} more...`;
}

/** `cert`/`key` first, then `tls.crt`/`tls.key` (with its OCSP staple). */
export function extractCertInfo(d: DataMap): { cert: Buffer; key: Buffer; staple?: Buffer } | { error: string } {
  if (hasValue(d, 'cert', 'key')) return { cert: d.cert!, key: d.key! };
  if (hasValue(d, 'tls.crt', 'tls.key')) return { cert: d['tls.crt']!, key: d['tls.key']!, ...(hasValue(d, 'tls.ocsp-staple') ? { staple: d['tls.ocsp-staple']! } : {}) };
  if (hasKeys(d, 'cert', 'key')) return { error: 'found keys "cert" and "key", but they were empty' };
  if (hasKeys(d, 'tls.crt', 'tls.key')) return { error: 'found keys "tls.crt" and "tls.key", but they were empty' };
  return { error: `found secret, but didn't have expected keys (cert and key) or (tls.crt and tls.key); found: ${keysMessage(d)}` };
}

/** `cacert` (with `crl`) first, then `ca.crt` (with `ca.crl`). */
export function extractRoot(d: DataMap): { cert: Buffer; crl?: Buffer } | { error: string } {
  if (hasValue(d, 'cacert')) return { cert: d.cacert!, ...(hasValue(d, 'crl') ? { crl: d.crl! } : {}) };
  if (hasValue(d, 'ca.crt')) return { cert: d['ca.crt']!, ...(hasValue(d, 'ca.crl') ? { crl: d['ca.crl']! } : {}) };
  if (hasKeys(d, 'cacert')) return { error: 'found key "cacert", but it was empty' };
  if (hasKeys(d, 'ca.crt')) return { error: 'found key "ca.crt", but it was empty' };
  return { error: `found secret, but didn't have expected keys cacert or ca.crt; found: ${keysMessage(d)}` };
}
