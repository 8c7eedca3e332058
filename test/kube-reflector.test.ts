// The list/watch loop against an in-test API double (there is no kube-apiserver here): errors
// inside a watch stream, and watches the server ends at once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../pilot/kube/client.js';
import { Reflector } from '../pilot/kube/reflector.js';
import { KubeApiDouble } from './support/kube-api-double.js';
import { eventually } from './support/grpc-echo.js';

describe('Kubernetes reflector (against an in-test API double)', function () {
  this.timeout(20000);
  let api: KubeApiDouble;
  let dir: string;
  let reflector: Reflector | undefined;

  beforeEach(async () => {
    api = await KubeApiDouble.start();
    api.serve('v1', 'configmaps', 'ConfigMap');
    dir = mkdtempSync(join(tmpdir(), 'kube-reflector-'));
  });

  afterEach(async () => {
    reflector?.stop();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (seen: { lists: number; objects: string[] }) => {
    const client = await KubeClient.load(api.kubeconfig(dir));
    reflector = new Reflector(client, { path: '/api/v1/configmaps', apiVersion: 'v1', kind: 'ConfigMap', backoffMs: { initial: 200, max: 400 } }, {
      replace: (list) => {
        seen.lists++;
        seen.objects = list.map((o) => o.metadata!.name!);
      },
      upsert: (o) => seen.objects.push(o.metadata!.name!),
      remove: (o) => (seen.objects = seen.objects.filter((n) => n !== o.metadata!.name)),
    });
    reflector.start();
    await reflector.synced;
  };

  it('lists again after a 410 Gone sent inside the watch stream', async () => {
    let sent = false;
    api.addHandler((req) => {
      if (!req.url?.includes('watch=true') || sent) return undefined;
      sent = true;
      return { status: 200, body: { type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } } };
    });
    const seen = { lists: 0, objects: [] as string[] };
    api.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' } });
    await start(seen);
    await eventually(async () => assert.equal(seen.lists, 2));
    assert.deepEqual(seen.objects, ['a']);
  });

  it('waits between watches the server ends at once with nothing in them', async () => {
    api.addHandler((req) => (req.url?.includes('watch=true') ? { status: 200, body: { type: 'BOOKMARK', object: { kind: 'ConfigMap', metadata: { resourceVersion: '1' } } } } : undefined));
    const seen = { lists: 0, objects: [] as string[] };
    await start(seen);
    await new Promise((r) => setTimeout(r, 1000));
    const watches = api.requests.filter((r) => r.includes('watch=true')).length;
    // Back-to-back it would be hundreds; backing off from 200 ms, a handful.
    assert.ok(watches >= 2 && watches <= 6, `${watches} watches in a second`);
  });
});
