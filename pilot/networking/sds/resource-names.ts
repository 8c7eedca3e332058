// SDS resource names istiod serves itself (the rest — `default`, `ROOTCA`, `file-cert:` — are the
// local agent's): `kubernetes://[NS/]NAME` and `kubernetes-gateway://NS/NAME` for Secrets,
// `configmap://NS/NAME` for a CA in a ConfigMap. A name ending in `-cacert` asks for the CA only.

import { SDS_CA_SUFFIX } from '../gateway/tls.js';

export const CA_SUFFIX = SDS_CA_SUFFIX;

/** The object a name refers to: without its `-cacert`. */
export function credentialBaseName(name: string): string {
  return name.endsWith(CA_SUFFIX) ? name.slice(0, -CA_SUFFIX.length) : name;
}

export type CredentialKind = 'kubernetes' | 'kubernetes-gateway' | 'configmap';

export interface CredentialRef {
  kind: CredentialKind;
  namespace: string;
  /** The object's name as requested (with any `-cacert`). */
  name: string;
  caOnly: boolean;
}

const PREFIXES: [string, CredentialKind][] = [
  ['kubernetes://', 'kubernetes'],
  ['kubernetes-gateway://', 'kubernetes-gateway'],
  ['configmap://', 'configmap'],
];

/**
 * Reads a requested name; `kubernetes://NAME` is in the proxy's (verified) namespace. Only the
 * first two path segments count, as on istiod.
 */
export function parseCredentialName(resource: string, proxyNamespace: string): CredentialRef | { error: string } {
  const prefix = PREFIXES.find(([p]) => resource.startsWith(p));
  if (!prefix) return { error: `unknown resource type: ${resource}` };
  const [p, kind] = prefix;
  const parts = resource.slice(p.length).split('/');
  let namespace: string;
  let name: string;
  if (kind === 'kubernetes') {
    [namespace, name] = parts.length === 1 ? [proxyNamespace, parts[0]!] : [parts[0]!, parts[1]!];
  } else {
    if (parts.length < 2) return { error: `invalid resource name ${JSON.stringify(resource)}. Expected namespace and name` };
    [namespace, name] = [parts[0]!, parts[1]!];
    if (!namespace) return { error: `invalid resource name ${JSON.stringify(resource)}. Expected namespace` };
    if (!name) return { error: `invalid resource name ${JSON.stringify(resource)}. Expected name` };
  }
  return { kind, namespace, name, caOnly: name.endsWith(CA_SUFFIX) };
}
