// Istio's validation rules per kind: errors reject, warnings are reported and the resource is kept.
import assert from 'node:assert/strict';
import { parseYaml } from '../pilot/config/parse.js';

interface Outcome {
  accepted: boolean;
  errors: string[];
  warnings: string[];
}

/** Validates one object (YAML of its spec) of `kind` as the config loader does. */
function check(kind: string, spec: string, opts: { apiVersion?: string; meta?: string } = {}): Outcome {
  const apiVersion =
    opts.apiVersion ??
    ({
      PeerAuthentication: 'security.istio.io/v1',
      AuthorizationPolicy: 'security.istio.io/v1',
      RequestAuthentication: 'security.istio.io/v1',
      Telemetry: 'telemetry.istio.io/v1',
      WasmPlugin: 'extensions.istio.io/v1alpha1',
      EnvoyFilter: 'networking.istio.io/v1alpha3',
    } as Record<string, string>)[kind] ??
    'networking.istio.io/v1';
  const meta = opts.meta ?? '{name: x, namespace: ns}';
  const r = parseYaml(`apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: ${meta}\nspec:\n${spec.replace(/^/gm, '  ')}\n`);
  return {
    accepted: r.resources.length === 1,
    errors: r.errors.map((e) => `${e.field}: ${e.message}`),
    warnings: r.warnings.map((e) => `${e.field}: ${e.message}`),
  };
}

const has = (list: string[], part: string) => assert.ok(list.some((l) => l.includes(part)), `no ${JSON.stringify(part)} in\n${list.join('\n')}`);
const rejected = (o: Outcome, part: string) => {
  assert.equal(o.accepted, false, 'expected rejection');
  has(o.errors, part);
};
const acceptedWith = (o: Outcome, warning?: string) => {
  assert.deepEqual(o.errors, []);
  assert.equal(o.accepted, true);
  if (warning) has(o.warnings, warning);
  else assert.deepEqual(o.warnings, []);
};

const route = (host = 'a.ns.svc.cluster.local') => `route: [{destination: {host: ${host}}}]`;

describe('validation: VirtualService', () => {
  it('accepts a plain routing rule and reports field paths of errors', () => {
    acceptedWith(check('VirtualService', `hosts: [a]\nhttp:\n- ${route()}`));
    const o = check('VirtualService', `hosts: [a]\nhttp:\n- timeout: 0.0001s\n  ${route()}`);
    rejected(o, 'spec.http[0].timeout: must be a valid duration greater than 1ms');
  });

  it('rejects wildcard and duplicate hosts, bad gateways, JWT claim routes without gateways', () => {
    rejected(check('VirtualService', `hosts: ["*"]\nhttp:\n- ${route()}`), 'wildcard host * is not allowed for virtual services bound to the mesh gateway');
    rejected(check('VirtualService', `hosts: ["*.foo.com", "a.foo.com"]\nhttp:\n- ${route()}`), 'duplicate hosts in virtual service: *.foo.com & a.foo.com');
    rejected(check('VirtualService', `hosts: [a]\ngateways: ["ns/b@d"]\nhttp:\n- ${route()}`), 'invalid value for gateway name: "b@d"');
    rejected(
      check('VirtualService', `hosts: [a]\nhttp:\n- match: [{headers: {"@request.auth.claims.group": {exact: admin}}}]\n  ${route()}`),
      'JWT claim based routing (key: @request.auth.claims.group) is only supported for gateway',
    );
    acceptedWith(check('VirtualService', `hosts: [a.com]\ngateways: [ns/gw]\nhttp:\n- match: [{headers: {"@request.auth.claims.group": {exact: admin}}}]\n  ${route()}`));
  });

  it('applies the delegate rules: delegates have no gateways or L4 routes, roots only delegate', () => {
    rejected(check('VirtualService', `gateways: [ns/gw]\nhttp:\n- ${route()}`), 'delegate virtual service must have no gateways specified');
    rejected(check('VirtualService', `tcp:\n- ${route()}`), 'delegate virtual service must have no tcp route specified');
    rejected(check('VirtualService', 'http:\n- delegate: {name: d, namespace: ns}'), 'delegate HTTP route cannot contain delegate');
    rejected(check('VirtualService', `hosts: [a]\nhttp:\n- delegate: {name: d}\n  ${route()}`), 'root HTTP route  must not specify route');
    acceptedWith(check('VirtualService', 'hosts: [a]\nhttp:\n- match: [{uri: {prefix: /x}}]\n  delegate: {name: d, namespace: ns}'));
  });

  it('checks regexes as RE2, header operations, retries, redirects, faults and weights', () => {
    rejected(check('VirtualService', `hosts: [a]\nhttp:\n- match: [{uri: {regex: "a(?=b)"}}]\n  ${route()}`), 'Istio uses RE2 style regex-based match');
    rejected(check('VirtualService', `hosts: [a]\nhttp:\n- headers: {request: {set: {":path": /x}}}\n  ${route()}`), 'invalid header ":path": header cannot have ":" prefix');
    rejected(check('VirtualService', `hosts: [a]\nhttp:\n- headers: {response: {add: {x: "%BAD"}}}\n  ${route()}`), 'header value configuration');
    rejected(check('VirtualService', `hosts: [a]\nhttp:\n- retries: {attempts: 2, retryOn: "5xx,teapot"}\n  ${route()}`), '"teapot" is not a valid retryOn policy');
    acceptedWith(check('VirtualService', `hosts: [a]\nhttp:\n- retries: {attempts: 2, retryOn: "5xx,503,unavailable"}\n  ${route()}`));
    rejected(check('VirtualService', 'hosts: [a]\nhttp:\n- redirect: {uri: /a, redirectCode: 200}'), '200 is not a valid redirect code, must be 3xx');
    rejected(check('VirtualService', `hosts: [a]\nhttp:\n- fault: {abort: {grpcStatus: NOPE}}\n  ${route()}`), 'gRPC status "NOPE" is not supported');
    rejected(
      check('VirtualService', 'hosts: [a]\nhttp:\n- route: [{destination: {host: a}, weight: 0}, {destination: {host: b}, weight: 0}]'),
      'total destination weight = 0',
    );
    rejected(check('VirtualService', `hosts: [a]\nhttp:\n- rewrite: {authority: x}\n  headers: {request: {set: {host: y}}}\n  ${route()}`), 'authority header cannot be set multiple times');
  });

  it('warns about rules and matches that can never apply, and deprecated settings', () => {
    const dup = check('VirtualService', `hosts: [a]\nhttp:\n- name: first\n  match: [{uri: {exact: /x}}]\n  ${route()}\n- match: [{uri: {exact: /x}, name: again}]\n  ${route()}`);
    acceptedWith(dup, 'virtualService rule #1 match "again" is not used (duplicate/overlapping match in rule "first")');
    has(dup.warnings, 'virtualService rule #1 not used (all matches used by prior rules)');
    acceptedWith(check('VirtualService', `hosts: [a]\nhttp:\n- ${route()}\n- match: [{uri: {exact: /x}}]\n  ${route()}`), 'not used (route without matches defined before)');
    acceptedWith(
      check('VirtualService', `hosts: [a]\nhttp:\n- match: [{uri: {prefix: /api}}]\n  ${route()}\n- match: [{uri: {prefix: /api/v1}}]\n  ${route()}`),
      'virtualService rule #1 match #0 of prefix /api/v1 is not used (duplicate/overlapping match in rule #0 of prefix /api on #0)',
    );
    acceptedWith(check('VirtualService', `hosts: [a]\nhttp:\n- mirror: {host: m}\n  mirrorPercent: 5\n  ${route()}`), 'using deprecated setting "mirrorPercent"');
    acceptedWith(check('VirtualService', `hosts: [a]\ngateways: [gw.ns]\nhttp:\n- ${route()}`), 'using legacy gatewayName format "gw.ns"; prefer the <namespace>/<name> format: "ns/gw"');
  });

  it('checks TLS routes against the hosts and warns about IP SNI hosts', () => {
    rejected(check('VirtualService', 'hosts: [a.com]\ntls:\n- match: [{sniHosts: [b.com]}]\n  route: [{destination: {host: a}}]'), 'SNI host "b.com" is not a compatible subset');
    acceptedWith(check('VirtualService', 'hosts: [a.com]\ntls:\n- match: [{sniHosts: [1.1.1.1]}]\n  route: [{destination: {host: a}}]'), 'using an IP address ("1.1.1.1")');
  });

  it('resolves exportTo "." against the namespace', () => {
    rejected(check('VirtualService', `hosts: [a]\nexportTo: [ns, "."]\nhttp:\n- ${route()}`), 'duplicate entries in exportTo: . and current namespace ns');
    rejected(check('VirtualService', `hosts: [a]\nexportTo: ["*", ns]\nhttp:\n- ${route()}`), 'cannot have both public (*) and non-public exportTo values');
  });
});

describe('validation: DestinationRule', () => {
  it('checks traffic policies, load balancers, outlier detection and TLS', () => {
    rejected(check('DestinationRule', 'host: a\ntrafficPolicy: {}'), 'traffic policy must have at least one field');
    rejected(check('DestinationRule', 'host: a\ntrafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x, maglev: {tableSize: 1000}}}}'), 'tableSize must be a prime number for maglev');
    rejected(check('DestinationRule', 'host: a\ntrafficPolicy: {tls: {mode: MUTUAL}}'), 'client certificate required for mutual tls');
    rejected(check('DestinationRule', 'host: a\ntrafficPolicy: {tls: {mode: SIMPLE, credentialName: "configmap://other/ca"}}'), 'namespace must match the configuration namespace "ns"');
    rejected(
      check('DestinationRule', 'host: a\ntrafficPolicy: {loadBalancer: {localityLbSetting: {distribute: [{from: us/*, to: {"us/a/*": 60, "us/b/*": 30}}]}}}'),
      'total locality weight 90 != 100',
    );
    acceptedWith(check('DestinationRule', 'host: a\ntrafficPolicy: {outlierDetection: {consecutiveErrors: 5}}'), 'outlier detection consecutive errors is deprecated');
    acceptedWith(check('DestinationRule', 'host: a\ntrafficPolicy: {loadBalancer: {localityLbSetting: {failover: [{from: us, to: eu}]}}}'), 'outlier detection policy must be provided for failover');
  });

  it('checks subsets, exportTo with a workload selector and the selector itself', () => {
    rejected(check('DestinationRule', 'host: a\nsubsets: [{name: v1}, {name: v1}]'), 'spec.subsets[1].name: duplicate subset names: v1');
    rejected(check('DestinationRule', 'host: a\nsubsets: [{name: V_1}]'), 'subset name is invalid: V_1');
    rejected(check('DestinationRule', 'host: a\nworkloadSelector: {matchLabels: {app: x}}\nexportTo: ["*"]'), 'destination rule with workload selector cannot have exportTo beyond current namespace');
    acceptedWith(check('DestinationRule', 'host: a\nworkloadSelector: {}'), 'workload selector specified without labels');
  });
});

describe('validation: Gateway', () => {
  const server = (extra: string) => `servers:\n- port: {number: 443, name: https, protocol: HTTPS}\n  hosts: ["*.example.com"]\n${extra}`;
  it('checks names, hosts, ports, binds and TLS settings', () => {
    acceptedWith(check('Gateway', server('  tls: {mode: SIMPLE, credentialName: cert}')));
    rejected(check('Gateway', server('  tls: {mode: SIMPLE, credentialName: cert}'), { meta: '{name: a.b, namespace: ns}' }), 'invalid gateway name: "a.b"');
    rejected(check('Gateway', server('')), 'server must have TLS settings for HTTPS/TLS protocols');
    rejected(check('Gateway', server('  tls: {mode: ISTIO_MUTUAL, credentialName: cert}')), 'ISTIO_MUTUAL TLS cannot have associated credentialName');
    rejected(check('Gateway', server('  tls: {mode: MUTUAL, serverCertificate: a, privateKey: b}')), 'MUTUAL TLS requires a client CA bundle');
    rejected(check('Gateway', 'servers:\n- port: {number: 80, name: http, protocol: HTTP}\n  hosts: [ns/foo*.com]'), 'partial wildcard "foo*.com" not allowed');
    rejected(check('Gateway', 'servers:\n- port: {number: 80, name: http, protocol: HTTP}\n  bind: unix:///sock\n  hosts: ["*"]'), 'port number must be 0 for unix domain socket');
  });

  it('warns about httpsRedirect on non-HTTP servers and unknown cipher suites', () => {
    acceptedWith(check('Gateway', server('  tls: {mode: SIMPLE, credentialName: cert, httpsRedirect: true}')), 'tls.httpsRedirect should only be used with http servers');
    acceptedWith(check('Gateway', server('  tls: {mode: SIMPLE, credentialName: cert, cipherSuites: [NOPE, ECDHE-RSA-AES128-SHA]}')), 'ignoring invalid cipher suites: [NOPE]');
  });
});

describe('validation: ServiceEntry, WorkloadEntry, WorkloadGroup', () => {
  it('checks resolutions and their endpoints', () => {
    acceptedWith(check('ServiceEntry', 'hosts: [api.example.com]\nports: [{number: 443, name: https, protocol: TLS}]\nresolution: DNS'));
    rejected(check('ServiceEntry', 'hosts: [a.com]\nresolution: DNS_ROUND_ROBIN\nendpoints: [{address: b.com}, {address: c.com}]'), 'DNS_ROUND_ROBIN mode cannot have multiple endpoints');
    rejected(check('ServiceEntry', 'hosts: [a.com]\nresolution: STATIC\nports: [{number: 80, name: http}]\nendpoints: [{address: b.com}]'), 'endpoint address "b.com" is not a valid IP address');
    rejected(check('ServiceEntry', 'hosts: [a.com, b.com]\nresolution: DNS\nports: [{number: 80, name: tcp, protocol: TCP}]'), 'multiple hosts provided with non-HTTP, non-TLS ports');
    rejected(check('ServiceEntry', 'hosts: [a.com]\nresolution: DYNAMIC_DNS\nports: [{number: 80, name: http, protocol: HTTP}]'), 'host must be wildcarded for resolution mode DYNAMIC_DNS');
  });

  it('warns about partial wildcards and TCP ports without addresses when auto-allocation is off', () => {
    // DYNAMIC_DNS is where partial wildcards work: no warning there.
    acceptedWith(check('ServiceEntry', 'hosts: ["*.a.com", "*b.com"]\nresolution: DYNAMIC_DNS\nports: [{number: 443, name: tls, protocol: TLS}]'));
    acceptedWith(check('ServiceEntry', 'hosts: ["*b.com"]\nports: [{number: 80, name: http, protocol: HTTP}]'), 'partial wildcard "*b.com" not allowed');
    acceptedWith(
      check('ServiceEntry', 'hosts: [a.com]\nresolution: DNS\nports: [{number: 5432, name: tcp}]', { meta: '{name: x, namespace: ns, labels: {networking.istio.io/enable-autoallocate-ip: "false"}}' }),
      'addresses are required for ports serving TCP (or unset) protocol',
    );
  });

  it('checks workload addresses, ports and probes', () => {
    acceptedWith(check('WorkloadEntry', 'network: n1'), 'address is unset with network "n1"');
    rejected(check('WorkloadEntry', 'address: unix:///sock\nports: {http: 80}'), 'UDS may not include ports');
    rejected(check('WorkloadEntry', 'address: "foo:80"'), 'endpoint address "foo:80" is not a valid FQDN or an IP address');
    rejected(check('WorkloadGroup', 'template: {serviceAccount: sa}\nprobe: {periodSeconds: 1}'), 'unknown health check method <nil>');
    acceptedWith(check('WorkloadGroup', 'template: {serviceAccount: sa}\nprobe: {httpGet: {port: 8080, path: /ready}}'));
  });
});

describe('validation: Sidecar', () => {
  it('checks listeners, binds, default endpoints and egress hosts', () => {
    rejected(check('Sidecar', '{}'), 'sidecar: empty configuration provided');
    rejected(check('Sidecar', 'egress:\n- hosts: ["*/*"]\n- port: {number: 80, name: http, protocol: HTTP}\n  hosts: ["./*"]'), 'the egress listener with empty port should be the last listener in the list');
    rejected(check('Sidecar', 'ingress:\n- port: {number: 80, name: http, protocol: HTTP}\n  defaultEndpoint: 10.0.0.1:80'), 'sidecar: defaultEndpoint must be of form');
    rejected(check('Sidecar', 'egress:\n- hosts: [foo.com]'), 'host must be of form namespace/dnsName');
    acceptedWith(check('Sidecar', 'egress:\n- hosts: ["ns/*", "./*"]'), 'duplicated egress host: ./*');
  });

  it('warns about HTTP pool settings on TCP ports and selectors without labels', () => {
    acceptedWith(
      check('Sidecar', 'ingress:\n- port: {number: 90, name: db, protocol: TCP}\n  connectionPool: {http: {http1MaxPendingRequests: 10}}'),
      'HTTP connection pool settings are configured for port 90 ("db") but its protocol is not HTTP (TCP)',
    );
    acceptedWith(check('Sidecar', 'workloadSelector: {}\negress: [{hosts: ["./*"]}]'), 'sidecar: workload selector specified without labels');
  });
});

describe('validation: security.istio.io', () => {
  it('PeerAuthentication: port-level mTLS needs a selector', () => {
    acceptedWith(check('PeerAuthentication', 'selector: {matchLabels: {app: a}}\nportLevelMtls: {"8080": {mode: DISABLE}}'));
    rejected(check('PeerAuthentication', 'portLevelMtls: {"8080": {mode: DISABLE}}'), 'portLevelMtls requires selector');
    const webhookOnly = parseYaml('apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: p, namespace: ns}\nspec: {portLevelMtls: {"80": {mode: STRICT}}}\n', { crdChecks: false });
    assert.deepEqual(webhookOnly.errors.map((e) => e.message), ['mesh/namespace peer authentication cannot have port level mTLS']);
  });

  it('AuthorizationPolicy: errors carry the policy name, DENY on HTTP-only attributes warns', () => {
    rejected(check('AuthorizationPolicy', 'action: DENY'), 'invalid policy x.ns: DENY action without `rules` is meaningless');
    rejected(check('AuthorizationPolicy', 'rules: [{to: [{operation: {ports: ["99999"]}}]}]'), 'bad port (99999)');
    rejected(check('AuthorizationPolicy', 'rules: [{when: [{key: destination.namespace, values: [a]}]}]'), 'attribute destination.namespace is replaced by the metadata.namespace');
    rejected(check('AuthorizationPolicy', 'rules: [{to: [{operation: {paths: ["/a/{**}/b/{*}"]}}]}]'), '{**} is not the last operator');
    rejected(check('AuthorizationPolicy', 'action: CUSTOM\nprovider: {name: ext}\nrules: [{from: [{source: {namespaces: [a]}}]}]'), 'From.Namespaces is currently not supported with CUSTOM action');
    acceptedWith(check('AuthorizationPolicy', 'action: DENY\nrules: [{to: [{operation: {methods: [POST]}}]}]'), 'configured AuthorizationPolicy will deny all traffic to TCP ports');
    acceptedWith(check('AuthorizationPolicy', 'action: DENY\nrules: [{to: [{operation: {methods: [POST], ports: ["8080"]}}]}]'));
  });

  it('checks the dry-run annotation: AuthorizationPolicy ALLOW/DENY only, boolean value', () => {
    acceptedWith(check('AuthorizationPolicy', 'rules: [{}]', { meta: '{name: x, namespace: ns, annotations: {istio.io/dry-run: "true"}}' }));
    rejected(check('AuthorizationPolicy', 'rules: [{}]', { meta: '{name: x, namespace: ns, annotations: {istio.io/dry-run: "yes"}}' }), 'has annotation istio.io/dry-run with invalid value (yes)');
    rejected(check('Sidecar', 'egress: [{hosts: ["./*"]}]', { meta: '{name: x, namespace: ns, annotations: {istio.io/dry-run: "true"}}' }), 'ns/x has unsupported annotation istio.io/dry-run');
  });

  it('RequestAuthentication: JWKS URIs and documents, claim headers, private keys', () => {
    acceptedWith(check('RequestAuthentication', 'jwtRules: [{issuer: a, jwksUri: "https://a.example.com/keys", outputClaimToHeaders: [{header: x-sub, claim: sub}]}]'));
    rejected(check('RequestAuthentication', 'jwtRules: [{issuer: a, jwks_uri: "ftp://a.example.com/keys"}]'), 'url must have scheme http:// or https://');
    rejected(check('RequestAuthentication', "jwtRules: [{issuer: a, jwks: '{\"keys\": [{\"kty\": \"XX\"}]}'}]"), 'jwks parse error');
    acceptedWith(
      check('RequestAuthentication', "jwtRules: [{issuer: a, jwks: '{\"keys\": [{\"kty\": \"RSA\", \"n\": \"AQAB\", \"e\": \"AQAB\", \"d\": \"AQAB\"}]}'}]"),
      'jwks key at index 0 contains private key material',
    );
  });
});

describe('validation: Telemetry, WasmPlugin, EnvoyFilter', () => {
  it('Telemetry: providers, tag overrides, sampling, CEL filters; warnings for multiple tracers', () => {
    acceptedWith(check('Telemetry', 'accessLogging: [{providers: [{name: envoy}], filter: {expression: "response.code >= 400 && request.url_path.contains(\'v1\')"}}]'));
    rejected(check('Telemetry', 'accessLogging: [{filter: {expression: ")++++"}}]'), 'must be a valid CEL expression');
    rejected(check('Telemetry', 'metrics: [{overrides: [{tagOverrides: {t: {operation: UPSERT}}}]}]'), 'value must be set when operation is UPSERT');
    rejected(check('Telemetry', 'tracing: [{randomSamplingPercentage: 101}]'), 'randomSamplingPercentage');
    acceptedWith(check('Telemetry', 'tracing: [{providers: [{name: a}]}, {providers: [{name: b}]}]'), 'multiple tracing is not currently supported');
  });

  it('WasmPlugin: URL schemes, sha256, env', () => {
    acceptedWith(check('WasmPlugin', 'url: oci://ghcr.io/a/b:v1\nsha256: ' + 'a'.repeat(64)));
    acceptedWith(check('WasmPlugin', 'url: ghcr.io/a/b:v1'));
    rejected(check('WasmPlugin', 'url: ftp://a/b'), 'url must have schema one of [http, https, file, oci]');
    rejected(check('WasmPlugin', 'url: http://a/b\nsha256: abc'), "should match '(^$|^[a-f0-9]{64}$)'");
    rejected(check('WasmPlugin', 'url: http://a/b\nvmConfig: {env: [{name: a, valueFrom: HOST, value: v}]}'), 'value may only be set when valueFrom is INLINE');
  });

  it('EnvoyFilter: always warns, checks patches and matches', () => {
    acceptedWith(check('EnvoyFilter', 'configPatches: [{applyTo: CLUSTER, patch: {operation: ADD, value: {name: c}}}]'), 'EnvoyFilter exposes internal implementation details');
    rejected(check('EnvoyFilter', 'configPatches: [{applyTo: CLUSTER, patch: {operation: ADD}}]'), 'Envoy filter: missing patch value for non-remove operation');
    rejected(
      check('EnvoyFilter', 'configPatches: [{applyTo: NETWORK_FILTER, match: {listener: {filterChain: {filter: {name: x, subFilter: {name: y}}}}}, patch: {operation: REMOVE}}]'),
      'subfilter match can be used with applyTo HTTP_FILTER only',
    );
  });
});

describe('validation layers', () => {
  it('a CRD schema error stops before the rules; the rules alone can be run', () => {
    const full = check('VirtualService', 'hosts: ["*"]\nhttp:\n- route: [{destination: {}}]');
    assert.deepEqual(full.errors, ['spec.http[0].route[0].destination.host: destination host is required']);
    const rules = parseYaml('apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec: {hosts: ["*"], http: [{route: [{destination: {}}]}]}\n', {
      crdChecks: false,
    });
    assert.ok(rules.errors.some((e) => e.message.includes('wildcard host * is not allowed')), rules.errors.map((e) => e.message).join('\n'));
    assert.ok(rules.errors.every((e) => e.origin === 'rules'));
  });

  it('keeps a resource with warnings only, with the file line of each warning', () => {
    const r = parseYaml('apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: a\n  workloadSelector: {}\n', { file: 'dr.yaml' });
    assert.equal(r.resources.length, 1);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.warnings.map((w) => [w.file, w.line, w.kind, w.field, w.message]),
      [['dr.yaml', 6, 'DestinationRule', 'spec.workloadSelector', 'workload selector specified without labels']],
    );
  });

  it('rejects Istio\'s internal annotations on any kind', () => {
    rejected(check('Sidecar', 'egress: [{hosts: ["./*"]}]', { meta: '{name: x, namespace: ns, annotations: {internal.istio.io/parents: a}}' }), 'annotation found, this may not be set by users');
  });
});
