// The `simulate` conformance runner on small case files of the shared format: what it builds,
// what it checks (Istio's Result.Matches, strictMatch, inbound clusters, route tables) and how
// it reports failures.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateSuite } from '../conformance/suites/simulate.js';
import type { SuiteResult } from '../conformance/suite.js';

const ratings = `apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec:
  clusterIP: 10.0.0.20
  ports: [{name: http, port: 9080}]
`;
const proxy = { type: 'sidecar', id: 'app.test', ipAddresses: ['1.1.1.1'], configNamespace: 'default', dnsDomain: 'default.svc.cluster.local', metadata: { istioVersion: '1.23.0', namespace: 'default' } };
const call = (name: string, expect: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name,
  goTest: `TestX/${name}`,
  line: 1,
  port: 9080,
  protocol: 'http',
  hostHeader: 'ratings',
  expect,
  ...extra,
});

async function runSuite(files: { cases?: unknown[]; routes?: unknown[] }): Promise<{ result: SuiteResult; printed: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'simulate-'));
  const printed: string[] = [];
  const log = console.log;
  try {
    const cases = files.cases ? join(dir, 'cases.json') : undefined;
    const routes = files.routes ? join(dir, 'routes.json') : undefined;
    if (cases) writeFileSync(cases, JSON.stringify(files.cases));
    if (routes) writeFileSync(routes, JSON.stringify(files.routes));
    console.log = (...args: unknown[]) => printed.push(args.join(' '));
    const result = await simulateSuite.run({ cases, extra: { routes }, verbose: false });
    return { result, printed };
  } finally {
    console.log = log;
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('conformance: simulate runner', function () {
  this.timeout(20000);

  it("checks only the fields a call asserts, the error always, everything under strictMatch", async () => {
    const { result, printed } = await runSuite({
      cases: [
        {
          name: 'TestX',
          goTest: 'TestX',
          harness: 'xds.NewFakeDiscoveryServer',
          config: '',
          kubeConfig: ratings,
          proxy,
          calls: [
            call('ok', { error: null, listener: '0.0.0.0_9080', routeConfig: '9080', cluster: 'outbound|9080||ratings.default.svc.cluster.local' }),
            call('wrong-cluster', { error: null, cluster: 'outbound|9080||other.default.svc.cluster.local' }),
            call('strict', { error: null, listener: '0.0.0.0_9080', strictMatch: true }),
            call('wrong-error', { error: 'ErrNoRoute' }),
            call('tcp-passthrough', { error: null, filterChain: 'PassthroughFilterChain', cluster: 'PassthroughCluster' }, { protocol: 'tcp' }),
          ],
        },
      ],
    });
    assert.equal(result.passed, 2, JSON.stringify(result.failures, null, 1));
    assert.equal(result.failed, 3);
    const why = Object.fromEntries(result.failures.map((f) => [f.name, f.why]));
    assert.match(why['TestX/wrong-cluster [line 1]']!, /^cluster: want "outbound\|9080\|\|other\.default\.svc\.cluster\.local" got "outbound\|9080\|\|ratings\.default\.svc\.cluster\.local" \| got: listener="0\.0\.0\.0_9080" rds="9080" vhost="ratings\.default\.svc\.cluster\.local:9080" route="default" cluster="outbound\|9080\|\|ratings\.default\.svc\.cluster\.local"$/);
    assert.match(why['TestX/strict [line 1]']!, /rds: want "" got "9080"; vhost: want "" got "ratings\.default\.svc\.cluster\.local:9080"; route: want "" got "default"; cluster: want "" got "outbound/);
    assert.match(why['TestX/wrong-error [line 1]']!, /^error: want ErrNoRoute got none/);
    assert.ok(printed.includes('simulate: cases.json: 2 passed, 3 failed'), printed.join('\n'));
  });

  it('fails every call of a case whose config has kinds Isthmus cannot load, naming them', async () => {
    const { result } = await runSuite({
      cases: [{ name: 'TestY', goTest: 'TestY', config: 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n', kubeConfig: '', proxy, calls: [call('a', { error: null }), call('b', { error: null })] }],
    });
    assert.equal(result.failed, 2);
    assert.deepEqual(
      result.failures.map((f) => f.why),
      ['not run: needs kinds Isthmus cannot load yet: example.com/v1/Widget', 'not run: needs kinds Isthmus cannot load yet: example.com/v1/Widget'],
    );
  });

  it('checks inbound clusters: the set, their endpoints and their istio metadata', async () => {
    const { result } = await runSuite({
      cases: [
        {
          name: 'TestInboundClusters/one',
          goTest: 'TestInboundClusters',
          harness: 'core.NewConfigGenTest',
          config: '',
          kubeConfig: '',
          memoryRegistry: {
            services: [{ hostname: 'backend.default.svc.cluster.local', defaultAddress: '1.1.1.1', ports: [{ name: 'default', port: 80, protocol: 'HTTP' }], resolution: 'ClientSideLB' }],
            instances: [{ endpoint: { addresses: ['1.2.3.4'], servicePortName: 'default', endpointPort: 8080 }, service: 'backend.default.svc.cluster.local', servicePort: 80, servicePortName: 'default' }],
          },
          proxy: { ...proxy, ipAddresses: ['1.2.3.4'] },
          expectInboundClusters: { 'inbound|8080||': null },
          expectInboundClusterTelemetry: { 'inbound|8080||': ['backend.default.svc.cluster.local'] },
          calls: [{ name: '', goTest: 'TestInboundClusters/one', line: 2, address: '1.2.3.4', port: 8080, protocol: 'http', callMode: 'inbound', expect: { error: null, cluster: 'inbound|8080||' } }],
        },
      ],
    });
    assert.deepEqual(result.failures, []);
    assert.equal(result.passed, 3);
  });

  it('checks route tables: sorted route clusters per domain; null for absent domains', async () => {
    const entry = (expect: Record<string, string[] | null>) => ({ name: 'TestSidecarRoutes/x', goTest: 'TestSidecarRoutes', kubeConfig: ratings, proxy, routeConfig: '9080', expectVirtualHostClusters: expect });
    const { result } = await runSuite({
      routes: [
        entry({ 'ratings.default.svc.cluster.local': ['outbound|9080||ratings.default.svc.cluster.local'], 'nope.example.com': null }),
        entry({ ratings: ['outbound|9080||elsewhere'] }),
        { ...entry({}), routeConfig: '80' },
      ],
    });
    assert.equal(result.passed, 1);
    assert.deepEqual(
      result.failures.map((f) => f.why),
      ['rds 9080: ratings: want ["outbound|9080||elsewhere"] got ["outbound|9080||ratings.default.svc.cluster.local"]', 'route config "80" not generated (listeners reference: 9080)'],
    );
  });
});
