// Citadel's IstioCertificateService through real peers: a grpc-js client over TLS that trusts only the
// mesh root, CSRs made by the openssl CLI, and `openssl verify` / `openssl x509 -text` on the answers.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createCitadel, type Citadel } from '../citadel/index.js';
import { IstioCaClient, openssl, opensslCsr, opensslText, opensslVerify, tempDir, TestIssuer } from '../citadel/testing.js';
import { pemBlocks, toPem } from '../citadel/pki.js';

interface LogLine { level: number; msg: string; reasons?: string[] }

function memoryLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}

async function listen(citadel: Citadel): Promise<{ server: grpc.Server; address: string; port: number }> {
  const server = new grpc.Server();
  citadel.addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', citadel.serverCredentials(), (err, p) => (err ? reject(err) : resolve(p))));
  return { server, address: `127.0.0.1:${port}`, port };
}

function grpcError(e: unknown): { code: number; details: string } {
  const err = e as grpc.ServiceError;
  return { code: err.code, details: err.details };
}

async function rejects(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    return grpcError(e);
  }
  assert.fail('expected the call to fail');
}

/** TLS handshake against the secure port as a client of istiod would do; returns the server's certificate. */
function peerCertificate(port: number, rootPem: string, servername = 'istiod.istio-system.svc'): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, ca: rootPem, ALPNProtocols: ['h2'] }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on('error', reject);
  });
}

const METRIC = (text: string, name: string, labels = ''): number => {
  const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
};

describe('citadel: CreateCertificate over TLS', function () {
  this.timeout(60_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let issuer: TestIssuer;
  let citadel: Citadel;
  let registry: Registry;
  let log: ReturnType<typeof memoryLogger>;
  let srv: Awaited<ReturnType<typeof listen>>;
  let client: IstioCaClient;
  let ec: { keyPem: string; csrPem: string };
  const BOOKINFO = 'spiffe://cluster.local/ns/default/sa/bookinfo';

  before(async () => {
    dir = await tempDir();
    issuer = await TestIssuer.create();
    registry = new Registry();
    log = memoryLogger();
    citadel = await createCitadel({
      env: {},
      registry,
      logger: log.logger,
      config: {
        stateDir: `${dir.path}/state`,
        rootCaDir: `${dir.path}/no-cacerts`,
        jwtRules: [{ issuer: issuer.issuer, audiences: ['istio-ca'], jwks: issuer.jwks }],
        trustedNodeAccounts: [{ namespace: 'istio-system', name: 'ztunnel' }],
      },
    });
    srv = await listen(citadel);
    client = new IstioCaClient({ address: srv.address, rootPem: citadel.rootCertPem() });
    ec = await opensslCsr('ec-p256');
  });

  after(async () => {
    client?.close();
    srv?.server.forceShutdown();
    await citadel?.close();
    await dir?.cleanup();
  });

  it('signs an ECDSA P-256 CSR: leaf then root, openssl verifies it against the root alone', async () => {
    const res = await client.createCertificate(ec.csrPem, { token: await issuer.token('default', 'bookinfo') });
    assert.equal(res.certChain.length, 2, 'self-signed CA: leaf and root');
    assert.equal(res.certChain[1], citadel.rootCertPem());
    for (const c of res.certChain) assert.ok(c.endsWith('-----END CERTIFICATE-----\n'));
    const v = await opensslVerify(res.certChain, citadel.rootCertPem());
    assert.ok(v.ok, v.output);
    // The certificate certifies the CSR's key.
    const leaf = new X509Certificate(res.certChain[0]!);
    const { stdout: csrPub } = await openssl(['req', '-noout', '-pubkey'], ec.csrPem);
    assert.equal(leaf.publicKey.export({ type: 'spki', format: 'pem' }), csrPub);
  });

  it('issues what Istio issues: SPIFFE URI SAN (critical), key usages, CA:FALSE, 24h validity back-dated 2 minutes', async () => {
    const before = Date.now();
    const res = await client.createCertificate(ec.csrPem, { token: await issuer.token('default', 'bookinfo') });
    const text = await opensslText(res.certChain[0]!);
    assert.match(text, /X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo\n/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
    assert.match(text, /X509v3 Extended Key Usage: \s*\n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE\n/);
    assert.match(text, /X509v3 Authority Key Identifier:/);
    assert.match(text, /Subject: *\n/, 'empty subject when the CSR has no CN');
    assert.match(text, /Issuer: O = cluster\.local\n/);
    assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
    const leaf = new X509Certificate(res.certChain[0]!);
    const nb = Date.parse(leaf.validFrom);
    const na = Date.parse(leaf.validTo);
    assert.ok(Math.abs(nb - (before - 120_000)) < 5_000, `NotBefore ${leaf.validFrom}`);
    assert.ok(Math.abs(na - (before + 24 * 3600_000)) < 5_000, `NotAfter ${leaf.validTo}`);
  });

  it('accepts RSA CSRs and honours validity_duration', async () => {
    const rsa = await opensslCsr('rsa-2048');
    const before = Date.now();
    const res = await client.createCertificate(rsa.csrPem, { token: await issuer.token('prod', 'reviews'), ttlSeconds: 3600 });
    const v = await opensslVerify(res.certChain, citadel.rootCertPem());
    assert.ok(v.ok, v.output);
    const text = await opensslText(res.certChain[0]!);
    assert.match(text, /Public-Key: \(2048 bit\)/);
    assert.match(text, /URI:spiffe:\/\/cluster\.local\/ns\/prod\/sa\/reviews\n/);
    const na = Date.parse(new X509Certificate(res.certChain[0]!).validTo);
    assert.ok(Math.abs(na - (before + 3600_000)) < 5_000);
  });

  it('gives the caller its own identity, whatever SANs the CSR asks for (CN becomes the identity, as dual use)', async () => {
    const evil = await opensslCsr('ec-p256', { subject: '/CN=admin', sans: ['URI:spiffe://cluster.local/ns/istio-system/sa/istiod', 'DNS:istiod.istio-system.svc', 'IP:10.0.0.1'] });
    const res = await client.createCertificate(evil.csrPem, { token: await issuer.token('default', 'bookinfo') });
    const text = await opensslText(res.certChain[0]!);
    const san = /X509v3 Subject Alternative Name: critical\s+(.*)\n/.exec(text)?.[1];
    assert.equal(san, `URI:${BOOKINFO}`);
    assert.match(text, /Subject: CN = spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo\n/);
  });

  it('the secure port serves istiod\'s names, issued by the mesh root', async () => {
    const cert = await peerCertificate(srv.port, citadel.rootCertPem());
    const sans = (cert.subjectaltname ?? '').split(', ').sort();
    assert.deepEqual(sans, ['DNS:istio-pilot.istio-system.svc', 'DNS:istiod-remote.istio-system.svc', 'DNS:istiod.istio-system.svc']);
    const kc = citadel.servingCertificate();
    assert.equal(kc.caBundlePem, citadel.rootCertPem());
    assert.ok(kc.notAfter.getTime() - Date.now() > 300 * 24 * 3600_000, 'Istio issues its serving certificate for the CA TTL');
    const v = await opensslVerify(splitPem(kc.certChainPem).concat(citadel.rootCertPem()), citadel.rootCertPem());
    assert.ok(v.ok, v.output);
    const text = await opensslText(kc.certChainPem);
    assert.match(text, /TLS Web Server Authentication/);
    // A client that checks another name, or trusts another root, is refused by its own TLS stack.
    await assert.rejects(peerCertificate(srv.port, citadel.rootCertPem(), 'evil.example.com'));
  });

  it('refuses with Istio\'s codes and messages, counts each refusal, and keeps serving', async () => {
    const other = await TestIssuer.create(issuer.issuer, 'RS256', 'test-key'); // same kid, different key: bad signature
    const now = Math.floor(Date.now() / 1000);
    const der = pemBlocks(ec.csrPem)[0]!.der;
    const tampered = Buffer.from(der);
    tampered[tampered.length - 2]! ^= 0xff; // inside the signature's last INTEGER: still DER, no longer valid
    const cases: Array<{ name: string; call: () => Promise<unknown>; code: grpc.status; details: string | RegExp; log?: RegExp }> = [
      { name: 'no token', call: () => client.createCertificate(ec.csrPem), code: grpc.status.UNAUTHENTICATED, details: 'request authenticate failure', log: /no HTTP authorization header exists/ },
      { name: 'not a bearer token', call: () => client.createCertificate(ec.csrPem, { headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } }), code: grpc.status.UNAUTHENTICATED, details: 'request authenticate failure', log: /no bearer token exists in HTTP authorization header/ },
      { name: 'expired token', call: async () => client.createCertificate(ec.csrPem, { token: await issuer.token('default', 'bookinfo', { exp: now - 60, iat: now - 3600 }) }), code: grpc.status.UNAUTHENTICATED, details: 'request authenticate failure', log: /token is expired/ },
      { name: 'wrong audience', call: async () => client.createCertificate(ec.csrPem, { token: await issuer.token('default', 'bookinfo', { aud: ['not-istio'] }) }), code: grpc.status.UNAUTHENTICATED, details: 'request authenticate failure', log: /invalid audiences \[not-istio\]/ },
      { name: 'wrong issuer', call: async () => client.createCertificate(ec.csrPem, { token: await issuer.token('default', 'bookinfo', { iss: 'https://evil.example.com' }) }), code: grpc.status.UNAUTHENTICATED, details: 'request authenticate failure', log: /issued by a different provider/ },
      { name: 'bad signature', call: async () => client.createCertificate(ec.csrPem, { token: await other.token('default', 'bookinfo') }), code: grpc.status.UNAUTHENTICATED, details: 'request authenticate failure', log: /failed to verify id token signature/ },
      { name: 'not a service account', call: async () => client.createCertificate(ec.csrPem, { token: await issuer.token('default', 'bookinfo', { sub: 'alice' }) }), code: grpc.status.UNAUTHENTICATED, details: 'request authenticate failure', log: /invalid sub alice/ },
      { name: 'unsigned token', call: async () => client.createCertificate(ec.csrPem, { token: unsignedToken(issuer.issuer) }), code: grpc.status.UNAUTHENTICATED, details: 'request authenticate failure' },
      { name: 'impersonation without trust', call: async () => client.createCertificate(ec.csrPem, { token: await issuer.token('default', 'bookinfo'), metadata: { ImpersonatedIdentity: 'spiffe://cluster.local/ns/prod/sa/db' } }), code: grpc.status.UNAUTHENTICATED, details: 'request impersonation authentication failure', log: /is not allowed to impersonate/ },
      { name: 'garbage CSR bytes', call: async () => client.createCertificate('\u0000\u0001 definitely not a CSR', { token: await issuer.token('default', 'bookinfo') }), code: grpc.status.INVALID_ARGUMENT, details: 'CSR signing error (certificate signing request is not properly encoded)' },
      { name: 'garbage inside PEM armour', call: async () => client.createCertificate(toPem('CERTIFICATE REQUEST', Buffer.from('garbage, not DER')), { token: await issuer.token('default', 'bookinfo') }), code: grpc.status.INVALID_ARGUMENT, details: 'CSR signing error (failed to parse X.509 certificate signing request)' },
      { name: 'CSR signature does not match its key', call: async () => client.createCertificate(toPem('CERTIFICATE REQUEST', tampered), { token: await issuer.token('default', 'bookinfo') }), code: grpc.status.INVALID_ARGUMENT, details: 'CSR signing error (x509: CSR signature does not match the public key it carries)' },
      { name: 'TTL above MAX_WORKLOAD_CERT_TTL', call: async () => client.createCertificate(ec.csrPem, { token: await issuer.token('default', 'bookinfo'), ttlSeconds: 91 * 24 * 3600 }), code: grpc.status.INVALID_ARGUMENT, details: 'CSR signing error (requested TTL 2184h0m0s is greater than the max allowed TTL 2160h0m0s)' },
      { name: 'oversized CSR', call: async () => client.createCertificate(ec.csrPem + 'x'.repeat(100_000), { token: await issuer.token('default', 'bookinfo') }), code: grpc.status.INVALID_ARGUMENT, details: /^CSR signing error \(certificate signing request is \d+ bytes, more than the 65536 allowed\)$/ },
      { name: 'oversized request (above gRPC\'s 4 MiB)', call: async () => client.createCertificate('x'.repeat(5 * 1024 * 1024), { token: await issuer.token('default', 'bookinfo') }), code: grpc.status.RESOURCE_EXHAUSTED, details: /larger than max/ },
    ];
    for (const c of cases) {
      const metricsBefore = await registry.metrics();
      const failed = METRIC(metricsBefore, 'citadel_server_authentication_failure_count');
      const linesBefore = log.lines.length;
      const err = await rejects(c.call());
      assert.equal(err.code, c.code, `${c.name}: code ${err.code} (${err.details})`);
      if (typeof c.details === 'string') assert.equal(err.details, c.details, c.name);
      else assert.match(err.details, c.details, c.name);
      if (c.code === grpc.status.UNAUTHENTICATED) {
        assert.equal(METRIC(await registry.metrics(), 'citadel_server_authentication_failure_count'), failed + 1, `${c.name} is counted`);
      }
      if (c.log) {
        const logged = log.lines.slice(linesBefore).map((l) => l.msg).join('\n');
        assert.match(logged, c.log, `${c.name}: the log says why`);
      }
      // ... and the server goes on serving.
      const ok = await client.createCertificate(ec.csrPem, { token: await issuer.token('default', 'bookinfo') });
      assert.equal(ok.certChain.length, 2, `serving after ${c.name}`);
    }
    const text = await registry.metrics();
    assert.equal(METRIC(text, 'citadel_server_csr_sign_err_count', '{error="CSR_ERROR"}'), 4);
    assert.equal(METRIC(text, 'citadel_server_csr_sign_err_count', '{error="TTL_ERROR"}'), 1);
    assert.equal(METRIC(text, 'citadel_server_csr_sign_error_count', '{error="CSR_ERROR"}'), 4);
  });

  it('lets a trusted node account (CA_TRUSTED_NODE_ACCOUNTS) ask for another identity', async () => {
    const res = await client.createCertificate(ec.csrPem, {
      token: await issuer.token('istio-system', 'ztunnel'),
      metadata: { ImpersonatedIdentity: 'spiffe://cluster.local/ns/prod/sa/db' },
    });
    assert.match(await opensslText(res.certChain[0]!), /URI:spiffe:\/\/cluster\.local\/ns\/prod\/sa\/db\n/);
    const bad = await rejects(client.createCertificate(ec.csrPem, {
      token: await issuer.token('istio-system', 'ztunnel'), metadata: { ImpersonatedIdentity: 'not-a-spiffe-id' },
    }));
    assert.deepEqual(bad, { code: grpc.status.UNAUTHENTICATED, details: 'request impersonation authentication failure' });
    // Only a token vouches for a node account, as in Istio: its certificate alone cannot impersonate.
    const mtls = new IstioCaClient({
      address: srv.address, rootPem: citadel.rootCertPem(),
      clientCert: { certChainPem: (await client.createCertificate(ec.csrPem, { token: await issuer.token('istio-system', 'ztunnel') })).certChain[0]!, keyPem: ec.keyPem },
    });
    try {
      const viaCert = await rejects(mtls.createCertificate(ec.csrPem, { metadata: { ImpersonatedIdentity: 'spiffe://cluster.local/ns/prod/sa/db' } }));
      assert.deepEqual(viaCert, { code: grpc.status.UNAUTHENTICATED, details: 'request impersonation authentication failure' });
    } finally {
      mtls.close();
    }
  });

  it('renews for the same identity with a certificate it issued, without a token', async () => {
    const first = await client.createCertificate(ec.csrPem, { token: await issuer.token('default', 'bookinfo') });
    const mtls = new IstioCaClient({
      address: srv.address, rootPem: citadel.rootCertPem(), clientCert: { certChainPem: first.certChain.slice(0, -1).join(''), keyPem: ec.keyPem },
    });
    try {
      const fresh = await opensslCsr('ec-p256', { sans: ['URI:spiffe://cluster.local/ns/prod/sa/db'] });
      const renewed = await mtls.createCertificate(fresh.csrPem);
      assert.match(await opensslText(renewed.certChain[0]!), new RegExp(`URI:${BOOKINFO.replace(/[/.]/g, '\\$&')}\\n`));
      // The certificate decides first: a token for someone else does not change the identity.
      const withToken = await mtls.createCertificate(fresh.csrPem, { token: await issuer.token('prod', 'db') });
      assert.match(await opensslText(withToken.certChain[0]!), /URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo\n/);
    } finally {
      mtls.close();
    }
  });

  it('does not accept a client certificate from another CA', async () => {
    const d = await tempDir();
    try {
      const key = `${d.path}/k.pem`;
      const crt = `${d.path}/c.pem`;
      const r = await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt,
        '-days', '1', '-subj', '/O=evil', '-addext', `subjectAltName=URI:${BOOKINFO}`]);
      assert.equal(r.code, 0, r.stderr);
      const { readFile } = await import('node:fs/promises');
      const evil = new IstioCaClient({ address: srv.address, rootPem: citadel.rootCertPem(), clientCert: { certChainPem: await readFile(crt, 'utf8'), keyPem: await readFile(key, 'utf8') } });
      try {
        const err = await rejects(evil.createCertificate(ec.csrPem));
        assert.deepEqual(err, { code: grpc.status.UNAUTHENTICATED, details: 'request authenticate failure' });
      } finally {
        evil.close();
      }
    } finally {
      await d.cleanup();
    }
  });

  it('authenticates other calls on the same port (e.g. xDS streams) with the same rules', async () => {
    const raw = (b: Buffer) => b;
    const whoami: grpc.ServiceDefinition = {
      whoami: { path: '/isthmus.test.Who/Whoami', requestStream: true, responseStream: true, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw },
    };
    const server = new grpc.Server();
    server.addService(whoami, {
      whoami: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        citadel.authenticate(call).then(
          (caller) => {
            call.write(Buffer.from(caller.identities.join(',')));
            call.end();
          },
          (e: Error) => call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: e.message }),
        );
        call.on('data', () => {});
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', citadel.serverCredentials(), (e, p) => (e ? reject(e) : resolve(p))));
    const Ctor = grpc.makeGenericClientConstructor(whoami, 'Who');
    const creds = grpc.credentials.createSsl(Buffer.from(citadel.rootCertPem()));
    const cli = new Ctor(`127.0.0.1:${port}`, creds, { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc' }) as grpc.Client & Record<string, (md: grpc.Metadata) => grpc.ClientDuplexStream<Buffer, Buffer>>;
    const ask = (md: grpc.Metadata) => new Promise<string>((resolve, reject) => {
      const stream = cli.whoami!(md);
      let out = '';
      stream.on('data', (b: Buffer) => (out += b.toString()));
      stream.on('end', () => resolve(out));
      stream.on('error', reject);
      stream.write(Buffer.from('hi'));
    });
    try {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${await issuer.token('default', 'bookinfo')}`);
      assert.equal(await ask(md), BOOKINFO);
      await assert.rejects(ask(new grpc.Metadata()), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED);
    } finally {
      cli.close();
      server.forceShutdown();
    }
  });

  it('serves many concurrent requests', async () => {
    const token = await issuer.token('default', 'bookinfo');
    const results = await Promise.all(Array.from({ length: 24 }, () => client.createCertificate(ec.csrPem, { token })));
    const serials = new Set(results.map((r) => new X509Certificate(r.certChain[0]!).serialNumber));
    assert.equal(serials.size, 24, 'every certificate has its own serial');
  });

  it('exposes Istio\'s metrics on the caller\'s registry', async () => {
    const text = await registry.metrics();
    const csr = METRIC(text, 'citadel_server_csr_count');
    const ok = METRIC(text, 'citadel_server_success_cert_issuance_count');
    const authn = METRIC(text, 'citadel_server_authentication_failure_count');
    const signErrs = [...text.matchAll(/^citadel_server_csr_sign_err_count\{[^}]*\} (\S+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
    assert.ok(ok > 0 && authn > 0);
    assert.equal(csr, ok + authn + signErrs, 'every CSR is either issued, unauthenticated or a signing error');
    const root = new X509Certificate(citadel.rootCertPem());
    assert.equal(METRIC(text, 'citadel_server_root_cert_expiry_timestamp'), Math.floor(Date.parse(root.validTo) / 1000));
    assert.ok(METRIC(text, 'citadel_server_root_cert_expiry_seconds') > 9 * 365 * 24 * 3600);
    assert.doesNotMatch(text, /citadel_server_cert_chain_expiry_timestamp/, 'no CA chain with a self-signed root');
  });
});

describe('citadel: serving certificate rotation', function () {
  this.timeout(30_000);

  it('renews the 15012 certificate before expiry without rebinding; clients keep working', async () => {
    const dir = await tempDir();
    const issuer = await TestIssuer.create();
    const citadel = await createCitadel({
      env: {},
      config: {
        stateDir: `${dir.path}/state`, rootCaDir: `${dir.path}/none`, servingCertTtlMs: 4_000,
        jwtRules: [{ issuer: issuer.issuer, audiences: ['istio-ca'], jwks: issuer.jwks }],
      },
    });
    const srv = await listen(citadel);
    const client = new IstioCaClient({ address: srv.address, rootPem: citadel.rootCertPem() });
    try {
      const csr = await opensslCsr('ec-p256');
      await client.createCertificate(csr.csrPem, { token: await issuer.token('a', 'b') });
      const first = await peerCertificate(srv.port, citadel.rootCertPem());
      const renewed = new Promise<void>((resolve) => {
        const off = citadel.onServingCertificate(() => {
          off();
          resolve();
        });
      });
      await renewed; // ~2s: half the lifetime
      const second = await peerCertificate(srv.port, citadel.rootCertPem());
      assert.notEqual(second.serialNumber, first.serialNumber, 'new connections get the renewed certificate');
      assert.equal(second.serialNumber.toLowerCase(), citadel.servingCertificate().serialNumber.toLowerCase());
      const res = await client.createCertificate(csr.csrPem, { token: await issuer.token('a', 'b') });
      assert.equal(res.certChain.length, 2);
      const fresh = new IstioCaClient({ address: srv.address, rootPem: citadel.rootCertPem() });
      try {
        assert.equal((await fresh.createCertificate(csr.csrPem, { token: await issuer.token('a', 'b') })).certChain.length, 2);
      } finally {
        fresh.close();
      }
    } finally {
      client.close();
      srv.server.forceShutdown();
      await citadel.close();
      await dir.cleanup();
    }
  });
});

function splitPem(text: string): string[] {
  return pemBlocks(text).map((b) => `${b.text}\n`);
}

function unsignedToken(iss: string): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${enc({ alg: 'none' })}.${enc({ iss, sub: 'system:serviceaccount:default:bookinfo', aud: ['istio-ca'], exp: now + 600 })}.`;
}
