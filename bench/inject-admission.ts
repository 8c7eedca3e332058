// Admission latency of the injection webhook: a typical Deployment pod (Istio's hello.yaml, with
// Istio's real injection template and ConfigMaps from ISTIO_TESTDATA) sent as AdmissionReview v1
// over HTTPS at a fixed rate to the webhook running in its own process, as in isthmusd. Prints
// p50/p90/p99/max of the round trip and the in-process injection time per pod.
//
//   node --import tsx bench/inject-admission.ts [--rate 200] [--seconds 10] [--json FILE]

import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { configMapsFromYaml, InjectionWebhook, normalizePod, settingsFromConfigMaps } from '../webhook/inject/index.js';
import { parseGoYaml } from '../webhook/inject/config.js';
import { startWebhookServer } from '../webhook/server.js';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '10' }, json: { type: 'string' },
    serve: { type: 'string' },
  },
});

const testdata = resolve(process.env.ISTIO_TESTDATA ?? fileURLToPath(new URL('../../shared/istio', import.meta.url)));
const rendered = join(testdata, 'operator/cmd/mesh/testdata/manifest-generate/output/pilot_default.golden.yaml');
const template = join(testdata, 'manifests/charts/istio-control/istio-discovery/files/injection-template.yaml');
const helloFile = join(testdata, 'pkg/kube/inject/testdata/inject/hello.yaml');
if (![rendered, template, helloFile].every(existsSync)) {
  console.error(`Istio test data not found under ${testdata} (set ISTIO_TESTDATA)`);
  process.exit(2);
}

/** Istio's injector ConfigMaps, with the chart's current sidecar template. */
function webhook(): InjectionWebhook {
  const { injector, mesh } = configMapsFromYaml(readFileSync(rendered, 'utf8'));
  const config = parseGoYaml(injector!.data!.config) as { templates: Record<string, string> };
  config.templates.sidecar = readFileSync(template, 'utf8').trim() + '\n';
  injector!.data!.config = JSON.stringify(config);
  return new InjectionWebhook(settingsFromConfigMaps(injector!, mesh, { env: {} }), { nodes: () => [{ name: 'n1', kubeletVersion: 'v1.34.0' }] });
}

/** The pod a ReplicaSet of hello.yaml's Deployment creates. */
function pod(): unknown {
  const d = parseGoYaml(readFileSync(helloFile, 'utf8')) as { spec: { template: { metadata: Record<string, unknown>; spec: unknown } } };
  const t = d.spec.template;
  return normalizePod({
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      ...t.metadata, generateName: 'hello-7d9f8c6b5-', namespace: 'default',
      labels: { ...(t.metadata.labels as object), 'pod-template-hash': '7d9f8c6b5' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'hello-7d9f8c6b5', uid: 'u', controller: true }],
    },
    spec: t.spec,
  });
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

if (args.serve) {
  // The webhook process.
  const server = await startWebhookServer({
    httpsAddr: '127.0.0.1:0', tlsCertFile: join(args.serve, 'cert.pem'), tlsKeyFile: join(args.serve, 'key.pem'), injector: webhook(),
    log: { info: () => undefined, warn: () => undefined },
  });
  process.send!({ port: server.port });
  process.on('disconnect', () => { void server.close().then(() => process.exit(0)); });
} else {
  const rate = Number(args.rate), seconds = Number(args.seconds);
  const object = pod();

  // In-process injection time (no HTTP).
  const wh = webhook();
  for (let i = 0; i < 100; i++) wh.inject({ object });
  const inproc: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t = process.hrtime.bigint();
    wh.inject({ object });
    inproc.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  inproc.sort((a, b) => a - b);

  const dir = mkdtempSync(join(tmpdir(), 'isthmus-bench-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=istiod.istio-system.svc', '-addext', 'subjectAltName=DNS:istiod.istio-system.svc',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const child = fork(fileURLToPath(import.meta.url), ['--serve', dir], { execArgv: ['--import', 'tsx'] });
  const port = await new Promise<number>((res, rej) => {
    child.once('message', m => res((m as { port: number }).port));
    child.once('exit', code => rej(new Error(`webhook process exited (${code})`)));
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 64, ca: readFileSync(join(dir, 'cert.pem'), 'utf8'), servername: 'istiod.istio-system.svc' });
  const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', namespace: 'default', operation: 'CREATE', object } });
  const once = (): Promise<number> => {
    const t = process.hrtime.bigint();
    return new Promise((res, rej) => {
      const req = request({ host: '127.0.0.1', port, path: '/inject', method: 'POST', agent, headers: { 'Content-Type': 'application/json' } }, r => {
        let n = 0;
        r.on('data', (c: Buffer) => { n += c.length; });
        r.on('end', () => (r.statusCode === 200 && n > 0 ? res(Number(process.hrtime.bigint() - t) / 1e6) : rej(new Error(`status ${r.statusCode}`))));
      });
      req.on('error', rej);
      req.end(body);
    });
  };

  for (let i = 0; i < 200; i++) await once(); // warm up connections and the JIT
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise(r => setTimeout(r, wait));
    pending.push(once().then(ms => { latencies.push(ms); }));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  child.disconnect();
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });

  const result = {
    pod: 'hello.yaml Deployment pod; Istio injection-template.yaml; native sidecar',
    requests: latencies.length,
    targetRate: rate,
    achievedRate: Math.round((latencies.length / elapsed) * 10) / 10,
    admissionMs: { p50: pct(latencies, 50), p90: pct(latencies, 90), p99: pct(latencies, 99), max: latencies[latencies.length - 1] },
    inProcessInjectMs: { p50: pct(inproc, 50), p99: pct(inproc, 99) },
  };
  const f = (n: number): string => n.toFixed(2);
  console.log(`admission over HTTPS at ${result.targetRate} req/s (${result.requests} requests, achieved ${result.achievedRate}/s): ` +
    `p50 ${f(result.admissionMs.p50)} ms, p90 ${f(result.admissionMs.p90)} ms, p99 ${f(result.admissionMs.p99)} ms, max ${f(result.admissionMs.max)} ms`);
  console.log(`in-process injection: p50 ${f(result.inProcessInjectMs.p50)} ms, p99 ${f(result.inProcessInjectMs.p99)} ms`);
  if (args.json) writeFileSync(args.json, JSON.stringify(result, null, 2) + '\n');
}
