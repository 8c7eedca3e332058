// End to end: bin/isthmusd on a temporary config directory, real gRPC backends, and
// @grpc/grpc-js-xds clients whose calls are routed by the config isthmusd serves.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { startIsthmusd, type RunningIsthmusd } from './support/isthmusd.js';
import { OTHER_PATH, call, distribution, eventually, startBackend, stopBackend, xdsBootstrap, xdsClient, type Backend } from './support/grpc-echo.js';
import { kubeService, subsetsRule } from './support/meshfiles.js';

grpcXds.register();

const TARGET = 'xds:///echo.default.svc.cluster.local:7070';

let version = 0;

/**
 * A VirtualService for echo. Its first route answers calls carrying this version's `x-probe`
 * value with an injected fault, which no backend can produce: `holds()` waits for it, so a test
 * knows the client routes by exactly this version (and not by luck of which backends are up).
 */
function splitVs(weights: Record<string, number>, extraRoutes = ''): string {
  version++;
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
  - match:
    - headers:
        x-probe: {exact: "${version}"}
    fault:
      abort: {grpcStatus: PERMISSION_DENIED, percentage: {value: 100}}
    route:
    - destination: {host: echo}
${extraRoutes}  - route:
${Object.entries(weights)
  .map(([v, w]) => `    - destination: {host: echo, subset: ${v}}\n      weight: ${w}`)
  .join('\n')}
`;
}

async function holds(client: grpc.Client, v = version): Promise<void> {
  await eventually(async () => {
    const err = await call(client, { 'x-probe': String(v) }).then(() => undefined, (e: grpc.ServiceError) => e);
    assert.equal(err?.code, grpc.status.PERMISSION_DENIED, `client does not hold VirtualService version ${v} yet`);
  });
}

describe('isthmusd routes proxyless gRPC clients (grpc-js-xds, SotW ADS)', function () {
  this.timeout(60000);
  let dir: string;
  let backends: Record<string, Backend>;
  let isthmusd: RunningIsthmusd;
  const clients: grpc.Client[] = [];

  const newClient = (target = TARGET) => {
    const c = xdsClient(target, xdsBootstrap(isthmusd.grpc));
    clients.push(c);
    return c;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-e2e-'));
    backends = {};
    for (const v of ['v1', 'v2', 'v3']) backends[v] = await startBackend(v);
    writeFileSync(join(dir, 'echo.yaml'), kubeService('echo', 7070, Object.values(backends).map((b) => ({ version: b.name, port: b.port }))));
    writeFileSync(join(dir, 'echo-dr.yaml'), subsetsRule('echo', ['v1', 'v2', 'v3']));
    // A second service with no VirtualService at all.
    writeFileSync(join(dir, 'plain.yaml'), kubeService('plain', 7070, Object.values(backends).map((b) => ({ version: b.name, port: b.port }))));
    isthmusd = await startIsthmusd(dir);
  });

  after(async () => {
    for (const c of clients) c.close();
    await isthmusd?.stop();
    await Promise.all(Object.values(backends ?? {}).map(stopBackend));
    rmSync(dir, { recursive: true, force: true });
  });

  it('without a VirtualService, spreads calls over every endpoint of the service', async () => {
    const counts = await distribution(newClient('xds:///plain.default.svc.cluster.local:7070'), 300);
    assert.deepEqual(Object.keys(counts).sort(), ['v1', 'v2', 'v3']);
    for (const n of Object.values(counts)) assert.ok(n >= 60, `round robin should spread calls evenly: ${JSON.stringify(counts)}`);
  });

  it('splits 80/20 by weight between two subsets over 1000 calls', async () => {
    writeFileSync(join(dir, 'echo-vs.yaml'), splitVs({ v1: 80, v2: 20 }));
    const client = newClient();
    await holds(client);
    const counts = await distribution(client, 1000);
    assert.equal(counts.v3, undefined);
    const share = (counts.v1 ?? 0) / 1000;
    assert.ok(share > 0.74 && share < 0.86, `v1 share ${share} not within 80% ± 6%: ${JSON.stringify(counts)}`);
  });

  it('routes by header match and by uri prefix to the right subset, in rule order', async () => {
    const routes = `  - match:
    - headers:
        x-version: {exact: v2}
    route:
    - destination: {host: echo, subset: v2}
  - match:
    - uri: {prefix: /isthmus.test.Echo/Oth}
    route:
    - destination: {host: echo, subset: v3}
`;
    writeFileSync(join(dir, 'echo-vs.yaml'), splitVs({ v1: 100 }, routes));
    const client = newClient();
    await holds(client);
    assert.deepEqual(await distribution(client, 30, { 'x-version': 'v2' }), { v2: 30 });
    assert.deepEqual(await distribution(client, 30, { 'x-version': 'v9' }), { v1: 30 });
    assert.deepEqual(await distribution(client, 30, {}, OTHER_PATH), { v3: 30 });
    // The header rule comes first, so it wins over the uri rule.
    assert.deepEqual(await distribution(client, 10, { 'x-version': 'v2' }, OTHER_PATH), { v2: 10 });
  });

  it('keeps a user on one backend with consistent hashing on a header (ring hash)', async () => {
    writeFileSync(
      join(dir, 'plain-dr.yaml'),
      'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: plain, namespace: default}\nspec:\n  host: plain\n  trafficPolicy:\n    loadBalancer:\n      consistentHash: {httpHeaderName: x-user}\n',
    );
    const client = newClient('xds:///plain.default.svc.cluster.local:7070');
    // Until the ring hash arrives round robin spreads users, so the whole check is retried.
    await eventually(async () => {
      const landed = new Set<string>();
      for (let u = 0; u < 30; u++) {
        const counts = await distribution(client, 6, { 'x-user': `user-${u}` });
        assert.equal(Object.keys(counts).length, 1, `user-${u} moved between backends: ${JSON.stringify(counts)}`);
        landed.add(Object.keys(counts)[0]!);
      }
      assert.ok(landed.size >= 2, `30 users should not all hash to one backend: ${[...landed]}`);
    });
  });

  it('changes routing for a running client when a file is edited, without restart', async () => {
    writeFileSync(join(dir, 'echo-vs.yaml'), splitVs({ v1: 100 }));
    const client = newClient();
    await holds(client);
    assert.deepEqual(await distribution(client, 20), { v1: 20 });
    writeFileSync(join(dir, 'echo-vs.yaml'), splitVs({ v3: 100 }));
    await holds(client);
    assert.deepEqual(await distribution(client, 20), { v3: 20 });
  });

  it('keeps routing as before when an invalid resource and an unparsable file arrive', async () => {
    writeFileSync(join(dir, 'echo-vs.yaml'), splitVs({ v2: 100 }));
    const client = newClient();
    await holds(client);
    const good = version;
    assert.deepEqual(await distribution(client, 20), { v2: 20 });

    writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: other\n  hosts: [\n');
    writeFileSync(
      join(dir, 'invalid-vs.yaml'),
      'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: plain, namespace: default}\nspec:\n  hosts: [plain]\n  http:\n  - route:\n    - destination: {host: plain}\n      wieght: 5\n',
    );
    const rejected = await isthmusd.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('invalid-vs.yaml') && l.msg.includes('VirtualService default/plain'));
    assert.match(rejected.msg as string, /spec\.http\[0\]\.route\[0\]\.wieght: unknown field "wieght"/);
    await isthmusd.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('broken.yaml') && l.msg.includes('cannot parse YAML'));
    assert.deepEqual(await distribution(client, 30), { v2: 30 });

    // Breaking the file of a resource that was valid keeps its last good version.
    writeFileSync(join(dir, 'echo-vs.yaml'), splitVs({ v1: 100 }).replace('weight: 100', 'weight: lots'));
    await isthmusd.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('echo-vs.yaml') && l.msg.includes('weight'));
    await holds(client, good);
    assert.deepEqual(await distribution(client, 30), { v2: 30 });
  });
});
