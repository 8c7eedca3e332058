// Two isthmusd replicas sharing one API server (an in-test double speaking list/watch; there is no
// kube-apiserver here): one mesh root for both, both serving config, one doing the singleton
// work, and the other taking it over when the first stops.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { startIsthmusd, type RunningIsthmusd } from './support/isthmusd.js';
import { distribution, eventually, startBackend, stopBackend, xdsBootstrap, xdsClient, type Backend } from './support/grpc-echo.js';
import { kubeService } from './support/meshfiles.js';
import { KubeApiDouble, serveIsthmusKinds } from './support/kube-api-double.js';

grpcXds.register();

const LOCK = 'istio-namespace-controller-election';

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
});
