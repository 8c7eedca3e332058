// `gateway-conversion`: Kubernetes Gateway API and Ingress objects → Istio config, like istiod.
//
// Runs Istio's own conversion test data: pilot/pkg/config/kube/gateway/testdata/<name>.yaml →
// <name>.yaml.golden (TestConvertResources) and pilot/pkg/config/kube/ingress/testdata
// (TestGoldenConversion), in the environment those Go tests build (see the fixture file). The
// generated Gateways, VirtualServices and DestinationRules are compared with the golden ones
// semantically: by kind/namespace/name, annotations and spec, with proto-JSON's zero values
// dropped on both sides and durations compared by value. Status goldens are not compared.
//
// `--cases FILE`: a JSON list of {name, type: "gateway"|"ingress", input, golden} with paths
// relative to the file's folder (or absolute); default: Istio's tables over `--testdata`.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { formatConfigError, parseObject } from '../../pilot/config/parse.js';
import type { Resource } from '../../pilot/config/resource.js';
import { MemoryConfigStore } from '../../pilot/config/store.js';
import { convertKubernetesConfig, type DerivedConfig } from '../../pilot/config/kube-conversion/index.js';
import { inferencePoolServiceName } from '../../pilot/config/kube-conversion/gateway-api/backends.js';
import { istioTestdata } from '../data.js';
import { Tally, type Suite, type SuiteOptions, type SuiteResult } from '../suite.js';
import {
  DOMAIN_SUFFIX, FIXTURE_FEATURES, fixtureNamespaces, fixtureObjects, fixtureServices, GATEWAY_CASES, INGRESS_CASES,
} from './gateway-conversion-fixture.js';

export interface ConversionCase {
  name: string;
  type: 'gateway' | 'ingress';
  input: string;
  golden: string;
}

const GATEWAY_DIR = 'pilot/pkg/config/kube/gateway/testdata';
const INGRESS_DIR = 'pilot/pkg/config/kube/ingress/testdata';

function defaultCases(root: string): ConversionCase[] {
  return [
    ...GATEWAY_CASES.map((n) => ({ name: `gateway/${n}`, type: 'gateway' as const, input: join(root, GATEWAY_DIR, `${n}.yaml`), golden: join(root, GATEWAY_DIR, `${n}.yaml.golden`) })),
    ...INGRESS_CASES.map((n) => ({ name: `ingress/${n}`, type: 'ingress' as const, input: join(root, INGRESS_DIR, `${n}.yaml`), golden: join(root, INGRESS_DIR, `${n}.yaml.golden`) })),
  ];
}

function loadCases(file: string): ConversionCase[] {
  const base = dirname(resolve(file));
  const list = JSON.parse(readFileSync(file, 'utf8')) as ConversionCase[];
  return list.map((c) => ({ ...c, input: resolve(base, c.input), golden: resolve(base, c.golden) }));
}

// ---- semantic comparison ----

function isDuration(v: object): v is { text: string; seconds: number } {
  const keys = Object.keys(v);
  return keys.length === 2 && keys.includes('text') && keys.includes('seconds');
}

/** Proto-JSON view: zero scalars and empty lists dropped, durations as seconds; empty messages kept. */
export function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') {
    if (isDuration(v)) return v.seconds;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[key];
      if (x === undefined || x === null || x === '' || x === false || x === 0) continue;
      if (Array.isArray(x) && x.length === 0) continue;
      out[key] = normalize(x);
    }
    return out;
  }
  return v;
}

/** The first difference between two normalized values, as `path: want X, got Y`. */
export function firstDifference(want: unknown, got: unknown, path = ''): string | undefined {
  if (JSON.stringify(want) === JSON.stringify(got)) return undefined;
  if (Array.isArray(want) && Array.isArray(got)) {
    if (want.length !== got.length) return `${path || '.'}: want ${want.length} items, got ${got.length}`;
    for (let i = 0; i < want.length; i++) {
      const d = firstDifference(want[i], got[i], `${path}[${i}]`);
      if (d) return d;
    }
  }
  if (want && got && typeof want === 'object' && typeof got === 'object' && !Array.isArray(want) && !Array.isArray(got)) {
    const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
    for (const k of keys) {
      const d = firstDifference((want as Record<string, unknown>)[k], (got as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  return `${path || '.'}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`;
}

interface Comparable {
  key: string;
  value: unknown;
}

function comparable(r: Resource): Comparable {
  return { key: `${r.kind} ${r.meta.namespace}/${r.meta.name}`, value: normalize({ annotations: r.meta.annotations, spec: r.spec }) };
}

export function readGolden(path: string): { resources: Resource[]; errors: string[] } {
  const resources: Resource[] = [];
  const errors: string[] = [];
  for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
    const v = doc.toJS() as Record<string, unknown> | null;
    if (!v) continue;
    // Generated names (`gw~istio-autogenerated-k8s-gateway~l`) are not Kubernetes names: read them aside.
    const meta = (v.metadata ?? {}) as Record<string, unknown>;
    const name = String(meta.name ?? '');
    const parsed = parseObject({ ...v, metadata: { ...meta, name: 'generated' } }, '', { crdChecks: false, rules: false });
    if ('ignored' in parsed) errors.push(`golden kind not readable: ${parsed.ignored}`);
    else if ('errors' in parsed) errors.push(...parsed.errors.map((e) => formatConfigError(e.error)));
    else {
      parsed.resource.meta.name = name;
      resources.push(parsed.resource);
    }
  }
  return { resources, errors };
}

export function compareOutputs(golden: Resource[], derived: DerivedConfig): string | undefined {
  const want = new Map(golden.map((r) => comparable(r)).map((c) => [c.key, c.value]));
  const gotList = [...derived.gateways, ...derived.virtualServices, ...derived.destinationRules].map(comparable);
  const got = new Map(gotList.map((c) => [c.key, c.value]));
  const problems: string[] = [];
  const dups = gotList.length - got.size;
  if (dups) problems.push(`${dups} duplicate names generated`);
  const missing = [...want.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !want.has(k));
  if (missing.length) problems.push(`missing ${missing.join(', ')}`);
  if (extra.length) problems.push(`unexpected ${extra.join(', ')}`);
  for (const [k, w] of want) {
    if (!got.has(k)) continue;
    const d = firstDifference(w, got.get(k));
    if (d) problems.push(`${k} ${d}`);
  }
  return problems.length ? `${problems.length} difference(s): ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; ...' : ''}` : undefined;
}

// ---- environment ----

function parseInput(text: string): { resources: Resource[]; problem?: string } {
  // Istio's harness puts every object in its fake client, also those its CRD validator rejects
  // (the API server's name rules included): names are read aside, the rest as Isthmus reads it.
  const resources: Resource[] = [];
  const ignored = new Set<string>();
  const errors: string[] = [];
  for (const doc of parseAllDocuments(text)) {
    const v = doc.toJS() as Record<string, unknown> | null;
    if (!v) continue;
    const meta = (v.metadata ?? {}) as Record<string, unknown>;
    const name = String(meta.name ?? '');
    const parsed = parseObject({ ...v, metadata: { ...meta, name: 'object' } }, 'default', { crdChecks: false });
    if ('ignored' in parsed) ignored.add(parsed.ignored);
    else if ('errors' in parsed) errors.push(...parsed.errors.map((e) => formatConfigError({ ...e.error, name })));
    else {
      parsed.resource.meta.name = name;
      resources.push(parsed.resource);
    }
  }
  if (ignored.size) return { resources, problem: `needs kinds Isthmus cannot load yet: ${[...ignored].sort().join(', ')}` };
  if (errors.length) return { resources, problem: `input rejected: ${errors.join(' | ')}` };
  return { resources };
}

function parseObjects(objs: Record<string, unknown>[]): Resource[] {
  const out: Resource[] = [];
  for (const o of objs) {
    const p = parseObject(o, 'default');
    if ('resource' in p) out.push(p.resource);
    else throw new Error(`fixture object not readable: ${JSON.stringify(o).slice(0, 80)}`);
  }
  return out;
}

export function runGatewayCase(c: ConversionCase, testdata: string): { derived?: DerivedConfig; problem?: string } {
  const input = parseInput(readFileSync(c.input, 'utf8'));
  if (input.problem) return { problem: input.problem };
  const services = fixtureServices((pool) => `${inferencePoolServiceName(pool)}.default.svc.${DOMAIN_SUFFIX}`);
  const store = new MemoryConfigStore();
  store.replaceAll([
    ...input.resources,
    ...parseObjects(fixtureObjects(testdata, services)),
    ...parseObjects(fixtureNamespaces(input.resources.map((r) => r.meta.namespace))),
  ]);
  const derived = convertKubernetesConfig(store, {
    domainSuffix: DOMAIN_SUFFIX,
    features: FIXTURE_FEATURES,
    lookupService: (hostname, namespace) => services.find((s) => s.hostname === hostname && s.namespace === namespace),
  });
  return { derived };
}

export function runIngressCase(c: ConversionCase): { derived?: DerivedConfig; problem?: string } {
  const input = parseInput(readFileSync(c.input, 'utf8'));
  if (input.problem) return { problem: input.problem };
  const store = new MemoryConfigStore();
  store.replaceAll(input.resources);
  // TestGoldenConversion's mesh config: only ingressControllerMode DEFAULT is set.
  const derived = convertKubernetesConfig(store, {
    domainSuffix: 'mydomain',
    ingress: { ingressControllerMode: 'DEFAULT', ingressClass: '', ingressService: '', ingressSelector: '' },
    lookupService: () => undefined,
  });
  return { derived };
}

export const gatewayConversionSuite: Suite = {
  name: 'gateway-conversion',
  description: "Kubernetes Gateway API and Ingress → Istio config, against Istio's conversion goldens",
  async run(opts: SuiteOptions): Promise<SuiteResult> {
    const testdata = istioTestdata(opts.testdata);
    const cases = opts.cases ? loadCases(opts.cases) : defaultCases(testdata);
    if (!opts.cases && !existsSync(join(testdata, GATEWAY_DIR))) return { passed: 0, failed: 0, failures: [], skipped: `no Istio test data at ${testdata}` };
    const tally = new Tally();
    for (const c of cases) {
      await tally.check(c.name, () => {
        if (!existsSync(c.input) || !existsSync(c.golden)) return `case data missing (${c.input})`;
        const golden = readGolden(c.golden);
        if (golden.errors.length) return golden.errors.join(' | ');
        const r = c.type === 'ingress' ? runIngressCase(c) : runGatewayCase(c, testdata);
        if (r.problem) return r.problem;
        return compareOutputs(golden.resources, r.derived!);
      });
    }
    return tally.result;
  },
};
