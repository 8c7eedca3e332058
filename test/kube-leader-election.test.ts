// Leader election on istiod's ConfigMap locks, against an in-test API double (no kube-apiserver here).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../pilot/kube/client.js';
import { LEADER_ANNOTATION, LeaderElection, type LeaderRecord } from '../pilot/kube/leader-election.js';
import { KubeApiDouble } from './support/kube-api-double.js';
import { eventually } from './support/grpc-echo.js';

const TIMING = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 100 };
const LOCK = 'istio-namespace-controller-election';

describe('leader election on a ConfigMap lock (against an in-test API double)', function () {
  this.timeout(20000);
  let api: KubeApiDouble;
  let dir: string;
  let client: KubeClient;
  const elections: LeaderElection[] = [];

  beforeEach(async () => {
    api = await KubeApiDouble.start();
    api.serve('v1', 'configmaps', 'ConfigMap');
    dir = mkdtempSync(join(tmpdir(), 'kube-le-'));
    client = await KubeClient.load(api.kubeconfig(dir));
  });

  afterEach(async () => {
    await Promise.all(elections.splice(0).map((e) => e.stop()));
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const candidate = (identity: string, events: string[] = []) => {
    const e = new LeaderElection(client, {
      name: LOCK,
      namespace: 'istio-system',
      identity,
      timing: TIMING,
      onStartedLeading: () => events.push(`${identity} started`),
      onStoppedLeading: () => events.push(`${identity} stopped`),
    });
    elections.push(e);
    return e;
  };

  const record = (): LeaderRecord | undefined => {
    const raw = api.get('v1', 'ConfigMap', 'istio-system', LOCK)?.metadata.annotations as Record<string, string> | undefined;
    return raw?.[LEADER_ANNOTATION] ? (JSON.parse(raw[LEADER_ANNOTATION]) as LeaderRecord) : undefined;
  };

  it('elects one replica, and hands over at once when the leader stops', async () => {
    const events: string[] = [];
    const a = candidate('isthmusd-a', events);
    a.start();
    await eventually(async () => assert.ok(a.isLeader));
    const b = candidate('isthmusd-b', events);
    b.start();
    // B sees a live lease: it waits however many times it retries.
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(b.isLeader, false);
    assert.equal(record()?.holderIdentity, 'isthmusd-a');
    assert.equal(record()?.leaseDurationSeconds, 2);

    await a.stop();
    await eventually(async () => assert.ok(b.isLeader));
    assert.equal(record()?.holderIdentity, 'isthmusd-b');
    assert.equal(record()?.leaderTransitions, 1, 'the release keeps the count; b taking over adds one');
    assert.deepEqual(events, ['isthmusd-a started', 'isthmusd-a stopped', 'isthmusd-b started']);
  });

  it('takes over a lease its holder stopped renewing, once it has looked unchanged for the lease duration', async () => {
    const now = new Date().toISOString();
    api.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: LOCK, namespace: 'istio-system', annotations: { [LEADER_ANNOTATION]: JSON.stringify({ holderIdentity: 'istiod-7f9c', leaseDurationSeconds: 2, acquireTime: now, renewTime: now, leaderTransitions: 3 }) } },
    });
    const b = candidate('isthmusd-b');
    b.start();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(b.isLeader, false, 'a lease held by istiod is respected');
    await eventually(async () => assert.ok(b.isLeader));
    assert.equal(record()?.leaderTransitions, 4);
  });

  it('stops leading when it cannot renew within the renew deadline', async () => {
    const events: string[] = [];
    const a = candidate('isthmusd-a', events);
    a.start();
    await eventually(async () => assert.ok(a.isLeader));
    // Another replica wrote itself in (say, after a partition): A's renewals now see a live foreign lease.
    const now = new Date().toISOString();
    const lock = api.get('v1', 'ConfigMap', 'istio-system', LOCK)!;
    api.apply({ ...lock, metadata: { ...lock.metadata, annotations: { [LEADER_ANNOTATION]: JSON.stringify({ holderIdentity: 'isthmusd-c', leaseDurationSeconds: 60, acquireTime: now, renewTime: now, leaderTransitions: 1 }) } } });
    await eventually(async () => assert.equal(a.isLeader, false));
    assert.deepEqual(events, ['isthmusd-a started', 'isthmusd-a stopped']);
  });

  it('steps down when a renewal hangs, before another replica can take over', async () => {
    let hang = false;
    api.addHandler((req) => (hang && req.method === 'PUT' ? new Promise(() => {}) : undefined));
    const events: string[] = [];
    const a = candidate('isthmusd-a', events);
    a.start();
    await eventually(async () => assert.ok(a.isLeader));
    hang = true;
    const b = candidate('isthmusd-b');
    b.start();
    // A must give up within its renew deadline (1 s), well before B may take over (1.5 s lease).
    await eventually(async () => assert.equal(a.isLeader, false), 5000, 20);
    assert.equal(b.isLeader, false);
    assert.deepEqual(events, ['isthmusd-a started', 'isthmusd-a stopped']);
  });
});
