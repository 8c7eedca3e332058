// Citadel's configuration from Istio's environment variables.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { ConfigError, formatGoDuration, loadCitadelConfig, parseGoDuration, parseJwtRule, parseTrustedNodeAccounts } from '../citadel/config.js';
import { istiodDnsNames } from '../citadel/serving.js';
import { parseSpiffeIdentity } from '../citadel/authenticate.js';

const H = 3600_000;

describe('citadel: configuration', () => {
  it('has istiod\'s defaults', () => {
    const c = loadCitadelConfig({});
    assert.equal(c.trustDomain, 'cluster.local');
    assert.equal(c.defaultWorkloadCertTtlMs, 24 * H);
    assert.equal(c.maxWorkloadCertTtlMs, 90 * 24 * H);
    assert.equal(c.selfSignedCaCertTtlMs, 3650 * 24 * H);
    assert.equal(c.selfSignedCaRsaKeySize, 2048);
    assert.equal(c.selfSignedRootCertCheckIntervalMs, H);
    assert.equal(c.selfSignedRootCertGracePeriodPercentile, 20);
    assert.equal(c.rootCaDir, resolve('./etc/cacerts'));
    assert.equal(c.stateDir, resolve('./var/citadel'));
    assert.deepEqual(c.jwtRules, []);
    assert.deepEqual(c.trustedNodeAccounts, []);
    assert.equal(c.ttlOverMax, 'reject');
    assert.deepEqual(istiodDnsNames(c), ['istio-pilot.istio-system.svc', 'istiod-remote.istio-system.svc', 'istiod.istio-system.svc']);
  });

  it('reads Istio\'s variables', () => {
    const c = loadCitadelConfig({
      TRUST_DOMAIN: 'example.org',
      JWT_RULE: '{"issuer": "https://issuer.example", "jwks_uri": "https://issuer.example/keys", "audiences": ["istio-ca", "other"]}',
      CA_TRUSTED_NODE_ACCOUNTS: 'istio-system/ztunnel, kube-system/node-agent,bogus',
      MAX_WORKLOAD_CERT_TTL: '48h',
      DEFAULT_WORKLOAD_CERT_TTL: '1h30m',
      ROOT_CA_DIR: '/etc/cacerts',
      CITADEL_SELF_SIGNED_CA_CERT_TTL: '87600h0m0s',
      CITADEL_SELF_SIGNED_CA_RSA_KEY_SIZE: '4096',
      CITADEL_SELF_SIGNED_ROOT_CERT_CHECK_INTERVAL: '0',
      CITADEL_SELF_SIGNED_ROOT_CERT_GRACE_PERIOD_PERCENTILE: '30',
      POD_NAMESPACE: 'mesh',
      REVISION: '1-24',
      ISTIOD_CUSTOM_HOST: 'cp.example.com,istiod.mesh.svc',
    });
    assert.equal(c.trustDomain, 'example.org');
    assert.deepEqual(c.jwtRules, [{ issuer: 'https://issuer.example', jwksUri: 'https://issuer.example/keys', audiences: ['istio-ca', 'other'] }]);
    assert.deepEqual(c.trustedNodeAccounts, [{ namespace: 'istio-system', name: 'ztunnel' }, { namespace: 'kube-system', name: 'node-agent' }]);
    assert.equal(c.maxWorkloadCertTtlMs, 48 * H);
    assert.equal(c.defaultWorkloadCertTtlMs, 1.5 * H);
    assert.equal(c.rootCaDir, '/etc/cacerts');
    assert.equal(c.selfSignedCaCertTtlMs, 87600 * H);
    assert.equal(c.selfSignedCaRsaKeySize, 4096);
    assert.equal(c.selfSignedRootCertCheckIntervalMs, 0);
    assert.equal(c.selfSignedRootCertGracePeriodPercentile, 30);
    assert.deepEqual(istiodDnsNames(c), ['cp.example.com', 'istio-pilot.mesh.svc', 'istiod-1-24.mesh.svc', 'istiod-remote.mesh.svc', 'istiod.mesh.svc']);
  });

  it('lets options override the environment', () => {
    const c = loadCitadelConfig({ TRUST_DOMAIN: 'from-env', MAX_WORKLOAD_CERT_TTL: '1h' }, { trustDomain: 'from-option', stateDir: '/tmp/x' });
    assert.equal(c.trustDomain, 'from-option');
    assert.equal(c.maxWorkloadCertTtlMs, H);
    assert.equal(c.stateDir, '/tmp/x');
  });

  it('parses JWT_RULE with inline JWKS and camelCase keys; TOKEN_ISSUER/AUDIENCE outside a cluster', () => {
    const jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }] };
    assert.deepEqual(parseJwtRule(JSON.stringify({ issuer: 'i', jwksUri: 'https://k', audiences: ['a'] })), { issuer: 'i', jwksUri: 'https://k', audiences: ['a'] });
    assert.deepEqual(parseJwtRule(JSON.stringify({ issuer: 'i', jwks: JSON.stringify(jwks) })), { issuer: 'i', audiences: [], jwks: JSON.stringify(jwks) });
    assert.deepEqual(parseJwtRule(JSON.stringify({ issuer: 'i', jwks })).jwks, JSON.stringify(jwks));
    assert.deepEqual(loadCitadelConfig({ TOKEN_ISSUER: 'https://oidc', AUDIENCE: 'istio-ca' }).jwtRules, [{ issuer: 'https://oidc', audiences: ['istio-ca'] }]);
    assert.deepEqual(loadCitadelConfig({ TOKEN_ISSUER: 'https://oidc', KUBERNETES_SERVICE_HOST: '10.0.0.1' }).jwtRules, []);
  });

  it('names the variable in its errors', () => {
    assert.throws(() => loadCitadelConfig({ MAX_WORKLOAD_CERT_TTL: '90 days' }), (e: Error) => e instanceof ConfigError && /MAX_WORKLOAD_CERT_TTL="90 days": invalid duration/.test(e.message));
    assert.throws(() => loadCitadelConfig({ JWT_RULE: '{nope' }), /JWT_RULE: failed to unmarshal JWT rule/);
    assert.throws(() => loadCitadelConfig({ JWT_RULE: '{"audiences": ["a"]}' }), /JWT_RULE: "issuer" is required/);
    assert.throws(() => loadCitadelConfig({ CITADEL_SELF_SIGNED_CA_RSA_KEY_SIZE: '1024' }), /minimum required size of 2048/);
    assert.throws(() => loadCitadelConfig({ DEFAULT_WORKLOAD_CERT_TTL: '0s' }), /DEFAULT_WORKLOAD_CERT_TTL must be positive/);
    assert.throws(() => loadCitadelConfig({ TRUST_DOMAIN: 'a/b' }), /not a valid SPIFFE trust domain/);
  });

  it('parses and prints Go durations', () => {
    const cases: Array<[string, number]> = [['24h', 24 * H], ['2160h0m0s', 2160 * H], ['1.5h', 1.5 * H], ['90m', 90 * 60_000], ['300ms', 300], ['1h2m3s', H + 123_000], ['0', 0], ['-5s', -5000]];
    for (const [text, ms] of cases) assert.equal(parseGoDuration(text), ms, text);
    for (const bad of ['', '5', 'h', '1d', '10 s']) assert.throws(() => parseGoDuration(bad), bad);
    assert.equal(formatGoDuration(2160 * H), '2160h0m0s');
    assert.equal(formatGoDuration(90 * 60_000), '1h30m0s');
    assert.equal(formatGoDuration(61_500), '1m1.5s');
    assert.equal(formatGoDuration(500), '500ms');
    assert.equal(formatGoDuration(0), '0s');
  });

  it('parses trusted node accounts and SPIFFE identities like Istio', () => {
    assert.deepEqual(parseTrustedNodeAccounts(''), []);
    assert.deepEqual(parseTrustedNodeAccounts('a/b,c'), [{ namespace: 'a', name: 'b' }]);
    assert.deepEqual(parseSpiffeIdentity('spiffe://td/ns/n/sa/s'), { trustDomain: 'td', namespace: 'n', serviceAccount: 's' });
    for (const bad of ['spiffe://td/ns/n', 'http://td/ns/n/sa/s', 'spiffe://td/ns//sa/s', 'spiffe://td/sa/s/ns/n', 'spiffe://td/ns/n/sa/s/x']) {
      assert.equal(parseSpiffeIdentity(bad), undefined, bad);
    }
  });
});
