// Citadel's bearer-token authenticator against a real OIDC issuer over HTTP (discovery and jwks_uri),
// as istiod uses JWT_RULE outside a cluster.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Metadata } from '@grpc/grpc-js';
import { authenticate, ClientCertAuthenticator, JwtAuthenticator, type AuthContext } from '../citadel/authenticate.js';
import { TestIssuer } from '../citadel/testing.js';

function ctx(token?: string): AuthContext {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return { metadata, peer: 'ipv4:127.0.0.1:1' };
}

describe('citadel: JWT authentication against an OIDC issuer', function () {
  this.timeout(20_000);
  let server: Server;
  let base: string;
  let issuer: TestIssuer;
  let hits: string[];

  before(async () => {
    hits = [];
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/openid-configuration') res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/openid/v1/jwks` }));
      else if (req.url === '/openid/v1/jwks') res.end(issuer.jwks);
      else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    issuer = await TestIssuer.create(base, 'ES256');
  });

  after(() => new Promise<void>((r) => server.close(() => r())));

  it('discovers the keys from the issuer (no jwks_uri in the rule)', async () => {
    const a = new JwtAuthenticator({ issuer: base, audiences: ['istio-ca'] }, () => 'cluster.local');
    const caller = await a.authenticate(ctx(await issuer.token('foo', 'bar')));
    assert.deepEqual(caller.identities, ['spiffe://cluster.local/ns/foo/sa/bar']);
    assert.ok(hits.includes('/.well-known/openid-configuration') && hits.includes('/openid/v1/jwks'));
  });

  it('uses jwks_uri when the rule names it, and the current trust domain', async () => {
    let td = 'cluster.local';
    const a = new JwtAuthenticator({ issuer: base, audiences: ['istio-ca'], jwksUri: `${base}/openid/v1/jwks` }, () => td);
    td = 'example.org';
    const caller = await a.authenticate(ctx(await issuer.token('foo', 'bar', { aud: 'istio-ca' })));
    assert.deepEqual(caller.identities, ['spiffe://example.org/ns/foo/sa/bar']);
  });

  it('fails closed when the issuer cannot be reached, and retries discovery later', async () => {
    const a = new JwtAuthenticator({ issuer: `${base}/missing`, audiences: ['istio-ca'] }, () => 'cluster.local');
    await assert.rejects(a.authenticate(ctx(await issuer.token('foo', 'bar'))), /OIDC discovery .* failed: HTTP 404/);
    await assert.rejects(a.authenticate(ctx(await issuer.token('foo', 'bar'))), /OIDC discovery .* failed: HTTP 404/);
  });

  it('tries authenticators in order and reports every reason', async () => {
    const a = new JwtAuthenticator({ issuer: base, audiences: ['other'] }, () => 'cluster.local');
    await assert.rejects(authenticate(ctx(await issuer.token('foo', 'bar')), [new ClientCertAuthenticator(), a]), (e: Error & { failures?: string[] }) => {
      assert.deepEqual(e.failures, [
        'Authenticator ClientCertAuthenticator: no verified client certificate is presented',
        'Authenticator IDTokenAuthenticator: invalid audiences [istio-ca]',
      ]);
      return true;
    });
    const ok = new JwtAuthenticator({ issuer: base, audiences: ['istio-ca'] }, () => 'cluster.local');
    assert.equal((await authenticate(ctx(await issuer.token('foo', 'bar')), [new ClientCertAuthenticator(), a, ok])).source, 'IDToken');
  });

  it('refuses a rule without audiences, as Istio does', async () => {
    const a = new JwtAuthenticator({ issuer: base, audiences: [] }, () => 'cluster.local');
    await assert.rejects(a.authenticate(ctx(await issuer.token('foo', 'bar'))), /invalid audiences/);
  });
});
