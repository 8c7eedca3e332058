// isthmusd fetches the JWKS a RequestAuthentication names (from a real HTTP server on
// loopback) and pushes it to the sidecar inline, as istiod does by default; when the server's
// keys change, the next refresh pushes the new ones.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import type { Listener } from '../gen/envoy/config/listener/v3/listener_pb.js';
import type { HttpConnectionManager } from '../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import type { JwtAuthentication } from '../gen/envoy/extensions/filters/http/jwt_authn/v3/config_pb.js';
import { PUBLIC_ONLY_JWKS } from '../pilot/model/jwks.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { envoyRegistry } from '../pilot/networking/registry.js';
import { SotwClient, sidecarNode } from './support/ads-client.js';
import { startIsthmusd, type RunningIsthmusd } from './support/isthmusd.js';

const unpack = <T>(any: unknown): T => anyUnpack(any as never, envoyRegistry()) as unknown as T;

/** The inline JWKS of the sidecar's first JWT provider, from one LDS response. */
function inlineJwks(resources: { value: Uint8Array; typeUrl: string }[]): string | undefined {
  for (const r of resources) {
    const l = unpack<Listener>(r);
    if (l.name !== 'virtualInbound') continue;
    for (const c of l.filterChains) {
      const hcmFilter = c.filters.find((f) => f.name === 'envoy.filters.network.http_connection_manager');
      if (!hcmFilter) continue;
      const jwt = unpack<HttpConnectionManager>(hcmFilter.configType.value).httpFilters.find((f) => f.name === 'envoy.filters.http.jwt_authn');
      if (!jwt) continue;
      const source = unpack<JwtAuthentication>(jwt.configType.value).providers['origins-0']!.jwksSourceSpecifier;
      return source.case === 'localJwks' ? (source.value.specifier.value as string) : undefined;
    }
  }
  return undefined;
}

describe('JWKS fetched by isthmusd and pushed inline (real HTTP server on loopback)', function () {
  this.timeout(60000);
  let jwksServer: Server;
  let keys = JSON.stringify({ keys: [{ kty: 'RSA', kid: 'one', e: 'AQAB', n: 'first' }] });
  let dir: string;
  let isthmusd: RunningIsthmusd;
  let client: SotwClient;

  before(async () => {
    jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(keys));
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    const port = (jwksServer.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'isthmus-jwks-'));
    writeFileSync(
      join(dir, 'mesh.yaml'),
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9080, name: http, protocol: HTTP}]
  endpoints: [{address: 10.1.0.42}]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  jwtRules: [{issuer: "https://issuer.example.com", jwksUri: "http://127.0.0.1:${port}/keys"}]
`,
    );
    isthmusd = await startIsthmusd(dir, { PILOT_JWT_PUB_KEY_REFRESH_INTERVAL: '300ms' });
    client = new SotwClient(isthmusd.grpc, sidecarNode({ pod: 'reviews-1', ip: '10.1.0.42' }));
  });
  after(async () => {
    client?.close();
    await isthmusd?.stop();
    await new Promise<void>((r) => jwksServer.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Reads LDS responses (ACKing each) until the inline key set is `want`. */
  async function untilKeys(want: string): Promise<void> {
    const seen: (string | undefined)[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await client.responses.next('an LDS response', 15000);
      client.send({ typeUrl: TYPE.listener, versionInfo: res.versionInfo, responseNonce: res.nonce });
      const got = inlineJwks(res.resources);
      seen.push(got);
      if (got === want) return;
    }
    assert.fail(`never got the keys; saw ${JSON.stringify(seen)}`);
  }

  it('pushes the fetched keys to the sidecar, and the new ones after the server changes them', async () => {
    client.send({ typeUrl: TYPE.listener });
    await untilKeys(keys);
    assert.notEqual(keys, PUBLIC_ONLY_JWKS);
    keys = JSON.stringify({ keys: [{ kty: 'RSA', kid: 'two', e: 'AQAB', n: 'second' }] });
    await untilKeys(keys);
  });
});
