// isthmusctl as a user runs it. `validate` answers as `istioctl validate` does, on stderr.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

function ctlWithStdin(input: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${ROOT}/bin/isthmusctl`, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

const GATEWAY_WITH_WARNING = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: edge}
spec:
  servers:
  - port: {number: 443, name: tls, protocol: TLS}
    hosts: ["*"]
    tls: {mode: PASSTHROUGH, httpsRedirect: true}
`;

describe('isthmusctl validate', function () {
  this.timeout(30000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'isthmusctl-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports each valid file as istioctl does', async () => {
    const r = await ctl('validate', '-f', 'examples/echo-routing.yaml', '-f', 'examples/external.yaml');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, '"examples/echo-routing.yaml" is valid\n"examples/external.yaml" is valid\n');
  });

  it('exits 1 with the Error: block, one Kind/namespace/name line per error', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r, namespace: shop}\nspec:\n  host: r\n  subsets: [{name: a}, {name: a}]\n' +
        '---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs}\nspec:\n  hosts: [a.com]\n',
    );
    const r = await ctl('validate', '-f', file);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'Error: 2 errors occurred:\n\t* DestinationRule/shop/r: duplicate subset names: a\n\t* VirtualService//vs: http, tcp or tls must be provided in virtual service\n\n\n',
    );
  });

  it('names the field of schema errors', async () => {
    const file = join(dir, 'schema.yaml');
    writeFileSync(file, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs, namespace: a}\nspec:\n  hosts: [a.com]\n  http: [{timeout: soon}]\n');
    const r = await ctl('validate', '-f', file);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error: 1 error occurred:\n\t* VirtualService/a/vs: spec.http[0].timeout: invalid duration "soon"\n\n\n');
  });

  it('lists warnings of a valid file and accepts it', async () => {
    const file = join(dir, 'gw.yaml');
    writeFileSync(file, GATEWAY_WITH_WARNING);
    const r = await ctl('validate', '-f', file);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, `"${file}" has warnings: \n\t* Gateway/edge/gw: tls.httpsRedirect should only be used with http servers\n\n`);
  });

  it('walks directories for .yaml/.yml/.json files, and reads stdin as "-"', async () => {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'a.yml'), 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se, namespace: a}\nspec: {hosts: [a.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}\n');
    writeFileSync(join(dir, 'notes.txt'), 'not yaml: [');
    const r = await ctl('validate', '-f', dir);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, `"${join(dir, 'sub', 'a.yml')}" is valid\n`);

    const ok = await ctlWithStdin('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n', 'validate', '-f', '-');
    assert.equal(ok.stderr, 'validation succeed\n');
    const warned = await ctlWithStdin(GATEWAY_WITH_WARNING, 'validate', '-x', '-f', '-');
    assert.equal(warned.code, 0);
    assert.equal(warned.stderr, '\n\t* Gateway/edge/gw: tls.httpsRedirect should only be used with http servers\n');
  });

  it('reports missing files and a missing -f like istioctl', async () => {
    const missing = await ctl('validate', '-f', 'nope.yaml');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error: 1 error occurred:\n\t* cannot stat file "nope.yaml": stat nope.yaml: no such file or directory\n\n\n');
    const none = await ctl('validate');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^Error: error: you must specify resources by --filename\./);
  });
});
