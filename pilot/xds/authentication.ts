// Who may hold an xDS stream on the TLS port, as istiod decides with XDS_AUTH (default on).
//
// A stream on the TLS port must authenticate before its first request is read (the CA's
// authenticators: a client certificate the mesh root verifies, or a bearer JWT), else it ends with
// UNAUTHENTICATED "authentication failure". Once its node is known, one of the caller's SPIFFE
// identities must name the proxy's namespace and service account (PILOT_ENABLE_XDS_IDENTITY_CHECK,
// default on), else PERMISSION_DENIED: a workload cannot read another namespace's config, secrets'
// names or endpoints by claiming it in its node metadata. Plaintext streams (15010) are not
// authenticated, as on istiod: only the TLS port's handlers admit streams this way.
import { status } from '@grpc/grpc-js';
import { parseSpiffeIdentity, type SpiffeIdentity } from '../../citadel/authenticate.js';
import type { Stream } from './server.js';

/** An error whose gRPC status the xDS server sends when it ends the stream. */
export class XdsStatusError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

/** Resolves the caller's identities (SPIFFE URIs) or rejects with why not (logged, never sent). */
export type IdentityAuthenticator = (call: Stream) => Promise<string[]>;

/**
 * The identities of a stream's caller. A failure becomes UNAUTHENTICATED with Istio's message;
 * `onFailure` hears the authenticators' reasons.
 */
export async function streamIdentities(
  call: Stream,
  authenticate: IdentityAuthenticator,
  onFailure: (reason: string) => void,
): Promise<string[]> {
  try {
    return await authenticate(call);
  } catch (e) {
    onFailure((e as Error).message);
    throw new XdsStatusError(status.UNAUTHENTICATED, 'authentication failure');
  }
}

/**
 * The first identity that names the proxy's namespace and service account (either may be
 * unknown, and then matches any), as istiod's checkConnectionIdentity; PERMISSION_DENIED otherwise.
 */
export function checkConnectionIdentity(proxy: { namespace: string; serviceAccount?: string }, identities: string[]): SpiffeIdentity {
  for (const raw of identities) {
    const id = parseSpiffeIdentity(raw);
    if (!id) continue;
    if (proxy.namespace && id.namespace !== proxy.namespace) continue;
    if (proxy.serviceAccount && id.serviceAccount !== proxy.serviceAccount) continue;
    return id;
  }
  // Istio prints the identities as Go prints a slice: [a b].
  throw new XdsStatusError(status.PERMISSION_DENIED, `authorization failed: no identities ([${identities.join(' ')}]) matched ${proxy.namespace}/${proxy.serviceAccount ?? ''}`);
}
