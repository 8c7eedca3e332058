// `authz`: AuthorizationPolicy → Envoy RBAC and ext_authz filters, like istiod.
//
// Runs Istio's builder test data (pilot/pkg/security/authz/builder/testdata/{http,tcp}; index:
// ../shared/conformance/xds/README.md) in the setting of builder_test.go: the policies of one
// input file for a proxy in namespace `foo` labelled app=httpbin, version=v1; CUSTOM filters
// only, and the mesh's ext_authz providers, when a case names a mesh config; the service
// my-custom-ext-authz.foo.svc.cluster.local known in `foo`. The filters built must equal the
// golden ones in number, order and content (both sides read into Envoy's protos and compared
// as proto-JSON). Istio runs its HTTP table a second time against `extended-*` copies of the
// goldens that are byte-identical; they are not counted twice here.
//
// `--cases FILE`: a JSON list of {name, filter: "http"|"tcp", input, outputs: [...],
// trustDomains?: [...], extensionProviders?: [...]} with paths relative to the file's folder.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fromJson, toJson, type DescMessage, type Message } from '@bufbuild/protobuf';
import { parseAllDocuments } from 'yaml';
import { FilterSchema } from '../../gen/envoy/config/listener/v3/listener_components_pb.js';
import { HttpFilterSchema } from '../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import type { Resource } from '../../pilot/config/resource.js';
import type { AuthorizationPolicy } from '../../pilot/config/schema/security.js';
import { AuthzBuilder } from '../../pilot/networking/authz/builder.js';
import { resolveExtAuthzProviders } from '../../pilot/networking/authz/ext-authz.js';
import { byCreation, policiesFor } from '../../pilot/model/authorization.js';
import { TrustDomainBundle } from '../../pilot/networking/authz/trust-domain.js';
import { envoyRegistry } from '../../pilot/networking/registry.js';
import { istioTestdata } from '../data.js';
import { Tally, type Suite, type SuiteOptions, type SuiteResult } from '../suite.js';

export interface AuthzCase {
  name: string;
  filter: 'http' | 'tcp';
  input: string;
  outputs: string[];
  /** The trust domain bundle (domain, then aliases); absent: an empty bundle, as in the Go test. */
  trustDomains?: string[];
  /** MeshConfig.extensionProviders; present: the case builds CUSTOM filters only. */
  extensionProviders?: Record<string, unknown>[];
}

const DIR = 'pilot/pkg/security/authz/builder/testdata';
const EXT_AUTHZ_SERVICE = 'my-custom-ext-authz.foo.svc.cluster.local';

/** The mesh configs of builder_test.go, each one provider named `default`. */
const MESH: Record<'A' | 'B' | 'C' | 'D', Record<string, unknown>[]> = {
  A: [{ name: 'default', envoyExtAuthzGrpc: { service: EXT_AUTHZ_SERVICE, port: 9000, failOpen: true, statusOnError: '403' } }],
  B: [
    {
      name: 'default',
      envoyExtAuthzGrpc: {
        service: `foo/${EXT_AUTHZ_SERVICE}`, port: 9000, timeout: '0.002s', failOpen: true, statusOnError: '403',
        includeRequestBodyInCheck: { maxRequestBytes: 4096, allowPartialMessage: true },
      },
    },
  ],
  C: [
    {
      name: 'default',
      envoyExtAuthzHttp: {
        service: `foo/${EXT_AUTHZ_SERVICE}`, port: 9000, timeout: '10s', failOpen: true, statusOnError: '403', pathPrefix: '/check',
        includeRequestHeadersInCheck: ['x-custom-id', 'x-prefix-*', '*-suffix'],
        includeHeadersInCheck: ['should-not-include-when-IncludeRequestHeadersInCheck-is-set'],
        includeAdditionalHeadersInCheck: { 'x-header-1': 'value-1', 'x-header-2': 'value-2' },
        includeRequestBodyInCheck: { maxRequestBytes: 2048, allowPartialMessage: true, packAsBytes: true },
        headersToUpstreamOnAllow: ['Authorization', 'x-prefix-*', '*-suffix'],
        headersToDownstreamOnDeny: ['Set-cookie', 'x-prefix-*', '*-suffix'],
        headersToDownstreamOnAllow: ['Set-cookie', 'x-prefix-*', '*-suffix'],
      },
    },
  ],
  D: [{ name: 'default', envoyExtAuthzHttp: { service: 'foo/my-custom-ext-authz', port: 999999, pathPrefix: 'check', statusOnError: '999' } }],
};

/** builder_test.go's tables: [name, input, outputs, settings]. */
function defaultCases(root: string): AuthzCase[] {
  const http = (name: string, input: string, outputs: readonly string[], extra: Partial<AuthzCase> = {}): AuthzCase => ({
    name: `http/${name}`, filter: 'http', input: join(root, DIR, 'http', input), outputs: outputs.map((o) => join(root, DIR, 'http', o)), ...extra,
  });
  const tcp = (name: string, input: string, outputs: readonly string[], extra: Partial<AuthzCase> = {}): AuthzCase => ({
    name: `tcp/${name}`, filter: 'tcp', input: join(root, DIR, 'tcp', input), outputs: outputs.map((o) => join(root, DIR, 'tcp', o)), ...extra,
  });
  const same = (name: string) => [`${name}-in.yaml`, [`${name}-out.yaml`]] as const;
  const two = (name: string) => [`${name}-in.yaml`, [`${name}-out1.yaml`, `${name}-out2.yaml`]] as const;
  return [
    http('allow-empty-rule', ...same('allow-empty-rule')),
    http('allow-full-rule', ...same('allow-full-rule')),
    http('allow-nil-rule', ...same('allow-nil-rule')),
    http('allow-path', ...same('allow-path')),
    http('audit-full-rule', ...same('audit-full-rule')),
    http('custom-grpc-provider-no-namespace', 'custom-simple-http-in.yaml', ['custom-grpc-provider-no-namespace-out1.yaml', 'custom-grpc-provider-no-namespace-out2.yaml'], { extensionProviders: MESH.A }),
    http('custom-grpc-provider', 'custom-simple-http-in.yaml', ['custom-grpc-provider-out1.yaml', 'custom-grpc-provider-out2.yaml'], { extensionProviders: MESH.B }),
    http('custom-http-provider', 'custom-simple-http-in.yaml', ['custom-http-provider-out1.yaml', 'custom-http-provider-out2.yaml'], { extensionProviders: MESH.C }),
    http('custom-bad-multiple-providers', ...two('custom-bad-multiple-providers'), { extensionProviders: MESH.C }),
    http('custom-bad-invalid-config', 'custom-simple-http-in.yaml', ['custom-bad-out.yaml'], { extensionProviders: MESH.D }),
    http('deny-and-allow', ...two('deny-and-allow')),
    http('deny-empty-rule', ...same('deny-empty-rule')),
    http('dry-run-allow-and-deny', ...two('dry-run-allow-and-deny')),
    http('dry-run-allow', ...same('dry-run-allow')),
    http('dry-run-mix', ...same('dry-run-mix')),
    http('multiple-policies', ...same('multiple-policies')),
    http('single-policy', ...same('single-policy')),
    http('trust-domain-one-alias', ...same('simple-policy-td-aliases'), { trustDomains: ['td1', 'cluster.local'] }),
    http('trust-domain-multiple-aliases', ...same('simple-policy-multiple-td-aliases'), { trustDomains: ['td1', 'cluster.local', 'some-td'] }),
    http('trust-domain-wildcard-in-principal', ...same('simple-policy-principal-with-wildcard'), { trustDomains: ['td1', 'foobar'] }),
    http('trust-domain-aliases-in-source-principal', ...same('td-aliases-source-principal'), { trustDomains: ['new-td', 'old-td', 'some-trustdomain'] }),
    http('trust-domains-field', ...same('trust-domains')),
    tcp('allow-both-http-tcp', ...same('allow-both-http-tcp')),
    tcp('allow-only-http', ...same('allow-only-http')),
    tcp('audit-both-http-tcp', ...same('audit-both-http-tcp')),
    tcp('custom-both-http-tcp', ...two('custom-both-http-tcp'), { extensionProviders: MESH.B }),
    tcp('custom-only-http', 'custom-only-http-in.yaml', [], { extensionProviders: MESH.C }),
    tcp('deny-both-http-tcp', ...same('deny-both-http-tcp')),
    tcp('dry-run-mix', ...same('dry-run-mix')),
  ];
}

function loadCases(file: string): AuthzCase[] {
  const base = dirname(resolve(file));
  const list = JSON.parse(readFileSync(file, 'utf8')) as AuthzCase[];
  return list.map((c) => ({ ...c, input: resolve(base, c.input), outputs: c.outputs.map((o) => resolve(base, o)) }));
}

/** The input's AuthorizationPolicies as the store would hold them (the Go test does not validate them either). */
function readPolicies(file: string): Resource<AuthorizationPolicy>[] {
  const out: Resource<AuthorizationPolicy>[] = [];
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const o = doc.toJS() as { kind?: string; metadata?: { name: string; namespace?: string; annotations?: Record<string, string> }; spec?: AuthorizationPolicy } | null;
    if (o?.kind !== 'AuthorizationPolicy' || !o.metadata) continue;
    out.push({
      kind: 'AuthorizationPolicy', group: 'security.istio.io', version: 'v1',
      meta: { name: o.metadata.name, namespace: o.metadata.namespace ?? 'default', labels: {}, annotations: o.metadata.annotations ?? {} },
      spec: o.spec ?? {},
    });
  }
  return out;
}

/** Proto-JSON of a message, read through Envoy's protos so both sides print the same way. */
function canonical(schema: DescMessage, msg: Message): unknown {
  return toJson(schema, msg, { registry: envoyRegistry() });
}

function runCase(c: AuthzCase): string | undefined {
  const policies = policiesFor(byCreation(readPolicies(c.input)), '', { namespace: 'foo', labels: { app: 'httpbin', version: 'v1' } });
  const custom = c.extensionProviders !== undefined;
  const warnings: string[] = [];
  const builder = new AuthzBuilder(custom ? { ...policies, deny: [], allow: [], audit: [] } : { ...policies, custom: [] }, {
    trustDomains: new TrustDomainBundle(c.trustDomains ?? []),
    useAuthenticated: true,
    extAuthz: resolveExtAuthzProviders(c.extensionProviders ?? [], (host) => (host === EXT_AUTHZ_SERVICE ? ['foo'] : [])),
    multipleCustomProviders: false,
    warn: (m) => warnings.push(m),
  });
  const schema: DescMessage = c.filter === 'http' ? HttpFilterSchema : FilterSchema;
  const got: Message[] = c.filter === 'http' ? (custom ? builder.customHttp() : builder.http()) : custom ? builder.customTcp() : builder.tcp();
  if (got.length !== c.outputs.length) return `built ${got.length} filters, want ${c.outputs.length}`;
  for (let i = 0; i < got.length; i++) {
    const wantJson = parseAllDocuments(readFileSync(c.outputs[i]!, 'utf8'))[0]!.toJS() as Parameters<typeof fromJson>[1];
    const want = canonical(schema, fromJson(schema, wantJson, { registry: envoyRegistry() }));
    const have = canonical(schema, got[i]!);
    if (!isDeepStrictEqual(have, want)) return `filter ${i + 1} differs: got ${JSON.stringify(have).slice(0, 400)}`;
  }
  return undefined;
}

export const authzSuite: Suite = {
  name: 'authz',
  description: 'AuthorizationPolicy → RBAC and ext_authz filters, against Istio builder goldens',
  async run(opts: SuiteOptions): Promise<SuiteResult> {
    const root = istioTestdata(opts.testdata);
    if (!opts.cases && !existsSync(join(root, DIR))) return { passed: 0, failed: 0, failures: [], skipped: `authz data absent: ${join(root, DIR)}` };
    const cases = opts.cases ? loadCases(opts.cases) : defaultCases(root);
    const t = new Tally();
    for (const c of cases) {
      await t.check(c.name, () => runCase(c));
      if (opts.verbose && t.result.failures.at(-1)?.name !== c.name) console.log(`ok ${c.name}`);
    }
    return t.result;
  },
};
