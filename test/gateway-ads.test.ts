// An ingress gateway (router node) connected to an in-process isthmusd over ADS: it gets gateway
// listeners, route configurations and clusters, and a changed Gateway is pushed to it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { pino } from 'pino';
import { startIsthmus, type Isthmus } from '../pilot/bootstrap/server.js';
import { NodeSchema } from '../gen/envoy/config/core/v3/base_pb.js';
import { ClusterSchema } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import { ListenerSchema } from '../gen/envoy/config/listener/v3/listener_pb.js';
import { RouteConfigurationSchema } from '../gen/envoy/config/route/v3/route_pb.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { SotwClient } from './support/ads-client.js';
import { kubeService } from './support/meshfiles.js';

const gatewayYaml = (ports: number[]) => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
${ports.map((p) => `  - port: {number: ${p}, name: http-${p}, protocol: HTTP}\n    hosts: ["*.example.com"]`).join('\n')}
`;

const VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: default}
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/web]
  http:
  - route: [{destination: {host: echo, port: {number: 7070}}}]
`;

describe('ADS to a router proxy (in-process isthmusd)', function () {
  this.timeout(30000);
  let dir: string;
  let server: Isthmus;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-gw-'));
    writeFileSync(join(dir, 'echo.yaml'), kubeService('echo', 7070, [{ version: 'v1', port: 17101 }], 'default', 'http'));
    writeFileSync(join(dir, 'gateway.yaml'), gatewayYaml([80]));
    writeFileSync(join(dir, 'vs.yaml'), VS);
    const loopback = { host: '127.0.0.1', port: 0 };
    server = await startIsthmus({
      configDir: dir,
      grpcAddr: loopback,
      httpAddr: loopback,
      monitoringAddr: loopback,
      domainSuffix: 'cluster.local',
      env: { PILOT_DEBOUNCE_AFTER: '10ms' },
      log: pino({ level: 'silent' }),
    });
  });

  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves gateway listeners, RDS and clusters, and pushes Gateway changes', async () => {
    const node = create(NodeSchema, {
      id: 'router~10.1.0.50~istio-ingressgateway-abc.istio-system~istio-system.svc.cluster.local',
      metadata: { NAMESPACE: 'istio-system', ISTIO_VERSION: '1.31.0', LABELS: { istio: 'ingressgateway' } },
    });
    const c = new SotwClient(server.addresses.grpc, node);
    try {
      c.send({ typeUrl: TYPE.cluster });
      const cds = await c.responses.next('cds');
      const clusters = cds.resources.map((r) => anyUnpack(r, ClusterSchema)!.name);
      assert.ok(clusters.includes('outbound|7070||echo.default.svc.cluster.local'), clusters.join(', '));
      assert.ok(clusters.includes('BlackHoleCluster') && !clusters.includes('PassthroughCluster'));
      c.send({ typeUrl: TYPE.cluster, versionInfo: cds.versionInfo, responseNonce: cds.nonce });

      c.send({ typeUrl: TYPE.listener });
      const lds = await c.responses.next('lds');
      assert.deepEqual(lds.resources.map((r) => anyUnpack(r, ListenerSchema)!.name), ['0.0.0.0_80']);
      c.send({ typeUrl: TYPE.listener, versionInfo: lds.versionInfo, responseNonce: lds.nonce });

      c.send({ typeUrl: TYPE.route, resourceNames: ['http.80'] });
      const rds = await c.responses.next('rds');
      const rc = anyUnpack(rds.resources[0]!, RouteConfigurationSchema)!;
      assert.deepEqual(rc.virtualHosts.map((v) => v.name), ['shop.example.com:80']);
      c.send({ typeUrl: TYPE.route, resourceNames: ['http.80'], versionInfo: rds.versionInfo, responseNonce: rds.nonce });

      writeFileSync(join(dir, 'gateway.yaml'), gatewayYaml([80, 8080]));
      let names: string[] = [];
      for (let i = 0; i < 5 && !names.includes('0.0.0.0_8080'); i++) {
        const pushed = await c.responses.next('pushed config');
        if (pushed.typeUrl === TYPE.listener) names = pushed.resources.map((r) => anyUnpack(r, ListenerSchema)!.name);
        c.send({ typeUrl: pushed.typeUrl, versionInfo: pushed.versionInfo, responseNonce: pushed.nonce, resourceNames: pushed.typeUrl === TYPE.route ? ['http.80'] : [] });
      }
      assert.deepEqual(names, ['0.0.0.0_80', '0.0.0.0_8080']);
    } finally {
      c.close();
    }
  });
});
