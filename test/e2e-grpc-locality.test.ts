// End to end: bin/isthmusd serves locality-aware EDS to @grpc/grpc-js-xds clients, whose node
// locality decides which backend answers (gRPC honours EDS priorities and locality weights).
// Note: grpc-js-xds keeps priorities it dropped for 15 minutes on a timer it does not unref, so
// mocha needs `--exit` (the project's .mocharc has it) to end promptly after this file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { startIsthmusd, type RunningIsthmusd } from './support/isthmusd.js';
import { distribution, eventually, startBackend, stopBackend, xdsBootstrap, xdsClient, type Backend } from './support/grpc-echo.js';

grpcXds.register();

const TARGET = 'xds:///echo.default.svc.cluster.local:7070';

/** The echo Service with one pod per backend, each pod placed by its `istio-locality` label. */
function echoService(backends: Backend[], localities: Record<string, string>, distributionField: string): string {
  const docs = [
    `apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  clusterIP: 10.96.20.1
  selector: {app: echo}
  ports: [{name: grpc, port: 7070}]
  ${distributionField}`,
  ];
  for (const b of backends) {
    docs.push(`apiVersion: v1
kind: Pod
metadata: {name: echo-${b.name}, namespace: default, labels: {app: echo, istio-locality: "${localities[b.name]}"}}
status: {podIP: 127.0.0.1}`);
    docs.push(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: echo-${b.name}, namespace: default, labels: {kubernetes.io/service-name: echo}}
addressType: IPv4
ports: [{name: grpc, port: ${b.port}}]
endpoints:
- addresses: [127.0.0.1]
  targetRef: {kind: Pod, name: echo-${b.name}, namespace: default}`);
  }
  return docs.join('\n---\n') + '\n';
}

describe('isthmusd locality load balancing for proxyless gRPC (grpc-js-xds)', function () {
  this.timeout(60000);
  let dir: string;
  let backends: Backend[];
  let isthmusd: RunningIsthmusd;
  const clients: grpc.Client[] = [];
  const LOCALITIES = { za: 'r1.za', zb: 'r1.zb', far: 'r2.zc' };

  const clientIn = (region: string, zone: string) => {
    const bootstrap = xdsBootstrap(isthmusd.grpc) as { node: { locality: object } };
    bootstrap.node.locality = { region, zone };
    const c = xdsClient(TARGET, bootstrap);
    clients.push(c);
    return c;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-e2e-locality-'));
    backends = [];
    for (const name of Object.keys(LOCALITIES)) backends.push(await startBackend(name));
    writeFileSync(join(dir, 'echo.yaml'), echoService(backends, LOCALITIES, 'trafficDistribution: PreferClose'));
    isthmusd = await startIsthmusd(dir);
  });

  after(async () => {
    for (const c of clients) c.close();
    await isthmusd?.stop();
    await Promise.all((backends ?? []).map(stopBackend));
    rmSync(dir, { recursive: true, force: true });
  });

  it('trafficDistribution PreferClose: each client is answered by the backend of its own zone', async () => {
    const a = clientIn('r1', 'za');
    const b = clientIn('r1', 'zb');
    await eventually(async () => assert.deepEqual(await distribution(a, 20), { za: 20 }));
    await eventually(async () => assert.deepEqual(await distribution(b, 20), { zb: 20 }));
  });

  it('DestinationRule distribute: a client in r1/za is sent to r1/zb only', async () => {
    writeFileSync(join(dir, 'echo.yaml'), echoService(backends, LOCALITIES, ''));
    writeFileSync(
      join(dir, 'echo-dr.yaml'),
      `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo, namespace: default}
spec:
  host: echo
  trafficPolicy:
    loadBalancer:
      localityLbSetting:
        distribute:
        - from: "r1/za/*"
          to: {"r1/zb/*": 100}
`,
    );
    const a = clientIn('r1', 'za');
    await eventually(async () => assert.deepEqual(await distribution(a, 20), { zb: 20 }));
    // A client in another region is not covered by the rule: all three backends answer it.
    const far = clientIn('r2', 'zc');
    await eventually(async () => assert.deepEqual(Object.keys(await distribution(far, 60)).sort(), ['far', 'za', 'zb']));
  });
});
