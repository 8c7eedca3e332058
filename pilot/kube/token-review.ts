// TokenReview over the Kubernetes API, for the CA's KubeJWTAuthenticator.
import type { TokenReviewer, TokenReviewStatus } from '../../citadel/kube-jwt.js';
import type { KubeClient } from './client.js';

export function tokenReviewer(client: KubeClient): TokenReviewer {
  return async (token, audiences) => {
    const review = await client.json<{ status?: TokenReviewStatus }>('/apis/authentication.k8s.io/v1/tokenreviews', {
      method: 'POST',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences } },
    });
    return review.status ?? {};
  };
}
