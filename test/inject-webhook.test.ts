// The injection webhook over real HTTPS (Node's https client, a certificate made with openssl):
// AdmissionReview v1 and v1beta1 in, JSONPatch out; every malformed request answered (400, 415,
// or an AdmissionReview carrying the error), the server still serving afterwards.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  applyPatch, configFromTemplates, defaultMeshConfig, featuresFromEnv, InjectionWebhook, normalizePod, settingsFromConfigMaps,
  configMapsFromYaml, ValuesConfig, type PatchOp,
} from '../webhook/inject/index.js';
import { startWebhookServer, type WebhookServer } from '../webhook/server.js';

type Obj = Record<string, any>;

function makeCert(dir: string, cn: string): { cert: string; key: string; certFile: string; keyFile: string } {
  const keyFile = join(dir, `${cn}.key`), certFile = join(dir, `${cn}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=DNS:istiod.istio-system.svc,IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
  { stdio: 'ignore' });
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, keyFile };
}

interface Reply { status: number; body: string; json?: Obj; peerCN?: string }

function post(port: number, ca: string, path: string, body: string | Buffer | undefined, contentType = 'application/json', method = 'POST'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, ca, servername: 'istiod.istio-system.svc', agent: false,
      headers: { 'Content-Type': contentType } }, res => {
      const peer = (res.socket as unknown as { getPeerCertificate?: () => { subject?: { CN?: string } } } | null)?.getPeerCertificate?.();
      const chunks: Buffer[] = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Obj | undefined;
        try { json = JSON.parse(text) as Obj; } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, body: text, json, peerCN: peer?.subject?.CN });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const POD = {
  apiVersion: 'v1', kind: 'Pod',
  metadata: { generateName: 'web-6d4cf56db6-', namespace: 'shop', labels: { app: 'web', 'pod-template-hash': '6d4cf56db6' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-6d4cf56db6', uid: 'u1', controller: true }] },
  spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80, protocol: 'TCP' }], resources: {} }] },
};

function review(object: unknown, apiVersion = 'admission.k8s.io/v1', extra: Obj = {}): string {
  return JSON.stringify({
    apiVersion, kind: 'AdmissionReview',
    request: { uid: 'req-1', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE', namespace: 'shop', object, ...extra },
  });
}

const TEMPLATE = `
metadata:
  labels:
    service.istio.io/canonical-name: {{ index .ObjectMeta.Labels "app" | default .DeploymentMeta.Name }}
spec:
  containers:
  - name: istio-proxy
    image: "{{ .ProxyImage }}"
    env:
    - name: ISTIO_META_WORKLOAD_NAME
      value: {{ .DeploymentMeta.Name }}
    - name: OWNER
      value: "{{ .TypeMeta.Kind }}/{{ .DeploymentMeta.Namespace }}/{{ .DeploymentMeta.Name }}"
`;

describe('inject: webhook over HTTPS', function () {
  this.timeout(20000);
  let dir: string;
  let server: WebhookServer;
  let ca: string;
  let other: { cert: string; key: string };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-webhook-'));
    const c = makeCert(dir, 'istiod.istio-system.svc');
    other = makeCert(dir, 'rotated.istio-system.svc');
    ca = c.cert + other.cert;
    const injector = new InjectionWebhook({
      config: configFromTemplates({ sidecar: TEMPLATE }),
      values: ValuesConfig.fromObject({ global: { hub: 'docker.io/istio', tag: '1.30.0', proxy: { image: 'proxyv2' } } }),
      meshConfig: defaultMeshConfig(), revision: 'default', features: featuresFromEnv({}),
    });
    const log = { info: () => undefined, warn: () => undefined };
    const validate = (req: { url?: string }, res: { writeHead(s: number): void; end(b: string): void }): boolean => {
      if (req.url !== '/validate') return false;
      res.writeHead(200);
      res.end('validated');
      return true;
    };
    server = await startWebhookServer({ httpsAddr: '127.0.0.1:0', tlsCertFile: c.certFile, tlsKeyFile: c.keyFile, injector, log, handlers: [validate] });
  });

  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('injects a pod from an AdmissionReview v1 with a JSONPatch the pod takes', async () => {
    const r = await post(server.port, ca, '/inject', review(POD));
    assert.equal(r.status, 200);
    assert.equal(r.json!.apiVersion, 'admission.k8s.io/v1');
    assert.equal(r.json!.kind, 'AdmissionReview');
    const resp = r.json!.response;
    assert.equal(resp.uid, 'req-1');
    assert.equal(resp.allowed, true);
    assert.equal(resp.patchType, 'JSONPatch');
    const ops = JSON.parse(Buffer.from(resp.patch, 'base64').toString('utf8')) as PatchOp[];
    const pod = applyPatch(normalizePod(POD), ops) as Obj;
    const proxy = pod.spec.containers.find((c: Obj) => c.name === 'istio-proxy');
    assert.equal(proxy.image, 'docker.io/istio/proxyv2:1.30.0');
    assert.deepEqual(proxy.env, [{ name: 'ISTIO_META_WORKLOAD_NAME', value: 'web' }, { name: 'OWNER', value: 'Deployment/shop/web' }]);
    assert.equal(pod.metadata.labels['service.istio.io/canonical-name'], 'web');
    assert.match(pod.metadata.annotations['sidecar.istio.io/status'], /"containers":\["istio-proxy"\]/);
  });

  it('answers AdmissionReview v1beta1 in kind', async () => {
    const r = await post(server.port, ca, '/inject', review(POD, 'admission.k8s.io/v1beta1'));
    assert.equal(r.json!.apiVersion, 'admission.k8s.io/v1beta1');
    assert.equal(r.json!.response.allowed, true);
    assert.ok(r.json!.response.patch);
  });

  it('allows without a patch a pod that opts out', async () => {
    const pod = structuredClone(POD) as Obj;
    pod.metadata.labels['sidecar.istio.io/inject'] = 'false';
    const r = await post(server.port, ca, '/inject', review(pod));
    assert.deepEqual(r.json!.response, { uid: 'req-1', allowed: true });
  });

  it('takes cluster and network from /inject/cluster/.../net/... paths', async () => {
    const r = await post(server.port, ca, '/inject/cluster/east/net/network1', review(POD));
    const ops = JSON.parse(Buffer.from(r.json!.response.patch, 'base64').toString('utf8')) as PatchOp[];
    const pod = applyPatch(normalizePod(POD), ops) as Obj;
    const env = pod.spec.containers.find((c: Obj) => c.name === 'istio-proxy').env as Obj[];
    assert.deepEqual(env.slice(-2), [{ name: 'ISTIO_META_CLUSTER_ID', value: 'east' }, { name: 'ISTIO_META_NETWORK', value: 'network1' }]);
    assert.equal(pod.metadata.labels['topology.istio.io/network'], 'network1');
  });

  it('rejects a wrong Content-Type with 415 and a missing body with 400', async () => {
    const wrong = await post(server.port, ca, '/inject', review(POD), 'application/yaml');
    assert.equal(wrong.status, 415);
    assert.equal(wrong.body.trim(), 'invalid Content-Type, want `application/json`');
    const empty = await post(server.port, ca, '/inject', undefined);
    assert.equal(empty.status, 400);
    assert.equal(empty.body.trim(), 'no body found');
    const get = await post(server.port, ca, '/inject', undefined, 'application/json', 'GET');
    assert.equal(get.status, 400);
  });

  it('rejects an oversized body with 400', async () => {
    const big = Buffer.alloc(6 * 1024 * 1024 + 10, 0x20);
    const r = await post(server.port, ca, '/inject', big);
    assert.equal(r.status, 400);
    assert.match(r.body, /Request entity too large/);
  });

  it('answers malformed reviews with an AdmissionReview error, never a crash', async () => {
    const bodies: [string, RegExp][] = [
      [Buffer.from([0, 1, 2, 3, 4, 5]).toString('latin1'), /json parse error/],
      ['[1,2]', /not a JSON object/],
      ['{"apiVersion":"v1","kind":"Pod"}', /no kind "Pod" is registered for version "v1"/],
      ['{"apiVersion":"admission.k8s.io/v1"}', /Object 'Kind' is missing/],
      ['{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}', /no request/],
      [review(null), /unexpected end of JSON input/],
      [review({ spec: { containers: 'web' } }), /cannot unmarshal string into Go struct field PodSpec\.spec\.containers of type \[\]v1\.Container/],
      [review({ metadata: { annotations: { 'traffic.sidecar.istio.io/includeInboundPorts': 'eighty' } }, spec: { containers: [{ name: 'a' }] } }),
        /includeInboundPorts invalid: failed parsing port 'eighty'/],
      [review({ spec: { containers: [{ name: 'a', resources: { limits: { cpu: 'lots' } } }] } }), /quantities must match/],
    ];
    for (const [body, want] of bodies) {
      const r = await post(server.port, ca, '/inject', body);
      assert.equal(r.status, 200, body);
      assert.equal(r.json!.response.allowed, false, body);
      assert.match(r.json!.response.status.message, want, body);
    }
    const ok = await post(server.port, ca, '/inject', review(POD));
    assert.equal(ok.json!.response.allowed, true);
  });

  it('serves the injection paths and the handlers it shares its listener with, 404 otherwise', async () => {
    const r = await post(server.port, ca, '/mutate', review(POD));
    assert.equal(r.status, 404);
    const v = await post(server.port, ca, '/validate', review(POD));
    assert.equal(v.body, 'validated');
    assert.ok(server.metrics.total > 10 && server.metrics.failed > 5 && server.metrics.success > 3 && server.metrics.skipped >= 1);
  });

  it('handles concurrent reviews', async () => {
    const replies = await Promise.all(Array.from({ length: 40 }, () => post(server.port, ca, '/inject', review(POD))));
    for (const r of replies) assert.equal(r.json!.response.allowed, true);
  });

  it('swaps the serving certificate without a restart', async () => {
    server.setCertificate(other.cert, other.key);
    const r = await post(server.port, ca, '/inject', review(POD));
    assert.equal(r.peerCN, 'rotated.istio-system.svc');
    assert.equal(r.json!.response.allowed, true);
  });
});

// Istio's real templates and ConfigMaps, when the upstream test data is present.
const testdata = process.env.ISTIO_TESTDATA ?? fileURLToPath(new URL('../../shared/istio', import.meta.url));
const rendered = join(testdata, 'operator/cmd/mesh/testdata/manifest-generate/output/sidecar_template.golden.yaml');

describe('inject: webhook with Istio\'s installed configuration', function () {
  this.timeout(20000);
  before(function () {
    if (!existsSync(rendered)) {
      console.log(`    (skipped: Istio test data not found under ${testdata}; set ISTIO_TESTDATA)`);
      this.skip();
    }
  });

  it('injects Istio\'s sidecar template from the istio-sidecar-injector ConfigMap, with its extra default template', async () => {
    const { injector } = configMapsFromYaml(readFileSync(rendered, 'utf8'));
    const settings = settingsFromConfigMaps(injector!, undefined, { env: {} });
    assert.deepEqual(settings.config.defaultTemplates, ['sidecar', 'credential-volume']);
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-webhook-'));
    try {
      const c = makeCert(dir, 'istiod.istio-system.svc');
      const server = await startWebhookServer({
        httpsAddr: '127.0.0.1:0', cert: c.cert, key: c.key,
        // classic sidecars: the extra template adds its mount to the istio-proxy container in `containers`
        injector: new InjectionWebhook(settings, { nodes: () => [{ name: 'n', kubeletVersion: 'v1.30.4' }] }),
      });
      try {
        const r = await post(server.port, c.cert, '/inject', review(POD));
        assert.equal(r.json!.response.allowed, true, r.json!.response.status?.message);
        const ops = JSON.parse(Buffer.from(r.json!.response.patch, 'base64').toString('utf8')) as PatchOp[];
        const pod = normalizePod(applyPatch(normalizePod(POD), ops)) as Obj;
        assert.deepEqual(pod.spec.initContainers.map((x: Obj) => x.name), ['istio-init']);
        assert.deepEqual(pod.spec.containers.map((x: Obj) => x.name), ['web', 'istio-proxy']);
        const proxy = pod.spec.containers[1];
        assert.equal(proxy.image, 'registry.istio.io/testing/proxyv2:latest');
        assert.ok((proxy.volumeMounts as Obj[]).some(m => m.name === 'application-credentials'));
        const owner = (proxy.env as Obj[]).find(e => e.name === 'ISTIO_META_OWNER');
        assert.equal(owner?.value, 'kubernetes://apis/apps/v1/namespaces/shop/deployments/web');
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
