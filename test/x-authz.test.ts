// `isthmusctl x authz check`: the AuthorizationPolicies in a connected proxy's listeners, as
// istioctl prints them (ACTION, policy.namespace, rule count), read from a running isthmusd or
// from an Envoy config dump file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toJson } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { stringify } from 'yaml';
import { authzRows } from '../cli/x-authz.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { envoyRegistry } from '../pilot/networking/registry.js';
import { sidecarGenerators } from '../pilot/networking/sidecar/index.js';
import { ROOT } from './support/isthmusd.js';
import { startLiveReviews, type LiveReviews } from './support/live-reviews.js';
import { pushFromYaml } from './support/push.js';
import { generate } from './support/resources.js';
import { REVIEWS_ENTRY, reviewsSidecar } from './support/security-fixtures.js';

const POLICIES = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: audit, namespace: istio-system}
spec:
  action: AUDIT
  rules: [{to: [{operation: {methods: [DELETE]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-callers, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  rules:
  - from: [{source: {namespaces: [default]}}]
  - from: [{source: {namespaces: [other]}}]
  - to: [{operation: {paths: ["/health"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  action: CUSTOM
  provider: {name: checker}
  rules: [{to: [{operation: {paths: ["/ext"]}}]}]
`;

const WANT = [
  ['ACTION', 'AuthorizationPolicy', 'RULES'],
  ['DENY', 'deny-admin.default', '1'],
  ['ALLOW', 'allow-callers.default', '3'],
  ['LOG', 'audit.istio-system', '1'],
];

const listenersJson = (yaml: string, mesh = {}) => {
  const push = pushFromYaml(yaml, mesh);
  return generate(sidecarGenerators, push, reviewsSidecar(), TYPE.listener).map((r) => toJson(AnySchema, r.resource, { registry: envoyRegistry() }) as Record<string, unknown>);
};

describe('x authz check', function () {
  this.timeout(60000);
  const run = promisify(execFile);
  const ctl = (...args: string[]) => run(process.execPath, [`${ROOT}/bin/isthmusctl`, 'x', 'authz', 'check', ...args], { cwd: ROOT });

  it('lists policies by action with their rule counts, CUSTOM ones included', () => {
    const mesh = { extensionProviders: [{ name: 'checker', envoyExtAuthzGrpc: { service: 'reviews.default.svc.cluster.local', port: 9080 } }] };
    // As in istioctl, the CUSTOM marking filter (shadow rules only) also counts as an empty ALLOW.
    const rows = authzRows(listenersJson(`${REVIEWS_ENTRY}\n---\n${POLICIES}`, mesh));
    assert.deepEqual(rows, [...WANT.slice(0, 2), ['ALLOW', '_anonymous_match_nothing_', '1'], ...WANT.slice(2), ['CUSTOM', 'ext.default', '1']]);
    assert.deepEqual(authzRows(listenersJson(REVIEWS_ENTRY)), [WANT[0]]);
    assert.deepEqual(authzRows([]), [], 'no listeners, no table (as istioctl)');
    // An ALLOW policy without rules shows as the rule that matches nothing.
    const allowNothing = `${REVIEWS_ENTRY}\n---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: nothing, namespace: default}\nspec: {}\n`;
    assert.deepEqual(authzRows(listenersJson(allowNothing)), [WANT[0], ['ALLOW', 'nothing.default', '1']]);
  });

  describe('against a running isthmusd and a config dump file', () => {
    let live: LiveReviews;
    before(async () => (live = await startLiveReviews(POLICIES)));
    after(() => live?.stop());

    it('prints istioctl\'s table for the connected proxy', async () => {
      const { stdout } = await ctl('reviews-1.default', '--isthmusd', live.isthmusd.http);
      // No CUSTOM row: the mesh has no provider "checker", so its policy became deny rules.
      assert.deepEqual(stdout.trimEnd().split('\n').map((l) => l.split(/ {3,}/)), [...WANT.slice(0, 1), ['DENY', 'deny-admin.default', '1'], ['DENY', 'ext.default', '1'], ...WANT.slice(2)]);
    });

    it('reads an Envoy config dump with -f (proto field names, as Envoy writes them)', async () => {
      const snake = (v: unknown): unknown =>
        Array.isArray(v) ? v.map(snake) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snake(x)])) : v;
      const dump = {
        configs: [
          { '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: {} },
          { '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', dynamicListeners: listenersJson(`${REVIEWS_ENTRY}\n---\n${POLICIES}`).map((l) => ({ name: l.name, activeState: { listener: l } })) },
        ],
      };
      const file = join(live.dir, 'dump.yaml');
      writeFileSync(file, stringify(snake(dump)));
      const { stdout } = await ctl('-f', file);
      assert.deepEqual(stdout.trimEnd().split('\n').map((l) => l.split(/ {3,}/)), [...WANT.slice(0, 1), ['DENY', 'deny-admin.default', '1'], ['DENY', 'ext.default', '1'], ...WANT.slice(2)]);
    });
  });
});
