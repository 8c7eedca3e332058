// The load simulator (`npm run bench`): isthmusd in its own process, N simulated proxies (Envoy
// sidecars on SotW and Delta, proxyless gRPC clients) in worker processes, a mesh of M services.
// Prints a table per size; `--json FILE` writes the figures (one object per size).
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { runLoad, type LoadFigures, type ProxyMix } from './sim/run.js';

const DEFAULT_SIZES = '100x200,300x600,1000x2000';

function parseSizes(text: string): { services: number; proxies: number }[] {
  return text.split(',').map((s) => {
    const m = /^(\d+)x(\d+)$/.exec(s.trim());
    if (!m) throw new Error(`--sizes: expected SERVICESxPROXIES, got ${JSON.stringify(s)}`);
    return { services: Number(m[1]), proxies: Number(m[2]) };
  });
}

function parseMix(text: string): ProxyMix {
  const mix: ProxyMix = { sotw: 0, delta: 0, grpc: 0 };
  for (const part of text.split(',')) {
    const [k, v] = part.split(':');
    if (!k || !(k in mix) || !v || !(Number(v) >= 0)) throw new Error(`--mix: expected sotw:N,delta:N,grpc:N, got ${JSON.stringify(text)}`);
    mix[k as keyof ProxyMix] = Number(v);
  }
  if (mix.sotw + mix.delta + mix.grpc <= 0) throw new Error('--mix: all shares are zero');
  return mix;
}

const program = new Command('bench')
  .description('Load simulator: cold start, VirtualService change and endpoint change against a real isthmusd')
  .option('--sizes <list>', 'SERVICESxPROXIES,... to run', DEFAULT_SIZES)
  .option('--services <n>', 'one size: services (with --proxies)')
  .option('--proxies <n>', 'one size: proxies (with --services)')
  .option('--mix <shares>', 'proxy kinds: Envoy SotW, Envoy Delta, proxyless gRPC', 'sotw:1,delta:1,grpc:1')
  .option('--workers <n>', 'worker processes running the proxies', '2')
  .option('--endpoints <n>', 'endpoints per service', '4')
  .option('--routed <share>', 'share of services with a VirtualService and DestinationRule', '0.3')
  .option('--scoped', 'a Sidecar per namespace: proxies see their own namespace and the hot services')
  .option('--quiet-ms <ms>', 'a phase ends after this long without responses', '1000')
  .option('--ramp-ms <ms>', 'spread proxy connections over this long (0: all at once)', '0')
  .option('--debounce <duration>', "isthmusd's PILOT_DEBOUNCE_AFTER (default: isthmusd's own, 100ms)")
  .option('--profile <dir>', "write isthmusd's CPU profile (V8 .cpuprofile) into DIR")
  .option('--heap-snapshot <dir>', 'write a heap snapshot of isthmusd into DIR after the cold start')
  .option('--isthmusd <dir>', 'measure the isthmusd of another checkout (before/after comparisons)')
  .option('--authz-change', 'also measure an AuthorizationPolicy change (one namespace-wide policy; listeners only)')
  .option('--soak <rounds>', 'then repeat a VirtualService and an endpoint change this many times, printing RSS after each', '0')
  .option('--json <file>', 'also write the figures as JSON')
  .parse();
const o = program.opts<{ scoped?: boolean; sizes: string; services?: string; proxies?: string; mix: string; workers: string; endpoints: string; routed: string; quietMs: string; rampMs: string; debounce?: string; profile?: string; heapSnapshot?: string; isthmusd?: string; soak: string; json?: string; authzChange?: boolean }>();

const sizes = o.services || o.proxies ? [{ services: Number(o.services ?? 100), proxies: Number(o.proxies ?? 100) }] : parseSizes(o.sizes);
const mix = parseMix(o.mix);
const results: LoadFigures[] = [];
for (const size of sizes) {
  const started = performance.now();
  console.error(`== ${size.services} services, ${size.proxies} proxies`);
  const figures = await runLoad({
    ...size,
    mix,
    scoped: o.scoped,
    workers: Number(o.workers),
    endpointsPerService: Number(o.endpoints),
    routedShare: Number(o.routed),
    quietMs: Number(o.quietMs),
    rampMs: Number(o.rampMs),
    env: o.debounce ? { PILOT_DEBOUNCE_AFTER: o.debounce } : undefined,
    profileDir: o.profile,
    heapSnapshotDir: o.heapSnapshot,
    isthmusdRoot: o.isthmusd,
    soakRounds: Number(o.soak),
    authzChange: o.authzChange,
    log: (line) => console.error(`   ${line}`),
  });
  console.error(`   (${Math.round((performance.now() - started) / 1000)} s)`);
  results.push(figures);
  if (o.json) writeFileSync(o.json, JSON.stringify(results, null, 2) + '\n');
}

const MiB = 2 ** 20;
const cols: [string, (r: LoadFigures) => string][] = [
  ['services', (r) => String(r.services) + (r.scoped ? 's' : '')],
  ['proxies', (r) => String(r.proxies)],
  ['cold_ms', (r) => r.coldStartMs.toFixed(0)],
  ['vs_p50', (r) => r.changeAckP50Ms.toFixed(0)],
  ['vs_p99', (r) => r.changeAckP99Ms.toFixed(0)],
  ['vs_max', (r) => r.changeAckMaxMs.toFixed(0)],
  ['eds_p50', (r) => r.edsChangeAckP50Ms.toFixed(0)],
  ['eds_p99', (r) => r.edsChangeAckP99Ms.toFixed(0)],
  ['eds_max', (r) => r.edsChangeAckMaxMs.toFixed(0)],
  ['peak_rss_MiB', (r) => (r.peakRssBytes / MiB).toFixed(0)],
  ['cold_peak_MiB', (r) => (r.peakRssDuringColdStartBytes / MiB).toFixed(0)],
  ['vs_peak_MiB', (r) => (r.peakRssUntilEdsChangeBytes / MiB).toFixed(0)],
  ['cpu_s/push', (r) => r.cpuSecondsPerPush.toFixed(2)],
  ['main_cpu_s', (r) => r.mainThreadCpuSecondsPerPush.toFixed(2)],
  ['eds_cpu_s', (r) => r.edsCpuSecondsPerPush.toFixed(2)],
  ['MB/push', (r) => (r.bytesPerPush / 1e6).toFixed(2)],
  ['eds_MB/push', (r) => (r.edsBytesPerPush / 1e6).toFixed(2)],
  ['cold_GB', (r) => (r.coldStartBytes / 1e9).toFixed(2)],
  ...(o.authzChange
    ? ([
        ['authz_p99', (r) => (r.authzChangeAckP99Ms ?? Number.NaN).toFixed(0)],
        ['authz_cpu_s', (r) => (r.authzCpuSecondsPerPush ?? Number.NaN).toFixed(2)],
        ['authz_MB', (r) => ((r.authzBytesPerPush ?? Number.NaN) / 1e6).toFixed(2)],
      ] as [string, (r: LoadFigures) => string][])
    : []),
  ['missing', (r) => String(r.changeMissing + r.edsChangeMissing + (r.authzChangeMissing ?? 0))],
  ['reconnects', (r) => String(r.reconnects)],
  ['errors', (r) => String(r.errors)],
];
const widths = cols.map(([h], i) => Math.max(h.length, ...results.map((r) => cols[i]![1](r).length)));
console.log(cols.map(([h], i) => h.padStart(widths[i]!)).join('  '));
for (const r of results) console.log(cols.map(([, f], i) => f(r).padStart(widths[i]!)).join('  '));
console.log(`proxies: Envoy SotW/Delta/proxyless gRPC = ${o.mix}; responses after the VirtualService change by type: ${results.map((r) => JSON.stringify(r.changeResponses)).join(' ')}; after the endpoint change: ${results.map((r) => JSON.stringify(r.edsChangeResponses)).join(' ')}`);
process.exit(results.some((r) => r.errors > 0 || Number.isNaN(r.coldStartMs)) ? 1 : 0);
