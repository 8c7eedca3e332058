// Sidecar injection, unit level: Go's serialization of Kubernetes objects, quantities, strategic
// merge, JSON patch, mesh config, annotation validation, the injection policy, and whole
// injections with small templates (Istio's own test cases where they are data-free).

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import {
  applyMeshConfig, applyPatch, configFromTemplates, createPatch, defaultMeshConfig, detectNativeSidecar, effectiveProxyConfig,
  featuresFromEnv, injectRequired, InjectionWebhook, intoResourceFile, meshConfigFromYaml, normalizePod, parseInjectEnvs,
  protoToJson, PROXY_CONFIG, roundTrip, selectingWebhook, strategicMergeType, unmarshalConfig, validateAnnotations, ValuesConfig,
  type InjectConfig, type PatchOp,
} from '../webhook/inject/index.js';
import { canonicalQuantity } from '../webhook/inject/k8s/quantity.js';
import { cleanProxyConfig, mergeProxyConfig, protoView } from '../webhook/inject/mesh.js';
import { dumpAppProbers } from '../webhook/inject/inject.js';
import { parseYamlFast } from '../webhook/inject/fastyaml.js';
import { splitYamlDocuments } from '../webhook/inject/kube.js';
import { parseTemplate, injectionFuncs } from '../webhook/template/index.js';

type Obj = Record<string, any>;

describe('inject: Kubernetes objects as Go serializes them', () => {
  it('canonicalizes resource quantities like resource.Quantity', () => {
    const cases: [string | number, string][] = [
      ['2000m', '2'], ['1024Mi', '1Gi'], ['100m', '100m'], ['0.5', '500m'], ['1000', '1k'], ['1.5Gi', '1536Mi'],
      ['12e3', '12e3'], ['2048Ki', '2Mi'], ['1.1Ki', '1126400m'], ['0', '0'], [1, '1'], [0.25, '250m'], ['0.0001m', '100n'],
    ];
    for (const [input, want] of cases) assert.equal(canonicalQuantity(input), want, String(input));
    assert.throws(() => canonicalQuantity('1.2.3'), /quantities must match the regular expression/);
    assert.throws(() => canonicalQuantity('5ki'), /unable to parse quantity's suffix/);
  });

  it('round-trips a pod: unknown fields dropped, omitempty zeros dropped, structs kept', () => {
    const pod = normalizePod({
      metadata: { name: 'p', labels: {}, unknownField: 1 },
      spec: {
        containers: [{ name: 'c', image: '', ports: [{ containerPort: 80, hostPort: 0 }], resources: { limits: { cpu: '2000m' } },
          readinessProbe: { httpGet: { port: 'http' }, initialDelaySeconds: 0 } }],
        volumes: [{ name: 'v', emptyDir: null }],
      },
    });
    assert.deepEqual(pod, {
      metadata: { name: 'p' },
      spec: {
        volumes: [{ name: 'v' }],
        containers: [{ name: 'c', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '2' } }, readinessProbe: { httpGet: { port: 'http' } } }],
      },
      status: {},
    });
    // declaration order, as encoding/json writes structs
    assert.deepEqual(Object.keys((pod.spec as Obj).containers[0]), ['name', 'ports', 'resources', 'readinessProbe']);
  });

  it('reports type errors as Go does', () => {
    assert.throws(() => normalizePod({ spec: { containers: [{ name: 'c', ports: [{ containerPort: 'x' }] }] } }),
      /json: cannot unmarshal string into Go struct field ContainerPort\.spec\.containers\.ports\.containerPort of type int32/);
    assert.throws(() => normalizePod({ spec: { containers: 'x' } }), /cannot unmarshal string into Go struct field PodSpec\.spec\.containers of type \[\]v1\.Container/);
  });

  it('keeps a Deployment\'s zero structs (strategy: {}, status: {}) and DeploymentConfig\'s non-omitempty fields', () => {
    const d = roundTrip('apps.Deployment', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { template: { spec: { containers: [] } } } }) as Obj;
    assert.deepEqual(d.spec.strategy, {});
    assert.deepEqual(d.status, {});
    const dc = roundTrip('oapps.DeploymentConfig', { spec: {} }) as Obj;
    assert.equal(dc.spec.test, false);
    assert.equal(dc.spec.triggers, null);
    assert.equal(dc.status.latestVersion, 0);
  });
});

describe('inject: strategic merge patch', () => {
  const pod = (o: Obj): Obj => normalizePod(o);

  it('merges containers by name, patch items first (Istio\'s TestStrategicMerge)', () => {
    const out: Obj = strategicMergeType('core.Pod', pod({ metadata: { labels: { key: 'value' } }, spec: { containers: [{ name: 'hello', image: 'a' }] } }), {
      metadata: { labels: { $patch: 'replace', foo: 'bar' } },
      spec: { containers: [{ name: 'injected', image: 'b' }] },
    });
    assert.deepEqual(out.metadata.labels, { foo: 'bar' });
    assert.deepEqual(out.spec.containers.map((c: Obj) => c.name), ['injected', 'hello']);
  });

  it('merges env by name and keeps the original order for existing items; nulls delete', () => {
    const out: Obj = strategicMergeType('core.Pod', pod({ spec: { containers: [{ name: 'c', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], image: 'x' }] } }), {
      spec: { containers: [{ name: 'c', image: null, env: [{ name: 'B', value: '3' }, { name: 'C', value: '4' }] }] },
    });
    const c = out.spec.containers[0];
    assert.equal(c.image, undefined);
    assert.deepEqual(c.env, [{ name: 'A', value: '1' }, { name: 'B', value: '3' }, { name: 'C', value: '4' }]);
  });

  it('honours $patch: delete in lists and replace strategies for plain lists', () => {
    const out: Obj = strategicMergeType('core.Pod', pod({ spec: { containers: [{ name: 'a', args: ['1', '2'] }, { name: 'b' }] } }), {
      spec: { containers: [{ name: 'b', $patch: 'delete' }, { name: 'a', args: ['3'] }] },
    });
    assert.deepEqual(out.spec.containers, [{ name: 'a', args: ['3'], resources: {} }]);
  });
});

describe('inject: JSON patch', () => {
  it('creates patches that turn one document into the other', () => {
    const pairs: [unknown, unknown][] = [
      [{ a: [1, 2, 3], b: { c: 1 } }, { a: [0, 1, 3, 4], b: { d: 2 } }],
      [{ l: [{ n: 'x' }, { n: 'y' }] }, { l: [{ n: 'init' }, { n: 'x', v: 1 }, { n: 'y' }, { n: 'z' }] }],
      [{ l: [1, 2, 3, 4, 5] }, { l: [5] }],
      [{ 'a/b': { '~k': 1 } }, { 'a/b': { '~k': 2 } }],
      [{ x: 1 }, { x: [1] }],
    ];
    for (const [a, b] of pairs) assert.deepEqual(applyPatch(a, createPatch(a, b)), b);
  });

  it('rejects operations that do not apply', () => {
    assert.throws(() => applyPatch({ a: [] }, [{ op: 'replace', path: '/a/3', value: 1 }]), /out of bounds/);
    assert.throws(() => applyPatch({}, [{ op: 'remove', path: '/x' }]), /does not exist/);
  });
});

describe('inject: mesh configuration', () => {
  it('applies the mesh ConfigMap over Istio\'s defaults, merging defaultConfig and proxyMetadata', () => {
    const mc = applyMeshConfig('defaultConfig:\n  discoveryAddress: foo:123\n  proxyMetadata: {A: "1"}\ntrustDomain: td\nextensionProviders:\n- name: envoy\n  envoyFileAccessLog: {path: /x}\n- name: otel\n  opentelemetry: {service: s, port: 4317}\n', defaultMeshConfig());
    assert.equal(mc.trustDomain, 'td');
    assert.equal((mc.defaultConfig as Obj).discoveryAddress, 'foo:123');
    assert.equal((mc.defaultConfig as Obj).drainDuration, '45s');
    assert.deepEqual((mc.extensionProviders as Obj[]).map(p => p.name), ['prometheus', 'stackdriver', 'envoy', 'otel']);
    assert.deepEqual((mc.extensionProviders as Obj[])[2], { name: 'envoy', envoyFileAccessLog: { path: '/x' } });
    const merged = mergeProxyConfig('proxyMetadata: {B: "2"}', structuredClone(mc.defaultConfig as Obj));
    assert.deepEqual(merged.proxyMetadata, { A: '1', B: '2' });
  });

  it('prints PROXY_CONFIG like jsonpb after Istio\'s cleanProxyConfig', () => {
    const mc = meshConfigFromYaml('defaultConfig:\n  drainDuration: 23s\n');
    const pc = effectiveProxyConfig(mc, { 'proxy.istio.io/config': '{ "discoveryAddress": "foo:123", "concurrency": 0, "proxyMetadata": {"FOO": "bar"} }' });
    assert.equal(JSON.stringify(protoToJson(PROXY_CONFIG, cleanProxyConfig(pc))),
      '{"drainDuration":"23s","discoveryAddress":"foo:123","concurrency":0,"proxyMetadata":{"FOO":"bar"}}');
    assert.deepEqual(protoToJson(PROXY_CONFIG, cleanProxyConfig(effectiveProxyConfig(defaultMeshConfig(), {}))), {});
  });

  it('rejects invalid mesh config with the field named', () => {
    assert.throws(() => meshConfigFromYaml('defaultConfig:\n  interceptionMode: SIDEWAYS\n'), /unknown value "SIDEWAYS" for enum/);
    assert.throws(() => meshConfigFromYaml('defaultConfig:\n  drainDuration: 1m\n'), /bad Duration/);
    assert.throws(() => meshConfigFromYaml('defaultConfig:\n  discoveryAddress: nope\n'), /invalid discovery address/);
  });

  it('gives templates Go views: enums as Stringers, typed nil messages with nil-safe getters', () => {
    const funcs = injectionFuncs();
    const view = protoView(PROXY_CONFIG, { interceptionMode: 'TPROXY' });
    const r = (t: string): string => parseTemplate('t', t, { funcs }).execute({ pc: view });
    assert.equal(r('{{ .pc.InterceptionMode }} {{ .pc.ProxyMetadata }} {{ .pc.HoldApplicationUntilProxyStarts.GetValue }}'), 'TPROXY map[] false');
    assert.equal(r('{{ if .pc.GetTracing.GetTlsSettings }}tls{{ else }}none{{ end }} {{ .pc.GetTracing }}'), 'none <nil>');
    assert.throws(() => r('{{ .pc.Tracing.Sampling }}'), /nil pointer evaluating \*v1alpha1\.Tracing\.Sampling/);
  });
});

describe('inject: annotation validation (Istio\'s messages)', () => {
  it('reports each invalid traffic annotation', () => {
    const e = validateAnnotations({
      'traffic.sidecar.istio.io/includeOutboundIPRanges': 'bad',
      'traffic.sidecar.istio.io/excludeInboundPorts': '*',
      'sidecar.istio.io/interceptionMode': 'TPROXY',
    });
    assert.match(e!, /^2 errors occurred:/);
    assert.match(e!, /invalid value 'bad' for annotation 'traffic.sidecar.istio.io\/includeOutboundIPRanges': includeIPRanges invalid: failed parsing cidr 'bad': netip.ParsePrefix\("bad"\): no '\/'/);
    assert.match(e!, /excludeInboundPorts invalid: failed parsing port '\*'/);
    assert.equal(validateAnnotations({ 'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.0.0.0/8,::1/128', 'sidecar.istio.io/proxyCPU': '100m' }), undefined);
    assert.match(validateAnnotations({ 'sidecar.istio.io/proxyCPU': 'lots' })!, /quantities must match/);
  });
});

describe('inject: policy', () => {
  const cfg = (policy: string, extra: Partial<InjectConfig> = {}): Pick<InjectConfig, 'policy' | 'neverInjectSelector' | 'alwaysInjectSelector'> =>
    ({ policy, neverInjectSelector: [], alwaysInjectSelector: [], ...extra });
  const meta = (annotations: Obj = {}, labels: Obj = {}, namespace = 'test'): Obj => ({ name: 'p', namespace, annotations, labels });

  it('follows the policy, the pod annotation and label (label wins), and skips host networking and system namespaces', () => {
    const cases: [string, Obj, Obj, boolean, Obj?][] = [
      ['enabled', {}, {}, true],
      ['enabled', { 'sidecar.istio.io/inject': 'false' }, {}, false],
      ['disabled', {}, {}, false],
      ['disabled', { 'sidecar.istio.io/inject': 'true' }, {}, true],
      ['disabled', { 'sidecar.istio.io/inject': 'false' }, { 'sidecar.istio.io/inject': 'true' }, true],
      ['enabled', { 'sidecar.istio.io/inject': 'bogus' }, {}, true],
      ['bogus', {}, {}, false],
      ['enabled', {}, {}, false, { hostNetwork: true }],
    ];
    for (const [policy, ann, labels, want, spec] of cases) {
      assert.equal(injectRequired([], cfg(policy), spec ?? {}, meta(ann, labels)), want, `${policy} ${JSON.stringify(ann)} ${JSON.stringify(labels)}`);
    }
    assert.equal(injectRequired(['kube-system'], cfg('enabled'), {}, meta({}, {}, 'kube-system')), false);
  });

  it('applies neverInjectSelector before alwaysInjectSelector, only without an explicit choice', () => {
    const c = cfg('disabled', {
      neverInjectSelector: [{ matchExpressions: [{ key: 'openshift.io/build.name', operator: 'Exists' }] }],
      alwaysInjectSelector: [{ matchLabels: { app: 'always' } }],
    });
    assert.equal(injectRequired([], c, {}, meta({}, { app: 'always' })), true);
    assert.equal(injectRequired([], c, {}, meta({}, { app: 'always', 'openshift.io/build.name': 'x' })), false);
    assert.equal(injectRequired([], c, {}, meta({ 'sidecar.istio.io/inject': 'true' }, { 'openshift.io/build.name': 'x' })), true);
  });

  it('selects pods like Istio\'s MutatingWebhookConfiguration (namespace labels, istio.io/rev)', () => {
    assert.equal(selectingWebhook({ namespace: 'a', namespaceLabels: { 'istio-injection': 'enabled' } }), 'namespace.sidecar-injector.istio.io');
    assert.equal(selectingWebhook({ namespace: 'a', namespaceLabels: { 'istio-injection': 'enabled' }, podLabels: { 'sidecar.istio.io/inject': 'false' } }), undefined);
    assert.equal(selectingWebhook({ namespace: 'a', namespaceLabels: { 'istio.io/rev': 'canary' }, revision: 'canary' }), 'rev.namespace.sidecar-injector.istio.io');
    assert.equal(selectingWebhook({ namespace: 'a', namespaceLabels: { 'istio.io/rev': 'canary' } }), undefined);
    assert.equal(selectingWebhook({ namespace: 'a', podLabels: { 'sidecar.istio.io/inject': 'true' } }), 'object.sidecar-injector.istio.io');
    assert.equal(selectingWebhook({ namespace: 'a' }), undefined);
    assert.equal(selectingWebhook({ namespace: 'a', enableNamespacesByDefault: true }), 'auto.sidecar-injector.istio.io');
    assert.equal(selectingWebhook({ namespace: 'kube-system', enableNamespacesByDefault: true }), undefined);
  });

  it('detects native sidecar support from kubelet versions', () => {
    const nodes = [{ name: 'a', kubeletVersion: 'v1.33.0' }, { name: 'b', kubeletVersion: 'v1.28.3-gke.1' }];
    assert.equal(detectNativeSidecar('auto', nodes, ''), false);
    assert.equal(detectNativeSidecar('auto', nodes, 'a'), true);
    assert.equal(detectNativeSidecar('auto', [nodes[0]], ''), true);
    assert.equal(detectNativeSidecar('auto', undefined, ''), false);
    assert.equal(detectNativeSidecar('true', undefined, ''), true);
    assert.equal(detectNativeSidecar('false', [nodes[0]], ''), false);
    assert.equal(featuresFromEnv({ ENABLE_NATIVE_SIDECARS: 'weird' }).nativeSidecars, 'false');
    assert.equal(featuresFromEnv({}).nativeSidecars, 'auto');
  });

  it('reads cluster/network parameters from webhook paths (Istio\'s TestParseInjectEnvs)', () => {
    const cases: [string, Obj][] = [
      ['/', {}], ['/inject', {}], ['/inject/', {}],
      ['/inject/cluster/cluster1', { ISTIO_META_CLUSTER_ID: 'cluster1' }],
      ['/inject/cluster/cluster1/net/network1/', { ISTIO_META_CLUSTER_ID: 'cluster1', ISTIO_META_NETWORK: 'network1' }],
      ['/inject/cluster/cluster--slash--1/net/network--slash--1', { ISTIO_META_CLUSTER_ID: 'cluster/1', ISTIO_META_NETWORK: 'network/1' }],
      ['/inject/cluster/cluster1/custom_env/foo', { ISTIO_META_CLUSTER_ID: 'cluster1', CUSTOM_ENV: 'foo' }],
      ['/inject/cluster', {}],
      ['/inject/cluster/cluster1/network', { ISTIO_META_CLUSTER_ID: 'cluster1' }],
      ['/inject/:ENV:cluster=cluster2:ENV:rootpage=/foo/bar', { ISTIO_META_CLUSTER_ID: 'cluster2', ROOTPAGE: '/foo/bar' }],
      ['/inject/rootpage1/value1/rootpage2/:ENV:abcd=efgh', { ROOTPAGE1: 'value1', ROOTPAGE2: ':ENV:abcd=efgh' }],
      ['/inject/:ENV:rootpage1=efgh:ENV:=abb:ENV:=', { ROOTPAGE1: 'efgh' }],
    ];
    for (const [path, want] of cases) assert.deepEqual(parseInjectEnvs(path), want, path);
  });
});

// ---- whole injections with small templates ----

const SIDECAR = `
spec:
  containers:
  - name: istio-proxy
    image: proxy
`;

function webhookFor(templates: Record<string, string>, extra: Partial<InjectConfig> = {}, values: Obj = {}): InjectionWebhook {
  return new InjectionWebhook({
    config: { ...configFromTemplates(templates), ...extra },
    values: ValuesConfig.fromObject(values), meshConfig: defaultMeshConfig(), revision: 'default', features: featuresFromEnv({}),
  });
}

function injected(wh: InjectionWebhook, pod: Obj, path = '/inject'): Obj {
  const input = normalizePod(pod);
  const out = wh.inject({ uid: 'u', object: input }, path);
  assert.equal(out.response.allowed, true, out.response.status?.message);
  return out.patch ? normalizePod(applyPatch(input, out.patch as PatchOp[])) : input;
}

describe('inject: injections', () => {
  it('runs several templates and aliases (Istio\'s TestMultipleInjectionTemplates)', () => {
    const wh = webhookFor({ sidecar: SIDECAR, init: 'spec:\n initContainers:\n - name: istio-init\n   image: proxy\n' }, { aliases: { both: ['sidecar', 'init'] } });
    for (const templates of ['sidecar,init', 'both']) {
      const pod = injected(wh, { metadata: { name: 'hello', annotations: { 'inject.istio.io/templates': templates } }, spec: { containers: [{ name: 'hello', image: 'app' }] } });
      assert.deepEqual(pod.spec.initContainers.map((c: Obj) => c.name), ['istio-init']);
      assert.deepEqual(pod.spec.containers.map((c: Obj) => c.name), ['hello', 'istio-proxy']);
      assert.deepEqual(JSON.parse(pod.metadata.annotations['sidecar.istio.io/status']), {
        initContainers: ['istio-init'], containers: ['istio-proxy'], volumes: null, imagePullSecrets: null, revision: 'default',
      });
      assert.equal(pod.metadata.annotations['prometheus.io/port'], '15020');
    }
  });

  it('fails with Istio\'s message for an unknown template, and for bad annotations', () => {
    const wh = webhookFor({ sidecar: SIDECAR });
    const r = wh.inject({ object: normalizePod({ metadata: { annotations: { 'inject.istio.io/templates': 'nope' } }, spec: { containers: [{ name: 'a' }] } }) });
    assert.equal(r.response.allowed, false);
    assert.match(r.response.status!.message, /failed to run injection template: requested template "nope" not found; have sidecar/);
    const bad = wh.inject({ object: normalizePod({ metadata: { annotations: { 'traffic.sidecar.istio.io/excludeOutboundPorts': 'x' } }, spec: { containers: [{ name: 'a' }] } }) });
    assert.match(bad.response.status!.message, /excludeOutboundPorts invalid/);
  });

  it('merges a user-declared istio-proxy container over the template and records the override', () => {
    const wh = webhookFor({ sidecar: 'spec:\n  containers:\n  - name: istio-proxy\n    image: proxy\n    args: [a]\n    env: [{name: X, value: "1"}]\n' });
    const pod = injected(wh, { spec: { containers: [{ name: 'app', image: 'app' }, { name: 'istio-proxy', image: 'auto', args: ['custom'] }] } });
    const proxy = pod.spec.containers.find((c: Obj) => c.name === 'istio-proxy');
    assert.equal(proxy.image, 'proxy');
    assert.deepEqual(proxy.args, ['custom']);
    assert.deepEqual(proxy.env, [{ name: 'X', value: '1' }]);
    assert.equal(pod.metadata.annotations['proxy.istio.io/overrides'], '{"containers":[{"name":"istio-proxy","args":["custom"],"resources":{}}]}');
    assert.deepEqual(pod.spec.containers.map((c: Obj) => c.name), ['app', 'istio-proxy']);
  });

  it('is idempotent: re-injecting an injected pod changes nothing', () => {
    const wh = webhookFor({ sidecar: SIDECAR });
    const once = injected(wh, { metadata: { name: 'p' }, spec: { containers: [{ name: 'app', image: 'app', readinessProbe: { httpGet: { port: 8080, path: '/r' } } }] } });
    const twice = injected(wh, once);
    assert.deepEqual(twice, once);
  });

  it('rewrites application probes to the agent and records them in ISTIO_KUBE_APP_PROBERS', () => {
    const wh = webhookFor({ sidecar: SIDECAR }, {}, { sidecarInjectorWebhook: { rewriteAppHTTPProbe: true } });
    const pod = injected(wh, { spec: { containers: [{ name: 'app', image: 'app', ports: [{ name: 'http', containerPort: 8080 }],
      readinessProbe: { httpGet: { port: 'http', path: '/ready', scheme: 'HTTPS' } }, livenessProbe: { tcpSocket: { port: 8081 } } }] } });
    const app = pod.spec.containers[0];
    assert.deepEqual(app.readinessProbe, { httpGet: { path: '/app-health/app/readyz', port: 15020, scheme: 'HTTP' } });
    assert.deepEqual(app.livenessProbe, { httpGet: { path: '/app-health/app/livez', port: 15020 } });
    const env = pod.spec.containers[1].env.find((e: Obj) => e.name === 'ISTIO_KUBE_APP_PROBERS');
    assert.equal(env.value, '{"/app-health/app/livez":{"tcpSocket":{"port":8081}},"/app-health/app/readyz":{"httpGet":{"path":"/ready","port":8080,"scheme":"HTTPS"}}}');
    assert.equal(dumpAppProbers(pod, 15020), '');
  });

  it('moves the Prometheus annotations to the agent (metrics merge)', () => {
    const wh = webhookFor({ sidecar: SIDECAR });
    const pod = injected(wh, { metadata: { annotations: { 'prometheus.io/port': '9090', 'prometheus.io/path': '/m' } }, spec: { containers: [{ name: 'app' }] } });
    assert.deepEqual(pod.metadata.annotations, {
      'prometheus.io/path': '/stats/prometheus', 'prometheus.io/port': '15020', 'prometheus.io/scrape': 'true',
      'sidecar.istio.io/status': pod.metadata.annotations['sidecar.istio.io/status'],
    });
    assert.deepEqual(pod.spec.containers[1].env, [{ name: 'ISTIO_PROMETHEUS_ANNOTATIONS', value: '{"scrape":"","path":"/m","port":"9090"}' }]);
    const bad = webhookFor({ sidecar: SIDECAR }).inject({ object: normalizePod({ metadata: { annotations: { 'prometheus.io/port': '15090' } }, spec: { containers: [{ name: 'a' }] } }) });
    assert.match(bad.response.status!.message, /port 15090 is reserved for Istio \(Envoy Prometheus \(already merged\)\) and cannot be scraped/);
  });

  it('sets cluster and network env vars from the webhook path', () => {
    const wh = webhookFor({ sidecar: 'spec:\n  containers:\n  - name: istio-proxy\n    env: [{name: ISTIO_META_NETWORK, value: n0}, {name: A, value: a}]\n' });
    const pod = injected(wh, { spec: { containers: [{ name: 'app' }] } }, '/inject/cluster/c1/net/n1');
    assert.deepEqual(pod.spec.containers[1].env, [
      { name: 'A', value: 'a' }, { name: 'ISTIO_META_CLUSTER_ID', value: 'c1' }, { name: 'ISTIO_META_NETWORK', value: 'n1' },
    ]);
    assert.equal(pod.metadata.labels['topology.istio.io/network'], 'n1');
  });

  it('kube-inject leaves other documents alone and warns about host-network workloads', () => {
    const warnings: string[] = [];
    const out = intoResourceFile(
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  namespace: ns\nspec:\n  template:\n    spec:\n      hostNetwork: true\n      containers: [{name: a}]\n',
      { templates: configFromTemplates({ sidecar: SIDECAR }).templates, values: ValuesConfig.fromObject({}), meshConfig: defaultMeshConfig(),
        revision: '', features: featuresFromEnv({}), warn: m => warnings.push(m) });
    assert.ok(out.startsWith('apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n---\n'));
    assert.match(out, /hostNetwork: true/);
    assert.deepEqual(warnings, ['===> Skipping injection because Deployment "ns/d" has host networking enabled\n']);
  });

  it('loads the injector ConfigMap format (policy, selectors, templates)', () => {
    const c = unmarshalConfig('policy: disabled\ntemplates:\n  sidecar: "spec: {}"\nneverInjectSelector:\n- matchLabels: {a: b}\n');
    assert.equal(c.policy, 'disabled');
    assert.deepEqual(c.defaultTemplates, ['sidecar']);
    assert.deepEqual([...c.templates.keys()], ['sidecar']);
    assert.throws(() => unmarshalConfig('templates:\n  sidecar: "{{ .Foo "\n'), /template: inject:1/);
  });
});

describe('inject: fast YAML path', () => {
  const full = (t: string): unknown => JSON.parse(JSON.stringify(parseYaml(t, { version: '1.1', merge: true, uniqueKeys: false }) ?? null));

  it('reads what it accepts exactly as the full YAML 1.1 parser does, and declines the rest', () => {
    const accepted = [
      'a: 1\nb: -2\nc: 1.5\nd: yes\ne: Off\nf: ~\ng: ""\nh: \'it\'\'s\'\ni: "tab\\there"\nj: 100m\nk: 128Mi\nl: -c\nm: 15090,15021\n',
      'spec:\n  containers:\n  - name: a\n    args:\n    - "-p"\n    - x # comment\n  volumes:\n  - emptyDir:\n    name: v\n',
      'metadata:\n  annotations: {\n    a.b/c: "x",\n    d: e,\n  }\nlist: [1, "two", three]\n',
      'env:\n- name: P\n  value: |\n    {}\n- name: Q\n  value: |-\n    [\n        {"a":1}\n    ]\n',
      'top:\n\n  # a comment\n  nested: true\n',
    ];
    for (const t of accepted) {
      const fast = parseYamlFast(t);
      assert.notEqual(fast, undefined, t);
      assert.deepEqual(fast, full(t), t);
    }
    const declined = ['a: &x 1\nb: *x\n', 'a: !!str 1\n', 'a: 0x1F\n', 'a: 1e3\n', 'a: 2001-12-14\n', 'a: >\n  folded\n',
      'a: plain\n  continued\n', 'a: 1\na: 2\n', '1: x\n', 'a: 10:30\n', 'a: 0777\n'];
    for (const t of declined) assert.equal(parseYamlFast(t), undefined, t);
  });

  it('agrees with the full parser on Istio\'s injection test files', function () {
    const dir = `${process.env.ISTIO_TESTDATA ?? fileURLToPath(new URL('../../shared/istio', import.meta.url))}/pkg/kube/inject/testdata/inject`;
    if (!existsSync(dir)) this.skip();
    let fastCount = 0;
    for (const f of readdirSync(dir)) {
      for (const doc of splitYamlDocuments(readFileSync(`${dir}/${f}`, 'utf8'))) {
        const fast = parseYamlFast(doc);
        if (fast === undefined) continue;
        fastCount++;
        assert.deepEqual(fast, full(doc), f);
      }
    }
    assert.ok(fastCount > 100, `only ${fastCount} documents on the fast path`);
  });
});
