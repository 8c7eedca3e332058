// Helpers for tests and benchmarks that talk to Citadel as real peers do: CSRs made by the openssl
// CLI, a gRPC client of IstioCertificateService over TLS that trusts only the mesh root, and a JWT
// issuer with an inline JWKS. Not used by the control plane itself.
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { IstioCertificateRequestSchema, type IstioCertificateRequest, type IstioCertificateResponse } from '../gen/istio/v1/auth/ca_pb.js';
import { certificateServiceDefinition } from './server.js';

export function openssl(args: string[], input?: string | Buffer): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') return reject(err); // openssl missing
      resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

export async function tempDir(prefix = 'citadel-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export type CsrKeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072';

/** A key and CSR made by the openssl CLI, as a workload agent would (optionally with a subject and SANs). */
export async function opensslCsr(keyType: CsrKeyType, opts: { subject?: string; sans?: string[] } = {}): Promise<{ keyPem: string; csrPem: string }> {
  const dir = await tempDir('citadel-csr-');
  try {
    const keyFile = join(dir.path, 'key.pem');
    const genArgs = keyType.startsWith('ec')
      ? ['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${keyType === 'ec-p256' ? 'P-256' : 'P-384'}`, '-out', keyFile]
      : ['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${keyType === 'rsa-2048' ? 2048 : 3072}`, '-out', keyFile];
    await must(openssl(genArgs));
    const reqArgs = ['req', '-new', '-key', keyFile, '-subj', opts.subject ?? '/'];
    if (opts.sans?.length) reqArgs.push('-addext', `subjectAltName=${opts.sans.join(',')}`);
    const csr = await must(openssl(reqArgs));
    return { keyPem: await readFile(keyFile, 'utf8'), csrPem: csr.stdout };
  } finally {
    await dir.cleanup();
  }
}

export async function must<T extends { code: number; stderr: string }>(p: Promise<T>): Promise<T> {
  const r = await p;
  if (r.code !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return r;
}

/** `openssl verify` of a chain as CreateCertificate returns it: trusts only `rootPem`. */
export async function opensslVerify(chain: string[], rootPem: string): Promise<{ ok: boolean; output: string }> {
  const dir = await tempDir('citadel-verify-');
  try {
    await writeFile(join(dir.path, 'root.pem'), rootPem);
    await writeFile(join(dir.path, 'leaf.pem'), chain[0]!);
    const args = ['verify', '-CAfile', join(dir.path, 'root.pem')];
    const middle = chain.slice(1, -1);
    if (middle.length) {
      await writeFile(join(dir.path, 'untrusted.pem'), middle.join(''));
      args.push('-untrusted', join(dir.path, 'untrusted.pem'));
    }
    args.push(join(dir.path, 'leaf.pem'));
    const r = await openssl(args);
    return { ok: r.code === 0 && /: OK\s*$/.test(r.stdout), output: r.stdout + r.stderr };
  } finally {
    await dir.cleanup();
  }
}

export async function opensslText(certPem: string): Promise<string> {
  return (await must(openssl(['x509', '-noout', '-text'], certPem))).stdout;
}

/** A JWT issuer with an inline JWKS, minting Kubernetes-style service-account tokens. */
export class TestIssuer {
  private constructor(readonly issuer: string, private readonly key: CryptoKey, readonly jwk: JWK, readonly alg: string) {}

  static async create(issuer = 'https://kubernetes.default.svc.cluster.local', alg: 'RS256' | 'ES256' = 'RS256', kid = 'test-key'): Promise<TestIssuer> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    return new TestIssuer(issuer, privateKey as CryptoKey, jwk, alg);
  }

  /** The JWKS JSON string for a JWT rule's `jwks`. */
  get jwks(): string {
    return JSON.stringify({ keys: [this.jwk] });
  }

  /** A token for system:serviceaccount:<ns>:<sa>; `claims` override any field (exp in seconds since epoch). */
  async token(ns: string, sa: string, claims: Record<string, unknown> = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const body = { iss: this.issuer, sub: `system:serviceaccount:${ns}:${sa}`, aud: ['istio-ca'], iat: now, exp: now + 3600, ...claims };
    return new SignJWT(body).setProtectedHeader({ alg: this.alg, kid: this.jwk.kid as string }).sign(this.key);
  }
}

type CaClient = grpc.Client & {
  createCertificate(
    req: IstioCertificateRequest, md: grpc.Metadata, opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: IstioCertificateResponse) => void,
  ): grpc.ClientUnaryCall;
};

const CaClientCtor = grpc.makeGenericClientConstructor(certificateServiceDefinition, 'IstioCertificateService');

export interface CaClientOptions {
  address: string;
  rootPem: string;
  /** Client certificate (mTLS) for certificate-authenticated renewal. */
  clientCert?: { certChainPem: string; keyPem: string };
  /** Name the server certificate is checked against (istiod's). */
  serverName?: string;
}

/** A CreateCertificate client over TLS that trusts only `rootPem`, as pilot-agent dials istiod. */
export class IstioCaClient {
  readonly client: CaClient;

  constructor(o: CaClientOptions) {
    const creds = grpc.credentials.createSsl(
      Buffer.from(o.rootPem),
      o.clientCert ? Buffer.from(o.clientCert.keyPem) : null,
      o.clientCert ? Buffer.from(o.clientCert.certChainPem) : null,
    );
    const name = o.serverName ?? 'istiod.istio-system.svc';
    this.client = new CaClientCtor(o.address, creds, {
      'grpc.ssl_target_name_override': name,
      'grpc.default_authority': name,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
    }) as unknown as CaClient;
  }

  createCertificate(
    csr: string,
    o: { token?: string; ttlSeconds?: number; metadata?: Record<string, string>; headers?: Record<string, string>; deadlineMs?: number } = {},
  ): Promise<IstioCertificateResponse> {
    const md = new grpc.Metadata();
    if (o.token !== undefined) md.set('authorization', `Bearer ${o.token}`);
    md.set('ClusterID', 'Kubernetes');
    for (const [k, v] of Object.entries(o.headers ?? {})) md.set(k, v);
    const req = create(IstioCertificateRequestSchema, {
      csr,
      validityDuration: BigInt(o.ttlSeconds ?? 0),
      metadata: { CertSigner: '', ...(o.metadata ?? {}) },
    });
    return new Promise((resolve, reject) => {
      this.client.createCertificate(req, md, { deadline: Date.now() + (o.deadlineMs ?? 20_000) }, (err, res) => (err ? reject(err) : resolve(res!)));
    });
  }

  close(): void {
    this.client.close();
  }
}
