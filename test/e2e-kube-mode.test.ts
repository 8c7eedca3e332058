// End to end in Kubernetes mode: bin/isthmusd --kubeconfig against an in-test double of the API
// server (list/watch over HTTPS; there is no kube-apiserver here), real gRPC backends, and
// @grpc/grpc-js-xds clients routed by config created, edited and deleted through the API.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { startIsthmusd, type RunningIsthmusd } from './support/isthmusd.js';
import { distribution, eventually, startBackend, stopBackend, xdsBootstrap, xdsClient, type Backend } from './support/grpc-echo.js';
import { kubeService, subsetsRule } from './support/meshfiles.js';
import { KubeApiDouble, serveIsthmusKinds } from './support/kube-api-double.js';
import { IstioCaClient, opensslCsr, opensslText, opensslVerify } from '../citadel/testing.js';

grpcXds.register();

const TARGET = 'xds:///echo.default.svc.cluster.local:7070';

const INJECT_CONFIG = `policy: enabled
defaultTemplates: [sidecar]
templates:
  sidecar: |
    spec:
      containers:
      - name: istio-proxy
        image: "{{ .Values.global.hub }}/proxyv2:{{ .Values.global.tag }}"
        env:
        - name: DISCOVERY_ADDRESS
          value: "{{ .ProxyConfig.DiscoveryAddress }}"
`;

interface WebhookEntry {
  name: string;
  failurePolicy?: string;
  clientConfig: { url: string; caBundle?: string };
}

function mutatingWebhooks(name: string, revision: string): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name, labels: { 'istio.io/rev': revision } },
    webhooks: [
      { name: 'rev.namespace.sidecar-injector.istio.io', clientConfig: { url: 'https://127.0.0.1:1/inject' } },
      { name: 'rev.object.sidecar-injector.istio.io', clientConfig: { url: 'https://127.0.0.1:1/inject' } },
      { name: 'other.example.com', clientConfig: { url: 'https://127.0.0.1:1/other', caBundle: 'b3RoZXI=' } },
    ],
  };
}

/** POSTs an AdmissionReview for `object` to a webhook, trusting only `ca`, as the API server calls it. */
function admissionReview(url: string, ca: Buffer, object: unknown): Promise<{ response: { allowed: boolean; status?: { message?: string } } }> {
  const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'probe', operation: 'CREATE', namespace: 'istio-system', object } });
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: 'POST', ca, servername: 'istiod.istio-system.svc', headers: { 'Content-Type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function routeAllTo(subset: string, weight = 100): Record<string, unknown> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'echo', namespace: 'default' },
    spec: { hosts: ['echo'], http: [{ route: [{ destination: { host: 'echo', subset }, weight }] }] },
  };
}

describe('isthmusd in Kubernetes mode (against an in-test API double speaking list/watch)', function () {
  this.timeout(60000);
  let api: KubeApiDouble;
  let dir: string;
  let backends: Backend[];
  let isthmusd: RunningIsthmusd;
  const clients: grpc.Client[] = [];
  const reviews: { token: string; audiences: string[] }[] = [];
  let probes = 0;

  before(async () => {
    api = await KubeApiDouble.start();
    // Gateway API CRDs are not installed: isthmusd must not wait for them.
    await serveIsthmusKinds(api, ['gateway.networking.k8s.io']);
    dir = mkdtempSync(join(tmpdir(), 'isthmus-kube-e2e-'));
    backends = [await startBackend('v1'), await startBackend('v2')];
    api.applyYaml(kubeService('echo', 7070, backends.map((b) => ({ version: b.name, port: b.port }))));
    api.applyYaml(subsetsRule('echo', ['v1', 'v2']));
    api.apply(routeAllTo('v1'));
    for (const name of ['default', 'shop', 'kube-public', 'istio-system']) api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    api.serve('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', { clusterScoped: true });
    api.serve('admissionregistration.k8s.io/v1', 'validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', { clusterScoped: true });
    api.apply(mutatingWebhooks('istio-sidecar-injector', 'default'));
    // Injection config as Istio's chart installs it (no files mounted for isthmusd here).
    api.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio-sidecar-injector', namespace: 'istio-system' }, data: { config: INJECT_CONFIG, values: '{"global": {"hub": "docker.io/istio", "tag": "1.31.0"}}' } });
    api.apply(mutatingWebhooks('istio-revision-tag-canary', 'canary'));
    // A dry run goes through the validation webhook, as the API server's admission would call it.
    api.addHandler(async (req, body) => {
      if (req.method !== 'POST' || !req.url?.startsWith('/apis/networking.istio.io/v1/namespaces/istio-system/gateways?dryRun=All')) return undefined;
      probes++;
      const hook = (api.get('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', undefined, 'istio-validator-istio-system')?.webhooks as WebhookEntry[])[0]!;
      try {
        const review = await admissionReview(hook.clientConfig.url, Buffer.from(hook.clientConfig.caBundle ?? '', 'base64'), body);
        if (review.response.allowed) return { status: 201, body };
        return { status: 400, body: { kind: 'Status', status: 'Failure', code: 400, message: `admission webhook "rev.validation.istio.io" denied the request: ${review.response.status?.message}` } };
      } catch (e) {
        return { status: 500, body: { kind: 'Status', status: 'Failure', code: 500, message: `Internal error occurred: failed calling webhook "rev.validation.istio.io": ${(e as Error).message}` } };
      }
    });
    // The API server vouches for one token: the echo workload's service account.
    api.addHandler((req, body) => {
      if (req.method !== 'POST' || req.url !== '/apis/authentication.k8s.io/v1/tokenreviews') return undefined;
      const spec = (body as { spec: { token: string; audiences: string[] } }).spec;
      reviews.push(spec);
      const ok = spec.token === 'echo-token' && spec.audiences.includes('istio-ca');
      const status = ok
        ? { authenticated: true, user: { username: 'system:serviceaccount:default:echo', groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'] }, audiences: ['istio-ca'] }
        : { authenticated: false, error: 'invalid bearer token' };
      return { status: 201, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec, status } };
    });
    isthmusd = await startIsthmusd(undefined, {}, ['--kubeconfig', api.kubeconfig(dir)]);
  });

  after(async () => {
    for (const c of clients) c.close();
    await isthmusd?.stop();
    await Promise.all((backends ?? []).map(stopBackend));
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const newClient = () => {
    const c = xdsClient(TARGET, xdsBootstrap(isthmusd.grpc));
    clients.push(c);
    return c;
  };

  it('serves what the API server holds, and says where it reads config from', async () => {
    assert.ok(isthmusd.logs.some((l) => l.msg === 'starting isthmusd' && l.kubernetes === `https://127.0.0.1:${api.port}`));
    assert.deepEqual(await distribution(newClient(), 20), { v1: 20 });
  });

  it('follows edits made through the API, without restart', async () => {
    const client = newClient();
    assert.deepEqual(await distribution(client, 10), { v1: 10 });
    api.apply(routeAllTo('v2'));
    await eventually(async () => assert.deepEqual(await distribution(client, 10), { v2: 10 }));
  });

  it('rejects an invalid edit with kind, namespace/name and field, and keeps routing by the last good version', async () => {
    const client = newClient();
    await eventually(async () => assert.deepEqual(await distribution(client, 10), { v2: 10 }));
    api.apply(routeAllTo('v1', -1));
    const warning = await isthmusd.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('rejected config: VirtualService default/echo'));
    assert.match(String(warning.msg), /spec\.http\[0\]\.route\[0\]\.weight/);
    assert.match(String(warning.msg), /still serving the last good version/);
    assert.deepEqual(await distribution(client, 10), { v2: 10 });
    const configz = (await (await fetch(`http://${isthmusd.http}/debug/configz`)).json()) as unknown;
    assert.ok(JSON.stringify(configz).includes('"subset":"v2"'), 'the served VirtualService is the last good one');
  });

  it('drops endpoints deleted through the API', async () => {
    api.apply(routeAllTo('v1'));
    api.remove('discovery.k8s.io/v1', 'EndpointSlice', 'default', 'echo-v1');
    api.remove('v1', 'Pod', 'default', 'echo-v1');
    api.remove('networking.istio.io/v1', 'VirtualService', 'default', 'echo');
    const client = newClient();
    await eventually(async () => assert.deepEqual(await distribution(client, 10), { v2: 10 }));
  });

  it('issues workload certificates to service-account tokens the API server vouches for (TokenReview)', async () => {
    const rootPem = readFileSync(join(isthmusd.citadelDir, 'root-cert.pem'), 'utf8');
    const ca = new IstioCaClient({ address: isthmusd.secureGrpc, rootPem });
    try {
      const { csrPem } = await opensslCsr('ec-p256');
      const res = await ca.createCertificate(csrPem, { token: 'echo-token' });
      assert.equal((await opensslVerify(res.certChain, rootPem)).ok, true);
      assert.match(await opensslText(res.certChain[0]!), /URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/echo/);
      assert.deepEqual(reviews.at(-1), { token: 'echo-token', audiences: ['istio-ca'] });
      const refused = await ca.createCertificate(csrPem, { token: 'stolen-token' }).then(() => undefined, (e: grpc.ServiceError) => e);
      assert.equal(refused?.code, grpc.status.UNAUTHENTICATED);
    } finally {
      ca.close();
    }
  });

  it('puts the root certificate into every namespace as istio-ca-root-cert, and keeps it there', async () => {
    const rootPem = readFileSync(join(isthmusd.citadelDir, 'root-cert.pem'), 'utf8');
    const rootCert = (ns: string) => (api.get('v1', 'ConfigMap', ns, 'istio-ca-root-cert') as { data?: Record<string, string> } | undefined)?.data?.['root-cert.pem'];
    await eventually(async () => {
      for (const ns of ['default', 'shop', 'istio-system']) assert.equal(rootCert(ns), rootPem, ns);
    });
    assert.equal(api.get('v1', 'ConfigMap', 'kube-public', 'istio-ca-root-cert'), undefined);
    assert.deepEqual(api.get('v1', 'ConfigMap', 'shop', 'istio-ca-root-cert')?.metadata.labels, { 'istio.io/config': 'true' });
    const lock = api.get('v1', 'ConfigMap', 'istio-system', 'istio-namespace-controller-election');
    assert.match(String((lock?.metadata.annotations as Record<string, string>)['control-plane.alpha.kubernetes.io/leader']), /"holderIdentity":"unknown-/);

    // Edited: the key comes back, other keys stay. Deleted: it is created again. A new namespace gets one.
    const shop = api.get('v1', 'ConfigMap', 'shop', 'istio-ca-root-cert')!;
    api.apply({ ...shop, data: { 'root-cert.pem': 'tampered', extra: 'kept' } });
    api.remove('v1', 'ConfigMap', 'default', 'istio-ca-root-cert');
    api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'late' } });
    await eventually(async () => {
      for (const ns of ['default', 'shop', 'late']) assert.equal(rootCert(ns), rootPem, ns);
    });
    assert.equal((api.get('v1', 'ConfigMap', 'shop', 'istio-ca-root-cert') as { data?: Record<string, string> }).data?.extra, 'kept');
  });

  it('pushes nothing for cluster churn that moves no config: node heartbeats, lock renewals, unrelated ConfigMaps', async () => {
    api.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', labels: { 'topology.kubernetes.io/zone': 'a' } }, status: { conditions: [{ type: 'Ready', lastHeartbeatTime: '2026-01-01T00:00:00Z' }] } });
    api.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-settings', namespace: 'shop' }, data: { level: 'info' } });
    const onNode = api.get('v1', 'Pod', 'default', 'echo-v2')!;
    api.apply({ ...onNode, spec: { ...(onNode.spec as object), nodeName: 'node-1' } });
    const pushes = () => isthmusd.logs.filter((l) => l.msg === 'pushed config');
    await eventually(async () => assert.ok(pushes().some((l) => (l.kinds as string[]).includes('Node'))));
    await new Promise((r) => setTimeout(r, 300));
    const seen = pushes().length;

    // A heartbeat, a renewed lock annotation, a pod's status: nothing Isthmus keeps changes.
    api.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', labels: { 'topology.kubernetes.io/zone': 'a' } }, status: { conditions: [{ type: 'Ready', lastHeartbeatTime: '2026-01-01T00:00:10Z' }] } });
    api.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-settings', namespace: 'shop', annotations: { 'control-plane.alpha.kubernetes.io/leader': '{"renewTime":"now"}' } }, data: { level: 'info' } });
    const pod = api.get('v1', 'Pod', 'default', 'echo-v2')!;
    api.apply({ ...pod, status: { ...(pod.status as object), containerStatuses: [{ name: 'echo', restartCount: 3 }] } });
    // A namespace label nothing selects on: a push is considered, and sends nothing.
    api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'payments' } } });
    await eventually(async () => assert.equal(pushes().length, seen + 1));
    assert.deepEqual(pushes().at(-1)!.kinds, ['Namespace']);
    assert.equal(pushes().at(-1)!.scope, 'none');
    // An application's own ConfigMap: only SDS could hold it (a configmap:// CA), so only SDS is looked at.
    api.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-settings', namespace: 'shop' }, data: { level: 'debug' } });
    await eventually(async () => assert.equal(pushes().length, seen + 2));
    assert.deepEqual(pushes().at(-1)!.kinds, ['ConfigMap']);
    assert.equal(pushes().at(-1)!.scope, 'secrets');
    // A change that matters still goes out: echo-v2 runs on the node, and its locality moves.
    api.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', labels: { 'topology.kubernetes.io/zone': 'b' } } });
    await eventually(async () => assert.equal(pushes().length, seen + 3));
    assert.equal(pushes().at(-1)!.scope, 'full');
  });

  it('reads the mesh config from the istio ConfigMap and follows its edits, keeping the last valid one', async () => {
    const mesh = async () => (await (await fetch(`http://${isthmusd.http}/debug/mesh`)).json()) as { outboundTrafficPolicy?: string };
    const meshMap = (text: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: text } });
    assert.notEqual((await mesh()).outboundTrafficPolicy, 'REGISTRY_ONLY');
    api.apply(meshMap('outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n'));
    await eventually(async () => assert.equal((await mesh()).outboundTrafficPolicy, 'REGISTRY_ONLY'));
    const push = isthmusd.logs.filter((l) => l.msg === 'pushed config').at(-1)!;
    assert.ok((push.kinds as string[]).includes('MeshConfig'));
    assert.equal(push.scope, 'full');

    api.apply(meshMap('outboundTrafficPolicy:\n  mode: SOMETIMES\n'));
    await isthmusd.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('mesh config rejected, keeping the one in force'));
    assert.equal((await mesh()).outboundTrafficPolicy, 'REGISTRY_ONLY');
  });

  it("keeps the webhooks' caBundle on the mesh root, and makes validation fail closed once the webhook refuses", async () => {
    const caBundle = Buffer.from(readFileSync(join(isthmusd.citadelDir, 'root-cert.pem'), 'utf8')).toString('base64');
    const hooks = (kind: string, name: string) => api.get('admissionregistration.k8s.io/v1', kind, undefined, name)?.webhooks as WebhookEntry[];
    await eventually(async () => {
      const [ns, obj, other] = hooks('MutatingWebhookConfiguration', 'istio-sidecar-injector');
      assert.equal(ns!.clientConfig.caBundle, caBundle);
      assert.equal(obj!.clientConfig.caBundle, caBundle);
      assert.equal(other!.clientConfig.caBundle, 'b3RoZXI=', 'a webhook that is not the injector is left alone');
    });
    assert.equal(hooks('MutatingWebhookConfiguration', 'istio-revision-tag-canary')[0]!.clientConfig.caBundle, undefined, 'another revision is left alone');

    // Installed as Helm installs it: failing open until the webhook is known to work.
    api.apply({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'istio-validator-istio-system', labels: { 'istio.io/rev': 'default' } },
      webhooks: [{ name: 'rev.validation.istio.io', failurePolicy: 'Ignore', clientConfig: { url: `https://${isthmusd.webhook}/validate` } }],
    });
    await eventually(async () => {
      const [hook] = hooks('ValidatingWebhookConfiguration', 'istio-validator-istio-system');
      assert.equal(hook!.clientConfig.caBundle, caBundle);
      assert.equal(hook!.failurePolicy, 'Fail');
    });
    assert.ok(probes >= 1);
    assert.deepEqual(api.list('networking.istio.io/v1', 'Gateway'), [], 'the probe is a dry run');
  });

  it('injects with the injector and mesh ConfigMaps, and follows edits of the mesh', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } };
    const inject = async () => {
      const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, operation: 'CREATE', namespace: 'shop', object: pod } });
      const out = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(`https://${isthmusd.webhook}/inject`, { method: 'POST', ca: readFileSync(join(isthmusd.citadelDir, 'root-cert.pem')), servername: 'istiod.istio-system.svc', headers: { 'Content-Type': 'application/json' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        });
        req.on('error', reject);
        req.end(body);
      });
      const review = JSON.parse(out) as { response: { allowed: boolean; patch?: string } };
      assert.ok(review.response.allowed);
      return Buffer.from(review.response.patch ?? '', 'base64').toString('utf8');
    };
    const before = await inject();
    assert.match(before, /docker\.io\/istio\/proxyv2:1\.31\.0/);
    assert.match(before, /istiod\.istio-system\.svc:15012/);
    api.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: 'defaultConfig:\n  discoveryAddress: istiod-canary.istio-system.svc:15012\n' } });
    await eventually(async () => assert.match(await inject(), /istiod-canary\.istio-system\.svc:15012/));
  });

  it("serves only the namespaces the mesh's discoverySelectors pick, and follows namespace labels", async () => {
    const registry = async () => JSON.stringify(await (await fetch(`http://${isthmusd.http}/debug/registryz`)).json());
    assert.match(await registry(), /echo\.default\.svc\.cluster\.local/);
    api.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: 'discoverySelectors:\n- matchLabels: {istio-discovery: enabled}\n' } });
    await eventually(async () => assert.doesNotMatch(await registry(), /echo\.default\.svc\.cluster\.local/));
    api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'istio-discovery': 'enabled' } } });
    await eventually(async () => assert.match(await registry(), /echo\.default\.svc\.cluster\.local/));
    const client = xdsClient(TARGET, xdsBootstrap(isthmusd.grpc));
    clients.push(client);
    assert.deepEqual(await distribution(client, 4), { v2: 4 });
  });
});
