// CSR signings per second by Citadel, next to `openssl speed` for the CA's key type.
//
//   node --import tsx bench/csr-sign.ts [--seconds 3] [--concurrency 8]
//
// A Citadel signing is more than one signature: parse the CSR, verify its self-signature, build the
// certificate (ASN.1), sign it with the CA key, encode PEM. `openssl speed` measures the bare private-key
// signature of the same key type, so the ratio says how close the whole path gets to that floor.
// Rows: in-process (IstioCA.sign, as CreateCertificate calls it) and end-to-end (a gRPC client over TLS
// with a JWT, through authentication and the response chain).
import * as grpc from '@grpc/grpc-js';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { IstioCA, verifiedBundle } from '../citadel/ca.js';
import { createCitadel } from '../citadel/index.js';
import { createSelfSignedRoot, generateSigningKey, type KeySpec } from '../citadel/pki.js';
import { IstioCaClient, openssl, opensslCsr, tempDir, TestIssuer, type CsrKeyType } from '../citadel/testing.js';

interface Row {
  path: string;
  caKey: string;
  csrKey: string;
  concurrency: number;
  perSecond: number;
  cpuMsPerSign: number;
}

async function measure(seconds: number, concurrency: number, op: () => Promise<unknown>): Promise<{ perSecond: number; cpuMsPerSign: number }> {
  // Warm up (JIT, key caches) for a second or 200 operations, whichever is longer.
  const warmEnd = Date.now() + 1000;
  for (let i = 0; i < 200 || Date.now() < warmEnd; i++) await op();
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      await op();
      done++;
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: done / elapsed, cpuMsPerSign: (cpu.user + cpu.system) / 1000 / done };
}

/** `openssl speed` sign/s for an algorithm (`rsa2048`, `ecdsap256`), single process or `-multi n`. */
async function opensslSpeed(alg: string, seconds: number, multi = 1): Promise<number> {
  const args = ['speed', '-mr', '-seconds', String(seconds)];
  if (multi > 1) args.push('-multi', String(multi));
  args.push(alg);
  const { stdout, stderr } = await openssl(args);
  // Machine-readable lines: +F2:<n>:<bits>:<sign/s>:<verify/s> (RSA), +F4:<n>:<bits>:<sign/s>:<verify/s> (ECDSA).
  const m = /^\+F[24]:\d+:\d+:([\d.]+):([\d.]+)/m.exec(stdout);
  if (!m) throw new Error(`cannot read openssl speed output for ${alg}: ${stdout}${stderr}`);
  return Number(m[1]);
}

const OPENSSL_ALG: Record<string, string> = { 'rsa-2048': 'rsa2048', 'ec-p256': 'ecdsap256' };

export async function runCsrSignBench(opts: { seconds?: number; concurrency?: number } = {}): Promise<Row[]> {
  const seconds = opts.seconds ?? 3;
  const concurrency = opts.concurrency ?? 8;
  const rows: Row[] = [];
  const ids = ['spiffe://cluster.local/ns/default/sa/bookinfo-productpage'];
  const csrs = new Map<CsrKeyType, string>();
  for (const k of ['ec-p256', 'rsa-2048'] as const) csrs.set(k, (await opensslCsr(k)).csrPem);

  // In-process: the CA as CreateCertificate uses it, for an RSA CA (Istio's self-signed default) and an EC CA.
  const caKeys: Array<[string, KeySpec]> = [['rsa-2048', { type: 'rsa', bits: 2048 }], ['ec-p256', { type: 'ec', curve: 'P-256' }]];
  for (const [caName, spec] of caKeys) {
    const key = await generateSigningKey(spec);
    const root = await createSelfSignedRoot({ org: 'cluster.local', ttlMs: 3650 * 24 * 3600_000, key });
    const ca = new IstioCA(await verifiedBundle(root.pem, key.pem, '', root.pem), {
      defaultTtlMs: 24 * 3600_000, maxTtlMs: 90 * 24 * 3600_000, ttlOverMax: 'reject', maxCsrBytes: 64 * 1024,
    });
    for (const [csrName, csr] of csrs) {
      for (const c of [1, concurrency]) {
        const r = await measure(seconds, c, () => ca.signWithCertChain(csr, { subjectIds: ids, ttlMs: 0 }));
        rows.push({ path: 'in-process sign', caKey: caName, csrKey: csrName, concurrency: c, ...r });
      }
    }
  }

  // End to end: CreateCertificate over TLS with a bearer JWT, default (RSA) self-signed CA.
  const dir = await tempDir('citadel-bench-');
  const issuer = await TestIssuer.create();
  const citadel = await createCitadel({
    env: {},
    config: { stateDir: dir.path, rootCaDir: `${dir.path}/none`, jwtRules: [{ issuer: issuer.issuer, audiences: ['istio-ca'], jwks: issuer.jwks }] },
  });
  const server = new grpc.Server();
  citadel.addToServer(server);
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', citadel.serverCredentials(), (e, p) => (e ? rej(e) : res(p))));
  const client = new IstioCaClient({ address: `127.0.0.1:${port}`, rootPem: citadel.rootCertPem() });
  const token = await issuer.token('default', 'bookinfo-productpage');
  try {
    for (const [csrName, csr] of csrs) {
      const r = await measure(seconds, concurrency, () => client.createCertificate(csr, { token }));
      rows.push({ path: 'gRPC+TLS+JWT end to end', caKey: 'rsa-2048', csrKey: csrName, concurrency, ...r });
    }
  } finally {
    client.close();
    server.forceShutdown();
    await citadel.close();
    await dir.cleanup();
  }

  // openssl speed for the CA key types: one process, and one per core for the concurrent rows.
  const cores = availableParallelism();
  const speed = new Map<string, number>();
  for (const caName of ['rsa-2048', 'ec-p256']) {
    speed.set(`${caName}/1`, await opensslSpeed(OPENSSL_ALG[caName]!, seconds));
    if (cores > 1) speed.set(`${caName}/${cores}`, await opensslSpeed(OPENSSL_ALG[caName]!, seconds, cores));
  }

  const header = ['path', 'CA key', 'CSR key', 'conc', 'signings/s', 'CPU ms/sign', `openssl speed sign/s (CA key)`, 'ratio'];
  const lines = rows.map((r) => {
    const procs = r.concurrency > 1 && cores > 1 ? cores : 1;
    const ref = speed.get(`${r.caKey}/${procs}`)!;
    return [r.path, r.caKey, r.csrKey, String(r.concurrency), r.perSecond.toFixed(0), r.cpuMsPerSign.toFixed(2),
      `${ref.toFixed(0)} (${OPENSSL_ALG[r.caKey]}${procs > 1 ? `, -multi ${procs}` : ''})`, (r.perSecond / ref).toFixed(3)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i >= 3 && i !== 6 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  console.log(`CSR signing: Citadel vs openssl speed (${seconds}s per row, ${cores} cores, node ${process.version})`);
  console.log(fmt(header));
  for (const l of lines) console.log(fmt(l));
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  await runCsrSignBench({ seconds: arg('seconds'), concurrency: arg('concurrency') });
  process.exit(0);
}
