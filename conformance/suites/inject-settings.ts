// Injection settings for the `inject` conformance cases, produced the way CASES.md describes:
// start from the pre-rendered istiod ConfigMaps (operator/.../pilot_default.golden.yaml, with the
// test hub/tag and no rootNamespace), then apply the case's `--set` flags, IstioOperator overlay,
// mesh changes and environment.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  applyMeshConfig, configMapsFromYaml, defaultMeshConfig, featuresFromEnv, MESH_CONFIG, unmarshalConfig, ValuesConfig,
  type InjectConfig, type InjectionFeatures, type ProtoJson,
} from '../../webhook/inject/index.js';
import { mergeProtoJson } from '../../webhook/inject/mesh.js';

export interface CaseSettings {
  config: InjectConfig;
  values: ValuesConfig;
  meshConfig: ProtoJson;
  features: InjectionFeatures;
  env: Record<string, string | undefined>;
}

export interface BaseConfigMaps {
  config: Record<string, unknown>;
  values: Record<string, unknown>;
  mesh: Record<string, unknown>;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The chart's injection templates (templates/istiod-injector-configmap.yaml: name → files/...). */
const CHART_TEMPLATES: Record<string, string> = {
  sidecar: 'injection-template.yaml',
  gateway: 'gateway-injection-template.yaml',
  'grpc-simple': 'grpc-simple.yaml',
  'grpc-agent': 'grpc-agent.yaml',
  waypoint: 'waypoint.yaml',
  'kube-gateway': 'kube-gateway.yaml',
  agentgateway: 'agentgateway.yaml',
  'agentgateway-waypoint': 'agentgateway-waypoint.yaml',
};

/**
 * Reads the pre-rendered ConfigMaps and turns them into the test defaults. The pre-rendered
 * templates lag the chart, so when the chart's `files/` folder is there, its templates replace
 * them (as rendering the chart would: `.Files.Get | trim`).
 */
export function loadBaseConfigMaps(renderedFile: string, chartFilesDir?: string): BaseConfigMaps {
  const { injector, mesh } = configMapsFromYaml(readFileSync(renderedFile, 'utf8'));
  if (!injector?.data?.config || !injector.data.values) throw new Error(`no istio-sidecar-injector ConfigMap in ${renderedFile}`);
  const values = JSON.parse(injector.data.values) as Obj;
  const global = (values.global ?? (values.global = {})) as Obj;
  global.hub = 'registry.istio.io/testing';
  global.tag = 'latest';
  const config = parseYaml(injector.data.config) as Obj;
  if (chartFilesDir && existsSync(chartFilesDir)) {
    const templates = (isObj(config.templates) ? config.templates : (config.templates = {})) as Obj;
    for (const [name, file] of Object.entries(CHART_TEMPLATES)) {
      const path = join(chartFilesDir, file);
      if (existsSync(path)) templates[name] = readFileSync(path, 'utf8').trim() + '\n';
    }
  }
  const meshObj = (mesh?.data?.mesh ? parseYaml(mesh.data.mesh) : {}) as Obj;
  delete meshObj.rootNamespace;
  return { config, values, mesh: meshObj };
}

/** An IstioOperator `--set` value: booleans and numbers typed, anything else a string. */
export function parseSetValue(v: string): unknown {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return v;
}

function setPath(root: Obj, path: string[], value: unknown): void {
  let cur = root;
  for (const p of path.slice(0, -1)) {
    if (!isObj(cur[p])) cur[p] = {};
    cur = cur[p] as Obj;
  }
  cur[path[path.length - 1]] = value;
}

/** Helm-style deep merge (mergeOverwrite): maps merge, anything else (nulls included) replaces. */
function deepMerge(dst: Obj, src: Obj): Obj {
  for (const [k, v] of Object.entries(src)) {
    if (isObj(v) && isObj(dst[k])) deepMerge(dst[k] as Obj, v);
    else dst[k] = structuredClone(v);
  }
  return dst;
}

/** Applies IstioOperator `spec.values` the way the chart's injector ConfigMap picks them. */
function applyValues(base: BaseConfigMaps, v: Obj): void {
  const values = base.values;
  for (const [k, x] of Object.entries(v)) {
    if (k === 'global' || k === 'sidecarInjectorWebhook' || k === 'gateways') {
      if (!isObj(values[k])) values[k] = {};
      const src = k === 'gateways' && isObj(x) ? Object.fromEntries(Object.entries(x).filter(([n]) => n === 'securityContext' || n === 'seccompProfile')) : x;
      if (isObj(src)) deepMerge(values[k] as Obj, src);
    } else if (k === 'revision') {
      values.revision = x;
    } else if (k === 'pilot' && isObj(x)) {
      const pilot = (values.pilot ?? (values.pilot = {})) as Obj;
      for (const sub of ['cni', 'env']) if (isObj(x[sub])) pilot[sub] = deepMerge(isObj(pilot[sub]) ? pilot[sub] as Obj : {}, x[sub] as Obj);
    } else if (k === 'cni' && isObj(x)) {
      const pilot = (values.pilot ?? (values.pilot = {})) as Obj;
      const cni = (isObj(pilot.cni) ? pilot.cni : (pilot.cni = {})) as Obj;
      if ('provider' in x) cni.provider = x.provider;
    }
  }
  const siw = v.sidecarInjectorWebhook;
  if (isObj(siw)) {
    const cfg = base.config;
    if (isObj(siw.templates)) cfg.templates = { ...(cfg.templates as Obj | undefined), ...siw.templates };
    if (Array.isArray(siw.defaultTemplates) && siw.defaultTemplates.length) cfg.defaultTemplates = siw.defaultTemplates;
    if (Array.isArray(siw.neverInjectSelector)) cfg.neverInjectSelector = siw.neverInjectSelector;
    if (Array.isArray(siw.alwaysInjectSelector)) cfg.alwaysInjectSelector = siw.alwaysInjectSelector;
    if (isObj(siw.injectedAnnotations)) cfg.injectedAnnotations = siw.injectedAnnotations;
  }
  const autoInject = ((v.global as Obj | undefined)?.proxy as Obj | undefined)?.autoInject;
  if (typeof autoInject === 'string') base.config.policy = autoInject;
}

/** Applies one `--set path=value` flag. */
export function applySetFlag(base: BaseConfigMaps, path: string, raw: string): void {
  const value = parseSetValue(raw);
  if (path === 'components.cni.enabled') { setPath(base.values, ['pilot', 'cni', 'enabled'], value); return; }
  if (path.startsWith('values.')) {
    const parts = path.slice('values.'.length).split('.');
    const nested: Obj = {};
    setPath(nested, parts, value);
    applyValues(base, nested);
    return;
  }
  if (path.startsWith('meshConfig.')) { setPath(base.mesh, path.slice('meshConfig.'.length).split('.'), value); return; }
  if (path.startsWith('components.') || path === 'profile' || path === 'hub' || path === 'tag') {
    if (path === 'hub') setPath(base.values, ['global', 'hub'], value);
    if (path === 'tag') setPath(base.values, ['global', 'tag'], value);
    return;
  }
  throw new Error(`unsupported --set path ${JSON.stringify(path)}`);
}

/** Applies an IstioOperator overlay file (spec.values, spec.meshConfig, spec.hub/tag). */
export function applyOverlay(base: BaseConfigMaps, iopText: string): void {
  const iop = parseYaml(iopText) as Obj;
  const spec = (iop?.spec ?? {}) as Obj;
  if (isObj(spec.values)) applyValues(base, spec.values);
  if (isObj(spec.meshConfig)) deepMerge(base.mesh, spec.meshConfig);
  if (typeof spec.hub === 'string') setPath(base.values, ['global', 'hub'], spec.hub);
  if (spec.tag !== undefined) setPath(base.values, ['global', 'tag'], spec.tag);
}

/**
 * Applies a mesh row of the case table to the (rendered) MeshConfig: `path: value` sets a field,
 * `append path: [..]` appends to a list. Values are YAML, decoded with protobuf-JSON rules.
 */
export function applyMeshRow(mc: ProtoJson, row: string): ProtoJson {
  let append = false;
  let text = row.trim();
  if (text.startsWith('append ')) { append = true; text = text.slice('append '.length); }
  const i = text.indexOf(':');
  if (i < 0) throw new Error(`bad mesh row ${JSON.stringify(row)}`);
  const path = text.slice(0, i).trim().split('.');
  const value = parseYaml(text.slice(i + 1)) as unknown;
  const json = structuredClone(mc) as Obj;
  if (append) {
    let cur: Obj = json;
    for (const p of path.slice(0, -1)) cur = (isObj(cur[p]) ? cur[p] : (cur[p] = {})) as Obj;
    const last = path[path.length - 1];
    cur[last] = [...((cur[last] as unknown[] | undefined) ?? []), ...(Array.isArray(value) ? value : [value])];
  } else {
    setPath(json, path, value);
  }
  const out: ProtoJson = {};
  mergeProtoJson(MESH_CONFIG, out, json, 'MeshConfig');
  return out;
}

/** The settings of one case. */
export function caseSettings(baseMaps: BaseConfigMaps, c: {
  set?: Record<string, string>; overlayText?: string; mesh?: string[]; env?: Record<string, string>;
}): CaseSettings {
  const base: BaseConfigMaps = structuredClone(baseMaps);
  if (c.overlayText) applyOverlay(base, c.overlayText);
  for (const [k, v] of Object.entries(c.set ?? {})) applySetFlag(base, k, v);
  const env: Record<string, string | undefined> = { ...c.env };
  const config = unmarshalConfig(stringifyYaml(base.config, { lineWidth: 0 }), { istio: { env } });
  const values = ValuesConfig.fromObject(base.values);
  let meshConfig = applyMeshConfig(base.mesh, defaultMeshConfig());
  for (const row of c.mesh ?? []) meshConfig = applyMeshRow(meshConfig, row);
  return { config, values, meshConfig, features: featuresFromEnv(env), env };
}
