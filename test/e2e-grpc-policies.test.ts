// End to end: VirtualService fault injection, timeouts and retries, as @grpc/grpc-js-xds clients
// apply them from the config bin/isthmusd generates (gRFC A33 faults, A31 timeouts, A44 retries).
// Every test asserts status codes and which backend answered, never elapsed times.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { startIsthmusd, type RunningIsthmusd } from './support/isthmusd.js';
import { BackendState, FAIL_ATTEMPTS, REQUEST_ID, SLEEP_MS, connect, outcomes, serviceMesh, startPolicyBackend, stopPolicyBackend, type PolicyBackend } from './support/grpc-policy-backend.js';

grpcXds.register();

describe('isthmusd faults, timeouts and retries for proxyless gRPC (grpc-js-xds)', function () {
  this.timeout(60000);
  let dir: string;
  let isthmusd: RunningIsthmusd;
  let backends: PolicyBackend[];
  const state = new BackendState();
  const clients: grpc.Client[] = [];
  const served = () => backends.reduce((n, b) => n + b.calls, 0);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-e2e-policies-'));
    backends = [await startPolicyBackend('v1', state), await startPolicyBackend('v2', state)];
    isthmusd = await startIsthmusd(dir);
  });

  after(async () => {
    for (const c of clients) c.close();
    await isthmusd?.stop();
    (backends ?? []).forEach(stopPolicyBackend);
    rmSync(dir, { recursive: true, force: true });
  });

  it('aborts calls with the fault\'s gRPC status, or the HTTP status mapped to gRPC, at 100% and never at 0%', async () => {
    const abort = (value: string, error: string, percent: number) => `  - match: [{headers: {x-fault: {exact: ${value}}}}]
    fault: {abort: {${error}, percentage: {value: ${percent}}}}
    route: [{destination: {host: faults, subset: v1}}]
`;
    const client = await connect(dir, isthmusd.grpc, 'faults', 7101, serviceMesh('faults', 7101, backends,
      abort('grpc', 'grpcStatus: RESOURCE_EXHAUSTED', 100) +
      abort('http503', 'httpStatus: 503', 100) +
      abort('http404', 'httpStatus: 404', 100) +
      abort('http401', 'httpStatus: 401', 100) +
      abort('never', 'grpcStatus: RESOURCE_EXHAUSTED', 0) +
      '  - route: [{destination: {host: faults, subset: v2}}]\n',
    ), clients);

    const before = served();
    assert.deepEqual(await outcomes(client, 20, () => ({ 'x-fault': 'grpc' })), { RESOURCE_EXHAUSTED: 20 });
    // gRFC A33 maps HTTP statuses as gRPC maps them from HTTP responses.
    assert.deepEqual(await outcomes(client, 20, () => ({ 'x-fault': 'http503' })), { UNAVAILABLE: 20 });
    assert.deepEqual(await outcomes(client, 20, () => ({ 'x-fault': 'http404' })), { UNIMPLEMENTED: 20 });
    assert.deepEqual(await outcomes(client, 20, () => ({ 'x-fault': 'http401' })), { UNAUTHENTICATED: 20 });
    // Aborted calls never leave the client, and an aborted UNAVAILABLE is not retried.
    assert.equal(served(), before, 'an aborted call reached a backend');

    assert.deepEqual(await outcomes(client, 20, () => ({ 'x-fault': 'never' })), { v1: 20 });
    assert.deepEqual(await outcomes(client, 20, () => ({})), { v2: 20 });
  });

  it('delays calls by the fault: past a shorter route timeout they fail with DEADLINE_EXCEEDED; at 0% they pass', async () => {
    const delayed = (value: string, percent: number) => `  - match: [{headers: {x-fault: {exact: ${value}}}}]
    fault: {delay: {fixedDelay: 3s, percentage: {value: ${percent}}}}
    timeout: 0.2s
    route: [{destination: {host: delays, subset: v1}}]
`;
    const client = await connect(dir, isthmusd.grpc, 'delays', 7102, serviceMesh('delays', 7102, backends,
      delayed('always', 100) + delayed('never', 0) + '  - route: [{destination: {host: delays, subset: v2}}]\n',
    ), clients);

    const before = served();
    assert.deepEqual(await outcomes(client, 10, () => ({ 'x-fault': 'always' })), { DEADLINE_EXCEEDED: 10 });
    assert.equal(served(), before, 'a delayed call reached a backend before its deadline');
    assert.deepEqual(await outcomes(client, 10, () => ({ 'x-fault': 'never' })), { v1: 10 });
    assert.deepEqual(await outcomes(client, 10, () => ({})), { v2: 10 });
  });

  it('ends a call at the route timeout when the backend is slower, and lets it finish within a longer one', async () => {
    const timed = (value: string, timeout: string) => `  - match: [{headers: {x-timeout: {exact: ${value}}}}]
${timeout ? `    timeout: ${timeout}\n` : ''}    route: [{destination: {host: timeouts, subset: v1}}]
`;
    const client = await connect(dir, isthmusd.grpc, 'timeouts', 7103, serviceMesh('timeouts', 7103, backends,
      timed('short', '0.2s') + timed('long', '20s') + timed('none', ''),
    ), clients);

    // The backend takes 2s: longer than the 0.2s route timeout, far shorter than 20s.
    assert.deepEqual(await outcomes(client, 10, () => ({ 'x-timeout': 'short', [SLEEP_MS]: '2000' })), { DEADLINE_EXCEEDED: 10 });
    assert.deepEqual(await outcomes(client, 10, () => ({ 'x-timeout': 'long', [SLEEP_MS]: '300' })), { v1: 10 });
    // Without a VirtualService timeout Istio sets 0s: no limit, the application's deadline rules...
    assert.deepEqual(await outcomes(client, 10, () => ({ 'x-timeout': 'none', [SLEEP_MS]: '300' })), { v1: 10 });
    // ...and a route timeout never lengthens a shorter application deadline.
    assert.deepEqual(await outcomes(client, 10, () => ({ 'x-timeout': 'long', [SLEEP_MS]: '2000' }), 200), { DEADLINE_EXCEEDED: 10 });
  });

  it('retries UNAVAILABLE as the route says: Istio\'s default 2 retries, attempts N, none with attempts 0 or only HTTP conditions', async () => {
    const policy = (value: string, retries: string) => `  - match: [{headers: {x-retry: {exact: ${value}}}}]
${retries ? `    retries: ${retries}\n` : ''}    route: [{destination: {host: retries, subset: v1}}]
`;
    const client = await connect(dir, isthmusd.grpc, 'retries', 7104, serviceMesh('retries', 7104, backends,
      // No retry policy: Istio's default, 2 retries on "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes".
      policy('default', '') +
      policy('three', '{attempts: 3, retryOn: unavailable}') +
      policy('off', '{attempts: 0}') +
      // Envoy's HTTP conditions mean nothing to gRPC (gRFC A44 reads only gRPC status names): no retries.
      policy('http', '{attempts: 3, retryOn: "5xx,gateway-error,connect-failure"}'),
    ), clients);

    let run = 0;
    /** `n` logical requests whose first `failing` attempts fail; their outcomes and how many attempts each made. */
    const requests = async (retry: string, failing: number, n = 10) => {
      run++;
      const ids = Array.from({ length: n }, (_, i) => `run${run}-${i}`);
      const counts = await outcomes(client, n, (i) => ({ 'x-retry': retry, [REQUEST_ID]: ids[i]!, [FAIL_ATTEMPTS]: String(failing) }));
      return { counts, attempts: [...new Set(ids.map((id) => state.attempts.get(id) ?? 0))] };
    };

    assert.deepEqual(await requests('default', 1), { counts: { v1: 10 }, attempts: [2] });
    assert.deepEqual(await requests('default', 2), { counts: { v1: 10 }, attempts: [3] });
    assert.deepEqual(await requests('default', 3), { counts: { UNAVAILABLE: 10 }, attempts: [3] });

    assert.deepEqual(await requests('three', 1), { counts: { v1: 10 }, attempts: [2] });
    assert.deepEqual(await requests('three', 3), { counts: { v1: 10 }, attempts: [4] });
    assert.deepEqual(await requests('three', 5), { counts: { UNAVAILABLE: 10 }, attempts: [4] });

    assert.deepEqual(await requests('off', 1), { counts: { UNAVAILABLE: 10 }, attempts: [1] });
    assert.deepEqual(await requests('http', 1), { counts: { UNAVAILABLE: 10 }, attempts: [1] });
  });
});
