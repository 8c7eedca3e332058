// A running isthmusd serving the reviews workload, with its sidecar connected (LDS ACKed): for
// tests of the CLI commands that ask isthmusd about connected proxies.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TYPE } from '../../pilot/networking/envoy.js';
import { SotwClient, sidecarNode } from './ads-client.js';
import { startIsthmusd, type RunningIsthmusd } from './isthmusd.js';
import { REVIEWS_ENTRY } from './security-fixtures.js';

export interface LiveReviews {
  dir: string;
  isthmusd: RunningIsthmusd;
  /** The sidecar of pod `reviews-1.default` at 10.1.0.42. */
  client: SotwClient;
  stop(): Promise<void>;
}

/** `extraYaml` joins the reviews ServiceEntry in the config directory. */
export async function startLiveReviews(extraYaml = ''): Promise<LiveReviews> {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-live-reviews-'));
  writeFileSync(join(dir, 'mesh.yaml'), `${REVIEWS_ENTRY.replace('10.0.0.5', '10.1.0.42')}${extraYaml ? `\n---\n${extraYaml}` : ''}`);
  const isthmusd = await startIsthmusd(dir);
  const client = new SotwClient(isthmusd.grpc, sidecarNode({ pod: 'reviews-1', ip: '10.1.0.42', metadata: { LABELS: { app: 'reviews' } } }));
  client.send({ typeUrl: TYPE.listener });
  const res = await client.responses.next('LDS');
  client.send({ typeUrl: TYPE.listener, versionInfo: res.versionInfo, responseNonce: res.nonce });
  return {
    dir,
    isthmusd,
    client,
    async stop() {
      client.close();
      await isthmusd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
