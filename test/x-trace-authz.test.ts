// `x trace` runs the RBAC filters isthmusd generates: a request a policy denies stops there with
// the policy named; the caller's identity, address and JWT claims decide ALLOW rules; TCP
// chains are checked too. Offline CLI runs check the flags and the exit code.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { traceRequest, type TraceRequest } from '../pilot/simulation/trace.js';
import { ROOT } from './support/isthmusd.js';
import { pushFromYaml } from './support/push.js';
import { REVIEWS_ENTRY, reviewsSidecar } from './support/security-fixtures.js';

const POLICIES = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  action: DENY
  rules: [{to: [{operation: {ports: ["9080"], paths: ["/admin/*"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-callers, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  rules:
  - from: [{source: {principals: ["cluster.local/ns/default/sa/frontend"]}}]
  - from: [{source: {requestPrincipals: ["https://issuer.example.com/alice"]}}]
  - from: [{source: {ipBlocks: ["192.0.2.0/24"]}}]
    to: [{operation: {ports: ["3306"]}}]
  - from: [{source: {remoteIpBlocks: ["203.0.113.0/24"]}}]
    to: [{operation: {paths: ["/remote"]}}]
  - to: [{operation: {paths: ["/scoped"]}}]
    when: [{key: "request.auth.claims[scope]", values: ["read"]}]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  jwtRules: [{issuer: "https://issuer.example.com", jwks: '{"keys":[]}'}]
`;

const push = pushFromYaml(`${REVIEWS_ENTRY}\n---\n${POLICIES}`);
const proxy = reviewsSidecar();
const trace = (req: Partial<TraceRequest>) => traceRequest(push, proxy, { url: 'http://reviews.default.svc.cluster.local:9080/', inbound: true, ...req });

describe('x trace: authorization', () => {
  it('stops a request a DENY policy matches, naming the policy and rule', () => {
    const t = trace({ url: 'http://reviews.default.svc.cluster.local:9080/admin/users', tls: 'mtls', principal: 'cluster.local/ns/default/sa/frontend' });
    assert.equal(t.result.error?.name, 'ErrAccessDenied');
    const deny = t.steps.find((s) => s.step === 'authorization' && s.detail.startsWith('DENY'))!;
    assert.match(deny.detail, /policy ns\[default\]-policy\[deny-admin\]-rule\[0\] matches: DENIED/);
    assert.deepEqual(deny.resources, [{ kind: 'AuthorizationPolicy', namespace: 'default', name: 'deny-admin', role: 'rule 0' }]);
    assert.equal(t.result.route, '', 'a denied request is never routed');
  });

  it('lets an ALLOW policy decide by the caller: mTLS identity, JWT claims, source address', () => {
    const allowed = trace({ tls: 'mtls', principal: 'cluster.local/ns/default/sa/frontend' });
    assert.equal(allowed.result.error, null);
    assert.equal(allowed.result.cluster, 'inbound|9080||');
    assert.ok(allowed.steps.some((s) => s.step === 'authorization' && /ALLOW rules: policy ns\[default\]-policy\[allow-callers\]-rule\[0\] matches: allowed/.test(s.detail)));

    // The same identity claimed over plaintext is no identity at all.
    assert.equal(trace({ principal: 'cluster.local/ns/default/sa/frontend' }).result.error?.name, 'ErrAccessDenied');
    assert.equal(trace({ tls: 'mtls', principal: 'cluster.local/ns/default/sa/other' }).result.error?.name, 'ErrAccessDenied');

    assert.equal(trace({ jwtClaims: { iss: 'https://issuer.example.com', sub: 'alice' } }).result.error, null);
    assert.equal(trace({ jwtClaims: { iss: 'https://issuer.example.com', sub: 'bob' } }).result.error?.name, 'ErrAccessDenied');
    // jwt_authn refuses a token of an issuer it does not know before any RBAC filter runs.
    const foreign = trace({ jwtClaims: { iss: 'https://evil.example.com', sub: 'alice' } });
    assert.equal(foreign.result.error?.name, 'ErrAccessDenied');
    assert.match(foreign.result.error!.detail!, /REJECTED \(401\)/);
    // Scopes are split on spaces, as the generated jwt_authn provider asks.
    assert.equal(trace({ url: 'http://reviews.default.svc.cluster.local:9080/scoped', jwtClaims: { iss: 'https://issuer.example.com', sub: 'x', scope: 'write read' } }).result.error, null);
    // Behind a proxy, the remote IP is the last x-forwarded-for hop.
    const viaXff = trace({ url: 'http://reviews.default.svc.cluster.local:9080/remote', headers: [['x-forwarded-for', '198.51.100.1, 203.0.113.9']], sourceAddress: '10.0.0.9' });
    assert.equal(viaXff.result.error, null);
  });

  it('matches on the path as the connection manager normalizes it', () => {
    const dotted = trace({ url: 'http://reviews.default.svc.cluster.local:9080/public/../admin/users' });
    assert.equal(dotted.result.error?.name, 'ErrAccessDenied');
    assert.ok(dotted.notes.some((n) => n.includes('"/public/../admin/users" to "/admin/users"')), dotted.notes.join('\n'));
    const yaml = `${REVIEWS_ENTRY}\n---\n${POLICIES}`;
    /** Which filter stopped the request: the DENY policy (on /admin/*) or the ALLOW one after it. */
    const traceWith = (mesh: Parameters<typeof pushFromYaml>[1], url: string) => /^(DENY|ALLOW)/.exec(traceRequest(pushFromYaml(yaml, mesh), proxy, { url, inbound: true }).result.error?.detail ?? '')?.[1];
    assert.equal(traceWith({}, 'http://reviews.default.svc.cluster.local:9080/public/../admin/users'), 'DENY');
    // Without normalization the DENY on /admin/* is bypassed, as it would be in Envoy.
    assert.equal(traceWith({ pathNormalization: 'NONE' }, 'http://reviews.default.svc.cluster.local:9080/public/../admin/users'), 'ALLOW');
    assert.equal(traceWith({}, 'http://reviews.default.svc.cluster.local:9080//admin/users'), 'ALLOW', 'BASE keeps double slashes');
    assert.equal(traceWith({ pathNormalization: 'MERGE_SLASHES' }, 'http://reviews.default.svc.cluster.local:9080//admin/users'), 'DENY');
    assert.equal(traceWith({ pathNormalization: 'DECODE_AND_MERGE_SLASHES' }, 'http://reviews.default.svc.cluster.local:9080/%2Fadmin/users'), 'DENY');
    assert.equal(traceWith({}, 'http://reviews.default.svc.cluster.local:9080/%61dmin/users'), 'DENY', 'unreserved characters are decoded');
  });

  it('sees no JWT where no RequestAuthentication verifies one', () => {
    const noAuthn = pushFromYaml(`${REVIEWS_ENTRY}\n---\n${POLICIES.split('---').filter((d) => !d.includes('RequestAuthentication')).join('---')}`);
    const t = traceRequest(noAuthn, proxy, { url: 'http://reviews.default.svc.cluster.local:9080/', inbound: true, jwtClaims: { iss: 'https://issuer.example.com', sub: 'alice' } });
    assert.equal(t.result.error?.name, 'ErrAccessDenied');
    assert.ok(t.notes.some((n) => n.includes('no RequestAuthentication applies here')), t.notes.join('\n'));
  });

  it('names only the policies that decided, and asks for --principal on an mTLS call without one', () => {
    const allowed = trace({ tls: 'mtls', principal: 'cluster.local/ns/default/sa/frontend' });
    const refs = allowed.steps.filter((s) => s.step === 'authorization').flatMap((s) => s.resources.map((r) => `${r.name} ${r.role}`));
    assert.deepEqual(refs, ['allow-callers rule 0'], 'the DENY policy that did not match is not named');
    const unknown = trace({ tls: 'mtls' });
    assert.ok(unknown.notes.some((n) => n.includes('give --principal')), unknown.notes.join('\n'));
  });

  it('checks TCP chains with the network RBAC filter', () => {
    const tcp = (sourceAddress: string) => trace({ url: 'tcp://reviews.default.svc.cluster.local:3306', sourceAddress });
    const ok = tcp('192.0.2.7');
    assert.equal(ok.result.error, null);
    assert.equal(ok.result.cluster, 'inbound|3306||');
    const denied = tcp('198.51.100.7');
    assert.equal(denied.result.error?.name, 'ErrAccessDenied');
    assert.ok(denied.steps.some((s) => s.step === 'authorization' && s.name === 'envoy.filters.network.rbac'));
    // As in Istio, a DENY rule on HTTP-only fields alone keeps only what TCP can check: it denies every connection.
    const pathsOnly = pushFromYaml(`${REVIEWS_ENTRY}\n---\n${POLICIES.replace('ports: ["9080"], ', '')}`);
    const all = traceRequest(pathsOnly, proxy, { url: 'tcp://reviews.default.svc.cluster.local:3306', inbound: true, sourceAddress: '192.0.2.7' });
    assert.equal(all.result.error?.name, 'ErrAccessDenied');
    assert.match(all.result.error!.detail!, /deny-admin/);
  });

  it('adds no authorization steps where no policy applies', () => {
    const open = traceRequest(pushFromYaml(REVIEWS_ENTRY), proxy, { url: 'http://reviews.default.svc.cluster.local:9080/admin/users', inbound: true });
    assert.equal(open.result.error, null);
    assert.ok(!open.steps.some((s) => s.step === 'authorization'));
  });
});

describe('isthmusctl x trace with authorization flags (offline)', function () {
  this.timeout(30000);
  let dir: string;
  const run = promisify(execFile);
  const ctl = (...args: string[]) =>
    run(process.execPath, [`${ROOT}/bin/isthmusctl`, 'x', 'trace', '-d', dir, ...args], { cwd: ROOT }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-trace-authz-'));
    cpSync(join(ROOT, 'examples'), dir, { recursive: true });
    writeFileSync(
      join(dir, 'authz.yaml'),
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: only-sleep, namespace: default}
spec:
  selector: {matchLabels: {app: echo}}
  rules: [{from: [{source: {principals: ["cluster.local/ns/default/sa/sleep"]}}]}]
`,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 1 with the denying filter in the table, and 0 for the allowed caller', async () => {
    const denied = await ctl('echo-v1-5d8f7.default', 'grpc://echo:7070/x', '--inbound', '--mtls', '--principal', 'cluster.local/ns/default/sa/intruder');
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(denied.stdout, /^Caller: +principal cluster\.local\/ns\/default\/sa\/intruder$/m);
    assert.match(denied.stdout, /^ *authorization +envoy\.filters\.http\.rbac +ALLOW rules: no policy matches \(ns\[default\]-policy\[only-sleep\]-rule\[0\]\): DENIED \(403\) +AuthorizationPolicy default\/only-sleep \(rule 0\)$/m);
    assert.match(denied.stdout, /^Result: +FAILED ErrAccessDenied: RBAC: access denied/m);
    const allowed = await ctl('echo-v1-5d8f7.default', 'grpc://echo:7070/x', '--inbound', '--mtls', '--principal', 'cluster.local/ns/default/sa/sleep', '-o', 'json');
    assert.equal(allowed.code, 0, allowed.stderr);
    const report = JSON.parse(allowed.stdout) as { result: { error: unknown }; steps: { step: string; resources: { name: string }[] }[] };
    assert.equal(report.result.error, null);
    assert.deepEqual(report.steps.filter((s) => s.step === 'authorization').flatMap((s) => s.resources.map((r) => r.name)), ['only-sleep']);
    const bad = await ctl('echo-v1-5d8f7.default', 'grpc://echo:7070/x', '--inbound', '--jwt-claims', '[1]');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--jwt-claims: expected a JSON object/);
  });
});
