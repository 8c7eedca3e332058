// isthmusctl as a user runs it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './support/isthmusd.js';

const run = promisify(execFile);
const ctl = (...args: string[]) =>
  run(process.execPath, [`${ROOT}/bin/isthmusctl`, ...args], { cwd: ROOT }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe('isthmusctl validate', function () {
  this.timeout(30000);
  it('reports each valid file as istioctl does', async () => {
    const r = await ctl('validate', '-f', 'examples/echo-routing.yaml', '-f', 'examples/external.yaml');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '"examples/echo-routing.yaml" is valid\n"examples/external.yaml" is valid\n');
  });

  it('exits 1 and names file, line, kind, namespace/name and field of each error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmusctl-'));
    try {
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r, namespace: shop}\nspec:\n  host: r\n  subsets: [{name: a}, {name: a}]\n');
      const r = await ctl('validate', '-f', file);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `Error: 1 error occurred:\n\t* ${file}:6: DestinationRule shop/r: spec.subsets[1].name: duplicate subset name "a"\n\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
