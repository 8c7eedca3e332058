// `isthmusctl kube-inject` run as a user runs it (bin/isthmusctl in a child process): istioctl's
// own kube-inject cases when the upstream test data is present, plus files of our own.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './support/isthmusd.js';

const run = promisify(execFile);
const ctl = (cwd: string, args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, [`${ROOT}/bin/isthmusctl`, 'kube-inject', ...args], { cwd, env: { ...process.env, ...env } }).then(
    r => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

function withStdin(cwd: string, args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [`${ROOT}/bin/isthmusctl`, 'kube-inject', ...args], { cwd });
    let stdout = '', stderr = '';
    p.stdout.on('data', d => { stdout += d; });
    p.stderr.on('data', d => { stderr += d; });
    p.on('error', reject);
    p.on('close', code => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(input);
  });
}

const docs = (text: string): unknown[] => parseAllDocuments(text).map(d => d.toJS()).filter(d => d !== null);

const TEMPLATES = `templates:
  sidecar: |-
    spec:
      initContainers:
      - name: istio-init
        image: {{ .Values.global.hub }}/proxyv2:{{ .Values.global.tag }}
      containers:
      - name: istio-proxy
        image: {{ .ProxyImage }}
        env:
        - name: WORKLOAD
          value: {{ .DeploymentMeta.Name }}
`;

const INPUT = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
        resources:
          limits: {cpu: 1000m}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: opted-out
spec:
  template:
    metadata:
      annotations: {sidecar.istio.io/inject: "false"}
    spec:
      containers: [{name: app, image: app}]
`;

describe('isthmusctl kube-inject', function () {
  this.timeout(60000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-kube-inject-'));
    writeFileSync(join(dir, 'inject-config.yaml'), TEMPLATES);
    writeFileSync(join(dir, 'values.json'), '{"global": {"hub": "docker.io/istio", "tag": "1.30.0"}}');
    writeFileSync(join(dir, 'mesh.yaml'), 'defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n');
    writeFileSync(join(dir, 'app.yaml'), INPUT);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const flags = ['--injectConfigFile', 'inject-config.yaml', '--valuesFile', 'values.json', '--meshConfigFile', 'mesh.yaml'];

  it('injects workloads, passes other documents through, and says which it skipped', async () => {
    const r = await ctl(dir, ['-f', 'app.yaml', ...flags]);
    assert.equal(r.code, 0, r.stderr);
    const out = docs(r.stdout) as Record<string, any>[];
    assert.equal(out.length, 3);
    assert.deepEqual(out[0], { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } });
    const pod = out[1].spec.template;
    assert.deepEqual(pod.spec.containers.map((c: any) => c.name), ['web', 'istio-proxy']);
    assert.equal(pod.spec.containers[0].resources.limits.cpu, '1');
    assert.equal(pod.spec.containers[1].image, 'docker.io/istio/proxyv2:1.30.0');
    assert.deepEqual(pod.spec.containers[1].env, [{ name: 'WORKLOAD', value: 'web' }]);
    assert.equal(pod.spec.initContainers[0].image, 'docker.io/istio/proxyv2:1.30.0');
    assert.ok(pod.metadata.annotations['sidecar.istio.io/status']);
    assert.equal(out[1].status && typeof out[1].status, 'object');
    assert.equal(out[2].spec.template.spec.containers.length, 1);
    assert.match(r.stderr, /===> Skipping injection because Deployment "opted-out" has sidecar injection disabled/);
    assert.ok(r.stdout.endsWith('---\n'));
  });

  it('reads stdin with -f - and writes -o', async () => {
    const r = await withStdin(dir, ['-f', '-', ...flags, '-o', 'out.yaml'], INPUT);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const out = docs(readFileSync(join(dir, 'out.yaml'), 'utf8')) as Record<string, any>[];
    assert.equal(out[1].spec.template.spec.containers[1].name, 'istio-proxy');
  });

  it('injects several files in order', async () => {
    writeFileSync(join(dir, 'pod.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: a}]\n');
    const r = await ctl(dir, ['-f', 'pod.yaml', '-f', 'app.yaml', ...flags]);
    assert.equal(r.code, 0, r.stderr);
    const out = docs(r.stdout) as Record<string, any>[];
    assert.deepEqual(out.map(o => o.kind), ['Pod', 'Service', 'Deployment', 'Deployment']);
    assert.equal(out[0].spec.containers[1].env[0].value, 'p');
  });

  it('fails like istioctl: no file, missing file, bad annotation, bad YAML', async () => {
    const none = await ctl(dir, flags);
    assert.equal(none.code, 1);
    assert.equal(none.stderr, 'Error: 1 error occurred:\n\t* filename not specified (see --filename or -f)\n\n\n');
    const missing = await ctl(dir, ['-f', 'missing.yaml', ...flags]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error: open missing.yaml: no such file or directory\n');
    writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {traffic.sidecar.istio.io/includeOutboundIPRanges: "10.0.0.0/33"}\nspec: {containers: [{name: a}]}\n');
    const bad = await ctl(dir, ['-f', 'bad.yaml', ...flags]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /includeIPRanges invalid: failed parsing cidr '10.0.0.0\/33'/);
    writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a, ports: [{containerPort: eighty}]}]\n');
    const broken = await ctl(dir, ['-f', 'broken.yaml', ...flags]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /cannot unmarshal string into Go struct field ContainerPort\.spec\.containers\.ports\.containerPort of type int32/);
    const noConfig = await ctl(dir, ['-f', 'app.yaml', '--meshConfigFile', 'mesh.yaml']);
    assert.equal(noConfig.code, 1);
    assert.match(noConfig.stderr, /Use --injectConfigFile/);
  });

  it('uses native sidecars when ENABLE_NATIVE_SIDECARS=true', async () => {
    writeFileSync(join(dir, 'native.yaml'), 'templates:\n  sidecar: |\n    spec:\n      {{ if .NativeSidecars }}initContainers{{ else }}containers{{ end }}:\n      - name: istio-proxy\n        image: p\n');
    const r = await ctl(dir, ['-f', 'pod.yaml', '--injectConfigFile', 'native.yaml', '--valuesFile', 'values.json', '--meshConfigFile', 'mesh.yaml'],
      { ENABLE_NATIVE_SIDECARS: 'true' });
    assert.equal(r.code, 0, r.stderr);
    const out = docs(r.stdout) as Record<string, any>[];
    assert.deepEqual(out[0].spec.initContainers.map((c: any) => c.name), ['istio-proxy']);
  });
});

// istioctl's TestKubeInject cases (istioctl/pkg/kubeinject/kubeinject_test.go) on its own test data.
const testdata = process.env.ISTIO_TESTDATA ?? fileURLToPath(new URL('../../shared/istio', import.meta.url));
const kubeinjectDir = join(testdata, 'istioctl/pkg/kubeinject');

describe('isthmusctl kube-inject: istioctl\'s cases', function () {
  this.timeout(60000);
  before(function () {
    if (!existsSync(join(kubeinjectDir, 'testdata'))) {
      console.log(`    (skipped: Istio test data not found under ${testdata}; set ISTIO_TESTDATA)`);
      this.skip();
    }
  });

  const cases: [string, string][] = [
    ['--meshConfigFile testdata/mesh-config.yaml --injectConfigFile testdata/inject-config.yaml -f testdata/deployment/hello.yaml --valuesFile testdata/inject-values.yaml',
      'testdata/deployment/hello.yaml.injected'],
    ['--operatorFileName testdata/istio-operator.yaml --injectConfigFile testdata/inject-config-inline-iop.yaml -f testdata/deployment/hello.yaml',
      'testdata/deployment/hello.yaml.iop.injected'],
    ['--meshConfigFile testdata/mesh-config.yaml --injectConfigFile testdata/inject-config.yaml -f testdata/deployment/hello-with-proxyconfig-anno.yaml --valuesFile testdata/inject-values.yaml',
      'testdata/deployment/hello-with-proxyconfig-anno.yaml.injected'],
  ];
  for (const [args, golden] of cases) {
    it(`prints ${golden} byte for byte`, async () => {
      const r = await ctl(kubeinjectDir, args.split(' '));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, readFileSync(join(kubeinjectDir, golden), 'utf8'));
    });
  }
});
