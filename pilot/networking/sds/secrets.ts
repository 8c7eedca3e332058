// SDS over ADS: the Kubernetes Secrets (and ConfigMap CAs) that gateways and sidecars name in
// `credentialName`, served as Envoy Secrets, as istiod's SecretGen serves them.
//
// Only to a proxy whose identity was verified (the TLS port, with the identity check on), and
// only what that identity may read: `kubernetes://` Secrets of its own namespace (in a cluster,
// when its service account may list Secrets there, by SubjectAccessReview; a CA alone needs no
// such right), `kubernetes-gateway://` Secrets its own Gateways reference, and any
// `configmap://` CA. Refused or broken names are left out, and the rest is served.
import { create } from '@bufbuild/protobuf';
import { SecretSchema, type Secret } from '../../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { pack } from '../envoy.js';
import type { Generate, NamedResource } from '../generator.js';
import { credentialResourceName } from '../gateway/tls.js';
import { mergedGatewayFor } from '../gateway/merge.js';
import { certificateFor, rootFor } from './credentials.js';
import { CA_SUFFIX, parseCredentialName, type CredentialRef } from './resource-names.js';

const bytes = (b: Buffer) => ({ specifier: { case: 'inlineBytes' as const, value: new Uint8Array(b) } });

function envoySecret(push: PushContext, resource: string, ref: CredentialRef): Secret {
  if (ref.caOnly || ref.kind === 'configmap') {
    const root = rootFor(push.configStore, ref);
    return create(SecretSchema, {
      name: resource,
      type: { case: 'validationContext', value: { trustedCa: bytes(root.ca), ...(root.crl ? { crl: bytes(root.crl) } : {}) } },
    });
  }
  const cert = certificateFor(push.configStore, ref);
  return create(SecretSchema, {
    name: resource,
    type: {
      case: 'tlsCertificate',
      value: { certificateChain: bytes(cert.cert), privateKey: bytes(cert.key), ...(cert.staple ? { ocspStaple: bytes(cert.staple) } : {}) },
    },
  });
}

/** `kubernetes-gateway://` names this router's own Gateways reference (their namespace is its own). */
function gatewayReferences(push: PushContext, proxy: Proxy, namespace: string): Set<string> {
  const refs = new Set<string>();
  const merged = proxy.type === 'router' ? mergedGatewayFor(push, proxy) : undefined;
  for (const { servers } of merged?.mergedServers.values() ?? []) {
    for (const { server, gateway } of servers) {
      const tls = server.tls;
      if (!tls || gateway.meta.namespace !== namespace) continue;
      for (const name of [tls.credentialName, ...(tls.credentialNames ?? []), tls.caCertCredentialName]) {
        if (!name) continue;
        const resource = credentialResourceName(name);
        refs.add(resource);
        if (tls.mode === 'MUTUAL' || tls.mode === 'OPTIONAL_MUTUAL') refs.add(`${resource}${CA_SUFFIX}`);
      }
    }
  }
  return refs;
}

export const secretsGenerator: Generate = (push, proxy, watch) => {
  const identity = proxy.verifiedIdentity;
  if (!identity) {
    if (watch.names.length) push.warn(`proxy ${proxy.id} is not authorized to receive credentials: it must connect over the TLS port and authenticate`);
    return [];
  }
  const out: NamedResource[] = [];
  const refused: string[] = [];
  let gatewayRefs: Set<string> | undefined;
  for (const resource of watch.names) {
    const ref = parseCredentialName(resource, identity.namespace);
    if ('error' in ref) {
      push.warn(`error parsing resource name: ${ref.error}`);
      continue;
    }
    let allowed: boolean;
    if (ref.kind === 'configmap') allowed = true;
    else if (ref.kind === 'kubernetes-gateway') allowed = (gatewayRefs ??= gatewayReferences(push, proxy, identity.namespace)).has(resource);
    else allowed = ref.namespace === identity.namespace && (ref.caOnly || push.secretAccess(identity.namespace, identity.serviceAccount));
    if (!allowed) {
      refused.push(resource);
      continue;
    }
    try {
      out.push({ name: resource, resource: pack(SecretSchema, envoySecret(push, resource, ref)) });
    } catch (e) {
      push.warn(`failed to fetch ${ref.caOnly || ref.kind === 'configmap' ? 'ca certificate' : 'key and certificate'} for ${resource}: ${(e as Error).message}`);
    }
  }
  if (refused.length) push.warn(`proxy ${proxy.id} attempted to access unauthorized certificates ${refused.slice(0, 3).join(', ')}${refused.length > 3 ? ` and ${refused.length - 3} more` : ''}`);
  return out;
};
