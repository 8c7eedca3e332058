// How long it takes to generate and serialize the full config of one proxy, in a mesh of
// 1,000 services (sizes are flags). Prints a table; `--json FILE` writes the figures.
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
import { syntheticMesh } from './mesh.js';

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
if (o.json) writeFileSync(o.json, JSON.stringify(results, null, 2));
