// The schemas as the CRDs: every field, type, enum, bound, required field and CEL rule of Istio's
// CRDs (read in place from ../shared/istio), and the DSL behaviours behind them.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { istioTestdata } from '../conformance/data.js';
import { compareWithCrd } from '../pilot/config/schema/crd-compare.js';
import { isNullMessage, parseWith, s } from '../pilot/config/schema/dsl.js';
import { goUrlParse, goUrlParseRequestURI, isIPAddress, isIPPrefix, splitHostPort } from '../pilot/config/schema/formats.js';
import { KINDS } from '../pilot/config/kinds.js';
import { parseYaml, readYamlDocuments } from '../pilot/config/parse.js';
import { re2ToRegExp as pgvRe2 } from '../pilot/xds/pgv.js';
import { re2ToRegExp } from '../pilot/util/re2.js';
import { celSyntaxError } from '../pilot/config/validation/cel.js';

const CRDS = join(istioTestdata(), 'manifests', 'charts', 'base', 'files', 'crd-all.gen.yaml');

describe('schemas against Istio CRDs', function () {
  before(function () {
    if (!existsSync(CRDS)) this.skip();
  });

  it('every Istio kind Isthmus reads matches its CRD field for field, in every served version', () => {
    const crds = parseAllDocuments(readFileSync(CRDS, 'utf8')).map((d) => d.toJS() as Record<string, any>).filter(Boolean);
    const diffs: string[] = [];
    let compared = 0;
    for (const info of KINDS.filter((k) => k.group.endsWith('istio.io'))) {
      const crd = crds.find((c) => c.spec.group === info.group && c.spec.names.kind === info.kind);
      assert.ok(crd, `no CRD for ${info.kind}`);
      assert.deepEqual([...info.versions].sort(), crd.spec.versions.map((v: { name: string }) => v.name).sort(), `${info.kind} versions`);
      for (const v of crd.spec.versions) {
        compared++;
        diffs.push(...compareWithCrd(v.schema.openAPIV3Schema.properties.spec, info.schema.openapi()).map((d) => `${info.kind} ${v.name} ${d}`));
        const specRequired = (v.schema.openAPIV3Schema.required ?? []).includes('spec');
        assert.equal(Boolean(info.specRequired), specRequired, `${info.kind} ${v.name}: spec required`);
      }
    }
    assert.deepEqual(diffs, []);
    assert.ok(compared >= 30);
  });
});

describe('schema DSL', () => {
  it('separates type issues (no value) from CRD constraints (value kept)', () => {
    const schema = s.object({ name: s.string().minLength(1), port: s.uint32().bounds(1, 65535), mode: s.enum('A', 'B') }, { required: ['name'] });
    const typed = parseWith(schema, { mode: 'C' });
    assert.equal(typed.value, undefined);
    assert.deepEqual(typed.issues.map((i) => i.message), ['Unsupported value: "C": supported values: "A", "B"']);
    const constrained = parseWith(schema, { name: '', port: 0 }, ['spec']);
    assert.deepEqual(constrained.value, { name: '', port: 0 });
    assert.deepEqual(
      constrained.constraints.map((i) => `${i.path.join('.')}: ${i.message}`),
      ['spec.name: should be at least 1 chars long', 'spec.port: should be greater than or equal to 1'],
    );
    assert.deepEqual(parseWith(schema, {}).constraints.map((i) => i.message), ['Required value']);
  });

  it('reads null as unset (a CRD error unless nullable) and marks null messages in lists and maps', () => {
    const schema = s.object({ a: s.string(), b: s.bool().allowNull(), m: s.map(s.object({ x: s.string() })), l: s.list(s.object({})) });
    const r = parseWith(schema, { a: null, b: null, m: { k: null }, l: [null] });
    assert.deepEqual(r.issues, []);
    assert.equal(r.value!.a, undefined);
    assert.ok(isNullMessage(r.value!.m!.k));
    assert.ok(isNullMessage(r.value!.l![0]));
    assert.deepEqual(
      r.constraints.map((i) => `${i.path.join('.')}: ${i.message}`),
      ['a: in body must be of type string: "null"', 'm.k: in body must be of type object: "null"', 'l.0: in body must be of type object: "null"'],
    );
  });

  it('enforces list-map keys and sets, aliases of fields, and CEL rules with their OpenAPI', () => {
    const list = s.list(s.object({ name: s.string() })).mapBy('name');
    assert.deepEqual(parseWith(list, [{ name: 'a' }, { name: 'a' }]).constraints.map((i) => i.message), ['Duplicate value: ["a"]']);
    const aliased = s.object({ jwksUri: s.string() }, { aliases: { jwks_uri: 'jwksUri' } });
    assert.deepEqual(parseWith(aliased, { jwks_uri: 'x' }).value, { jwksUri: 'x' });
    assert.ok('jwks_uri' in (aliased.openapi().properties as object));
    const ruled = s.string().rule('no stars', (v) => !v.includes('*'), '!self.contains("*")');
    assert.deepEqual(ruled.openapi()['x-kubernetes-validations'], [{ rule: '!self.contains("*")', message: 'no stars' }]);
    assert.deepEqual(parseWith(ruled, 'a*').constraints.map((i) => i.message), ['no stars']);
  });

  it('reads flow sequences as Kubernetes (go-yaml) does: `[fe80::, 2001:db8::]` are strings', () => {
    const [doc] = readYamlDocuments('addresses: [1.2.3.4, fe80::, "x"]\n');
    assert.deepEqual(doc!.value, { addresses: ['1.2.3.4', 'fe80::', 'x'] });
    const r = parseYaml('apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se}\nspec: {hosts: [a.com], addresses: [2001:db8::], ports: [{number: 80, name: http, protocol: HTTP}]}\n');
    assert.deepEqual(r.errors, []);
    assert.deepEqual((r.resources[0]!.spec as { addresses: string[] }).addresses, ['2001:db8::']);
  });

  it('reads the security, telemetry and extensions kinds, and rejects unknown top-level fields', () => {
    const r = parseYaml(
      ['security.istio.io/v1beta1 AuthorizationPolicy', 'telemetry.istio.io/v1alpha1 Telemetry', 'networking.istio.io/v1alpha3 EnvoyFilter']
        .map((k) => `apiVersion: ${k.split(' ')[0]}\nkind: ${k.split(' ')[1]}\nmetadata: {name: a, namespace: b}\nspec: {}\n`)
        .join('---\n') + '---\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s}\nspecs: {}\n',
    );
    assert.deepEqual(r.resources.map((x) => x.kind), ['AuthorizationPolicy', 'Telemetry', 'EnvoyFilter']);
    assert.deepEqual(r.errors.map((e) => `${e.field}: ${e.message}`), ['specs: unknown field "specs"']);
  });
});

describe('formats as Go reads them', () => {
  it('IP addresses and prefixes (net/netip)', () => {
    for (const ok of ['1.2.3.4', '::', '::1', '2001:db8::1', 'fe80::1%eth0', '::ffff:1.2.3.4', '1:2:3:4:5:6:7:8']) assert.ok(isIPAddress(ok), ok);
    for (const bad of ['01.2.3.4', '1.2.3', '256.1.1.1', '1:2:3:4:5:6:7:8:9', ':::', 'fe80::1%', 'a.b.c.d', '']) assert.ok(!isIPAddress(bad), bad);
    assert.ok(isIPPrefix('10.0.0.0/8') && isIPPrefix('2001:db8::/32'));
    assert.ok(!isIPPrefix('10.0.0.0/33') && !isIPPrefix('10.0.0.0/08') && !isIPPrefix('10.0.0.0'));
  });

  it('URLs (net/url Parse and ParseRequestURI) and host:port', () => {
    assert.equal((goUrlParse('HTTPS://a.com:8443/x') as { scheme: string }).scheme, 'https');
    assert.match((goUrlParse('https://a.com:port') as { error: string }).error, /invalid port ":port" after host/);
    assert.match((goUrlParse('http://a\bb') as { error: string }).error, /invalid control character/);
    assert.ok('error' in goUrlParseRequestURI('a.com/x'));
    assert.ok(!('error' in goUrlParseRequestURI('/x')));
    assert.deepEqual(splitHostPort('[::1]:80'), { host: '::1', port: '80' });
    assert.ok('error' in splitHostPort('10.0.0.1'));
  });

  it('CEL syntax', () => {
    assert.equal(celSyntaxError("response.code >= 400 || request.headers['x'] in ['a', 'b']"), undefined);
    assert.equal(celSyntaxError('has(request.auth) ? 1 : {"a": 2}.a'), undefined);
    assert.ok(celSyntaxError(')++++'));
    assert.ok(celSyntaxError('a &&'));
  });

  it('one RE2 translation, shared by the PGV checker and config validation', () => {
    assert.equal(pgvRe2, re2ToRegExp);
    assert.ok(re2ToRegExp('^/api/v[0-9]+$').test('/api/v2'));
    assert.throws(() => re2ToRegExp('a(?=b)'));
  });
});
