// End to end: header matching, DestinationRule circuit breaking and the DestinationRule settings
// proxyless gRPC ignores, with @grpc/grpc-js-xds clients on the config bin/isthmusd generates.
// Every test asserts status codes and which backend answered, never elapsed times.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { startIsthmusd, type RunningIsthmusd } from './support/isthmusd.js';
import { call, eventually } from './support/grpc-echo.js';
import { BackendState, HOLD, connect, outcome, outcomes, serviceMesh, startPolicyBackend, stopPolicyBackend, type PolicyBackend } from './support/grpc-policy-backend.js';

grpcXds.register();

describe('isthmusd header matching and DestinationRule policies for proxyless gRPC (grpc-js-xds)', function () {
  this.timeout(60000);
  let dir: string;
  let isthmusd: RunningIsthmusd;
  let backends: PolicyBackend[];
  const state = new BackendState();
  const clients: grpc.Client[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-e2e-policies-cluster-'));
    backends = [];
    for (const v of ['v1', 'v2', 'v3', 'v4']) backends.push(await startPolicyBackend(v, state));
    isthmusd = await startIsthmusd(dir);
  });

  after(async () => {
    state.release();
    for (const c of clients) c.close();
    await isthmusd?.stop();
    (backends ?? []).forEach(stopPolicyBackend);
    rmSync(dir, { recursive: true, force: true });
  });

  it('routes by header prefix, regex (whole value), presence and absence to different subsets', async () => {
    const client = await connect(dir, isthmusd.grpc, 'headers', 7201, serviceMesh('headers', 7201, backends, `  - match: [{headers: {x-canary: {}}}]
    route: [{destination: {host: headers, subset: v4}}]
  - match: [{headers: {x-user: {prefix: beta-}}}]
    route: [{destination: {host: headers, subset: v2}}]
  - match: [{headers: {x-user: {regex: "admin-[0-9]+"}}}]
    route: [{destination: {host: headers, subset: v3}}]
  - match: [{withoutHeaders: {x-user: {}}}]
    route: [{destination: {host: headers, subset: v1}}]
`), clients);

    const to = (md: Record<string, string>) => outcomes(client, 10, () => md);
    // An empty match means "present"; the first matching rule wins.
    assert.deepEqual(await to({ 'x-canary': 'yes', 'x-user': 'beta-1' }), { v4: 10 });
    assert.deepEqual(await to({ 'x-user': 'beta-1' }), { v2: 10 });
    assert.deepEqual(await to({ 'x-user': 'admin-42' }), { v3: 10 });
    assert.deepEqual(await to({}), { v1: 10 });
    assert.deepEqual(await to({ 'x-other': 'beta-1' }), { v1: 10 });
    // A regex matches the whole value and a prefix the start; a call no rule matches has no route:
    // Istio adds no catch-all after a VirtualService's own routes, and gRPC fails such calls UNAVAILABLE.
    assert.deepEqual(await to({ 'x-user': 'admin-42x' }), { UNAVAILABLE: 10 });
    assert.deepEqual(await to({ 'x-user': 'my-beta-1' }), { UNAVAILABLE: 10 });
  });

  it('fails calls beyond connectionPool.http.http2MaxRequests at once with UNAVAILABLE, per subset cluster', async () => {
    // Istio's grpcgen maps http2MaxRequests to the cluster's circuit_breakers max_requests (gRFC A32);
    // subset v2 overrides it with a larger limit.
    const client = await connect(dir, isthmusd.grpc, 'breaker', 7202, serviceMesh('breaker', 7202, backends, `  - match: [{headers: {x-subset: {exact: v2}}}]
    route: [{destination: {host: breaker, subset: v2}}]
  - route: [{destination: {host: breaker, subset: v1}}]
`, {
      trafficPolicy: '{connectionPool: {http: {http2MaxRequests: 3}}}',
      subsets: { v2: '{connectionPool: {http: {http2MaxRequests: 100}}}' },
    }), clients);

    const held = Array.from({ length: 3 }, () => outcome(call(client, { [HOLD]: '1' })));
    await state.heldAtLeast(3);
    // Three calls are in flight on subset v1: a fourth is dropped by the client before it is sent.
    const v1Calls = backends[0]!.calls;
    assert.deepEqual(await outcomes(client, 5, () => ({})), { UNAVAILABLE: 5 });
    assert.equal(backends[0]!.calls, v1Calls, 'a call over the limit reached the backend');
    const dropped = await call(client).then(() => undefined, (e: grpc.ServiceError) => e.details);
    assert.match(dropped ?? '', /dropped by load balancing policy/);
    // Subset v2 has its own cluster and its own limit.
    assert.deepEqual(await outcomes(client, 5, () => ({ 'x-subset': 'v2' })), { v2: 5 });

    state.release();
    assert.deepEqual(await Promise.all(held), ['v1', 'v1', 'v1']);
    // With nothing in flight the limit admits calls again, up to 3 at a time.
    assert.deepEqual(await outcomes(client, 3, () => ({})), { v1: 3 });
  });

  it('ignores the DestinationRule settings gRPC cannot apply (outlier detection, RANDOM/PASSTHROUGH/LEAST_CONN) instead of breaking the client', async () => {
    // Istio's grpcgen applies only TLS, the load balancer (round robin, LEAST_REQUEST or a consistent
    // hash) and max_requests to gRPC clusters: outlierDetection is never sent (grpc-js-xds implements
    // only gRFC A50's success-rate and failure-percentage ejection, which Istio's API cannot express,
    // not consecutive errors), and other simple load balancers are left out, so the client keeps round
    // robin. A cluster naming a policy grpc-js-xds does not know would be rejected with all its calls.
    const client = await connect(dir, isthmusd.grpc, 'lenient', 7203, serviceMesh('lenient', 7203, backends, `  - match: [{headers: {x-subset: {exact: v2}}}]
    route: [{destination: {host: lenient, subset: v2}}]
  - match: [{headers: {x-subset: {exact: v3}}}]
    route: [{destination: {host: lenient, subset: v3}}]
  - route: [{destination: {host: lenient}}]
`, {
      trafficPolicy: '{loadBalancer: {simple: RANDOM}, outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 100}}',
      subsets: { v2: '{loadBalancer: {simple: PASSTHROUGH}}', v3: '{loadBalancer: {simple: LEAST_CONN}}' },
    }), clients);

    assert.deepEqual(await outcomes(client, 10, () => ({ 'x-subset': 'v2' })), { v2: 10 });
    assert.deepEqual(await outcomes(client, 10, () => ({ 'x-subset': 'v3' })), { v3: 10 });
    // Round robin over the four endpoints of the default cluster, once it has connected to all of them.
    await eventually(async () => assert.deepEqual(await outcomes(client, 40, () => ({})), { v1: 10, v2: 10, v3: 10, v4: 10 }));
  });
});
