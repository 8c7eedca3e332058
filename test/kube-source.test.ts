// The Kubernetes config source, against an in-test double of the API server that speaks
// list/watch over HTTPS (there is no kube-apiserver here).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../pilot/kube/client.js';
import { KubeConfigSource } from '../pilot/config/kube-source.js';
import { KubeApiDouble, serveIsthmusKinds } from './support/kube-api-double.js';
import { eventually } from './support/grpc-echo.js';
import { kubeService } from './support/meshfiles.js';

function virtualService(name: string, host: string, weight = 100): Record<string, unknown> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: 'default' },
    spec: { hosts: [host], http: [{ route: [{ destination: { host }, weight }] }] },
  };
}

describe('Kubernetes config source (against an in-test API double speaking list/watch)', function () {
  this.timeout(20000);
  let api: KubeApiDouble;
  let dir: string;
  let source: KubeConfigSource;

  beforeEach(async () => {
    api = await KubeApiDouble.start();
    dir = mkdtempSync(join(tmpdir(), 'kube-source-'));
  });

  afterEach(async () => {
    source?.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const load = async () => {
    source = new KubeConfigSource((await KubeClient.load(api.kubeconfig(dir))), undefined, { backoffMs: { initial: 20, max: 100 }, absentRetryMs: 50 });
    await source.load();
  };

  /** Watches start after the first list: wait until the VirtualService watch is open. */
  const watching = () => eventually(async () => assert.equal(api.watcherCount('virtualservices'), 1));

  it('lists every kind before resolving, reading list items that carry no apiVersion or kind', async () => {
    await serveIsthmusKinds(api);
    api.applyYaml(kubeService('echo', 7070, [{ version: 'v1', port: 9001 }]));
    api.apply(virtualService('echo', 'echo'));
    await load();
    assert.equal(source.store.list('Service').length, 1);
    assert.equal(source.store.list('EndpointSlice').length, 1);
    assert.equal(source.store.list('Pod').length, 1);
    const vs = source.store.get<{ hosts: string[] }>('VirtualService', 'default', 'echo');
    assert.deepEqual(vs?.spec.hosts, ['echo']);
    assert.equal(vs?.group, 'networking.istio.io');
    assert.ok(vs?.meta.resourceVersion, 'the object keeps its resourceVersion');
    assert.deepEqual(source.store.errors(), []);
  });

  it('follows watch events: add, update and delete', async () => {
    await serveIsthmusKinds(api);
    await load();
    const events: string[][] = [];
    source.store.onChange((e) => events.push([...e.changed]));
    api.apply(virtualService('a', 'a.default.svc.cluster.local'));
    await eventually(async () => assert.ok(source.store.get('VirtualService', 'default', 'a')));
    api.apply(virtualService('a', 'a.default.svc.cluster.local', 100));
    const vs = virtualService('a', 'b.default.svc.cluster.local');
    api.apply(vs);
    await eventually(async () => assert.deepEqual(source.store.get<{ hosts: string[] }>('VirtualService', 'default', 'a')?.spec.hosts, ['b.default.svc.cluster.local']));
    api.remove('networking.istio.io/v1', 'VirtualService', 'default', 'a');
    await eventually(async () => assert.equal(source.store.get('VirtualService', 'default', 'a'), undefined));
    assert.ok(events.every((keys) => keys.every((k) => k === 'VirtualService/default/a')));
  });

  it('rejects an invalid object by kind, namespace/name and field, keeps its last good version and the rest of the mesh', async () => {
    await serveIsthmusKinds(api);
    api.apply(virtualService('good', 'good'));
    api.apply(virtualService('edited', 'edited'));
    api.apply({ ...virtualService('broken', 'broken'), spec: { hosts: ['broken'], http: [{ route: [{ destination: { host: 'broken' }, weight: -1 }] }] } });
    await load();
    assert.ok(source.store.get('VirtualService', 'default', 'good'));
    assert.equal(source.store.get('VirtualService', 'default', 'broken'), undefined);
    const [err] = source.store.errors();
    assert.equal(err?.kind, 'VirtualService');
    assert.equal(`${err?.namespace}/${err?.name}`, 'default/broken');
    assert.equal(err?.field, 'spec.http[0].route[0].weight');

    // A bad edit to an object that was valid keeps the valid version in service.
    api.apply({ ...virtualService('edited', 'edited'), spec: { hosts: [], http: 'nope' } });
    await eventually(async () => assert.equal(source.store.errors().length, 2));
    const editErr = source.store.errors().find((e) => e.name === 'edited');
    assert.match(editErr!.message, /still serving the last good version/);
    assert.deepEqual(source.store.get<{ hosts: string[] }>('VirtualService', 'default', 'edited')?.spec.hosts, ['edited']);

    // Fixing or deleting clears the errors.
    api.apply(virtualService('edited', 'edited-2'));
    api.remove('networking.istio.io/v1', 'VirtualService', 'default', 'broken');
    await eventually(async () => assert.deepEqual(source.store.errors(), []));
    assert.deepEqual(source.store.get<{ hosts: string[] }>('VirtualService', 'default', 'edited')?.spec.hosts, ['edited-2']);
  });

  it('does not wait for CRDs that are not installed, and picks them up once they are', async () => {
    await serveIsthmusKinds(api, ['gateway.networking.k8s.io', 'security.istio.io']);
    await load();
    api.serve('security.istio.io/v1', 'authorizationpolicies', 'AuthorizationPolicy');
    api.apply({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'deny', namespace: 'default' }, spec: { action: 'DENY', rules: [{}] } });
    await eventually(async () => assert.ok(source.store.get('AuthorizationPolicy', 'default', 'deny')));
    // Not served for a while (an API server restarting): the policy stays in force, as on istiod.
    api.unserve('security.istio.io/v1', 'authorizationpolicies');
    await eventually(async () => assert.ok(api.requests.filter((r) => r === 'GET /apis/security.istio.io/v1/authorizationpolicies').length >= 3));
    assert.ok(source.store.get('AuthorizationPolicy', 'default', 'deny'));
  });

  it('reads a kind at the version the cluster serves, also when its CRD arrives later at an older one', async () => {
    await serveIsthmusKinds(api, ['security.istio.io']);
    await load();
    api.serve('security.istio.io/v1beta1', 'peerauthentications', 'PeerAuthentication');
    api.apply({ apiVersion: 'security.istio.io/v1beta1', kind: 'PeerAuthentication', metadata: { name: 'strict', namespace: 'default' }, spec: { mtls: { mode: 'STRICT' } } });
    await eventually(async () => assert.equal(source.store.get('PeerAuthentication', 'default', 'strict')?.version, 'v1beta1'));
  });

  it('resumes a watch the server ended from the last version seen, without listing again', async () => {
    await serveIsthmusKinds(api);
    await load();
    const lists = () => api.requests.filter((r) => r.startsWith('GET /apis/networking.istio.io/v1/virtualservices') && !r.includes('watch=true')).length;
    assert.equal(lists(), 1);
    await watching();
    api.closeWatches();
    api.apply(virtualService('late', 'late'));
    await eventually(async () => assert.ok(source.store.get('VirtualService', 'default', 'late')));
    assert.equal(lists(), 1);
    const watches = api.requests.filter((r) => r.startsWith('GET /apis/networking.istio.io/v1/virtualservices?') && r.includes('watch=true'));
    assert.ok(watches.length >= 2);
    assert.match(watches.at(-1)!, /resourceVersion=[1-9]/);
  });

  it('lists again after 410 Gone, noticing objects deleted while it was not watching', async () => {
    await serveIsthmusKinds(api);
    api.apply(virtualService('doomed', 'doomed'));
    await load();
    assert.ok(source.store.get('VirtualService', 'default', 'doomed'));
    // Close the watches, delete while nobody watches, and forget the history.
    await watching();
    api.closeWatches();
    api.remove('networking.istio.io/v1', 'VirtualService', 'default', 'doomed');
    api.apply(virtualService('born', 'born'));
    api.compact();
    api.closeWatches();
    await eventually(async () => {
      assert.equal(source.store.get('VirtualService', 'default', 'doomed'), undefined);
      assert.ok(source.store.get('VirtualService', 'default', 'born'));
    });
  });

  it('leaves Helm release and service-account token Secrets out', async () => {
    await serveIsthmusKinds(api);
    const secret = (name: string, type: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'istio-system' }, type, data: { 'tls.crt': 'eA==' } });
    api.apply(secret('gw-cert', 'kubernetes.io/tls'));
    api.apply(secret('sh.helm.release.v1.istio.v1', 'helm.sh/release.v1'));
    api.apply(secret('default-token', 'kubernetes.io/service-account-token'));
    await load();
    assert.deepEqual(source.store.list('Secret').map((s) => s.meta.name), ['gw-cert']);
  });

  it('keeps retrying when the API server refuses the credentials', async () => {
    await serveIsthmusKinds(api);
    const kc = await KubeClient.load(api.kubeconfig(dir));
    const user = kc.config.getCurrentUser() as { token?: string };
    user.token = 'wrong';
    const warnings: string[] = [];
    const log = { warn: (o: { err: string }) => warnings.push(o.err), info() {}, debug() {} } as never;
    source = new KubeConfigSource(kc, log, { backoffMs: { initial: 20, max: 50 } });
    const loading = source.load();
    await eventually(async () => assert.ok(warnings.some((w) => w === 'Unauthorized')));
    user.token = api.token;
    await loading;
    assert.deepEqual(source.store.errors(), []);
  });
});
