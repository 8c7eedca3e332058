// `npm run conformance -- simulate [--cases FILE] [--routes FILE]`: Istio's traffic-simulation
// oracle (../shared/conformance/simulation/README.md). Each call of each case is walked through
// the config isthmusd's own generators produce for the case's proxy, with Istio's simulator
// semantics, and checked as Istio's `Result.Matches` checks it. One line per failing check.
//
// Units counted: every call, the TestInboundClusters cluster-set and telemetry assertions, and
// every route-table entry.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Cluster } from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import type { FilterChain } from '../../gen/envoy/config/listener/v3/listener_components_pb.js';
import { Simulation, downstreamTlsContext } from '../../pilot/simulation/engine.js';
import type { Call, CallMode, CallProtocol, Result, SimError, TlsMode } from '../../pilot/simulation/call.js';
import { conformanceData } from '../data.js';
import { Tally, type Suite, type SuiteOptions, type SuiteResult } from '../suite.js';
import { buildEnvironment, EnvironmentError, type BuiltEnvironment, type CaseEnvironment } from './simulate-env.js';

interface Expect {
  error: string | null;
  listener?: string;
  filterChain?: string;
  routeConfig?: string;
  virtualHost?: string;
  route?: string;
  cluster?: string;
  strictMatch?: boolean;
}

interface CaseCall {
  name: string;
  goTest: string;
  line?: number;
  address?: string;
  port: number;
  protocol?: CallProtocol;
  tls?: TlsMode;
  alpn?: string;
  sni?: string;
  hostHeader?: string;
  path?: string;
  callMode?: CallMode;
  mtlsSecretConfigName?: string;
  customListenerValidations?: string[];
  knownBug?: string;
  expect: Expect;
}

interface SimCase extends CaseEnvironment {
  goTest: string;
  source?: { file: string; line: number };
  knownBug?: string;
  expectInboundClusters?: Record<string, string[] | null>;
  expectInboundClusterTelemetry?: Record<string, string[] | null> | null;
  calls: CaseCall[];
}

interface RouteTableCase extends CaseEnvironment {
  goTest: string;
  routeConfig: string;
  expectVirtualHostClusters: Record<string, string[] | null>;
}

const FIELDS = ['listener', 'filterChain', 'routeConfig', 'virtualHost', 'route', 'cluster'] as const;
type Field = (typeof FIELDS)[number];
const SHORT: Record<Field, string> = { listener: 'listener', filterChain: 'chain', routeConfig: 'rds', virtualHost: 'vhost', route: 'route', cluster: 'cluster' };

/** TestInboundSidecarTLSModes' `expectedTLSContext` closure, by name. */
const VALIDATIONS: Record<string, (fc: FilterChain) => SimError | undefined> = {
  expectedTLSContext: (fc) => {
    const fail = (detail: string): SimError => ({ name: 'expectedTLSContext', message: 'expectedTLSContext validation failed', detail });
    const tls = downstreamTlsContext(fc);
    if (!tls) return fail(`expected transport socket for chain ${fc.name}`);
    const sds = tls.commonTlsContext?.tlsCertificateSdsSecretConfigs ?? [];
    if (sds.length === 0) return fail('expected tls certificates');
    if (sds[0]!.name !== 'file-cert:httpbin.pem~httpbinkey.pem') return fail(`expected certificate file-cert:httpbin.pem~httpbinkey.pem, got ${sds[0]!.name}`);
    if (tls.requireClientCertificate) return fail('expected RequireClientCertificate to be false');
    return undefined;
  },
};

function q(s: string): string {
  return JSON.stringify(s);
}

function describeGot(r: Result): string {
  const parts = FIELDS.filter((f) => r[f]).map((f) => `${SHORT[f]}=${q(r[f])}`);
  if (r.weightedClusters?.length) parts.push(`weighted=[${r.weightedClusters.map((c) => `${c.name}:${c.weight}`).join(',')}]`);
  if (r.routeAction) parts.push(`action=${q(r.routeAction)}`);
  if (r.error) parts.push(`error=${r.error.name}${r.error.detail ? ` (${r.error.detail})` : ''}`);
  return parts.join(' ') || '(nothing matched)';
}

/** Istio's `Result.Matches`; returns the mismatches, with a category for the summary. */
function compare(want: Expect, got: Result): { diffs: string[]; category: string } | undefined {
  const diffs: string[] = [];
  const gotError = got.error?.name ?? null;
  if (want.error !== gotError) diffs.push(`error: want ${want.error ?? 'none'} got ${gotError ?? 'none'}`);
  let first: Field | undefined;
  for (const f of FIELDS) {
    const w = want[f];
    const checked = want.strictMatch ? (w ?? '') : w;
    if (checked === undefined || (checked === '' && !want.strictMatch)) continue;
    if (checked !== got[f]) {
      diffs.push(`${SHORT[f]}: want ${q(checked)} got ${q(got[f])}`);
      first ??= f;
    }
  }
  if (!diffs.length) return undefined;
  let category: string;
  if (want.error !== gotError) category = `error: want ${want.error ?? 'none'}, got ${gotError ?? 'none'}`;
  else category = `wrong ${SHORT[first!]}`;
  return { diffs, category };
}

function toCall(c: CaseCall): Call {
  return {
    address: c.address,
    port: c.port,
    protocol: c.protocol,
    tls: c.tls,
    alpn: c.alpn,
    sni: c.sni,
    hostHeader: c.hostHeader,
    path: c.path,
    callMode: c.callMode,
    mtlsSecretConfigName: c.mtlsSecretConfigName,
  };
}

function callLabel(c: SimCase, call: CaseCall, i: number): string {
  const base = call.goTest || `${c.name}/${call.name || `call ${i + 1}`}`;
  return call.line ? `${base} [line ${call.line}]` : base;
}

class Checks {
  readonly tally = new Tally();
  readonly categories = new Map<string, number>();
  pass(): void {
    this.tally.pass();
  }
  fail(name: string, why: string, category: string): void {
    this.tally.fail(name, why);
    this.categories.set(category, (this.categories.get(category) ?? 0) + 1);
  }
}

function suffix(notes: string[], knownBug?: string): string {
  const extra = [...notes];
  if (knownBug) extra.push(`knownBug: ${knownBug.split(' ')[0]}`);
  return extra.length ? ` [${extra.join('; ')}]` : '';
}

function envCategory(e: Error): string {
  const m = e.message;
  if (m.startsWith('needs kinds')) return m;
  if (m.startsWith('config Istio accepts')) return 'config rejected by Isthmus validation';
  return m.split(':')[0]!;
}

function endpointsOf(c: Cluster, name: string): string[] | null {
  const cla = c.loadAssignment;
  if (!cla || cla.clusterName !== name) return null;
  const healthy: string[] = [];
  const unhealthy: string[] = [];
  for (const loc of cla.endpoints) {
    for (const lb of loc.lbEndpoints) {
      if (lb.hostIdentifier.case !== 'endpoint') continue;
      const a = lb.hostIdentifier.value.address?.address;
      let s = '';
      if (a?.case === 'socketAddress') {
        const port = a.value.portSpecifier.case === 'portValue' ? a.value.portSpecifier.value : 0;
        s = a.value.address.includes(':') ? `[${a.value.address}]:${port}` : `${a.value.address}:${port}`;
      } else if (a?.case === 'pipe') s = a.value.path;
      (lb.healthStatus === 1 ? healthy : unhealthy).push(s);
    }
  }
  const all = [...healthy, ...unhealthy];
  return all.length ? all : null;
}

function telemetryOf(c: Cluster): string[] | null {
  // google.protobuf.Struct is a plain JSON object in protobuf-es.
  const istio = c.metadata?.filterMetadata?.istio;
  if (!istio) return null;
  const services = istio.services;
  const list = Array.isArray(services) ? services : [];
  return list.map((v) => (v && typeof v === 'object' && !Array.isArray(v) && typeof v.host === 'string' ? v.host : ''));
}

const eqList = (a: string[] | null | undefined, b: string[] | null | undefined) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function checkInboundClusters(c: SimCase, env: BuiltEnvironment, checks: Checks, notes: string): void {
  if (!c.expectInboundClusters) return;
  const inbound = env.config.clusters.filter((x) => x.name.startsWith('inbound'));
  const byName = new Map(inbound.map((x) => [x.name, x]));
  const want = Object.keys(c.expectInboundClusters).sort();
  const got = [...byName.keys()].sort();
  const problems: string[] = [];
  if (!eqList(want, got)) problems.push(`cluster set: want [${want.join(', ')}] got [${got.join(', ')}]`);
  for (const [name, cl] of byName) {
    const w = c.expectInboundClusters[name] ?? null;
    const g = endpointsOf(cl, name);
    if (!eqList(w, g)) problems.push(`${name} endpoints: want ${JSON.stringify(w)} got ${JSON.stringify(g)}`);
  }
  const label = `${c.name}/inbound clusters`;
  if (problems.length) checks.fail(label, problems.join('; ') + notes, problems[0]!.startsWith('cluster set') ? 'inbound cluster set differs' : 'inbound cluster endpoints differ');
  else checks.pass();

  const tProblems: string[] = [];
  for (const [name, cl] of byName) {
    const w = c.expectInboundClusterTelemetry?.[name] ?? null;
    const g = telemetryOf(cl);
    if (!eqList(w, g)) tProblems.push(`${name}: want ${w === null ? 'no istio metadata' : JSON.stringify(w)} got ${g === null ? 'no istio metadata' : JSON.stringify(g)}`);
  }
  const tLabel = `${c.name}/inbound cluster telemetry`;
  if (tProblems.length) checks.fail(tLabel, `filter_metadata.istio.services hosts: ${tProblems.join('; ')}${notes}`, 'inbound cluster istio metadata (services) differs');
  else checks.pass();
}

function runCases(file: string, checks: Checks): void {
  const cases = JSON.parse(readFileSync(file, 'utf8')) as SimCase[];
  for (const c of cases) {
    let env: BuiltEnvironment;
    try {
      env = buildEnvironment(c);
    } catch (e) {
      const err = e as Error;
      const why = err instanceof EnvironmentError ? err.message : `error: ${err.message.split('\n')[0]}`;
      const cat = err instanceof EnvironmentError ? envCategory(err) : 'environment threw';
      c.calls.forEach((call, i) => checks.fail(callLabel(c, call, i), `not run: ${why}`, cat));
      if (c.expectInboundClusters) {
        checks.fail(`${c.name}/inbound clusters`, `not run: ${why}`, cat);
        checks.fail(`${c.name}/inbound cluster telemetry`, `not run: ${why}`, cat);
      }
      continue;
    }
    const notes = suffix(env.notes, c.knownBug);
    checkInboundClusters(c, env, checks, notes);
    c.calls.forEach((call, i) => {
      const label = callLabel(c, call, i);
      try {
        const validations = (call.customListenerValidations ?? []).map((n) => VALIDATIONS[n]).filter((v) => v !== undefined);
        const sim = new Simulation(env.config, {
          fidelity: 'istio',
          validateFilterChain: validations.length ? (fc) => validations.map((v) => v(fc)).find((e) => e) : undefined,
        });
        const got = sim.run(toCall(call));
        const cmp = compare(call.expect, got);
        if (!cmp) return checks.pass();
        const category = env.notes.find((n) => n.startsWith('router proxy')) ? 'router proxy: no gateway generators' : cmp.category;
        checks.fail(label, `${cmp.diffs.join('; ')} | got: ${describeGot(got)}${suffix(env.notes, call.knownBug ?? c.knownBug)}`, category);
      } catch (e) {
        checks.fail(label, `simulation threw: ${(e as Error).message.split('\n')[0]}`, 'simulation threw');
      }
    });
  }
}

/** Istio's `xdstest.ExtractVirtualHosts`: domain → sorted route clusters of the (last) virtual host naming it. */
function virtualHostClusters(env: BuiltEnvironment, routeConfig: string): Map<string, string[] | null> | undefined {
  const rc = env.config.routes.find((r) => r.name === routeConfig);
  if (!rc) return undefined;
  const out = new Map<string, string[] | null>();
  for (const vh of rc.virtualHosts) {
    const dests: string[] = [];
    for (const r of vh.routes) if (r.action.case === 'route' && r.action.value.clusterSpecifier.case === 'cluster' && r.action.value.clusterSpecifier.value) dests.push(r.action.value.clusterSpecifier.value);
    dests.sort();
    for (const d of vh.domains) out.set(d, dests.length ? dests : null);
  }
  return out;
}

function runRouteTables(file: string, checks: Checks): void {
  const cases = JSON.parse(readFileSync(file, 'utf8')) as RouteTableCase[];
  for (const c of cases) {
    let env: BuiltEnvironment;
    try {
      env = buildEnvironment(c, { noTimestampDefaulting: true });
    } catch (e) {
      const err = e as Error;
      checks.fail(c.name, `not run: ${err.message.split('\n')[0]}`, err instanceof EnvironmentError ? envCategory(err) : 'environment threw');
      continue;
    }
    const hosts = virtualHostClusters(env, c.routeConfig);
    if (!hosts) {
      checks.fail(c.name, `route config ${q(c.routeConfig)} not generated (listeners reference: ${env.config.routes.map((r) => r.name).join(', ') || 'none'})${suffix(env.notes)}`, 'route config not generated');
      continue;
    }
    const diffs: string[] = [];
    for (const [domain, want] of Object.entries(c.expectVirtualHostClusters)) {
      const got = hosts.get(domain) ?? null;
      if (!eqList(want, got)) diffs.push(`${domain}: want ${JSON.stringify(want)} got ${hosts.has(domain) ? JSON.stringify(got) : 'no such domain'}`);
    }
    if (diffs.length) checks.fail(c.name, `rds ${c.routeConfig}: ${diffs.join('; ')}${suffix(env.notes)}`, 'route table: virtual host clusters differ');
    else checks.pass();
  }
}

export const simulateSuite: Suite = {
  name: 'simulate',
  description: "Istio's traffic-simulation oracle: listener / chain / route / cluster per call, and sidecar route tables",
  extraFlags: ['routes'],
  async run(opts: SuiteOptions): Promise<SuiteResult> {
    const dir = join(conformanceData(), 'simulation');
    const routesFlag = opts.extra.routes;
    // Neither flag: both shared files. One flag: only that file.
    const casesFile = opts.cases ? resolve(opts.cases) : routesFlag ? undefined : join(dir, 'cases.json');
    const routesFile = routesFlag ? resolve(routesFlag) : opts.cases ? undefined : join(dir, 'route_tables.json');
    const missing = [casesFile, routesFile].filter((f): f is string => !!f && !existsSync(f));
    if (missing.length) return { passed: 0, failed: 0, failures: [], skipped: `simulation data absent: ${missing.join(', ')}` };

    const summary: string[] = [];
    const all = new Checks();
    for (const [file, runner] of [
      [casesFile, runCases],
      [routesFile, runRouteTables],
    ] as const) {
      if (!file) continue;
      const checks = new Checks();
      runner(file, checks);
      const r = checks.tally.result;
      summary.push(`simulate: ${file.split('/').pop()}: ${r.passed} passed, ${r.failed} failed`);
      for (const f of r.failures) all.tally.fail(f.name, f.why);
      for (let i = 0; i < r.passed; i++) all.tally.pass();
      for (const [k, n] of checks.categories) all.categories.set(k, (all.categories.get(k) ?? 0) + n);
    }
    for (const line of summary) console.log(line);
    if (all.categories.size) {
      console.log('simulate: failures by reason:');
      for (const [k, n] of [...all.categories].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(4)}  ${k}`);
      const byTest = new Map<string, number>();
      for (const f of all.tally.result.failures) {
        const test = f.name.split('/')[0]!.split(' ')[0]!;
        byTest.set(test, (byTest.get(test) ?? 0) + 1);
      }
      console.log('simulate: failures by Istio test:');
      for (const [k, n] of [...byTest].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(4)}  ${k}`);
    }
    return all.tally.result;
  },
};
