// How long it takes to generate and serialize the full config of one proxy, in a mesh of
// 1,000 services (sizes are flags), and what a push built from the one before regenerates after a
// VirtualService change. Prints tables; `--json FILE` writes the figures.
import { writeFileSync } from 'node:fs';
import { toBinary, create } from '@bufbuild/protobuf';
import { Command } from 'commander';
import { DiscoveryResponseSchema } from '../gen/envoy/service/discovery/v3/discovery_pb.js';
import { parseYaml } from '../pilot/config/parse.js';
import { MemoryConfigStore } from '../pilot/config/store.js';
import { buildServiceIndex } from '../pilot/registry/index.js';
import { defaultMeshConfig } from '../pilot/model/mesh.js';
import { PushContext } from '../pilot/model/push-context.js';
import { proxyFromNode, type Proxy } from '../pilot/model/proxy.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import { grpcGenerators } from '../pilot/networking/grpc/index.js';
import type { GeneratorSet } from '../pilot/networking/generator.js';
import { serviceDocs, serviceHost, syntheticMesh, type MeshSize } from './mesh.js';

interface Figures {
  proxy: string;
  services: number;
  pushContextMs: number;
  generateMs: Record<string, number>;
  serializeMs: number;
  totalMs: number;
  bytes: number;
  resources: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function fullConfig(push: PushContext, proxy: Proxy, gens: GeneratorSet) {
  const timings: Record<string, number> = {};
  const run = (label: string, typeUrl: string, names: string[], wildcard: boolean) => {
    const t = performance.now();
    const out = gens.byType[typeUrl]!(push, proxy, { typeUrl, names, wildcard });
    timings[label] = performance.now() - t;
    return out;
  };
  const services = push.servicesVisibleTo(proxy.namespace);
  const grpc = proxy.generator === 'grpc';
  const lds = run('lds', TYPE.listener, grpc ? services.flatMap((s) => s.ports.map((p) => `${s.hostname}:${p.port}`)) : [], !grpc);
  const cds = run('cds', TYPE.cluster, grpc ? services.flatMap((s) => s.ports.map((p) => `outbound|${p.port}||${s.hostname}`)) : [], !grpc);
  const rdsNames = grpc ? services.flatMap((s) => s.ports.map((p) => `outbound|${p.port}||${s.hostname}`)) : [...new Set(services.flatMap((s) => s.ports.map((p) => String(p.port))))];
  const rds = run('rds', TYPE.route, rdsNames, false);
  const eds = run('eds', TYPE.endpoint, cds.map((c) => c.name).filter((n) => n.startsWith('outbound|')), false);
  return { timings, responses: [[TYPE.listener, lds], [TYPE.cluster, cds], [TYPE.route, rds], [TYPE.endpoint, eds]] as const };
}

function measure(services: number, label: string, proxy: Proxy, gens: GeneratorSet, rounds: number): Figures {
  const yaml = syntheticMesh({ services, endpointsPerService: 4, routedShare: 0.3 });
  const parsed = parseYaml(yaml);
  if (parsed.errors.length) throw new Error(`bench mesh has errors: ${parsed.errors[0]!.message}`);
  const store = new MemoryConfigStore();
  store.replaceAll(parsed.resources);

  const runs: Figures[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const push = new PushContext(`bench/${i}`, defaultMeshConfig(), 'cluster.local', buildServiceIndex(store, { domainSuffix: 'cluster.local' }), store);
    const pushContextMs = performance.now() - t0;
    const t1 = performance.now();
    const { timings, responses } = fullConfig(push, proxy, gens);
    const t2 = performance.now();
    let bytes = 0;
    let resources = 0;
    for (const [typeUrl, rs] of responses) {
      bytes += toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, { typeUrl, versionInfo: 'v', nonce: 'n', resources: rs.map((r) => r.resource) })).length;
      resources += rs.length;
    }
    const serializeMs = performance.now() - t2;
    runs.push({ proxy: label, services, pushContextMs, generateMs: timings, serializeMs, totalMs: t2 - t1 + serializeMs, bytes, resources });
  }
  const pick = (f: (x: Figures) => number) => median(runs.map(f));
  return {
    proxy: label,
    services,
    pushContextMs: pick((r) => r.pushContextMs),
    generateMs: Object.fromEntries(Object.keys(runs[0]!.generateMs).map((k) => [k, pick((r) => r.generateMs[k]!)])),
    serializeMs: pick((r) => r.serializeMs),
    totalMs: pick((r) => r.totalMs),
    bytes: runs[0]!.bytes,
    resources: runs[0]!.resources,
  };
}

interface CarriedFigures {
  services: number;
  /** Building the push from the one before, after one VirtualService's weights changed. */
  pushContextMs: number;
  /** LDS and RDS of one Envoy sidecar per namespace (10 views). */
  sidecarLdsMs: number;
  sidecarRdsMs: number;
  /** LDS and RDS of 666 proxyless gRPC clients, three targets each. */
  grpcLdsMs: number;
  grpcRdsMs: number;
  /** EDS of the 10 sidecar views (every outbound cluster) after one service's endpoint moved. */
  sidecarEdsMs: number;
}

/**
 * What a VirtualService change costs to regenerate in a push built from the one before (as
 * isthmusd builds them), for the proxies whose listeners and routes it regenerates.
 */
function measureCarried(services: number, rounds: number): CarriedFigures {
  const size: MeshSize = { services, endpointsPerService: 4, routedShare: 0.3 };
  const store = new MemoryConfigStore();
  store.replaceAll(parseYaml(syntheticMesh(size)).resources);
  const opts = { domainSuffix: 'cluster.local' };
  const mesh = defaultMeshConfig();
  const sidecars = Array.from({ length: 10 }, (_, k) => proxyFromNode({ id: `sidecar~10.200.0.${k}~app.ns-${k}~ns-${k}.svc.cluster.local`, metadata: { NAMESPACE: `ns-${k}` } }));
  const clients = Array.from({ length: 666 }, (_, i) => {
    const targets = [0, (i * 7 + 3) % services, (i * 13 + 6) % services].map((t) => `${serviceHost(t, size)}:7070`);
    const proxy = proxyFromNode({ id: `sidecar~10.250.${i >> 8}.${i & 255}~client-${i}.ns-${i % 10}~ns-${i % 10}.svc.cluster.local`, metadata: { GENERATOR: 'grpc', NAMESPACE: `ns-${i % 10}` } });
    return { proxy, lds: targets, rds: targets.map((t) => `outbound|7070||${t.slice(0, t.lastIndexOf(':'))}`) };
  });
  const timed = (f: () => void) => {
    const t = performance.now();
    f();
    return performance.now() - t;
  };
  const watch = (typeUrl: string, names: string[], wildcard = false) => ({ typeUrl, names, wildcard, namesId: wildcard ? '*' : names.join(',') });
  const regenerate = (push: PushContext) => ({
    sidecarLdsMs: timed(() => sidecars.forEach((p) => sidecarGenerators.byType[TYPE.listener]!(push, p, watch(TYPE.listener, [], true)))),
    sidecarRdsMs: timed(() => sidecars.forEach((p) => sidecarGenerators.byType[TYPE.route]!(push, p, watch(TYPE.route, ['8080', '7070'])))),
    grpcLdsMs: timed(() => clients.forEach((c) => grpcGenerators.byType[TYPE.listener]!(push, c.proxy, watch(TYPE.listener, c.lds)))),
    grpcRdsMs: timed(() => clients.forEach((c) => grpcGenerators.byType[TYPE.route]!(push, c.proxy, watch(TYPE.route, c.rds)))),
  });
  let push = new PushContext('v0', mesh, opts.domainSuffix, buildServiceIndex(store, opts), store);
  regenerate(push);
  const runs: CarriedFigures[] = [];
  for (let i = 0; i < rounds; i++) {
    const w = i % 2 ? 90 : 70;
    store.apply(...parseYaml(serviceDocs(0, size, { weights: [w, 100 - w] }).join('\n---\n')).resources);
    const t0 = performance.now();
    push = new PushContext(`v${i + 1}`, mesh, opts.domainSuffix, buildServiceIndex(store, opts, push.registry), store, { previous: push });
    const pushContextMs = performance.now() - t0;
    runs.push({ services, pushContextMs, ...regenerate(push), sidecarEdsMs: 0 });
  }
  // The xDS server hands generators one names list per subscription, the same across pushes.
  const clusters = sidecarGenerators.byType[TYPE.cluster]!(push, sidecars[0]!, watch(TYPE.cluster, [], true)).map((c) => c.name).filter((n) => n.startsWith('outbound|'));
  const eds = watch(TYPE.endpoint, clusters);
  const edsRuns: number[] = [];
  for (let i = 0; i <= rounds; i++) {
    store.apply(...parseYaml(serviceDocs(1 % services, size, { moved: new Set(i % 2 ? [] : [3]) }).join('\n---\n')).resources);
    push = new PushContext(`e${i}`, mesh, opts.domainSuffix, buildServiceIndex(store, opts, push.registry), store, { previous: push });
    const ms = timed(() => sidecars.forEach((p) => sidecarGenerators.byType[TYPE.endpoint]!(push, p, eds)));
    if (i > 0) edsRuns.push(ms);
  }
  const pick = (f: (x: CarriedFigures) => number) => median(runs.map(f));
  return { services, pushContextMs: pick((r) => r.pushContextMs), sidecarLdsMs: pick((r) => r.sidecarLdsMs), sidecarRdsMs: pick((r) => r.sidecarRdsMs), grpcLdsMs: pick((r) => r.grpcLdsMs), grpcRdsMs: pick((r) => r.grpcRdsMs), sidecarEdsMs: median(edsRuns) };
}

const program = new Command('bench-translate')
  .option('--services <n...>', 'mesh sizes', ['100', '1000'])
  .option('--rounds <n>', 'repetitions per size (median is printed)', '5')
  .option('--json <file>', 'also write the figures as JSON')
  .parse();
const o = program.opts<{ services: string[]; rounds: string; json?: string }>();

const sidecar = proxyFromNode({ id: 'sidecar~10.200.0.0~svc-0-0.ns-0~ns-0.svc.cluster.local', metadata: { NAMESPACE: 'ns-0' } });
const grpc = proxyFromNode({ id: 'sidecar~10.250.0.1~client.ns-0~ns-0.svc.cluster.local', metadata: { GENERATOR: 'grpc', NAMESPACE: 'ns-0' } });
const results: Figures[] = [];
for (const n of o.services.map(Number)) {
  for (const [label, proxy, gens] of [['sidecar', sidecar, sidecarGenerators], ['grpc', grpc, grpcGenerators]] as const) {
    results.push(measure(n, label, proxy, gens, Number(o.rounds)));
  }
}
console.log('proxy    services  pushctx_ms  lds_ms  cds_ms  rds_ms  eds_ms  serialize_ms  total_ms  resources  bytes');
for (const r of results) {
  const g = r.generateMs;
  console.log(
    [r.proxy.padEnd(8), String(r.services).padStart(8), r.pushContextMs.toFixed(1).padStart(10), g.lds!.toFixed(1).padStart(7), g.cds!.toFixed(1).padStart(7), g.rds!.toFixed(1).padStart(7), g.eds!.toFixed(1).padStart(7), r.serializeMs.toFixed(1).padStart(13), r.totalMs.toFixed(1).padStart(9), String(r.resources).padStart(10), String(r.bytes).padStart(7)].join(' '),
  );
}
const carried = o.services.map((n) => measureCarried(Number(n), Number(o.rounds)));
console.log('\nafter a VirtualService change, from the push before: 10 sidecar views, 666 gRPC clients (EDS: after an endpoint change)');
console.log('services  pushctx_ms  sidecar_lds_ms  sidecar_rds_ms  grpc_lds_ms  grpc_rds_ms  sidecar_eds_ms');
for (const c of carried) {
  console.log([String(c.services).padStart(8), c.pushContextMs.toFixed(1).padStart(11), c.sidecarLdsMs.toFixed(1).padStart(15), c.sidecarRdsMs.toFixed(1).padStart(15), c.grpcLdsMs.toFixed(1).padStart(12), c.grpcRdsMs.toFixed(1).padStart(12), c.sidecarEdsMs.toFixed(1).padStart(15)].join(' '));
}
if (o.json) writeFileSync(o.json, JSON.stringify({ fresh: results, afterVirtualServiceChange: carried }, null, 2));
