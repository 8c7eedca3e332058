// `isthmusctl x trace` as a user runs it, on the bundled example mesh: offline on the config
// directory, and against a running isthmusd through /debug/trace.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, startIsthmusd, type RunningIsthmusd } from './support/isthmusd.js';
import { SotwClient, sidecarNode } from './support/ads-client.js';
import type { TraceReport } from '../pilot/simulation/trace.js';

const run = promisify(execFile);
const ctl = (...args: string[]) =>
  run(process.execPath, [`${ROOT}/bin/isthmusctl`, ...args], { cwd: ROOT }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
const json = (text: string) => JSON.parse(text) as TraceReport;

const POD = 'echo-v1-5d8f7.default';
const V1 = 'outbound|7070|v1|echo.default.svc.cluster.local';
const V2 = 'outbound|7070|v2|echo.default.svc.cluster.local';

/** A table row: the cells in order, separated by runs of spaces. */
function row(...cells: string[]): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^ *${cells.map(esc).join(' {2,}')}\\s*$`, 'm');
}

function checkPinnedV2Table(stdout: string): void {
  assert.match(stdout, /^Proxy: +echo-v1-5d8f7\.default \(sidecar, namespace default, 127\.0\.0\.1\)$/m);
  assert.match(stdout, /^Request: +GET \/ to Host echo:7070, 10\.96\.0\.10:7070 \(outbound, http2, plaintext\)$/m);
  assert.match(stdout, /^Address: +10\.96\.0\.10 \(VIP of Service default\/echo, echo\.default\.svc\.cluster\.local\)$/m);
  assert.match(stdout, /^STEP +MATCHED +HOW +FROM$/m);
  assert.match(stdout, row('listener', '0.0.0.0_7070', 'bound to 0.0.0.0:7070 (wildcard address, port 7070)'));
  assert.match(stdout, row('route config', '7070', 'from RDS'));
  assert.match(stdout, row('virtual host', 'echo.default.svc.cluster.local:7070', 'Host "echo" matches domain "echo" (exact)', 'Service default/echo (echo.default.svc.cluster.local), VirtualService default/echo (hosts)'));
  assert.match(stdout, row('route', 'pinned-v2', 'prefix "/", header x-version', 'VirtualService default/echo (http route "pinned-v2")'));
  assert.match(stdout, row('cluster', V2, 'route action cluster', 'Service default/echo (echo.default.svc.cluster.local port 7070), DestinationRule default/echo (subset v2)'));
  assert.match(stdout, new RegExp(`^Result: +${V2.replace(/\|/g, '\\|')}$`, 'm'));
  assert.match(stdout, row('ENDPOINT', 'HEALTH', 'WEIGHT', 'LOCALITY', 'WORKLOAD'));
  assert.match(stdout, /^ {2}127\.0\.0\.1:17072 +HEALTHY +1 +Pod default\/echo-v2-7c9b4$/m);
}

function checkSplitJson(t: TraceReport): void {
  assert.equal(t.proxy.workload, POD);
  assert.deepEqual(t.proxy.labels, { app: 'echo', version: 'v1' });
  assert.deepEqual(
    { address: t.request.address, port: t.request.port, protocol: t.request.protocol, tls: t.request.tls, host: t.request.host, direction: t.request.direction },
    { address: '10.96.0.10', port: 7070, protocol: 'http2', tls: 'plaintext', host: 'echo.default.svc.cluster.local:7070', direction: 'outbound' },
  );
  assert.deepEqual(t.result, {
    error: null,
    listener: '0.0.0.0_7070',
    filterChain: '',
    routeConfig: '7070',
    virtualHost: 'echo.default.svc.cluster.local:7070',
    route: 'split',
    cluster: '',
  });
  assert.deepEqual(
    t.steps.map((s) => [s.step, s.name]),
    [
      ['listener', '0.0.0.0_7070'],
      ['listener filters', 'http_inspector'],
      ['filter chain', ''],
      ['network filter', 'envoy.filters.network.http_connection_manager'],
      ['route config', '7070'],
      ['virtual host', 'echo.default.svc.cluster.local:7070'],
      ['route', 'split'],
      ['cluster', V1],
      ['cluster', V2],
    ],
  );
  assert.deepEqual(t.steps.find((s) => s.step === 'route')!.resources, [{ kind: 'VirtualService', namespace: 'default', name: 'echo', role: 'http route "split"' }]);
  assert.deepEqual(
    t.clusters.map((c) => ({ name: c.name, weight: c.weight, type: c.type, endpoints: c.endpoints })),
    [
      { name: V1, weight: 80, type: 'EDS', endpoints: [{ address: '127.0.0.1', port: 17071, health: 'HEALTHY', weight: 1, workload: { kind: 'Pod', namespace: 'default', name: 'echo-v1-5d8f7' } }] },
      { name: V2, weight: 20, type: 'EDS', endpoints: [{ address: '127.0.0.1', port: 17072, health: 'HEALTHY', weight: 1, workload: { kind: 'Pod', namespace: 'default', name: 'echo-v2-7c9b4' } }] },
    ],
  );
  assert.deepEqual(t.clusters[0]!.resources, [
    { kind: 'Service', namespace: 'default', name: 'echo', role: 'echo.default.svc.cluster.local port 7070' },
    { kind: 'DestinationRule', namespace: 'default', name: 'echo', role: 'subset v1' },
  ]);
}

describe('isthmusctl x trace, offline (-d examples)', function () {
  this.timeout(60000);

  it('prints each step with the Istio resources behind it, and the endpoints reached', async () => {
    const r = await ctl('x', 'trace', POD, 'http://echo:7070/', '--http2', '-H', 'x-version: v2', '-d', 'examples');
    assert.equal(r.code, 0, r.stderr);
    checkPinnedV2Table(r.stdout);
  });

  it('-o json: a weighted split, with both clusters and their endpoints', async () => {
    const r = await ctl('x', 'trace', POD, 'grpc://echo.default.svc.cluster.local:7070/echo.Echo/Call', '-d', 'examples', '-o', 'json');
    assert.equal(r.code, 0, r.stderr);
    checkSplitJson(json(r.stdout));
  });

  it('selects the workload by labels and traces inbound (service port → target port)', async () => {
    const r = await ctl('experimental', 'trace', '-l', 'version=v2', '-n', 'default', 'http://echo:7070/', '--inbound', '-d', 'examples', '-o', 'json');
    assert.equal(r.code, 0, r.stderr);
    const t = json(r.stdout);
    assert.equal(t.proxy.workload, 'echo-v2-7c9b4.default');
    assert.deepEqual([t.request.address, t.request.port, t.request.direction], ['127.0.0.1', 17072, 'inbound']);
    assert.deepEqual([t.result.listener, t.result.filterChain, t.result.cluster], ['virtualInbound', '0.0.0.0_17072', 'inbound|17072||']);
    assert.deepEqual(t.steps.find((s) => s.step === 'cluster')!.resources, [{ kind: 'Service', namespace: 'default', name: 'echo', role: 'echo.default.svc.cluster.local, served by this proxy' }]);
  });

  it('TLS to an external ServiceEntry, and an unknown host passed through', async () => {
    const tls = await ctl('x', 'trace', POD, 'tls://api.example.com:443', '-d', 'examples', '-o', 'json');
    assert.equal(tls.code, 0, tls.stderr);
    const t = json(tls.stdout);
    assert.equal(t.result.cluster, 'outbound|443||api.example.com');
    assert.equal(t.request.sni, 'api.example.com');
    assert.deepEqual(t.clusters[0]!.resources, [{ kind: 'ServiceEntry', namespace: 'default', name: 'example-api', role: 'api.example.com port 443' }]);
    const unknown = await ctl('x', 'trace', POD, 'http://unknown.example.org:9080/', '-d', 'examples');
    assert.equal(unknown.code, 0, unknown.stderr);
    assert.match(unknown.stdout, row('virtual host', 'allow_any', 'Host "unknown.example.org" matches domain "*" (wildcard)'));
    assert.match(unknown.stdout, /^Result: +PassthroughCluster$/m);
    assert.match(unknown.stdout, /^Note: unknown\.example\.org does not resolve to a service address in the mesh/m);
  });

  it('exits 1 with the reason when the request would fail, and on bad input', async () => {
    const failed = await ctl('x', 'trace', POD, 'http://echo:7070/', '--alpn', 'h2', '-d', 'examples');
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /^Result: +FAILED ErrInvalidCall: invalid call, ALPN can only be sent in TLS requests$/m);
    const noPod = await ctl('x', 'trace', 'nope.default', 'http://echo:7070/', '-d', 'examples');
    assert.equal(noPod.code, 1);
    assert.match(noPod.stderr, /^Error: no proxy, Pod or WorkloadEntry "nope\.default"; known: echo-v1-5d8f7\.default, echo-v2-7c9b4\.default$/m);
    const noProxy = await ctl('x', 'trace', 'http://echo:7070/', '-d', 'examples');
    assert.equal(noProxy.code, 1);
    assert.match(noProxy.stderr, /name a proxy/);
  });
});

describe('isthmusctl x trace against a running isthmusd', function () {
  this.timeout(60000);
  let isthmusd: RunningIsthmusd;
  let client: SotwClient | undefined;
  before(async () => {
    isthmusd = await startIsthmusd(undefined);
  });
  after(async () => {
    client?.close();
    await isthmusd?.stop();
  });

  it('prints the same table as offline', async () => {
    const r = await ctl('x', 'trace', POD, 'http://echo:7070/', '--http2', '-H', 'x-version: v2', '--isthmusd', isthmusd.http);
    assert.equal(r.code, 0, r.stderr);
    checkPinnedV2Table(r.stdout);
  });

  it('answers the same JSON as offline', async () => {
    const args = ['x', 'trace', POD, 'grpc://echo.default.svc.cluster.local:7070/echo.Echo/Call', '-o', 'json'];
    const remote = await ctl(...args, '--isthmusd', isthmusd.http);
    assert.equal(remote.code, 0, remote.stderr);
    checkSplitJson(json(remote.stdout));
    const offline = await ctl(...args, '-d', 'examples');
    assert.deepEqual(json(remote.stdout), json(offline.stdout));
  });

  it('traces a connected proxy with its own node metadata', async () => {
    const node = sidecarNode({ ip: '10.1.0.99', pod: 'tester', metadata: { LABELS: { app: 'tester' } } });
    client = new SotwClient(isthmusd.grpc, node);
    client.send({ typeUrl: 'type.googleapis.com/envoy.config.listener.v3.Listener' });
    await client.responses.next('LDS');
    const r = await ctl('x', 'trace', 'tester.default', 'http://ratings:9080/', '-o', 'json', '--isthmusd', isthmusd.http);
    assert.equal(r.code, 0, r.stderr);
    const t = json(r.stdout);
    assert.equal(t.proxy.id, node.id);
    assert.deepEqual(t.proxy.labels, { app: 'tester' });
    assert.equal(t.result.cluster, 'outbound|9080||ratings.default.svc.cluster.local');
    assert.deepEqual(t.clusters[0]!.endpoints, [{ address: '10.1.0.7', port: 9080, health: 'HEALTHY', weight: 1 }]);
  });

  it('reports unknown proxies and bad requests from /debug/trace', async () => {
    const r = await ctl('x', 'trace', 'nope.default', 'http://echo:7070/', '--isthmusd', isthmusd.http);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: isthmusd: no proxy, Pod or WorkloadEntry "nope\.default"/m);
    const bad = await fetch(`http://${isthmusd.http}/debug/trace?proxy=${POD}`);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /url is required/);
    const down = await ctl('x', 'trace', POD, 'http://echo:7070/', '--isthmusd', '127.0.0.1:1');
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach isthmusd at http:\/\/127\.0\.0\.1:1 .*-d DIR/);
  });
});
