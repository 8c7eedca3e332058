// How SDS names and Secret contents are read (istiod's rules): names, key order, CA lookup.
import assert from 'node:assert/strict';
import { MemoryConfigStore } from '../pilot/config/store.js';
import { parseYaml } from '../pilot/config/parse.js';
import { parseCredentialName, type CredentialRef } from '../pilot/networking/sds/resource-names.js';
import { certificateFor, rootFor } from '../pilot/networking/sds/credentials.js';
import { secretsGenerator } from '../pilot/networking/sds/secrets.js';
import { proxyFromNode } from '../pilot/model/proxy.js';
import { TYPE } from '../pilot/networking/envoy.js';
import { pushFromYaml } from './support/push.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function store(yaml: string): MemoryConfigStore {
  const s = new MemoryConfigStore();
  const { resources, errors } = parseYaml(yaml);
  assert.deepEqual(errors, []);
  s.apply(...resources);
  return s;
}

const ref = (r: ReturnType<typeof parseCredentialName>): CredentialRef => {
  assert.ok(!('error' in r), JSON.stringify(r));
  return r;
};

describe('SDS credential names and Secret formats', () => {
  it('reads names: the proxy namespace by default, -cacert as CA only, namespaces required where istiod requires them', () => {
    assert.deepEqual(parseCredentialName('kubernetes://cert', 'shop'), { kind: 'kubernetes', namespace: 'shop', name: 'cert', caOnly: false });
    assert.deepEqual(parseCredentialName('kubernetes://other/cert-cacert', 'shop'), { kind: 'kubernetes', namespace: 'other', name: 'cert-cacert', caOnly: true });
    assert.deepEqual(parseCredentialName('kubernetes-gateway://gw/cert', 'shop'), { kind: 'kubernetes-gateway', namespace: 'gw', name: 'cert', caOnly: false });
    assert.deepEqual(parseCredentialName('kubernetes-gateway://cert', 'shop'), { error: 'invalid resource name "kubernetes-gateway://cert". Expected namespace and name' });
    assert.deepEqual(parseCredentialName('configmap:///ca', 'shop'), { error: 'invalid resource name "configmap:///ca". Expected namespace' });
    assert.deepEqual(parseCredentialName('default', 'shop'), { error: 'unknown resource type: default' });
  });

  it('takes cert/key before tls.crt/tls.key whatever the type, and names the keys it found when neither is there', () => {
    const s = store(`apiVersion: v1
kind: Secret
metadata: {name: both, namespace: ns}
type: kubernetes.io/tls
data: {cert: ${b64('C1')}, key: ${b64('K1')}, tls.crt: ${b64('C2')}, tls.key: ${b64('K2')}}
---
apiVersion: v1
kind: Secret
metadata: {name: odd, namespace: ns}
data: {a: ${b64('x')}, b: ${b64('x')}, c: ${b64('x')}, d: ${b64('x')}}
---
apiVersion: v1
kind: Secret
metadata: {name: empty, namespace: ns}
data: {tls.crt: "", tls.key: ${b64('K')}}
`);
    const both = certificateFor(s, ref(parseCredentialName('kubernetes://both', 'ns')));
    assert.equal(both.cert.toString(), 'C1');
    assert.equal(both.key.toString(), 'K1');
    assert.throws(() => certificateFor(s, ref(parseCredentialName('kubernetes://odd', 'ns'))), /didn't have expected keys \(cert and key\) or \(tls.crt and tls.key\); found: a, b, c, and 1 more\.\.\./);
    assert.throws(() => certificateFor(s, ref(parseCredentialName('kubernetes://empty', 'ns'))), /found keys "tls.crt" and "tls.key", but they were empty/);
    assert.throws(() => certificateFor(s, ref(parseCredentialName('kubernetes://gone', 'ns'))), /secret ns\/gone not found/);
  });

  it('finds a CA in NAME-cacert first (without falling back), else in NAME; cacert before ca.crt; ConfigMaps too', () => {
    const s = store(`apiVersion: v1
kind: Secret
metadata: {name: a, namespace: ns}
data: {ca.crt: ${b64('CA-A')}, ca.crl: ${b64('CRL-A')}, cacert: ${b64('CACERT-A')}}
---
apiVersion: v1
kind: Secret
metadata: {name: b, namespace: ns}
data: {ca.crt: ${b64('CA-B')}}
---
apiVersion: v1
kind: Secret
metadata: {name: b-cacert, namespace: ns}
data: {tls.crt: ${b64('X')}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: roots, namespace: ns}
data: {ca.crt: ROOTS}
`);
    const a = rootFor(s, ref(parseCredentialName('kubernetes://a-cacert', 'ns')));
    assert.equal(a.ca.toString(), 'CACERT-A');
    assert.equal(a.crl, undefined, 'crl goes with cacert, ca.crl with ca.crt');
    assert.throws(() => rootFor(s, ref(parseCredentialName('kubernetes://b-cacert', 'ns'))), /didn't have expected keys cacert or ca.crt/);
    assert.equal(rootFor(s, ref(parseCredentialName('configmap://ns/roots', 'x'))).ca.toString(), 'ROOTS');
  });
});

describe('SDS authorization of kubernetes-gateway:// names', () => {
  const gateway = (namespace: string, credentialName: string) => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: ${namespace}}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: "${credentialName}"}`;
  const secret = (namespace: string, name: string) => `apiVersion: v1
kind: Secret
metadata: {name: ${name}, namespace: ${namespace}}
data: {tls.crt: ${b64('CERT')}, tls.key: ${b64('KEY')}}`;
  const router = (namespace: string) => {
    const proxy = proxyFromNode({ id: `router~10.0.0.50~gw-1.${namespace}~${namespace}.svc.cluster.local`, metadata: { NAMESPACE: namespace, LABELS: { istio: 'ingressgateway' } } });
    proxy.verifiedIdentity = { namespace, serviceAccount: 'gw' };
    return proxy;
  };
  const served = (yaml: string, namespace: string, names: string[]) =>
    secretsGenerator(pushFromYaml(yaml), router(namespace), { typeUrl: TYPE.secret, names, wildcard: false }).map((r) => r.name);

  it("serves a router the Secrets of its own Gateway's namespace that its Gateways name", () => {
    const yaml = [gateway('edge', 'kubernetes-gateway://edge/site'), secret('edge', 'site'), secret('edge', 'unnamed')].join('\n---\n');
    assert.deepEqual(served(yaml, 'edge', ['kubernetes-gateway://edge/site', 'kubernetes-gateway://edge/unnamed']), ['kubernetes-gateway://edge/site']);
  });

  it('refuses a Gateway naming a Secret of another namespace without a ReferenceGrant', () => {
    const yaml = [gateway('attacker', 'kubernetes-gateway://payments/victim'), secret('payments', 'victim')].join('\n---\n');
    assert.deepEqual(served(yaml, 'attacker', ['kubernetes-gateway://payments/victim']), []);
  });

  it("refuses a router whose verified namespace is not its Gateway's", () => {
    const yaml = [gateway('edge', 'kubernetes-gateway://edge/site'), secret('edge', 'site')].join('\n---\n');
    assert.deepEqual(served(yaml, 'elsewhere', ['kubernetes-gateway://edge/site']), []);
  });
});
