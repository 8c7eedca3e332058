// Push plans for kinds the registry and the Kubernetes conversions read (Namespace, Node, Pod,
// ConfigMap, Secret): nothing when nothing they feed moved, a push when something did.
import assert from 'node:assert/strict';
import { planPush } from '../pilot/xds/push-plan.js';
import { pushFromYaml } from './support/push.js';
import { proxyFromNode } from '../pilot/model/proxy.js';
import { TYPE } from '../pilot/networking/envoy.js';

const service = `apiVersion: v1
kind: Service
metadata: {name: backend, namespace: b}
spec:
  clusterIP: 10.96.7.7
  ports:
  - {name: http, port: 80}`;

const namespace = (extra: string) => `apiVersion: v1
kind: Namespace
metadata: {name: b${extra}}`;

const event = (kind: string, key: string) => ({ changed: new Set([key]), kinds: new Set([kind]) });

describe('push plans for Namespace, Node, Pod, ConfigMap and Secret changes', () => {
  it('pushes nothing for a namespace label that nothing reads', () => {
    const before = pushFromYaml([service, namespace('')].join('\n---\n'));
    const after = pushFromYaml([service, namespace(', labels: {team: a}')].join('\n---\n'), {}, before);
    assert.equal(planPush(before, after, event('Namespace', 'Namespace//b')).scope, 'none');
  });

  it("pushes when a namespace's traffic-distribution annotation changes its services' load balancing", () => {
    const before = pushFromYaml([service, namespace('')].join('\n---\n'));
    const after = pushFromYaml([service, namespace(', annotations: {networking.istio.io/traffic-distribution: PreferClose}')].join('\n---\n'), {}, before);
    assert.notEqual(after.registry.services[0]!.trafficDistribution, before.registry.services[0]!.trafficDistribution);
    assert.equal(planPush(before, after, event('Namespace', 'Namespace//b')).scope, 'full');
  });

  it('looks at SDS only for a Secret or ConfigMap that moves no other config', () => {
    const secret = (v: string) => `apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: b}\ndata: {k: ${Buffer.from(v).toString('base64')}}`;
    const before = pushFromYaml([service, secret('1')].join('\n---\n'));
    const after = pushFromYaml([service, secret('2')].join('\n---\n'), {}, before);
    const plan = planPush(before, after, event('Secret', 'Secret/b/s'));
    assert.equal(plan.scope, 'secrets');
  });

  it('pushes nothing for a pod write that moves no endpoint', () => {
    const pod = (annotation: string) => `apiVersion: v1
kind: Pod
metadata: {name: p, namespace: b, labels: {app: backend}, annotations: {note: "${annotation}"}}
status: {podIP: 10.1.1.1}`;
    const before = pushFromYaml([service, pod('1')].join('\n---\n'));
    const after = pushFromYaml([service, pod('2')].join('\n---\n'), {}, before);
    assert.equal(planPush(before, after, event('Pod', 'Pod/b/p')).scope, 'none');
  });
});

describe('SDS pushes after a Secret change', () => {
  const secret = (v: string) => `apiVersion: v1\nkind: Secret\nmetadata: {name: gw-cert, namespace: edge}\ndata: {k: ${Buffer.from(v).toString('base64')}}`;
  const router = (namespace: string) => {
    const proxy = proxyFromNode({ id: `router~10.0.0.1~gw-1.${namespace}~${namespace}.svc.cluster.local`, metadata: { NAMESPACE: namespace } });
    proxy.verifiedIdentity = { namespace, serviceAccount: 'gw' };
    return proxy;
  };
  const watching = (...names: string[]) => (typeUrl: string) => (typeUrl === TYPE.secret ? new Set(names) : undefined);

  it('go only to proxies watching a name of that Secret (either form, and its -cacert twin)', () => {
    const before = pushFromYaml(secret('1'));
    const after = pushFromYaml(secret('2'), {}, before);
    const plan = planPush(before, after, event('Secret', 'Secret/edge/gw-cert'));
    assert.equal(plan.scope, 'secrets');
    assert.deepEqual([...plan.select!(router('edge'), watching('kubernetes://gw-cert'))!], [TYPE.secret]);
    assert.deepEqual([...plan.select!(router('other'), watching('kubernetes://edge/gw-cert-cacert'))!], [TYPE.secret]);
    assert.deepEqual([...plan.select!(router('other'), watching('kubernetes-gateway://edge/gw-cert'))!], [TYPE.secret]);
    assert.deepEqual([...plan.select!(router('other'), watching('kubernetes://gw-cert'))!], [], 'kubernetes://NAME is in the proxy namespace');
    assert.deepEqual([...plan.select!(router('edge'), watching('kubernetes://other-cert'))!], []);
    assert.deepEqual([...plan.select!(router('edge'), () => undefined)!], []);
  });
});
