// Pods as workloads: which serve as ServiceEntry endpoints (Ready, running, not terminating, as
// istiod decides), and which identities a node agent may ask certificates for (its own node's).
import assert from 'node:assert/strict';
import { MemoryConfigStore } from '../pilot/config/store.js';
import { parseYaml } from '../pilot/config/parse.js';
import { nodeAuthorizer } from '../pilot/kube/node-authorizer.js';
import { pushFromYaml } from './support/push.js';

const entry = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: app, namespace: shop}
spec:
  hosts: [app.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: app}}`;

function pod(name: string, ip: string, extra: { status?: string; meta?: string; spec?: string } = {}): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: shop, labels: {app: app}${extra.meta ?? ''}}
spec: {serviceAccountName: app${extra.spec ?? ''}}
status: {podIP: ${ip}${extra.status ?? ''}}`;
}

describe('pods as workloads', () => {
  it('serves only pods that are Ready, running and not being deleted as ServiceEntry endpoints', () => {
    const push = pushFromYaml(
      [
        entry,
        pod('plain', '10.0.0.1'),
        pod('ready', '10.0.0.2', { status: ', phase: Running, conditions: [{type: Ready, status: "True"}]' }),
        pod('unready', '10.0.0.3', { status: ', phase: Running, conditions: [{type: Ready, status: "False"}]' }),
        pod('done', '10.0.0.4', { status: ', phase: Succeeded' }),
        pod('failed', '10.0.0.5', { status: ', phase: Failed' }),
        pod('leaving', '10.0.0.6', { meta: ', deletionTimestamp: "2026-01-01T00:00:00Z"' }),
      ].join('\n---\n'),
    );
    const svc = push.registry.services.find((s) => s.hostname === 'app.shop.svc.cluster.local')!;
    assert.deepEqual(push.endpoints(svc).map((e) => e.address).sort(), ['10.0.0.1', '10.0.0.2']);
  });

  describe('node authorization of impersonation', () => {
    const store = new MemoryConfigStore();
    store.apply(
      ...parseYaml(
        [
          `apiVersion: v1\nkind: Pod\nmetadata: {name: ztunnel-a, namespace: istio-system, uid: u-a}\nspec: {serviceAccountName: ztunnel, nodeName: node-a}\nstatus: {podIP: 10.9.0.1}`,
          pod('app-1', '10.0.0.1', { spec: ', nodeName: node-a' }),
          pod('app-2', '10.0.0.2', { spec: ', nodeName: node-b' }).replace('serviceAccountName: app', 'serviceAccountName: other'),
        ].join('\n---\n'),
      ).resources,
    );
    const authorize = nodeAuthorizer(store);
    const caller = (podUid = 'u-a') => ({ source: 'IDToken', identities: [], kubernetes: { namespace: 'istio-system', serviceAccount: 'ztunnel', podName: 'ztunnel-a', podUid } });
    const id = (ns: string, sa: string) => ({ trustDomain: 'cluster.local', namespace: ns, serviceAccount: sa });

    it("allows identities that run on the caller's node", () => {
      assert.doesNotThrow(() => authorize(caller(), id('shop', 'app')));
    });
    it('refuses identities that run elsewhere, and callers whose pod does not match', () => {
      assert.throws(() => authorize(caller(), id('shop', 'other')), /no instances of shop\/other found on node node-a/);
      assert.throws(() => authorize(caller('u-stale'), id('shop', 'app')), /pod istio-system\/ztunnel-a with UID u-stale not found/);
      assert.throws(() => authorize({ source: 'IDToken', identities: [], kubernetes: { namespace: 'istio-system', serviceAccount: 'ztunnel' } }, id('shop', 'app')), /pod name and UID are required/);
    });
  });
});
