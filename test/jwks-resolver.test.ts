// The JWKS resolver against a real HTTP server on loopback: keys by URI and by OpenID
// discovery, a push only when keys really change, failures that keep the last good keys, and
// the addresses and contents it refuses.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { JwksResolver } from '../pilot/bootstrap/jwks-resolver.js';

const KEY_A = { kty: 'RSA', kid: 'a', e: 'AQAB', n: 'xa' };
const KEY_B = { kty: 'RSA', kid: 'b', e: 'AQAB', n: 'xb' };

describe('JWKS resolver (real HTTP server on loopback)', function () {
  this.timeout(20000);
  let server: Server;
  let base: string;
  /** What each path answers: [status, body]. */
  const routes = new Map<string, [number, string]>();
  const hits: string[] = [];
  const warnings: string[] = [];
  let resolver: JwksResolver | undefined;
  let changes = 0;

  before(async () => {
    server = createServer((req, res) => {
      hits.push(req.url!);
      const [status, body] = routes.get(req.url!) ?? [404, 'not found'];
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    routes.clear();
    hits.length = 0;
    warnings.length = 0;
    changes = 0;
  });
  afterEach(() => resolver?.close());

  const make = (extra: Partial<ConstructorParameters<typeof JwksResolver>[0]> = {}) =>
    (resolver = new JwksResolver({
      onChange: () => changes++,
      log: { warn: (o, m) => warnings.push(`${m} ${JSON.stringify(o)}`) },
      attempts: 1,
      ...extra,
    }));

  it('fetches keys by URI, and finds the URI through OpenID discovery when a rule names none', async () => {
    routes.set('/keys', [200, JSON.stringify({ keys: [KEY_A] })]);
    routes.set('/issuer/.well-known/openid-configuration', [200, JSON.stringify({ jwks_uri: `${base}/keys` })]);
    const r = make();
    r.sync([
      { issuer: 'https://by-uri', jwksUri: `${base}/keys`, timeoutSeconds: 5 },
      { issuer: `${base}/issuer/`, jwksUri: '', timeoutSeconds: 5 },
    ]);
    await r.settled();
    const snap = r.snapshot();
    assert.deepEqual(JSON.parse(snap.get('https://by-uri', `${base}/keys`)!), { keys: [KEY_A] });
    assert.deepEqual(JSON.parse(snap.get(`${base}/issuer/`, '')!), { keys: [KEY_A] });
    assert.equal(snap.get('https://unknown', ''), undefined);
    assert.equal(changes, 2);
    assert.deepEqual(warnings, []);
  });

  it('pushes again only when the keys change, not when they are reordered', async () => {
    routes.set('/keys', [200, JSON.stringify({ keys: [KEY_A, KEY_B] })]);
    const r = make({ refreshMs: 50, retryFailedMs: 50 });
    r.sync([{ issuer: 'i', jwksUri: `${base}/keys`, timeoutSeconds: 5 }]);
    await r.settled();
    assert.equal(changes, 1);
    routes.set('/keys', [200, JSON.stringify({ keys: [KEY_B, KEY_A] })]);
    await waitFor(() => hits.length >= 2);
    await r.settled();
    assert.equal(changes, 1, 'reordered keys pushed');
    routes.set('/keys', [200, JSON.stringify({ keys: [KEY_B] })]);
    await waitFor(() => changes === 2);
    assert.deepEqual(JSON.parse(r.snapshot().get('i', `${base}/keys`)!), { keys: [KEY_B] });
  });

  it('keeps the last good keys when a refresh fails, and refuses what is not a key set', async () => {
    routes.set('/keys', [200, JSON.stringify({ keys: [KEY_A] })]);
    const r = make({ refreshMs: 50, retryFailedMs: 50 });
    r.sync([{ issuer: 'i', jwksUri: `${base}/keys`, timeoutSeconds: 5 }]);
    await r.settled();
    routes.set('/keys', [500, 'down']);
    await waitFor(() => warnings.some((w) => w.includes('status 500')));
    routes.set('/keys', [200, '<html>an internal page</html>']);
    await waitFor(() => warnings.some((w) => w.includes('not a valid JWKS')));
    assert.deepEqual(JSON.parse(r.snapshot().get('i', `${base}/keys`)!), { keys: [KEY_A] });
    assert.equal(changes, 1);
  });

  it('never connects to link-local or blocked addresses', async () => {
    const r = make({ blockedCidrs: ['127.0.0.0/8'] });
    r.sync([
      { issuer: 'metadata', jwksUri: 'http://169.254.169.254/latest/meta-data', timeoutSeconds: 1 },
      { issuer: 'blocked', jwksUri: `${base}/keys`, timeoutSeconds: 1 },
    ]);
    await r.settled();
    assert.deepEqual(hits, []);
    assert.equal(r.snapshot().get('metadata', 'http://169.254.169.254/latest/meta-data'), undefined);
    assert.ok(warnings.some((w) => w.includes('169.254.169.254 is link-local')), warnings.join('\n'));
    assert.ok(warnings.some((w) => w.includes('127.0.0.1 is in a blocked CIDR range')), warnings.join('\n'));
  });

  it('refuses IPv4 addresses written as IPv6, and names that resolve to a blocked address when connecting', async () => {
    routes.set('/keys', [200, JSON.stringify({ keys: [KEY_A] })]);
    const port = new URL(base).port;
    // The name resolves to loopback only in the lookup the connection makes.
    const lookup = ((_host: string, _o: unknown, cb: (e: null, a: { address: string; family: number }[]) => void) => cb(null, [{ address: '127.0.0.1', family: 4 }])) as never;
    const r = make({ blockedCidrs: ['127.0.0.0/8'], lookup });
    r.sync([
      { issuer: 'mapped', jwksUri: `http://[::ffff:127.0.0.1]:${port}/keys`, timeoutSeconds: 1 },
      { issuer: 'mapped-metadata', jwksUri: 'http://[::ffff:a9fe:a9fe]/latest', timeoutSeconds: 1 },
      { issuer: 'named', jwksUri: `http://jwks.internal.example:${port}/keys`, timeoutSeconds: 1 },
    ]);
    await r.settled();
    assert.deepEqual(hits, []);
    assert.ok(warnings.some((w) => w.includes('127.0.0.1 is in a blocked CIDR range') && w.includes('"named"')), warnings.join('\n'));
    assert.ok(warnings.some((w) => w.includes('is link-local') && w.includes('mapped-metadata')), warnings.join('\n'));
    assert.ok(warnings.some((w) => w.includes('blocked CIDR') && w.includes('"mapped"')), warnings.join('\n'));
  });

  it('stops fetching on close, and pushes nothing afterwards', async () => {
    let answer: (() => void) | undefined;
    const slow = createServer((_req, res) => (answer = () => res.end(JSON.stringify({ keys: [KEY_A] }))));
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    try {
      const r = make();
      r.sync([{ issuer: 'slow', jwksUri: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/keys`, timeoutSeconds: 5 }]);
      await waitFor(() => answer !== undefined);
      r.close();
      answer!();
      await r.settled();
      assert.equal(changes, 0);
      assert.equal(r.snapshot().get('slow', `http://127.0.0.1:${(slow.address() as AddressInfo).port}/keys`), undefined);
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((r) => slow.close(() => r()));
    }
  });

  it('drops keys it could not refresh for too long', async () => {
    routes.set('/keys', [200, JSON.stringify({ keys: [KEY_A] })]);
    const r = make({ refreshMs: 30, retryFailedMs: 30, evictAfterMs: 150 });
    r.sync([{ issuer: 'i', jwksUri: `${base}/keys`, timeoutSeconds: 5 }]);
    await r.settled();
    routes.set('/keys', [503, 'down']);
    await waitFor(() => r.snapshot().get('i', `${base}/keys`) === undefined);
    assert.equal(changes, 2, 'fetched, then dropped');
  });

  it('takes only ADDRESS/BITS ranges in BLOCKED_CIDRS_IN_JWKS_URIS', () => {
    make({ blockedCidrs: ['10.0.0.0/', '10.0.0.0/8.5', '10.0.0.1', 'fd00::/8', '10.0.0.0/8'] });
    assert.deepEqual(warnings.map((w) => JSON.parse(w.slice(w.indexOf('{'))).cidr), ['10.0.0.0/', '10.0.0.0/8.5', '10.0.0.1']);
  });

  it('trusts an identity provider with a private CA only through the extra bundle (or when told to skip checks)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-jwks-tls-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=idp', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const secure = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => res.end(JSON.stringify({ keys: [KEY_A] })));
    await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
    const uri = `https://127.0.0.1:${(secure.address() as AddressInfo).port}/keys`;
    try {
      const fetchWith = async (extra: Partial<ConstructorParameters<typeof JwksResolver>[0]>) => {
        const r = make(extra);
        r.sync([{ issuer: 'tls', jwksUri: uri, timeoutSeconds: 5 }]);
        await r.settled();
        r.close();
        return r.snapshot().get('tls', uri);
      };
      assert.equal(await fetchWith({}), undefined, 'an unknown CA is not trusted');
      assert.ok(warnings.some((w) => /certificate/i.test(w)), warnings.join('\n'));
      assert.deepEqual(JSON.parse((await fetchWith({ extraCaFile: cert }))!), { keys: [KEY_A] });
      assert.deepEqual(JSON.parse((await fetchWith({ insecureSkipVerify: true }))!), { keys: [KEY_A] });
    } finally {
      await new Promise<void>((r) => secure.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forgets key sets no rule names any more', async () => {
    routes.set('/keys', [200, JSON.stringify({ keys: [KEY_A] })]);
    const r = make();
    r.sync([{ issuer: 'i', jwksUri: `${base}/keys`, timeoutSeconds: 5 }]);
    await r.settled();
    r.sync([]);
    assert.equal(r.snapshot().get('i', `${base}/keys`), undefined);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
