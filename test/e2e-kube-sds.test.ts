// SDS in Kubernetes mode: bin/isthmusd --kubeconfig against an in-test API double (list/watch,
// TokenReview and SubjectAccessReview answered by the test; there is no kube-apiserver here), and
// ADS clients on the TLS port asking for the Secrets gateways and sidecars name in credentialName.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { fromBinary } from '@bufbuild/protobuf';
import { SecretSchema, type Secret } from '../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js';
import { NodeSchema } from '../gen/envoy/config/core/v3/base_pb.js';
import { create } from '@bufbuild/protobuf';
import { TYPE } from '../pilot/networking/envoy.js';
import { startIsthmusd, type RunningIsthmusd } from './support/isthmusd.js';
import { KubeApiDouble, serveIsthmusKinds } from './support/kube-api-double.js';
import { SotwClient, sidecarNode } from './support/ads-client.js';
import { eventually } from './support/grpc-echo.js';
import { openssl, tempDir } from '../citadel/testing.js';

/** Tokens the API server vouches for, by service account. */
const TOKENS: Record<string, [string, string]> = {
  'gateway-token': ['istio-system', 'istio-ingressgateway'],
  'echo-token': ['default', 'echo'],
};

async function selfSigned(cn: string): Promise<{ cert: string; key: string }> {
  const dir = await tempDir('sds-cert-');
  try {
    const r = await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir.path, 'k'), '-out', join(dir.path, 'c'), '-days', '1', '-subj', `/CN=${cn}`]);
    if (r.code !== 0) throw new Error(r.stderr);
    return { cert: readFileSync(join(dir.path, 'c'), 'utf8'), key: readFileSync(join(dir.path, 'k'), 'utf8') };
  } finally {
    await dir.cleanup();
  }
}

function tlsSecret(namespace: string, name: string, pair: { cert: string; key: string }, ca?: string): Record<string, unknown> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(pair.cert), 'tls.key': b64(pair.key), ...(ca ? { 'ca.crt': b64(ca) } : {}) },
  };
}

const text = (d: { specifier: { case?: string; value?: unknown } } | undefined) => Buffer.from(d?.specifier.value as Uint8Array).toString('utf8');

describe('SDS for credentialName Secrets in Kubernetes mode (against an in-test API double)', function () {
  this.timeout(60000);
  let api: KubeApiDouble;
  let dir: string;
  let isthmusd: RunningIsthmusd;
  let rootPem: string;
  let gwPair: { cert: string; key: string };
  let appPair: { cert: string; key: string };
  const clients: SotwClient[] = [];

  before(async () => {
    api = await KubeApiDouble.start();
    await serveIsthmusKinds(api);
    dir = mkdtempSync(join(tmpdir(), 'isthmus-sds-'));
    gwPair = await selfSigned('gateway.example.com');
    appPair = await selfSigned('app.example.com');
    api.apply(tlsSecret('istio-system', 'gw-cert', gwPair, 'CLIENT CA'));
    api.apply(tlsSecret('default', 'app-cert', appPair, 'APP CA'));
    api.addHandler((req, body) => {
      if (req.method !== 'POST') return undefined;
      if (req.url === '/apis/authentication.k8s.io/v1/tokenreviews') {
        const spec = (body as { spec: { token: string } }).spec;
        const who = TOKENS[spec.token];
        const status = who ? { authenticated: true, user: { username: `system:serviceaccount:${who[0]}:${who[1]}`, groups: ['system:serviceaccounts'] } } : { authenticated: false };
        return { status: 201, body: { kind: 'TokenReview', status } };
      }
      if (req.url === '/apis/authorization.k8s.io/v1/subjectaccessreviews') {
        // RBAC as Istio's gateway chart sets it: the gateway may list Secrets in its namespace; sidecars may not.
        const spec = (body as { spec: { user: string; resourceAttributes: { namespace: string; verb: string; resource: string } } }).spec;
        const allowed = spec.user === 'system:serviceaccount:istio-system:istio-ingressgateway' && spec.resourceAttributes.namespace === 'istio-system' && spec.resourceAttributes.verb === 'list' && spec.resourceAttributes.resource === 'secrets';
        return { status: 201, body: { kind: 'SubjectAccessReview', status: { allowed } } };
      }
      return undefined;
    });
    isthmusd = await startIsthmusd(undefined, {}, ['--kubeconfig', api.kubeconfig(dir)]);
    rootPem = readFileSync(join(isthmusd.citadelDir, 'root-cert.pem'), 'utf8');
  });

  after(async () => {
    for (const c of clients) c.close();
    await isthmusd?.stop();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An ADS stream on the TLS port, authenticated by a service-account token. */
  const connect = (token: string, node: ReturnType<typeof sidecarNode>, secure = true) => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    const c = secure
      ? new SotwClient(isthmusd.secureGrpc, node, {
          credentials: grpc.credentials.createSsl(Buffer.from(rootPem)),
          metadata,
          options: { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc', 'grpc.default_authority': 'istiod.istio-system.svc' },
        })
      : new SotwClient(isthmusd.grpc, node);
    clients.push(c);
    return c;
  };

  const gatewayNode = () =>
    create(NodeSchema, {
      id: 'router~10.1.0.1~istio-ingressgateway-0.istio-system~istio-system.svc.cluster.local',
      metadata: { NAMESPACE: 'istio-system', SERVICE_ACCOUNT: 'istio-ingressgateway', ISTIO_VERSION: '1.31.0' },
    });

  /** Waits for a response holding every one of `names`; returns the secrets by name. */
  const secretsFrom = async (c: SotwClient, names: string[]): Promise<Map<string, Secret>> => {
    const held = new Map<string, Secret>();
    await eventually(async () => {
      const res = await c.responses.next('an SDS response', 5000);
      c.send({ typeUrl: res.typeUrl, versionInfo: res.versionInfo, responseNonce: res.nonce, resourceNames: names });
      for (const any of res.resources) {
        const secret = fromBinary(SecretSchema, any.value);
        held.set(secret.name, secret);
      }
      for (const n of names) assert.ok(held.has(n), `no ${n} yet`);
    }, 30000, 0);
    return held;
  };

  it("serves a gateway its namespace's Secret and CA, once RBAC lets its service account list Secrets", async () => {
    const c = connect('gateway-token', gatewayNode());
    const names = ['kubernetes://gw-cert', 'kubernetes://gw-cert-cacert'];
    c.send({ typeUrl: TYPE.secret, resourceNames: names });
    const held = await secretsFrom(c, names);
    const cert = held.get('kubernetes://gw-cert')!;
    assert.equal(cert.type.case, 'tlsCertificate');
    assert.equal(text(cert.type.case === 'tlsCertificate' ? cert.type.value.certificateChain : undefined), gwPair.cert);
    assert.equal(text(cert.type.case === 'tlsCertificate' ? cert.type.value.privateKey : undefined), gwPair.key);
    const ca = held.get('kubernetes://gw-cert-cacert')!;
    assert.equal(ca.type.case, 'validationContext');
    assert.equal(text(ca.type.case === 'validationContext' ? ca.type.value.trustedCa : undefined), 'CLIENT CA');
    assert.ok(api.requests.includes('POST /apis/authorization.k8s.io/v1/subjectaccessreviews'));

    // A rotated Secret reaches the gateway without it asking again.
    const next = await selfSigned('gateway-2.example.com');
    api.apply(tlsSecret('istio-system', 'gw-cert', next, 'CLIENT CA'));
    await eventually(async () => {
      const res = await c.responses.next('the rotated Secret', 5000);
      c.send({ typeUrl: res.typeUrl, versionInfo: res.versionInfo, responseNonce: res.nonce, resourceNames: names });
      const rotated = res.resources.map((r) => fromBinary(SecretSchema, r.value)).find((s) => s.name === 'kubernetes://gw-cert');
      assert.ok(rotated && rotated.type.case === 'tlsCertificate' && text(rotated.type.value.certificateChain) === next.cert);
    }, 30000, 0);
  });

  it('shows certificates in /debug/config_dump, never private keys', async () => {
    const dump = await (await fetch(`http://${isthmusd.http}/debug/config_dump?proxyID=istio-ingressgateway-0.istio-system`)).text();
    assert.match(dump, /tlsCertificate/);
    const secrets = (JSON.parse(dump) as { sds: { name: string; tlsCertificate?: { certificateChain: { inlineBytes: string }; privateKey: { inlineBytes: string } } }[] }).sds;
    const cert = secrets.find((x) => x.name === 'kubernetes://gw-cert')!;
    assert.match(Buffer.from(cert.tlsCertificate!.certificateChain.inlineBytes, 'base64').toString(), /BEGIN CERTIFICATE/);
    assert.equal(Buffer.from(cert.tlsCertificate!.privateKey.inlineBytes, 'base64').toString(), '[redacted]');
  });

  it('never serves a sidecar what RBAC denies it, nor another namespace; CAs need no RBAC', async () => {
    const c = connect('echo-token', sidecarNode({ namespace: 'default', metadata: { SERVICE_ACCOUNT: 'echo' } }));
    const names = ['kubernetes://app-cert', 'kubernetes://app-cert-cacert', 'kubernetes://istio-system/gw-cert'];
    c.send({ typeUrl: TYPE.secret, resourceNames: names });
    const held = await secretsFrom(c, ['kubernetes://app-cert-cacert']);
    // Give the SubjectAccessReview time to answer (no), and a push to follow if it had said yes.
    await new Promise((r) => setTimeout(r, 500));
    while (!(await c.responses.quiet(300))) {
      const res = await c.responses.next();
      for (const any of res.resources) held.set(fromBinary(SecretSchema, any.value).name, fromBinary(SecretSchema, any.value));
    }
    assert.deepEqual([...held.keys()], ['kubernetes://app-cert-cacert']);
    await isthmusd.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('attempted to access unauthorized certificates'));
  });

  it('serves no Secret on the plaintext port, where no identity is verified', async () => {
    const c = connect('', gatewayNode(), false);
    c.send({ typeUrl: TYPE.secret, resourceNames: ['kubernetes://gw-cert'] });
    const res = await c.responses.next('an SDS response', 5000).catch(() => undefined);
    assert.deepEqual(res?.resources ?? [], []);
  });
});
