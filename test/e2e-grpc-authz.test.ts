// AuthorizationPolicies enforced by a real xDS-enabled gRPC server (grpc-js-xds XdsServer with
// its RBAC filter on): isthmusd turns the policies into the server's RBAC filters, and plain gRPC
// calls are answered or refused with PERMISSION_DENIED accordingly.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { startIsthmusd, type RunningIsthmusd } from './support/isthmusd.js';
import { CALL_PATH, OTHER_PATH, call, echoServerEntry, eventually, freePort } from './support/grpc-echo.js';

const ROOT = new URL('..', import.meta.url).pathname;

/** The status of one call on a fresh connection (a server applies a new listener to new connections). */
async function outcome(port: number, path: string, metadata: Record<string, string> = {}): Promise<'ok' | 'denied' | string> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    await call(client, metadata, 3000, path);
    return 'ok';
  } catch (e) {
    const code = (e as grpc.ServiceError).code;
    return code === grpc.status.PERMISSION_DENIED ? 'denied' : `error ${code}: ${(e as Error).message}`;
  } finally {
    client.close();
  }
}

async function expectOutcome(port: number, path: string, want: string, metadata: Record<string, string> = {}): Promise<void> {
  await eventually(async () => assert.equal(await outcome(port, path, metadata), want), 20000, 200);
}

describe('AuthorizationPolicy on an xDS-enabled gRPC server (grpc-js-xds XdsServer, RBAC on)', function () {
  this.timeout(90000);
  let dir: string;
  let isthmusd: RunningIsthmusd;
  let port: number;
  let server: ChildProcess | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-grpc-authz-'));
    port = await freePort();
    writeFileSync(join(dir, 'svc.yaml'), echoServerEntry(port));
    isthmusd = await startIsthmusd(dir);
    const args = { xds: isthmusd.grpc, port, nodeId: 'sidecar~127.0.0.1~echo-server-0.default~default.svc.cluster.local', namespace: 'default', labels: { app: 'echo-server' } };
    server = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/xds-echo-server.ts'), JSON.stringify(args)], {
      env: { ...process.env, GRPC_XDS_EXPERIMENTAL_RBAC: 'true', ...(process.env.AUTHZ_DEBUG ? { GRPC_TRACE: 'xds_server,rbac_filter,http_filter', GRPC_VERBOSITY: 'DEBUG' } : {}) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: server!.stdout! }).on('line', (l) => l === 'serving' && resolve());
      server!.on('exit', (code) => reject(new Error(`xDS server exited (${code})`)));
    });
  });

  after(async () => {
    server?.kill('SIGTERM');
    await isthmusd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves every call while no policy applies', async () => {
    await expectOutcome(port, CALL_PATH, 'ok');
    await expectOutcome(port, OTHER_PATH, 'ok');
  });

  it('refuses what a DENY policy for its workload matches, and ignores policies for other workloads', async () => {
    writeFileSync(
      join(dir, 'authz.yaml'),
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-other, namespace: default}
spec:
  selector: {matchLabels: {app: echo-server}}
  action: DENY
  rules: [{to: [{operation: {paths: ["${OTHER_PATH}"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all-elsewhere, namespace: default}
spec:
  selector: {matchLabels: {app: somebody-else}}
  action: DENY
  rules: [{}]
`,
    );
    await expectOutcome(port, OTHER_PATH, 'denied');
    // Same push: the deny-everything policy for another workload did not reach this one.
    assert.equal(await outcome(port, CALL_PATH), 'ok');
  });

  it('lets only what an ALLOW policy matches through, and DENY still wins over ALLOW', async () => {
    writeFileSync(
      join(dir, 'allow.yaml'),
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-alice, namespace: default}
spec:
  selector: {matchLabels: {app: echo-server}}
  rules: [{when: [{key: "request.headers[x-user]", values: ["alice"]}]}]
`,
    );
    await expectOutcome(port, CALL_PATH, 'denied');
    assert.equal(await outcome(port, CALL_PATH, { 'x-user': 'alice' }), 'ok');
    assert.equal(await outcome(port, CALL_PATH, { 'x-user': 'bob' }), 'denied');
    assert.equal(await outcome(port, OTHER_PATH, { 'x-user': 'alice' }), 'denied');
  });

  it('an ALLOW policy without rules allows nothing (the allow-nothing policy)', async () => {
    writeFileSync(
      join(dir, 'allow.yaml'),
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: default}
spec: {}
`,
    );
    await expectOutcome(port, CALL_PATH, 'denied', { 'x-user': 'alice' });
    rmSync(join(dir, 'allow.yaml'));
    rmSync(join(dir, 'authz.yaml'));
    await expectOutcome(port, OTHER_PATH, 'ok');
  });
});
