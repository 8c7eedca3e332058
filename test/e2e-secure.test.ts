// isthmusd's TLS port (istiod's 15012): Istio's CA and xDS on one listener, served with a
// certificate the mesh root signs, as pilot-agent and proxyless gRPC dial it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { request as httpsRequest } from 'node:https';
import { fromBinary, toBinary, create } from '@bufbuild/protobuf';
import { startIsthmusd, type RunningIsthmusd } from './support/isthmusd.js';
import { IstioCaClient, TestIssuer, opensslCsr, opensslVerify, opensslText } from '../citadel/testing.js';
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
} from '../gen/envoy/service/discovery/v3/discovery_pb.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { sidecarNode } from './support/ads-client.js';
import { ROOT } from './support/isthmusd.js';

describe('isthmusd secure port: CA and xDS over TLS', function () {
  this.timeout(60000);
  let isthmusd: RunningIsthmusd;
  let issuer: TestIssuer;
  let rootPem: string;

  before(async () => {
    issuer = await TestIssuer.create();
    const rule = { issuer: issuer.issuer, audiences: ['istio-ca'], jwks: issuer.jwks };
    isthmusd = await startIsthmusd(join(ROOT, 'examples'), { JWT_RULE: JSON.stringify(rule) });
    rootPem = readFileSync(join(isthmusd.citadelDir, 'root-cert.pem'), 'utf8');
  });
  after(async () => isthmusd?.stop());

  it('signs a workload CSR for the token\'s identity; openssl verifies the chain against the written root', async () => {
    const ca = new IstioCaClient({ address: isthmusd.secureGrpc, rootPem });
    try {
      const { csrPem } = await opensslCsr('ec-p256');
      const res = await ca.createCertificate(csrPem, { token: await issuer.token('default', 'echo') });
      assert.ok(res.certChain.length >= 2);
      assert.equal((await opensslVerify(res.certChain, rootPem)).ok, true);
      assert.match(await opensslText(res.certChain[0]!), /URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/echo/);
      const refused = await ca.createCertificate(csrPem, {}).then(() => undefined, (e: grpc.ServiceError) => e);
      assert.equal(refused?.code, grpc.status.UNAUTHENTICATED);
    } finally {
      ca.close();
    }
  });

  const admit = (path: string, review: object) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const [host, port] = [isthmusd.webhook.slice(0, isthmusd.webhook.lastIndexOf(':')), Number(isthmusd.webhook.slice(isthmusd.webhook.lastIndexOf(':') + 1))];
      const body = JSON.stringify(review);
      const req = httpsRequest(
        { host, port, path, method: 'POST', ca: rootPem, servername: 'istiod.istio-system.svc', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it('validates Istio config on admission (/validate on 15017, certificate from the mesh CA)', async () => {
    const review = (spec: object) => ({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: 'u-1', operation: 'CREATE', namespace: 'shop', object: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'cart' }, spec } },
    });
    const ok = JSON.parse((await admit('/validate', review({ hosts: ['cart'], http: [{ route: [{ destination: { host: 'cart' } }] }] }))).body);
    assert.deepEqual([ok.response.uid, ok.response.allowed], ['u-1', true]);
    const bad = JSON.parse((await admit('/validate', review({ hosts: ['cart'], http: [{ route: [{ destination: { host: 'cart' }, weight: -3 }] }] }))).body);
    assert.equal(bad.response.allowed, false);
    assert.match(bad.response.status.message, /VirtualService shop\/cart: .*weight/);
    assert.equal((await admit('/validate', { not: 'a review' })).status, 200);
    assert.equal((await admit('/validate', 'garbage' as unknown as object)).status, 400);
    // Without injection config, /inject is not served.
    assert.equal((await admit('/inject', review({}))).status, 404);
  });

  /** One request on the TLS port (SotW, or Delta with `delta`): the first response, or the status the stream ended with. */
  type AdsResponse = DiscoveryResponse | DeltaDiscoveryResponse;
  const firstAdsResponse = async (
    isthmusdUnder: RunningIsthmusd,
    o: { token?: string; clientCert?: { certChainPem: string; keyPem: string }; namespace?: string; serviceAccount?: string; delta?: boolean },
  ): Promise<AdsResponse | grpc.ServiceError> => {
    const creds = grpc.credentials.createSsl(
      Buffer.from(rootPem),
      o.clientCert ? Buffer.from(o.clientCert.keyPem) : null,
      o.clientCert ? Buffer.from(o.clientCert.certChainPem) : null,
    );
    const client = new grpc.Client(isthmusdUnder.secureGrpc, creds, { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc', 'grpc.default_authority': 'istiod.istio-system.svc' });
    const md = new grpc.Metadata();
    if (o.token) md.set('authorization', `Bearer ${o.token}`);
    const [method, req, res] = o.delta
      ? (['DeltaAggregatedResources', DeltaDiscoveryRequestSchema, DeltaDiscoveryResponseSchema] as const)
      : (['StreamAggregatedResources', DiscoveryRequestSchema, DiscoveryResponseSchema] as const);
    const stream = client.makeBidiStreamRequest(
      `/envoy.service.discovery.v3.AggregatedDiscoveryService/${method}`,
      (m: unknown) => Buffer.from(toBinary(req as typeof DiscoveryRequestSchema, m as never)),
      (b: Buffer) => fromBinary(res as typeof DiscoveryResponseSchema, b) as AdsResponse,
      md,
    );
    try {
      const first = new Promise<AdsResponse | grpc.ServiceError>((resolve, reject) => {
        stream.once('data', resolve);
        stream.once('error', resolve);
        stream.once('status', (s: grpc.StatusObject) => reject(new Error(`stream ended with ${s.code} ${s.details} before any response`)));
      });
      const metadata: Record<string, string> = o.serviceAccount ? { SERVICE_ACCOUNT: o.serviceAccount } : {};
      stream.write(create(req as typeof DiscoveryRequestSchema, { node: sidecarNode({ namespace: o.namespace, metadata }), typeUrl: TYPE.cluster }));
      return await first;
    } finally {
      stream.cancel();
      client.close();
    }
  };
  const isResponse = (r: AdsResponse | grpc.ServiceError): r is AdsResponse => 'typeUrl' in r;

  it('serves ADS on the same TLS port to a proxy whose token names its namespace and service account', async () => {
    const res = await firstAdsResponse(isthmusd, { token: await issuer.token('default', 'echo'), serviceAccount: 'echo' });
    assert.ok(isResponse(res), `stream failed: ${(res as grpc.ServiceError).message}`);
    assert.equal(res.typeUrl, TYPE.cluster);
    assert.ok(res.resources.length > 0);
  });

  it('serves ADS on the TLS port to a proxy with a client certificate the mesh CA issued', async () => {
    const ca = new IstioCaClient({ address: isthmusd.secureGrpc, rootPem });
    try {
      const { csrPem, keyPem } = await opensslCsr('ec-p256');
      const { certChain } = await ca.createCertificate(csrPem, { token: await issuer.token('shop', 'cart') });
      const clientCert = { certChainPem: certChain.join(''), keyPem };
      const res = await firstAdsResponse(isthmusd, { clientCert, namespace: 'shop', serviceAccount: 'cart' });
      assert.ok(isResponse(res), `stream failed: ${(res as grpc.ServiceError).message}`);
      // The certificate's identity decides, not what the node claims.
      const other = await firstAdsResponse(isthmusd, { clientCert, namespace: 'default' });
      assert.ok(!isResponse(other));
      assert.equal(other.code, grpc.status.PERMISSION_DENIED);
    } finally {
      ca.close();
    }
  });

  it('ends unauthenticated TLS streams (UNAUTHENTICATED) and streams whose identity is another namespace or account (PERMISSION_DENIED), as istiod with XDS_AUTH', async () => {
    const anonymous = await firstAdsResponse(isthmusd, {});
    assert.ok(!isResponse(anonymous));
    assert.equal(anonymous.code, grpc.status.UNAUTHENTICATED);
    assert.equal(anonymous.details, 'authentication failure');

    const forged = await firstAdsResponse(isthmusd, { token: 'not-a-jwt' });
    assert.ok(!isResponse(forged));
    assert.deepEqual([forged.code, forged.details], [grpc.status.UNAUTHENTICATED, 'authentication failure']);

    const elsewhere = await firstAdsResponse(isthmusd, { token: await issuer.token('shop', 'cart'), namespace: 'default' });
    assert.ok(!isResponse(elsewhere));
    assert.equal(elsewhere.code, grpc.status.PERMISSION_DENIED);
    assert.equal(elsewhere.details, 'authorization failed: no identities ([spiffe://cluster.local/ns/shop/sa/cart]) matched default/');

    const otherAccount = await firstAdsResponse(isthmusd, { token: await issuer.token('default', 'cart'), serviceAccount: 'echo' });
    assert.ok(!isResponse(otherAccount));
    assert.equal(otherAccount.code, grpc.status.PERMISSION_DENIED);
    assert.match(otherAccount.details, /matched default\/echo$/);

    // The server keeps serving: a good stream still gets config.
    assert.ok(isResponse(await firstAdsResponse(isthmusd, { token: await issuer.token('default', 'echo') })));
  });

  it('holds Delta streams on the TLS port to the same rules', async () => {
    const ok = await firstAdsResponse(isthmusd, { delta: true, token: await issuer.token('default', 'echo') });
    assert.ok(isResponse(ok) && ok.resources.length > 0);
    const anonymous = await firstAdsResponse(isthmusd, { delta: true });
    assert.equal((anonymous as grpc.ServiceError).code, grpc.status.UNAUTHENTICATED);
    const elsewhere = await firstAdsResponse(isthmusd, { delta: true, token: await issuer.token('shop', 'cart'), namespace: 'default' });
    assert.equal((elsewhere as grpc.ServiceError).code, grpc.status.PERMISSION_DENIED);
  });

  it('serves anonymous TLS streams with XDS_AUTH=false, and skips the identity check with PILOT_ENABLE_XDS_IDENTITY_CHECK=false', async () => {
    const open = await startIsthmusd(join(ROOT, 'examples'), { XDS_AUTH: 'false', ISTHMUS_CITADEL_DIR: isthmusd.citadelDir });
    try {
      assert.ok(isResponse(await firstAdsResponse(open, {})));
    } finally {
      await open.stop();
    }
    const rule = { issuer: issuer.issuer, audiences: ['istio-ca'], jwks: issuer.jwks };
    const unchecked = await startIsthmusd(join(ROOT, 'examples'), { JWT_RULE: JSON.stringify(rule), PILOT_ENABLE_XDS_IDENTITY_CHECK: 'false', ISTHMUS_CITADEL_DIR: isthmusd.citadelDir });
    try {
      assert.ok(isResponse(await firstAdsResponse(unchecked, { token: await issuer.token('shop', 'cart'), namespace: 'default' })));
      const anonymous = await firstAdsResponse(unchecked, {});
      assert.ok(!isResponse(anonymous));
      assert.equal(anonymous.code, grpc.status.UNAUTHENTICATED);
    } finally {
      await unchecked.stop();
    }
  });
});
