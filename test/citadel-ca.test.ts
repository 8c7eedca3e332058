// Citadel's key material: the self-signed root (Istio's defaults, kept across restarts, rotated with the
// same key), and plug-in CAs in Istio's `cacerts` layout made at test time with the openssl CLI (plus
// Istio's own multi-level test PKI when ISTIO_TESTDATA is present).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Registry } from 'prom-client';
import { createCitadel, type Citadel } from '../citadel/index.js';
import { must, openssl, opensslCsr, opensslText, opensslVerify, tempDir } from '../citadel/testing.js';

const ISTIO_TESTDATA = resolve(process.env.ISTIO_TESTDATA ?? '../shared/istio');

/** A root CA and an intermediate signed by it, in a folder, with the openssl CLI. */
async function makeCa(dir: string, opts: { intermediateKey?: 'ec' | 'rsa'; intermediateDays?: number; rootName?: string; leafOnly?: boolean } = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const f = (n: string) => join(dir, n);
  if (!existsSync(f('root-key.pem'))) {
    await must(openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('root-key.pem'), '-out', f('root-cert.pem'), '-days', '3650',
      '-subj', `/O=Isthmus Test/CN=${opts.rootName ?? 'Test Root CA'}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']));
  }
  const keyArgs = (opts.intermediateKey ?? 'ec') === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  await must(openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', f('ca-key.pem'), '-out', f('ca.csr'), '-subj', '/O=Isthmus Test/CN=Intermediate CA']));
  await writeFile(f('ext.cnf'), opts.leafOnly
    ? 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n'
    : 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  await must(openssl(['x509', '-req', '-in', f('ca.csr'), '-CA', f('root-cert.pem'), '-CAkey', f('root-key.pem'), '-CAcreateserial',
    '-days', String(opts.intermediateDays ?? 365), '-extfile', f('ext.cnf'), '-out', f('ca-cert.pem')]));
  await writeFile(f('cert-chain.pem'), (await readFile(f('ca-cert.pem'), 'utf8')) + (await readFile(f('root-cert.pem'), 'utf8')));
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

describe('citadel: self-signed root', function () {
  this.timeout(60_000);

  it('creates Istio\'s default root (RSA 2048, O=<trust domain>, 10 years) and keeps it across restarts', async () => {
    const dir = await tempDir();
    try {
      const config = { stateDir: join(dir.path, 'state'), rootCaDir: join(dir.path, 'cacerts'), selfSignedRootCertCheckIntervalMs: 0 };
      const a = await createCitadel({ env: {}, config });
      assert.equal(a.mode, 'self-signed');
      const rootA = a.rootCertPem();
      const text = await opensslText(rootA);
      assert.match(text, /Public-Key: \(2048 bit\)/);
      assert.match(text, /Subject: O = cluster\.local\n/);
      assert.match(text, /Issuer: O = cluster\.local\n/);
      assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE\n/);
      assert.match(text, /X509v3 Key Usage: critical\s+Certificate Sign\n/);
      assert.match(text, /X509v3 Subject Key Identifier/);
      const root = new X509Certificate(rootA);
      const life = Date.parse(root.validTo) - Date.parse(root.validFrom);
      assert.ok(Math.abs(life - 3650 * 24 * 3600_000) < 5_000, `root lifetime ${life}`);
      assert.equal(await readFile(a.rootCertFile, 'utf8'), rootA, 'root written for the embedded mode');
      assert.equal((await stat(join(config.stateDir, 'ca-key.pem'))).mode & 0o777, 0o600, 'the CA key is private');
      const csr = await opensslCsr('ec-p256');
      const chainA = await a.sign(csr.csrPem, ['spiffe://cluster.local/ns/default/sa/x']);
      await a.close();

      const b = await createCitadel({ env: {}, config });
      try {
        assert.equal(b.rootCertPem(), rootA, 'same root after restart');
        const v = await opensslVerify(chainA, b.rootCertPem());
        assert.ok(v.ok, `certificates issued before the restart still verify: ${v.output}`);
        const chainB = await b.sign(csr.csrPem, ['spiffe://cluster.local/ns/default/sa/x']);
        assert.ok((await opensslVerify(chainB, rootA)).ok);
      } finally {
        await b.close();
      }
    } finally {
      await dir.cleanup();
    }
  });

  it('uses TRUST_DOMAIN and the other Istio variables', async () => {
    const dir = await tempDir();
    try {
      const c = await createCitadel({
        env: { TRUST_DOMAIN: 'example.org', ROOT_CA_DIR: join(dir.path, 'cacerts'), ISTHMUS_CITADEL_DIR: join(dir.path, 'state'),
          DEFAULT_WORKLOAD_CERT_TTL: '2h', MAX_WORKLOAD_CERT_TTL: '3h', CITADEL_SELF_SIGNED_CA_CERT_TTL: '8760h', POD_NAMESPACE: 'mesh', REVISION: 'canary' },
      });
      try {
        assert.match(await opensslText(c.rootCertPem()), /Subject: O = example\.org\n/);
        const root = new X509Certificate(c.rootCertPem());
        assert.ok(Math.abs(Date.parse(root.validTo) - Date.parse(root.validFrom) - 8760 * 3600_000) < 5_000);
        const csr = await opensslCsr('rsa-2048');
        const t0 = Date.now();
        const chain = await c.sign(csr.csrPem, ['spiffe://example.org/ns/a/sa/b']);
        assert.ok(Math.abs(Date.parse(new X509Certificate(chain[0]!).validTo) - (t0 + 2 * 3600_000)) < 5_000, 'DEFAULT_WORKLOAD_CERT_TTL');
        await assert.rejects(c.sign(csr.csrPem, ['x'], 4 * 3600), /requested TTL 4h0m0s is greater than the max allowed TTL 3h0m0s/);
        assert.deepEqual(c.servingCertificate().dnsNames, ['istio-pilot.mesh.svc', 'istiod-canary.mesh.svc', 'istiod-remote.mesh.svc', 'istiod.mesh.svc']);
      } finally {
        await c.close();
      }
    } finally {
      await dir.cleanup();
    }
  });

  it('can clamp a TTL above the maximum instead of refusing it (ttlOverMax: clamp)', async () => {
    const dir = await tempDir();
    try {
      const c = await createCitadel({ env: {}, config: { stateDir: dir.path, rootCaDir: join(dir.path, 'none'), maxWorkloadCertTtlMs: 3600_000, ttlOverMax: 'clamp' } });
      try {
        const csr = await opensslCsr('ec-p256');
        const t0 = Date.now();
        const chain = await c.sign(csr.csrPem, ['spiffe://cluster.local/ns/a/sa/b'], 100 * 24 * 3600);
        assert.ok(Math.abs(Date.parse(new X509Certificate(chain[0]!).validTo) - (t0 + 3600_000)) < 5_000);
      } finally {
        await c.close();
      }
    } finally {
      await dir.cleanup();
    }
  });

  it('rotates the root in its grace period with the same key: issued certificates keep verifying', async () => {
    const dir = await tempDir();
    try {
      const c = await createCitadel({
        env: {},
        config: { stateDir: dir.path, rootCaDir: join(dir.path, 'none'), selfSignedRootCertCheckIntervalMs: 0, selfSignedRootCertGracePeriodPercentile: 100 },
      });
      try {
        const oldRoot = c.rootCertPem();
        const oldServing = c.servingCertificate().serialNumber;
        const csr = await opensslCsr('ec-p256');
        const oldChain = await c.sign(csr.csrPem, ['spiffe://cluster.local/ns/a/sa/b']);
        let announced = '';
        c.onRootCert((pem) => void (announced = pem));
        assert.equal(await c.checkRootRotation(), true);
        const newRoot = c.rootCertPem();
        assert.notEqual(fingerprint(newRoot), fingerprint(oldRoot));
        assert.equal(announced, newRoot);
        assert.equal(await readFile(c.rootCertFile, 'utf8'), newRoot);
        assert.equal(await readFile(join(dir.path, 'ca-cert.pem'), 'utf8'), newRoot);
        assert.equal(new X509Certificate(newRoot).publicKey.export({ type: 'spki', format: 'pem' }), new X509Certificate(oldRoot).publicKey.export({ type: 'spki', format: 'pem' }));
        const v = await opensslVerify([oldChain[0]!, newRoot], newRoot);
        assert.ok(v.ok, `old leaf under the new root: ${v.output}`);
        assert.notEqual(c.servingCertificate().serialNumber, oldServing, 'serving certificate re-issued');
      } finally {
        await c.close();
      }
    } finally {
      await dir.cleanup();
    }
  });
});

describe('citadel: plug-in CA (ROOT_CA_DIR, Istio\'s cacerts layout)', function () {
  this.timeout(60_000);
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cacerts: string;
  let citadel: Citadel;
  let registry: Registry;

  before(async () => {
    dir = await tempDir();
    cacerts = join(dir.path, 'cacerts');
    await makeCa(cacerts, { intermediateKey: 'ec' });
    registry = new Registry();
    citadel = await createCitadel({ env: { ROOT_CA_DIR: cacerts }, registry, config: { stateDir: join(dir.path, 'state') } });
  });

  after(async () => {
    await citadel?.close();
    await dir?.cleanup();
  });

  it('signs under the intermediate; the chain ends at the plugged root', async () => {
    assert.equal(citadel.mode, 'plugged');
    const plugRoot = await readFile(join(cacerts, 'root-cert.pem'), 'utf8');
    assert.equal(citadel.rootCertPem(), plugRoot);
    assert.equal(await readFile(citadel.rootCertFile, 'utf8'), plugRoot);
    for (const kind of ['ec-p256', 'rsa-2048'] as const) {
      const csr = await opensslCsr(kind);
      const chain = await citadel.sign(csr.csrPem, ['spiffe://cluster.local/ns/default/sa/x']);
      // Istio's answer: the leaf, each certificate of cert-chain.pem, then root-cert.pem.
      assert.equal(chain.length, 4);
      assert.equal(fingerprint(chain[1]!), fingerprint(await readFile(join(cacerts, 'ca-cert.pem'), 'utf8')));
      assert.equal(chain[3], plugRoot);
      const v = await opensslVerify(chain, plugRoot);
      assert.ok(v.ok, v.output);
      const text = await opensslText(chain[0]!);
      assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
      assert.match(text, /Issuer: O = Isthmus Test, CN = Intermediate CA\n/);
    }
  });

  it('serves the secure port with an intermediate-signed certificate of the CA key type', async () => {
    const kc = citadel.servingCertificate();
    const certs = kc.certChainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g)!;
    assert.equal(certs.length, 3, 'leaf + cert-chain.pem');
    const v = await opensslVerify([...certs, kc.caBundlePem], kc.caBundlePem);
    assert.ok(v.ok, v.output);
    assert.match(await opensslText(certs[0]!), /ASN1 OID: prime256v1/);
  });

  it('records the CA chain expiry', async () => {
    const text = await registry.metrics();
    const inter = new X509Certificate(await readFile(join(cacerts, 'ca-cert.pem'), 'utf8'));
    assert.match(text, new RegExp(`^citadel_server_cert_chain_expiry_timestamp ${Math.floor(Date.parse(inter.validTo) / 1000)}$`, 'm'));
  });

  it('picks up a new intermediate from the same root without a restart', async () => {
    const before = citadel.servingCertificate().serialNumber;
    const changed = new Promise<void>((resolve) => {
      const off = citadel.onServingCertificate(() => {
        off();
        resolve();
      });
    });
    // Same root, fresh intermediate, made aside and then copied in (as a Secret update lands all files at once).
    const stage = join(dir.path, 'stage');
    await mkdir(stage, { recursive: true });
    for (const f of ['root-key.pem', 'root-cert.pem']) await copyFile(join(cacerts, f), join(stage, f));
    await makeCa(stage, { intermediateKey: 'ec' });
    for (const f of ['ca-key.pem', 'ca-cert.pem', 'cert-chain.pem']) await copyFile(join(stage, f), join(cacerts, f));
    await Promise.race([changed, new Promise((_, rej) => setTimeout(() => rej(new Error('no reload within 10s')), 10_000))]);
    assert.notEqual(citadel.servingCertificate().serialNumber, before);
    const csr = await opensslCsr('ec-p256');
    const chain = await citadel.sign(csr.csrPem, ['spiffe://cluster.local/ns/default/sa/x']);
    assert.equal(fingerprint(chain[1]!), fingerprint(await readFile(join(cacerts, 'ca-cert.pem'), 'utf8')));
    assert.ok((await opensslVerify(chain, citadel.rootCertPem())).ok);
  });

  it('caps the default TTL at the CA chain\'s end', async () => {
    const d = await tempDir();
    try {
      await makeCa(d.path, { intermediateKey: 'rsa', intermediateDays: 1 });
      const c = await createCitadel({ env: { ROOT_CA_DIR: d.path }, config: { stateDir: join(d.path, 'state'), defaultWorkloadCertTtlMs: 48 * 3600_000 } });
      try {
        const chain = await c.sign((await opensslCsr('ec-p256')).csrPem, ['spiffe://cluster.local/ns/a/sa/b']);
        const leafEnd = Date.parse(new X509Certificate(chain[0]!).validTo);
        const caEnd = Date.parse(new X509Certificate(chain[1]!).validTo);
        assert.ok(leafEnd <= caEnd, 'never outlives the intermediate');
        assert.ok(caEnd - leafEnd < 60_000);
      } finally {
        await c.close();
      }
    } finally {
      await d.cleanup();
    }
  });

  it('accepts a root plugged in as the signing CA, with an empty cert-chain.pem', async () => {
    const d = await tempDir();
    try {
      await makeCa(d.path);
      const rootOnly = join(d.path, 'root-only');
      await mkdir(rootOnly);
      await copyFile(join(d.path, 'root-cert.pem'), join(rootOnly, 'ca-cert.pem'));
      await copyFile(join(d.path, 'root-key.pem'), join(rootOnly, 'ca-key.pem'));
      await copyFile(join(d.path, 'root-cert.pem'), join(rootOnly, 'root-cert.pem'));
      await writeFile(join(rootOnly, 'cert-chain.pem'), '');
      const c = await createCitadel({ env: { ROOT_CA_DIR: rootOnly }, config: { stateDir: join(d.path, 'state') } });
      try {
        assert.equal(c.mode, 'plugged');
        const chain = await c.sign((await opensslCsr('ec-p256')).csrPem, ['spiffe://cluster.local/ns/a/sa/b']);
        assert.equal(chain.length, 2);
        assert.ok((await opensslVerify(chain, c.rootCertPem())).ok);
      } finally {
        await c.close();
      }
    } finally {
      await d.cleanup();
    }
  });

  it('accepts the kubernetes.io/tls layout (tls.crt, tls.key, ca.crt)', async () => {
    const d = await tempDir();
    try {
      await makeCa(d.path, { intermediateKey: 'rsa' });
      const tls = join(d.path, 'tls');
      await mkdir(tls);
      await copyFile(join(d.path, 'ca-cert.pem'), join(tls, 'tls.crt'));
      await copyFile(join(d.path, 'ca-key.pem'), join(tls, 'tls.key'));
      await copyFile(join(d.path, 'root-cert.pem'), join(tls, 'ca.crt'));
      const c = await createCitadel({ env: { ROOT_CA_DIR: tls }, config: { stateDir: join(d.path, 'state') } });
      try {
        assert.equal(c.mode, 'plugged');
        const chain = await c.sign((await opensslCsr('rsa-2048')).csrPem, ['spiffe://cluster.local/ns/a/sa/b']);
        assert.ok((await opensslVerify(chain, await readFile(join(tls, 'ca.crt'), 'utf8'))).ok);
      } finally {
        await c.close();
      }
    } finally {
      await d.cleanup();
    }
  });

  it('refuses unusable plug-in material with a clear error', async () => {
    const d = await tempDir();
    try {
      // Incomplete: some files but not all.
      const partial = join(d.path, 'partial');
      await makeCa(partial);
      await rm(join(partial, 'cert-chain.pem'));
      await assert.rejects(createCitadel({ env: { ROOT_CA_DIR: partial }, config: { stateDir: join(d.path, 's1') } }), /incomplete signing CA bundle detected \(missing .*cert-chain\.pem\)/);
      // Signing certificate that is not a CA.
      const leafOnly = join(d.path, 'leaf');
      await makeCa(leafOnly, { leafOnly: true });
      await assert.rejects(createCitadel({ env: { ROOT_CA_DIR: leafOnly }, config: { stateDir: join(d.path, 's2') } }), /certificate is not authorized to sign other certificates/);
      // Key of another certificate.
      const mismatch = join(d.path, 'mismatch');
      await makeCa(mismatch);
      await must(openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(mismatch, 'ca-key.pem')]));
      await assert.rejects(createCitadel({ env: { ROOT_CA_DIR: mismatch }, config: { stateDir: join(d.path, 's3') } }), /the cert does not match the key/);
      // Root that did not sign the intermediate.
      const foreign = join(d.path, 'foreign');
      await makeCa(foreign);
      const otherRoot = join(d.path, 'other');
      await makeCa(otherRoot, { rootName: 'Other Root' });
      await copyFile(join(otherRoot, 'root-cert.pem'), join(foreign, 'root-cert.pem'));
      await writeFile(join(foreign, 'cert-chain.pem'), await readFile(join(foreign, 'ca-cert.pem'), 'utf8'));
      await assert.rejects(createCitadel({ env: { ROOT_CA_DIR: foreign }, config: { stateDir: join(d.path, 's4') } }), /cannot verify the cert with the provided root chain/);
    } finally {
      await d.cleanup();
    }
  });

  it('reads Istio\'s pilot test CA in place (tests/testdata/certs/pilot as ROOT_CA_DIR)', async function () {
    const pilot = join(ISTIO_TESTDATA, 'tests/testdata/certs/pilot');
    if (!existsSync(join(pilot, 'ca-key.pem'))) {
      console.log(`      (Istio test data not found at ${pilot}; set ISTIO_TESTDATA)`);
      this.skip();
    }
    const d = await tempDir();
    try {
      const c = await createCitadel({ env: { ROOT_CA_DIR: pilot }, config: { stateDir: join(d.path, 'state') } });
      try {
        assert.equal(c.mode, 'plugged');
        const chain = await c.sign((await opensslCsr('ec-p256')).csrPem, ['spiffe://cluster.local/ns/a/sa/b']);
        // As istiod: leaf, then cert-chain.pem as configured (here istiod's own certificate), then root-cert.pem.
        assert.equal(chain.length, 3);
        assert.equal(chain.at(-1), await readFile(join(pilot, 'root-cert.pem'), 'utf8'));
        const v = await opensslVerify([chain[0]!, chain.at(-1)!], c.rootCertPem());
        assert.ok(v.ok, v.output);
        assert.match(await opensslText(chain[0]!), /Issuer: CN = cluster\.local\n/);
      } finally {
        await c.close();
      }
    } finally {
      await d.cleanup();
    }
  });

  it('works with Istio\'s own multi-level test PKI (root → intermediate → intermediate 2)', async function () {
    const pki = join(ISTIO_TESTDATA, 'security/pkg/pki/testdata/multilevelpki');
    if (!existsSync(pki)) {
      console.log(`      (Istio test data not found at ${pki}; set ISTIO_TESTDATA)`);
      this.skip();
    }
    const notAfter = Date.parse(new X509Certificate(await readFile(join(pki, 'int2-cert.pem'), 'utf8')).validTo);
    if (notAfter < Date.now() + 3600_000) {
      console.log('      (Istio\'s multilevelpki test certificates have expired)');
      this.skip();
    }
    const d = await tempDir();
    try {
      const dest = join(d.path, 'cacerts');
      await mkdir(dest);
      await copyFile(join(pki, 'int2-cert.pem'), join(dest, 'ca-cert.pem'));
      await copyFile(join(pki, 'int2-key.pem'), join(dest, 'ca-key.pem'));
      await copyFile(join(pki, 'int2-cert-chain.pem'), join(dest, 'cert-chain.pem'));
      await copyFile(join(pki, 'root-cert.pem'), join(dest, 'root-cert.pem'));
      const c = await createCitadel({ env: { ROOT_CA_DIR: dest }, config: { stateDir: join(d.path, 'state') } });
      try {
        const chain = await c.sign((await opensslCsr('ec-p256')).csrPem, ['spiffe://cluster.local/ns/a/sa/b']);
        assert.equal(chain.length, 1 + 3 + 1, 'leaf, the three certificates of int2-cert-chain.pem, root');
        assert.equal(chain.at(-1), await readFile(join(pki, 'root-cert.pem'), 'utf8'));
        const v = await opensslVerify(chain, c.rootCertPem());
        assert.ok(v.ok, v.output);
      } finally {
        await c.close();
      }
    } finally {
      await d.cleanup();
    }
  });
});
