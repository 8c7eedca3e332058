// Istio's template functions, and Istio's real injection templates rendered with a realistic
// SidecarTemplateData (read in place from ISTIO_TESTDATA, default ../shared/istio).

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import {
  goMap, goStruct, injectionFuncs, parseInjectionTemplate, parseTemplate, toGoYaml,
} from '../webhook/template/index.js';

const funcs = injectionFuncs({ env: { PRESENT: 'yes' } });
const r = (text: string, data?: unknown): string => parseTemplate('t', text, { funcs }).execute(data);

describe('template: Istio functions', () => {
  it('appendMultusNetwork (Istio\'s TestAppendMultusNetwork cases)', () => {
    const cases: [string, string][] = [
      ['', 'istio-cni'],
      ['macvlan-conf-1', 'macvlan-conf-1, istio-cni'],
      ['macvlan-conf-1, macvlan-conf-2', 'macvlan-conf-1, macvlan-conf-2, istio-cni'],
      ['[{"name": "macvlan-conf-1"}]', '[{"name": "macvlan-conf-1"}, {"name": "istio-cni"}]'],
      ['[{"name": "a"}, {"name": "istio-cni"}]', '[{"name": "a"}, {"name": "istio-cni"}]'],
      ['a, istio-cni', 'a, istio-cni'],
    ];
    for (const [input, want] of cases) assert.equal(r('{{ appendMultusNetwork .in "istio-cni" }}', { in: input }), want, input);
    assert.equal(r('{{ appendMultusNetwork "[{\\"name\\": \\"x\\"}]" "default/istio-cni" }}'),
      '[{"name": "x"}, {"name": "istio-cni", "namespace": "default"}]');
  });

  it('annotation reads ObjectMeta.Annotations, else prints the default with fmt', () => {
    const meta = goStruct('v1.ObjectMeta', { Annotations: goMap({ a: 'x' }) });
    assert.equal(r('{{ annotation .m "a" "d" }} {{ annotation .m "b" 15020.0 }} {{ annotation .m "c" .mode }}', {
      m: meta, mode: goStruct('v1alpha1.Mode', { String: () => 'REDIRECT' }),
    }), 'x 15020 REDIRECT');
    assert.equal(r('{{ annotation .m "a" "d" }}', { m: { annotations: { a: 'json-form' } } }), 'json-form');
  });

  it('port helpers', () => {
    const containers = [
      { name: 'app', ports: [{ containerPort: 80 }, { containerPort: 53, protocol: 'UDP' }] },
      { name: 'istio-proxy', ports: [{ containerPort: 15090 }] },
    ];
    assert.equal(r('{{ includeInboundPorts .c }}|{{ applicationPorts .c }}', { c: containers }), '80,15090|80');
    assert.equal(r('{{ excludeInboundPort 15020.0 "" }}|{{ excludeInboundPort "15020" "1, 2" }}|{{ excludeInboundPort "2" "1,2" }}|{{ excludeInboundPort 0 "1" }}'),
      '15020|1,2,15020|1,2|1');
  });

  it('maps: omit, strdict, mergeMaps, toJsonMap, toJSON, isset', () => {
    const data = { a: goMap({ k: 'v', drop: 'x', h: '<b>' }) };
    assert.equal(r('{{ omit .a "drop" }}|{{ strdict "x" "1" "y" }}|{{ mergeMaps .a (strdict "k" "w") }}', data),
      'map[h:<b> k:v]|map[x:1 y:]|map[drop:x h:<b> k:w]');
    assert.equal(r('{{ toJsonMap (omit .a "drop") (strdict "z" "1") }}|{{ toJSON .a }}|{{ toJSON .none }}', data),
      '{"h":"\\u003cb\\u003e","k":"v","z":"1"}|{"drop":"x","h":"\\u003cb\\u003e","k":"v"}|{}');
  });

  it('JSON: fromJSON (with Istio\'s "{}" on bad input), structToJSON, protoToJSON in field order', () => {
    assert.equal(r('{{ range $k, $v := fromJSON .s }}{{ $k }}={{ $v }};{{ end }}', { s: '{"b": 2, "a": [1]}' }), 'a=[1];b=2;');
    assert.equal(r('{{ fromJSON "nope" }}'), '{}');
    assert.equal(r('{{ structToJSON .p }}|{{ structToJSON .none }}', { p: { name: 'http', containerPort: 80 } }), '{"containerPort":80,"name":"http"}|{}');
    assert.equal(r('{{ protoToJSON .pc }}', { pc: { tracing: { zipkin: {} }, discoveryAddress: 'x:15012' } }),
      '{"tracing":{"zipkin":{}},"discoveryAddress":"x:15012"}');
  });

  it('toYaml matches sigs.k8s.io/yaml output; Istio\'s indent leaves the first line alone', () => {
    const res = { requests: { memory: '128Mi', cpu: '100m' }, limits: { cpu: '2' }, list: ['a', 'true', ''], n: null, e: {} };
    assert.equal(toGoYaml(res), 'limits:\n  cpu: "2"\nlist:\n- a\n- "true"\n- ""\n"n": null\nrequests:\n  cpu: 100m\n  memory: 128Mi\ne: {}\n'
      .replace('e: {}\n', '').replace('limits', 'e: {}\nlimits'));
    assert.equal(r('x:\n  {{ toYaml .r | indent 2 }}', { r: { b: 1, a: 'x: y' } }), "x:\n  a: 'x: y'\n  b: 1\n  ");
    assert.equal(r('{{ toYaml (omitNil .r) }}', { r: { a: null, b: { c: null }, d: [null, 1] } }), 'd:\n- 1\n');
  });

  it('formatDuration, directory, contains (flipped like Sprig), toLower, env', () => {
    assert.equal(r('{{ formatDuration .a }} {{ formatDuration .b }} {{ formatDuration .c }} {{ formatDuration .d }}', {
      a: { seconds: 23 }, b: '90s', c: { seconds: 3723, nanos: 500000000 }, d: { nanos: 1500000 },
    }), '23s 1m30s 1h2m3.5s 1.5ms');
    assert.equal(r('{{ directory "/etc/certs/root-cert.pem" }} {{ contains "/" "a/b" }} {{ toLower "ABC" }} {{ env "PRESENT" "d" }} {{ env "ABSENT" "d" }}'),
      '/etc/certs/ true abc yes d');
  });

  it('otelResourceAttributes follows the OTel k8s service attributes', () => {
    const mc = { extensionProviders: [{ name: 'otel', opentelemetry: { serviceAttributeEnrichment: 'OTEL_SEMANTIC_CONVENTIONS' } }] };
    const data = { mc, ann: goMap({}), lab: goMap({}), c: [{ name: 'app', image: 'reg:5000/app:1.2@sha256:ab' }] };
    assert.equal(r('{{ otelResourceAttributes .mc .ann .lab "ns" .c }}', data),
      'service.namespace=ns,service.version=1.2@sha256:ab,service.instance.id=ns.$(POD_NAME).app');
    assert.equal(r('{{ otelResourceAttributes .mc .ann .lab "ns" .c }}', { ...data, mc: { extensionProviders: [] } }), '');
  });
});

// ---- Istio's real injection template ----

const testdata = process.env.ISTIO_TESTDATA ?? fileURLToPath(new URL('../../shared/istio', import.meta.url));
const filesDir = `${testdata}/manifests/charts/istio-control/istio-discovery/files`;
const injectDir = `${testdata}/pkg/kube/inject/testdata/inject`;
const renderedCharts = `${testdata}/operator/cmd/mesh/testdata/manifest-generate/output/pilot_default.golden.yaml`;

type Obj = Record<string, any>;

function loadValues(): Obj {
  const docs = parseAllDocuments(readFileSync(renderedCharts, 'utf8')).map(d => d.toJS() as Obj);
  const cm = docs.find(d => d?.kind === 'ConfigMap' && d.metadata?.name === 'istio-sidecar-injector')!;
  const values = JSON.parse(cm.data.values as string) as Obj;
  values.global.hub = 'registry.istio.io/testing';
  values.global.tag = 'latest';
  return values;
}

/** A SidecarTemplateData for a Deployment, in the engine's Go value model. */
function templateData(deployment: Obj, values: Obj, opts: { native: boolean; annotations?: Record<string, string> }): unknown {
  const meta = deployment.spec.template.metadata as Obj;
  const spec = deployment.spec.template.spec as Obj;
  return goStruct('inject.SidecarTemplateData', {
    TypeMeta: goStruct('v1.TypeMeta', { Kind: deployment.kind, APIVersion: deployment.apiVersion }),
    DeploymentMeta: goStruct('types.NamespacedName', { Name: deployment.metadata.name, Namespace: 'default' }),
    ObjectMeta: goStruct('v1.ObjectMeta', {
      Name: '', Namespace: 'default',
      Labels: goMap({ ...(meta.labels ?? {}) }), Annotations: goMap({ ...(meta.annotations ?? {}), ...opts.annotations }),
    }),
    Spec: goStruct('v1.PodSpec', {
      Containers: (spec.containers as Obj[]).map(c => goStruct('v1.Container', {
        Name: c.name, Image: c.image,
        Ports: ((c.ports ?? []) as Obj[]).map(p => goStruct('v1.ContainerPort', {
          Name: p.name ?? '', ContainerPort: BigInt(p.containerPort), Protocol: p.protocol ?? 'TCP',
          toJSON: () => ({ name: p.name, containerPort: p.containerPort }),
        })),
      })),
      ServiceAccountName: spec.serviceAccountName ?? '',
    }),
    ProxyConfig: goStruct('*v1alpha1.ProxyConfig', {
      InterceptionMode: goStruct('v1alpha1.ProxyConfig_InboundInterceptionMode', { String: () => 'REDIRECT' }),
      ProxyMetadata: goMap({}),
      HoldApplicationUntilProxyStarts: goStruct('*wrapperspb.BoolValue', { GetValue: () => false }),
      GetTracing: () => null,
      toJSON: () => ({}),
    }),
    MeshConfig: goStruct('*v1alpha1.MeshConfig', {
      ProxyListenPort: 0n, ProxyInboundListenPort: 0n, TrustDomain: 'cluster.local', ExtensionProviders: [],
    }),
    Values: values,
    Revision: '',
    NativeSidecars: opts.native,
    ProxyImage: 'registry.istio.io/testing/proxyv2:latest',
    ProxyInitImage: 'registry.istio.io/testing/proxyv2:latest',
    ProxyUID: 1337n,
    ProxyGID: 1337n,
    InboundTrafficPolicyMode: '',
    CompliancePolicy: '',
  });
}

const env = (c: Obj): Record<string, unknown> =>
  Object.fromEntries((c.env as Obj[]).map(e => [e.name, e.value ?? e.valueFrom]));

describe('template: Istio\'s injection templates', function () {
  before(function () {
    if (!existsSync(`${filesDir}/injection-template.yaml`) || !existsSync(renderedCharts)) {
      console.log(`    (skipped: Istio test data not found under ${testdata}; set ISTIO_TESTDATA)`);
      this.skip();
    }
  });

  it('renders injection-template.yaml (native sidecar) like Istio\'s golden for hello.yaml', () => {
    const values = loadValues();
    const deployment = parse(readFileSync(`${injectDir}/hello.yaml`, 'utf8')) as Obj;
    const golden = parseAllDocuments(readFileSync(`${injectDir}/hello.yaml.injected`, 'utf8'))[0].toJS() as Obj;
    const goldenPod = golden.spec.template.spec as Obj;
    const t = parseInjectionTemplate('sidecar', readFileSync(`${filesDir}/injection-template.yaml`, 'utf8'));
    const out = parse(t.execute(templateData(deployment, values, { native: true }))) as Obj;

    assert.equal(out.metadata.labels['service.istio.io/canonical-name'], 'hello');
    assert.equal(out.metadata.labels['security.istio.io/tlsMode'], 'istio');
    assert.equal(out.metadata.annotations['kubectl.kubernetes.io/default-container'], 'hello');
    assert.equal(out.metadata.annotations['istio.io/rev'], 'default');

    const [init, proxy] = out.spec.initContainers as Obj[];
    const [goldenInit, goldenProxy] = goldenPod.initContainers as Obj[];
    assert.equal(init.name, 'istio-init');
    assert.equal(init.image, goldenInit.image);
    assert.deepEqual(init.args, goldenInit.args);
    assert.deepEqual(init.securityContext, goldenInit.securityContext);
    assert.equal(proxy.name, 'istio-proxy');
    assert.equal(proxy.image, 'registry.istio.io/testing/proxyv2:latest');
    assert.equal(proxy.restartPolicy, 'Always');
    assert.deepEqual(proxy.args, goldenProxy.args);
    assert.deepEqual(proxy.lifecycle, goldenProxy.lifecycle);
    // the golden went through Kubernetes' serializer, which drops zero values (omitempty)
    assert.equal(proxy.readinessProbe.initialDelaySeconds, 0);
    delete proxy.readinessProbe.initialDelaySeconds;
    assert.deepEqual(proxy.readinessProbe, goldenProxy.readinessProbe);
    assert.deepEqual(proxy.securityContext, goldenProxy.securityContext);
    assert.deepEqual(env(proxy), env(goldenProxy));
    assert.equal(out.spec.containers, undefined);
    assert.deepEqual((out.spec.volumes as Obj[]).map(v => v.name), (goldenPod.volumes as Obj[]).map(v => v.name));
  });

  it('renders classic sidecars, CNI and pod annotations', () => {
    const values = loadValues();
    values.pilot.cni.enabled = true;
    values.global.proxy.holdApplicationUntilProxyStarts = true;
    const deployment = parse(readFileSync(`${injectDir}/hello.yaml`, 'utf8')) as Obj;
    const t = parseInjectionTemplate('sidecar', readFileSync(`${filesDir}/injection-template.yaml`, 'utf8'));
    const text = t.execute(templateData(deployment, values, {
      native: false,
      annotations: {
        'status.sidecar.istio.io/port': '123',
        'sidecar.istio.io/proxyCPU': '200m',
        'traffic.sidecar.istio.io/excludeOutboundPorts': '5432',
        'sidecar.istio.io/userVolume': '{"custom":{"emptyDir":{}}}',
        'sidecar.istio.io/userVolumeMount': '{"custom":{"mountPath":"/mnt/custom"}}',
      },
    }));
    const out = parse(text) as Obj;
    assert.equal(out.spec.initContainers[0].name, 'istio-validation');
    assert.ok((out.spec.initContainers[0].args as string[]).includes('--run-validation'));
    const args = out.spec.initContainers[0].args as string[];
    assert.equal(args[args.indexOf('-o') + 1], '5432');
    assert.equal(args[args.indexOf('-d') + 1], '15090,15021,123');
    const proxy = (out.spec.containers as Obj[]).find(c => c.name === 'istio-proxy')!;
    assert.deepEqual(proxy.lifecycle.postStart.exec.command, ['pilot-agent', 'wait']);
    assert.deepEqual(proxy.resources, { requests: { cpu: '200m' } });
    assert.equal(out.metadata.annotations['traffic.sidecar.istio.io/excludeInboundPorts'], '123');
    assert.equal(out.metadata.annotations['sidecar.istio.io/interceptionMode'], 'REDIRECT');
    assert.deepEqual((out.spec.volumes as Obj[]).find(v => v.name === 'custom'), { name: 'custom', emptyDir: {} });
    assert.deepEqual((proxy.volumeMounts as Obj[]).find(v => v.name === 'custom'), { name: 'custom', mountPath: '/mnt/custom' });
  });

  for (const file of ['gateway-injection-template.yaml', 'grpc-simple.yaml', 'grpc-agent.yaml']) {
    it(`renders ${file} to valid YAML`, () => {
      const deployment = parse(readFileSync(`${injectDir}/hello.yaml`, 'utf8')) as Obj;
      const t = parseInjectionTemplate(file, readFileSync(`${filesDir}/${file}`, 'utf8'));
      const out = parse(t.execute(templateData(deployment, loadValues(), { native: true }))) as Obj;
      assert.ok(out.spec, file);
    });
  }
});
