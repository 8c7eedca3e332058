// Kubernetes service-account tokens (Istio's KubeJWTAuthenticator): the API server says whether a
// bearer token is valid, through a TokenReview for the CA's audiences, and which service account
// it belongs to. The caller is then spiffe://TRUST_DOMAIN/ns/NS/sa/SA.
import type { AuthContext, Authenticator, Caller } from './authenticate.js';
import { extractBearerToken, spiffeUri } from './authenticate.js';

/** What the API server answered to a TokenReview (`status` of authentication.k8s.io/v1). */
export interface TokenReviewStatus {
  authenticated?: boolean;
  error?: string;
  user?: { username?: string; groups?: string[]; extra?: Record<string, string[]> };
  audiences?: string[];
}

/** Posts a TokenReview and returns its status (the transport lives outside citadel). */
export type TokenReviewer = (token: string, audiences: string[]) => Promise<TokenReviewStatus>;

const POD_NAME = 'authentication.kubernetes.io/pod-name';
const POD_UID = 'authentication.kubernetes.io/pod-uid';

export class KubeJwtAuthenticator implements Authenticator {
  readonly type = 'KubeJWTAuthenticator';

  constructor(
    private readonly review: TokenReviewer,
    /** TOKEN_AUDIENCES (default `istio-ca`). */
    private readonly audiences: string[],
    /** Read per call: the mesh's trust domain may change. */
    private readonly trustDomain: () => string,
    private readonly clusterId = 'Kubernetes',
  ) {}

  async authenticate(ctx: AuthContext): Promise<Caller> {
    let token: string;
    try {
      token = extractBearerToken(ctx.metadata);
    } catch (e) {
      throw new Error(`target JWT extraction error: ${(e as Error).message}`);
    }
    // A proxy from another cluster needs that cluster's API server; only the local one is known.
    const claimed = ctx.metadata.get('clusterid');
    const cluster = claimed.length === 1 ? String(claimed[0]) : '';
    if (cluster && cluster !== this.clusterId) {
      throw new Error(`client claims to be in cluster "${cluster}", but we only know about local cluster "${this.clusterId}" and remote clusters []`);
    }
    let status: TokenReviewStatus;
    try {
      status = await this.review(token, this.audiences);
    } catch (e) {
      throw new Error(`failed to validate the JWT from cluster "${this.clusterId}": ${(e as Error).message}`);
    }
    const { namespace, serviceAccount } = reviewedAccount(status, this.clusterId);
    const extra = status.user?.extra ?? {};
    return {
      source: 'IDToken',
      identities: [spiffeUri(this.trustDomain().replaceAll('@', '.'), namespace, serviceAccount)],
      kubernetes: { namespace, serviceAccount, podName: extra[POD_NAME]?.[0], podUid: extra[POD_UID]?.[0] },
    };
  }
}

/** The service account a review vouches for, checked in the order istiod checks it. */
function reviewedAccount(status: TokenReviewStatus, clusterId: string): { namespace: string; serviceAccount: string } {
  const fail = (reason: string) => new Error(`failed to validate the JWT from cluster "${clusterId}": ${reason}`);
  if (status.error) throw fail(`the service account authentication returns an error: ${status.error}`);
  if (!status.authenticated) throw fail('the token is not authenticated');
  if (!(status.user?.groups ?? []).includes('system:serviceaccounts')) throw fail('the token is not a service account');
  // system:serviceaccount:NAMESPACE:NAME
  const parts = (status.user?.username ?? '').split(':');
  if (parts.length !== 4) throw fail('invalid username field in the token review result');
  const [, , namespace, serviceAccount] = parts as [string, string, string, string];
  if (!serviceAccount) throw new Error('failed to parse the JWT; service account required');
  if (!namespace) throw new Error('failed to parse the JWT; namespace required');
  return { namespace, serviceAccount };
}

/** TOKEN_AUDIENCES: comma-separated, default `istio-ca`. */
export function tokenAudiences(env: NodeJS.ProcessEnv): string[] {
  const list = (env.TOKEN_AUDIENCES ?? 'istio-ca').split(',').map((a) => a.trim()).filter(Boolean);
  return list.length ? list : ['istio-ca'];
}
