// `isthmusctl proxy-status` and `proxy-config` against a running isthmusd with a connected proxy.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startIsthmusd, ROOT, type RunningIsthmusd } from './support/isthmusd.js';
import { SotwClient, sidecarNode } from './support/ads-client.js';
import { TYPE } from '../pilot/networking/envoy.js';

const run = promisify(execFile);

describe('isthmusctl proxy-status and proxy-config', function () {
  this.timeout(60000);
  let isthmusd: RunningIsthmusd;
  let client: SotwClient;
  const ctl = (...args: string[]) => run(process.execPath, [`${ROOT}/bin/isthmusctl`, ...args, '--isthmusd', isthmusd.http], { cwd: ROOT });

  before(async () => {
    isthmusd = await startIsthmusd(undefined);
    client = new SotwClient(isthmusd.grpc, sidecarNode({ pod: 'productpage-1', ip: '10.1.0.42' }));
    for (const typeUrl of [TYPE.cluster, TYPE.listener]) {
      client.send({ typeUrl });
      const res = await client.responses.next(typeUrl);
      client.send({ typeUrl, versionInfo: res.versionInfo, responseNonce: res.nonce });
    }
  });
  after(async () => {
    client?.close();
    await isthmusd?.stop();
  });

  it('shows the connected proxy with CDS and LDS synced and RDS/EDS not sent', async () => {
    const { stdout } = await ctl('proxy-status');
    const [header, row] = stdout.trim().split('\n').map((l) => l.split(/\s{2,}/));
    assert.deepEqual(header, ['NAME', 'CDS', 'LDS', 'EDS', 'RDS', 'ISTIOD', 'VERSION']);
    assert.deepEqual(row, ['productpage-1.default', 'SYNCED', 'SYNCED', 'NOT SENT', 'NOT SENT', 'isthmusd', '1.31.0']);
  });

  it('summarises clusters and listeners in istioctl\'s columns, and dumps JSON', async () => {
    const clusters = (await ctl('proxy-config', 'cluster', 'productpage-1.default')).stdout;
    assert.match(clusters, /^SERVICE FQDN\s+PORT\s+SUBSET\s+DIRECTION\s+TYPE\s+DESTINATION RULE$/m);
    assert.match(clusters, /^echo\.default\.svc\.cluster\.local\s+7070\s+v1\s+outbound\s+EDS/m);
    const listeners = (await ctl('proxy-config', 'listener', 'productpage-1.default')).stdout;
    assert.match(listeners, /^0\.0\.0\.0\s+7070\s+Trans: raw_buffer; App: http\/1\.1,h2c\s+Route: 7070$/m);
    const json = JSON.parse((await ctl('proxy-config', 'cluster', 'productpage-1.default', '-o', 'json')).stdout) as { name: string }[];
    assert.ok(json.some((c) => c.name === 'outbound|7070|v2|echo.default.svc.cluster.local'));
    const missing = await ctl('proxy-config', 'cluster', 'nobody.default').then(() => undefined, (e: { code: number; stderr: string }) => e);
    assert.equal(missing?.code, 1);
    assert.match(missing!.stderr, /proxy nobody\.default is not connected/);
  });
});
