// The ADS protocol as Envoy speaks it (SotW and Delta): wildcard and named subscriptions,
// versions, nonces, ACK/NACK, incremental Delta updates, and survival of malformed streams.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { pino } from 'pino';
import { startIsthmus, type Isthmus } from '../pilot/bootstrap/server.js';
import { ClusterSchema } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import { ListenerSchema } from '../gen/envoy/config/listener/v3/listener_pb.js';
import { RouteConfigurationSchema } from '../gen/envoy/config/route/v3/route_pb.js';
import { ClusterLoadAssignmentSchema } from '../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { DeltaClient, SotwClient, sidecarNode } from './support/ads-client.js';
import { kubeService, subsetsRule } from './support/meshfiles.js';

const unpack = <T>(schema: Parameters<typeof anyUnpack>[1], any: Parameters<typeof anyUnpack>[0]) => anyUnpack(any, schema) as T;

describe('ADS protocol (Envoy-style clients, in-process isthmusd)', function () {
  this.timeout(30000);
  let dir: string;
  let server: Isthmus;
  const logs: Record<string, unknown>[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-ads-'));
    writeFileSync(join(dir, 'echo.yaml'), kubeService('echo', 7070, [{ version: 'v1', port: 17001 }, { version: 'v2', port: 17002 }]));
    writeFileSync(join(dir, 'echo-dr.yaml'), subsetsRule('echo', ['v1', 'v2']));
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    });
    const loopback = { host: '127.0.0.1', port: 0 };
    server = await startIsthmus({
      configDir: dir,
      grpcAddr: loopback,
      httpAddr: loopback,
      monitoringAddr: loopback,
      domainSuffix: 'cluster.local',
      env: { PILOT_DEBOUNCE_AFTER: '10ms' },
      log: pino({ level: 'info' }, sink),
    });
  });

  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const metric = async (name: string, labels: string) => {
    const text = await (await fetch(`http://${server.addresses.monitoring}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  it('serves wildcard CDS and LDS with Istio names, and named RDS/EDS, over SotW', async () => {
    const c = new SotwClient(server.addresses.grpc, sidecarNode());
    try {
      c.send({ typeUrl: TYPE.cluster });
      const cds = await c.responses.next('cds');
      const clusters = cds.resources.map((r) => unpack<{ name: string }>(ClusterSchema, r).name);
      for (const want of ['outbound|7070||echo.default.svc.cluster.local', 'outbound|7070|v1|echo.default.svc.cluster.local', 'outbound|7070|v2|echo.default.svc.cluster.local', 'BlackHoleCluster', 'PassthroughCluster']) {
        assert.ok(clusters.includes(want), `missing cluster ${want} in ${clusters.join(', ')}`);
      }
      assert.ok(cds.versionInfo && cds.nonce);
      c.send({ typeUrl: TYPE.cluster, versionInfo: cds.versionInfo, responseNonce: cds.nonce });

      c.send({ typeUrl: TYPE.listener });
      const lds = await c.responses.next('lds');
      const listeners = lds.resources.map((r) => unpack<{ name: string }>(ListenerSchema, r).name);
      for (const want of ['virtualOutbound', 'virtualInbound', '0.0.0.0_7070']) assert.ok(listeners.includes(want), `missing listener ${want}`);
      c.send({ typeUrl: TYPE.listener, versionInfo: lds.versionInfo, responseNonce: lds.nonce });

      c.send({ typeUrl: TYPE.route, resourceNames: ['7070'] });
      const rds = await c.responses.next('rds');
      const rc = unpack<{ name: string; virtualHosts: { name: string; domains: string[] }[] }>(RouteConfigurationSchema, rds.resources[0]!);
      assert.equal(rc.name, '7070');
      const vh = rc.virtualHosts.find((v) => v.name === 'echo.default.svc.cluster.local:7070');
      assert.ok(vh, 'virtual host for echo');
      for (const d of ['echo.default.svc.cluster.local', 'echo', 'echo.default.svc', 'echo.default']) assert.ok(vh.domains.includes(d), `domain ${d} in ${vh.domains}`);
      c.send({ typeUrl: TYPE.route, resourceNames: ['7070'], versionInfo: rds.versionInfo, responseNonce: rds.nonce });

      c.send({ typeUrl: TYPE.endpoint, resourceNames: ['outbound|7070|v2|echo.default.svc.cluster.local'] });
      const eds = await c.responses.next('eds');
      const cla = unpack<{ endpoints: { lbEndpoints: { hostIdentifier: { value: { address: { address: { value: { portSpecifier: { value: number } } } } } } }[] }[] }>(ClusterLoadAssignmentSchema, eds.resources[0]!);
      const ports = cla.endpoints.flatMap((l) => l.lbEndpoints.map((e) => e.hostIdentifier.value.address.address.value.portSpecifier.value));
      assert.deepEqual(ports, [17002]);
      c.send({ typeUrl: TYPE.endpoint, resourceNames: ['outbound|7070|v2|echo.default.svc.cluster.local'], versionInfo: eds.versionInfo, responseNonce: eds.nonce });
      assert.ok(await c.responses.quiet(300), 'an ACK gets no response');

      // A subscription change arrives with the last nonce, like an ACK, and is answered.
      c.send({ typeUrl: TYPE.endpoint, resourceNames: ['outbound|7070|v1|echo.default.svc.cluster.local'], versionInfo: eds.versionInfo, responseNonce: eds.nonce });
      const eds2 = await c.responses.next('eds2');
      assert.equal(unpack<{ clusterName: string }>(ClusterLoadAssignmentSchema, eds2.resources[0]!).clusterName, 'outbound|7070|v1|echo.default.svc.cluster.local');
    } finally {
      c.close();
    }
  });

  it('logs and counts a NACK, keeps the proxy on its last config, and ignores stale nonces', async () => {
    const c = new SotwClient(server.addresses.grpc, sidecarNode({ pod: 'nacker' }));
    try {
      const before = await metric('pilot_total_xds_rejects', 'type="cds"');
      c.send({ typeUrl: TYPE.cluster });
      const cds = await c.responses.next('cds');
      c.send({ typeUrl: TYPE.cluster, versionInfo: '', responseNonce: cds.nonce, errorDetail: { code: 3, message: 'cluster outbound|7070||x: bad config' } as never });
      assert.ok(await c.responses.quiet(300), 'a NACK is not answered with the same config');
      assert.equal(await metric('pilot_total_xds_rejects', 'type="cds"'), before + 1);
      const nack = logs.find((l) => l.msg?.toString().includes('NACK') && String(l.proxy).includes('nacker'));
      assert.ok(nack, 'NACK logged with the proxy id');
      assert.equal(nack.error, 'cluster outbound|7070||x: bad config');
      const syncz = (await (await fetch(`http://${server.addresses.http}/debug/syncz`)).json()) as { proxy: string; cds?: { status: string } }[];
      assert.equal(syncz.find((s) => s.proxy.includes('nacker'))?.cds?.status, 'NACKED');
      c.send({ typeUrl: TYPE.cluster, versionInfo: 'x', responseNonce: 'not-a-nonce-we-sent' });
      assert.ok(await c.responses.quiet(200), 'a stale nonce is ignored');
    } finally {
      c.close();
    }
  });

  it('pushes a new version to connected SotW clients when config changes', async () => {
    const c = new SotwClient(server.addresses.grpc, sidecarNode({ pod: 'watcher' }));
    try {
      c.send({ typeUrl: TYPE.cluster });
      const first = await c.responses.next();
      c.send({ typeUrl: TYPE.cluster, versionInfo: first.versionInfo, responseNonce: first.nonce });
      writeFileSync(join(dir, 'extra.yaml'), kubeService('extra', 8080, [{ version: 'v1', port: 18080 }], 'default', 'http'));
      const pushed = await c.responses.next();
      assert.notEqual(pushed.versionInfo, first.versionInfo);
      const names = pushed.resources.map((r) => unpack<{ name: string }>(ClusterSchema, r).name);
      assert.ok(names.includes('outbound|8080||extra.default.svc.cluster.local'));
    } finally {
      c.close();
      unlinkSync(join(dir, 'extra.yaml'));
    }
  });

  it('speaks Delta: wildcard CDS, then only changed and removed resources', async () => {
    const c = new DeltaClient(server.addresses.grpc, sidecarNode({ pod: 'delta' }));
    try {
      c.send({ typeUrl: TYPE.cluster });
      const first = await c.responses.next();
      const initial = new Map(first.resources.map((r) => [r.name, r.version]));
      assert.ok(initial.has('outbound|7070||echo.default.svc.cluster.local'));
      assert.deepEqual(first.removedResources, []);
      c.send({ typeUrl: TYPE.cluster, responseNonce: first.nonce });

      writeFileSync(join(dir, 'delta.yaml'), kubeService('delta', 9090, [{ version: 'v1', port: 19090 }], 'default', 'http'));
      const added = await c.responses.next();
      assert.deepEqual(added.resources.map((r) => r.name), ['outbound|9090||delta.default.svc.cluster.local']);
      c.send({ typeUrl: TYPE.cluster, responseNonce: added.nonce });

      unlinkSync(join(dir, 'delta.yaml'));
      const removed = await c.responses.next();
      assert.deepEqual(removed.resources, []);
      assert.deepEqual(removed.removedResources, ['outbound|9090||delta.default.svc.cluster.local']);
      c.send({ typeUrl: TYPE.cluster, responseNonce: removed.nonce });

      // Named EDS subscriptions: subscribe sends the resource, unsubscribe sends nothing.
      c.send({ typeUrl: TYPE.endpoint, resourceNamesSubscribe: ['outbound|7070|v1|echo.default.svc.cluster.local'] });
      const eds = await c.responses.next('eds');
      assert.deepEqual(eds.resources.map((r) => r.name), ['outbound|7070|v1|echo.default.svc.cluster.local']);
      c.send({ typeUrl: TYPE.endpoint, responseNonce: eds.nonce, resourceNamesUnsubscribe: ['outbound|7070|v1|echo.default.svc.cluster.local'] });
      assert.ok(await c.responses.quiet(200));
    } finally {
      c.close();
    }
  });

  it('does not resend what a Delta client already holds (initial_resource_versions)', async () => {
    const a = new DeltaClient(server.addresses.grpc, sidecarNode({ pod: 'delta-a' }));
    a.send({ typeUrl: TYPE.cluster });
    const first = await a.responses.next();
    a.close();
    const versions = Object.fromEntries(first.resources.map((r) => [r.name, r.version]));
    const b = new DeltaClient(server.addresses.grpc, sidecarNode({ pod: 'delta-b' }));
    try {
      b.send({ typeUrl: TYPE.cluster, initialResourceVersions: versions });
      const resp = await b.responses.next();
      assert.deepEqual(resp.resources, [], 'everything was already current');
    } finally {
      b.close();
    }
  });

  it('a resumed Delta stream (initial_resource_versions) keeps its named EDS subscription', async () => {
    const name = 'outbound|7070||echo.default.svc.cluster.local';
    const c = new DeltaClient(server.addresses.grpc, sidecarNode({ pod: 'delta-resume' }));
    try {
      // As Envoy resumes after a reconnect: its names, with the versions it holds (one stale).
      c.send({ typeUrl: TYPE.endpoint, resourceNamesSubscribe: [name], initialResourceVersions: { [name]: 'stale' } });
      const eds = await c.responses.next('eds');
      assert.deepEqual(eds.resources.map((r) => r.name), [name]);
      c.send({ typeUrl: TYPE.endpoint, responseNonce: eds.nonce });
      writeFileSync(join(dir, 'echo.yaml'), kubeService('echo', 7070, [{ version: 'v1', port: 17001 }, { version: 'v2', port: 17002 }, { version: 'v3', port: 17003 }]));
      const pushed = await c.responses.next('eds');
      assert.deepEqual(pushed.resources.map((r) => r.name), [name], 'endpoint changes still reach it');
      c.send({ typeUrl: TYPE.endpoint, responseNonce: pushed.nonce });
    } finally {
      c.close();
      writeFileSync(join(dir, 'echo.yaml'), kubeService('echo', 7070, [{ version: 'v1', port: 17001 }, { version: 'v2', port: 17002 }]));
    }
  });

  it('large subscriptions (requests in pooled memory) from two proxies stay apart through ACKs and changes', async () => {
    // 2,000 names make requests of ~90 KB, assembled in reused buffers (pilot/xds/grpc-requests.ts).
    const names = (tag: string, real: string) => [real, ...Array.from({ length: 2000 }, (_, i) => `outbound|7070|${tag}${i}|echo.default.svc.cluster.local`)];
    const a = new SotwClient(server.addresses.grpc, sidecarNode({ pod: 'big-a' }));
    const b = new SotwClient(server.addresses.grpc, sidecarNode({ pod: 'big-b' }));
    const clusters = (r: { resources: Parameters<typeof unpack>[1][] }) => r.resources.map((x) => unpack<{ clusterName: string }>(ClusterLoadAssignmentSchema, x).clusterName);
    try {
      const na = names('a', 'outbound|7070|v1|echo.default.svc.cluster.local');
      const nb = names('b', 'outbound|7070|v2|echo.default.svc.cluster.local');
      a.send({ typeUrl: TYPE.endpoint, resourceNames: na });
      b.send({ typeUrl: TYPE.endpoint, resourceNames: nb });
      const [ra, rb] = await Promise.all([a.responses.next('eds a'), b.responses.next('eds b')]);
      assert.deepEqual(clusters(ra).sort(), [...na].sort());
      assert.deepEqual(clusters(rb).sort(), [...nb].sort());
      a.send({ typeUrl: TYPE.endpoint, resourceNames: na, versionInfo: ra.versionInfo, responseNonce: ra.nonce });
      b.send({ typeUrl: TYPE.endpoint, resourceNames: nb, versionInfo: rb.versionInfo, responseNonce: rb.nonce });
      assert.ok(await a.responses.quiet(300), 'an ACK of a large subscription gets no response');
      // A changed large subscription, sent like an ACK, is answered with the new names only.
      const na2 = names('c', 'outbound|7070|v2|echo.default.svc.cluster.local');
      a.send({ typeUrl: TYPE.endpoint, resourceNames: na2, versionInfo: ra.versionInfo, responseNonce: ra.nonce });
      const ra2 = await a.responses.next('eds a, changed');
      assert.deepEqual(clusters(ra2).sort(), [...na2].sort());
      assert.ok(await b.responses.quiet(300), 'the other proxy is not touched');
    } finally {
      a.close();
      b.close();
    }
  });

  it('survives malformed streams: garbage bytes and a first request without a node', async () => {
    const raw = new grpc.Client(server.addresses.grpc, grpc.credentials.createInsecure());
    const garbage = raw.makeBidiStreamRequest('/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', (b: Buffer) => b, (b: Buffer) => b);
    const garbageErr = new Promise<grpc.ServiceError>((resolve) => garbage.on('error', resolve));
    garbage.write(Buffer.from([0xff, 0xff, 0xff, 0x01, 0x02]));
    assert.ok((await garbageErr).code !== grpc.status.OK);

    const noNode = new SotwClient(server.addresses.grpc, sidecarNode());
    (noNode as unknown as { first: boolean }).first = false;
    noNode.send({ typeUrl: TYPE.cluster });
    // Ended with a status, not left waiting: grpc-js sends none for a destroyed server stream.
    const ended = await noNode.ended;
    assert.deepEqual([ended.code, ended.details], [grpc.status.INVALID_ARGUMENT, 'first request on an xDS stream must carry node.id']);
    assert.ok(await noNode.responses.quiet(100));
    noNode.close();
    raw.close();

    const ok = new SotwClient(server.addresses.grpc, sidecarNode({ pod: 'after-garbage' }));
    ok.send({ typeUrl: TYPE.cluster });
    assert.ok((await ok.responses.next()).resources.length > 0, 'server still serves new streams');
    ok.close();
  });
});
