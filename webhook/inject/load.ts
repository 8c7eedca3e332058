// Loading injection settings from what Istio installs: the istio-sidecar-injector ConfigMap
// (`config`, `values`), the `istio` ConfigMap (`mesh`), or the same data as files (a mounted
// ConfigMap, or what `kubectl get cm -o jsonpath` saved for kube-inject).

import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { IstioFuncOptions } from '../template/index.js';
import { configFromTemplates, parseGoYaml, SIDECAR_TEMPLATE, unmarshalConfig, ValuesConfig, type InjectConfig } from './config.js';
import { featuresFromEnv, type InjectionFeatures } from './inject.js';
import { applyMeshConfig, defaultMeshConfig, type ProtoJson } from './mesh.js';
import type { WebhookSettings } from './webhook.js';

export interface ConfigMapLike {
  metadata?: { name?: string; namespace?: string };
  data?: Record<string, string>;
}

export interface LoadOptions {
  /** Environment for feature flags and the templates' `env` function (default process.env). */
  env?: Record<string, string | undefined>;
  revision?: string;
  warn?: (m: string) => void;
}

function istioOptions(o: LoadOptions): IstioFuncOptions {
  return { env: o.env ?? process.env, warn: o.warn };
}

/** Settings from the two ConfigMaps Istio's chart installs. */
export function settingsFromConfigMaps(injector: ConfigMapLike, mesh: ConfigMapLike | undefined, o: LoadOptions = {}): WebhookSettings {
  const config = injector.data?.config;
  const values = injector.data?.values;
  if (config === undefined) throw new Error(`missing configuration map key "config" in "${injector.metadata?.name ?? 'istio-sidecar-injector'}"`);
  if (values === undefined) throw new Error(`missing configuration map key "values" in "${injector.metadata?.name ?? 'istio-sidecar-injector'}"`);
  const meshYaml = mesh?.data?.mesh;
  return {
    config: unmarshalConfig(config, { istio: istioOptions(o), warn: o.warn }),
    values: new ValuesConfig(values),
    meshConfig: meshYaml === undefined ? defaultMeshConfig() : applyMeshConfig(meshYaml, defaultMeshConfig()),
    revision: o.revision ?? 'default',
    features: featuresFromEnv(o.env ?? process.env, o.warn),
  };
}

/** Finds the injector and mesh ConfigMaps in a multi-document YAML (a rendered install). */
export function configMapsFromYaml(text: string, revision = ''): { injector?: ConfigMapLike; mesh?: ConfigMapLike } {
  const suffix = revision && revision !== 'default' ? `-${revision}` : '';
  const out: { injector?: ConfigMapLike; mesh?: ConfigMapLike } = {};
  for (const doc of parseAllDocuments(text)) {
    const o = doc.toJS() as (ConfigMapLike & { kind?: string }) | null;
    if (!o || o.kind !== 'ConfigMap') continue;
    if (o.metadata?.name === `istio-sidecar-injector${suffix}`) out.injector = o;
    if (o.metadata?.name === `istio${suffix}`) out.mesh = o;
  }
  return out;
}

export interface InjectionFiles {
  /** The `config` data (inject.Config YAML). */
  injectConfigFile: string;
  /** The `values` data (JSON/YAML). */
  valuesFile: string;
  /** The `mesh` data (MeshConfig YAML); Istio's defaults when absent. */
  meshConfigFile?: string;
}

/** Settings from files, as istiod reads its mounted injector ConfigMap. */
export function settingsFromFiles(files: InjectionFiles, o: LoadOptions = {}): WebhookSettings {
  return settingsFromConfigMaps(
    { data: { config: readFileSync(files.injectConfigFile, 'utf8'), values: readFileSync(files.valuesFile, 'utf8') } },
    files.meshConfigFile ? { data: { mesh: readFileSync(files.meshConfigFile, 'utf8') } } : undefined, o);
}

/**
 * istioctl's readInjectConfigFile: an inject.Config with templates, or else the whole file is the
 * `sidecar` template.
 */
export function readInjectConfig(text: string, o: LoadOptions = {}): InjectConfig {
  let hasTemplates = false;
  try {
    const v = parseGoYaml(text) as Record<string, unknown> | null;
    const t = v && typeof v === 'object' && !Array.isArray(v) ? v.templates : undefined;
    hasTemplates = !!t && typeof t === 'object' && Object.keys(t).length > 0;
  } catch {
    hasTemplates = false;
  }
  if (!hasTemplates) return configFromTemplates({ [SIDECAR_TEMPLATE]: text }, istioOptions(o));
  return unmarshalConfig(text, { istio: istioOptions(o), warn: o.warn });
}

export type { InjectionFeatures, ProtoJson };

/**
 * Re-reads the injection files when they change (a mounted ConfigMap is updated by swapping a
 * symlinked directory, so the directories are watched) and hands the new settings over; a broken
 * update is reported and the previous settings stay. Returns a function that stops watching.
 */
export function watchSettingsFiles(files: InjectionFiles, onChange: (s: WebhookSettings) => void,
  o: LoadOptions & { onError?: (e: Error) => void; debounceMs?: number } = {}): () => void {
  const dirs = new Set([files.injectConfigFile, files.valuesFile, files.meshConfigFile].filter((f): f is string => !!f).map(f => dirname(f)));
  let timer: NodeJS.Timeout | undefined;
  const reload = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      try {
        onChange(settingsFromFiles(files, o));
      } catch (e) {
        o.onError?.(e as Error);
      }
    }, o.debounceMs ?? 100);
  };
  const watchers: FSWatcher[] = [];
  for (const d of dirs) {
    try {
      const w = watch(d, reload);
      w.on('error', () => undefined);
      watchers.push(w);
    } catch (e) {
      o.onError?.(e as Error);
    }
  }
  return () => { clearTimeout(timer); for (const w of watchers) w.close(); };
}
