// CUSTOM-action provider resolution (pilot/networking/authz/ext-authz.ts): the ext_authz filters
// for Istio's builder test meshes A–C against Istio's golden filters (when the upstream test data
// is present), Istio's error texts for invalid providers, and the small contracts the builder uses.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { toJson } from '@bufbuild/protobuf';
import { parse as parseYaml } from 'yaml';
import { ExtAuthzSchema as HttpExtAuthzSchema } from '../gen/envoy/extensions/filters/http/ext_authz/v3/ext_authz_pb.js';
import { ExtAuthzSchema as TcpExtAuthzSchema } from '../gen/envoy/extensions/filters/network/ext_authz/v3/ext_authz_pb.js';
import { MetadataMatcherSchema } from '../gen/envoy/type/matcher/v3/metadata_pb.js';
import { extAuthzFor, filterEnabledMetadata, resolveExtAuthzProviders, type ServiceNamespaces } from '../pilot/networking/authz/ext-authz.js';
import { envoyRegistry } from '../pilot/networking/registry.js';

const ISTIO = resolve(process.env.ISTIO_TESTDATA ?? '../shared/istio');
const TESTDATA = join(ISTIO, 'pilot/pkg/security/authz/builder/testdata');

/** The builder tests' push context: one service, in namespace foo. */
const HOST = 'my-custom-ext-authz.foo.svc.cluster.local';
const services: ServiceNamespaces = (h) => (h === HOST ? ['foo'] : []);

// Istio's builder test meshes (builder_test.go), one provider named `default` each.
const MESH_A = { name: 'default', envoyExtAuthzGrpc: { service: HOST, port: 9000, failOpen: true, statusOnError: '403' } };
const MESH_B = {
  name: 'default',
  envoyExtAuthzGrpc: {
    service: `foo/${HOST}`,
    port: 9000,
    timeout: '0.002s',
    failOpen: true,
    statusOnError: '403',
    includeRequestBodyInCheck: { maxRequestBytes: 4096, allowPartialMessage: true },
  },
};
const MESH_C = {
  name: 'default',
  envoyExtAuthzHttp: {
    service: `foo/${HOST}`,
    port: 9000,
    timeout: '10s',
    failOpen: true,
    statusOnError: '403',
    pathPrefix: '/check',
    includeRequestHeadersInCheck: ['x-custom-id', 'x-prefix-*', '*-suffix'],
    includeHeadersInCheck: ['should-not-include-when-IncludeRequestHeadersInCheck-is-set'],
    includeAdditionalHeadersInCheck: { 'x-header-2': 'value-2', 'x-header-1': 'value-1' },
    includeRequestBodyInCheck: { maxRequestBytes: 2048, allowPartialMessage: true, packAsBytes: true },
    headersToUpstreamOnAllow: ['Authorization', 'x-prefix-*', '*-suffix'],
    headersToDownstreamOnDeny: ['Set-cookie', 'x-prefix-*', '*-suffix'],
    headersToDownstreamOnAllow: ['Set-cookie', 'x-prefix-*', '*-suffix'],
  },
};
const MESH_D = { name: 'default', envoyExtAuthzHttp: { service: 'foo/my-custom-ext-authz', port: 999999, pathPrefix: 'check', statusOnError: '999' } };

type Obj = Record<string, unknown>;

/** typedConfig (without @type) of the filter named `filterName` among the golden files. */
function goldenTypedConfig(files: string[], filterName: string): Obj {
  for (const f of files) {
    const doc = parseYaml(readFileSync(join(TESTDATA, f), 'utf8')) as { name: string; typedConfig: Obj };
    if (doc.name !== filterName) continue;
    const { '@type': _type, ...rest } = doc.typedConfig;
    return rest;
  }
  throw new Error(`no ${filterName} in ${files.join(', ')}`);
}

function ok<T>(v: T | Error): T {
  if (v instanceof Error) throw v;
  return v;
}

/** What Istio's buildHTTP/buildTCP emit: the provider's filters with the provider-specific matcher. */
function builderFilters(provider: Obj) {
  const got = ok(extAuthzFor(resolveExtAuthzProviders([provider], services), 'default'));
  if (got.http) got.http.filterEnabledMetadata = filterEnabledMetadata('envoy.filters.http.rbac', 'default');
  if (got.tcp) got.tcp.filterEnabledMetadata = filterEnabledMetadata('envoy.filters.network.rbac', 'default');
  const registry = envoyRegistry();
  return {
    http: got.http && toJson(HttpExtAuthzSchema, got.http, { registry }),
    tcp: got.tcp && toJson(TcpExtAuthzSchema, got.tcp, { registry }),
  };
}

describe('authz ext_authz providers', () => {
  describe('Istio builder golden filters', function () {
    before(function () {
      if (!existsSync(TESTDATA)) this.skip();
    });

    it('mesh A: gRPC provider without namespace, default timeout', () => {
      const got = builderFilters(MESH_A);
      assert.deepEqual(got.http, goldenTypedConfig(['http/custom-grpc-provider-no-namespace-out1.yaml', 'http/custom-grpc-provider-no-namespace-out2.yaml'], 'envoy.filters.http.ext_authz'));
      assert.ok(got.tcp, 'a gRPC provider also serves TCP');
    });

    it('mesh B: gRPC provider with namespace, HTTP and TCP filters', () => {
      const got = builderFilters(MESH_B);
      assert.deepEqual(got.http, goldenTypedConfig(['http/custom-grpc-provider-out1.yaml', 'http/custom-grpc-provider-out2.yaml'], 'envoy.filters.http.ext_authz'));
      assert.deepEqual(got.tcp, goldenTypedConfig(['tcp/custom-both-http-tcp-out1.yaml', 'tcp/custom-both-http-tcp-out2.yaml'], 'envoy.filters.network.ext_authz'));
    });

    it('mesh C: HTTP provider, no TCP filter', () => {
      const got = builderFilters(MESH_C);
      assert.deepEqual(got.http, goldenTypedConfig(['http/custom-http-provider-out1.yaml', 'http/custom-http-provider-out2.yaml'], 'envoy.filters.http.ext_authz'));
      assert.equal(got.tcp, undefined);
    });
  });

  it('mesh D: invalid provider → Istio\'s error text, no filters', () => {
    const resolved = resolveExtAuthzProviders([MESH_D], services);
    assert.equal(resolved.get('default')?.http, undefined);
    const err = extAuthzFor(resolved, 'default');
    assert.ok(err instanceof Error);
    const p = 'failed to parse extension provider "default":';
    const lines = err.message.split('\n');
    assert.equal(lines[0], 'found errors in provider default: 4 errors occurred:');
    assert.equal(lines[1], `\t* ${p} port number 999999 must be in the range 1..65535`);
    assert.equal(lines[2], `\t* ${p} short names (non FQDN) are not allowed`);
    assert.match(lines[3]!, /^\t\* failed to parse extension provider "default": unsupported statusOnError value 999, supported values: map\[0:Empty 100:Continue 200:OK .* 403:Forbidden .*\]$/);
    assert.equal(lines[4], `\t* ${p} pathPrefix should begin with \`/\` but found "check"`);
    assert.deepEqual(lines.slice(5), ['', '']);
  });

  it('unknown provider', () => {
    const resolved = resolveExtAuthzProviders([MESH_B], services);
    const err = extAuthzFor(resolved, 'other');
    assert.ok(err instanceof Error);
    assert.equal(err.message, 'available providers are [default] but found "other"');
    assert.equal(extAuthzFor(undefined, 'default') instanceof Error, true);
  });

  it('skips providers of other kinds, as Istio does', () => {
    const resolved = resolveExtAuthzProviders([{ name: 'zipkin', zipkin: { service: 'z', port: 9411 } }, { name: '', envoyFileAccessLog: {} }, MESH_B], services);
    assert.deepEqual([...resolved.keys()], ['default']);
    assert.equal(resolved.get('default')?.error, undefined);
  });

  it('empty name reports its index among all providers', () => {
    const resolved = resolveExtAuthzProviders([{ name: 'z', zipkin: {} }, { ...MESH_B, name: '' }], services);
    assert.equal(resolved.get('')?.error, '1 error occurred:\n\t* extension provider name must not be empty, found empty at index: 1\n\n');
  });

  it('duplicate names: the later entry replaces the first and is an error', () => {
    const resolved = resolveExtAuthzProviders([MESH_B, MESH_C], services);
    assert.equal(resolved.size, 1);
    const entry = resolved.get('default')!;
    assert.ok(entry.http, 'the duplicate is still built');
    assert.equal(entry.error, '1 error occurred:\n\t* extension provider name must be unique, found duplicate: default\n\n');
    const err = extAuthzFor(resolved, 'default');
    assert.ok(err instanceof Error);
    assert.equal(err.message, `found errors in provider default: ${entry.error}`);
  });

  it('invalid provider names', () => {
    const names = ['My-authz', 'my_authz', '-authz', 'authz-', 'a'.repeat(64), 'ä'];
    const resolved = resolveExtAuthzProviders(names.map((name) => ({ ...MESH_B, name })), services);
    const errorOf = (n: string) => resolved.get(n)?.error;
    assert.equal(errorOf('My-authz'), '1 error occurred:\n\t* invalid provider name "My-authz": uppercase letters not allowed (use lowercase): character \'M\' at position 0\n\n');
    assert.match(errorOf('my_authz')!, /invalid provider name "my_authz": invalid character '_' at position 2 \(only lowercase letters, digits, and hyphens allowed\)/);
    assert.match(errorOf('-authz')!, /provider name cannot start or end with hyphen/);
    assert.match(errorOf('authz-')!, /provider name cannot start or end with hyphen/);
    assert.match(errorOf('a'.repeat(64))!, /provider name too long \(max 63 characters\): 64/);
    assert.match(errorOf('ä')!, /invalid character 'ä' at position 0/);
    // Filters are built, but the provider is unusable.
    assert.ok(resolved.get('my_authz')?.http);
    assert.ok(extAuthzFor(resolved, 'my_authz') instanceof Error);
  });

  it('bad port', () => {
    const grpc = resolveExtAuthzProviders([{ name: 'default', envoyExtAuthzGrpc: { ...MESH_B.envoyExtAuthzGrpc, port: 0 } }], services);
    assert.equal(grpc.get('default')?.error, '1 error occurred:\n\t* failed to parse extension provider "default": invalid service port: port number 0 must be in the range 1..65535\n\n');
    const http = resolveExtAuthzProviders([{ name: 'default', envoyExtAuthzHttp: { service: HOST, port: 70000 } }], services);
    assert.equal(http.get('default')?.error, '1 error occurred:\n\t* failed to parse extension provider "default": port number 70000 must be in the range 1..65535\n\n');
    assert.equal(http.get('default')?.http, undefined);
  });

  it('HTTP provider gives no TCP filter', () => {
    const got = ok(extAuthzFor(resolveExtAuthzProviders([MESH_C], services), 'default'));
    assert.ok(got.http);
    assert.equal(got.tcp, undefined);
    assert.equal(got.http.services.case, 'httpService');
  });

  it('returns fresh filter messages on each call', () => {
    const resolved = resolveExtAuthzProviders([MESH_B], services);
    const a = ok(extAuthzFor(resolved, 'default'));
    a.http!.filterEnabledMetadata = filterEnabledMetadata('envoy.filters.http.rbac', 'changed');
    a.tcp!.statPrefix = 'changed';
    const b = ok(extAuthzFor(resolved, 'default'));
    const registry = envoyRegistry();
    assert.deepEqual(toJson(MetadataMatcherSchema, b.http!.filterEnabledMetadata!, { registry }), {
      filter: 'envoy.filters.http.rbac',
      path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }],
      value: { stringMatch: { prefix: 'istio-ext-authz' } },
    });
    assert.equal(b.tcp!.statPrefix, 'tcp.');
  });

  it('filterEnabledMetadata', () => {
    assert.deepEqual(toJson(MetadataMatcherSchema, filterEnabledMetadata('envoy.filters.network.rbac', 'my-authz')), {
      filter: 'envoy.filters.network.rbac',
      path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }],
      value: { stringMatch: { prefix: 'istio-ext-authz-my-authz' } },
    });
  });

  it('service lookup: unknown service, ambiguous hostname, wrong namespace', () => {
    const many: ServiceNamespaces = (h) => (h === HOST ? ['foo', 'bar'] : []);
    const errorFor = (service: string, reg: ServiceNamespaces) =>
      resolveExtAuthzProviders([{ name: 'default', envoyExtAuthzGrpc: { service, port: 9000 } }], reg).get('default')?.error;
    assert.equal(errorFor('nope.foo.svc.cluster.local', services), '1 error occurred:\n\t* failed to parse extension provider "default": could not find service nope.foo.svc.cluster.local in Istio service registry\n\n');
    assert.equal(errorFor(HOST, many), `1 error occurred:\n\t* failed to parse extension provider "default": found ${HOST} in multiple namespaces [foo bar], specify the namespace explicitly in the format of <Namespace>/<Hostname>\n\n`);
    assert.equal(errorFor(`bar/${HOST}`, many), undefined);
    assert.match(errorFor(`bar/${HOST}`, services)!, /could not find service bar\/my-custom-ext-authz.foo.svc.cluster.local in Istio service registry/);
    // With the namespace given, the cluster is still named after the hostname.
    const got = ok(extAuthzFor(resolveExtAuthzProviders([{ name: 'default', envoyExtAuthzGrpc: { service: `bar/${HOST}`, port: 9000 } }], many), 'default'));
    const target = got.tcp?.grpcService?.targetSpecifier;
    assert.equal(target?.case === 'envoyGrpc' ? target.value.clusterName : undefined, `outbound|9000||${HOST}`);
  });

  it('service validation', () => {
    const errorFor = (service: string) => resolveExtAuthzProviders([{ name: 'default', envoyExtAuthzGrpc: { service, port: 9000 } }], services).get('default')?.error;
    assert.match(errorFor('bad_host')!, /invalid service fmt bad_host: bad_host is not a valid IP/);
    assert.match(errorFor('')!, /service must not be empty/);
    // An IP passes validation but is not in the registry.
    assert.match(errorFor('10.0.0.1')!, /could not find service 10.0.0.1 in Istio service registry/);
    // The hostname error is reported twice, as Istio reports it.
    assert.equal(
      errorFor('foo/bad_host.com'),
      '2 errors occurred:\n\t* failed to parse extension provider "default": domain name "bad_host.com" invalid (label "bad_host" invalid)\n\t* failed to parse extension provider "default": domain name "bad_host.com" invalid (label "bad_host" invalid)\n\n',
    );
  });

  it('statusOnError and header wildcard checks', () => {
    const errorOf = (extra: Obj) => resolveExtAuthzProviders([{ name: 'default', envoyExtAuthzHttp: { service: HOST, port: 9000, ...extra } }], services).get('default')?.error;
    assert.match(errorOf({ statusOnError: 'abc' })!, /invalid statusOnError value abc: strconv.ParseInt: parsing "abc": invalid syntax/);
    assert.equal(errorOf({ statusOnError: '503' }), undefined);
    assert.equal(
      errorOf({ headersToUpstreamOnAllow: ['*'], includeHeadersInCheck: ['*'] }),
      '2 errors occurred:\n\t* failed to parse extension provider "default": a single wildcard ("*") is not supported, change it to either prefix or suffix match: IncludeHeadersInCheck\n\t* failed to parse extension provider "default": a single wildcard ("*") is not supported, change it to either prefix or suffix match: HeadersToUpstreamOnAllow\n\n',
    );
    assert.match(errorOf({ pathPrefix: '/a%zz' })!, /invalid pathPrefix \/a%zz: parse "\/a%zz": invalid URL escape "%zz"/);
  });

  it('deprecated includeHeadersInCheck applies when includeRequestHeadersInCheck is empty', () => {
    const got = ok(extAuthzFor(resolveExtAuthzProviders([{ name: 'default', envoyExtAuthzHttp: { service: HOST, port: 9000, includeHeadersInCheck: ['x-a'] } }], services), 'default'));
    assert.deepEqual((toJson(HttpExtAuthzSchema, got.http!) as Obj).allowedHeaders, { patterns: [{ exact: 'x-a', ignoreCase: true }] });
  });

  it('accepts proto field names and reports values istiod could not read', () => {
    const snake = resolveExtAuthzProviders([{ name: 'default', envoy_ext_authz_grpc: { service: HOST, port: 9000, fail_open: true } }], services);
    assert.equal(ok(extAuthzFor(snake, 'default')).http?.failureModeAllow, true);
    const bad = resolveExtAuthzProviders([{ name: 'default', envoyExtAuthzGrpc: { service: HOST, port: 'x' } }], services);
    assert.match(bad.get('default')!.error!, /failed to parse extension provider "default": port: not a uint32/);
  });
});
