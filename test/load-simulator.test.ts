// A small run of the load simulator (bench/load.ts): isthmusd in its own process, Envoy-style
// SotW and Delta proxies and proxyless gRPC clients in a worker. Checks that every proxy gets a
// full config and that the VirtualService and endpoint changes reach the affected proxies; the
// timings it measures are printed by `npm run bench`, never asserted.
import assert from 'node:assert/strict';
import { runLoad } from '../bench/sim/run.js';

describe('load simulator (smoke run, few proxies)', function () {
  this.timeout(120_000);

  for (const scoped of [false, true]) {
    it(`cold start, VirtualService, endpoint and AuthorizationPolicy changes reach every proxy${scoped ? ' (Sidecar-scoped mesh)' : ''}`, async () => {
      const f = await runLoad({ services: 6, proxies: 6, workers: 1, quietMs: 400, scoped, authzChange: true, mix: { sotw: 1, delta: 1, grpc: 1 } });
      assert.equal(f.errors, 0);
      assert.deepEqual([f.sidecars, f.deltaSidecars, f.grpcClients], [4, 2, 2], "Envoy sidecars (of them Delta), proxyless gRPC");
      assert.ok(Number.isFinite(f.coldStartMs), 'every proxy held a full config');
      assert.ok(f.changeAffected > 0, 'the VirtualService change affected some proxies');
      assert.equal(f.changeMissing, 0, 'every affected proxy received and ACKed the change');
      assert.ok((f.changeResponses.rds ?? 0) > 0, 'the change went out as routes');
      assert.equal(f.changeResponses.cds ?? 0, 0, 'a route change sends no clusters');
      assert.ok(f.edsChangeAffected > 0);
      assert.equal(f.edsChangeMissing, 0);
      assert.deepEqual(Object.keys(f.edsChangeResponses), ['eds'], 'an endpoint move sends endpoints only');
      assert.ok((f.authzChangeAffected ?? 0) > 0, 'the AuthorizationPolicy change reached the sidecars of its namespace');
      assert.equal(f.authzChangeMissing, 0);
      assert.deepEqual(Object.keys(f.authzChangeResponses ?? {}), ['lds'], 'a policy change sends listeners only');
      for (const [all, main] of [[f.coldStartCpuSeconds, f.coldStartMainThreadCpuSeconds], [f.cpuSecondsPerPush, f.mainThreadCpuSecondsPerPush], [f.edsCpuSecondsPerPush, f.edsMainThreadCpuSecondsPerPush]] as const) {
        assert.ok(main >= 0 && main <= all + 0.011, `isthmusd's main thread used part of its CPU (${main} of ${all} s)`);
      }
    });
  }
});
