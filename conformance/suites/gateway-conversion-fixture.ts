// The environment Istio's TestConvertResources builds around every Gateway API test input
// (pilot/pkg/config/kube/gateway/conversion_test.go): the registry services its push context
// knows, the Kubernetes Services made from those in `domain.suffix`, a few Secrets and
// ConfigMaps, a Namespace (labelled `istio.io/test-name-part`) per namespace of the input, and
// the feature flags the test sets. Certificates come from Istio's test data in place.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RegistryService } from '../../pilot/config/kube-conversion/index.js';
import type { GatewayApiFeatures } from '../../pilot/config/kube-conversion/index.js';

export const DOMAIN_SUFFIX = 'domain.suffix';

const PORTS = [
  { name: 'http', port: 80 },
  { name: 'tcp', port: 34000 },
  { name: 'tcp-other', port: 34001 },
];

interface FixtureService extends RegistryService {
  /** Kubernetes name when it differs from the host's first label. */
  name?: string;
}

const svc = (hostname: string, namespace: string, extra: Partial<FixtureService> = {}): FixtureService => ({
  hostname,
  namespace,
  labels: {},
  ports: PORTS,
  ...extra,
});

function poolLabels(extSvc: string): Record<string, string> {
  return {
    'istio.io/inferencepool-extension-service': extSvc,
    'istio.io/inferencepool-extension-port': '9002',
    'istio.io/inferencepool-extension-failure-mode': 'FailClose',
  };
}

/** The registry services of the test (`services` in conversion_test.go). Pool hosts are filled in by `fixtureServices`. */
function baseServices(poolHost: (pool: string) => string): FixtureService[] {
  const d = (name: string, ns: string) => `${name}.${ns}.svc.${DOMAIN_SUFFIX}`;
  const pool = [{ name: 'http', port: 54321 }];
  return [
    svc(d('istio-ingressgateway', 'istio-system'), 'istio-system', {
      name: 'istio-ingressgateway',
      ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }, ...PORTS.slice(1)],
    }),
    svc('example.com', 'istio-system'),
    svc(d('httpbin', 'default'), 'default'),
    svc(poolHost('infpool-gen'), 'default', { labels: poolLabels('ext-proc-svc'), ports: pool }),
    svc(poolHost('infpool-gen2'), 'default', { labels: poolLabels('ext-proc-svc-2'), ports: pool }),
    svc(poolHost('infpool-model1'), 'default', { labels: poolLabels('model1-epp') }),
    svc(poolHost('infpool-model2'), 'default', { labels: poolLabels('model2-epp') }),
    svc(d('httpbin-apple', 'apple'), 'apple'),
    svc(d('httpbin-banana', 'banana'), 'banana'),
    ...['httpbin-second', 'httpbin-wildcard', 'foo-svc', 'httpbin-other', 'example', 'echo'].map((n) => svc(d(n, 'default'), 'default')),
    svc(d('httpbin', 'cert'), 'cert'),
    svc(d('my-svc', 'service'), 'service'),
    svc('google.com', 'default'),
    svc(d('a-example', 'allowed-1'), 'allowed-1'),
    svc(d('a-example', 'allowed-2'), 'allowed-2'),
    svc(d('b-example', 'allowed-1'), 'allowed-1'),
    svc(d('svc2', 'allowed-1'), 'allowed-1'),
    svc(d('svc2', 'allowed-2'), 'allowed-2'),
    svc(d('svc1', 'allowed-1'), 'allowed-1'),
    svc(d('svc3', 'allowed-2'), 'allowed-2'),
    svc(d('svc4', 'default'), 'default'),
    svc(d('httpbin', 'group-namespace1'), 'group-namespace1'),
    svc(d('httpbin', 'group-namespace2'), 'group-namespace2'),
    svc(d('httpbin-zero', 'default'), 'default'),
    svc(d('httpbin', 'istio-system'), 'istio-system'),
    ...['httpbin-mirror', 'httpbin-foo', 'httpbin-alt'].map((n) => svc(d(n, 'default'), 'default')),
    svc('secure.example.net', 'default'),
    svc('cross.example.net', 'allowed-1'),
    svc('plaintext.example.net', 'default'),
    svc('tcp.example.net', 'default'),
    svc(d('istiod', 'istio-system'), 'istio-system'),
    svc(d('echo', 'istio-system'), 'istio-system'),
    svc(d('httpbin-bad', 'default'), 'default'),
    ...['echo-1', 'echo-2', 'echo-port', 'not-found'].map((n) => svc(d(n, 'default'), 'default', { name: n })),
  ];
}

export function fixtureServices(poolHost: (pool: string) => string): FixtureService[] {
  return baseServices(poolHost);
}

function certs(testdata: string): { cert: string; key: string } {
  const dir = join(testdata, 'tests', 'testdata', 'certs', 'default');
  return { cert: readFileSync(join(dir, 'cert-chain.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Kubernetes objects the test adds to every input: Services, Secrets, ConfigMaps. */
export function fixtureObjects(testdata: string, services: FixtureService[]): Record<string, unknown>[] {
  const { cert, key } = certs(testdata);
  const out: Record<string, unknown>[] = [];
  for (const s of services) {
    if (!s.hostname.endsWith(DOMAIN_SUFFIX)) continue;
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: s.name ?? s.hostname.split('.')[0], namespace: s.namespace },
      spec: { ports: PORTS.map((p) => ({ name: p.name, port: p.port, protocol: 'TCP' })) },
    });
  }
  const secret = (name: string, namespace: string, data: Record<string, string>) =>
    out.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) });
  const pair = { 'tls.crt': cert, 'tls.key': key };
  secret('my-cert-http', 'istio-system', { ...pair, 'ca.crt': cert });
  secret('ns2-cert', 'ns2', pair);
  secret('ns3-cert', 'ns3', pair);
  secret('ns4-cert', 'ns4', pair);
  secret('my-cert', 'istio-system', pair);
  secret('my-cert-http2', 'istio-system', pair);
  secret('cert', 'cert', pair);
  secret('bookinfo-secret', 'bookinfo', pair);
  secret('another-secret', 'bookinfo', pair);
  secret('malformed', 'istio-system', { 'tls.crt': 'SGVsbG8gd29ybGQK', 'tls.key': 'SGVsbG8gd29ybGQK' });
  const configMap = (name: string, namespace: string, data: Record<string, string>) =>
    out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data });
  configMap('malformed', 'istio-system', { 'not-ca.crt': 'hello' });
  configMap('malformed-trustbundle', 'istio-system', { 'ca.crt': 'hello' });
  configMap('my-cert-http', 'istio-system', { 'ca.crt': cert });
  configMap('malformed', 'default', { 'not-ca.crt': 'hello' });
  configMap('auth-cert', 'default', { 'ca.crt': cert });
  return out;
}

/** A Namespace for each namespace the input uses. */
export function fixtureNamespaces(namespaces: Iterable<string>): Record<string, unknown>[] {
  return [...new Set(namespaces)]
    .filter((ns) => ns)
    .map((ns) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'istio.io/test-name-part': ns.split('-')[0] } } }));
}

/** The feature flags TestConvertResources runs with (its init() and SetForTest calls). */
export const FIXTURE_FEATURES: Partial<GatewayApiFeatures> = {
  enableAlphaGatewayApi: true,
  enableAmbientWaypoints: true,
  enableAmbientMultiNetwork: true,
  enableInferenceExtension: true,
};

/** TestConvertResources' table, in its order. */
export const GATEWAY_CASES = [
  'http', 'tcp', 'tls', 'tls-terminate', 'grpc', 'mismatch', 'weighted', 'zero', 'mesh', 'foreign-waypoint', 'invalid',
  'multi-gateway', 'delegated', 'route-binding', 'reference-policy-tls', 'reference-policy-service', 'reference-policy-tcp',
  'reference-policy-inferencepool', 'serviceentry', 'status', 'eastwest', 'eastwest-tlsoption', 'eastwest-labelport',
  'eastwest-remote', 'east-west-ambient', 'mcs', 'route-precedence', 'waypoint', 'isolation', 'backend-lb-policy',
  'backend-tls-policy', 'mix-backend-policy', 'backend-tls-policy-ignored', 'backend-traffic-policy-ignored', 'listenerset',
  'listenerset-cross-namespace', 'listenerset-same-name-different-ns', 'listenerset-invalid', 'listenerset-overlapping-port',
  'listenerset-hostname-conflict', 'listenerset-protocol-conflict', 'listenerset-https-missing-tls', 'listenerset-empty-listeners',
  'valid-invalid-parent-ref', 'redirect-only', 'reference-grant-multiple-to', 'http-grpc-same-host', 'empty-backend-refs',
  'gateway-invalid-parameters-ref', 'frontend-tls-invalid', 'frontend-tls-refgrant', 'backend-tls-client-cert', 'xbackend',
];

/** TestGoldenConversion's cases (ingress). */
export const INGRESS_CASES = ['simple', 'tls', 'overlay', 'tls-no-secret'];
