// `isthmusctl x preview`: which proxies a config change would reach, and which resources it
// would add, remove or change, computed without applying it — offline on a config directory and
// against a running isthmusd (its connected proxies, which receive nothing).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseYaml } from '../pilot/config/parse.js';
import { MemoryConfigStore } from '../pilot/config/store.js';
import { defaultMeshConfig } from '../pilot/model/mesh.js';
import { PushContext } from '../pilot/model/push-context.js';
import { buildServiceIndex } from '../pilot/registry/index.js';
import { describeChange, overlayStore, previewChange, type PreviewReport } from '../pilot/simulation/preview.js';
import { changeFromInput } from '../pilot/debug/preview.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { ROOT } from './support/isthmusd.js';
import { startLiveReviews, type LiveReviews } from './support/live-reviews.js';
import { REVIEWS_ENTRY, reviewsSidecar } from './support/security-fixtures.js';

const run = promisify(execFile);
const ctl = (...args: string[]) =>
  run(process.execPath, [`${ROOT}/bin/isthmusctl`, 'x', 'preview', ...args], { cwd: ROOT }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

const DENY_REVIEWS = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin"]}}]}]
`;

function store(yaml: string): MemoryConfigStore {
  const parsed = parseYaml(yaml);
  assert.deepEqual(parsed.errors, []);
  const s = new MemoryConfigStore();
  s.replaceAll(parsed.resources);
  return s;
}

const pushOf = (s: MemoryConfigStore) => new PushContext('t', defaultMeshConfig(), 'cluster.local', buildServiceIndex(s, { domainSuffix: 'cluster.local' }), s);

describe('x preview', function () {
  this.timeout(60000);

  it('names the proxies a change reaches and the resources it changes, and no others', () => {
    const base = store(REVIEWS_ENTRY);
    const change = { apply: parseYaml(DENY_REVIEWS).resources, delete: [] };
    const after = overlayStore(base, change);
    assert.equal(base.list('AuthorizationPolicy').length, 0, 'the base config is untouched');
    const reviews = reviewsSidecar();
    const other = reviewsSidecar({ app: 'ratings' });
    const r = previewChange(pushOf(base), pushOf(after), [reviews, other]);
    assert.equal(r.checked, 2);
    assert.deepEqual(r.affected, [{ proxy: { id: reviews.id, workload: reviews.workloadName, type: 'sidecar', namespace: 'default' }, diffs: [{ type: 'LDS', added: [], removed: [], changed: ['virtualInbound'] }] }]);
    assert.deepEqual(describeChange(base, change), [{ key: 'AuthorizationPolicy/default/deny-admin', action: 'created' }]);
  });

  it('shows what a deletion removes', () => {
    const base = store(REVIEWS_ENTRY);
    const change = { apply: [], delete: [{ kind: 'ServiceEntry', namespace: 'default', name: 'reviews' }] };
    const r = previewChange(pushOf(base), pushOf(overlayStore(base, change)), [reviewsSidecar({ app: 'ratings' })]);
    const cds = r.affected[0]!.diffs.find((d) => d.type === 'CDS')!;
    // The proxy sits at the reviews endpoint: its inbound clusters go too.
    assert.deepEqual(cds.removed, ['inbound|3306||', 'inbound|9080||', 'outbound|3306||reviews.default.svc.cluster.local', 'outbound|9080||reviews.default.svc.cluster.local']);
    assert.deepEqual(describeChange(base, { apply: [], delete: [{ kind: 'ServiceEntry', namespace: 'default', name: 'nope' }] }), [{ key: 'ServiceEntry/default/nope', action: 'not found' }]);
  });

  it('offline: previews a change to the example mesh', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-preview-'));
    try {
      const change = join(dir, 'change.yaml');
      writeFileSync(
        change,
        `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http: [{route: [{destination: {host: echo, subset: v1}, weight: 50}, {destination: {host: echo, subset: v2}, weight: 50}]}]
`,
      );
      const table = await ctl('-d', 'examples', '-f', change);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^VirtualService\/default\/echo +updated$/m);
      assert.match(table.stdout, /^echo-v1-5d8f7\.default +RDS +7070$/m);
      assert.match(table.stdout, /^2 of 2 proxies would receive new config; the others nothing\.$/m);
      const json = JSON.parse((await ctl('-d', 'examples', '-f', change, '-o', 'json')).stdout) as PreviewReport;
      assert.deepEqual(json.affected.map((a) => [a.proxy.workload, a.diffs.map((d) => [d.type, d.changed])]).sort(), [
        ['echo-v1-5d8f7.default', [['RDS', ['7070']]]],
        ['echo-v2-7c9b4.default', [['RDS', ['7070']]]],
      ]);

      writeFileSync(change, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: bad, namespace: default}\nspec: {hosts: [echo], http: [{route: [{destination: {}}]}]}\n');
      const bad = await ctl('-d', 'examples', '-f', change);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /invalid change:[\s\S]*VirtualService[\s\S]*default\/bad[\s\S]*destination/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses input it cannot or should not read', () => {
    const deep = changeFromInput('['.repeat(100_000), []);
    assert.ok('errors' in deep && /nests deeper than 64 levels/.test(deep.errors[0]!));
    const unknown = changeFromInput('apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: default}\n', []);
    assert.ok('errors' in unknown && /not a kind isthmusd knows/.test(unknown.errors[0]!), JSON.stringify(unknown));
    assert.ok('errors' in changeFromInput('', []));
  });

  describe('against a running isthmusd', () => {
    let live: LiveReviews;
    before(async () => (live = await startLiveReviews()));
    after(() => live?.stop());

    it('refuses hostile requests and keeps serving', async () => {
      const post = (body: string, type = 'application/json') => fetch(`http://${live.isthmusd.http}/debug/preview`, { method: 'POST', headers: { 'content-type': type }, body });
      assert.equal((await post(JSON.stringify({ yaml: 'kind: VirtualService' }), 'text/plain')).status, 415);
      const deep = await post(JSON.stringify({ yaml: '['.repeat(200_000) }));
      assert.equal(deep.status, 400);
      assert.match(JSON.stringify(await deep.json()), /nests deeper/);
      assert.equal((await post('[1]')).status, 400);
      assert.equal((await post(JSON.stringify({ yaml: 5 }))).status, 400);
      assert.equal((await fetch(`http://${live.isthmusd.http}/ready`)).status, 200);
    });

    it('previews for the connected proxies, and applies nothing', async () => {
      const change = join(live.dir, '..', `preview-change-${process.pid}.yaml`);
      writeFileSync(change, DENY_REVIEWS);
      try {
        const out = await ctl('-f', change, '--isthmusd', live.isthmusd.http, '-o', 'json');
        assert.equal(out.code, 0, out.stderr);
        const r = JSON.parse(out.stdout) as PreviewReport;
        assert.equal(r.checked, 1);
        assert.deepEqual(r.affected.map((a) => [a.proxy.workload, a.diffs]), [['reviews-1.default', [{ type: 'LDS', added: [], removed: [], changed: ['virtualInbound'] }]]]);
        assert.ok(await live.client.responses.quiet(500), 'the connected proxy received nothing');
        // A new HTTP service: a sidecar watching routes and clusters would follow its new listener to a new route.
        for (const typeUrl of [TYPE.cluster, TYPE.route]) {
          live.client.send({ typeUrl, resourceNames: typeUrl === TYPE.route ? ['9080'] : [] });
          const res = await live.client.responses.next(typeUrl);
          live.client.send({ typeUrl, versionInfo: res.versionInfo, responseNonce: res.nonce, resourceNames: typeUrl === TYPE.route ? ['9080'] : [] });
        }
        writeFileSync(change, `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: shop, namespace: default}
spec:
  hosts: [shop.example.com]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{number: 7000, name: http, protocol: HTTP}]
`);
        const added = JSON.parse((await ctl('-f', change, '--isthmusd', live.isthmusd.http, '-o', 'json')).stdout) as PreviewReport;
        const diffs = Object.fromEntries(added.affected[0]!.diffs.map((d) => [d.type, d.added]));
        assert.deepEqual(diffs.RDS, ['7000']);
        assert.ok(diffs.CDS!.includes('outbound|7000||shop.example.com'));
        const bad = await ctl('--delete', 'not-a-key', '--isthmusd', live.isthmusd.http);
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /"not-a-key" is not Kind\/namespace\/name/);
      } finally {
        rmSync(change, { force: true });
      }
    });
  });
});
