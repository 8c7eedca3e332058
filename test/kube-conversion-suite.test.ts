// The gateway-conversion conformance runner: its semantic comparison and its case-file format.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstDifference, gatewayConversionSuite, normalize } from '../conformance/suites/gateway-conversion.js';
import { dataPresent, istioTestdata } from '../conformance/data.js';

describe('gateway-conversion runner', () => {
  it('compares in proto-JSON terms: zero values and empty lists are absent, durations by value', () => {
    assert.deepEqual(normalize({ a: 0, b: '', c: false, d: [], e: {}, f: { text: '1s', seconds: 1 }, g: [{ weight: 0, x: 1 }] }), { e: {}, f: 1, g: [{ x: 1 }] });
    assert.equal(firstDifference({ a: [1, 2] }, { a: [1, 2] }), undefined);
    assert.equal(firstDifference({ a: [1, 2] }, { a: [2, 1] }), '.a[0]: want 1, got 2');
    assert.equal(firstDifference({ a: { b: 1 } }, { a: {} }), '.a.b: want 1, got undefined');
  });

  it('runs a case file of its format (paths relative to the file) and says why a case fails', async function () {
    const root = istioTestdata();
    if (!dataPresent(join(root, 'pilot/pkg/config/kube/gateway/testdata'))) this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'gwconv-'));
    writeFileSync(join(dir, 'wrong.yaml.golden'), 'apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: nope, namespace: x}\nspec: {}\n');
    const gw = join(root, 'pilot/pkg/config/kube/gateway/testdata');
    const ing = join(root, 'pilot/pkg/config/kube/ingress/testdata');
    writeFileSync(
      join(dir, 'cases.json'),
      JSON.stringify([
        { name: 'tcp', type: 'gateway', input: join(gw, 'tcp.yaml'), golden: join(gw, 'tcp.yaml.golden') },
        { name: 'ingress-tls', type: 'ingress', input: join(ing, 'tls.yaml'), golden: join(ing, 'tls.yaml.golden') },
        { name: 'wrong', type: 'gateway', input: join(gw, 'tcp.yaml'), golden: 'wrong.yaml.golden' },
      ]),
    );
    const r = await gatewayConversionSuite.run({ cases: join(dir, 'cases.json'), extra: {}, verbose: false });
    assert.equal(r.passed, 2);
    assert.equal(r.failed, 1);
    assert.match(r.failures[0]!.why, /missing Gateway x\/nope/);
  });
});
