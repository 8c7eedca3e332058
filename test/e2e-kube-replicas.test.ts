// Two isthmusd replicas sharing one API server (an in-test double speaking list/watch; there is no
// kube-apiserver here): one mesh root for both, both serving config, one doing the singleton
// work, and the other taking it over when the first stops.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import type * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { startIsthmusd, type RunningIsthmusd } from './support/isthmusd.js';
import { distribution, eventually, startBackend, stopBackend, xdsBootstrap, xdsClient, type Backend } from './support/grpc-echo.js';
import { kubeService } from './support/meshfiles.js';
import { KubeApiDouble, serveIsthmusKinds } from './support/kube-api-double.js';
import { openssl, tempDir } from '../citadel/testing.js';
import { createSelfSignedRoot, generateSigningKey } from '../citadel/pki.js';

grpcXds.register();

const LOCK = 'istio-namespace-controller-election';
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A CA root made outside isthmusd (as another replica, or an operator, would store it). */
async function caRoot(days: number): Promise<{ cert: string; key: string }> {
  const dir = await tempDir('root-');
  try {
    const r = await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir.path, 'k'), '-out', join(dir.path, 'c'), '-days', String(days), '-subj', '/O=cluster.local', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
    if (r.code !== 0) throw new Error(r.stderr);
    return { cert: readFileSync(join(dir.path, 'c'), 'utf8'), key: readFileSync(join(dir.path, 'k'), 'utf8') };
  } finally {
    await dir.cleanup();
  }
}

describe('two isthmusd replicas on one API server (against an in-test API double)', function () {
  this.timeout(60000);
  let api: KubeApiDouble;
  let dir: string;
  let backend: Backend;
  let a: RunningIsthmusd | undefined;
  let b: RunningIsthmusd;
  const clients: grpc.Client[] = [];

  before(async () => {
    api = await KubeApiDouble.start();
    await serveIsthmusKinds(api);
    dir = mkdtempSync(join(tmpdir(), 'isthmus-replicas-'));
    backend = await startBackend('v1');
    api.applyYaml(kubeService('echo', 7070, [{ version: 'v1', port: backend.port }]));
    for (const name of ['default', 'istio-system']) api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    const kubeconfig = api.kubeconfig(dir);
    a = await startIsthmusd(undefined, { POD_NAME: 'isthmusd-a' }, ['--kubeconfig', kubeconfig]);
    b = await startIsthmusd(undefined, { POD_NAME: 'isthmusd-b' }, ['--kubeconfig', kubeconfig]);
  });

  after(async () => {
    for (const c of clients) c.close();
    await a?.stop();
    await b?.stop();
    await stopBackend(backend);
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const holder = () => {
    const annotations = api.get('v1', 'ConfigMap', 'istio-system', LOCK)?.metadata.annotations as Record<string, string> | undefined;
    return annotations ? (JSON.parse(annotations['control-plane.alpha.kubernetes.io/leader']!) as { holderIdentity: string }).holderIdentity : undefined;
  };
  const rootCert = (ns: string) => (api.get('v1', 'ConfigMap', ns, 'istio-ca-root-cert') as { data?: Record<string, string> } | undefined)?.data?.['root-cert.pem'];

  it('share one mesh root, kept in istio-ca-secret', () => {
    const rootA = readFileSync(join(a!.citadelDir, 'root-cert.pem'), 'utf8');
    const rootB = readFileSync(join(b.citadelDir, 'root-cert.pem'), 'utf8');
    assert.equal(rootB, rootA);
    const secret = api.get('v1', 'Secret', 'istio-system', 'istio-ca-secret') as { type?: string; data?: Record<string, string> } | undefined;
    assert.equal(secret?.type, 'istio.io/ca-root');
    assert.equal(Buffer.from(secret!.data!['ca-cert.pem']!, 'base64').toString(), rootA);
  });

  it('both serve the mesh', async () => {
    for (const replica of [a!, b]) {
      const c = xdsClient('xds:///echo.default.svc.cluster.local:7070', xdsBootstrap(replica.grpc));
      clients.push(c);
      assert.deepEqual(await distribution(c, 5), { v1: 5 });
    }
  });

  it('take up a root another replica stored in istio-ca-secret', async () => {
    const next = await caRoot(3650);
    const secret = api.get('v1', 'Secret', 'istio-system', 'istio-ca-secret')!;
    api.apply({ ...secret, data: { ...(secret.data as object), 'ca-cert.pem': b64(next.cert), 'ca-key.pem': b64(next.key), 'root-cert.pem': b64(next.cert) } });
    await eventually(async () => {
      for (const replica of [a!, b]) assert.equal(readFileSync(join(replica.citadelDir, 'root-cert.pem'), 'utf8').trim(), next.cert.trim());
      assert.equal(rootCert('default')?.trim(), next.cert.trim());
    });
  });

  it('one replica writes the root certificate ConfigMaps; the other takes over when it stops', async () => {
    await eventually(async () => assert.equal(rootCert('default'), readFileSync(join(b.citadelDir, 'root-cert.pem'), 'utf8')));
    assert.equal(holder(), 'isthmusd-a');
    await a!.stop();
    a = undefined;
    // Released on stop: B takes the lock at its next try (istiod's 7.5 s retry period), not after the 30 s lease.
    await eventually(async () => assert.equal(holder(), 'isthmusd-b'), 20000, 250);
    api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'late' } });
    await eventually(async () => assert.ok(rootCert('late')));
  });

  it('serves /inject once the injector ConfigMap appears (503 until then)', async () => {
    const post = () =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'default', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'app' }] } } } });
        const req = httpsRequest(`https://${b.webhook}/inject`, { method: 'POST', ca: readFileSync(join(b.citadelDir, 'root-cert.pem')), servername: 'istiod.istio-system.svc', headers: { 'Content-Type': 'application/json' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('error', reject);
        req.end(body);
      });
    assert.equal((await post()).status, 503);
    api.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'istio-sidecar-injector', namespace: 'istio-system' },
      data: { config: 'policy: enabled\ndefaultTemplates: [sidecar]\ntemplates:\n  sidecar: |\n    spec:\n      containers:\n      - name: istio-proxy\n        image: proxyv2\n', values: '{}' },
    });
    await eventually(async () => {
      const r = await post();
      assert.equal(r.status, 200);
      const review = JSON.parse(r.body) as { response: { allowed: boolean; patch?: string } };
      assert.match(Buffer.from(review.response.patch ?? '', 'base64').toString(), /istio-proxy/);
    });
  });
});

describe('a rotated self-signed root in Kubernetes mode (against an in-test API double)', function () {
  this.timeout(60000);
  let api: KubeApiDouble;
  let dir: string;
  let isthmusd: RunningIsthmusd | undefined;

  after(async () => {
    await isthmusd?.stop();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is written back to istio-ca-secret', async () => {
    api = await KubeApiDouble.start();
    await serveIsthmusKinds(api);
    dir = mkdtempSync(join(tmpdir(), 'isthmus-rotation-'));
    // A stored root in its last tenth of life: due for rotation at the first check.
    const key = await generateSigningKey({ type: 'rsa', bits: 2048 });
    const day = 24 * 3600_000;
    const old = { cert: (await createSelfSignedRoot({ org: 'cluster.local', ttlMs: 10 * day, key, notBefore: new Date(Date.now() - 9 * day) })).pem, key: key.pem };
    api.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'istio-ca-secret', namespace: 'istio-system' }, type: 'istio.io/ca-root', data: { 'ca-cert.pem': b64(old.cert), 'ca-key.pem': b64(old.key), 'root-cert.pem': b64(old.cert) } });
    isthmusd = await startIsthmusd(undefined, { CITADEL_SELF_SIGNED_ROOT_CERT_CHECK_INTERVAL: '1s' }, ['--kubeconfig', api.kubeconfig(dir)]);
    const stored = () => Buffer.from((api.get('v1', 'Secret', 'istio-system', 'istio-ca-secret')!.data as Record<string, string>)['ca-cert.pem']!, 'base64').toString();
    await eventually(async () => {
      const now = readFileSync(join(isthmusd!.citadelDir, 'root-cert.pem'), 'utf8');
      assert.notEqual(now.trim(), old.cert.trim(), 'not rotated yet');
      assert.equal(stored().trim(), now.trim());
    }, 20000);
  });

  it('refuses to start on a broken istio-ca-secret, naming it', async () => {
    const broken = await KubeApiDouble.start();
    try {
      await serveIsthmusKinds(broken);
      const one = await caRoot(3650);
      const other = await caRoot(3650);
      broken.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'istio-ca-secret', namespace: 'istio-system' }, type: 'istio.io/ca-root', data: { 'ca-cert.pem': b64(one.cert), 'ca-key.pem': b64(other.key) } });
      await assert.rejects(startIsthmusd(undefined, {}, ['--kubeconfig', broken.kubeconfig(dir)]), /istio-system\/istio-ca-secret holds no usable root CA \(ca-key.pem is not the key of ca-cert.pem\)/);
    } finally {
      await broken.close();
    }
  });
});
