// `npm run conformance -- inject [--cases FILE] [--testdata ROOT]`: Istio's sidecar-injection
// golden cases (pkg/kube/inject TestInjection / TestInjectionOlderVersion) through both paths Istio
// tests — kube-inject (output compared with the golden as text, as Istio does) and the webhook
// (AdmissionReview → JSON patch applied to the pod → compared with the golden pod) — plus
// istioctl's kube-inject cases.
// See ../shared/conformance/inject/CASES.md.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { conformanceData, dataPresent, istioTestdata } from '../data.js';
import { Tally, type Suite, type SuiteOptions } from '../suite.js';
import {
  applyPatch, InjectionWebhook, intoResourceFile, normalizePod, roundTrip, splitYamlDocuments,
  type NodeInfo, type NamespaceInfo, type Pod,
} from '../../webhook/inject/index.js';
import { parseGoYaml } from '../../webhook/inject/config.js';
import { deepEqual, type PatchOp } from '../../webhook/inject/jsonpatch.js';
import type { Json, JsonObject } from '../../webhook/inject/k8s/types.js';
import { caseSettings, loadBaseConfigMaps, type BaseConfigMaps, type CaseSettings } from './inject-settings.js';
import { runKubeInject } from '../../cli/kube-inject.js';

interface InjectCase {
  suite: string;
  index: number;
  input: string;
  expected: string | null;
  paths?: string;
  set?: Record<string, string>;
  env?: Record<string, string>;
  mesh?: string[];
  overlay?: string;
  nodeKubeletVersions?: string[];
  expectError?: string;
  expectLog?: string;
}

const INJECT_DIR = 'pkg/kube/inject/testdata/inject';
const RENDERED = 'operator/cmd/mesh/testdata/manifest-generate/output/pilot_default.golden.yaml';
const ISTIOCTL_DIR = 'istioctl/pkg/kubeinject';
const CHART_FILES = 'manifests/charts/istio-control/istio-discovery/files';

/** The namespace the Go test creates (OpenShift UID/GID ranges). */
const TEST_NAMESPACES: NamespaceInfo[] = [{
  name: 'test-ns',
  annotations: { 'openshift.io/sa.scc.uid-range': '1000620000/10000', 'openshift.io/sa.scc.supplemental-groups': '1000620000/10000' },
}];

const WORKLOAD_KINDS = new Set(['Deployment', 'DeploymentConfig', 'DaemonSet', 'StatefulSet', 'Job', 'ReplicaSet', 'ReplicationController', 'CronJob', 'Pod']);
const TYPES: Record<string, string> = {
  ReplicationController: 'core.ReplicationController', Pod: 'core.Pod', Deployment: 'apps.Deployment', DaemonSet: 'apps.DaemonSet',
  ReplicaSet: 'apps.ReplicaSet', Job: 'batch.Job', CronJob: 'batch.CronJob', StatefulSet: 'apps.StatefulSet', DeploymentConfig: 'oapps.DeploymentConfig',
};

function obj(v: unknown): JsonObject {
  return (v && typeof v === 'object' && !Array.isArray(v) ? v : {}) as JsonObject;
}

/** Istio's webhook test: split on "\n---", keep workload documents, expand Lists. */
export function injectableDocs(text: string): JsonObject[] {
  const out: JsonObject[] = [];
  const visit = (v: unknown): void => {
    const o = obj(v);
    if (WORKLOAD_KINDS.has(o.kind as string)) out.push(o);
    else if (o.kind === 'List') for (const item of (o.items as Json[] | undefined) ?? []) visit(item);
  };
  for (const part of text.split('\n---')) visit(parseGoYaml(part));
  return out;
}

/** objectToPod: the pod a controller would create (owner reference simulated, as Istio's test does). */
export function objectToPod(doc: JsonObject): Pod {
  const kind = doc.kind as string;
  const typed = roundTrip(TYPES[kind], doc) as JsonObject;
  if (kind === 'Pod') return normalizePod(typed);
  const owner = (meta: JsonObject, name: string, apiVersion: string, k: string): JsonObject => ({
    ...meta, generateName: name, ownerReferences: [{ apiVersion, kind: k, name, controller: true }],
  });
  const name = (obj(typed.metadata).name as string | undefined) ?? '';
  const gv = (typed.apiVersion as string | undefined) ?? '';
  const spec = obj(typed.spec);
  if (kind === 'CronJob') {
    const tmpl = obj(obj(obj(spec.jobTemplate).spec).template);
    return normalizePod({ metadata: owner(obj(tmpl.metadata), name, gv, kind), spec: tmpl.spec });
  }
  const tmpl = obj(spec.template);
  if (kind === 'Deployment') {
    const m = owner(obj(tmpl.metadata), `${name}-fake`, 'apps/v1', 'ReplicaSet');
    m.generateName = `${name}-fake-`;
    m.labels = { ...obj(m.labels), 'pod-template-hash': 'fake' };
    return normalizePod({ metadata: m, spec: tmpl.spec });
  }
  return normalizePod({ metadata: owner(obj(tmpl.metadata), name, gv, kind), spec: tmpl.spec });
}

/** normalizeAndCompareDeployments: the status annotation dropped, env fieldRef.apiVersion cleared. */
function scrub(pod: Pod, clearFieldRefs: boolean): Pod {
  const p = structuredClone(pod);
  const ann = obj(obj(p.metadata).annotations);
  delete ann['sidecar.istio.io/status'];
  if (Object.keys(ann).length === 0) delete obj(p.metadata).annotations;
  if (clearFieldRefs) {
    for (const c of (obj(p.spec).containers as JsonObject[] | null) ?? []) {
      for (const e of (c.env as JsonObject[] | undefined) ?? []) {
        const fr = obj(obj(e.valueFrom).fieldRef);
        if ('apiVersion' in fr) delete fr.apiVersion;
      }
    }
  }
  return normalizePod(p);
}

/** A short description of the first difference between two JSON values. */
export function firstDiff(a: unknown, b: unknown, path = ''): string | undefined {
  if (deepEqual(a, b)) return undefined;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDiff(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const d = firstDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  const show = (v: unknown): string => (v === undefined ? '(absent)' : JSON.stringify(v)?.slice(0, 160) ?? String(v));
  return `${path || '.'}: got ${show(a)}, want ${show(b)}`;
}

/** Parses a YAML stream into its non-empty documents (for semantic comparison). */
function yamlDocs(text: string): unknown[] {
  return splitYamlDocuments(text).map(d => parseGoYaml(d)).filter(d => d !== null);
}

function stripVersion(text: string): string {
  return text.replace(/sidecar\.istio\.io\/status: '\{"version":"[0-9a-f]*",/g, 'sidecar.istio.io/status: \'{');
}

function nodesOf(c: InjectCase): NodeInfo[] {
  return (c.nodeKubeletVersions ?? ['v1.33.0', 'v1.34.0']).map((v, i) => ({ name: `node-${i + 1}`, kubeletVersion: v }));
}

function caseName(c: InjectCase): string {
  return `${c.suite}[${String(c.index).padStart(2, '0')}] ${c.expected ?? c.input}`;
}

export const injectSuite: Suite = {
  name: 'inject',
  description: 'sidecar injection: kube-inject and the webhook against Istio\'s golden files',
  async run(opts: SuiteOptions) {
    const root = istioTestdata(opts.testdata);
    const casesFile = opts.cases ? resolve(opts.cases) : join(conformanceData(), 'inject', 'cases.json');
    const tally = new Tally();
    if (!dataPresent(casesFile, join(root, INJECT_DIR), join(root, RENDERED))) {
      return { passed: 0, failed: 0, failures: [], skipped: `inject data not found (cases ${casesFile}, Istio test data ${root}; set ISTIO_TESTDATA)` };
    }
    const caseDir = dirname(casesFile);
    const locate = (p: string, under: string): string => {
      if (isAbsolute(p)) return p;
      const local = join(caseDir, p);
      return existsSync(local) ? local : join(root, under, p);
    };
    const cases = JSON.parse(readFileSync(casesFile, 'utf8')) as InjectCase[];
    const base: BaseConfigMaps = loadBaseConfigMaps(join(root, RENDERED), join(root, CHART_FILES));
    let defaults: CaseSettings | undefined;
    for (const c of cases) {
      const name = caseName(c);
      let settings: CaseSettings;
      try {
        const custom = c.set || c.overlay || c.mesh || c.env;
        settings = custom
          ? caseSettings(base, { set: c.set, mesh: c.mesh, env: c.env, overlayText: c.overlay ? readFileSync(locate(c.overlay, INJECT_DIR), 'utf8') : undefined })
          : (defaults ??= caseSettings(base, {}));
      } catch (e) {
        tally.fail(name, `settings: ${(e as Error).message.split('\n')[0]}`);
        continue;
      }
      const inputPath = locate(c.input, INJECT_DIR);
      const paths = c.paths ?? 'both';
      if (paths !== 'webhook only') {
        await tally.check(`${name} [kube-inject]`, () => checkKubeInject(c, settings, inputPath, c.expected ? locate(c.expected, INJECT_DIR) : undefined));
      }
      if (paths !== 'kube-inject only' && !c.expectError) {
        await tally.check(`${name} [webhook]`, () => checkWebhook(c, settings, inputPath, locate(c.expected!, INJECT_DIR)));
      }
      if (opts.verbose) process.stdout.write(`ran ${name}\n`);
    }
    if (existsSync(join(root, ISTIOCTL_DIR, 'testdata'))) await runIstioctlCases(join(root, ISTIOCTL_DIR), tally);
    else tally.fail('istioctl kube-inject', `test data not found under ${join(root, ISTIOCTL_DIR)}`);
    return tally.result;
  },
};

function checkKubeInject(c: InjectCase, s: CaseSettings, inputPath: string, expectedPath: string | undefined): string | undefined {
  const logs: string[] = [];
  let out: string;
  try {
    out = intoResourceFile(readFileSync(inputPath, 'utf8'), {
      templates: s.config.templates, values: s.values, meshConfig: s.meshConfig, revision: '', features: s.features,
      nodes: nodesOf(c), warn: m => logs.push(m),
    });
  } catch (e) {
    const msg = (e as Error).message;
    if (c.expectError) return msg.toLowerCase().includes(c.expectError) ? undefined : `error ${JSON.stringify(msg.split('\n')[0])} does not contain ${JSON.stringify(c.expectError)}`;
    return `kube-inject failed: ${msg.split('\n').join(' ')}`;
  }
  if (c.expectError) return `expected an error containing ${JSON.stringify(c.expectError)}, got none`;
  if (c.expectLog && !logs.some(l => l.includes(c.expectLog!))) return `expected a warning containing ${JSON.stringify(c.expectLog)}; got ${JSON.stringify(logs)}`;
  return compareOutput(stripVersion(out), readFileSync(expectedPath!, 'utf8'), c.expected!);
}

/**
 * Istio compares kube-inject output with its golden as text (after trimming); so does this, and
 * names the first semantic difference (or the first differing line when only formatting differs).
 */
function compareOutput(got: string, want: string, golden: string): string | undefined {
  if (got.trim() === want.trim()) return undefined;
  const d = firstDiff(yamlDocs(got), yamlDocs(want));
  if (d) return `output differs from ${golden}: ${d}`;
  const a = got.trim().split('\n'), b = want.trim().split('\n');
  const i = a.findIndex((l, k) => l !== b[k]);
  return `output formatted differently from ${golden} at line ${i + 1}: ${JSON.stringify(a[i])} vs ${JSON.stringify(b[i])}`;
}

function checkWebhook(c: InjectCase, s: CaseSettings, inputPath: string, expectedPath: string): string | undefined {
  const inputs = injectableDocs(readFileSync(inputPath, 'utf8'));
  const wants = injectableDocs(readFileSync(expectedPath, 'utf8'));
  if (inputs.length === 0) return 'no injectable documents in the input';
  const wh = new InjectionWebhook({ ...s, revision: 'default' }, {
    nodes: () => nodesOf(c),
    namespace: (_cluster, ns) => TEST_NAMESPACES.find(n => n.name === ns),
  });
  for (let i = 0; i < inputs.length; i++) {
    const inputPod = objectToPod(inputs[i]);
    const wantPod = objectToPod(wants[i] ?? {});
    const outcome = wh.inject({ object: structuredClone(inputPod), namespace: (obj(inputs[i].metadata).namespace as string | undefined) ?? '' }, '');
    const r = outcome.response;
    if (!r.allowed) return `part ${i}: webhook refused: ${r.status?.message.split('\n').join(' ')}`;
    let gotPod = inputPod;
    if (r.patch) {
      const ops = JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8')) as PatchOp[];
      gotPod = normalizePod(applyPatch(inputPod, ops));
    }
    const d = firstDiff(scrub(gotPod, true), scrub(wantPod, false));
    if (d) return `part ${i}: pod differs from ${c.expected}: ${d}`;
  }
  return undefined;
}

interface IstioctlCase {
  args: string[];
  expectedRegexp?: RegExp;
  golden?: string;
}

const ISTIOCTL_CASES: IstioctlCase[] = [
  { args: [], expectedRegexp: /filename not specified \(see --filename or -f\)/ },
  { args: '-f missing.yaml'.split(' '), expectedRegexp: /open missing.yaml: no such file or directory/ },
  {
    args: '--meshConfigFile testdata/mesh-config.yaml --injectConfigFile testdata/inject-config.yaml -f testdata/deployment/hello.yaml --valuesFile testdata/inject-values.yaml'.split(' '),
    golden: 'testdata/deployment/hello.yaml.injected',
  },
  {
    args: '--meshConfigFile testdata/mesh-config.yaml --injectConfigFile testdata/inject-config-inline.yaml -f testdata/deployment/hello.yaml --valuesFile testdata/inject-values.yaml'.split(' '),
    golden: 'testdata/deployment/hello.yaml.injected',
  },
  {
    args: '--operatorFileName testdata/istio-operator.yaml --injectConfigFile testdata/inject-config-iop.yaml -f testdata/deployment/hello.yaml'.split(' '),
    golden: 'testdata/deployment/hello.yaml.iop.injected',
  },
  {
    args: '--operatorFileName testdata/istio-operator.yaml --injectConfigFile testdata/inject-config-inline-iop.yaml -f testdata/deployment/hello.yaml'.split(' '),
    golden: 'testdata/deployment/hello.yaml.iop.injected',
  },
  {
    args: '--operatorFileName testdata/istio-operator.yaml --injectConfigFile testdata/inject-config-iop.yaml -f testdata/deployment/hello.yaml -f testdata/deployment/hello.yaml --valuesFile testdata/inject-values.yaml'.split(' '),
    golden: 'testdata/deployment/hello.yaml.iop.injected',
  },
  {
    args: '--meshConfigFile testdata/mesh-config.yaml --injectConfigFile testdata/inject-config.yaml -f testdata/deployment/hello-with-proxyconfig-anno.yaml --valuesFile testdata/inject-values.yaml'.split(' '),
    golden: 'testdata/deployment/hello-with-proxyconfig-anno.yaml.injected',
  },
];

async function runIstioctlCases(dir: string, tally: Tally): Promise<void> {
  for (const [i, c] of ISTIOCTL_CASES.entries()) {
    await tally.check(`istioctl kube-inject case ${i} ${c.args.join(' ')}`.trim(), async () => {
      const r = await runKubeInject(c.args, { cwd: dir, env: {} });
      const text = r.stdout + r.stderr;
      if (c.expectedRegexp) {
        if (r.exitCode === 0) return `expected an error matching ${c.expectedRegexp}, got success`;
        return c.expectedRegexp.test(text) ? undefined : `error ${JSON.stringify(r.stderr.trim())} does not match ${c.expectedRegexp}`;
      }
      if (r.exitCode !== 0) return `failed: ${r.stderr.trim().split('\n').join(' ')}`;
      return compareOutput(stripVersion(r.stdout), readFileSync(join(dir, c.golden!), 'utf8'), c.golden!);
    });
  }
}

