// One load-simulator run: writes a synthetic mesh as a config directory, starts isthmusd on it,
// connects N simulated proxies from worker processes, and measures a cold start, a VirtualService
// change and an endpoint change.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hotServices, isRouted, podIp, serviceHost, serviceName, serviceNamespace, endpointVersion, type MeshSize } from '../mesh.js';
import { MeshDir } from './config-dir.js';
import { startIsthmusd, type Isthmusd } from './isthmusd.js';
import { cpuSeconds, memory } from './procfs.js';
import { now, type ProxySpec } from './proxy.js';
import type { ProxyPhase, WorkerRequest, WorkerStatus } from './worker.js';

export interface ProxyMix {
  /** Relative shares of Envoy sidecars on SotW, Envoy sidecars on Delta, and proxyless gRPC clients. */
  sotw: number;
  delta: number;
  grpc: number;
}

export interface LoadOptions {
  services: number;
  proxies: number;
  endpointsPerService?: number;
  routedShare?: number;
  namespaces?: number;
  /** A Sidecar per namespace: proxies see their namespace and the hot services (see mesh.ts). */
  scoped?: boolean;
  mix?: ProxyMix;
  /** Worker processes running the proxies. */
  workers?: number;
  /** How many services each proxyless gRPC client calls. */
  grpcTargets?: number;
  /** A phase ends once no proxy received anything for this long (and every expected proxy answered). */
  quietMs?: number;
  /** Gives up waiting for a phase after this long. */
  phaseTimeoutMs?: number;
  /** Spreads the proxies' connections over this many ms (0: all at once, like an isthmusd restart). */
  rampMs?: number;
  /** An Isthmus checkout whose bin/isthmusd is measured (default: this one), for before/after figures. */
  isthmusdRoot?: string;
  /** Extra environment for isthmusd (PILOT_DEBOUNCE_AFTER, ...). */
  env?: Record<string, string>;
  /** Writes a V8 CPU profile of isthmusd into this directory (`--cpu-prof`). */
  profileDir?: string;
  /** Writes a heap snapshot of isthmusd into this directory after the cold start. */
  heapSnapshotDir?: string;
  /**
   * After the measured changes, this many more rounds of a VirtualService change and an endpoint
   * change (each on another service), with isthmusd's RSS after each: memory that grows round
   * after round is a leak (caches kept across pushes must stay bounded).
   */
  soakRounds?: number;
  /** Also measure an AuthorizationPolicy change: a namespace-wide policy added to one namespace (listeners only). */
  authzChange?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface LoadFigures {
  services: number;
  proxies: number;
  /** A Sidecar per namespace scopes what proxies see. */
  scoped: boolean;
  sidecars: number;
  deltaSidecars: number;
  grpcClients: number;
  /** Until every proxy holds a full config (CDS, EDS, LDS, RDS answered for what it subscribes to). */
  coldStartMs: number;
  coldStartP50Ms: number;
  coldStartBytes: number;
  coldStartCpuSeconds: number;
  /** Of that, isthmusd's main thread (the rest is mostly V8's compiler and garbage-collector threads). */
  coldStartMainThreadCpuSeconds: number;
  /** CPU the simulated proxies (all workers) used during the cold start: they share the machine with isthmusd. */
  simulatorCpuSeconds: number;
  /** Memory the simulator allocated for responses spanning reads during the cold start (its page faults compete with isthmusd). */
  simulatorResponseMemoryBytes: number;
  /** VirtualService change: from the file write until each affected proxy ACKed its last response. */
  changeAckP50Ms: number;
  changeAckP99Ms: number;
  changeAckMaxMs: number;
  changeAffected: number;
  changeMissing: number;
  cpuSecondsPerPush: number;
  /** Of that, isthmusd's main thread. */
  mainThreadCpuSecondsPerPush: number;
  bytesPerPush: number;
  changeResponses: Record<string, number>;
  /** Endpoint change (a pod moved to another IP): the same figures. */
  edsChangeAckP50Ms: number;
  edsChangeAckP99Ms: number;
  edsChangeAckMaxMs: number;
  edsChangeAffected: number;
  edsChangeMissing: number;
  edsCpuSecondsPerPush: number;
  /** Of that, isthmusd's main thread. */
  edsMainThreadCpuSecondsPerPush: number;
  edsBytesPerPush: number;
  edsChangeResponses: Record<string, number>;
  /** With `authzChange`: a namespace-wide AuthorizationPolicy added, until each sidecar of the namespace ACKed. */
  authzChangeAckP50Ms?: number;
  authzChangeAckP99Ms?: number;
  authzChangeAckMaxMs?: number;
  authzChangeAffected?: number;
  authzChangeMissing?: number;
  authzCpuSecondsPerPush?: number;
  authzBytesPerPush?: number;
  authzChangeResponses?: Record<string, number>;
  /** isthmusd's own push time (from its `pushed config` log), ms. */
  serverPushMs: number;
  edsServerPushMs: number;
  peakRssBytes: number;
  /** isthmusd's V8 heap in use and external (Buffer) memory at the end of the run, from its /metrics. */
  heapUsedBytes: number;
  externalBytes: number;
  /** Largest V8 heap (committed) and external memory seen while the phases ran (sampled each second). */
  peakHeapTotalBytes: number;
  peakExternalBytes: number;
  rssAfterColdStartBytes: number;
  /** The RSS high-water mark when the cold start ended: the peak is reached later when this is lower. */
  peakRssDuringColdStartBytes: number;
  /** The high-water mark after the VirtualService change, before the endpoint change. */
  peakRssUntilEdsChangeBytes: number;
  /** RSS after each soak round (see LoadOptions.soakRounds). */
  soakRssBytes: number[];
  /** Proxies whose stream failed for good (after retries). */
  errors: number;
  /** ADS streams that failed and were re-established by their proxy. */
  reconnects: number;
}

const GRPC_PORT = 7070;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Proxy `i` runs in a pod of service `i mod M` (never on the endpoint the EDS change moves). */
export function proxySpecs(opts: LoadOptions, size: MeshSize): ProxySpec[] {
  const mix = opts.mix ?? { sotw: 1, delta: 1, grpc: 1 };
  const pattern: ('sotw' | 'delta' | 'grpc')[] = [];
  const unit = Math.min(...[mix.sotw, mix.delta, mix.grpc].filter((x) => x > 0));
  for (const k of ['sotw', 'delta', 'grpc'] as const) for (let j = 0; j < Math.round(mix[k] / unit); j++) pattern.push(k);
  const usable = Math.max(1, size.endpointsPerService - 1);
  const targets = opts.grpcTargets ?? 3;
  const hot = hotServices(size);
  const namespaces = Math.min(size.namespaces ?? 10, size.services);
  const out: ProxySpec[] = [];
  for (let i = 0; i < opts.proxies; i++) {
    const kind = pattern[i % pattern.length]!;
    const s = i % size.services;
    const e = Math.floor(i / size.services) % usable;
    const copy = Math.floor(i / (size.services * usable));
    const ns = serviceNamespace(s, size);
    const ip = podIp(s, e);
    const pod = `${serviceName(s)}-${e}${copy ? `-${copy}` : ''}`;
    // A hot service, and others: anywhere, or in its own namespace when Sidecars scope the mesh.
    const picks = new Set<number>([hot[i % hot.length]!]);
    const local = Math.ceil((size.services - (s % namespaces)) / namespaces);
    for (let t = 1; picks.size < Math.min(targets, size.services) && t < 10 * targets; t++) {
      const r = (i * (6 * t + 1) + 3 * t) % (size.scoped ? local : size.services);
      picks.add(size.scoped ? (s % namespaces) + namespaces * r : r);
    }
    out.push({
      id: `sidecar~${ip}~${pod}.${ns}~${ns}.svc.cluster.local`,
      kind: kind === 'grpc' ? 'grpc' : 'sidecar',
      delta: kind === 'delta',
      namespace: ns,
      labels: { app: serviceName(s), version: endpointVersion(e) },
      ip,
      targets: kind === 'grpc' ? [...picks].map((t) => `${serviceHost(t, size)}:${GRPC_PORT}`) : [],
    });
  }
  return out;
}

class WorkerHandle {
  private seq = 0;
  private readonly waiting = new Map<number, (body: unknown) => void>();

  constructor(readonly child: ChildProcess) {
    child.on('message', (m: { id: number; body: unknown }) => {
      this.waiting.get(m.id)?.(m.body);
      this.waiting.delete(m.id);
    });
  }

  call<T>(req: WorkerRequest): Promise<T> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, resolve as (b: unknown) => void);
      this.child.send({ id, req }, (err) => err && reject(err));
    });
  }
}

interface ChangeResult {
  p50: number;
  p99: number;
  max: number;
  affected: number;
  missing: number;
  cpuSeconds: number;
  mainThreadCpuSeconds: number;
  bytes: number;
  responses: Record<string, number>;
  serverPushMs: number;
}

export async function runLoad(opts: LoadOptions): Promise<LoadFigures> {
  const log = opts.log ?? (() => {});
  const size: MeshSize = {
    services: opts.services,
    endpointsPerService: opts.endpointsPerService ?? 4,
    routedShare: opts.routedShare ?? 0.3,
    namespaces: opts.namespaces ?? 10,
    scoped: opts.scoped,
  };
  if (size.endpointsPerService < 2) throw new Error('the simulator needs at least 2 endpoints per service');
  if (!isRouted(0, size)) throw new Error('the simulator needs at least one routed service (routedShare × services ≥ 1)');
  const quietMs = opts.quietMs ?? 1000;
  const phaseTimeoutMs = opts.phaseTimeoutMs ?? 120_000;
  const specs = proxySpecs(opts, size);
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-load-'));
  const mesh = new MeshDir(dir, size);
  mesh.writeAll();

  let server: Isthmusd | undefined;
  const workers: WorkerHandle[] = [];
  // Node writes a heap snapshot only into a directory that exists.
  if (opts.heapSnapshotDir) mkdirSync(opts.heapSnapshotDir, { recursive: true });
  try {
    server = await startIsthmusd(dir, opts.env, [
      ...(opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : []),
      ...(opts.heapSnapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${opts.heapSnapshotDir}`] : []),
    ], opts.isthmusdRoot);
    const srv = server;
    log(`isthmusd pid ${srv.pid} serving ${size.services} services on ${srv.grpc}`);
    const workerCount = Math.max(1, Math.min(opts.workers ?? 2, specs.length));
    const workerPath = fileURLToPath(new URL('./worker.ts', import.meta.url));
    for (let w = 0; w < workerCount; w++) workers.push(new WorkerHandle(fork(workerPath, [], { execArgv: ['--import', 'tsx', ...(opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', `${opts.profileDir}/workers`] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
    const shares: ProxySpec[][] = workers.map(() => []);
    specs.forEach((s, i) => shares[i % workers.length]!.push(s));

    const all = async <T>(req: WorkerRequest): Promise<T[]> => Promise.all(workers.map((w) => w.call<T>(req)));
    const statuses = async () => {
      const st = await all<WorkerStatus>({ op: 'status' });
      return {
        cpuSeconds: st.reduce((a, s) => a + s.cpuSeconds, 0),
        ready: st.reduce((a, s) => a + s.ready, 0),
        reconnects: st.reduce((a, s) => a + s.reconnects, 0),
        reconnectReasons: st.reduce<Record<string, number>>((acc, s) => {
          for (const [r, n] of Object.entries(s.reconnectReasons)) acc[r] = (acc[r] ?? 0) + n;
          return acc;
        }, {}),
        responded: st.reduce((a, s) => a + s.responded, 0),
        failed: st.flatMap((s) => s.failed),
        lastResponseAt: Math.max(0, ...st.map((s) => s.lastResponseAt)),
        messageAllocatedBytes: st.reduce((a, s) => a + s.messageMemory.allocatedBytes, 0),
        messageMaxLentBytes: Math.max(0, ...st.map((s) => s.messageMemory.maxLentBytes)),
        messagePauses: st.reduce((a, s) => a + s.messageMemory.pauses, 0),
      };
    };
    const phases = async () => (await all<ProxyPhase[]>({ op: 'phase' })).flat();
    // isthmusd's memory split (V8 heap, Buffers) sampled from its /metrics while phases run.
    const peaks = { heapTotalBytes: 0, externalBytes: 0 };
    let lastSample = 0;
    const sample = async () => {
      if (now() - lastSample < 1000) return;
      lastSample = now();
      const text = await fetch(`http://${srv.monitoring}/metrics`).then((r) => r.text()).catch(() => '');
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
      peaks.heapTotalBytes = Math.max(peaks.heapTotalBytes, value('nodejs_heap_size_total_bytes'));
      peaks.externalBytes = Math.max(peaks.externalBytes, value('nodejs_external_memory_bytes'));
    };
    const waitQuiet = async (since: number, until: (s: Awaited<ReturnType<typeof statuses>>) => boolean) => {
      for (;;) {
        await sleep(50);
        await sample();
        const s = await statuses();
        const t = now();
        if (t - since > phaseTimeoutMs) return s;
        if (until(s) && t - Math.max(since, s.lastResponseAt) >= quietMs) return s;
      }
    };

    // Cold start: every proxy connects at once.
    const cpuStart = cpuSeconds(srv.pid);
    const mainStart = cpuSeconds(srv.pid, true);
    const simCpuStart = (await statuses()).cpuSeconds;
    await all({ op: 'mark' });
    const t0 = now();
    await Promise.all(workers.map((w, i) => w.call({ op: 'start', addr: srv.grpc, proxies: shares[i]!, rampMs: opts.rampMs })));
    const cold = await waitQuiet(t0, (s) => s.ready + s.failed.length >= specs.length);
    const coldPhases = await phases();
    const readyTimes = coldPhases.filter((p) => p.readyAt).map((p) => p.readyAt - t0).sort((a, b) => a - b);
    const coldStartMs = readyTimes.length === specs.length ? readyTimes[readyTimes.length - 1]! : Number.NaN;
    const coldCpu = cpuSeconds(srv.pid) - cpuStart;
    const coldMainCpu = cpuSeconds(srv.pid, true) - mainStart;
    const simCpu = cold.cpuSeconds - simCpuStart;
    const afterCold = memory(srv.pid);
    for (const f of cold.failed.slice(0, 5)) log(`proxy ${f.id} failed: ${f.error}`);
    if (opts.heapSnapshotDir) {
      process.kill(srv.pid, 'SIGUSR2');
      await sleep(quietMs);
      await waitQuiet(now(), () => true);
    }
    log(`cold start: ${cold.ready}/${specs.length} ready in ${Math.round(coldStartMs)} ms (${cold.reconnects} reconnects), isthmusd ${coldCpu.toFixed(1)} CPU s (main thread ${coldMainCpu.toFixed(1)}), simulator ${simCpu.toFixed(1)} CPU s (response memory ${Math.round(cold.messageAllocatedBytes / 2 ** 20)} MiB allocated, at most ${Math.round(cold.messageMaxLentBytes / 2 ** 20)} MiB in blocks in a worker, ${cold.messagePauses} pauses), RSS ${Math.round(afterCold.rssBytes / 2 ** 20)} MiB`);
    if (cold.reconnects) log(`reconnects by reason: ${JSON.stringify(cold.reconnectReasons)}`);
    const warnings = new Map<string, number>();
    for (const l of srv.logs) if (typeof l.level === 'number' && l.level >= 40) warnings.set(String(l.msg), (warnings.get(String(l.msg)) ?? 0) + 1);
    if (warnings.size) log(`isthmusd warnings and errors: ${JSON.stringify(Object.fromEntries(warnings))}`);

    const kindOf = new Map(specs.map((s) => [s.id, s.kind === 'grpc' ? 'grpc' : s.delta ? 'delta' : 'sotw']));
    const change = async (label: string, mutate: () => void, expected: Set<string>): Promise<ChangeResult> => {
      await all({ op: 'mark' });
      const logsBefore = srv.logs.length;
      const cpu0 = cpuSeconds(srv.pid);
      const main0 = cpuSeconds(srv.pid, true);
      const start = now();
      mutate();
      await waitQuiet(start, (s) => s.responded >= expected.size);
      const cpu = cpuSeconds(srv.pid) - cpu0;
      const mainCpu = cpuSeconds(srv.pid, true) - main0;
      const ph = await phases();
      const responded = ph.filter((p) => p.responses > 0);
      const lat = responded.map((p) => p.lastAckAt - start).sort((a, b) => a - b);
      const got = new Set(responded.map((p) => p.id));
      const missing = [...expected].filter((id) => !got.has(id));
      const responses: Record<string, number> = {};
      for (const p of responded) for (const [t, n] of Object.entries(p.byType)) responses[t] = (responses[t] ?? 0) + n;
      const pushes = srv.logs.slice(logsBefore).filter((l) => l.msg === 'pushed config');
      const r: ChangeResult = {
        p50: percentile(lat, 50),
        p99: percentile(lat, 99),
        max: lat.length ? lat[lat.length - 1]! : 0,
        affected: responded.length,
        missing: missing.length,
        cpuSeconds: cpu,
        mainThreadCpuSeconds: mainCpu,
        bytes: responded.reduce((a, p) => a + p.bytes, 0),
        responses,
        serverPushMs: pushes.reduce((a, l) => a + Number(l.ms ?? 0), 0),
      };
      const byKind = ['sotw', 'delta', 'grpc'].map((k) => {
        const ps = responded.filter((p) => kindOf.get(p.id) === k);
        const acked = ps.map((p) => p.lastAckAt - start).sort((a, b) => a - b);
        return ps.length ? `${k} ${ps.length} p50 ${Math.round(percentile(acked, 50))} ms p99 ${Math.round(percentile(acked, 99))} ms` : '';
      }).filter(Boolean);
      log(`${label}: ${r.affected} proxies updated (${r.missing} expected but missing), p50 ${Math.round(r.p50)} ms, p99 ${Math.round(r.p99)} ms, max ${Math.round(r.max)} ms, ${r.cpuSeconds.toFixed(2)} CPU s (main thread ${r.mainThreadCpuSeconds.toFixed(2)}), ${r.bytes} bytes, ${pushes.length} push(es)`);
      log(`  by client: ${byKind.join('; ')}`);
      return r;
    };

    // Sidecars that see the service, and gRPC clients that call it.
    const hot = hotServices(size);
    const affectedBy = (svc: number) => {
      const host = `${serviceHost(svc, size)}:${GRPC_PORT}`;
      const ns = serviceNamespace(svc, size);
      const sees = (s: ProxySpec) => !size.scoped || hot.includes(svc) || s.namespace === ns;
      return new Set(specs.filter((s) => (s.kind === 'sidecar' && sees(s)) || s.targets.includes(host)).map((s) => s.id));
    };
    // A hot service (seen by all) in a mesh without Sidecars; one team's service where Sidecars scope it.
    const teamService = hot.length + 1 < size.services && isRouted(hot.length + 1, size) ? hot.length : 0;
    const vsService = size.scoped ? teamService : 0;
    const edsService = size.scoped && teamService ? teamService + 1 : 1 % size.services;
    const vs = await change('VirtualService change', () => mesh.setWeights(vsService, [70, 30]), affectedBy(vsService));
    const afterVs = memory(srv.pid);
    const eds = await change('endpoint change', () => mesh.toggleEndpoint(edsService, size.endpointsPerService - 1), affectedBy(edsService));
    // A policy for one namespace's workloads: only the sidecars there get new (inbound) listeners.
    let authz: ChangeResult | undefined;
    if (opts.authzChange) {
      const ns = serviceNamespace(0, size);
      const inNamespace = new Set(specs.filter((s) => s.kind === 'sidecar' && s.namespace === ns).map((s) => s.id));
      authz = await change('AuthorizationPolicy change', () => mesh.setNamespacePolicy(ns, [ns, 'istio-system']), inNamespace);
    }
    const soakRssBytes: number[] = [];
    const routed = Array.from({ length: size.services }, (_, i) => i).filter((i) => isRouted(i, size));
    for (let round = 1; round <= (opts.soakRounds ?? 0) && routed.length; round++) {
      const svc = routed[(round * 7) % routed.length]!;
      // Weights of their own each round: a service picked again still changes.
      const w = 1 + (round % 98);
      await change(`soak ${round}: VirtualService change`, () => mesh.setWeights(svc, [w, 100 - w]), affectedBy(svc));
      await change(`soak ${round}: endpoint change`, () => mesh.toggleEndpoint((svc + 1) % size.services, round % size.endpointsPerService), affectedBy((svc + 1) % size.services));
      soakRssBytes.push(memory(srv.pid).rssBytes);
      log(`soak ${round}: RSS ${Math.round(soakRssBytes[soakRssBytes.length - 1]! / 2 ** 20)} MiB`);
    }
    const mem = memory(srv.pid);
    const finalStatus = await statuses();
    const metrics = await fetch(`http://${srv.monitoring}/metrics`).then((r) => r.text()).catch(() => '');
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(metrics)?.[1] ?? Number.NaN);

    return {
      services: size.services,
      proxies: specs.length,
      scoped: !!size.scoped,
      sidecars: specs.filter((s) => s.kind === 'sidecar').length,
      deltaSidecars: specs.filter((s) => s.delta).length,
      grpcClients: specs.filter((s) => s.kind === 'grpc').length,
      coldStartMs: round(coldStartMs),
      coldStartP50Ms: round(percentile(readyTimes, 50)),
      coldStartBytes: coldPhases.reduce((a, p) => a + p.bytes, 0),
      coldStartCpuSeconds: round(coldCpu, 2),
      coldStartMainThreadCpuSeconds: round(coldMainCpu, 2),
      simulatorCpuSeconds: round(simCpu, 2),
      simulatorResponseMemoryBytes: cold.messageAllocatedBytes,
      changeAckP50Ms: round(vs.p50),
      changeAckP99Ms: round(vs.p99),
      changeAckMaxMs: round(vs.max),
      changeAffected: vs.affected,
      changeMissing: vs.missing,
      cpuSecondsPerPush: round(vs.cpuSeconds, 2),
      mainThreadCpuSecondsPerPush: round(vs.mainThreadCpuSeconds, 2),
      bytesPerPush: vs.bytes,
      changeResponses: vs.responses,
      edsChangeAckP50Ms: round(eds.p50),
      edsChangeAckP99Ms: round(eds.p99),
      edsChangeAckMaxMs: round(eds.max),
      edsChangeAffected: eds.affected,
      edsChangeMissing: eds.missing,
      edsCpuSecondsPerPush: round(eds.cpuSeconds, 2),
      edsMainThreadCpuSecondsPerPush: round(eds.mainThreadCpuSeconds, 2),
      edsBytesPerPush: eds.bytes,
      edsChangeResponses: eds.responses,
      ...(authz
        ? {
            authzChangeAckP50Ms: round(authz.p50),
            authzChangeAckP99Ms: round(authz.p99),
            authzChangeAckMaxMs: round(authz.max),
            authzChangeAffected: authz.affected,
            authzChangeMissing: authz.missing,
            authzCpuSecondsPerPush: round(authz.cpuSeconds, 2),
            authzBytesPerPush: authz.bytes,
            authzChangeResponses: authz.responses,
          }
        : {}),
      serverPushMs: vs.serverPushMs,
      edsServerPushMs: eds.serverPushMs,
      peakRssBytes: mem.peakRssBytes,
      heapUsedBytes: gauge('nodejs_heap_size_used_bytes'),
      externalBytes: gauge('nodejs_external_memory_bytes'),
      peakHeapTotalBytes: peaks.heapTotalBytes,
      peakExternalBytes: peaks.externalBytes,
      rssAfterColdStartBytes: afterCold.rssBytes,
      peakRssDuringColdStartBytes: afterCold.peakRssBytes,
      peakRssUntilEdsChangeBytes: afterVs.peakRssBytes,
      soakRssBytes,
      errors: finalStatus.failed.length,
      reconnects: finalStatus.reconnects,
    };
  } finally {
    const exited = (w: WorkerHandle) => new Promise<void>((res) => (w.child.exitCode !== null ? res() : w.child.once('exit', () => res())));
    await Promise.all(workers.map((w) => Promise.race([w.call({ op: 'stop' }).then(() => exited(w)).catch(() => {}), sleep(5000)])));
    for (const w of workers) if (w.child.exitCode === null) w.child.kill();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
