// Echo backends whose behaviour each call chooses through its metadata, for the traffic-policy
// end-to-end tests (retries, timeouts, circuit breaking). Like the plain echo backends they answer
// with their own name, so a client sees which one served a call.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CALL_PATH, OTHER_PATH, call, eventually, xdsBootstrap, xdsClient } from './grpc-echo.js';
import { kubeService } from './meshfiles.js';

/** `x-request-id`: names a logical request; its attempts are counted across every backend sharing a `BackendState`. */
export const REQUEST_ID = 'x-request-id';
/** `x-fail-attempts: N`: the first N attempts of the request fail with UNAVAILABLE. */
export const FAIL_ATTEMPTS = 'x-fail-attempts';
/** `x-sleep-ms: N`: the backend answers after N ms. */
export const SLEEP_MS = 'x-sleep-ms';
/** `x-hold: 1`: the backend keeps the call open until `BackendState.release()`. */
export const HOLD = 'x-hold';

/** State shared by a group of backends: attempts per request id and the calls being held open. */
export class BackendState {
  readonly attempts = new Map<string, number>();
  private held: (() => void)[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  get heldCount(): number {
    return this.held.length;
  }

  hold(answer: () => void): void {
    this.held.push(answer);
    for (const w of this.waiters.filter((w) => this.held.length >= w.n)) w.resolve();
    this.waiters = this.waiters.filter((w) => this.held.length < w.n);
  }

  /** Resolves once `n` calls are held open. */
  heldAtLeast(n: number): Promise<void> {
    if (this.held.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  /** Answers every held call. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const answer of held) answer();
  }
}

export interface PolicyBackend {
  name: string;
  port: number;
  server: grpc.Server;
  /** Attempts that reached this backend. */
  calls: number;
}

function unary(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  const id = (b: Buffer) => b;
  return { path, requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id };
}

export async function startPolicyBackend(name: string, state: BackendState): Promise<PolicyBackend> {
  const server = new grpc.Server();
  const backend: PolicyBackend = { name, port: 0, server, calls: 0 };
  const handler = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
    backend.calls++;
    const header = (key: string) => {
      const v = call.metadata.get(key)[0];
      return v === undefined ? undefined : String(v);
    };
    const answer = () => cb(null, Buffer.from(name));
    const id = header(REQUEST_ID);
    if (id !== undefined) {
      const attempt = (state.attempts.get(id) ?? 0) + 1;
      state.attempts.set(id, attempt);
      if (attempt <= Number(header(FAIL_ATTEMPTS) ?? 0)) {
        cb({ code: grpc.status.UNAVAILABLE, details: `${name}: attempt ${attempt} of ${id} fails` });
        return;
      }
    }
    if (header(HOLD) !== undefined) return state.hold(answer);
    const sleep = Number(header(SLEEP_MS) ?? 0);
    if (sleep > 0) setTimeout(answer, sleep);
    else answer();
  };
  server.addService({ Call: unary(CALL_PATH), Other: unary(OTHER_PATH) }, { Call: handler, Other: handler });
  backend.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return backend;
}

export function stopPolicyBackend(b: PolicyBackend): void {
  // Held calls would keep a graceful shutdown waiting.
  b.server.forceShutdown();
}

/** What a call came to: the name of the backend that answered, or the gRPC status name. */
export async function outcome(p: Promise<string>): Promise<string> {
  return p.then(
    (name) => name,
    (e: grpc.ServiceError) => grpc.status[e.code] ?? String(e.code),
  );
}

/** Makes `n` concurrent calls and counts their outcomes. */
export async function outcomes(client: grpc.Client, n: number, metadata: (i: number) => Record<string, string>, deadlineMs = 10000): Promise<Record<string, number>> {
  const all = await Promise.all(Array.from({ length: n }, (_, i) => outcome(call(client, metadata(i), deadlineMs))));
  const counts: Record<string, number> = {};
  for (const o of all) counts[o] = (counts[o] ?? 0) + 1;
  return counts;
}

export interface MeshPolicies {
  /** The DestinationRule's trafficPolicy, as flow YAML (`{connectionPool: {...}}`). */
  trafficPolicy?: string;
  /** Per subset (backend name): the subset's trafficPolicy, as flow YAML. */
  subsets?: Record<string, string>;
}

/**
 * A service `name` on every backend, one subset per backend, and a VirtualService with `routes`
 * after a first route that answers calls carrying `x-probe: <name>` with PERMISSION_DENIED (no
 * backend can): once a client sees that, it holds this VirtualService, and the DestinationRule
 * written with it in the same file (one reload, one push).
 */
export function serviceMesh(name: string, port: number, backends: PolicyBackend[], routes: string, policies: MeshPolicies = {}): string {
  const subset = (b: PolicyBackend) => {
    const policy = policies.subsets?.[b.name];
    return `  - {name: ${b.name}, labels: {version: ${b.name}}${policy ? `, trafficPolicy: ${policy}` : ''}}`;
  };
  return `${kubeService(name, port, backends.map((b) => ({ version: b.name, port: b.port })))}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: default}
spec:
  host: ${name}
${policies.trafficPolicy ? `  trafficPolicy: ${policies.trafficPolicy}\n` : ''}  subsets:
${backends.map(subset).join('\n')}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${name}]
  http:
  - match: [{headers: {x-probe: {exact: "${name}"}}}]
    fault: {abort: {grpcStatus: PERMISSION_DENIED, percentage: {value: 100}}}
    route: [{destination: {host: ${name}}}]
${routes}`;
}

/** Writes the mesh file, connects a client to `name` and waits until it holds that config. */
export async function connect(dir: string, xds: string, name: string, port: number, yaml: string, clients: grpc.Client[]): Promise<grpc.Client> {
  writeFileSync(join(dir, `${name}.yaml`), yaml);
  const client = xdsClient(`xds:///${name}.default.svc.cluster.local:${port}`, xdsBootstrap(xds));
  clients.push(client);
  await eventually(async () => {
    assert.equal(await outcome(call(client, { 'x-probe': name })), 'PERMISSION_DENIED', `client does not hold the config of ${name} yet`);
  });
  return client;
}
