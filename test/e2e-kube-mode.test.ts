// End to end in Kubernetes mode: bin/isthmusd --kubeconfig against an in-test double of the API
// server (list/watch over HTTPS; there is no kube-apiserver here), real gRPC backends, and
// @grpc/grpc-js-xds clients routed by config created, edited and deleted through the API.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { startIsthmusd, type RunningIsthmusd } from './support/isthmusd.js';
import { distribution, eventually, startBackend, stopBackend, xdsBootstrap, xdsClient, type Backend } from './support/grpc-echo.js';
import { kubeService, subsetsRule } from './support/meshfiles.js';
import { KubeApiDouble, serveIsthmusKinds } from './support/kube-api-double.js';
import { IstioCaClient, opensslCsr, opensslText, opensslVerify } from '../citadel/testing.js';

grpcXds.register();

const TARGET = 'xds:///echo.default.svc.cluster.local:7070';

function routeAllTo(subset: string, weight = 100): Record<string, unknown> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'echo', namespace: 'default' },
    spec: { hosts: ['echo'], http: [{ route: [{ destination: { host: 'echo', subset }, weight }] }] },
  };
}

describe('isthmusd in Kubernetes mode (against an in-test API double speaking list/watch)', function () {
  this.timeout(60000);
  let api: KubeApiDouble;
  let dir: string;
  let backends: Backend[];
  let isthmusd: RunningIsthmusd;
  const clients: grpc.Client[] = [];
  const reviews: { token: string; audiences: string[] }[] = [];

  before(async () => {
    api = await KubeApiDouble.start();
    // Gateway API CRDs are not installed: isthmusd must not wait for them.
    await serveIsthmusKinds(api, ['gateway.networking.k8s.io']);
    dir = mkdtempSync(join(tmpdir(), 'isthmus-kube-e2e-'));
    backends = [await startBackend('v1'), await startBackend('v2')];
    api.applyYaml(kubeService('echo', 7070, backends.map((b) => ({ version: b.name, port: b.port }))));
    api.applyYaml(subsetsRule('echo', ['v1', 'v2']));
    api.apply(routeAllTo('v1'));
    for (const name of ['default', 'shop', 'kube-public', 'istio-system']) api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    // The API server vouches for one token: the echo workload's service account.
    api.addHandler((req, body) => {
      if (req.method !== 'POST' || req.url !== '/apis/authentication.k8s.io/v1/tokenreviews') return undefined;
      const spec = (body as { spec: { token: string; audiences: string[] } }).spec;
      reviews.push(spec);
      const ok = spec.token === 'echo-token' && spec.audiences.includes('istio-ca');
      const status = ok
        ? { authenticated: true, user: { username: 'system:serviceaccount:default:echo', groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'] }, audiences: ['istio-ca'] }
        : { authenticated: false, error: 'invalid bearer token' };
      return { status: 201, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec, status } };
    });
    isthmusd = await startIsthmusd(undefined, {}, ['--kubeconfig', api.kubeconfig(dir)]);
  });

  after(async () => {
    for (const c of clients) c.close();
    await isthmusd?.stop();
    await Promise.all((backends ?? []).map(stopBackend));
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const newClient = () => {
    const c = xdsClient(TARGET, xdsBootstrap(isthmusd.grpc));
    clients.push(c);
    return c;
  };

  it('serves what the API server holds, and says where it reads config from', async () => {
    assert.ok(isthmusd.logs.some((l) => l.msg === 'starting isthmusd' && l.kubernetes === `https://127.0.0.1:${api.port}`));
    assert.deepEqual(await distribution(newClient(), 20), { v1: 20 });
  });

  it('follows edits made through the API, without restart', async () => {
    const client = newClient();
    assert.deepEqual(await distribution(client, 10), { v1: 10 });
    api.apply(routeAllTo('v2'));
    await eventually(async () => assert.deepEqual(await distribution(client, 10), { v2: 10 }));
  });

  it('rejects an invalid edit with kind, namespace/name and field, and keeps routing by the last good version', async () => {
    const client = newClient();
    await eventually(async () => assert.deepEqual(await distribution(client, 10), { v2: 10 }));
    api.apply(routeAllTo('v1', -1));
    const warning = await isthmusd.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('rejected config: VirtualService default/echo'));
    assert.match(String(warning.msg), /spec\.http\[0\]\.route\[0\]\.weight/);
    assert.match(String(warning.msg), /still serving the last good version/);
    assert.deepEqual(await distribution(client, 10), { v2: 10 });
    const configz = (await (await fetch(`http://${isthmusd.http}/debug/configz`)).json()) as unknown;
    assert.ok(JSON.stringify(configz).includes('"subset":"v2"'), 'the served VirtualService is the last good one');
  });

  it('drops endpoints deleted through the API', async () => {
    api.apply(routeAllTo('v1'));
    api.remove('discovery.k8s.io/v1', 'EndpointSlice', 'default', 'echo-v1');
    api.remove('v1', 'Pod', 'default', 'echo-v1');
    api.remove('networking.istio.io/v1', 'VirtualService', 'default', 'echo');
    const client = newClient();
    await eventually(async () => assert.deepEqual(await distribution(client, 10), { v2: 10 }));
  });

  it('issues workload certificates to service-account tokens the API server vouches for (TokenReview)', async () => {
    const rootPem = readFileSync(join(isthmusd.citadelDir, 'root-cert.pem'), 'utf8');
    const ca = new IstioCaClient({ address: isthmusd.secureGrpc, rootPem });
    try {
      const { csrPem } = await opensslCsr('ec-p256');
      const res = await ca.createCertificate(csrPem, { token: 'echo-token' });
      assert.equal((await opensslVerify(res.certChain, rootPem)).ok, true);
      assert.match(await opensslText(res.certChain[0]!), /URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/echo/);
      assert.deepEqual(reviews.at(-1), { token: 'echo-token', audiences: ['istio-ca'] });
      const refused = await ca.createCertificate(csrPem, { token: 'stolen-token' }).then(() => undefined, (e: grpc.ServiceError) => e);
      assert.equal(refused?.code, grpc.status.UNAUTHENTICATED);
    } finally {
      ca.close();
    }
  });

  it('puts the root certificate into every namespace as istio-ca-root-cert, and keeps it there', async () => {
    const rootPem = readFileSync(join(isthmusd.citadelDir, 'root-cert.pem'), 'utf8');
    const rootCert = (ns: string) => (api.get('v1', 'ConfigMap', ns, 'istio-ca-root-cert') as { data?: Record<string, string> } | undefined)?.data?.['root-cert.pem'];
    await eventually(async () => {
      for (const ns of ['default', 'shop', 'istio-system']) assert.equal(rootCert(ns), rootPem, ns);
    });
    assert.equal(api.get('v1', 'ConfigMap', 'kube-public', 'istio-ca-root-cert'), undefined);
    assert.deepEqual(api.get('v1', 'ConfigMap', 'shop', 'istio-ca-root-cert')?.metadata.labels, { 'istio.io/config': 'true' });
    const lock = api.get('v1', 'ConfigMap', 'istio-system', 'istio-namespace-controller-election');
    assert.match(String((lock?.metadata.annotations as Record<string, string>)['control-plane.alpha.kubernetes.io/leader']), /"holderIdentity":"unknown-/);

    // Edited: the key comes back, other keys stay. Deleted: it is created again. A new namespace gets one.
    const shop = api.get('v1', 'ConfigMap', 'shop', 'istio-ca-root-cert')!;
    api.apply({ ...shop, data: { 'root-cert.pem': 'tampered', extra: 'kept' } });
    api.remove('v1', 'ConfigMap', 'default', 'istio-ca-root-cert');
    api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'late' } });
    await eventually(async () => {
      for (const ns of ['default', 'shop', 'late']) assert.equal(rootCert(ns), rootPem, ns);
    });
    assert.equal((api.get('v1', 'ConfigMap', 'shop', 'istio-ca-root-cert') as { data?: Record<string, string> }).data?.extra, 'kept');
  });
});
