// The CA's Kubernetes token authenticator: how it reads a TokenReview's answer (the transport is
// exercised end to end in e2e-kube-mode.test.ts, against the API double).
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { KubeJwtAuthenticator, tokenAudiences, type TokenReviewStatus } from '../citadel/kube-jwt.js';

function ctx(headers: Record<string, string>) {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return { metadata, peer: 'ipv4:10.0.0.1:5000' };
}

const SA_GROUPS = ['system:serviceaccounts', 'system:serviceaccounts:shop', 'system:authenticated'];

function authenticator(status: TokenReviewStatus | Error, seen: { token: string; audiences: string[] }[] = []) {
  return new KubeJwtAuthenticator(
    async (token, audiences) => {
      seen.push({ token, audiences });
      if (status instanceof Error) throw status;
      return status;
    },
    ['istio-ca'],
    () => 'example.org',
  );
}

describe('KubeJWTAuthenticator (TokenReview answers)', () => {
  it('maps the reviewed service account to its SPIFFE identity, with pod details', async () => {
    const seen: { token: string; audiences: string[] }[] = [];
    const caller = await authenticator(
      { authenticated: true, user: { username: 'system:serviceaccount:shop:cart', groups: SA_GROUPS, extra: { 'authentication.kubernetes.io/pod-name': ['cart-0'], 'authentication.kubernetes.io/pod-uid': ['u-1'] } } },
      seen,
    ).authenticate(ctx({ authorization: 'Bearer tok' }));
    assert.deepEqual(caller.identities, ['spiffe://example.org/ns/shop/sa/cart']);
    assert.deepEqual(caller.kubernetes, { namespace: 'shop', serviceAccount: 'cart', podName: 'cart-0', podUid: 'u-1' });
    assert.deepEqual(seen, [{ token: 'tok', audiences: ['istio-ca'] }]);
  });

  const refusals: [string, TokenReviewStatus | Error, RegExp][] = [
    ['an error in the review', { error: 'token expired', authenticated: false }, /the service account authentication returns an error: token expired/],
    ['a token not authenticated', { authenticated: false }, /the token is not authenticated/],
    ['a user that is not a service account', { authenticated: true, user: { username: 'alice', groups: ['system:authenticated'] } }, /the token is not a service account/],
    ['a malformed username', { authenticated: true, user: { username: 'system:serviceaccount:shop', groups: SA_GROUPS } }, /invalid username field in the token review result/],
    ['an empty service account', { authenticated: true, user: { username: 'system:serviceaccount:shop:', groups: SA_GROUPS } }, /service account required/],
    ['a failed request', new Error('connection refused'), /failed to validate the JWT from cluster "Kubernetes": connection refused/],
  ];
  for (const [what, status, message] of refusals) {
    it(`refuses ${what}`, async () => {
      await assert.rejects(authenticator(status).authenticate(ctx({ authorization: 'Bearer tok' })), message);
    });
  }

  it('needs a bearer token, and refuses callers from clusters it does not know', async () => {
    const ok: TokenReviewStatus = { authenticated: true, user: { username: 'system:serviceaccount:shop:cart', groups: SA_GROUPS } };
    await assert.rejects(authenticator(ok).authenticate(ctx({})), /target JWT extraction error: no HTTP authorization header exists/);
    await assert.rejects(authenticator(ok).authenticate(ctx({ authorization: 'Basic x' })), /no bearer token exists/);
    await assert.rejects(authenticator(ok).authenticate(ctx({ authorization: 'Bearer t', clusterid: 'east' })), /client claims to be in cluster "east"/);
    const caller = await authenticator(ok).authenticate(ctx({ authorization: 'Bearer t', clusterid: 'Kubernetes' }));
    assert.equal(caller.identities.length, 1);
  });

  it('reads TOKEN_AUDIENCES as a comma-separated list, istio-ca by default', () => {
    assert.deepEqual(tokenAudiences({}), ['istio-ca']);
    assert.deepEqual(tokenAudiences({ TOKEN_AUDIENCES: 'istio-ca, other' }), ['istio-ca', 'other']);
  });
});
