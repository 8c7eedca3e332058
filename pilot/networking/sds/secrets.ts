// SDS over ADS: the Kubernetes Secrets (and ConfigMap CAs) that gateways and sidecars name in
// `credentialName`, served as Envoy Secrets, as istiod's SecretGen serves them.
//
// Only to a proxy whose identity was verified (the TLS port, with the identity check on), and
// only what that identity may read: `kubernetes://` Secrets of its own namespace (in a cluster,
// when its service account may list Secrets there, by SubjectAccessReview; a CA alone needs no
// such right), `kubernetes-gateway://` Secrets its own Gateways reference (in their namespace,
// or another through a ReferenceGrant), and any
// `configmap://` CA. Refused or broken names are left out, and the rest is served. (As with
// istiod, Envoy keeps a Secret it already holds when a later response leaves it out: refusing
// a name stops new versions, it does not take the old one back.)
import { create } from '@bufbuild/protobuf';
import { SecretSchema, type Secret } from '../../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { pack } from '../envoy.js';
import type { Generate, NamedResource } from '../generator.js';
import { credentialResourceName } from '../gateway/tls.js';
import { mergedGatewayFor } from '../gateway/merge.js';
import { certificateFor, rootFor } from './credentials.js';
import { CA_SUFFIX, credentialBaseName, parseCredentialName, type CredentialRef } from './resource-names.js';
import { ANNOTATION } from '../../config/kube-conversion/common.js';
import type { ReferenceGrantSpec } from '../../config/schema/gateway-api.js';

const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

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

/**
 * Whether a ReferenceGrant in the Secret's namespace lets a Gateway API Gateway (or ListenerSet)
 * of `fromNamespace` use it.
 */
function grantAllows(push: PushContext, fromKind: 'Gateway' | 'ListenerSet', fromNamespace: string, secretNamespace: string, name: string): boolean {
  return push.configStore.list<ReferenceGrantSpec>('ReferenceGrant', secretNamespace).some(
    (rg) =>
      (rg.spec.from ?? []).some((f) => f.group === GATEWAY_API_GROUP && f.kind === fromKind && f.namespace === fromNamespace) &&
      (rg.spec.to ?? []).some((t) => (t.group ?? '') === '' && t.kind === 'Secret' && (!t.name || t.name === name)),
  );
}

/**
 * The `kubernetes-gateway://` names this router may read, as istiod verifies them: from Gateways
 * whose namespace (a ListenerSet's parent's, for its listeners) and service account are the
 * proxy's verified ones, naming a Secret of the Gateway's (or ListenerSet's) own namespace, or
 * of another that a ReferenceGrant opens to it.
 */
function gatewayReferences(push: PushContext, proxy: Proxy, identity: { namespace: string; serviceAccount: string }): Set<string> {
  const refs = new Set<string>();
  const merged = proxy.type === 'router' ? mergedGatewayFor(push, proxy) : undefined;
  for (const { servers } of merged?.mergedServers.values() ?? []) {
    for (const { server, gateway } of servers) {
      const tls = server.tls;
      if (!tls) continue;
      const annotations = gateway.meta.annotations;
      const parentNamespace = annotations[ANNOTATION.parentNamespace];
      const account = annotations[ANNOTATION.serviceAccount];
      if (identity.namespace !== (parentNamespace || gateway.meta.namespace)) continue;
      if (account && identity.serviceAccount !== account) continue;
      const lookupNamespace = gateway.meta.namespace;
      const fromKind = parentNamespace ? 'ListenerSet' : 'Gateway';
      // As istiod: credentialNames when set, else credentialName.
      const names = (tls.credentialNames?.length ? tls.credentialNames : [tls.credentialName]).filter((n): n is string => !!n);
      const caName = tls.caCertCredentialName?.startsWith('kubernetes-gateway://') ? tls.caCertCredentialName : undefined;
      for (const name of [...names, ...(caName ? [caName] : [])]) {
        const resource = credentialResourceName(name);
        const ref = parseCredentialName(resource, identity.namespace);
        if ('error' in ref || ref.kind !== 'kubernetes-gateway') continue;
        const allowed = ref.namespace === lookupNamespace || grantAllows(push, fromKind, lookupNamespace, ref.namespace, credentialBaseName(ref.name));
        if (!allowed) continue;
        refs.add(resource);
        if (name !== caName && (tls.mode === 'MUTUAL' || tls.mode === 'OPTIONAL_MUTUAL')) refs.add(`${resource}${CA_SUFFIX}`);
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
    else if (ref.kind === 'kubernetes-gateway') allowed = (gatewayRefs ??= gatewayReferences(push, proxy, identity)).has(resource);
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
