// The README's path for a newcomer: isthmusd serving the bundled example mesh, and the demo's
// proxyless gRPC client (bootstrap from GRPC_XDS_BOOTSTRAP_CONFIG) routing through it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, startIsthmusd, type RunningIsthmusd } from './support/isthmusd.js';
import { xdsBootstrap } from './support/grpc-echo.js';

const run = promisify(execFile);

describe('the bundled example mesh', function () {
  this.timeout(60000);
  let isthmusd: RunningIsthmusd;
  before(async () => {
    isthmusd = await startIsthmusd(undefined);
  });
  after(async () => isthmusd?.stop());

  it('is served without --configDir and loads without errors', async () => {
    const errors = (await (await fetch(`http://${isthmusd.http}/debug/config_errors`)).json()) as unknown[];
    assert.deepEqual(errors, []);
    const services = ((await (await fetch(`http://${isthmusd.http}/debug/registryz`)).json()) as { hostname: string }[]).map((s) => s.hostname).sort();
    assert.deepEqual(services, ['api.example.com', 'echo.default.svc.cluster.local', 'ratings.default.svc.cluster.local']);
  });

  it('routes the demo client 80/20 and pins x-version: v2', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/demo.ts', '--calls', '200'], {
      cwd: ROOT,
      env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(xdsBootstrap(isthmusd.grpc)) },
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { landed: Record<string, number>; withHeaderXVersionV2: string };
    assert.equal((result.landed.v1 ?? 0) + (result.landed.v2 ?? 0), 200);
    assert.ok((result.landed.v1 ?? 0) > 120 && (result.landed.v2 ?? 0) > 10, JSON.stringify(result.landed));
    assert.equal(result.withHeaderXVersionV2, 'v2');
  });

  it('exposes Istio-named metrics and readiness', async () => {
    assert.equal((await fetch(`http://${isthmusd.http}/ready`)).status, 200);
    const text = await (await fetch(`http://${isthmusd.monitoring}/metrics`)).text();
    for (const name of ['pilot_xds', 'pilot_xds_pushes', 'pilot_xds_push_time', 'pilot_proxy_convergence_time', 'pilot_total_xds_rejects', 'pilot_xds_config_size_bytes']) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.match(text, /^pilot_xds_pushes\{type="lds"\} [1-9]/m, 'the demo client received listeners');
  });
});

describe('isthmusd command line', () => {
  it('exits non-zero with a one-line message on a bad flag or address', async function () {
    this.timeout(30_000); // three process starts
    for (const args of [['--grpcAddr', 'nonsense'], ['--bogus'], ['--configDir', '/no/such/dir']]) {
      const err = await run(process.execPath, [`${ROOT}/bin/isthmusd`, ...args]).then(
        () => assert.fail(`accepted ${args.join(' ')}`),
        (e: { code: number; stderr: string }) => e,
      );
      assert.notEqual(err.code, 0);
      assert.equal(err.stderr.trim().split('\n').length, 1, err.stderr);
    }
  });
});
